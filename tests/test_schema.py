"""Tests for clvmodel.schema: reading the seven tables back and every kind of bad file.

Each failure test writes the hand-written tiny tables as plain CSV, edits one line of one
file the way a person editing a spreadsheet would, and checks that the message names the
file, the column and the offending value with its file line (the header is line 1).
"""

import re
from pathlib import Path

import pandas as pd
import pytest

from clvmodel import dataset
from clvmodel.schema import TABLES, SchemaError, read_tables, write_tables


def _write_csv(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    write_tables(tables, folder, compress=False)
    return folder


def _edit(folder: Path, table: str, old: str, new: str) -> None:
    """Replace the only occurrence of `old` in `table`'s CSV file by `new`."""
    path = folder / f"{table}.csv"
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}:\n{text}"
    path.write_text(text.replace(old, new))


# ------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("compress", [False, True], ids=["csv", "gzip"])
def test_round_trip_keeps_rows_values_and_dtypes(tiny_tables, tmp_path, compress):
    write_tables(tiny_tables, tmp_path, compress=compress)
    suffix = ".csv.gz" if compress else ".csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}{suffix}" for t in TABLES)

    back = read_tables(tmp_path)

    assert list(back) == list(TABLES)
    for name, frame in tiny_tables.items():
        # The fixture is typed the way read_tables types it: ids and text str, dates
        # datetime64, numbers float. Equal frames mean equal row counts, values and dtypes.
        pd.testing.assert_frame_equal(back[name], frame, obj=name)
    header = back["store_sales_header"]
    assert pd.api.types.is_datetime64_dtype(header["transaction_date"])
    assert header["total_amount"].dtype == "float64"
    assert back["store_sales_line_items"]["quantity"].dtype == "float64"


def test_gzip_and_plain_files_can_be_mixed(tiny_tables, tmp_path):
    write_tables(tiny_tables, tmp_path, compress=True)
    write_tables({"products": tiny_tables["products"]}, tmp_path, compress=False)
    assert (tmp_path / "products.csv").exists()
    assert not (tmp_path / "products.csv.gz").exists()  # the stale copy is removed

    back = read_tables(tmp_path)

    assert len(back["products"]) == 3
    assert len(back["store_sales_line_items"]) == len(tiny_tables["store_sales_line_items"])


def test_returns_with_negative_amounts_load(tiny_tables, tmp_path):
    back = read_tables(_write_csv(tiny_tables, tmp_path))

    lines = back["store_sales_line_items"].set_index("line_item_id")
    assert lines.loc["L5", "line_item_amount"] == -1000.0
    assert lines.loc["L10", "line_item_amount"] == -200.0
    assert back["store_sales_header"].set_index("transaction_id").loc["T4", "total_amount"] == (
        -1000.0
    )


def test_numeric_looking_ids_stay_text(tiny_tables, tmp_path):
    for name in ("customer_details", "store_sales_header"):
        frame = tiny_tables[name]
        frame["customer_id"] = frame["customer_id"].replace({"C1": "007", "C2": "0042"})

    back = read_tables(_write_csv(tiny_tables, tmp_path))

    assert back["customer_details"]["customer_id"].tolist() == ["007", "0042", "C3"]
    assert set(back["store_sales_header"]["customer_id"]) == {"007", "0042", "C3"}
    assert back["customer_details"]["customer_id"].dtype == "str"
    # ... and through the join: the leading zeros still match the header.
    data = dataset.from_tables(back)
    assert set(data.customers.index) == {"007", "0042", "C3"}
    assert set(data.lines["customer_id"]) == {"007", "0042", "C3"}


def test_dates_with_times_are_floored_to_the_day(tiny_tables, tmp_path):
    folder = _write_csv(tiny_tables, tmp_path)
    _edit(folder, "store_sales_header", "T3,C1,S1,2025-05-28", "T3,C1,S1,2025-05-28T18:45:00")

    header = read_tables(folder)["store_sales_header"].set_index("transaction_id")

    assert header.loc["T3", "transaction_date"] == pd.Timestamp("2025-05-28")


def test_optional_store_type_may_be_absent(tiny_tables, tmp_path):
    tiny_tables["stores"] = tiny_tables["stores"].drop(columns="store_type")

    stores = read_tables(_write_csv(tiny_tables, tmp_path))["stores"]

    assert "store_type" not in stores
    assert stores["store_id"].tolist() == ["S1", "S2", "W1"]


# ----------------------------------------------------------------------------- errors


def test_missing_folder(tmp_path):
    with pytest.raises(SchemaError, match="not a folder"):
        read_tables(tmp_path / "nope")


def test_missing_table_file(tiny_tables, tmp_path):
    folder = _write_csv(tiny_tables, tmp_path)
    (folder / "promotion_details.csv").unlink()

    with pytest.raises(SchemaError, match=r"table 'promotion_details' not found") as err:
        read_tables(folder)
    assert "promotion_details.csv or promotion_details.csv.gz" in str(err.value)


def test_missing_column(tiny_tables, tmp_path):
    tiny_tables["products"] = tiny_tables["products"].rename(
        columns={"product_category": "category"}
    )
    folder = _write_csv(tiny_tables, tmp_path)

    with pytest.raises(
        SchemaError, match=r"^products\.csv: missing column\(s\) \['product_category'\]"
    ):
        read_tables(folder)


def test_empty_file_names_the_file(tiny_tables, tmp_path):
    folder = _write_csv(tiny_tables, tmp_path)
    (folder / "stores.csv").write_text("")

    with pytest.raises(SchemaError, match=r"^stores\.csv: cannot be read as CSV"):
        read_tables(folder)


@pytest.mark.parametrize(
    "bad",
    ["28/05/2025", "2025-02-30", "yesterday"],
    ids=["day-first", "no-such-day", "word"],
)
def test_unparseable_date_names_value_and_line(tiny_tables, tmp_path, bad):
    folder = _write_csv(tiny_tables, tmp_path)
    # T3 is the third data row: file line 4.
    _edit(folder, "store_sales_header", "T3,C1,S1,2025-05-28", f"T3,C1,S1,{bad}")

    expected = (
        "store_sales_header.csv: column 'transaction_date' has 1 value(s) that are not dates "
        f"(expected YYYY-MM-DD): '{bad}' (line 4)"
    )
    with pytest.raises(SchemaError, match=re.escape(expected)):
        read_tables(folder)


def test_non_numeric_amount_names_value_and_line(tiny_tables, tmp_path):
    folder = _write_csv(tiny_tables, tmp_path)
    # L4 is the fourth data row: file line 5. A letter O where a zero should be.
    _edit(folder, "store_sales_line_items", "L4,T3,P1,PR1,3.0,270.0", "L4,T3,P1,PR1,3.0,27O.0")

    expected = (
        "store_sales_line_items.csv: column 'line_item_amount' has 1 value(s) that are not "
        "numbers: '27O.0' (line 5)"
    )
    with pytest.raises(SchemaError, match=re.escape(expected)):
        read_tables(folder)


def test_line_item_of_unknown_transaction(tiny_tables, tmp_path):
    folder = _write_csv(tiny_tables, tmp_path)
    _edit(folder, "store_sales_line_items", "L6,T5,", "L6,T99,")

    expected = (
        "store_sales_line_items.csv: 1 row(s) have a 'transaction_id' that does not exist in "
        "store_sales_header.csv: 'T99' (line 7)"
    )
    with pytest.raises(SchemaError, match=re.escape(expected)):
        read_tables(folder)


def test_transaction_of_unknown_customer(tiny_tables, tmp_path):
    folder = _write_csv(tiny_tables, tmp_path)
    _edit(folder, "store_sales_header", "T7,C3,", "T7,C4,")

    with pytest.raises(
        SchemaError, match=r"store_sales_header\.csv: .*'customer_id'.*customer_details\.csv: 'C4'"
    ):
        read_tables(folder)


def test_duplicate_key(tiny_tables, tmp_path):
    folder = _write_csv(tiny_tables, tmp_path)
    _edit(folder, "products", "P3,Lamp", "P2,Lamp")

    expected = (
        "products.csv: column 'product_id' must be unique but has duplicated value(s): "
        "'P2' (line 3), 'P2' (line 4)"
    )
    with pytest.raises(SchemaError, match=re.escape(expected)):
        read_tables(folder)


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "spaces"])
def test_empty_required_value(tiny_tables, tmp_path, blank):
    folder = _write_csv(tiny_tables, tmp_path)
    # C2's customer_since (last column) on file line 3.
    _edit(folder, "customer_details", "budget,+2,2025-03-01", f"budget,+2,{blank}")

    expected = (
        "customer_details.csv: column 'customer_since' has 1 empty value(s), first at line(s) 3."
    )
    with pytest.raises(SchemaError, match=re.escape(expected)):
        read_tables(folder)


def test_empty_nullable_value_is_fine(tiny_tables, tmp_path):
    folder = _write_csv(tiny_tables, tmp_path)
    _edit(folder, "customer_details", "Ben,b@x.in,silver", "Ben,,")

    customers = read_tables(folder)["customer_details"].set_index("customer_id")

    assert pd.isna(customers.loc["C2", "email"])
    assert pd.isna(customers.loc["C2", "loyalty_status"])


def test_many_bad_values_are_counted_not_all_quoted(tiny_tables, tmp_path):
    header = tiny_tables["store_sales_header"]
    header["total_amount"] = header["total_amount"].astype("str").radd("INR ")
    folder = _write_csv(tiny_tables, tmp_path)

    with pytest.raises(
        SchemaError, match=r"has 10 value\(s\) .*'INR 1200.0' \(line 2\).* and 5 more"
    ):
        read_tables(folder)
