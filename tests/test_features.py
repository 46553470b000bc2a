"""Tests for clvmodel.features: as-of features worked out by hand, targets, and no leakage.

The hand-written tables (see ``make_tiny_tables`` in conftest.py) tell this story as of
the cutoff 2025-06-01, with a 30-day horizon [2025-06-01, 2025-07-01):

==== ===== ========== ======= ============================================ ======
cust tx    date       store   lines                                        amount
==== ===== ========== ======= ============================================ ======
C1   T1    2025-03-02 S1 N    2 grocery 200, 1 electronics 1000 (Sunday)   1200
C1   T2    2025-05-12 W1 web  1 home 500                                    500
C1   T3    2025-05-28 S1 N    3 grocery at 10% off (PR1) 270               270
C1   T4    2025-05-30 S2 S    returns the electronics item                 -1000
C2   T5    2025-04-15 S2 S    1 home 500                                    500
C2   T6    2025-06-01 S2 S    1 grocery 100 (on the cutoff: target)         100
C3   T7    2025-06-10 S1 N    1 electronics 1000 (only after the cutoff)   1000
C1   T9    2025-06-15 S1 N    returns a grocery item                       -200
C1   T10   2025-06-20 W1 web  1 home 500                                    500
C1   T8    2025-07-01 S1 N    1 grocery 100 (= cutoff + 30: outside)        100
==== ===== ========== ======= ============================================ ======

Ages as of the cutoff (days before it): T1 91, T2 20, T3 4, T4 2, T5 47.
"""

import dataclasses
import datetime

import numpy as np
import pandas as pd
import pytest

from clvmodel import dataset
from clvmodel.features import (
    INDEX,
    FeatureConfig,
    build_features,
    build_panel,
    build_targets,
    cutoff_dates,
)

CUTOFF = pd.Timestamp("2025-06-01")
CUTOFF_FORMS = [
    pytest.param("2025-06-01", id="str"),
    pytest.param(pd.Timestamp("2025-06-01"), id="timestamp"),
    pytest.param(datetime.date(2025, 6, 1), id="date"),
    pytest.param(datetime.datetime(2025, 6, 1, 15, 30), id="datetime-afternoon"),
]


@pytest.fixture
def tiny_data(tiny_tables) -> dataset.RetailData:
    return dataset.from_tables(tiny_tables)


@pytest.fixture
def tiny_config(tiny_data) -> FeatureConfig:
    return FeatureConfig.from_data(tiny_data)


def _expected_tiny_features() -> pd.DataFrame:
    """Every feature of C1 and C2 as of 2025-06-01, worked out by hand."""
    nan = np.nan
    # C1's purchases (T4 is a return): 1200, 500, 270 on ages 91, 20, 4 -> gaps 71 and 16.
    # Gross = net purchases + discounts = 1200 + 500 + (270 + 30) = 2000; the 10% discount
    # on T3 is 270 / 0.9 * 0.1 = 30.
    rows = {
        "days_since_last": (2, 47),  # C1's last transaction is the return T4
        "days_since_first": (91, 47),
        "gap_mean_days": (43.5, nan),
        "gap_std_days": (np.std([71, 16], ddof=1), nan),
        "overdue_ratio": (2 / 43.5, nan),
        "txn_count_lifetime": (3, 1),  # returns are not purchases
        "txn_count_7d": (1, 0),
        "txn_count_30d": (2, 0),
        "txn_count_90d": (2, 1),  # T1 is 91 days old
        "txn_count_365d": (3, 1),
        "spend_lifetime": (970, 500),  # 1200 + 500 + 270 - 1000
        "spend_7d": (-730, 0),  # 270 - 1000
        "spend_30d": (-230, 0),
        "spend_90d": (-230, 500),
        "spend_365d": (970, 500),
        "spend_trend_30d": (-230, -500),  # last 30 days minus days 31-60
        "basket_mean": (1970 / 3, 500),
        "basket_max": (1200, 500),
        "basket_min": (270, 500),
        "basket_std": (np.std([1200, 500, 270], ddof=1), nan),
        "daily_spend_rate": (970 / 91, 500 / 47),
        "returns_365d": (1000, 0),
        "n_products": (3, 1),
        "n_categories": (3, 1),
        "n_stores": (3, 1),
        "spend_electronics_30d": (-1000, 0),
        "spend_electronics_365d": (0, 0),  # bought and returned
        "lines_electronics_365d": (1, 0),
        "share_electronics": (0, 0),
        "spend_grocery_30d": (270, 0),
        "spend_grocery_365d": (470, 0),
        "lines_grocery_365d": (2, 0),
        "share_grocery": (470 / 2000, 0),
        "spend_home_30d": (500, 0),
        "spend_home_365d": (500, 500),
        "lines_home_365d": (1, 1),
        "share_home": (500 / 2000, 1),
        "promo_share": (1 / 3, 0),
        "discount_share": (30 / 2000, 0),
        "weekend_share": (1 / 3, 0),  # T1 was a Sunday
        "items_per_basket": (7 / 3, 1),  # 3 + 1 + 3 items; the returned item is no item
        "online_share": (1 / 3, 0),
        "return_share": (1000 / 2000, 0),
        "loyalty_tier": (2, 1),  # "Gold" -> gold, silver
        # R1: 0.1 point per unit; R2: 50 bonus from 1000 per basket; returns earn nothing.
        "loyalty_points": (1200 * 0.1 + 50 + 500 * 0.1 + 270 * 0.1, 500 * 0.1),
        "account_age_days": (151, 92),  # since 2025-01-01 and 2025-03-01
        "segment_budget": (0, 1),
        "segment_mainstream": (0, 0),
        "segment_premium": (1, 0),
        "region_north": (1, 0),  # C1: two visits to " North " S1, one to S2
        "region_south": (0, 1),
        "region_online": (0, 0),
        "cutoff_month": (6, 6),
        "days_to_peak": (180, 180),  # to 2025-11-28
        "promo_days_ahead": (4, 4),  # PR1 runs to 2025-06-04; PR2 starts after the cutoff
    }
    frame = pd.DataFrame(rows, index=pd.Index(["C1", "C2"], name="customer_id", dtype="str"))
    return frame.astype("float64")


# ------------------------------------------------------------------ the hand example


def test_tiny_vocabulary(tiny_config):
    assert tiny_config.categories == ("electronics", "grocery", "home")  # "Grocery" lowered
    assert tiny_config.regions == ("north", "south", "online")  # " North " stripped
    assert tiny_config.segments == ("budget", "mainstream", "premium")


def test_features_by_hand(tiny_data, tiny_config):
    features = build_features(tiny_data, CUTOFF, tiny_config)

    expected = _expected_tiny_features()
    assert list(features.columns) == tiny_config.feature_names
    pd.testing.assert_frame_equal(features, expected[tiny_config.feature_names])


@pytest.mark.parametrize("cutoff", CUTOFF_FORMS)
def test_cutoff_day_belongs_to_the_target(tiny_data, tiny_config, cutoff):
    features = build_features(tiny_data, cutoff, tiny_config)
    targets = build_targets(tiny_data, cutoff, tiny_config, features.index)

    # C3's only purchase is after the cutoff: no row.
    assert features.index.tolist() == ["C1", "C2"]
    # C2's T6 on the cutoff day is not history ...
    assert features.loc["C2", "spend_lifetime"] == 500.0
    assert features.loc["C2", "days_since_last"] == 47.0
    assert features.loc["C2", "txn_count_lifetime"] == 1.0
    # ... it is the target.
    assert targets.loc["C2", "target_total"] == 100.0
    assert targets.loc["C2", "target_grocery"] == 100.0
    assert targets.loc["C2", "target_purchase"] == 1.0


def test_the_day_after_the_cutoff_includes_it(tiny_data, tiny_config):
    features = build_features(tiny_data, "2025-06-02", tiny_config)

    assert features.loc["C2", "spend_lifetime"] == 600.0
    assert features.loc["C2", "days_since_last"] == 1.0
    assert features.loc["C2", "gap_mean_days"] == 47.0


def test_customer_ids_restricts_rows(tiny_data, tiny_config):
    features = build_features(tiny_data, CUTOFF, tiny_config, customer_ids=["C2", "C3", "C9"])

    # C3 has no history yet and C9 does not exist: both simply absent.
    assert features.index.tolist() == ["C2"]
    pd.testing.assert_frame_equal(features, _expected_tiny_features().loc[["C2"]])


def test_vocabulary_missing_from_data_gives_zero_columns(tiny_data, tiny_config):
    config = dataclasses.replace(
        tiny_config,
        categories=(*tiny_config.categories, "toys"),
        regions=("east", *tiny_config.regions),
        segments=(*tiny_config.segments, "vip"),
    )

    features = build_features(tiny_data, CUTOFF, config)

    assert list(features.columns) == config.feature_names
    for col in ["spend_toys_30d", "spend_toys_365d", "lines_toys_365d", "share_toys"]:
        assert (features[col] == 0).all(), col
    assert (features["region_east"] == 0).all()
    assert (features["segment_vip"] == 0).all()
    expected = _expected_tiny_features()
    pd.testing.assert_frame_equal(features[expected.columns], expected)


def test_no_transactions_before_the_cutoff(tiny_data, tiny_config):
    # T1 on 2025-03-02 is the first transaction; on the cutoff day it is still future.
    with pytest.raises(ValueError, match="no transactions before the cutoff 2025-03-02"):
        build_features(tiny_data, "2025-03-02", tiny_config)
    with pytest.raises(ValueError, match=r"no transactions before .* for the requested customers"):
        build_features(tiny_data, CUTOFF, tiny_config, customer_ids=["C3"])


@pytest.mark.parametrize("bad", ["not a date", "2025-13-01", None], ids=["word", "month", "none"])
def test_bad_cutoff(tiny_data, tiny_config, bad):
    with pytest.raises(ValueError, match="cutoff must be a date"):
        build_features(tiny_data, bad, tiny_config)


# ----------------------------------------------------------------------------- targets


TARGET_COLUMNS = [
    "target_total",
    "target_electronics",
    "target_grocery",
    "target_home",
    "target_purchase",
]


@pytest.mark.parametrize(
    ("horizon", "rows"),
    [
        # [06-01, 06-08): only C2's T6 on the cutoff day.
        pytest.param(7, {"C1": (0, 0, 0, 0, 0), "C2": (100, 0, 100, 0, 1)}, id="7d"),
        # [06-01, 06-16): C1 only returns a grocery item: negative spend, no purchase.
        pytest.param(15, {"C1": (-200, 0, -200, 0, 0), "C2": (100, 0, 100, 0, 1)}, id="15d"),
        # [06-01, 07-01): C1 returns 200 and buys home 500; T8 on 07-01 is outside.
        pytest.param(30, {"C1": (300, 0, -200, 500, 1), "C2": (100, 0, 100, 0, 1)}, id="30d"),
        # [06-01, 07-02): T8 on 07-01 is now inside.
        pytest.param(31, {"C1": (400, 0, -100, 500, 1), "C2": (100, 0, 100, 0, 1)}, id="31d"),
    ],
)
def test_targets_by_hand(tiny_data, horizon, rows):
    config = FeatureConfig.from_data(tiny_data, horizon=horizon)
    customers = pd.Index(["C1", "C2", "C3", "C9"], name="customer_id")

    targets = build_targets(tiny_data, CUTOFF, config, customers)

    c3 = (1000, 1000, 0, 0, 1) if horizon >= 10 else (0, 0, 0, 0, 0)  # T7 on 06-10
    expected = pd.DataFrame(
        [rows["C1"], rows["C2"], c3, (0, 0, 0, 0, 0)],
        index=customers,
        columns=TARGET_COLUMNS,
        dtype="float64",
    )
    pd.testing.assert_frame_equal(targets, expected)


def test_horizon_must_be_positive(tiny_data):
    with pytest.raises(ValueError, match="horizon must be a positive number of days; got 0"):
        FeatureConfig.from_data(tiny_data, horizon=0)


# ------------------------------------------------------------------------ leakage


def _copy(tables):
    return {name: frame.copy() for name, frame in tables.items()}


def _with_the_future_rewritten(tables, cutoff):
    """Triple every amount on or after `cutoff` and add future transactions and a promotion."""
    tables = _copy(tables)
    header, lines = tables["store_sales_header"], tables["store_sales_line_items"]
    future = header["transaction_date"] >= cutoff
    assert future.sum() > 100
    header.loc[future, "total_amount"] *= 3
    future_lines = lines["transaction_id"].isin(header.loc[future, "transaction_id"])
    lines.loc[future_lines, "line_item_amount"] *= 3

    # A new customer who signed up long ago but only buys from the cutoff on.
    customers = tables["customer_details"]
    newcomer = customers.iloc[[0]].assign(
        customer_id="CNEW", customer_since=cutoff - pd.Timedelta(days=200)
    )
    tables["customer_details"] = pd.concat([customers, newcomer], ignore_index=True)
    # Big purchases on the cutoff day and later by existing customers and the newcomer.
    who = [*header["customer_id"].drop_duplicates().iloc[:20], "CNEW"]
    days = [cutoff + pd.Timedelta(days=d) for d in (0, 3, 29, 60)]
    new_tx = pd.DataFrame(
        [
            (f"TX{i:04d}", cust, "S01", day, 5000.0, "+0")
            for i, (cust, day) in enumerate((c, d) for c in who for d in days)
        ],
        columns=header.columns,
    )
    new_lines = pd.DataFrame(
        {
            "line_item_id": [f"LX{i:04d}" for i in range(len(new_tx))],
            "transaction_id": new_tx["transaction_id"],
            "product_id": tables["products"]["product_id"].iloc[0],
            "promotion_id": None,
            "quantity": 5,
            "line_item_amount": 5000.0,
        }
    )
    tables["store_sales_header"] = pd.concat([header, new_tx], ignore_index=True)
    tables["store_sales_line_items"] = pd.concat([lines, new_lines], ignore_index=True)
    # A promotion announced on the cutoff day is not known the day before.
    promos = tables["promotion_details"]
    new_promo = promos.iloc[[0]].assign(
        promotion_id="PRNEW", start_date=cutoff, end_date=cutoff + pd.Timedelta(days=20)
    )
    tables["promotion_details"] = pd.concat([promos, new_promo], ignore_index=True)
    return tables


@pytest.fixture(scope="module")
def middle_cutoff(small_data):
    cutoffs = cutoff_dates(small_data)
    return cutoffs[len(cutoffs) // 2]


def test_features_ignore_the_future(small_data, small_tables_latent, middle_cutoff):
    tables, _ = small_tables_latent
    config = FeatureConfig.from_data(small_data)
    before = build_features(small_data, middle_cutoff, config)

    changed = dataset.from_tables(_with_the_future_rewritten(tables, middle_cutoff))
    after = build_features(changed, middle_cutoff, config)

    # Sanity: the rewrite did change the data from the cutoff on.
    assert "CNEW" in set(changed.transactions["customer_id"])
    assert changed.transactions["amount"].sum() > 2 * small_data.transactions["amount"].sum()
    pd.testing.assert_frame_equal(after, before, check_exact=True)
    assert "CNEW" not in after.index


def test_features_see_the_past(small_data, small_tables_latent, middle_cutoff):
    tables = _copy(small_tables_latent[0])
    config = FeatureConfig.from_data(small_data)
    before = build_features(small_data, middle_cutoff, config)
    header, lines = tables["store_sales_header"], tables["store_sales_line_items"]
    past = header.loc[header["transaction_date"] < middle_cutoff].iloc[-1]
    lines.loc[lines["transaction_id"] == past["transaction_id"], "line_item_amount"] += 1000.0

    after = build_features(dataset.from_tables(tables), middle_cutoff, config)

    diff = (after != before) & ~(after.isna() & before.isna())
    changed_rows = diff.index[diff.any(axis=1)]
    assert changed_rows.tolist() == [past["customer_id"]]
    cust = past["customer_id"]
    n_lines = (lines["transaction_id"] == past["transaction_id"]).sum()
    assert after.loc[cust, "spend_lifetime"] == pytest.approx(
        before.loc[cust, "spend_lifetime"] + 1000.0 * n_lines
    )


# --------------------------------------------------------------------- feature names


def test_feature_names_on_real_vocabulary(small_data):
    names = FeatureConfig.from_data(small_data).feature_names

    assert len(names) >= 45
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("category_windows", [(30, 365), (7, 30, 90)], ids=["2win", "3win"])
def test_feature_names_loop_over_categories(category_windows):
    cats = ("toys", "food", "garden", "books", "music")
    config = FeatureConfig(
        categories=cats,
        regions=("north", "online"),
        segments=("a",),
        category_windows=category_windows,
    )
    bare = dataclasses.replace(config, categories=())

    names = config.feature_names

    per_category = len(category_windows) + 2  # spend per window, lines, share
    assert len(names) - len(bare.feature_names) == len(cats) * per_category
    for c in cats:
        mine = [n for n in names if c in n.split("_")]
        expected = [f"spend_{c}_{d}d" for d in category_windows] + [f"lines_{c}_365d", f"share_{c}"]
        assert mine == expected
    assert len(set(names)) == len(names)


def test_feature_config_round_trips_through_a_dict(small_data):
    config = FeatureConfig.from_data(small_data, horizon=14)

    assert FeatureConfig.from_dict(config.to_dict()) == config


# ---------------------------------------------------------------------- cutoff dates


def test_cutoff_dates(small_data):
    one_day = pd.Timedelta(days=1)
    horizon = pd.Timedelta(days=30)

    cutoffs = cutoff_dates(small_data)

    assert len(cutoffs) >= 3
    assert cutoffs == sorted(cutoffs)
    assert all(c.is_month_start and c == c.normalize() for c in cutoffs)
    assert all(c + horizon <= small_data.last_date + one_day for c in cutoffs)
    # The last is the latest complete one: the next month start does not fit.
    assert cutoffs[-1] + pd.offsets.MonthBegin(1) + horizon > small_data.last_date + one_day
    assert cutoffs[0] >= small_data.first_date + pd.Timedelta(days=90)
    assert cutoff_dates(small_data, n_cutoffs=3) == cutoffs[-3:]


def test_cutoff_dates_too_short(tiny_data):
    # 2025-03-02 to 2025-07-01: one month start with 90 days before and 30 after.
    with pytest.raises(ValueError, match=r"holds 1 complete cutoff\(s\).*at least 3"):
        cutoff_dates(tiny_data)
    assert cutoff_dates(tiny_data, min_history_days=0, horizon=7, freq="W-MON")[-1] == (
        pd.Timestamp("2025-06-23")
    )


# ------------------------------------------------------------------------------ panel


def test_build_panel(small_data):
    config = FeatureConfig.from_data(small_data)
    cutoffs = cutoff_dates(small_data)[-3:]

    panel = build_panel(small_data, cutoffs, config)

    assert panel.index.names == INDEX
    assert list(panel.columns) == [*config.feature_names, *(f"target_{t}" for t in config.targets)]
    per_cutoff = [build_features(small_data, c, config) for c in cutoffs]
    assert len(panel) == sum(len(x) for x in per_cutoff)
    assert panel.index.is_unique
    last = panel.xs(cutoffs[-1], level="cutoff")
    pd.testing.assert_frame_equal(last[config.feature_names], per_cutoff[-1])
    targets = build_targets(small_data, cutoffs[-1], config, per_cutoff[-1].index)
    pd.testing.assert_frame_equal(last[targets.columns], targets)
    assert set(panel["target_purchase"]) == {0.0, 1.0}


# --------------------------------------------------------------- partition by customer


def test_features_partition_by_customer(small_data, middle_cutoff):
    config = FeatureConfig.from_data(small_data)
    full = build_features(small_data, middle_cutoff, config)
    later = small_data.transactions.loc[
        small_data.transactions["date"] >= middle_cutoff, "customer_id"
    ]
    newcomer = sorted(set(later) - set(full.index))[0]  # no history before the cutoff
    subset = [*full.index[::7], newcomer, "NOPE"]

    part = build_features(small_data, middle_cutoff, config, customer_ids=subset)

    assert part.index.tolist() == sorted(full.index[::7])
    pd.testing.assert_frame_equal(part, full.loc[part.index], check_exact=True)
