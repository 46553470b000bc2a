"""clvmodel.loading.read_source: the three kinds of source, cut before the as-of day, and
what the metadata says of each. On the hand-written tables (three customers), in seconds."""

import pandas as pd
import pytest

from clvmodel.loading import LOG, PARTITIONED, SEVEN_TABLES, read_source
from clvmodel.partitions import write_partitioned
from clvmodel.persistence import folder_fingerprint, tree_fingerprint
from clvmodel.schema import write_tables

AS_OF = "2025-06-01"


@pytest.fixture
def tables_dir(tiny_tables, tmp_path):
    write_tables(tiny_tables, tmp_path / "tables")
    return tmp_path / "tables"


@pytest.fixture
def log_file(tiny_tables, tmp_path):
    header, lines = tiny_tables["store_sales_header"], tiny_tables["store_sales_line_items"]
    rows = lines.merge(header, on="transaction_id")
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {
            "cust": rows["customer_id"],
            "transaction_date": rows["transaction_date"].dt.strftime("%Y-%m-%d"),
            "amount": rows["line_item_amount"],
        }
    ).to_csv(path, index=False)
    return path


def test_seven_tables_cut_before_as_of_keep_the_tables_as_read(tables_dir, tiny_tables):
    whole = read_source(tables_dir)
    source = read_source(tables_dir, as_of=AS_OF)

    assert source.info == {"format": SEVEN_TABLES, "as_of": AS_OF}
    assert whole.info == {"format": SEVEN_TABLES}
    assert source.data.transactions["date"].max() < pd.Timestamp(AS_OF)
    assert whole.data.transactions["date"].max() >= pd.Timestamp(AS_OF)
    assert len(source.tables["store_sales_header"]) == len(tiny_tables["store_sales_header"])
    assert source.fingerprint() == folder_fingerprint(tables_dir)
    assert source.reading is None and source.latent() is None and not source.is_synthetic()


def test_log_says_its_mapping_and_rows(log_file):
    source = read_source(transactions=log_file, columns={"cust": "customer_id"}, as_of=AS_OF)

    assert source.format == LOG and source.tables is None
    assert source.info == {"format": LOG, "column_mapping": {"cust": "customer_id"},
                           "rows": source.reading.n_rows, "rejected_rows": 0,
                           "anonymous_rows": 0, "as_of": AS_OF}  # fmt: skip
    assert source.data.transactions["date"].max() < pd.Timestamp(AS_OF)
    assert len(source.fingerprint()) > 8


def test_partitioned_folder_is_opened_not_cut(tiny_tables, tmp_path):
    folder = write_partitioned(tiny_tables, tmp_path / "parts", n_parts=2)

    source = read_source(folder, as_of=AS_OF)

    assert source.info == {"format": PARTITIONED, "as_of": AS_OF}
    assert source.data.n_parts == 2 and source.tables is None
    assert source.data.last_date >= pd.Timestamp(AS_OF)  # the model cuts each part
    assert source.fingerprint() == tree_fingerprint(folder)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "a data folder or a transaction log"),
        ({"data": "x", "transactions": "y"}, "a data folder or a transaction log"),
        ({"data": "x", "columns": {"a": "customer_id"}}, r"--map .* applies to --transactions"),
        ({"data": "x", "as_of": "soon"}, "as_of must be a date"),
    ],
    ids=["neither", "both", "mapping-for-a-folder", "bad-as-of"],
)
def test_refuses_what_cannot_be_read_before_reading(kwargs, message):
    with pytest.raises(ValueError, match=message):
        read_source(**kwargs)
