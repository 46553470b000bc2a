"""Transaction logs: formats, column mapping, bad rows, returns, feature groups, as-of.

The hand-written log (see ``LOG``) tells this story, as of the cutoff 2025-06-01:

- 007 buys on Sun 2025-03-02 at S1 (T1: 2 grocery = 200, 1 electronics = 1000), online on
  2025-05-12 (T2: 1 home = 500) and returns the electronics item on 2025-05-30 (T4, -1000).
- 0042 buys home on 2025-04-15 (T5, 500) and grocery on the cutoff day (T6, 100: target).
- 9 only buys after the cutoff (T7, 2025-06-10).
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clvmodel import dataset
from clvmodel.features import (
    ALL_GROUPS,
    FeatureConfig,
    as_of_data,
    available_groups,
    build_features,
    build_targets,
    check_compatible,
)
from clvmodel.schema import SchemaError
from clvmodel.transactions import UNCATEGORIZED, parse_mapping, read_transactions

CUTOFF = pd.Timestamp("2025-06-01")
LOG = """\
customer_id,transaction_date,amount,category,quantity,channel,store_id,transaction_id
007,2025-03-02,200,Grocery,2,store,S1,T1
007,2025-03-02,1000,electronics,1,store,S1,T1
007,2025-05-12,500,Home,1,web,W1,T2
007,2025-05-30,-1000,electronics,1,store,S2,T4
0042,2025-04-15,500,home,1,store,S2,T5
0042,2025-06-01,100,grocery,1,store,S2,T6
9,2025-06-10 14:30:00,1000,electronics,1,store,S1,T7
"""


def _write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _log_frame() -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(LOG), dtype=str, keep_default_na=False)


def _log_without(*names: str) -> str:
    return _log_frame().drop(columns=list(names)).to_csv(index=False)


@pytest.fixture
def log_path(tmp_path):
    return _write(tmp_path, "log.csv", LOG)


# ------------------------------------------------------------------ a log with categories


def test_log_with_categories_joins_baskets(log_path):
    data, rejected, n_rows = read_transactions(log_path)

    assert n_rows == 7 and rejected.empty
    tx = data.transactions.set_index("transaction_id")
    assert tx.index.tolist() == ["T5", "T6", "T1", "T2", "T4", "T7"]  # by customer, date
    assert tx.loc["T1", "amount"] == 1200.0 and tx.loc["T1", "n_lines"] == 2
    assert tx.loc["T1", "n_items"] == 3.0
    assert tx.loc["T4", "n_items"] == 0.0  # a returned item is no item bought
    assert tx.loc["T2", "online"] and not tx.loc["T1", "online"]
    assert tx.loc["T7", "date"] == pd.Timestamp("2025-06-10")  # time of day dropped
    # IDs are text exactly as written: leading zeros kept.
    assert data.customers.index.tolist() == ["0042", "007", "9"]
    assert data.categories == ("electronics", "grocery", "home")  # "Grocery", "Home" lowered


def test_log_with_categories_features_and_targets(log_path):
    data = read_transactions(log_path).data
    config = FeatureConfig.from_data(data)

    assert config.groups == ("categories", "stores", "channel", "quantity")
    assert config.absent_groups == [
        "products", "regions", "promotions", "attributes", "loyalty_points"
    ]  # fmt: skip
    assert config.targets == ["total", "electronics", "grocery", "home", "purchase"]
    features = build_features(data, CUTOFF, config)
    assert list(features.columns) == config.feature_names
    for absent in ["n_products", "promo_share", "loyalty_tier", "loyalty_points",
                   "account_age_days", "region_online", "promo_days_ahead"]:  # fmt: skip
        assert absent not in features
    assert features.index.tolist() == ["0042", "007"]  # 9 has no history yet
    c1 = features.loc["007"]
    assert c1["spend_lifetime"] == 700.0  # 1200 + 500 - 1000
    assert c1["txn_count_lifetime"] == 2.0  # the return is no purchase
    assert c1["returns_365d"] == 1000.0
    assert c1["days_since_last"] == 2.0
    assert c1["spend_electronics_30d"] == -1000.0
    assert c1["share_home"] == pytest.approx(500 / 1700)
    assert c1["online_share"] == 0.5
    assert c1["items_per_basket"] == 2.0  # (3 + 1) / 2
    assert c1["n_stores"] == 3.0 and c1["n_categories"] == 3.0
    targets = build_targets(data, CUTOFF, config, features.index)
    assert targets.loc["0042"].tolist() == [100.0, 0.0, 100.0, 0.0, 1.0]


# --------------------------------------------------------------- a log without categories


def test_log_without_category_has_one_spend_target(tmp_path):
    path = _write(tmp_path, "log.csv", _log_without("category", "quantity", "channel"))
    data = read_transactions(path).data

    config = FeatureConfig.from_data(data)

    assert config.categories == ()
    assert config.targets == ["total", "purchase"]
    assert config.spend_targets == ["total"]
    assert "categories" in config.absent_groups
    features = build_features(data, CUTOFF, config)
    assert list(features.columns) == config.feature_names
    assert not [c for c in features if c.startswith(("share_", "lines_", "n_categories"))]
    assert [c for c in features if c.startswith("spend_")] == [
        "spend_lifetime", "spend_7d", "spend_30d", "spend_90d", "spend_365d", "spend_trend_30d"
    ]  # fmt: skip
    assert features.loc["007", "spend_lifetime"] == 700.0
    targets = build_targets(data, CUTOFF, config, features.index)
    assert list(targets.columns) == ["target_total", "target_purchase"]
    assert targets.loc["0042"].tolist() == [100.0, 1.0]


def test_minimal_log_needs_only_three_columns(tmp_path):
    text = "customer_id,transaction_date,amount\nA,2025-01-02,10\nA,2025-01-02,5\nB,2025-01-03,7\n"
    data = read_transactions(_write(tmp_path, "log.csv", text)).data

    # Without transaction_id, a customer's rows of one day are one basket.
    assert data.transactions["amount"].tolist() == [15.0, 7.0]
    config = FeatureConfig.from_data(data)
    assert config.groups == ()
    assert config.regions == () and config.segments == ()
    features = build_features(data, "2025-02-01", config)
    assert list(features.columns) == config.feature_names
    assert features["basket_mean"].tolist() == [15.0, 7.0]


# ----------------------------------------------------------------- returns and bad rows

BAD_LOG = """\
customer_id,transaction_date,amount,transaction_id
A1,2025-01-10,100,T1
A1,2025-01-20,-40,T2
,2025-01-21,10,T3
A2,2025-02-30,10,T4

A2,2025-01-22,ten,T5
A2,2025-01-23,50,T6
A3,2025-01-24,5,T6
A3,2025-01-24,,T7
A3,2025-01-25,20,T8
"""


def test_bad_rows_are_reported_with_their_lines_and_good_rows_kept(tmp_path):
    path = _write(tmp_path, "log.csv", BAD_LOG)

    data, rejected, n_rows = read_transactions(path, max_bad_share=0.6)

    assert n_rows == 9  # the blank line 6 is not a row, but lines keep their numbers
    assert rejected["line"].tolist() == [4, 5, 7, 9, 10]
    reasons = rejected.set_index("line")["reason"]
    assert reasons[4] == "empty customer_id"
    assert reasons[5] == "transaction_date '2025-02-30' is not a date (expected YYYY-MM-DD)"
    assert reasons[7] == "amount 'ten' is not a number"
    assert (
        reasons[9] == "transaction_id 'T6' already belongs to customer 'A2' on 2025-01-23 (line 8)"
    )
    assert reasons[10] == "empty amount"
    assert rejected.loc[rejected["line"] == 7, "amount"].item() == "ten"  # the row as written
    # Good rows are used, the return included: net spend.
    assert data.transactions["transaction_id"].tolist() == ["T1", "T2", "T6", "T8"]
    features = build_features(data, "2025-02-01", FeatureConfig.from_data(data))
    assert features.loc["A1", "spend_lifetime"] == 60.0
    assert features.loc["A1", "returns_365d"] == 40.0


def test_too_many_bad_rows_refuse_the_file(tmp_path):
    path = _write(tmp_path, "log.csv", BAD_LOG)

    with pytest.raises(SchemaError, match=r"log.csv: 5 of 9 rows \(55.6%\) cannot be read, "
                       r"more than the 5% allowed: line 4: empty customer_id; line 5"):  # fmt: skip
        read_transactions(path)


def test_a_file_of_bad_rows_only(tmp_path):
    path = _write(tmp_path, "log.csv", "customer_id,transaction_date,amount\nA,01/02/2025,1\n")

    with pytest.raises(SchemaError, match="none of the 1 rows can be used: line 2: "):
        read_transactions(path, max_bad_share=0.99)


# ----------------------------------------------------------------------------- formats


def _write_format(frame: pd.DataFrame, folder, fmt: str):
    if fmt == "csv.gz":
        path = folder / "log.csv.gz"
        frame.to_csv(path, index=False, compression="gzip")
    elif fmt == "semicolon":
        path = folder / "log.txt"
        frame.to_csv(path, index=False, sep=";")
    elif fmt == "xlsx":
        path = folder / "log.xlsx"
        typed = frame.assign(
            transaction_date=pd.to_datetime(frame["transaction_date"], format="ISO8601"),
            amount=frame["amount"].astype(float),
            quantity=frame["quantity"].astype(float),
        )
        typed.to_excel(path, index=False)
    else:
        path = folder / "log.parquet"
        typed = frame.assign(
            transaction_date=pd.to_datetime(frame["transaction_date"], format="ISO8601"),
            amount=frame["amount"].astype(float),
            quantity=frame["quantity"].astype("Int64"),
        )
        typed.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("fmt", ["csv.gz", "semicolon", "xlsx", "parquet"])
def test_formats_read_the_same(tmp_path, log_path, fmt):
    expected = read_transactions(log_path).data
    path = _write_format(_log_frame(), tmp_path, fmt)

    data, rejected, _ = read_transactions(path)

    assert rejected.empty
    pd.testing.assert_frame_equal(data.lines, expected.lines)
    pd.testing.assert_frame_equal(data.transactions, expected.transactions)
    pd.testing.assert_frame_equal(data.customers, expected.customers)


def test_excel_bad_rows_carry_sheet_row_numbers(tmp_path):
    frame = _log_frame()
    frame.loc[2, "amount"] = "n/a"  # sheet row 4 (header is row 1)
    path = tmp_path / "log.xlsx"
    frame.to_excel(path, index=False)

    _, rejected, _ = read_transactions(path, max_bad_share=0.5)

    assert rejected["line"].tolist() == [4]


def test_old_excel_and_missing_file(tmp_path):
    xls = tmp_path / "log.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(SchemaError, match=r"log.xls: an old-format Excel \(.xls\) workbook"):
        read_transactions(xls)
    with pytest.raises(SchemaError, match=r"nope\.csv: no such file"):
        read_transactions(tmp_path / "nope.csv")


# ---------------------------------------------------------------------- column mapping


def test_column_mapping(tmp_path, log_path):
    renamed = _log_frame().rename(
        columns={"customer_id": "Cust No", "transaction_date": "ts", "amount": "Net Value"}
    )
    path = _write(tmp_path, "mine.csv", renamed.to_csv(index=False))

    data = read_transactions(
        path, columns={"Cust No": "customer_id", "ts": "transaction_date", "net value": "amount"}
    ).data

    expected = read_transactions(log_path).data
    pd.testing.assert_frame_equal(data.transactions, expected.transactions)


def test_header_names_are_normalised(tmp_path, log_path):
    text = LOG.replace("customer_id,transaction_date", " Customer ID,Transaction-Date", 1)

    data = read_transactions(_write(tmp_path, "log.csv", text)).data

    pd.testing.assert_frame_equal(data.lines, read_transactions(log_path).data.lines)


def test_missing_column_names_it_and_says_how_to_map(tmp_path):
    path = _write(tmp_path, "log.csv", "customer_id,day,amount\nA,2025-01-01,1\n")

    with pytest.raises(SchemaError, match=r"log.csv: missing column\(s\) \['transaction_date'\]; "
                       r"found \['customer_id', 'day', 'amount'\].*--map your_name="
                       "transaction_date"):  # fmt: skip
        read_transactions(path)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        pytest.param({"day": "date"}, r"names unknown log column\(s\)", id="unknown-target"),
        pytest.param(
            {"when": "transaction_date"},
            r"column\(s\) \['when'\] that the file does "
            "not have",
            id="unknown-source",
        ),
        pytest.param({"day": "customer_id"}, "would appear twice", id="clash"),
    ],
)
def test_bad_mappings(tmp_path, columns, message):
    path = _write(tmp_path, "log.csv", "customer_id,day,amount\nA,2025-01-01,1\n")

    with pytest.raises(SchemaError, match=message):
        read_transactions(path, columns=columns)


def test_parse_mapping():
    assert parse_mapping(["cust=customer_id", " ts = transaction_date"]) == {
        "cust": "customer_id",
        "ts": "transaction_date",
    }
    with pytest.raises(ValueError, match="SOURCE=TARGET"):
        parse_mapping(["cust"])


def test_category_names_are_made_safe(tmp_path):
    text = (
        "customer_id,transaction_date,amount,category\n"
        "A,2025-01-01,1,Home & Garden\nA,2025-01-01,2,\nA,2025-01-01,3,Total\n"
    )
    data = read_transactions(_write(tmp_path, "log.csv", text)).data

    assert data.categories == ("category_total", "home_garden", UNCATEGORIZED)


# --------------------------------------------------------------- groups and the tables


def test_seven_tables_have_every_group(tiny_tables):
    data = dataset.from_tables(tiny_tables)

    assert available_groups(data) == ALL_GROUPS
    assert FeatureConfig.from_data(data).absent_groups == []


def test_old_metadata_without_groups_means_every_group(tiny_tables):
    config = FeatureConfig.from_data(dataset.from_tables(tiny_tables))
    old = {k: v for k, v in config.to_dict().items() if k != "groups"}

    assert FeatureConfig.from_dict(old) == config
    assert FeatureConfig.from_dict(config.to_dict()) == config


def test_log_config_round_trips(log_path):
    config = FeatureConfig.from_data(read_transactions(log_path).data)

    assert FeatureConfig.from_dict(config.to_dict()) == config


def test_group_checks():
    with pytest.raises(ValueError, match=r"unknown feature group\(s\) \['colour'\]"):
        FeatureConfig((), (), (), groups=("colour",))
    with pytest.raises(ValueError, match="need the 'categories' feature group"):
        FeatureConfig(("toys",), (), (), groups=())


def test_a_log_of_the_seven_tables_gives_the_same_features(small_data, tmp_path):
    """Features a log can support match those of the seven tables, value for value."""
    lines = small_data.lines.merge(
        small_data.transactions[["transaction_id", "store_id"]], on="transaction_id"
    )
    log = lines[["customer_id", "date", "amount", "category", "quantity", "store_id",
                 "transaction_id"]].rename(columns={"date": "transaction_date"})  # fmt: skip
    path = tmp_path / "log.csv.gz"
    log.to_csv(path, index=False, date_format="%Y-%m-%d")
    from_log = read_transactions(path).data
    cutoff = small_data.last_date - pd.Timedelta(days=60)

    config = FeatureConfig.from_data(from_log)
    full = FeatureConfig.from_data(small_data)
    x_log = build_features(from_log, cutoff, config)
    x_tables = build_features(small_data, cutoff, full)

    assert set(config.feature_names) < set(full.feature_names)
    # Shares divide by gross spend, which counts promotion discounts only the tables know.
    same = [c for c in config.feature_names if "share" not in c]
    pd.testing.assert_frame_equal(x_log[same], x_tables[same], check_exact=False, rtol=1e-9)
    y_log = build_targets(from_log, cutoff, config, x_log.index)
    pd.testing.assert_frame_equal(y_log, build_targets(small_data, cutoff, full, x_log.index))


# ----------------------------------------------------------------------------- as-of


def test_as_of_data_drops_everything_from_that_day(log_path, tiny_tables):
    data = read_transactions(log_path).data

    before = as_of_data(data, CUTOFF)

    assert before.transactions["date"].max() < CUTOFF
    assert before.lines["date"].max() < CUTOFF
    assert before.customers.index.tolist() == ["0042", "007"]  # 9 first bought after
    config = FeatureConfig.from_data(data)
    pd.testing.assert_frame_equal(
        build_features(before, CUTOFF, config), build_features(data, CUTOFF, config)
    )
    tables = dataset.from_tables(tiny_tables)
    assert as_of_data(tables, CUTOFF).promotions["promotion_id"].tolist() == ["PR1"]
    # C3 signed up on 2025-05-20: known on 2025-06-01 (without a purchase), not on 05-01.
    assert "C3" in as_of_data(tables, CUTOFF).customers.index
    assert "C3" not in as_of_data(tables, "2025-05-01").customers.index


def test_as_of_before_any_data(log_path):
    data = read_transactions(log_path).data
    with pytest.raises(ValueError, match="no transactions before the as-of date 2025-01-01"):
        as_of_data(data, "2025-01-01")
    with pytest.raises(ValueError, match="as_of must be a date"):
        as_of_data(data, "someday")


# ------------------------------------------------------------------------ compatibility


def test_check_compatible(log_path, tmp_path, tiny_tables):
    with_cats = read_transactions(log_path).data
    no_cats = read_transactions(_write(tmp_path, "plain.csv", _log_without("category"))).data
    config = FeatureConfig.from_data(with_cats)

    check_compatible(config, with_cats)
    with pytest.raises(ValueError, match=r"trained on categories \['electronics', 'grocery', "
                       r"'home'\] but the data has \(no category column\)"):  # fmt: skip
        check_compatible(config, no_cats)
    fewer = dataclasses.replace(config, categories=("electronics", "grocery"))
    with pytest.raises(ValueError, match=r"unknown to the model: \['home'\]"):
        check_compatible(fewer, with_cats)
    # A model that uses customer attributes cannot score a log that has none.
    tables_config = FeatureConfig.from_data(dataset.from_tables(tiny_tables))
    with pytest.raises(ValueError, match=r"feature group\(s\) the data lacks \(products: "):
        check_compatible(tables_config, with_cats)
    assert np.isin(config.groups, tables_config.groups).all()
