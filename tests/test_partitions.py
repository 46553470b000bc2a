"""Tests for clvmodel.partitions: the partitioned Parquet layout round-trips, keeps each
customer in one part, and is checked like CSV tables."""

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from clvmodel import synthetic
from clvmodel.partitions import (
    LAYOUT_FILE,
    is_partitioned,
    open_partitioned,
    partition_of,
    write_partitioned,
)
from clvmodel.schema import TABLES, SchemaError, read_tables

KEYS = {t: spec.key for t, spec in TABLES.items()}


def _sorted(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    return frame.sort_values(KEYS[table], ignore_index=True)


@pytest.fixture(scope="module")
def parted(small_data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("parted")
    return write_partitioned(read_tables(small_data_dir), folder, n_parts=3)


def test_round_trip_gives_the_csv_tables(small_data_dir, parted):
    csv = read_tables(small_data_dir)

    back = read_tables(parted)  # every part, validated

    assert is_partitioned(parted) and not is_partitioned(small_data_dir)
    assert list(back) == list(TABLES)
    for name in TABLES:
        pd.testing.assert_frame_equal(
            _sorted(back[name], name), _sorted(csv[name], name), check_exact=True, obj=name
        )


def test_each_customer_sits_in_one_part_with_their_lines(parted):
    data = open_partitioned(parted)
    seen = []
    for p in data:
        tables = data.tables(p)
        ids = tables["customer_details"]["customer_id"]
        assert (partition_of(ids, data.n_parts) == p).all()
        assert tables["store_sales_header"]["customer_id"].isin(ids).all()
        seen.append(ids)
    assert pd.concat(seen).is_unique


def test_partition_of_is_stable_and_in_range():
    ids = [f"C{i:06d}" for i in range(1000)]

    parts = partition_of(ids, 7)

    assert parts.min() >= 0 and parts.max() < 7
    assert np.array_equal(parts, partition_of(pd.Series(ids), 7))
    assert len(np.unique(parts)) == 7


def test_a_bad_part_is_named(parted, tmp_path):
    tables = read_tables(parted)
    tables["store_sales_header"] = tables["store_sales_header"].assign(
        transaction_date=lambda f: f["transaction_date"].where(f.index != 5)
    )
    write_partitioned(tables, tmp_path, n_parts=2)

    with pytest.raises(SchemaError, match=r"store_sales_header/part-0000\d\.parquet: column "
                       r"'transaction_date' has 1 empty"):  # fmt: skip
        read_tables(tmp_path)


def test_row_counts_come_from_the_footers(parted):
    data = open_partitioned(parted)
    for name in ("customer_details", "store_sales_header", "stores"):
        assert data.n_rows(name) == len(data.read_table(name)) > 0
    with pytest.raises(ValueError, match="has no table 'nope'"):
        data.n_rows("nope")


def test_dates_from_the_footers_are_those_of_the_column(parted, tmp_path):
    days = open_partitioned(parted).read_table("store_sales_header")["transaction_date"]
    expected = (days.min().normalize(), days.max().normalize())
    assert open_partitioned(parted).dates == expected
    bare = shutil.copytree(parted, tmp_path / "bare")  # parts without statistics
    for part in (bare / "store_sales_header").iterdir():
        pq.write_table(pq.read_table(part), part, write_statistics=False)
    assert open_partitioned(bare).dates == expected


def test_not_a_data_set_until_closed(tmp_path):
    with pytest.raises(SchemaError, match="table 'stores' not found"):
        read_tables(tmp_path)
    (tmp_path / LAYOUT_FILE).write_text(json.dumps({"layout": "other"}))
    with pytest.raises(SchemaError, match="does not describe"):
        open_partitioned(tmp_path)


# ------------------------------------------------------------------ chunked generation


@pytest.fixture(scope="module")
def blocky_config():
    return synthetic.SyntheticConfig(n_customers=900, days=200, block_customers=300)


def test_chunked_generation_matches_unchunked(blocky_config, tmp_path):
    for chunk, jobs in ((300, 2), (900, 1)):  # the ground truth in 2 processes, or here
        synthetic.write_dataset(
            tmp_path / str(chunk), blocky_config, random_state=5, layout="parquet",
            n_parts=2, chunk_customers=chunk, n_jobs=jobs,
        )  # fmt: skip
    tables, latent = synthetic.generate(blocky_config, random_state=5)
    one, three = open_partitioned(tmp_path / "900"), open_partitioned(tmp_path / "300")

    assert set(one.parts) == {*TABLES, "latent_customers", "ground_truth"} - {
        "stores", "products", "promotion_details", "loyalty_rules"
    }  # fmt: skip
    for name in one.parts:
        pd.testing.assert_frame_equal(three.read_table(name), one.read_table(name), obj=name)
    # ...and both are the in-memory data set, written in parts.
    back = read_tables(tmp_path / "300")
    for name in TABLES:
        want = read_tables_like(tables[name], name)
        pd.testing.assert_frame_equal(_sorted(back[name], name), want, obj=name)
    pd.testing.assert_frame_equal(
        synthetic.read_latent(tmp_path / "300").sort_values("customer_id", ignore_index=True),
        latent.round(5),
    )
    assert tables["store_sales_header"]["transaction_id"].is_unique
    assert latent["customer_id"].is_unique and len(latent) == 900


def read_tables_like(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """A generated table typed as the readers type it (numbers float, dates to the day)."""
    out = frame.copy()
    for col in TABLES[name].columns:
        if col.kind == "number":
            out[col.name] = out[col.name].astype("float64")
        elif col.kind == "date":
            out[col.name] = pd.to_datetime(out[col.name]).astype("datetime64[us]")
        else:
            out[col.name] = out[col.name].astype("str").where(out[col.name].notna())
    return _sorted(out[[c.name for c in TABLES[name].columns]], name)


def test_first_block_is_the_small_data_set(blocky_config):
    small = synthetic.SyntheticConfig(n_customers=300, days=200, block_customers=300)

    tables, latent = synthetic.generate(blocky_config, random_state=5)
    first, first_latent = synthetic.generate(small, random_state=5)

    pd.testing.assert_frame_equal(latent.iloc[:300], first_latent)
    n = len(first["store_sales_header"])
    pd.testing.assert_frame_equal(
        tables["store_sales_header"].iloc[:n], first["store_sales_header"]
    )
    for name in ("stores", "products", "promotion_details"):
        pd.testing.assert_frame_equal(tables[name], first[name])


def test_chunk_must_be_whole_blocks(blocky_config, tmp_path):
    with pytest.raises(ValueError, match="whole number of blocks of 300"):
        synthetic.write_dataset(tmp_path, blocky_config, layout="parquet", chunk_customers=450)


def test_reads_from_an_fsspec_url(parted):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.put(str(parted), "/clv-parted", recursive=True)
    try:
        remote = open_partitioned("memory:///clv-parted")
        local = open_partitioned(parted)

        assert remote.n_parts == local.n_parts and remote.last_date == local.last_date
        for name, frame in local.tables(1).items():
            pd.testing.assert_frame_equal(remote.tables(1)[name], frame, obj=name)
    finally:
        fs.rm("/clv-parted", recursive=True)
