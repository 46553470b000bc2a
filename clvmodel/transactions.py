"""Read any transaction log (one row per purchase, return or invoice line) into :class:`RetailData`.

The log is a single table, CSV (optionally gzip-compressed), Excel (.xlsx) or Parquet,
one row per purchase or per invoice line, with the columns

============================ ===================================================
``customer_id``              required; text, exactly as written (leading zeros kept,
                             surrounding spaces trimmed). An empty cell is an
                             anonymous (guest) purchase: counted, not an error
``transaction_date``         required; ``YYYY-MM-DD``, a time of day is ignored
``amount``                   required, unless ``quantity`` and ``unit_price`` are
                             both given; net amount of the row, negative for a
                             return; a plain number (``-12.5``), no currency sign
                             or thousands separator
``category``                 optional; one spend target per category
``quantity``                 optional; units bought (a number, may be empty).
                             Without ``amount``, required: amount = quantity ×
                             unit_price, so a negative quantity is a return
``unit_price``               optional; price per unit (a plain number); used only
                             when the log has no ``amount`` column
``product_id``               optional; product code, text as written (the
                             ``products`` feature group: ``n_products``)
``store_id``                 optional; the store of the purchase
``channel``                  optional; ``online``, ``web``, ``mobile``, ``app`` or
                             ``ecommerce`` mark an online purchase, anything else a
                             store visit
``region``                   optional; region or country of the purchase, stored on
                             the transactions (lower-cased like categories). The
                             ``regions`` feature group also needs ``channel``
``transaction_id``           optional; an invoice or order number: rows sharing it
                             form one basket (one transaction of several lines).
                             Without it, a customer's rows of one day form one
                             basket
============================ ===================================================

Header names are compared after trimming and lower-casing, with spaces and hyphens read
as underscores (``"Customer ID"`` is ``customer_id``). Common names of line-level
exports are recognised too (:data:`ALIASES`): the column name without underscores
(``CustomerID``, ``UnitPrice``), ``InvoiceNo``/``invoice``/``order_id`` for
``transaction_id``, ``InvoiceDate``/``order_date``/``date`` for ``transaction_date``,
``StockCode``/``sku``/``product_code`` for ``product_id``, ``price`` for
``unit_price``, ``qty`` for ``quantity`` and ``country`` for ``region``; so the UCI
Online Retail file reads without any mapping. A column already named as in the table
wins over an alias, and two columns that could both be the same log column are refused
(map one). Other names are mapped with ``columns={"your_name": "customer_id", ...}``
(which also wins over aliases). Other columns are ignored.

Rows without a ``customer_id`` (guest purchases, a quarter of the lines of the UCI Online
Retail log) are anonymous: they cannot be attributed to anyone, so they are left out of
the data, counted in :attr:`LogReading.anonymous` and checked no further; they are not
errors. Other rows that cannot be read (a date, amount, quantity or unit price that does
not parse, a ``transaction_id`` shared by two customers or two days) are never dropped
silently: they come back in ``rejected`` with their line numbers and the reason. When
more than ``max_bad_share`` of the rows that name a customer are bad, something is wrong
with the file as a whole (a date format, a shifted column) and
:class:`~clvmodel.schema.SchemaError` is raised instead.

Returns (negative amounts) are kept: net spend is the target. A cancellation invoice
(``C536379`` in the Online Retail log, with negative quantities) is a basket of its own,
a return, since its number differs from the original invoice's. Identical rows are all
kept: in a line-level log two equal lines are two purchases.

A log holds less than the seven retail tables: no promotions, loyalty rules or customer
attributes, and products or regions only when it has those columns. The matching columns
of :class:`RetailData` are left empty (all missing), which
:func:`clvmodel.features.available_groups` reads as "absent", so the features that need
them are not built.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.dates import parse_days
from clvmodel.schema import ONLINE_MARKERS, SchemaError

__all__ = [
    "ALIASES",
    "COLUMNS",
    "MAX_BAD_SHARE",
    "OPTIONAL",
    "REQUIRED",
    "UNCATEGORIZED",
    "LogReading",
    "category_names",
    "describe_rejected",
    "parse_mapping",
    "read_transactions",
]

log = logging.getLogger(__name__)

REQUIRED: tuple[str, ...] = ("customer_id", "transaction_date", "amount")
OPTIONAL: tuple[str, ...] = (
    "category",
    "quantity",
    "unit_price",
    "product_id",
    "store_id",
    "channel",
    "region",
    "transaction_id",
)
COLUMNS: tuple[str, ...] = REQUIRED + OPTIONAL
#: Other header names (after normalisation) recognised as log columns when the file has
#: no column of that name and the mapping does not name one. Every log column is also
#: recognised without its underscores (``customerid``, ``unitprice``).
ALIASES: dict[str, str] = {
    **{c.replace("_", ""): c for c in COLUMNS if "_" in c},
    "invoiceno": "transaction_id",
    "invoice_no": "transaction_id",
    "invoice": "transaction_id",
    "order_id": "transaction_id",
    "invoicedate": "transaction_date",
    "invoice_date": "transaction_date",
    "order_date": "transaction_date",
    "date": "transaction_date",
    "qty": "quantity",
    "price": "unit_price",
    "stockcode": "product_id",
    "stock_code": "product_id",
    "product_code": "product_id",
    "sku": "product_id",
    "country": "region",
}
#: Largest share of unreadable rows tolerated; above it the file is refused.
MAX_BAD_SHARE = 0.05
#: Category given to rows whose category cell is empty, so categories add up to the total.
UNCATEGORIZED = "uncategorized"
#: Category names that would collide with the other targets get this prefix.
_RESERVED = frozenset({"total", "purchase"})
#: How many bad rows a message quotes.
_SHOW = 5

_MAGIC = {
    b"PAR1": "parquet",
    b"PK\x03\x04": "xlsx",
    b"\x1f\x8b": "gzip",
    b"\xd0\xcf\x11\xe0": "xls",
}
_DELIMITERS = ",;\t|"


class _Reading(NamedTuple):
    data: RetailData
    rejected: pd.DataFrame
    n_rows: int


class LogReading(_Reading):
    """What :func:`read_transactions` returns; unpacks as ``data, rejected, n_rows``.

    A named tuple of those three, as before, plus :attr:`anonymous`, an attribute outside
    the tuple, so that ``data, rejected, n_rows = read_transactions(...)`` keeps working.

    Attributes
    ----------
    data : RetailData
        The good rows, joined as the features expect.
    rejected : DataFrame
        One row per unreadable row, by line: ``line`` (file line, header = 1; for Excel
        the sheet row, for Parquet the row position + 2, as in a CSV export), ``reason``,
        then the row's log columns as text. Empty when every row was read. Anonymous
        rows are not in it.
    n_rows : int
        Data rows in the file (blank lines not counted), anonymous rows included.
    anonymous : int
        Rows without a ``customer_id`` (guest purchases), left out of ``data``; not part
        of the tuple. ``n_rows - anonymous - len(rejected)`` rows are in ``data``.
    """

    anonymous: int

    def __new__(
        cls, data: RetailData, rejected: pd.DataFrame, n_rows: int, anonymous: int = 0
    ) -> LogReading:
        reading = super().__new__(cls, data, rejected, n_rows)
        reading.anonymous = int(anonymous)
        return reading

    def _replace(self, **changes: object) -> LogReading:
        anonymous = changes.pop("anonymous", self.anonymous)
        return LogReading(*super()._replace(**changes), anonymous=anonymous)

    def __repr__(self) -> str:
        return (
            f"LogReading(data=<RetailData: {len(self.data.lines)} lines>, "
            f"rejected=<{len(self.rejected)} rows>, n_rows={self.n_rows}, "
            f"anonymous={self.anonymous})"
        )


def _normalise(name: object) -> str:
    """Header rule shared with the app's uploads: trim, lower-case, spaces/hyphens to _."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lstrip("\ufeff").lower())


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """``["cust=customer_id", ...]`` (command-line ``--map`` values) as a dict.

    Raises
    ------
    ValueError
        For a pair without ``=`` or with an empty side.
    """
    mapping = {}
    for pair in pairs or []:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise ValueError(
                f"a column mapping must look like SOURCE=TARGET (e.g. cust=customer_id); "
                f"got {pair!r}."
            )
        mapping[src.strip()] = dst.strip()
    return mapping


# --------------------------------------------------------------------------- reading


def _kind(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(8)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return "csv"


def _first_line(path: Path, compressed: bool) -> str:
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            return next((line for line in f if line.strip()), "")
    except (OSError, EOFError) as exc:
        raise SchemaError(f"{path.name}: cannot be read ({exc}).") from exc


def _read_csv(path: Path, compressed: bool) -> pd.DataFrame:
    first = _first_line(path, compressed)
    sep = max(_DELIMITERS, key=first.count)
    sep = sep if first.count(sep) else ","
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(
                path,
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,  # keeps file lines and rows aligned
                encoding=encoding,
                compression="gzip" if compressed else None,
            )
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            raise SchemaError(f"{path.name}: empty file (no header row).") from exc
        except (pd.errors.ParserError, OSError, EOFError) as exc:
            raise SchemaError(
                f"{path.name}: not a readable CSV table ({exc}). Every row must have as many "
                "fields as the header."
            ) from exc
    raise SchemaError(f"{path.name}: not a text table in UTF-8 or Windows-1252.")


def _read_excel(path: Path) -> pd.DataFrame:
    try:
        return pd.read_excel(
            path, sheet_name=0, dtype=str, engine="openpyxl", keep_default_na=False, na_filter=False
        )
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise SchemaError(
            f"{path.name}: not a readable Excel workbook ({type(exc).__name__}: {exc})."
        ) from exc


def _as_text(column: pd.Series) -> pd.Series:
    """A typed (Parquet) column as the text a CSV export would hold; missing -> ''."""
    if pd.api.types.is_datetime64_any_dtype(column):
        if getattr(column.dt, "tz", None) is not None:
            column = column.dt.tz_localize(None)
        text = column.dt.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = column.astype("string")
    return text.fillna("").astype(str)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own error types
        raise SchemaError(
            f"{path.name}: not a readable Parquet file ({type(exc).__name__}: {exc})."
        ) from exc
    return frame.reset_index(drop=True).apply(_as_text)


def _read_parts(folder: Path) -> pd.DataFrame:
    """A log split into Parquet parts (e.g. by customer): the parts in name order, as one
    table; rows are numbered through the parts (the first part's first row is line 2)."""
    parts = sorted(folder.rglob("*.parquet"))
    if not parts:
        raise SchemaError(
            f"{folder}: a folder without Parquet files. Give a log file, or a folder of the "
            "log's Parquet parts."
        )
    return pd.concat([_read_parquet(p) for p in parts], ignore_index=True)


def _read_text_table(path: Path) -> pd.DataFrame:
    """Every cell as text, one row per file line after the header (blank lines included)."""
    if path.is_dir():
        return _read_parts(path)
    if not path.is_file():
        raise SchemaError(f"{path}: no such file. Give a CSV, gzip CSV, .xlsx or Parquet file.")
    kind = _kind(path)
    if kind == "xls":
        raise SchemaError(
            f"{path.name}: an old-format Excel (.xls) workbook; save it as .xlsx or CSV."
        )
    if kind == "parquet":
        return _read_parquet(path)
    if kind == "xlsx":
        return _read_excel(path)
    return _read_csv(path, compressed=kind == "gzip")


def _apply_mapping(frame: pd.DataFrame, columns: dict[str, str] | None, name: str) -> pd.DataFrame:
    """Normalised header with `columns` and :data:`ALIASES` applied; keeps only log columns.

    ``unit_price`` is kept only when there is no ``amount`` (amount = quantity × unit_price).
    """
    header = [_normalise(c) for c in frame.columns]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise SchemaError(
            f"{name}: duplicate column(s) {dupes} (after trimming spaces and ignoring case)."
        )
    mapping = {_normalise(k): _normalise(v) for k, v in (columns or {}).items()}
    wrong = {k: v for k, v in mapping.items() if v not in COLUMNS}
    if wrong:
        raise SchemaError(
            f"the column mapping {wrong} names unknown log column(s); map to one of "
            f"{list(COLUMNS)}."
        )
    absent = [k for k in mapping if k not in header]
    if absent:
        raise SchemaError(
            f"{name}: the column mapping names column(s) {absent} that the file does not "
            f"have; found {header}."
        )
    targets = list(mapping.values())
    twice = sorted({v for v in targets if targets.count(v) > 1})
    clash = sorted(v for k, v in mapping.items() if v in header and v not in mapping and v != k)
    if twice or clash:
        raise SchemaError(
            f"{name}: column(s) {twice + clash} would appear twice after the mapping "
            f"{mapping}; map one source column to each log column."
        )
    # Aliases fill the log columns that neither the header nor the mapping provides.
    taken = set(targets) | {c for c in header if c in COLUMNS and c not in mapping}
    candidates: dict[str, list[str]] = {}
    for c in header:
        target = ALIASES.get(c)
        if c not in mapping and c not in COLUMNS and target and target not in taken:
            candidates.setdefault(target, []).append(c)
    ambiguous = {t: cs for t, cs in candidates.items() if len(cs) > 1}
    if ambiguous:
        target, sources = next(iter(ambiguous.items()))
        raise SchemaError(
            f"{name}: column(s) {sources} could each be {target!r}; say which one, e.g. "
            f"columns={{{sources[0]!r}: {target!r}}} (command line: --map "
            f"{sources[0]}={target})."
        )
    aliased = {cs[0]: t for t, cs in candidates.items()}
    if aliased:
        original = dict(zip(header, frame.columns, strict=True))
        log.info(
            "%s: columns recognised by name: %s",
            name,
            ", ".join(f"{original[k]} -> {v}" for k, v in aliased.items()),
        )
    renamed = [mapping.get(c, aliased.get(c, c)) for c in header]
    missing = [c for c in REQUIRED if c not in renamed]
    if "amount" in missing and {"quantity", "unit_price"} <= set(renamed):
        missing.remove("amount")  # amount = quantity × unit_price
    if missing:
        hint = ", ".join(f"{c!r}" for c in missing)
        either = (
            " (or both 'quantity' and 'unit_price', whose product is the amount)"
            if "amount" in missing
            else ""
        )
        raise SchemaError(
            f"{name}: missing column(s) {missing}; found {header}. A transaction log needs "
            f"{list(REQUIRED)}{either} (optional: {list(OPTIONAL)}). If the file names them "
            f"differently, map them, e.g. columns={{'your_name': {hint.split(', ')[0]}}} "
            "(command line: --map your_name=" + missing[0] + ")."
        )
    frame = frame.set_axis(renamed, axis=1)
    keep = [c for c in COLUMNS if c in renamed and not (c == "unit_price" and "amount" in renamed)]
    return frame[keep]


# --------------------------------------------------------------------------- parsing


def _quote(values: pd.Series, width: int = 30) -> pd.Series:
    text = values.astype(str)
    return "'" + text.where(text.str.len() <= width, text.str.slice(0, width) + "…") + "'"


def _slug(text: pd.Series) -> pd.Series:
    """Lower-case word characters joined by _ (safe as feature and column names)."""
    return text.str.lower().str.replace(r"[^\w]+", "_", regex=True).str.strip("_")


def category_names(text: pd.Series) -> pd.Series:
    """Category slugs as a log's categories are read (``Home & Garden`` -> ``home_garden``);
    an empty cell is :data:`UNCATEGORIZED`."""
    slug = _slug(text)
    slug = slug.where(slug != "", UNCATEGORIZED)
    return slug.where(~slug.isin(_RESERVED), "category_" + slug)


def _per_value(text: pd.Series, parse) -> pd.Series:
    """``parse`` applied to the distinct values of `text` only, spread back to the rows.

    A log repeats its dates, prices and quantities many times (the Online Retail log has
    23,260 distinct time stamps on 541,909 lines): parsing each once is much faster.
    """
    codes, uniques = pd.factorize(text)
    parsed = parse(pd.Series(uniques, dtype=text.dtype))
    return pd.Series(parsed.array.take(codes, allow_fill=True), index=text.index)


def _number(text: pd.Series) -> pd.Series:
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    return values.astype("float64").where(lambda v: np.isfinite(v))


def _day_text(date: pd.Series) -> pd.Series:
    """Days as ``YYYY-MM-DD`` text, ``""`` for NaT."""
    codes, uniques = pd.factorize(date)
    names = np.append(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d").to_numpy(object), "")
    return pd.Series(names[codes], index=date.index, dtype="str")  # code -1 (NaT) -> ""


def _parse(
    text: pd.DataFrame, lines: pd.Series, date_format: str | None = None
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Typed columns, per row the reasons it cannot be used (``""`` when fine), and which
    rows are anonymous (no ``customer_id``: not checked for reasons of their own)."""
    reasons = pd.Series("", index=text.index, dtype=object)
    anonymous = text["customer_id"] == ""

    def flag(mask: pd.Series, message: pd.Series | str) -> None:
        mask = mask & ~anonymous
        if mask.any():
            old = reasons[mask]
            reasons[mask] = old.where(old == "", old + "; ") + message

    out = pd.DataFrame(index=text.index)
    out["customer_id"] = text["customer_id"]
    out["date"] = _parse_dates(text["transaction_date"], flag, date_format)
    out = _parse_numbers(text, out, flag)
    out = _optional_columns(text, out)
    out["transaction_id"] = _baskets(text, out, lines, flag, ok=(reasons == "") & ~anonymous)
    return out, reasons, anonymous


def _parse_dates(text: pd.Series, flag, date_format: str | None = None) -> pd.Series:
    """The days of `text` (ISO, or `date_format`); empty and unreadable ones flagged."""
    date = _per_value(text, lambda t: parse_days(t, date_format=date_format))
    empty = text == ""
    flag(empty, "empty transaction_date")
    bad = date.isna() & ~empty
    expected = "YYYY-MM-DD" if date_format is None else f"the format {date_format!r}"
    flag(bad, "transaction_date " + _quote(text[bad]) + f" is not a date (expected {expected})")
    return date


def _parse_numbers(text: pd.DataFrame, out: pd.DataFrame, flag) -> pd.DataFrame:
    """`out` with the amount (and quantity) as numbers; empty required and unreadable ones
    flagged. Without amount, quantity and unit_price are required: amount = quantity ×
    unit_price."""
    from_price = "amount" not in text
    if from_price:
        numbers = (("quantity", True), ("unit_price", True))  # (column, required)
    else:
        numbers = (("amount", True), ("quantity", False))
    for col, required in numbers:
        if col not in text:
            continue
        values = _per_value(text[col], _number)
        empty = text[col] == ""
        if required:
            flag(empty, f"empty {col}")
        bad = values.isna() & ~empty
        flag(bad, f"{col} " + _quote(text[col][bad]) + " is not a number")
        out[col] = values
    if from_price:
        amount = out["quantity"] * out.pop("unit_price")
        out["amount"] = amount.where(np.isfinite(amount))
    return out


def _optional_columns(text: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
    """`out` with the optional columns the log has: category, product, store, channel
    (as ``online``) and region."""
    if "category" in text:
        out["category"] = category_names(text["category"])
    if "product_id" in text:
        out["product_id"] = text["product_id"].where(text["product_id"] != "")
    if "store_id" in text:
        out["store_id"] = text["store_id"].where(text["store_id"] != "")
    if "channel" in text:
        out["online"] = text["channel"].str.lower().isin(ONLINE_MARKERS)
    if "region" in text:
        region = _slug(text["region"])
        out["region"] = region.where(region != "")
    return out


def _baskets(
    text: pd.DataFrame, out: pd.DataFrame, lines: pd.Series, flag, *, ok: pd.Series
) -> pd.Series:
    """The basket of each row: the given transaction_id, else the customer's day.

    A basket belongs to one customer and one day: the first good row (`ok`: named and
    without a reason so far) using an id owns it, later rows that disagree are flagged.
    Anonymous rows own nothing.
    """
    if "transaction_id" not in text:
        return out["customer_id"] + "@" + _day_text(out["date"])
    given = text["transaction_id"]
    no_id = given == ""
    tx_id = given.copy()
    if no_id.any():
        tx_id[no_id] = out["customer_id"][no_id] + "@" + _day_text(out["date"][no_id])
    ok = ok & ~no_id
    good = pd.DataFrame({"customer_id": out["customer_id"], "date": out["date"]})[ok]
    owners = good.assign(line=lines[ok]).groupby(tx_id[ok], sort=False).first()
    owner = owners.reindex(tx_id).set_axis(out.index)
    conflict = ok & ((owner["customer_id"] != out["customer_id"]) | (owner["date"] != out["date"]))
    if conflict.any():
        flag(
            conflict,
            "transaction_id "
            + _quote(tx_id[conflict])
            + " already belongs to customer "
            + _quote(owner["customer_id"][conflict])
            + " on "
            + owner["date"][conflict].dt.strftime("%Y-%m-%d")
            + " (line "
            + owner["line"][conflict].astype("int64").astype(str)
            + ")",
        )
    return tx_id


def describe_rejected(rejected: pd.DataFrame, *, n: int = _SHOW) -> str:
    """The first `n` rejected rows as ``"line 7: reason; ..."`` (and how many more)."""
    head = rejected.head(n)
    pairs = zip(head["line"], head["reason"], strict=True)
    shown = "; ".join(f"line {line}: {reason}" for line, reason in pairs)
    more = len(rejected) - n
    return shown + (f"; and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------- joining


def _text_or_missing(rows: pd.DataFrame, col: str) -> pd.Series:
    if col in rows:
        return rows[col].astype("str").where(rows[col].notna())
    return pd.Series(np.nan, index=rows.index, dtype="str")


def _to_retail_data(rows: pd.DataFrame) -> RetailData:
    """Lines and transactions from parsed rows; what a log lacks is left all missing."""
    quantity = rows["quantity"] if "quantity" in rows else pd.Series(np.nan, index=rows.index)
    lines = _log_lines(rows, quantity)
    ids = pd.Index(sorted(lines["customer_id"].unique()), name="customer_id", dtype="str")
    customers = pd.DataFrame(
        {
            "loyalty_status": "unknown",
            "segment_id": "unknown",
            "customer_since": pd.Series(pd.NaT, index=ids, dtype=lines["date"].dtype),
        },
        index=ids,
    )
    promotions, rules = _no_promotions_or_rules(lines["date"].dtype)
    return RetailData(
        lines=lines.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True),
        transactions=_log_transactions(rows, quantity).reset_index(drop=True),
        customers=customers,
        promotions=promotions,
        loyalty_rules=rules,
    )


def _log_lines(rows: pd.DataFrame, quantity: pd.Series) -> pd.DataFrame:
    """One line per parsed row, in the rows' order; no promotions, no discount."""
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype("str"),
            "transaction_id": rows["transaction_id"].astype("str"),
            "date": rows["date"],
            "product_id": _text_or_missing(rows, "product_id"),
            "category": rows["category"]
            if "category" in rows
            else pd.Series(np.nan, index=rows.index, dtype="str"),
            "quantity": quantity.astype("float64"),
            "amount": rows["amount"],
            "promoted": pd.array([pd.NA] * len(rows), dtype="boolean"),
            "discount": 0.0,
        }
    )


def _log_transactions(rows: pd.DataFrame, quantity: pd.Series) -> pd.DataFrame:
    """One row per basket: its customer, day, store, channel and region (its first row's)
    and its sums, sorted by customer, day and basket."""
    na_bool = pd.array([pd.NA] * len(rows), dtype="boolean")
    per_tx = rows.assign(
        items=quantity.clip(lower=0).where(rows["amount"] >= 0, 0.0),
        store_id=rows["store_id"] if "store_id" in rows else np.nan,
        online=rows["online"].astype("boolean") if "online" in rows else na_bool,
        region=rows["region"] if "region" in rows else np.nan,
    )
    tx = per_tx.groupby("transaction_id", sort=False).agg(
        customer_id=("customer_id", "first"),
        date=("date", "first"),
        store_id=("store_id", "first"),
        online=("online", "first"),
        region=("region", "first"),
        amount=("amount", "sum"),
        n_items=("items", "sum"),
        n_lines=("amount", "size"),
    )
    tx = tx.reset_index()
    tx = pd.DataFrame(
        {
            "transaction_id": tx["transaction_id"].astype("str"),
            "customer_id": tx["customer_id"].astype("str"),
            "date": tx["date"],
            "store_id": tx["store_id"].astype("str").where(tx["store_id"].notna()),
            "online": tx["online"].astype("boolean"),
            "region": tx["region"].astype("str").where(tx["region"].notna()),
            "amount": tx["amount"].astype("float64"),
            "gross": tx["amount"].clip(lower=0).astype("float64"),
            "discount": 0.0,
            "n_items": tx["n_items"].astype("float64"),
            "n_lines": tx["n_lines"].astype("int64"),
            "promoted": pd.array([pd.NA] * len(tx), dtype="boolean"),
        }
    )
    return tx.sort_values(["customer_id", "date", "transaction_id"], kind="stable")


def _no_promotions_or_rules(day: np.dtype) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Empty promotions and loyalty rules, typed as the tables' (dates of type `day`): a
    log has neither."""
    promotions = pd.DataFrame(
        {
            "promotion_id": pd.Series(dtype="str"),
            "start_date": pd.Series(dtype=day),
            "end_date": pd.Series(dtype=day),
            "discount_percentage": pd.Series(dtype="float64"),
            "applicable_category": pd.Series(dtype="str"),
        }
    )
    rules = pd.DataFrame(
        {
            "rule_id": pd.Series(dtype="str"),
            "rule_name": pd.Series(dtype="str"),
            "points_per_unit_spend": pd.Series(dtype="float64"),
            "min_spend_threshold": pd.Series(dtype="float64"),
            "bonus_points": pd.Series(dtype="float64"),
        }
    )
    return promotions, rules


# --------------------------------------------------------------------------- public


def read_transactions(
    path: str | os.PathLike[str],
    *,
    columns: dict[str, str] | None = None,
    max_bad_share: float = MAX_BAD_SHARE,
    date_format: str | None = None,
) -> LogReading:
    """Read a transaction log and join it into :class:`RetailData`.

    Parameters
    ----------
    path : str or path-like
        CSV (delimiter ``, ; tab |`` recognised, UTF-8 or Windows-1252), gzip CSV, Excel
        .xlsx (first sheet) or Parquet; the format is taken from the file's first bytes.
        A folder is a log split into Parquet parts (``*.parquet``, read in name order as
        one table; rows are numbered through the parts).
        One row per purchase or per invoice line (see the module docstring).
    columns : dict, optional
        Source column name -> log column name (one of :data:`COLUMNS`), e.g.
        ``{"cust": "customer_id", "ts": "transaction_date"}``. Needed only for names
        that are neither log columns nor :data:`ALIASES`.
    max_bad_share : float, default 0.05
        Largest share of unreadable rows accepted, among the rows that name a customer
        (anonymous rows are no errors); their rows are returned in ``rejected`` and left
        out of the data.
    date_format : str, optional
        How ``transaction_date`` is written when not ISO ``YYYY-MM-DD`` (a
        :func:`~datetime.datetime.strptime` format, e.g. ``"%d/%m/%Y %H:%M"``); dates are
        never guessed (:mod:`clvmodel.dates`).

    Returns
    -------
    LogReading
        ``(data, rejected, n_rows)``, plus ``.anonymous``, the number of rows without a
        ``customer_id`` (not in ``data``, not in ``rejected``). ``data`` has one line
        per good row (identical rows all kept); its transactions are baskets (see the
        module docstring); its customers are those with at least one good row, without
        attributes. Without an ``amount`` column the amount of a row is quantity ×
        unit_price. Categories (and regions) are lower-cased with runs of other
        characters than letters and digits turned into ``_`` ("Home & Garden" ->
        ``home_garden``); an empty category cell is ``uncategorized``.

    Raises
    ------
    SchemaError
        If the file is missing or unreadable, a required column is missing, the mapping
        is wrong, no row is usable, or more than `max_bad_share` of the rows are bad.
        The message names the file and quotes the first bad lines.

    Examples
    --------
    >>> reading = read_transactions("online_retail.csv.gz")  # doctest: +SKIP
    >>> data, rejected, n_rows = reading  # doctest: +SKIP
    >>> reading.anonymous  # guest lines, left out  # doctest: +SKIP
    135080
    """
    if not 0 <= max_bad_share < 1:
        raise ValueError(f"max_bad_share must be in [0, 1); got {max_bad_share!r}.")
    name = Path(path).name
    raw, text, lines = _read_rows(Path(path), columns)
    rows, reasons, anonymous = _parse(text, lines, date_format)
    bad = reasons != ""
    rejected = pd.concat(
        [pd.DataFrame({"line": lines[bad], "reason": reasons[bad]}), raw[bad]], axis=1
    ).reset_index(drop=True)
    n_rows, n_anonymous = len(raw), int(anonymous.sum())
    _check_bad_share(name, n_rows, n_anonymous, rejected, max_bad_share)
    if n_anonymous:
        log.info(
            "%s: %d of %d rows have no customer_id (anonymous purchases) and were left out",
            name, n_anonymous, n_rows,
        )  # fmt: skip
    data = _to_retail_data(rows[~bad & ~anonymous])
    return LogReading(data, rejected, n_rows, anonymous=n_anonymous)


def _read_rows(
    path: Path, columns: dict[str, str] | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The log's rows as read (log columns named), the same trimmed, and their file line
    numbers; rows blank in every column left out. SchemaError for a log without rows."""
    raw = _apply_mapping(_read_text_table(path), columns, path.name)
    raw = raw.reset_index(drop=True)
    lines = pd.Series(raw.index + 2, index=raw.index)
    text = raw.apply(lambda c: c.str.strip())
    blank = (text == "").all(axis=1)
    if blank.any():
        raw, text, lines = raw[~blank], text[~blank], lines[~blank]
    if raw.empty:
        raise SchemaError(f"{path.name}: has a header but no data rows.")
    return raw, text, lines


def _check_bad_share(
    name: str, n_rows: int, n_anonymous: int, rejected: pd.DataFrame, max_bad_share: float
) -> None:
    """Refuse a log without named rows, without a usable one, or with more than
    `max_bad_share` of its named rows `rejected`, quoting the first of them."""
    named, n_bad = n_rows - n_anonymous, len(rejected)
    shown = describe_rejected(rejected)
    if named == 0:
        raise SchemaError(
            f"{name}: none of the {n_rows} rows has a customer_id; a log of anonymous "
            "purchases says nothing about customers."
        )
    if n_bad == named:
        raise SchemaError(f"{name}: none of the {n_rows} rows can be used: {shown}.")
    if n_bad > max_bad_share * named:
        rows_named = " with a customer_id" if n_anonymous else ""
        raise SchemaError(
            f"{name}: {n_bad} of {named} rows{rows_named} ({n_bad / named:.1%}) cannot be "
            f"read, more than the {max_bad_share:.0%} allowed: {shown}. Fix the file, or "
            "raise the limit (max_bad_share; command line: --max-bad-share) to leave these "
            "rows out."
        )
