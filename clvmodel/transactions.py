"""Read any transaction log (one row per purchase or return) into :class:`RetailData`.

The log is a single table, CSV (optionally gzip-compressed), Excel (.xlsx) or Parquet,
with the columns

============================ ===================================================
``customer_id``              required; text, exactly as written (leading zeros kept,
                             surrounding spaces trimmed)
``transaction_date``         required; ``YYYY-MM-DD``, a time of day is ignored
``amount``                   required; net amount of the row, negative for a return;
                             a plain number (``-12.5``), no currency sign or
                             thousands separator
``category``                 optional; one spend target per category
``quantity``                 optional; units bought (a number, may be empty)
``store_id``                 optional; the store of the purchase
``channel``                  optional; ``online``, ``web``, ``mobile``, ``app`` or
                             ``ecommerce`` mark an online purchase, anything else a
                             store visit
``transaction_id``           optional; rows sharing it form one basket. Without it,
                             a customer's rows of one day form one basket
============================ ===================================================

Header names are compared after trimming and lower-casing, with spaces and hyphens read
as underscores (``"Customer ID"`` is ``customer_id``); other names are mapped with
``columns={"your_name": "customer_id", ...}``. Other columns are ignored.

Rows that cannot be read (empty ``customer_id``, a date, amount or quantity that does not
parse, a ``transaction_id`` shared by two customers or two days) are never dropped silently: they
come back in ``rejected`` with their line numbers and the reason. When more than
``max_bad_share`` of the rows are bad, something is wrong with the file as a whole (a
date format, a shifted column) and :class:`~clvmodel.schema.SchemaError` is raised
instead. Returns (negative amounts) are kept: net spend is the target.

A log holds less than the seven retail tables: no products, promotions, loyalty rules
or customer attributes. The matching columns of :class:`RetailData` are left empty (all
missing), which :func:`clvmodel.features.available_groups` reads as "absent", so the
features that need them are not built.
"""

from __future__ import annotations

import gzip
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
    "COLUMNS",
    "MAX_BAD_SHARE",
    "OPTIONAL",
    "REQUIRED",
    "UNCATEGORIZED",
    "LogReading",
    "describe_rejected",
    "parse_mapping",
    "read_transactions",
]

REQUIRED: tuple[str, ...] = ("customer_id", "transaction_date", "amount")
OPTIONAL: tuple[str, ...] = ("category", "quantity", "store_id", "channel", "transaction_id")
COLUMNS: tuple[str, ...] = REQUIRED + OPTIONAL
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


class LogReading(NamedTuple):
    """What :func:`read_transactions` returns; unpacks as ``data, rejected, n_rows``.

    Attributes
    ----------
    data : RetailData
        The good rows, joined as the features expect.
    rejected : DataFrame
        One row per unreadable row, by line: ``line`` (file line, header = 1; for Excel
        the sheet row, for Parquet the row position + 2, as in a CSV export), ``reason``,
        then the row's log columns as text. Empty when every row was read.
    n_rows : int
        Data rows in the file (blank lines not counted).
    """

    data: RetailData
    rejected: pd.DataFrame
    n_rows: int


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


def _read_text_table(path: Path) -> pd.DataFrame:
    """Every cell as text, one row per file line after the header (blank lines included)."""
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
    """Normalised header with `columns` applied; keeps only the log columns."""
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
    renamed = [mapping.get(c, c) for c in header]
    missing = [c for c in REQUIRED if c not in renamed]
    if missing:
        hint = ", ".join(f"{c!r}" for c in missing)
        raise SchemaError(
            f"{name}: missing column(s) {missing}; found {header}. A transaction log needs "
            f"{list(REQUIRED)} (optional: {list(OPTIONAL)}). If the file names them "
            f"differently, map them, e.g. columns={{'your_name': {hint.split(', ')[0]}}} "
            "(command line: --map your_name=" + missing[0] + ")."
        )
    frame = frame.set_axis(renamed, axis=1)
    return frame[[c for c in COLUMNS if c in renamed]]


# --------------------------------------------------------------------------- parsing


def _quote(values: pd.Series, width: int = 30) -> pd.Series:
    text = values.astype(str)
    return "'" + text.where(text.str.len() <= width, text.str.slice(0, width) + "…") + "'"


def _category_names(text: pd.Series) -> pd.Series:
    """Lower-case word characters joined by _ (safe as feature and column names)."""
    slug = text.str.lower().str.replace(r"[^\w]+", "_", regex=True).str.strip("_")
    slug = slug.where(slug != "", UNCATEGORIZED)
    return slug.where(~slug.isin(_RESERVED), "category_" + slug)


def _parse(frame: pd.DataFrame, lines: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Typed columns and, per row, the reasons it cannot be used (``""`` when fine)."""
    text = frame.apply(lambda c: c.str.strip())
    reasons = pd.Series("", index=frame.index, dtype=object)

    def flag(mask: pd.Series, message: pd.Series | str) -> None:
        if mask.any():
            old = reasons[mask]
            reasons[mask] = old.where(old == "", old + "; ") + message

    out = pd.DataFrame(index=frame.index)
    out["customer_id"] = text["customer_id"]
    flag(text["customer_id"] == "", "empty customer_id")

    date = parse_days(text["transaction_date"])
    out["date"] = date
    empty = text["transaction_date"] == ""
    flag(empty, "empty transaction_date")
    bad = date.isna() & ~empty
    shown = _quote(text["transaction_date"][bad])
    flag(bad, "transaction_date " + shown + " is not a date (expected YYYY-MM-DD)")

    for col, required in (("amount", True), ("quantity", False)):
        if col not in text:
            continue
        values = pd.to_numeric(text[col].where(text[col] != ""), errors="coerce")
        values = values.astype("float64").where(lambda v: np.isfinite(v))
        empty = text[col] == ""
        if required:
            flag(empty, f"empty {col}")
        bad = values.isna() & ~empty
        flag(bad, f"{col} " + _quote(text[col][bad]) + " is not a number")
        out[col] = values

    if "category" in text:
        out["category"] = _category_names(text["category"])
    if "store_id" in text:
        out["store_id"] = text["store_id"].where(text["store_id"] != "")
    if "channel" in text:
        out["online"] = text["channel"].str.lower().isin(ONLINE_MARKERS)

    # Baskets: the given transaction_id, else the customer's day.
    day_key = out["customer_id"] + "@" + out["date"].dt.strftime("%Y-%m-%d").fillna("")
    if "transaction_id" in text:
        given = text["transaction_id"]
        out["transaction_id"] = given.where(given != "", day_key)
        # A basket belongs to one customer and one day: the first good row using an id
        # owns it, later rows that disagree are rejected.
        ok = (reasons == "") & (given != "")
        good = pd.DataFrame({"customer_id": out["customer_id"], "date": out["date"]})[ok]
        owners = good.assign(line=lines[ok]).groupby(out["transaction_id"][ok], sort=False).first()
        owner = owners.reindex(out["transaction_id"]).set_axis(out.index)
        conflict = ok & (
            (owner["customer_id"] != out["customer_id"]) | (owner["date"] != out["date"])
        )
        flag(
            conflict,
            "transaction_id "
            + _quote(out["transaction_id"][conflict])
            + " already belongs to customer "
            + _quote(owner["customer_id"][conflict])
            + " on "
            + owner["date"][conflict].dt.strftime("%Y-%m-%d")
            + " (line "
            + owner["line"][conflict].astype("int64").astype(str)
            + ")",
        )
    else:
        out["transaction_id"] = day_key
    return out, reasons


def describe_rejected(rejected: pd.DataFrame, *, n: int = _SHOW) -> str:
    """The first `n` rejected rows as ``"line 7: reason; ..."`` (and how many more)."""
    head = rejected.head(n)
    pairs = zip(head["line"], head["reason"], strict=True)
    shown = "; ".join(f"line {line}: {reason}" for line, reason in pairs)
    more = len(rejected) - n
    return shown + (f"; and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------- joining


def _to_retail_data(rows: pd.DataFrame) -> RetailData:
    """Lines and transactions from parsed rows; what a log lacks is left all missing."""
    n = len(rows)
    na_bool = pd.array([pd.NA] * n, dtype="boolean")
    amount = rows["amount"]
    quantity = rows["quantity"] if "quantity" in rows else pd.Series(np.nan, index=rows.index)
    lines = pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype("str"),
            "transaction_id": rows["transaction_id"].astype("str"),
            "date": rows["date"],
            "product_id": pd.Series(np.nan, index=rows.index, dtype="str"),
            "category": rows["category"]
            if "category" in rows
            else pd.Series(np.nan, index=rows.index, dtype="str"),
            "quantity": quantity.astype("float64"),
            "amount": amount,
            "promoted": na_bool,
            "discount": 0.0,
        }
    )
    per_tx = rows.assign(
        items=quantity.clip(lower=0).where(amount >= 0, 0.0),
        store_id=rows["store_id"] if "store_id" in rows else np.nan,
        online=rows["online"].astype("boolean") if "online" in rows else na_bool,
    )
    tx = per_tx.groupby("transaction_id", sort=False).agg(
        customer_id=("customer_id", "first"),
        date=("date", "first"),
        store_id=("store_id", "first"),
        online=("online", "first"),
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
            "region": pd.Series(np.nan, index=tx.index, dtype="str"),
            "amount": tx["amount"].astype("float64"),
            "gross": tx["amount"].clip(lower=0).astype("float64"),
            "discount": 0.0,
            "n_items": tx["n_items"].astype("float64"),
            "n_lines": tx["n_lines"].astype("int64"),
            "promoted": pd.array([pd.NA] * len(tx), dtype="boolean"),
        }
    )
    tx = tx.sort_values(["customer_id", "date", "transaction_id"], kind="stable")
    ids = pd.Index(sorted(lines["customer_id"].unique()), name="customer_id", dtype="str")
    customers = pd.DataFrame(
        {
            "loyalty_status": "unknown",
            "segment_id": "unknown",
            "customer_since": pd.Series(pd.NaT, index=ids, dtype=lines["date"].dtype),
        },
        index=ids,
    )
    day = lines["date"].dtype
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
    return RetailData(
        lines=lines.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True),
        transactions=tx.reset_index(drop=True),
        customers=customers,
        promotions=promotions,
        loyalty_rules=rules,
    )


# --------------------------------------------------------------------------- public


def read_transactions(
    path: str | os.PathLike[str],
    *,
    columns: dict[str, str] | None = None,
    max_bad_share: float = MAX_BAD_SHARE,
) -> LogReading:
    """Read a transaction log and join it into :class:`RetailData`.

    Parameters
    ----------
    path : str or path-like
        CSV (delimiter ``, ; tab |`` recognised, UTF-8 or Windows-1252), gzip CSV, Excel
        .xlsx (first sheet) or Parquet; the format is taken from the file's first bytes.
    columns : dict, optional
        Source column name -> log column name (one of :data:`COLUMNS`), e.g.
        ``{"cust": "customer_id", "ts": "transaction_date"}``.
    max_bad_share : float, default 0.05
        Largest share of unreadable rows accepted; their rows are returned in
        ``rejected`` and left out of the data.

    Returns
    -------
    LogReading
        ``(data, rejected, n_rows)``. ``data`` has one line per good row; its
        transactions are baskets (see the module docstring); its customers are those
        with at least one good row, without attributes. Categories are lower-cased with
        runs of other characters than letters and digits turned into ``_`` ("Home &
        Garden" -> ``home_garden``); an empty category cell is ``uncategorized``.

    Raises
    ------
    SchemaError
        If the file is missing or unreadable, a required column is missing, the mapping
        is wrong, no row is usable, or more than `max_bad_share` of the rows are bad.
        The message names the file and quotes the first bad lines.

    Examples
    --------
    >>> data, rejected, n_rows = read_transactions("log.csv", columns={"cust": "customer_id"})
    ... # doctest: +SKIP
    """
    if not 0 <= max_bad_share < 1:
        raise ValueError(f"max_bad_share must be in [0, 1); got {max_bad_share!r}.")
    path = Path(path)
    name = path.name
    raw = _apply_mapping(_read_text_table(path), columns, name)
    raw = raw.reset_index(drop=True)
    lines = pd.Series(raw.index + 2, index=raw.index)
    blank = (raw.apply(lambda c: c.str.strip()) == "").all(axis=1)
    raw, lines = raw[~blank], lines[~blank]
    if raw.empty:
        raise SchemaError(f"{name}: has a header but no data rows.")
    rows, reasons = _parse(raw, lines)
    bad = reasons != ""
    rejected = pd.concat(
        [pd.DataFrame({"line": lines[bad], "reason": reasons[bad]}), raw[bad]], axis=1
    ).reset_index(drop=True)
    n_rows, shown = len(raw), describe_rejected(rejected)
    if bad.all():
        raise SchemaError(f"{name}: none of the {n_rows} rows can be used: {shown}.")
    if bad.sum() > max_bad_share * n_rows:
        raise SchemaError(
            f"{name}: {int(bad.sum())} of {n_rows} rows ({bad.mean():.1%}) cannot be read, "
            f"more than the {max_bad_share:.0%} allowed: {shown}. Fix the file, or raise "
            "the limit (max_bad_share; command line: --max-bad-share) to leave these rows out."
        )
    return LogReading(_to_retail_data(rows[~bad]), rejected, n_rows)
