"""Batch scoring of uploaded tables: read, validate, score, write back safely.

An upload is a CSV or Excel table with either a ``customer_id`` column (customers are
scored from their history as of a date) or feature columns (each row is scored as given).
Every cell is read as text, so IDs keep their leading zeros, and every check is
vectorised over rows: a bad row gets a message in the ``error`` column and the other rows
are still scored. Problems with the file as a whole (too large, empty, not a table, no
usable column) raise one :class:`ValueError` that says what to fix.

Results are written as CSV and Excel with one row per input row, in input order. Text
cells that a spreadsheet could run as a formula are prefixed with a single quote.
"""

from __future__ import annotations

import csv
import difflib
import itertools
import os
import re
import weakref
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from clvmodel.features.registry import feature_range
from clvmodel.ids import duplicated_ids
from clvmodel.model import PROBABILITY, CLVModel, prediction_columns
from clvmodel.plausible import Limits, contradictions, derive, number_text
from clvmodel.prediction import CustomerScorer, PartitionedScorer

__all__ = [
    "DUPLICATE",
    "ID_COLUMN",
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "ROW_ERRORS",
    "check_feature_names",
    "read_upload",
    "score_table",
    "templates",
    "training_limits",
    "typical_values",
    "validate_features",
    "write_results",
]

#: The column that switches a table to scoring by customer history.
ID_COLUMN = "customer_id"
#: The results' column that flags a customer asked for on more than one row (each row is
#: still scored, so that every input row has its output row).
DUPLICATE = "duplicate"
#: Largest upload accepted, in bytes.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: Most data rows accepted (Excel holds 1,048,576 rows including the header).
MAX_ROWS = 1_000_000
#: Cell texts read as "no value" (compared lower-cased, after trimming).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})
#: ``frame.attrs`` key of :func:`read_upload`'s rows that could not be read: position to message.
ROW_ERRORS = "row_errors"
#: Leading characters that make a spreadsheet treat a text cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DELIMITERS = ",;\t|"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHOW_COLUMNS = 12


# --------------------------------------------------------------------------- reading


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / 1024 / 1024:.1f} MB"


def _normalise_columns(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Trim and lower-case the header, spaces and hyphens to underscores; refuse duplicates."""
    cols = [re.sub(r"[\s\-]+", "_", str(c).strip().lstrip("\ufeff").lower()) for c in frame]
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise ValueError(
            f"{name} has duplicate column(s) {dupes} (after trimming spaces and ignoring "
            "case). Keep one of each and upload again."
        )
    frame.columns = cols
    return frame


def _sniff(head: bytes) -> str:
    """'xlsx', 'xls' or 'csv', from the first bytes whatever the file's extension."""
    if head.startswith(_XLSX_MAGIC):
        return "xlsx"
    if head.startswith(_XLS_MAGIC):
        return "xls"
    return "csv"


def _drop_trailing_blank_rows(table: pd.DataFrame, keep: Sequence[int] = ()) -> pd.DataFrame:
    """Blank lines at the end of a file are not rows; a blank line among rows is one (an
    empty customer_id in a one-column file), so that every input row gets an output row.
    Rows at positions `keep` (unreadable lines) are never dropped."""
    blank = (table.astype("string").fillna("").apply(lambda c: c.str.strip()) == "").all(axis=1)
    blank.iloc[list(keep)] = False
    filled = np.flatnonzero(~blank.to_numpy())
    return table.iloc[: filled[-1] + 1 if len(filled) else 0]


def _read_csv(path: Path, name: str, head: bytes) -> pd.DataFrame:
    if b"\x00" in head:
        raise ValueError(
            f"{name} is not a table: it looks like a binary file. Upload a CSV file or an "
            "Excel .xlsx workbook."
        )
    lines = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()
    first_line = next((line for line in lines if line.strip()), "")
    sep = max(_DELIMITERS, key=first_line.count)
    if first_line.count(sep) == 0:
        sep = ","
    options = {"sep": sep, "dtype": str, "keep_default_na": False, "na_filter": False}
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            try:
                return pd.read_csv(path, encoding=encoding, skip_blank_lines=False, **options)
            except pd.errors.ParserError:
                return _read_ragged_csv(path, encoding, sep, options)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            raise ValueError(f"{name} holds no table (no header row). {_TEMPLATE_HINT}") from exc
        except pd.errors.ParserError as exc:
            raise ValueError(
                f"{name} is not a readable CSV table ({exc}). Every row must have as many "
                "fields as the header; save it again as CSV (comma separated) or as .xlsx."
            ) from exc
    raise ValueError(f"{name} is not a text table in a known encoding.")  # latin-1 never fails


def _read_ragged_csv(path: Path, encoding: str, sep: str, options: dict) -> pd.DataFrame:
    """Read a CSV in which some lines have more fields than the header (e.g. an unquoted
    ``=HYPERLINK("a","b")``): each such line is a row whose cells are empty, with its
    problem in ``frame.attrs[ROW_ERRORS]``, so it is reported and the rest is scored.

    Only used after pandas' fast reader refused the file; Python's csv module reads any
    line, whatever its quotes, and says which line of the file it was."""
    with path.open(newline="", encoding=encoding) as f:
        reader = csv.reader(f, delimiter=sep)
        header = next(reader, None)
        if header is None:
            raise pd.errors.EmptyDataError("no header")
        width = len(header)
        rows, problems = [], {}
        for fields in reader:
            if len(fields) > width:
                problems[len(rows)] = (
                    f"line {reader.line_num} has {len(fields)} fields where the header has "
                    f"{width} ({_clip(sep.join(fields))}); put a value that contains "
                    f"{_SEPARATOR_NAMES[sep]} in double quotes"
                )
                fields = []
            rows.append(fields + [""] * (width - len(fields)))
    frame = pd.DataFrame(rows, columns=header, dtype=str)
    frame.attrs[ROW_ERRORS] = problems
    return frame


_SEPARATOR_NAMES = {",": "a comma", ";": "a semicolon", "\t": "a tab", "|": "a '|'"}


def _clip(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _read_xlsx(path: Path, name: str) -> pd.DataFrame:
    try:
        return pd.read_excel(
            path, sheet_name=0, dtype=str, engine="openpyxl", keep_default_na=False, na_filter=False
        )
    except Exception as exc:  # openpyxl raises many types for damaged or non-Excel zips
        raise ValueError(
            f"{name} is not a readable Excel workbook ({type(exc).__name__}: {exc}). Upload a "
            ".xlsx workbook whose first sheet holds the table, or a CSV file."
        ) from exc


_TEMPLATE_HINT = "Download a template to see the expected layout."


def read_upload(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an uploaded CSV or Excel table with every cell as text.

    The format is taken from the file's first bytes (an .xlsx is a zip archive), so a
    file whose extension lies is still read. CSV delimiters ``, ; tab |`` are
    recognised from the header line; encodings UTF-8 (with or without BOM), then
    Windows-1252. Header names are trimmed and lower-cased, with spaces and hyphens
    turned into underscores (``"Customer ID"`` -> ``customer_id``). Empty cells are
    empty strings, never NaN, and ``"007"`` stays ``"007"``.

    Parameters
    ----------
    path : str or path-like
        The uploaded file. At most :data:`MAX_UPLOAD_BYTES` bytes and :data:`MAX_ROWS`
        data rows; for Excel the first sheet is read.

    Returns
    -------
    DataFrame
        One row per data row, ``str`` columns. A CSV line with more fields than the header
        is a row of empty cells, its problem in ``frame.attrs[ROW_ERRORS]`` (position to
        message), which :func:`score_table` reports in its ``error`` column.

    Raises
    ------
    ValueError
        If the file is missing, too large, empty, an old-format .xls workbook, not a
        table, has duplicate columns, no data rows, or too many rows. The message names
        the file.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError(f"No uploaded file at {path}. Upload a CSV or .xlsx file.")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise ValueError(
            f"{name} is {_mb(size)}; the limit is {_mb(MAX_UPLOAD_BYTES)}. Split it into "
            "smaller files, or keep only the customer_id column."
        )
    if size == 0:
        raise ValueError(f"{name} is empty (0 bytes). {_TEMPLATE_HINT}")
    with path.open("rb") as f:
        head = f.read(64 * 1024)
    kind = _sniff(head)
    if kind == "xls":
        raise ValueError(
            f"{name} is an old-format Excel (.xls) workbook, which cannot be read here. "
            "Save it as .xlsx or CSV and upload again."
        )
    frame = _read_xlsx(path, name) if kind == "xlsx" else _read_csv(path, name, head)
    if frame.shape[1] == 0:
        raise ValueError(f"{name} holds no columns. {_TEMPLATE_HINT}")
    row_errors = dict(frame.attrs.get(ROW_ERRORS, {}))
    frame = _normalise_columns(frame, name)
    # Files often end in blank rows (Excel sheets above all); blank rows among the data are
    # rows, reported with their error, so that every input row has an output row.
    frame = _drop_trailing_blank_rows(frame, keep=list(row_errors)).reset_index(drop=True)
    if frame.empty:
        raise ValueError(
            f"{name} has a header ({', '.join(map(str, frame.columns[:5]))}"
            f"{', ...' if frame.shape[1] > 5 else ''}) but no data rows."
        )
    if len(frame) > MAX_ROWS:
        raise ValueError(
            f"{name} has {len(frame):,} rows; the limit is {MAX_ROWS:,}. Split it into "
            "smaller files."
        )
    frame = frame.astype("string").fillna("").astype(str)
    frame.attrs = {ROW_ERRORS: row_errors} if row_errors else {}
    return frame


# --------------------------------------------------------------------------- validation


def _show(values: pd.Series, width: int = 30) -> pd.Series:
    """Cell values quoted for a message, long ones cut."""
    text = values.astype(str)
    text = text.where(text.str.len() <= width, text.str.slice(0, width) + "…")
    return "'" + text + "'"


def _add(errors: pd.Series, mask: pd.Series, message: str | pd.Series, values=None) -> None:
    """Append a message to the errors of the rows in `mask` (in place).

    `message` is a text, or a Series of texts indexed by (at least) the rows in `mask`;
    when `values` is given, those rows' values follow it, written as numbers.
    """
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return
    rows = mask.index[mask.to_numpy()]
    msg = message.loc[rows] if isinstance(message, pd.Series) else pd.Series(message, index=rows)
    if values is not None:
        msg = msg + number_text(values.loc[rows]).to_numpy()
    old = errors.loc[rows]
    errors.loc[rows] = old.where(old == "", old + "; ") + msg


def _parse_numbers(column: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Floats of a text or numeric column, and masks of cells that are bad or missing."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.astype("float64")
        bad = pd.Series(np.isinf(values.to_numpy()), index=column.index)
        return values.where(~bad), bad, values.isna() & ~bad
    text = column.astype("string")
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    # Only the cells that did not parse need a closer look (spaces, "NA", words).
    unparsed = values.isna().to_numpy()
    missing = pd.Series(False, index=column.index)
    if unparsed.any():
        rest = text[unparsed].str.strip()
        is_missing = rest.isna() | rest.str.lower().isin(MISSING_TOKENS)
        missing[unparsed] = is_missing.to_numpy()
        retry = pd.to_numeric(rest.where(~is_missing), errors="coerce").astype("float64")
        values[unparsed] = retry.to_numpy()
    bad = (values.isna() & ~missing) | np.isinf(values)
    return values.where(~bad), bad, missing


def validate_features(
    table: pd.DataFrame,
    feature_names: Sequence[str],
    *,
    limits: Limits | None = None,
    categories: Sequence[str] = (),
    horizon: int = 30,
) -> tuple[pd.DataFrame, pd.Series]:
    """Numbers of the known feature columns of `table`, and a message per bad row.

    Cells must be numbers; empty cells (and ``NA``, ``null``...) are missing values, which
    the models handle as they do a customer for whom the feature is undefined (e.g. no gap
    between purchases yet). Ranges are the registry's (``valid`` of each
    :class:`clvmodel.features.registry.Feature`): counts, durations and amounts of things
    are >= 0, shares and 0/1 indicators lie in [0, 1], ``cutoff_month`` in 1..12. Also
    ``days_since_last`` <= ``days_since_first``, and a shorter window never above a longer
    one (:func:`nested_windows`; spend up to the returns). Values that no history gives
    together are refused naming both (:func:`clvmodel.plausible.contradictions`: a
    purchase in a window and the days since the last purchase, spend in a window without a
    purchase in it, a derived feature that disagrees with its inputs...), and, with
    `limits`, values far outside the training data (:class:`clvmodel.plausible.Limits`).
    A row with no value at all is rejected.

    Parameters
    ----------
    table : DataFrame
        Text or numeric columns; columns that are not in `feature_names` are ignored.
    feature_names : sequence of str
        The model's features.
    limits : Limits, optional
        The training data's range (none checked without).
    categories, horizon
        The model's categories (their shares add up to at most 1) and horizon (in the
        daily spend rate).

    Returns
    -------
    numbers : DataFrame
        Float columns for the features present in `table`, same index; bad cells NaN.
    errors : Series of str
        Same index; ``""`` for a valid row, else each problem, separated by ``"; "``.
    """
    present = [f for f in feature_names if f in table.columns]
    errors = pd.Series("", index=table.index, dtype=object)
    numbers = {}
    all_missing = pd.Series(True, index=table.index)
    for feature in present:
        values, bad, missing = _parse_numbers(table[feature])
        all_missing &= missing
        if bad.any():
            shown = feature + ": " + _show(table.loc[bad, feature]) + " is not a number"
            _add(errors, bad, shown)
        numbers[feature] = values
        valid = feature_range(feature)
        if valid.bounded:
            _add(errors, valid.outside(values), valid.message(feature), values)
    numbers = pd.DataFrame(numbers, index=table.index)
    if {"days_since_last", "days_since_first"} <= set(present):
        last, first = numbers["days_since_last"], numbers["days_since_first"]
        out = last > first
        if out.any():
            got = number_text(last[out]) + " > " + number_text(first[out])
            _add(
                errors,
                out,
                "days_since_last must be <= days_since_first (the last purchase cannot come "
                "before the first); got " + got,
            )
    clean = errors == ""  # windows are compared only in rows whose values are each valid
    for smaller, larger in nested_windows(present):
        _check_nested(errors, numbers, smaller, larger, clean)
    for mask, message in contradictions(numbers, present, categories=categories, horizon=horizon):
        _add(errors, mask & clean, message)
    for mask, message in limits.problems(numbers, present) if limits is not None else ():
        _add(errors, mask, message)
    if present:
        _add(errors, all_missing, "no feature value in this row")
    return numbers, errors


_WINDOW = re.compile(r"^(txn_count|spend(?:_[a-z0-9]+)?)_(\d+)d$")
_RETURNS = "returns_365d"


def nested_windows(feature_names: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs (shorter window, longer window) of one quantity: a count over 30 days cannot
    exceed the count over 90 days, nor the count over 365 days the lifetime count."""
    windows: dict[str, list[tuple[int, str]]] = {}
    for name in feature_names:
        match = _WINDOW.match(name)
        if match and match.group(1) != "spend_trend":
            windows.setdefault(match.group(1), []).append((int(match.group(2)), name))
    pairs = []
    for stem, found in windows.items():
        names = [n for _, n in sorted(found)]
        if stem == "txn_count" and "txn_count_lifetime" in feature_names:
            names.append("txn_count_lifetime")
        pairs += list(itertools.pairwise(names))
    return pairs


def _check_nested(
    errors: pd.Series, numbers: pd.DataFrame, smaller: str, larger: str, rows: pd.Series
) -> None:
    """Refuse a shorter window above a longer one. Spend is net of returns, so a shorter
    window may exceed a longer one by what was returned in the last 365 days, no more."""
    slack = 0.0
    if smaller.startswith("spend"):
        if _RETURNS not in numbers:
            return  # without the returns the bound is unknown
        slack = numbers[_RETURNS].fillna(0.0) + 0.005
    a, b = numbers[smaller], numbers[larger]
    out = (a > b + slack) & rows
    if not out.any():
        return
    got = number_text(a[out]) + " > " + number_text(b[out])
    why = f" plus {_RETURNS} (returns in the last 365 days)" if smaller.startswith("spend") else ""
    _add(errors, out, f"{smaller} must be <= {larger}{why}; got " + got)


def check_feature_names(names: Sequence[str], feature_names: Sequence[str]) -> None:
    """Raise a ValueError naming unknown features, with the closest known name for each."""
    known = set(feature_names)
    unknown = [n for n in names if n not in known]
    if not unknown:
        return
    hints = []
    for n in unknown[:_SHOW_COLUMNS]:
        close = difflib.get_close_matches(str(n), feature_names, n=1)
        hints.append(f"{n!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    more = f" and {len(unknown) - _SHOW_COLUMNS} more" if len(unknown) > _SHOW_COLUMNS else ""
    raise ValueError(
        f"unknown feature(s): {', '.join(hints)}{more}. Known features: {_list(feature_names)}."
    )


def _list(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOW_COLUMNS])
    rest = len(names) - _SHOW_COLUMNS
    return shown + (
        f", ... ({rest} more; the features template lists them all)" if rest > 0 else ""
    )


# --------------------------------------------------------------------------- scoring


def score_table(
    scorer: CustomerScorer | PartitionedScorer,
    table: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Score every row of an uploaded table; bad rows are reported, not fatal.

    With a ``customer_id`` column each row is scored from that customer's history as of
    `as_of` (default: the day after the data's last transaction); other columns are
    ignored. An ID names a customer by :func:`clvmodel.ids.match_ids` (``c1`` and
    ``" C1 "`` are ``C1``), and the results hold that ID; a customer named on several rows
    is scored on each, flagged ``duplicate``. Without one, the table must hold feature
    columns: each row is scored as given, after :func:`validate_features`; features the
    table lacks are filled with the training medians (``model.typical_``) and listed in
    the summary.

    Parameters
    ----------
    scorer : CustomerScorer or PartitionedScorer
        Holds the predictor and the history (or, for a big base, the saved scores).
    table : DataFrame
        As returned by :func:`read_upload` (text cells); numeric columns work too.
    as_of : date, optional
        Only used with a ``customer_id`` column.

    Returns
    -------
    results : DataFrame
        One row per input row, in order. With IDs: ``customer_id``, ``as_of``,
        :func:`~clvmodel.prediction.prediction_columns`, the scorer's flags (such as
        ``cold_start``), ``duplicate``, ``error``; with features: the prediction columns
        and ``error``.
        ``error`` is ``""`` for a scored row; a rejected row has a message there and
        missing predictions.
    summary : dict
        ``rows``, ``scored``, ``rejected``, ``mode`` (``"customer_id"`` or
        ``"features"``), ``filled_features``, ``ignored_columns``, ``as_of`` (the date
        used, ``None`` in features mode) and, with IDs, ``duplicated_rows``.

    Raises
    ------
    ValueError
        If the table is empty, or has neither a ``customer_id`` column nor any feature
        column, or `as_of` is not a date.
    """
    model = scorer.model
    columns = prediction_columns(model.categories)
    if table.shape[0] == 0:
        raise ValueError(f"the table has no rows. {_TEMPLATE_HINT}")
    if ID_COLUMN in table.columns:
        results, summary = _score_ids(scorer, table, columns, as_of)
    else:
        results, summary = _score_features(model, table, columns, training_limits(scorer))
    results = results.reset_index(drop=True)
    unreadable = table.attrs.get(ROW_ERRORS, {})
    if unreadable:
        rows = list(unreadable)
        results.loc[rows, columns] = np.nan
        results.loc[rows, "error"] = list(unreadable.values())
    rejected = int((results["error"] != "").sum())
    summary = {
        "rows": len(results),
        "scored": len(results) - rejected,
        "rejected": rejected,
        **summary,
    }
    return results, summary


def _score_ids(
    scorer: CustomerScorer | PartitionedScorer,
    table: pd.DataFrame,
    columns: list[str],
    as_of: str | pd.Timestamp | None,
) -> tuple[pd.DataFrame, dict]:
    scored = scorer.score(table[ID_COLUMN].to_numpy(), as_of=as_of)
    # As the scoring CLI writes them: ID, date, predictions, flags (e.g. cold_start).
    flags = [c for c in scored.columns if c not in {ID_COLUMN, "as_of", *columns, "error"}]
    results = scored[[ID_COLUMN, "as_of", *columns, *flags, "error"]]
    # The scorer returns the ID each row names (clvmodel.ids): c1 and " C1" are one.
    duplicate = duplicated_ids(results[ID_COLUMN].astype(str).str.strip())
    results.insert(results.columns.get_loc("error"), DUPLICATE, duplicate)
    summary = {
        "mode": "customer_id",
        "filled_features": [],
        "ignored_columns": [c for c in table.columns if c != ID_COLUMN],
        "as_of": str(scored["as_of"].iloc[0]),
        "duplicated_rows": int(duplicate.sum()),
    }
    return results, summary


def typical_values(model: CLVModel) -> pd.Series:
    """The training medians of the features (``model.typical_``), derived features computed
    from the others' (:func:`clvmodel.plausible.derive`): medians of ratios are not ratios
    of medians, and a what-if starting there must be a possible customer."""
    typical = model.typical_.reindex(model.feature_names_).to_frame().T
    return derive(typical, (), model.horizon)[0].iloc[0]


#: Limits of the scorers asked so far (a scorer's features as of its default day are fixed).
_LIMITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def training_limits(scorer: CustomerScorer | PartitionedScorer) -> Limits | None:
    """The range of the training data (:class:`clvmodel.plausible.Limits`), taken from the
    features of every customer the scorer serves as of its default day: the data the
    served model was trained on (the app checks the data's fingerprint), through its
    last day. None for a partitioned base, whose features are never all in memory."""
    if not isinstance(scorer, CustomerScorer):
        return None
    if scorer not in _LIMITS:
        _LIMITS[scorer] = Limits.of(scorer.features())
    return _LIMITS[scorer]


def _score_features(
    model: CLVModel, table: pd.DataFrame, columns: list[str], limits: Limits | None = None
) -> tuple[pd.DataFrame, dict]:
    names = model.feature_names_
    present = [f for f in names if f in table.columns]
    if not present:
        raise ValueError(
            f"the table has neither a {ID_COLUMN!r} column (to score customers from their "
            "history) nor any feature column (to score rows as given). Expected "
            f"{ID_COLUMN!r} or feature columns such as {_list(names)}; got columns "
            f"{list(map(str, table.columns[:_SHOW_COLUMNS]))}"
            f"{' ...' if table.shape[1] > _SHOW_COLUMNS else ''}. {_TEMPLATE_HINT}"
        )
    numbers, errors = validate_features(
        table, names, limits=limits, categories=model.categories, horizon=model.horizon
    )
    filled = [f for f in names if f not in table.columns]
    typical = typical_values(model).reindex(filled)
    no_typical = typical.index[typical.isna()].tolist()
    if no_typical:
        raise ValueError(
            f"the table lacks feature(s) {no_typical} and the model has no typical value "
            "for them; add these columns."
        )
    x = pd.concat(
        [numbers, pd.DataFrame({f: typical[f] for f in filled}, index=table.index)], axis=1
    )[names]
    # Features derived from others follow the values given, not the typical ones.
    x, derived = derive(x, present, model.horizon)
    good = (errors == "").to_numpy()
    if good.any():
        # Filled-in typical values are not the user's: never cited as reasons.
        given = pd.DataFrame(True, index=x.index, columns=names)
        given[filled] = False
        results = model.predict_features(x.loc[good], given=given.loc[good])
        results = results.reindex(table.index)
    else:
        results = pd.DataFrame(np.nan, index=table.index, columns=columns)
    results = results[columns]
    results["error"] = errors.astype(str)
    summary = {
        "mode": "features",
        "filled_features": filled,
        "ignored_columns": [c for c in table.columns if c not in set(names)],
        "as_of": None,
        "derived_features": derived,
    }
    return results, summary


# --------------------------------------------------------------------------- writing


def templates(
    model: CLVModel, folder: str | os.PathLike[str], *, example_ids: Sequence[str] = ()
) -> tuple[Path, Path]:
    """Write the two upload templates as CSV into `folder`.

    Returns
    -------
    ids_csv : Path
        ``template_customer_ids.csv``: a ``customer_id`` column, with `example_ids`.
    features_csv : Path
        ``template_features.csv``: every feature column, one row of typical values.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ids_path = folder / "template_customer_ids.csv"
    pd.DataFrame({ID_COLUMN: pd.Series(list(example_ids), dtype=str)}).to_csv(ids_path, index=False)
    typical = typical_values(model)
    features_path = folder / "template_features.csv"
    pd.DataFrame([typical.to_numpy()], columns=model.feature_names_).to_csv(
        features_path, index=False, float_format="%.6g"
    )
    return ids_path, features_path


def escape_formulas(values: pd.Series) -> pd.Series:
    """Prefix ``'`` to text that a spreadsheet would run as a formula.

    A cell starting with ``= + - @``, tab or carriage return is a formula to Excel,
    LibreOffice and Google Sheets, unless the whole cell is a plain number such as
    ``-12.5``. Missing values stay missing.
    """
    text = values.astype("string")
    risky = text.str.startswith(FORMULA_PREFIXES) & ~text.str.fullmatch(_NUMBER.pattern)
    risky = risky.fillna(False).astype(bool)
    return text.where(~risky, "'" + text)


def _rounded(results: pd.DataFrame) -> pd.DataFrame:
    """Spend to cents and probability to 4 decimals; text escaped against formulas."""
    out = results.copy()
    for col in out.columns:
        # + 0.0: a tiny negative rounds to -0.0, which a file would show as "-0.0".
        if col == PROBABILITY:
            out[col] = out[col].astype("float64").round(4) + 0.0
        elif pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype("float64").round(2) + 0.0
        else:
            out[col] = escape_formulas(out[col])
    return out


def _column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _xml_text(values: pd.Series) -> pd.Series:
    text = values.astype("string").fillna("").str.replace(_XML_ILLEGAL.pattern, "", regex=True)
    return (
        text.str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
    )


def _cells(values: pd.Series) -> pd.Series:
    """One ``<c>`` element per value: numbers as numbers, text as inline strings."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        v = values.astype("float64")
        text = v.fillna(0.0).astype(str)
        return ("<c><v>" + text + "</v></c>").where(np.isfinite(v.to_numpy()), "<c/>")
    text = _xml_text(values)
    return ('<c t="inlineStr"><is><t xml:space="preserve">' + text + "</t></is></c>").where(
        text != "", "<c/>"
    )


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="predictions" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """A one-sheet .xlsx, built with vectorised string operations.

    openpyxl writes about 7,000 rows a second; this writes 100,000 rows of 20 columns
    in about two seconds. Cells carry no style; the header row is frozen.
    """
    header = "".join(
        f'<c t="inlineStr"><is><t>{_xml_text(pd.Series([c])).iloc[0]}</t></is></c>'
        for c in frame.columns
    )
    body = pd.Series("", index=frame.index, dtype=object).astype("string")
    for col in frame.columns:
        body = body + _cells(frame[col])
    rows = '<row r="' + pd.Series(np.arange(2, len(frame) + 2), index=frame.index).astype(str)
    rows = rows + '">' + body + "</row>"
    last = f"{_column_letter(frame.shape[1] - 1)}{len(frame) + 1}"
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        f'<sheetData><row r="1">{header}</row>'
        + "".join(rows.tolist())
        + "</sheetData></worksheet>"
    )
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for part, xml in _XLSX_PARTS.items():
            z.writestr(part, xml)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    os.replace(tmp, path)


def write_results(
    results: pd.DataFrame, folder: str | os.PathLike[str], *, stem: str = "clv_predictions"
) -> tuple[Path, Path]:
    """Write results as ``<stem>.csv`` and ``<stem>.xlsx`` in `folder`.

    Spend is rounded to 2 decimals and the probability to 4. Numbers stay numbers;
    text cells are passed through :func:`escape_formulas`. Missing predictions (rejected
    rows) are empty cells.

    Returns
    -------
    (csv_path, xlsx_path)
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    safe = _rounded(results)
    csv_path = folder / f"{stem}.csv"
    xlsx_path = folder / f"{stem}.xlsx"
    safe.to_csv(csv_path, index=False)
    _write_xlsx(safe, xlsx_path)
    return csv_path, xlsx_path


#: Formats :func:`write_scores` writes, by file extension.
FORMATS = (".csv", ".xlsx")


#: Most data rows of one Excel sheet (1,048,576 rows with the header).
EXCEL_ROWS = 1_048_575


def write_scores(
    results: pd.DataFrame | Iterable[pd.DataFrame | None], path: str | os.PathLike[str]
) -> Path:
    """Write `results` to one file, .csv or .xlsx by its extension, as
    :func:`write_results` formats them; the file appears whole or not at all.

    `results` may be pieces (e.g. :meth:`clvmodel.CLVModel.predict_parts`), written one
    after the other: a CSV is then written piece by piece, in memory of one piece (None
    pieces are skipped). An Excel sheet holds at most :data:`EXCEL_ROWS` rows.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"the output file must end in {' or '.join(FORMATS)}; got {path.name!r}. The "
            "format follows the extension."
        )
    pieces = [results] if isinstance(results, pd.DataFrame) else results
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if suffix == ".csv":
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                header = True
                for piece in pieces:
                    if piece is not None and (header or len(piece)):
                        _rounded(piece).to_csv(f, index=False, header=header)
                        header = False
            os.replace(tmp, path)
        else:
            frames = [p for p in pieces if p is not None]
            frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            if len(frame) > EXCEL_ROWS:
                raise ValueError(
                    f"{len(frame):,} rows do not fit in an Excel sheet ({EXCEL_ROWS:,} at most): "
                    f"write {path.stem}.csv or a folder of Parquet parts instead."
                )
            _write_xlsx(_rounded(frame), path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
