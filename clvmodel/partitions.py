"""The partitioned Parquet layout: retail data split by customer, for data that does not fit.

A folder in this layout holds the seven tables of :data:`clvmodel.schema.TABLES` as Parquet:

==================================== ================================================
``_layout.json``                     ``{"layout": "clvmodel-partitioned", "n_parts": N,
                                     ...}``, written last: a folder without it is not
                                     (or not yet) a data set
``stores.parquet`` and the other     the shared tables (:data:`SHARED`), small, whole
small tables
``customer_details/part-00000.parquet`` the per-customer tables (:data:`BY_CUSTOMER`),
...                                  one file per part
==================================== ================================================

Every customer's rows sit in one part, chosen by :func:`partition_of` (a hash of the
``customer_id`` text), and a line item sits in the part of its transaction. Features,
targets and scores of a customer read only that customer's rows (see
:mod:`clvmodel.features`), so each part is scored alone with the same functions as the
whole data, in memory bounded by the part. Extra per-customer tables (the synthetic
generator's latent parameters and ground truth) are stored as parts too.

Paths may be local folders or any URL fsspec understands (``s3://...``, ``memory://...``);
URLs need fsspec (installed with the ``dask`` extra). Column types are those of
:func:`clvmodel.schema.read_tables`: ids and text as strings, dates as timestamps, numbers
as float64; each part is checked as a CSV table is, messages naming the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clvmodel.dataset import RetailData, from_tables
from clvmodel.schema import (
    BY_CUSTOMER,
    LAYOUT,
    LAYOUT_FILE,
    SHARED,
    TABLES,
    SchemaError,
    Table,
    check_layout,
    check_references,
    is_partitioned,
    is_url,
    join_path,
    parquet_file,
    parse_typed,
    part_file,
    part_name,
    read_all_parts,
    read_layout,
    read_parquet,
    read_part,
    read_shared,
)

__all__ = [
    "BY_CUSTOMER",
    "LAYOUT",
    "LAYOUT_FILE",
    "SHARED",
    "PartitionWriter",
    "PartitionedData",
    "default_parts",
    "is_partitioned",
    "is_url",
    "join_path",
    "open_partitioned",
    "part_name",
    "partition_of",
    "write_partitioned",
]

#: Customers per part that :func:`default_parts` aims at: scoring a part takes ~0.5 GB.
PART_CUSTOMERS = 25_000

_ARROW_TYPES = {"id": pa.string(), "text": pa.string(), "date": pa.timestamp("us")}


def default_parts(n_customers: int) -> int:
    """A number of parts with about :data:`PART_CUSTOMERS` customers each (at least 1)."""
    return max(1, -(-int(n_customers) // PART_CUSTOMERS))


def partition_of(customer_ids: Sequence[str] | pd.Series | np.ndarray, n_parts: int) -> np.ndarray:
    """The part of each customer: pandas' stable hash of the id text, modulo `n_parts`.

    The hash is pandas' ``hash_array`` (SipHash with its fixed key), the same in every
    process and run, so writers on several machines agree; readers never recompute it.
    """
    if n_parts < 1:
        raise ValueError(f"the number of parts must be at least 1; got {n_parts}.")
    ids = np.asarray(pd.Series(customer_ids, dtype="str").to_numpy(), dtype=object)
    return (pd.util.hash_array(ids, categorize=False) % np.uint64(n_parts)).astype(np.int64)


def _arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([(c.name, _ARROW_TYPES.get(c.kind, pa.float64())) for c in table.columns])


def _to_arrow(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    if schema is None:
        return pa.Table.from_pandas(frame, preserve_index=False)
    frame = frame[[n for n in schema.names if n in frame.columns]]
    schema = pa.schema([f for f in schema if f.name in frame.columns])
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


class PartitionWriter:
    """Writes a partitioned data set chunk by chunk: memory holds one chunk, not the data.

    Each :meth:`append` splits a chunk of the per-customer tables by :func:`partition_of`
    and adds one row group to each part's file; :meth:`close` writes the layout file.
    A chunk must hold whole customers (all their rows) and whole transactions. Reading
    the parts back gives each customer's rows in the order they were appended, whatever
    the chunk sizes.

    >>> with PartitionWriter("big", n_parts=8) as w:    # doctest: +SKIP
    ...     w.write_shared(shared_tables)
    ...     for chunk in chunks:
    ...         w.append(chunk)
    """

    def __init__(self, folder: str | os.PathLike[str], n_parts: int) -> None:
        if n_parts < 1:
            raise ValueError(f"the number of parts must be at least 1; got {n_parts}.")
        self.folder = Path(folder)
        self.n_parts = int(n_parts)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / LAYOUT_FILE).unlink(missing_ok=True)  # not a data set until closed
        self._writers: dict[tuple[str, int], pq.ParquetWriter] = {}
        self._schemas: dict[str, pa.Schema] = {}
        self._written: set[str] = set()

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.close()
        else:
            self._close_files()

    def write_shared(self, tables: dict[str, pd.DataFrame]) -> None:
        """Write the shared tables whole (``<name>.parquet``)."""
        for name, frame in tables.items():
            schema = _arrow_schema(TABLES[name]) if name in TABLES else None
            pq.write_table(_to_arrow(frame, schema), self.folder / f"{name}.parquet")
            self._written.add(name)

    def append(self, tables: dict[str, pd.DataFrame]) -> None:
        """Add a chunk of per-customer tables: those with a ``customer_id`` column and the
        line items (split by their transaction's customer)."""
        parts: dict[str, np.ndarray] = {}
        for name, frame in tables.items():
            if "customer_id" in frame.columns:
                parts[name] = partition_of(frame["customer_id"], self.n_parts)
        if "store_sales_line_items" in tables:
            if "store_sales_header" not in tables:
                raise ValueError(
                    "line items are split by their transactions: append the header too."
                )
            header = tables["store_sales_header"]
            lines = tables["store_sales_line_items"]
            pos = pd.Index(header["transaction_id"]).get_indexer(lines["transaction_id"])
            if (pos < 0).any():
                missing = lines["transaction_id"].to_numpy()[pos < 0][:5]
                raise ValueError(
                    f"line items of transactions not in this chunk's header: {list(missing)}."
                )
            parts["store_sales_line_items"] = parts["store_sales_header"][pos]
        for name, part in parts.items():
            frame = tables[name]
            order = np.argsort(part, kind="stable")
            bounds = np.searchsorted(part[order], np.arange(self.n_parts + 1))
            for p in range(self.n_parts):
                rows = order[bounds[p] : bounds[p + 1]]
                if len(rows):
                    self._write(name, p, frame.iloc[rows])

    def _write(self, name: str, part: int, frame: pd.DataFrame) -> None:
        if name not in self._schemas:
            spec = TABLES.get(name)
            self._schemas[name] = (
                _arrow_schema(spec) if spec is not None else _to_arrow(frame.iloc[:0], None).schema
            )
        table = _to_arrow(frame, self._schemas[name])
        key = (name, part)
        if key not in self._writers:
            (self.folder / name).mkdir(exist_ok=True)
            path = self.folder / name / part_name(part)
            self._writers[key] = pq.ParquetWriter(path, table.schema)
        self._writers[key].write_table(table)

    def _close_files(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def close(self) -> None:
        """Close the part files (an empty file for a part no chunk reached) and write the
        layout file."""
        names = sorted({name for name, _ in self._writers} | set(self._schemas))
        for name in names:
            for p in range(self.n_parts):
                if (name, p) not in self._writers:
                    path = self.folder / name / part_name(p)
                    pq.write_table(self._schemas[name].empty_table(), path)
        self._close_files()
        missing = [t for t in TABLES if t not in self._written and t not in names]
        if missing:
            raise ValueError(f"no data written for table(s) {missing}.")
        layout = {
            "layout": LAYOUT,
            "version": 1,
            "n_parts": self.n_parts,
            "partitioned_by": "customer_id",
            "hash": "pandas.util.hash_array(customer_id as text) % n_parts",
            "shared": [t for t in SHARED],
            "parts": names,
        }
        (self.folder / LAYOUT_FILE).write_text(json.dumps(layout, indent=2) + "\n")


def write_partitioned(
    tables: dict[str, pd.DataFrame],
    folder: str | os.PathLike[str],
    *,
    n_parts: int | None = None,
    extra: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the seven tables (and `extra` per-customer tables) in the partitioned layout.

    `n_parts` defaults to :func:`default_parts` of the number of customers.
    """
    n_parts = n_parts or default_parts(len(tables["customer_details"]))
    with PartitionWriter(folder, n_parts) as writer:
        writer.write_shared({t: tables[t] for t in SHARED})
        writer.append({t: tables[t] for t in BY_CUSTOMER} | (extra or {}))
    return Path(folder)


# ---------------------------------------------------------------------------- reading
def _timestamp_range(meta: pq.FileMetaData, column: str) -> list | None:
    """The smallest and largest value of a timestamp column of a Parquet file, from the
    statistics of its row groups (nothing for a file without values); None when the
    column is not a timestamp or a row group with values has no statistics."""
    names = meta.schema.names
    if column not in names:
        return None
    i = names.index(column)
    if meta.schema.column(i).logical_type.type != "TIMESTAMP":
        return None
    found = []
    for group in range(meta.num_row_groups):
        chunk = meta.row_group(group).column(i)
        stats = chunk.statistics
        if stats is not None and stats.has_min_max:
            found += [stats.min, stats.max]
        elif stats is None or stats.null_count != chunk.num_values:  # not all empty
            return None
    return [min(found), max(found)] if found else []


@dataclass(frozen=True)
class PartitionedData:
    """A data set in the partitioned layout, read one part at a time.

    From :func:`open_partitioned`. :meth:`part` gives one part as :class:`RetailData`,
    the object every feature, target and scoring function takes; :meth:`tables` the
    validated tables of a part.
    """

    path: str
    n_parts: int
    parts: tuple[str, ...]

    def _file(self, name: str, part: int | None = None) -> tuple[str, str]:
        if part is not None and not 0 <= part < self.n_parts:
            raise ValueError(f"part must be in [0, {self.n_parts}); got {part}.")
        return part_file(self.path, name, part)

    @cached_property
    def shared(self) -> dict[str, pd.DataFrame]:
        """The shared tables, validated (read once)."""
        return read_shared(self.path)

    def tables(self, part: int) -> dict[str, pd.DataFrame]:
        """The seven tables of one part, validated as :func:`clvmodel.schema.read_tables`
        validates CSV files (references checked within the part and the shared tables)."""
        return self._checked(part)[0]

    def _checked(
        self, part: int
    ) -> tuple[dict[str, pd.DataFrame], dict[tuple[str, str], np.ndarray]]:
        """:meth:`tables`, and the rows their references point to (for the joins)."""
        self._file(BY_CUSTOMER[0], part)  # refuses a part out of range
        return read_part(self.path, part, self.shared)

    def part(self, part: int) -> RetailData:
        """One part joined into :class:`clvmodel.dataset.RetailData`."""
        return from_tables(*self._checked(part))

    def customer_tables(self, customer_ids: Sequence[str]) -> dict[str, pd.DataFrame]:
        """The seven tables holding only these customers' rows (and the shared tables),
        validated as :meth:`tables`.

        Only the parts of these customers are read, and of those only the rows of these
        customers (a filter while reading): a tenth of a second per customer where a whole
        part takes seconds, for an app that looks one customer up. Unknown IDs have no rows.
        """
        ids = np.asarray(pd.unique(pd.Series(list(customer_ids), dtype="str")), dtype=object)
        tables, sources = dict(self.shared), {t: f"{t}.parquet" for t in SHARED}
        frames: dict[str, list[pd.DataFrame]] = {t: [] for t in BY_CUSTOMER}
        parts = partition_of(ids, self.n_parts) if len(ids) else np.zeros(1, dtype=np.int64)
        for part in np.unique(parts):  # no ID: part 0 read with nothing kept, for the columns
            mine = pa.array(ids[parts == part].tolist() if len(ids) else [], type=pa.string())
            read = {}
            for name in BY_CUSTOMER:
                path, source = self._file(name, int(part))
                if name == "store_sales_line_items":  # line items follow their transaction
                    wanted = read["store_sales_header"]["transaction_id"].astype("str")
                    keep = pc.field("transaction_id").isin(
                        pa.array(wanted.tolist(), type=pa.string())
                    )
                else:
                    keep = pc.field("customer_id").isin(mine)
                read[name] = read_parquet(path, source, filters=keep)
                frames[name].append(read[name])
                sources[name] = source
        for name in BY_CUSTOMER:
            frame = pd.concat(frames[name], ignore_index=True)
            tables[name] = parse_typed(frame, TABLES[name], source=sources[name])
        check_references(tables, sources=sources)
        return {t: tables[t] for t in TABLES}

    def customers_data(self, customer_ids: Sequence[str]) -> RetailData:
        """:meth:`customer_tables` joined into :class:`clvmodel.dataset.RetailData`: the
        same rows of these customers as :meth:`part` has, so the same features."""
        return from_tables(self.customer_tables(customer_ids))

    def read_table(self, name: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        """One table, every part concatenated, as stored (not validated): for the columns
        of a whole data set (dates) and the synthetic extras."""
        if name in SHARED:
            return read_parquet(*self._file(name), columns=columns)
        if name not in self.parts:
            raise ValueError(f"{self.path} has no table {name!r}; it has {list(self.parts)}.")
        frames = [read_parquet(*self._file(name, p), columns=columns) for p in range(self.n_parts)]
        return pd.concat(frames, ignore_index=True)

    def n_rows(self, name: str) -> int:
        """Rows of one table, every part, from the Parquet footers: no data is read (a
        column of a million customers' transactions took ~9 s to count)."""
        if name not in self.parts and name not in SHARED:
            raise ValueError(f"{self.path} has no table {name!r}; it has {list(self.parts)}.")
        parts = [None] if name in SHARED else range(self.n_parts)
        total = 0
        for part in parts:
            with parquet_file(*self._file(name, part)) as f:
                total += pq.ParquetFile(f).metadata.num_rows
        return total

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.n_parts))

    @cached_property
    def dates(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last transaction day of the whole data.

        From the column's statistics in the Parquet footers (reading the column of a
        million customers' transactions took ~2 s of the app's start); the column itself
        is read only from a part whose footer has none.
        """
        days = []
        for part in range(self.n_parts):
            path, source = self._file("store_sales_header", part)
            with parquet_file(path, source) as f:
                found = _timestamp_range(pq.ParquetFile(f).metadata, "transaction_date")
            if found is None:
                column = read_parquet(path, source, columns=["transaction_date"])
                found = column["transaction_date"].dropna().agg(["min", "max"]).dropna()
            days.extend(pd.Timestamp(d) for d in found)
        if not days:
            raise SchemaError(f"{self.path}: the data set has no transactions.")
        return min(days).normalize(), max(days).normalize()

    @property
    def first_date(self) -> pd.Timestamp:
        return self.dates[0]

    @property
    def last_date(self) -> pd.Timestamp:
        return self.dates[1]

    def read_all(self) -> dict[str, pd.DataFrame]:
        """The seven tables of every part concatenated (the whole data in memory)."""
        return read_all_parts(self.path, self.n_parts, self.shared)


def open_partitioned(path: str | os.PathLike[str]) -> PartitionedData:
    """A partitioned data set (SchemaError if `path` is not one)."""
    path = os.fspath(path)
    layout = check_layout(path, read_layout(path))
    return PartitionedData(path, int(layout["n_parts"]), tuple(layout["parts"]))
