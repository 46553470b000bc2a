"""Shared fixtures: a small synthetic data set (session scope) and a hand-written tiny one.

The small data set is generated once per session with a fixed seed and also written to
disk, so loaders, training and prediction tests all read the same tables. The tiny
tables are written out by hand so feature values can be worked out on paper; see the
comments in :func:`make_tiny_tables` for the story of each row.
"""

from pathlib import Path

import pandas as pd
import pytest

from clvmodel import dataset, synthetic

SMALL_SEED = 7


def _frame(rows: list[tuple], columns: list[str], *, dates=(), numbers=()) -> pd.DataFrame:
    """A typed table as :func:`clvmodel.schema.read_tables` returns it.

    Ids and text are ``str``, `dates` columns ``datetime64``, `numbers` columns float.
    """
    frame = pd.DataFrame(rows, columns=columns)
    for col in columns:
        if col in dates:
            frame[col] = pd.to_datetime(frame[col])
        elif col in numbers:
            frame[col] = frame[col].astype("float64")
        else:
            frame[col] = frame[col].astype("str")
    return frame


def make_tiny_tables() -> dict[str, pd.DataFrame]:
    """Seven hand-written tables: three customers, ten transactions, one online store.

    The story, as of the cutoff 2025-06-01 (horizon 30 days: 2025-06-01 to 2025-06-30):

    - C1 (gold, premium, since 2025-01-01) before the cutoff: T1 on Sun 2025-03-02 at S1
      (north): 2 grocery = 200 and 1 electronics = 1000; T2 on Mon 2025-05-12 online (web):
      1 home = 500; T3 on Wed 2025-05-28 at S1: 3 grocery at 10% off (PR1) = 270; T4 on Fri
      2025-05-30 at S2 (south): returns the electronics item, -1000.
      After: T9 on 2025-06-15 returns a grocery item (-200), T10 on 2025-06-20 buys home (500),
      T8 on 2025-07-01 (= cutoff + 30 days, outside the window) buys grocery (100).
    - C2 (silver, budget, since 2025-03-01): T5 on Tue 2025-04-15 at S2, 1 home = 500;
      T6 on the cutoff day 2025-06-01, 1 grocery = 100 (target, not feature).
    - C3 (bronze, mainstream, since 2025-05-20): only T7 on 2025-06-10, electronics 1000.
    """
    stores = _frame(
        [
            ("S1", "North One", "Northtown", " North ", "2020-01-01", "in-store"),
            ("S2", "South One", "Southville", "south", "2020-01-01", "in-store"),
            ("W1", "Web shop", "Online", "national", "2021-01-01", "web"),
        ],
        ["store_id", "store_name", "store_city", "store_region", "opening_date", "store_type"],
        dates=["opening_date"],
    )
    products = _frame(
        [
            ("P1", "Rice", "Grocery", 100.0, 50.0),
            ("P2", "Phone", "electronics", 1000.0, 5.0),
            ("P3", "Lamp", "home", 500.0, 10.0),
        ],
        ["product_id", "product_name", "product_category", "unit_price", "current_stock_level"],
        numbers=["unit_price", "current_stock_level"],
    )
    customers = _frame(
        [
            ("C1", "Asha", "a@x.in", "Gold", 999.0, "2025-07-01", "premium", "+1", "2025-01-01"),
            ("C2", "Ben", "b@x.in", "silver", 50.0, "2025-06-01", "budget", "+2", "2025-03-01"),
            ("C3", "Cy", "c@x.in", "bronze", 100.0, "2025-06-10", "mainstream", "+3", "2025-05-20"),
        ],
        [
            "customer_id",
            "first_name",
            "email",
            "loyalty_status",
            "total_loyalty_points",
            "last_purchase_date",
            "segment_id",
            "customer_phone",
            "customer_since",
        ],
        dates=["last_purchase_date", "customer_since"],
        numbers=["total_loyalty_points"],
    )
    promotions = _frame(
        [
            ("PR1", "10% off grocery", "2025-05-25", "2025-06-04", 10.0, "grocery"),
            ("PR2", "20% off home", "2025-06-05", "2025-06-10", 20.0, "home"),
        ],
        [
            "promotion_id",
            "promotion_name",
            "start_date",
            "end_date",
            "discount_percentage",
            "applicable_category",
        ],
        dates=["start_date", "end_date"],
        numbers=["discount_percentage"],
    )
    rules = _frame(
        [
            ("R1", "1 point per 10 spent", 0.1, 0.0, 0.0),
            ("R2", "50 bonus points from 1000 per basket", 0.0, 1000.0, 50.0),
        ],
        ["rule_id", "rule_name", "points_per_unit_spend", "min_spend_threshold", "bonus_points"],
        numbers=["points_per_unit_spend", "min_spend_threshold", "bonus_points"],
    )
    header = _frame(
        [
            ("T1", "C1", "S1", "2025-03-02", 1200.0, "+1"),
            ("T2", "C1", "W1", "2025-05-12", 500.0, "+1"),
            ("T3", "C1", "S1", "2025-05-28", 270.0, "+1"),
            ("T4", "C1", "S2", "2025-05-30", -1000.0, "+1"),
            ("T5", "C2", "S2", "2025-04-15", 500.0, "+2"),
            ("T6", "C2", "S2", "2025-06-01", 100.0, "+2"),
            ("T7", "C3", "S1", "2025-06-10", 1000.0, "+3"),
            ("T8", "C1", "S1", "2025-07-01", 100.0, "+1"),
            ("T9", "C1", "S1", "2025-06-15", -200.0, "+1"),
            ("T10", "C1", "W1", "2025-06-20", 500.0, "+1"),
        ],
        [
            "transaction_id",
            "customer_id",
            "store_id",
            "transaction_date",
            "total_amount",
            "customer_phone",
        ],
        dates=["transaction_date"],
        numbers=["total_amount"],
    )
    lines = pd.DataFrame(
        [
            ("L1", "T1", "P1", None, 2.0, 200.0),
            ("L2", "T1", "P2", None, 1.0, 1000.0),
            ("L3", "T2", "P3", None, 1.0, 500.0),
            ("L4", "T3", "P1", "PR1", 3.0, 270.0),
            ("L5", "T4", "P2", None, 1.0, -1000.0),
            ("L6", "T5", "P3", None, 1.0, 500.0),
            ("L7", "T6", "P1", None, 1.0, 100.0),
            ("L8", "T7", "P2", None, 1.0, 1000.0),
            ("L9", "T8", "P1", None, 1.0, 100.0),
            ("L10", "T9", "P1", None, 1.0, -200.0),
            ("L11", "T10", "P3", None, 1.0, 500.0),
        ],
        columns=[
            "line_item_id",
            "transaction_id",
            "product_id",
            "promotion_id",
            "quantity",
            "line_item_amount",
        ],
    )
    lines = lines.astype(
        {
            "line_item_id": "str",
            "transaction_id": "str",
            "product_id": "str",
            "promotion_id": "str",
        }
    )
    return {
        "stores": stores,
        "products": products,
        "customer_details": customers,
        "promotion_details": promotions,
        "loyalty_rules": rules,
        "store_sales_header": header,
        "store_sales_line_items": lines,
    }


@pytest.fixture
def tiny_tables() -> dict[str, pd.DataFrame]:
    """A fresh copy of the hand-written tables (tests may modify it)."""
    return make_tiny_tables()


@pytest.fixture(scope="session")
def small_config() -> synthetic.SyntheticConfig:
    """400 customers over 400 days from 2024-10-01: ten complete monthly cutoffs."""
    return synthetic.SyntheticConfig(n_customers=400, days=400)


@pytest.fixture(scope="session")
def small_tables_latent(small_config):
    """(tables, latent) of the small synthetic data set. Do not modify: copy first."""
    return synthetic.generate(small_config, random_state=SMALL_SEED)


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory, small_config):
    """A folder with the small data set as written by ``python -m clvmodel.synthetic``."""
    folder = tmp_path_factory.mktemp("small_data")
    return synthetic.write_dataset(folder, small_config, random_state=SMALL_SEED)


@pytest.fixture(scope="session")
def small_data(small_data_dir) -> dataset.RetailData:
    """The small data set read back from disk, validated and joined."""
    return dataset.load_data(small_data_dir)


@pytest.fixture(scope="session")
def trained_artifacts(small_data_dir, tmp_path_factory, train_quick) -> Path:
    """Artifacts of a quick training run on the small data set (about 5 s, once per session)."""
    return train_quick(small_data_dir, tmp_path_factory.mktemp("artifacts"), cutoffs=4)


@pytest.fixture(scope="session")
def train_quick():
    """``train.py --quick`` on a data folder into an artifacts folder (its card too)."""
    return _train_quick


def _train_quick(data: Path, out: Path, *, cutoffs: int) -> Path:
    import train

    code = train.main(
        [
            "--data", str(data),
            "--out", str(out),
            "--card", str(out / "model_card.md"),
            "--quick",
            "--cutoffs", str(cutoffs),
        ]
    )  # fmt: skip
    assert code == 0
    return out


@pytest.fixture(scope="session")
def app():
    """The app module, imported once with the repository's artifacts and data.

    `CLV_ARTIFACTS` / `CLV_DATA` in the environment point it elsewhere.
    """
    import importlib
    import os
    import sys

    root = Path(__file__).resolve().parents[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLV_ARTIFACTS", os.environ.get("CLV_ARTIFACTS", str(root / "artifacts")))
        mp.setenv("CLV_DATA", os.environ.get("CLV_DATA", str(root / "data")))
        mp.syspath_prepend(str(root))
        module = sys.modules.get("app") or importlib.import_module("app")
    return module


@pytest.fixture(scope="session")
def repo_model():
    """The committed model (artifacts/), loaded as the app loads it."""
    from clvmodel.model import CLVModel

    return CLVModel.load(Path(__file__).resolve().parents[1] / "artifacts")


@pytest.fixture(scope="session")
def repo_scores(repo_model):
    """Every customer of the committed data scored by the committed model (no reasons)."""
    data = dataset.load_data(Path(__file__).resolve().parents[1] / "data")
    return repo_model.predict(data, reasons=False).set_index("customer_id")


# ------------------------------------------------------------------ customers of each kind

#: The kinds of customer every view must serve (issue 19), as :func:`customers_by_kind`
#: names them.
CUSTOMER_KINDS = ("buys_nothing", "cold_start", "one_purchase", "returns_only", "top_spender")


def customers_by_kind(state, n: int = 3) -> dict[str, list[str]]:
    """Up to `n` customer IDs of each kind in :data:`CUSTOMER_KINDS`, from the data an app
    state serves (as of its default date), in ID order (the top spenders: largest first):

    - ``buys_nothing``: an 80% interval of total spend of [0, 0] (the lookup raised on
      these, their expected spend being positive), customers with history first (the
      small data set's quick model gives [0, 0] to cold starts only);
    - ``cold_start``: no purchase before the date (predicted from their attributes);
    - ``one_purchase``: exactly one transaction before the date;
    - ``returns_only``: with transactions, none of them above zero (the data in memory
      only; an empty list on a partitioned base);
    - ``top_spender``: the largest lifetime net spend.

    A kind the data lacks gets an empty list: say so rather than pass silently.
    """
    day = state.default_as_of
    scores = state.scorer.scores(day, reasons=False)
    features = state.scorer.features(day)
    history = ~scores["cold_start"].astype(bool)
    nothing = scores["predicted_total_high"] <= 0
    kinds = {
        "buys_nothing": scores.index[history & nothing].append(scores.index[~history & nothing]),
        "cold_start": scores.index[~history],
        "one_purchase": features.index[features["txn_count_lifetime"] == 1],
        "returns_only": pd.Index([]),
        "top_spender": features["spend_lifetime"].sort_values(ascending=False).index,
    }
    data = getattr(state.source, "data", None)
    if data is not None:
        amounts = data.transactions.groupby("customer_id")["amount"].max()
        kinds["returns_only"] = amounts.index[amounts <= 0]
    return {
        kind: [
            str(c) for c in (ids if kind in ("top_spender", "buys_nothing") else sorted(ids))[:n]
        ]
        for kind, ids in kinds.items()
    }


@pytest.fixture(scope="session")
def small_state(small_data_dir, trained_artifacts):
    """The app's state (:class:`clvapp.state.AppState`): the quick model of
    `trained_artifacts` served on the small data, every customer scored."""
    from clvapp.state import open_state

    return open_state(small_data_dir, trained_artifacts)
