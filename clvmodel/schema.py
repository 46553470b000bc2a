"""The seven retail tables: their columns and types, and the readers that validate them.

The lowest layer of the data: a folder of CSV files or a data set in the partitioned Parquet
layout (:mod:`clvmodel.partitions` writes it and reads it part by part as
:class:`~clvmodel.dataset.RetailData`) are read here into validated tables;
:mod:`clvmodel.dataset` joins them.

Every check names the file, the column and the first offending lines, because the
person reading the message has the file open in a spreadsheet, not our code.
Line numbers are file lines: the header is line 1, the first data row line 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clvmodel.dates import parse_days

Kind = Literal["id", "text", "date", "number"]

#: How many offending values a message quotes before it says "and N more".
_SHOW = 5


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, kind and whether it may be empty."""

    name: str
    kind: Kind
    nullable: bool = False
    required: bool = True


@dataclass(frozen=True)
class Table:
    """A table's columns and its primary key (unique, never empty)."""

    name: str
    columns: tuple[Column, ...]
    key: str

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _id(name: str, *, nullable: bool = False) -> Column:
    return Column(name, "id", nullable=nullable)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "stores",
            (
                _id("store_id"),
                Column("store_name", "text", nullable=True),
                Column("store_city", "text", nullable=True),
                Column("store_region", "text", nullable=True),
                Column("opening_date", "date", nullable=True),
                # Optional: "in-store", "online", "web", "mobile"... marks the channel.
                Column("store_type", "text", nullable=True, required=False),
            ),
            key="store_id",
        ),
        Table(
            "products",
            (
                _id("product_id"),
                Column("product_name", "text", nullable=True),
                Column("product_category", "text"),
                Column("unit_price", "number", nullable=True),
                Column("current_stock_level", "number", nullable=True),
            ),
            key="product_id",
        ),
        Table(
            "customer_details",
            (
                _id("customer_id"),
                Column("first_name", "text", nullable=True),
                Column("email", "text", nullable=True),
                Column("loyalty_status", "text", nullable=True),
                Column("total_loyalty_points", "number", nullable=True),
                Column("last_purchase_date", "date", nullable=True),
                Column("segment_id", "text", nullable=True),
                Column("customer_phone", "text", nullable=True),
                Column("customer_since", "date"),
            ),
            key="customer_id",
        ),
        Table(
            "promotion_details",
            (
                _id("promotion_id"),
                Column("promotion_name", "text", nullable=True),
                Column("start_date", "date"),
                Column("end_date", "date"),
                Column("discount_percentage", "number"),
                Column("applicable_category", "text", nullable=True),
            ),
            key="promotion_id",
        ),
        Table(
            "loyalty_rules",
            (
                _id("rule_id"),
                Column("rule_name", "text", nullable=True),
                Column("points_per_unit_spend", "number"),
                Column("min_spend_threshold", "number"),
                Column("bonus_points", "number"),
            ),
            key="rule_id",
        ),
        Table(
            "store_sales_header",
            (
                _id("transaction_id"),
                _id("customer_id"),
                _id("store_id"),
                Column("transaction_date", "date"),
                Column("total_amount", "number", nullable=True),
                Column("customer_phone", "text", nullable=True),
            ),
            key="transaction_id",
        ),
        Table(
            "store_sales_line_items",
            (
                _id("line_item_id"),
                _id("transaction_id"),
                _id("product_id"),
                _id("promotion_id", nullable=True),
                Column("quantity", "number"),
                # Negative amounts are returns: kept, never rejected.
                Column("line_item_amount", "number"),
            ),
            key="line_item_id",
        ),
    )
}

#: (table, column) -> (referenced table, its key). A dangling reference is an error.
FOREIGN_KEYS: dict[tuple[str, str], str] = {
    ("store_sales_line_items", "transaction_id"): "store_sales_header",
    ("store_sales_line_items", "product_id"): "products",
    ("store_sales_line_items", "promotion_id"): "promotion_details",
    ("store_sales_header", "customer_id"): "customer_details",
    ("store_sales_header", "store_id"): "stores",
}

#: Values of stores.store_type (or store_city) that mark a non-physical channel.
ONLINE_MARKERS = frozenset({"online", "web", "mobile", "app", "ecommerce", "e-commerce"})

#: (month, day) of the retail calendar's yearly peaks (Black Friday week, the December holidays).
HOLIDAY_PEAKS: tuple[tuple[int, int], ...] = ((11, 28), (12, 20))

#: Loyalty tiers from lowest to highest; other values are kept as "unknown".
LOYALTY_TIERS: tuple[str, ...] = ("bronze", "silver", "gold", "platinum")

_SUFFIXES = (".csv", ".csv.gz")


class SchemaError(ValueError):
    """A table that does not match the schema; the message says where and how."""


def _quote(values: pd.Series, lines: pd.Index) -> str:
    shown = [f"{v!r} (line {n})" for v, n in zip(values[:_SHOW], lines[:_SHOW], strict=True)]
    more = len(values) - _SHOW
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _file_lines(frame: pd.DataFrame, mask: pd.Series) -> pd.Index:
    """File line numbers of the masked rows (header is line 1)."""
    return frame.index[mask.to_numpy()] + 2


def find_table_file(folder: Path, table: str) -> Path:
    """Path of `table` in `folder`, as .csv or .csv.gz; SchemaError if neither exists."""
    for suffix in _SUFFIXES:
        path = folder / f"{table}{suffix}"
        if path.exists():
            return path
    raise SchemaError(
        f"{folder}: table {table!r} not found (expected {table}.csv or {table}.csv.gz). "
        f"The seven tables are: {', '.join(TABLES)}."
    )


def parse_table(raw: pd.DataFrame, table: Table, *, source: str) -> pd.DataFrame:
    """Check and type one table read as text; `source` names it in messages.

    Parameters
    ----------
    raw : DataFrame
        The table with every cell as text (or missing), in file order.
    table : Table
        Its spec from :data:`TABLES`.
    source : str
        The file name used in error messages.

    Returns
    -------
    DataFrame
        Columns of the spec in spec order (optional ones only when present), ids and
        text as ``str``, dates as ``datetime64`` floored to the day, numbers as float.
    """
    missing = [c for c in table.required if c not in raw.columns]
    if missing:
        raise SchemaError(
            f"{source}: missing column(s) {missing}; found {list(raw.columns)}. "
            f"Expected columns: {[c.name for c in table.columns]}."
        )
    raw = raw.reset_index(drop=True)
    out = {}
    for col in table.columns:
        if col.name not in raw.columns:
            continue
        values = raw[col.name]
        empty = values.isna() | (values.astype("str").str.strip() == "")
        _check_filled(raw, empty, col, source)
        if col.kind in ("id", "text"):
            out[col.name] = values.where(~empty).astype("str")
            continue
        if col.kind == "date":
            parsed = parse_days(values.where(~empty, ""))
            what = "dates (expected YYYY-MM-DD)"
        else:
            parsed = _to_float(values.where(~empty))
            what = "numbers"
        bad = parsed.isna() & ~empty
        if bad.any():
            raise SchemaError(
                f"{source}: column {col.name!r} has {int(bad.sum())} value(s) that are not "
                f"{what}: {_quote(values[bad.to_numpy()], _file_lines(raw, bad))}."
            )
        out[col.name] = parsed
    frame = pd.DataFrame(out)
    _check_unique(frame, table, source)
    return frame


def _check_filled(frame: pd.DataFrame, empty: pd.Series, col: Column, source: str) -> None:
    """Refuse empty values in a required column, naming the first lines."""
    if empty.any() and not col.nullable:
        lines = _file_lines(frame, empty)
        raise SchemaError(
            f"{source}: column {col.name!r} has {int(empty.sum())} empty value(s), "
            f"first at line(s) {', '.join(map(str, lines[:_SHOW]))}."
        )


def _unique(values: pd.Series) -> bool:
    """Whether no two `values` are equal (missing ones count as equal): keys in increasing
    order (exports usually are) are checked without hashing, others by pyarrow's hash,
    both faster than pandas' ``duplicated`` on text (~25x and ~1.5x)."""
    arr = pa.array(values, from_pandas=True)
    if pc.all(pc.less(arr[:-1], arr[1:]), skip_nulls=False).as_py():
        return True
    return len(pc.unique(arr)) == len(arr)


def _check_unique(frame: pd.DataFrame, table: Table, source: str) -> None:
    """Refuse duplicated keys, quoting them with their lines."""
    if _unique(frame[table.key]):
        return
    dup = frame[table.key].duplicated(keep=False)
    if dup.any():
        raise SchemaError(
            f"{source}: column {table.key!r} must be unique but has duplicated value(s): "
            f"{_quote(frame.loc[dup.to_numpy(), table.key], _file_lines(frame, dup))}."
        )


def _blank(values: pd.Series) -> pd.Series:
    """Missing or only spaces: pyarrow's string kernels (no Python objects per cell)."""
    arr = pa.array(values, from_pandas=True)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        return values.isna()
    # Empty or all whitespace (the characters utf8_trim_whitespace strips, checked for
    # every code point): 2x faster than trimming, which copies every string.
    blank = pc.or_(pc.equal(pc.binary_length(arr), 0), pc.utf8_is_space(arr)).fill_null(True)
    return pd.Series(blank.to_numpy(zero_copy_only=False), index=values.index)


def parse_typed(frame: pd.DataFrame, table: Table, *, source: str) -> pd.DataFrame:
    """Check and type one table read from a typed file (Parquet), as :func:`parse_table`.

    Columns already of their kind's type (strings, timestamps, numbers) are kept, dates
    floored to the day; any other column is read as text by :func:`parse_table`, with its
    messages. Lines in messages count as in a CSV export (header = line 1).
    """
    typed, as_text = {}, {}
    for col in table.columns:
        if col.name not in frame.columns:
            continue
        values = frame[col.name].reset_index(drop=True)
        if col.kind == "date" and pd.api.types.is_datetime64_any_dtype(values):
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_localize(None)
            typed[col.name] = values.dt.floor("D").astype("datetime64[us]")
            empty = values.isna()
        elif col.kind == "number" and pd.api.types.is_numeric_dtype(values):
            typed[col.name] = values.astype("float64")
            empty = values.isna()
        elif col.kind in ("id", "text") and pd.api.types.is_string_dtype(values):
            empty = _blank(values)
            # Blanks become missing; a column without any is kept as it is (no copy).
            typed[col.name] = (values.where(~empty) if empty.any() else values).astype("str")
        else:
            as_text[col.name] = values
            continue
        _check_filled(frame.reset_index(drop=True), empty, col, source)
    missing = [c for c in table.required if c not in frame.columns]
    if missing or as_text:
        raw = pd.DataFrame({c: frame[c].reset_index(drop=True) for c in frame.columns})
        text_cols = [c for c in frame.columns if c in as_text]
        raw[text_cols] = raw[text_cols].astype("str").where(raw[text_cols].notna())
        parsed = parse_table(raw, table, source=source)  # raises for missing columns, too
        typed |= {c: parsed[c] for c in as_text}
    out = pd.DataFrame({c.name: typed[c.name] for c in table.columns if c.name in typed})
    _check_unique(out, table, source)
    return out


def check_references(
    tables: dict[str, pd.DataFrame], *, sources: dict[str, str]
) -> dict[tuple[str, str], np.ndarray]:
    """Raise SchemaError for the first foreign key whose values are missing from its table.

    Returns each foreign key's rows in its table (:func:`key_rows`), which
    :func:`clvmodel.dataset.from_tables` joins with instead of looking them up again.
    """
    rows = {}
    for (name, column), ref in FOREIGN_KEYS.items():
        values = tables[name][column]
        rows[name, column] = key_rows(values, tables[ref][TABLES[ref].key])
        dangling = pd.Series(values.notna().to_numpy() & (rows[name, column] < 0))
        if dangling.any():
            raise SchemaError(
                f"{sources[name]}: {int(dangling.sum())} row(s) have a {column!r} that does "
                f"not exist in {sources[ref]}: "
                f"{_quote(values[dangling.to_numpy()], _file_lines(values.to_frame(), dangling))}."
            )
    return rows


def _to_float(values: pd.Series) -> pd.Series:
    """Text to float, NaN where it is not a number: pyarrow's cast (7x faster than
    ``pd.to_numeric``) when every value parses, pandas' to find the ones that do not."""
    try:
        arr = pc.cast(pa.array(values, from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return pd.Series(arr.to_numpy(zero_copy_only=False), index=values.index, dtype="float64")


def key_rows(
    values: pd.Series | pd.Index | pd.api.extensions.ExtensionArray,
    keys: pd.Series | pd.Index | pd.api.extensions.ExtensionArray,
) -> np.ndarray:
    """The row of `keys` (unique) holding each of `values` as text, -1 where none does:
    pyarrow's hash lookup, ~18x faster than ``Series.isin`` on 700,000 text IDs.

    Values that run through the keys in their order (line items listed transaction by
    transaction, as the header lists them) are matched by comparing neighbours instead:
    ~7x cheaper than building the hash of 400,000 keys.
    """
    arr = pa.array(values.astype("str"), from_pandas=True)
    ref = pa.array(keys.astype("str"), from_pandas=True).cast(arr.type)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) > 1:
        new_run = pc.not_equal(arr[1:], arr[:-1]).fill_null(True)
        starts = np.flatnonzero(np.r_[True, new_run.to_numpy(zero_copy_only=False)])
        if (
            len(starts) == len(ref)
            and pc.all(pc.equal(arr.take(starts), ref), skip_nulls=False).as_py()
        ):
            lengths = np.diff(np.r_[starts, len(arr)])
            return np.repeat(np.arange(len(ref), dtype=np.int32), lengths)
    return pc.index_in(arr, value_set=ref).fill_null(-1).to_numpy(zero_copy_only=False)


def _read_text_csv(path: Path) -> pd.DataFrame:
    """Every cell as text (IDs keep leading zeros); pyarrow's reader is ~5x faster."""
    opts = {"dtype": str, "keep_default_na": False, "na_values": [""]}
    try:
        return pd.read_csv(path, engine="pyarrow", **opts)
    except Exception:  # the C parser below raises the precise, catchable error
        return pd.read_csv(path, **opts)


def read_tables(folder: str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """Read and validate the seven tables from a folder of CSV (or gzip CSV) files, or
    from a partitioned Parquet data set (:mod:`clvmodel.partitions`, every part at once).

    Raises
    ------
    SchemaError
        Naming the file, column and first offending lines: missing table or column,
        empty required value, unparseable date or number, duplicate key, dangling
        reference (e.g. a line item whose transaction does not exist).
    """
    layout = read_layout(os.fspath(folder))
    if layout is not None:
        path = os.fspath(folder)
        return read_all_parts(path, int(check_layout(path, layout)["n_parts"]))
    folder = Path(folder)
    if not folder.is_dir():
        raise SchemaError(f"{folder}: not a folder of retail tables.")
    tables, sources = {}, {}
    for name, table in TABLES.items():
        path = find_table_file(folder, name)
        sources[name] = path.name
        try:
            raw = _read_text_csv(path)
        except (
            pd.errors.ParserError,
            pd.errors.EmptyDataError,
            UnicodeDecodeError,
            EOFError,
            OSError,
        ) as exc:
            raise SchemaError(f"{path.name}: cannot be read as CSV ({exc}).") from exc
        tables[name] = parse_table(raw, table, source=path.name)
    check_references(tables, sources=sources)
    return tables


def write_tables(
    tables: dict[str, pd.DataFrame], folder: str | Path, *, compress: bool = True
) -> None:
    """Write tables as CSV (gzip by default), dates as YYYY-MM-DD, in schema column order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        suffix = ".csv.gz" if compress else ".csv"
        for stale in _SUFFIXES:
            (folder / f"{name}{stale}").unlink(missing_ok=True)
        frame.to_csv(
            folder / f"{name}{suffix}",
            index=False,
            date_format="%Y-%m-%d",
            compression={"method": "gzip", "mtime": 0} if compress else None,
        )


# ------------------------------------------------------- the partitioned layout, read
# The files of the layout :mod:`clvmodel.partitions` writes (its docstring describes it),
# read here, below the joined data, so that read_tables reads either kind of folder.

LAYOUT = "clvmodel-partitioned"
LAYOUT_FILE = "_layout.json"
#: Tables stored whole: every part needs all of them.
SHARED: tuple[str, ...] = ("stores", "products", "promotion_details", "loyalty_rules")
#: Tables split by customer (line items follow their transaction).
BY_CUSTOMER: tuple[str, ...] = ("customer_details", "store_sales_header", "store_sales_line_items")


def part_name(part: int) -> str:
    """The file name of a part, in every per-customer table's folder."""
    return f"part-{part:05d}.parquet"


def is_url(path: str) -> bool:
    """Whether `path` is read through fsspec rather than the local file system."""
    return "://" in path


def _open(path: str) -> IO[bytes]:
    if is_url(path):
        import fsspec  # installed with the dask extra

        return fsspec.open(path, "rb").open()
    return open(path, "rb")


def join_path(root: str, *names: str) -> str:
    """`names` under `root`, with ``/`` for URLs and the OS separator for local paths."""
    return "/".join([root.rstrip("/"), *names]) if is_url(root) else str(Path(root, *names))


def read_layout(path: str) -> dict | None:
    """The layout file of a partitioned data set; None when `path` has none."""
    try:
        with _open(join_path(path, LAYOUT_FILE)) as f:
            layout = json.loads(f.read())
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path}: {LAYOUT_FILE} cannot be read ({exc}).") from exc
    if not isinstance(layout, dict) or layout.get("layout") != LAYOUT:
        raise SchemaError(f"{path}: {LAYOUT_FILE} does not describe a {LAYOUT} data set.")
    return layout


def check_layout(path: str, layout: dict | None) -> dict:
    """`layout` (from :func:`read_layout`) if it describes a whole data set; SchemaError
    naming what is missing otherwise."""
    if layout is None:
        raise SchemaError(
            f"{path}: not a partitioned data set (no {LAYOUT_FILE}); write one with "
            "clvmodel.partitions.write_partitioned or clvmodel-synthetic --layout parquet."
        )
    missing = [t for t in BY_CUSTOMER if t not in layout.get("parts", [])]
    if missing:
        raise SchemaError(f"{path}: {LAYOUT_FILE} lists no parts for table(s) {missing}.")
    return layout


def is_partitioned(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a folder in the partitioned layout (it has the layout file)."""
    return read_layout(os.fspath(path)) is not None


@contextmanager
def parquet_file(path: str, source: str) -> Iterator[IO[bytes]]:
    """A part's file open for reading; a missing or unreadable file is a SchemaError."""
    try:
        with _open(path) as f:
            yield f
    except FileNotFoundError as exc:
        raise SchemaError(f"{source}: missing from the partitioned data set.") from exc
    except (OSError, pa.ArrowException) as exc:
        raise SchemaError(f"{source}: not a readable Parquet file ({exc}).") from exc


def read_parquet(
    path: str, source: str, columns: list[str] | None = None, filters=None
) -> pd.DataFrame:
    """One Parquet file as stored (not validated); `source` names it in messages."""
    with parquet_file(path, source) as f:
        table = pq.read_table(f, columns=columns, filters=filters)
    return table.to_pandas()


def part_file(root: str, name: str, part: int | None = None) -> tuple[str, str]:
    """(path, name in messages) of a shared table (`part` None) or of one part of a
    per-customer table."""
    if part is None:
        return join_path(root, f"{name}.parquet"), f"{name}.parquet"
    return join_path(root, name, part_name(part)), f"{name}/{part_name(part)}"


def read_shared(root: str) -> dict[str, pd.DataFrame]:
    """The shared tables of a partitioned data set, validated."""
    out = {}
    for name in SHARED:
        path, source = part_file(root, name)
        out[name] = parse_typed(read_parquet(path, source), TABLES[name], source=source)
    return out


def read_part(
    root: str, part: int, shared: dict[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], dict[tuple[str, str], np.ndarray]]:
    """The seven tables of one part, validated as :func:`read_tables` validates CSV files
    (references checked within the part and the `shared` tables), and the rows their
    references point to (for the joins of :func:`clvmodel.dataset.from_tables`)."""
    tables, sources = dict(shared), {t: f"{t}.parquet" for t in SHARED}
    for name in BY_CUSTOMER:
        path, source = part_file(root, name, part)
        tables[name] = parse_typed(read_parquet(path, source), TABLES[name], source=source)
        sources[name] = source
    rows = check_references(tables, sources=sources)
    return {t: tables[t] for t in TABLES}, rows


def read_all_parts(
    root: str, n_parts: int, shared: dict[str, pd.DataFrame] | None = None
) -> dict[str, pd.DataFrame]:
    """The seven tables of every part concatenated (the whole data in memory)."""
    shared = read_shared(root) if shared is None else shared
    per_part = [read_part(root, p, shared)[0] for p in range(n_parts)]
    return {
        t: shared[t]
        if t in SHARED
        else pd.concat([tables[t] for tables in per_part], ignore_index=True)
        for t in TABLES
    }
