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
from clvmodel.partitions import partition_of
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

    reading = read_transactions(path, max_bad_share=0.6)
    data, rejected, n_rows = reading

    assert n_rows == 9  # the blank line 6 is not a row, but lines keep their numbers
    # Line 4 has no customer_id: an anonymous purchase, counted but no error.
    assert reading.anonymous == 1
    assert rejected["line"].tolist() == [5, 7, 9, 10]
    reasons = rejected.set_index("line")["reason"]
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

    with pytest.raises(SchemaError, match=r"log.csv: 4 of 8 rows with a customer_id \(50.0%\) "
                       r"cannot be read, more than the 5% allowed: line 5: "):  # fmt: skip
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
        if fmt == "parts":  # a folder of parts, split by customer
            path = folder / "log"
            path.mkdir()
            part = partition_of(typed["customer_id"].fillna(""), 2)
            for p in (0, 1):
                typed[part == p].to_parquet(path / f"part-{p}.parquet", index=False)
        else:
            typed.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("fmt", ["csv.gz", "semicolon", "xlsx", "parquet", "parts"])
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


# ------------------------------------------------------------ line-level logs (invoices)

#: The UCI Online Retail header and its kinds of lines: a two-line invoice, its partial
#: cancellation (``C`` invoice, negative quantity), a guest purchase (no CustomerID), an
#: exactly duplicated line and another customer abroad.
RETAIL = """\
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26,3.39,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28,1.85,,United Kingdom
C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-2,2010-12-01 09:41,2.55,17850,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,2010-12-01 08:45,3.75,12583,France
536370,22728,ALARM CLOCK BAKELIKE PINK,24,2010-12-01 08:45,3.75,12583,France
536371,POST,POSTAGE,1,2010-12-02 10:00,18.00,12583,France
"""


def test_online_retail_header_is_recognised_without_mapping(tmp_path):
    reading = read_transactions(_write(tmp_path, "retail.csv", RETAIL))
    data, rejected, n_rows = reading

    assert (n_rows, reading.anonymous, len(rejected)) == (7, 1, 0)
    lines = data.lines.set_index("transaction_id")
    assert lines.loc["536365", "amount"].round(2).tolist() == [15.3, 20.34]  # 6 × 2.55, 6 × 3.39
    tx = data.transactions.set_index("transaction_id")
    assert sorted(tx.index) == ["536365", "536370", "536371", "C536379"]
    assert tx.loc["536365", "amount"] == pytest.approx(6 * 2.55 + 6 * 3.39)
    assert tx.loc["536365", "n_lines"] == 2
    # Identical lines are two purchases: both kept.
    assert tx.loc["536370", "n_lines"] == 2 and tx.loc["536370", "amount"] == 180.0
    assert tx.loc["536370", "date"] == pd.Timestamp("2010-12-01")  # time of day dropped
    assert set(lines.loc["536365", "product_id"]) == {"85123A", "71053"}
    assert tx["region"].to_dict() == {
        "536370": "france", "536371": "france", "536365": "united_kingdom",
        "C536379": "united_kingdom",
    }  # fmt: skip
    assert data.customers.index.tolist() == ["12583", "17850"]
    # No channel in the log: no online flag is invented, so no region features either.
    assert tx["online"].isna().all()
    assert available_groups(data) == ("products", "quantity")


def test_amount_is_quantity_times_unit_price(tmp_path):
    text = (
        "customer_id,transaction_date,quantity,unit_price,transaction_id\n"
        "A,2025-01-02,3,2.5,T1\n"
        "A,2025-01-02,1,10,T1\n"
        "B,2025-01-03,2,,T2\n"
        "B,2025-01-03,,4,T3\n"
        "B,2025-01-04,x,4,T4\n"
        "B,2025-01-04,1,4.O,T5\n"
        "B,2025-01-05,-1,10,T6\n"
    )
    data, rejected, _ = read_transactions(_write(tmp_path, "log.csv", text), max_bad_share=0.9)

    assert data.lines["amount"].tolist() == [7.5, 10.0, -10.0]
    tx = data.transactions.set_index("transaction_id")
    assert tx.loc["T1", "amount"] == 17.5 and tx.loc["T1", "n_items"] == 4.0
    assert tx.loc["T6", "amount"] == -10.0  # a negative quantity is a return
    assert rejected.set_index("line")["reason"].to_dict() == {
        4: "empty unit_price",
        5: "empty quantity",
        6: "quantity 'x' is not a number",
        7: "unit_price '4.O' is not a number",
    }
    assert rejected.loc[rejected["line"] == 7, "unit_price"].item() == "4.O"  # as written


def test_amount_column_wins_over_unit_price(tmp_path):
    text = "customer_id,transaction_date,amount,quantity,price\nA,2025-01-02,5,2,n/a\n"

    data, rejected, _ = read_transactions(_write(tmp_path, "log.csv", text))

    assert rejected.empty and data.lines["amount"].tolist() == [5.0]


def test_without_amount_quantity_and_unit_price_are_both_needed(tmp_path):
    path = _write(tmp_path, "log.csv", "customer_id,transaction_date,quantity\nA,2025-01-01,1\n")

    with pytest.raises(SchemaError, match=r"missing column\(s\) \['amount'\].*\(or both "
                       r"'quantity' and 'unit_price', whose product is the amount\)"):  # fmt: skip
        read_transactions(path)


def test_anonymous_lines_are_counted_not_rejected(tmp_path):
    # 3 of 5 rows without a customer, one of them with a bad date too: far above the 5%
    # limit if they were errors, but they are guest purchases.
    text = (
        "customer_id,transaction_date,amount\n"
        "A,2025-01-02,10\n"
        ",2025-01-02,5\n"
        "  ,2025-01-03,7\n"
        ",not a date,7\n"
        "B,2025-01-04,3\n"
    )
    reading = read_transactions(_write(tmp_path, "log.csv", text))

    assert reading.anonymous == 3 and reading.rejected.empty and reading.n_rows == 5
    assert reading.data.customers.index.tolist() == ["A", "B"]
    assert reading.data.lines["amount"].sum() == 13.0


def test_anonymous_rows_do_not_count_toward_the_bad_share(tmp_path):
    # 20 rows name a customer, 1 of them bad (5%, allowed); 80 anonymous rows.
    rows = [f"C{i},2025-01-{1 + i % 28:02d},1" for i in range(19)] + ["C19,2025-13-01,1"]
    rows += [",2025-01-01,1"] * 80
    path = _write(tmp_path, "log.csv", "customer_id,transaction_date,amount\n" + "\n".join(rows))

    reading = read_transactions(path)
    assert (reading.anonymous, len(reading.rejected)) == (80, 1)
    with pytest.raises(SchemaError, match=r"1 of 20 rows with a customer_id \(5.0%\) cannot"):
        read_transactions(path, max_bad_share=0.04)


def test_a_log_of_anonymous_rows_only(tmp_path):
    path = _write(tmp_path, "log.csv", "customer_id,transaction_date,amount\n,2025-01-01,1\n")

    with pytest.raises(SchemaError, match="none of the 1 rows has a customer_id"):
        read_transactions(path)


def test_cancellation_is_a_return_in_its_own_basket(tmp_path):
    reading = read_transactions(_write(tmp_path, "retail.csv", RETAIL))
    data = reading.data

    tx = data.transactions.set_index("transaction_id")
    # Same customer and day as invoice 536365, yet no conflict: its own basket.
    assert reading.rejected.empty
    assert tx.loc["C536379", "customer_id"] == tx.loc["536365", "customer_id"] == "17850"
    assert tx.loc["C536379", "amount"] == pytest.approx(-2 * 2.55)
    assert tx.loc["C536379", "n_lines"] == 1 and tx.loc["C536379", "n_items"] == 0.0
    config = FeatureConfig.from_data(data)
    features = build_features(data, "2010-12-10", config)
    assert features.loc["17850", "returns_365d"] == pytest.approx(5.1)
    assert features.loc["17850", "txn_count_lifetime"] == 1.0  # the return is no purchase
    assert features.loc["17850", "spend_lifetime"] == pytest.approx(35.64 - 5.1)


def test_a_product_code_gives_the_products_group(tmp_path):
    text = (
        "customer_id,transaction_date,amount,sku\n"
        "A,2025-01-02,10,P1\nA,2025-01-03,5,P2\nA,2025-01-04,5,P1\nB,2025-01-04,3,\n"
    )
    data = read_transactions(_write(tmp_path, "log.csv", text)).data

    assert "products" in available_groups(data)
    product = data.lines["product_id"]
    assert product.iloc[:3].tolist() == ["P1", "P2", "P1"] and pd.isna(product.iloc[3])
    config = FeatureConfig.from_data(data)
    features = build_features(data, "2025-02-01", config)
    assert features.loc["A", "n_products"] == 2.0


def test_region_with_a_channel_gives_the_regions_group(tmp_path):
    text = (
        "customer_id,transaction_date,amount,channel,country\n"
        "A,2025-01-02,10,store,North East\nA,2025-01-03,5,web,\nB,2025-01-04,3,store,South\n"
    )
    data = read_transactions(_write(tmp_path, "log.csv", text)).data

    assert "regions" in available_groups(data)
    assert data.regions == ("north_east", "south", "online")
    features = build_features(data, "2025-02-01", FeatureConfig.from_data(data))
    assert features.loc["A", "region_north_east"] == 1.0


def test_column_aliases(tmp_path):
    def header(names: str) -> list[str]:
        text = f"{names}\nA,2025-01-02,10,X\n"
        data = read_transactions(_write(tmp_path, "log.csv", text)).data
        return data.transactions["transaction_id"].tolist()

    assert header("CustomerID,InvoiceDate,Amount,Invoice No") == ["X"]
    assert header("Customer ID,order_date,amount,order_id") == ["X"]
    # A column named as in the log wins over an alias; the alias is then ignored.
    text = "customer_id,date,amount,transaction_id,invoice\nA,2025-01-02,10,T1,I1\n"
    data = read_transactions(_write(tmp_path, "log.csv", text)).data
    assert data.transactions["transaction_id"].tolist() == ["T1"]
    # So does the mapping.
    mapped = read_transactions(
        _write(tmp_path, "log.csv", text.replace("transaction_id", "ref")),
        columns={"ref": "transaction_id"},
    ).data
    assert mapped.transactions["transaction_id"].tolist() == ["T1"]


def test_two_columns_for_one_alias_are_refused(tmp_path):
    text = "customer_id,date,amount,invoice,order_id\nA,2025-01-02,10,I1,O1\n"
    path = _write(tmp_path, "log.csv", text)

    with pytest.raises(SchemaError, match=r"\['invoice', 'order_id'\] could each be "
                       r"'transaction_id'.*--map invoice=transaction_id"):  # fmt: skip
        read_transactions(path)
    data = read_transactions(path, columns={"order_id": "transaction_id"}).data
    assert data.transactions["transaction_id"].tolist() == ["O1"]


def test_log_reading_unpacks_as_three_and_keeps_anonymous(tmp_path):
    import pickle

    reading = read_transactions(_write(tmp_path, "retail.csv", RETAIL))

    data, rejected, n_rows = reading
    assert len(reading) == 3 and reading[2] == n_rows == 7
    assert data is reading.data and rejected is reading.rejected
    assert reading.anonymous == 1 and "anonymous=1" in repr(reading)
    assert reading._replace(n_rows=8).anonymous == 1
    assert pickle.loads(pickle.dumps(reading)).anonymous == 1
