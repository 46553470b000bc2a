"""clvmodel Space: 30-day spend per customer, in total and per category, in the browser and by API.

Run ``python app.py``. The server listens where Gradio's own ``GRADIO_SERVER_NAME`` and
``GRADIO_SERVER_PORT`` say (default 127.0.0.1:7860; a Hugging Face Space sets them).

Environment:

- ``CLV_ARTIFACTS``: folder written by ``train.py`` (default: ``artifacts/`` next to this file).
- ``CLV_DATA``: folder of the seven retail tables (default: ``data/`` next to this file), or
  a partitioned Parquet data set (:mod:`clvmodel.partitions`) too big to hold in memory:
  then ``CLV_ARTIFACTS`` must be trained on it (``train.py --data`` saves every customer's
  scores and a summary beside the model), the app serves the day after the data from
  those, and another as-of date for one customer at a time (:mod:`clvmodel.source`).
- ``CLV_AUTH``: ``user:password`` puts Gradio's login page in front of the app and the API
  (clients then pass ``Client(url, auth=("user", "password"))``). Off when unset.

Every action is a named API endpoint (``/predict_customer``, ``/predict_features``,
``/predict_batch``, ``/explain_customer``, ``/model_info``, ``/batch_template``); see the
README for a ``gradio_client`` snippet per endpoint. Models and data are loaded once, here
at import; handlers only convert values, call ``clvmodel`` and format the answer.
"""

from __future__ import annotations

import os

# LightGBM's OpenMP threads spin while waiting; on a busy 2-core machine that made one fit
# ~8x slower. Passive waiting must be set before lightgbm is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from clvmodel.source import open_source

HERE = Path(__file__).resolve().parent
ARTIFACTS = Path(os.environ.get("CLV_ARTIFACTS") or HERE / "artifacts")
DATA_DIR = Path(os.environ.get("CLV_DATA") or HERE / "data")
MODEL_CARD = HERE / "model_card.md"

# Start-up runs on two threads. Reading the tables (~2.5 s, much of it in pyarrow; on a
# partitioned base: the customer IDs and the saved scores and summary) starts first and
# runs while the models' libraries and Gradio import (~5 s); then scoring every customer
# as of the latest date (~2 s, mostly in LightGBM and XGBoost, which release the GIL; none
# when saved scores fit) runs while the UI is built. The app serves once both are done, so
# the first lookup is as fast as any other.
_LOADER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clvmodel-start")
_data_loading = _LOADER.submit(open_source, DATA_DIR, ARTIFACTS)

import atexit
import functools
import json
import re
import shutil
import tempfile
import threading
import time

import gradio as gr
import numpy as np
import pandas as pd

from clvmodel import batch, catalogue, lists, plots
from clvmodel.distribution import interval_quantiles
from clvmodel.model import MEDIAN, PROBABILITY, REASONS, CLVModel

# ---------------------------------------------------------------- loaded once, at import
MODEL = CLVModel.load(ARTIFACTS)
try:
    SOURCE = _data_loading.result()
    SCORER = SOURCE.serve(MODEL)
except ValueError as exc:  # data the app cannot serve: say why and what to run
    raise SystemExit(f"Cannot serve {DATA_DIR}: {exc}") from exc
# The whole data (RetailData) or the opened partitioned data set (PartitionedData).
DATA = SOURCE.data
# Every customer as of the latest date: from train.py's saved scores when they were made
# from this very data (it saves ~2 s of predicting).
_scoring = _LOADER.submit(SOURCE.warm, ARTIFACTS)
METRICS = MODEL.report_
META = MODEL.metadata_
CURRENCY = META.get("currency", "")
VERSION = META.get("model_version", "unknown")
SPEND_TARGETS = ["total", *MODEL.categories]
LEVELS = interval_quantiles(MODEL.interval)
DEFAULT_AS_OF = SCORER.default_as_of
# Example IDs from big to occasional spenders (deterministic).
EXAMPLE_IDS = SOURCE.examples()
# The scorer's per-date cache is a plain dict: fill it under a lock.
_CACHE_LOCK = threading.Lock()
# Result files of each request go to a fresh folder under this one; old ones are removed.
WORK_DIR = Path(tempfile.mkdtemp(prefix="clvmodel_app_"))
atexit.register(shutil.rmtree, WORK_DIR, ignore_errors=True)
TEMPLATES = dict(
    zip(
        ("customer_id", "features"),
        batch.templates(MODEL, WORK_DIR / "templates", example_ids=EXAMPLE_IDS),
        strict=True,
    )
)
_KEEP_RESULTS_SECONDS = 3600
_MAX_ID_LENGTH = 64


# ---------------------------------------------------------------- helpers
def _error(exc: ValueError) -> gr.Error:
    """A library ValueError as the message a user sees."""
    return gr.Error(str(exc))


def _check_id(customer_id: object) -> str:
    text = "" if customer_id is None else str(customer_id).strip()
    if not text:
        raise gr.Error(f"Enter a customer ID, e.g. {EXAMPLE_IDS[0]}.")
    if len(text) > _MAX_ID_LENGTH:
        raise gr.Error(
            f"customer_id is {len(text)} characters long; IDs look like {EXAMPLE_IDS[0]}."
        )
    if _known(text):
        return text
    return _ids_by_case().get(text.casefold(), text)  # a unique case-insensitive match


@functools.cache
def _ids_by_case() -> dict[str, str]:
    """Each case-folded ID that folds from one ID only, to that ID (plain Python: a
    million IDs take under a second, where pandas' string methods took several). Made
    on the first ID not found as typed, not at start: few sessions need it."""
    out: dict[str, str] = {}
    ambiguous = set()
    for cid in SOURCE.customer_ids.to_numpy(dtype=object):
        folded = cid.casefold()
        if folded in out:
            ambiguous.add(folded)
        out[folded] = cid
    for folded in ambiguous:
        del out[folded]
    return out


def _check_as_of(as_of: object) -> pd.Timestamp:
    """The as-of day: empty means the day after the data's last transaction."""
    text = "" if as_of is None else str(as_of).strip()
    if not text:
        return DEFAULT_AS_OF
    try:
        day = pd.Timestamp(text)
    except (ValueError, TypeError):
        day = pd.NaT
    if pd.isna(day):
        raise gr.Error(f"as_of must be a date like {DEFAULT_AS_OF:%Y-%m-%d}; got {text!r}.")
    day = (day.tz_localize(None) if day.tzinfo else day).normalize()
    if day > DEFAULT_AS_OF:
        raise gr.Error(
            f"as_of must be on or before {DEFAULT_AS_OF:%Y-%m-%d}, the day after the last "
            f"transaction in the data; got {day:%Y-%m-%d}. Leave it empty for the latest date."
        )
    return day


def _warm(day: pd.Timestamp) -> None:
    """Build (once) the features of every customer as of `day` (on a partitioned base:
    nothing, a customer is scored from their own rows)."""
    with _CACHE_LOCK:
        try:
            SCORER.warm(day)
        except ValueError as exc:
            raise _error(exc) from exc


def _everyone(day: pd.Timestamp) -> pd.DataFrame:
    """Every customer's scores as of `day`; a partitioned base has them for one day only."""
    try:
        return SCORER.scores(day, reasons=False)
    except ValueError as exc:
        raise _error(exc) from exc


def _known(cid: str) -> bool:
    """The source's ID index answers (its lookup table is built while warming)."""
    return cid in SOURCE.customer_ids


def _id_problem(customer_id: str, error: str, day: pd.Timestamp) -> gr.Error:
    if error.startswith("unknown"):
        return gr.Error(
            f"Unknown customer ID {customer_id!r}: it is not in the customer table. IDs look "
            f"like {EXAMPLE_IDS[0]}; pick one of the examples."
        )
    if error.startswith("no purchase history"):
        return gr.Error(
            f"Customer {customer_id!r} has no purchase before {day:%Y-%m-%d}, so there is no "
            "history to predict from. Pick a later as_of date, or use the What-if tab."
        )
    return gr.Error(f"customer_id {customer_id!r}: {error}.")


def _money(x: float) -> float:
    return round(float(x), 2)


def _money_text(x: object) -> str:
    """Money as a person reads it: thousands separators, cents; empty when missing."""
    return "" if x is None or pd.isna(x) else f"{float(x):,.2f}"


def _share_text(x: object) -> str:
    return "" if x is None or pd.isna(x) else f"{float(x):.1%}"


def _metric_text(x: object) -> str:
    """A metric: large ones (money) as whole numbers with separators, small ones to 3 places."""
    if x is None or pd.isna(x):
        return ""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3f}"


def _reply(row: pd.Series, *, customer_id: str | None, as_of: str | None) -> dict:
    """The seed service's reply shape, with plain floats."""
    return {
        "customer_id": customer_id,
        "predicted_30d_spend": {t: _money(row[f"predicted_{t}"]) for t in SPEND_TARGETS},
        f"interval_{round(MODEL.interval * 100)}": {
            t: [_money(row[f"predicted_{t}_low"]), _money(row[f"predicted_{t}_high"])]
            for t in SPEND_TARGETS
        },
        "purchase_probability": round(float(row[PROBABILITY]), 4),
        # Quantiles of the same distribution as the interval: its ends are P10 and P90.
        "spend_distribution": {
            f"p{round(LEVELS[0] * 100)}": _money(row["predicted_total_low"]),
            "p50": _money(row[MEDIAN]),
            f"p{round(LEVELS[1] * 100)}": _money(row["predicted_total_high"]),
        },
        "reasons": [str(row[r]) for r in REASONS if isinstance(row.get(r), str) and row[r]],
        "cold_start": bool(row.get("cold_start", False)),
        "as_of": as_of,
        "currency": CURRENCY,
        "model_version": VERSION,
    }


def _number(x: object, digits: int = 4) -> float | None:
    """A JSON-safe number: NaN and infinities become None."""
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if pd.notna(x) and abs(x) != float("inf") else None


def _scale(target: str) -> str:
    if target == "purchase":
        return "log-odds of buying"
    model = META["targets"].get(target, {}).get("model", "")
    return "log of expected spend" if "tweedie" in model else f"spend ({CURRENCY})"


def _clean_old_results() -> None:
    cutoff = time.time() - _KEEP_RESULTS_SECONDS
    for folder in WORK_DIR.glob("request_*"):
        if folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- API handlers
STALE = (
    "**The last request failed** (the message says why): nothing here is an answer to it. "
    "Fix the input and try again."
)


def _stale(*cleared):
    """A failure handler: the stale notice, then the outputs set to `cleared` (None, or an
    empty table that keeps its headers)."""

    def clear():
        return (STALE, *cleared)

    return clear


_NONE = "(none)"


def _profiles(day: pd.Timestamp) -> pd.DataFrame:
    """Every customer's profile as of `day` (cached, like the scores)."""
    try:
        return SOURCE.profiles(day)
    except ValueError as exc:
        raise _error(exc) from exc


BREAKDOWNS = SOURCE.breakdowns


def _where(filter_column: str | None, filter_value: str | None, day) -> dict | None:
    """The filter as the model takes it; a clear message for a value nobody has."""
    column = (filter_column or "").strip()
    if not column or column == _NONE:
        return None
    if column not in BREAKDOWNS:
        raise gr.Error(f"filter_column must be one of {BREAKDOWNS}; got {column!r}.")
    value = (filter_value or "").strip()
    known = sorted(_profiles(day)[column].dropna().astype("str").unique())
    if value not in known:
        shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        raise gr.Error(f"No customer has {column} = {value!r}. Values: {shown}.")
    return {column: value}


def _money_row(row: pd.Series) -> dict:
    return {k: _money(row[k]) for k in ("expected", "low", "high")}


def forecast(
    by: str | None = None,
    filter_column: str | None = None,
    filter_value: str | None = None,
    as_of: str | None = None,
) -> dict:
    """Next-30-day net revenue of the whole base (or a filtered part): total, per category
    and per group, each with the 80% interval of the sum.

    Args:
        by: a profile column to break down by (segment, loyalty_tier, region, channel,
            store), or empty for none.
        filter_column: a profile column to filter on, or empty.
        filter_value: the value of filter_column to keep, e.g. "premium".
        as_of: date to forecast from, YYYY-MM-DD; empty for the day after the data.
    """
    day = _check_as_of(as_of)
    _warm(day)
    scores = _everyone(day)
    where = _where(filter_column, filter_value, day)
    by = (by or "").strip()
    by = None if not by or by == _NONE else by
    try:
        base = MODEL.forecast_scores(scores, _profiles(day), where=where)
        groups = MODEL.forecast_scores(scores, _profiles(day), by=by, where=where) if by else None
    except ValueError as exc:
        raise _error(exc) from exc
    base = base.set_index("target")
    reply = {
        "as_of": f"{day:%Y-%m-%d}",
        "customers": int(base.loc["total", "customers"]),
        "filter": where,
        "currency": CURRENCY,
        "total": _money_row(base.loc["total"]),
        "categories": {c: _money_row(base.loc[c]) for c in MODEL.categories},
        "by": by,
        "breakdown": []
        if groups is None
        else [
            {
                "group": r.group,
                "target": r.target,
                "customers": int(r.customers),
                "expected": _money(r.expected),
                "low": _money(r.low),
                "high": _money(r.high),
            }
            for r in groups.itertuples()
        ],
        "interval": MODEL.interval,
        "model_version": VERSION,
    }
    return reply


def _revenue_history(
    day: pd.Timestamp, where: dict | None, months: int = 12
) -> dict[str, pd.DataFrame]:
    """Net revenue per month of the (filtered) base, in total and per category: every
    month up to `day`, zeros too."""
    try:
        revenue = SOURCE.revenue(day, where)
    except ValueError as exc:
        raise _error(exc) from exc
    periods = pd.period_range(end=(day - pd.Timedelta(days=1)).to_period("M"), periods=months)
    month = pd.to_datetime(revenue["month"]).dt.to_period("M")
    by_category = revenue.groupby([month, revenue["category"]])["amount"].sum()
    by_category = by_category.unstack(fill_value=0)
    by_category = by_category.reindex(index=periods, columns=list(MODEL.categories), fill_value=0)
    spend = {"total": by_category.sum(axis=1), **{c: by_category[c] for c in MODEL.categories}}
    return {
        t: pd.DataFrame({"month": periods.to_timestamp(), "spend": v.to_numpy(dtype="float64")})
        for t, v in spend.items()
    }


def show_forecast(reply: dict, filter_column: str | None, filter_value: str | None):
    """The forecast tab's headline, table, chart and files from a /forecast reply."""
    total = reply["total"]
    day = pd.Timestamp(reply["as_of"])
    who = "the whole base" if not reply["filter"] else (
        " and ".join(f"{k} = {v}" for k, v in reply["filter"].items()))  # fmt: skip
    headline = (
        f"**{CURRENCY} {total['expected']:,.0f}** expected in the 30 days from "
        f"{reply['as_of']} for {who} ({reply['customers']:,} customers); 80% interval "
        f"{total['low']:,.0f} to {total['high']:,.0f}."
        + (f" The table breaks it down by **{reply['by']}**." if reply["by"] else "")
    )
    rows = [{"group": "all", "target": "total", **total}] + [
        {"group": "all", "target": c, **v} for c, v in reply["categories"].items()
    ]
    order = {t: i for i, t in enumerate(SPEND_TARGETS)}  # total first, as in the rows above
    breakdown = sorted(reply["breakdown"], key=lambda r: (r["group"], order.get(r["target"], 99)))
    rows += [{k: r[k] for k in ("group", "target", "expected", "low", "high")}
             for r in breakdown]  # fmt: skip
    table = pd.DataFrame(rows)
    shown = table.assign(**{k: table[k].map(lambda v: f"{v:,.2f}") for k in
                            ("expected", "low", "high")})  # fmt: skip
    shown.columns = FORECAST_COLUMNS
    history = _revenue_history(day, reply["filter"])
    band = {"total": total, **reply["categories"]}
    band = {t: (v["expected"], v["low"], v["high"]) for t, v in band.items()}
    fig = plots.forecast_plot(
        history.pop("total"),
        band.pop("total"),
        title=f"Net revenue per month, {who}",
        currency=CURRENCY,
    )
    by_category = plots.category_forecast_plot(
        history, band, title=f"Per category, {who}", currency=CURRENCY
    )
    _clean_old_results()
    folder = Path(tempfile.mkdtemp(prefix="request_", dir=WORK_DIR))
    csv_path, xlsx_path = batch.write_results(table, folder, stem="forecast")
    return headline, shown, fig, by_category, str(csv_path), str(xlsx_path)


def customer_list(
    kind: str = "top",
    n: int = 100,
    target: str = "total",
    filter_column: str | None = None,
    filter_value: str | None = None,
    as_of: str | None = None,
) -> dict:
    """A ranked list of customers to act on, with profile, expected spend, P(buy), reasons.

    Args:
        kind: "top" (highest expected spend), "lapse" (high past spend, unlikely to buy),
            "cross_sell" (spend little or nothing in the target category) or "new"
            (signed up, never bought).
        n: how many customers, 1 to 10,000.
        target: "total" or a category (for cross_sell: the category to sell).
        filter_column / filter_value: keep only customers with this profile value.
        as_of: date, YYYY-MM-DD; empty for the day after the data.
    """
    day = _check_as_of(as_of)
    _warm(day)
    scores = _everyone(day)
    where = _where(filter_column, filter_value, day)
    try:
        n = int(float(n))
    except (TypeError, ValueError) as exc:
        raise gr.Error(f"n must be a whole number of customers; got {n!r}.") from exc
    try:
        listed = lists.customer_list(
            scores, _profiles(day), SOURCE.list_features(day), kind=kind, n=n,
            target=target, where=where, categories=MODEL.categories,
        )  # fmt: skip
    except ValueError as exc:
        raise _error(exc) from exc
    if len(listed):  # reasons for the listed customers only, made on request
        explained = SCORER.score(listed["customer_id"].tolist(), as_of=day)
        reasons = explained[REASONS].fillna("").agg(lambda r: "; ".join(v for v in r if v), axis=1)
        listed["reason"] = reasons.to_numpy()
    listed = listed.astype({c: "object" for c in listed.columns if c == "days_since_last"})
    return {
        "as_of": f"{day:%Y-%m-%d}",
        "kind": kind,
        "target": target,
        "filter": where,
        "rule": lists.LIST_KINDS.get(kind, "").replace("`target`", repr(target)),
        "rows": json.loads(listed.to_json(orient="records")),
        "currency": CURRENCY,
        "model_version": VERSION,
    }


def _target_for_kind(kind: str, target: str) -> str:
    """A cross-sell list is for one category: switch away from "total" when it is chosen."""
    if kind == "cross_sell" and target == "total" and MODEL.categories:
        return MODEL.categories[0]
    return target


def show_list(reply: dict):
    """The customer-lists tab's table and files from a /customer_list reply."""
    table = pd.DataFrame(reply["rows"])
    _clean_old_results()
    folder = Path(tempfile.mkdtemp(prefix="request_", dir=WORK_DIR))
    csv_path, xlsx_path = batch.write_results(table, folder, stem=f"customers_{reply['kind']}")
    shown = table.copy()
    for c in shown.columns:
        if c.startswith("expected_") or c == "past_spend_365d":
            shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
        elif c == PROBABILITY:
            shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
    text = f"{len(table):,} customers. Rule: {reply['rule']}"
    return text, shown, str(csv_path), str(xlsx_path)


def predict_customer(
    customer_id: str,
    as_of: str | None = None,
    progress=gr.Progress(),  # noqa: B008
) -> dict:
    """Predicted 30-day spend (total and per category, 80% intervals) and purchase probability.

    Args:
        customer_id: the customer's ID, exactly as in the data (e.g. "C000123").
        as_of: date to predict from, YYYY-MM-DD; empty for the day after the last transaction.
    """
    cid, day = _check_id(customer_id), _check_as_of(as_of)
    if not SCORER.has(day):  # seconds, once per date: say so on the busy outputs
        progress(0, desc=f"Scoring every customer as of {day:%Y-%m-%d} (once per date)")
    _warm(day)
    try:
        row = SCORER.lookup(cid, day)
    except KeyError:
        raise _id_problem(cid, "no purchase history" if _known(cid) else "unknown", day) from None
    except ValueError as exc:
        raise _error(exc) from exc
    return _reply(row, customer_id=cid, as_of=f"{day:%Y-%m-%d}")


def predict_features(features: dict) -> dict:
    """The same prediction for a customer described by feature values (what-if).

    Args:
        features: JSON object of feature name to number; missing features are filled with
            typical (training median) values and listed in the reply's "filled_features".
    """
    if isinstance(features, str):
        try:
            features = json.loads(features)
        except json.JSONDecodeError as exc:
            raise gr.Error(f"features must be a JSON object; could not parse it: {exc}") from exc
    if not isinstance(features, dict):
        raise gr.Error(
            "features must be a JSON object of feature name to number, e.g. "
            f'{{"days_since_last": 12, "txn_count_90d": 3}}; got {type(features).__name__}.'
        )
    if not features:
        raise gr.Error(
            "features is empty: give at least one feature value, e.g. "
            '{"days_since_last": 12}. Missing features are filled with typical values.'
        )
    names = [str(k).strip() for k in features]
    try:
        batch.check_feature_names(names, MODEL.feature_names_)
    except ValueError as exc:
        raise _error(exc) from exc
    cells = {
        n: ["" if v is None else str(v)] for n, v in zip(names, features.values(), strict=True)
    }
    try:
        results, summary = batch.score_table(SCORER, pd.DataFrame(cells))
    except ValueError as exc:
        raise _error(exc) from exc
    row = results.iloc[0]
    if row["error"]:
        raise gr.Error(row["error"])
    return {
        **_reply(row, customer_id=None, as_of=None),
        "filled_features": summary["filled_features"],
    }


def predict_batch(file: str | None, as_of: str | None = None, progress=gr.Progress()):  # noqa: B008
    """Score a CSV or Excel file: a customer_id column (from history) or feature columns.

    Args:
        file: the table to score; at most 50 MB.
        as_of: date for customer_id files, YYYY-MM-DD; empty for the latest date.

    Returns:
        results as CSV, results as Excel (one row per input row, with an "error" column),
        and a summary (rows, scored, rejected, mode, filled_features, ...).
    """
    if not file:
        raise gr.Error("Upload a CSV or .xlsx file first (download a template to start).")
    day = _check_as_of(as_of)
    name = Path(file).name
    progress(0.05, desc=f"Reading {name}")
    try:
        table = batch.read_upload(file)
    except ValueError as exc:
        raise _error(exc) from exc
    progress(0.3, desc=f"Scoring {len(table):,} rows")
    if batch.ID_COLUMN in table.columns:
        _warm(day)
    try:
        results, summary = batch.score_table(SCORER, table, as_of=day)
    except ValueError as exc:
        raise gr.Error(f"{name}: {exc}") from exc
    progress(0.75, desc="Writing CSV and Excel")
    _clean_old_results()
    folder = Path(tempfile.mkdtemp(prefix="request_", dir=WORK_DIR))
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem)[:60] or "upload"
    csv_path, xlsx_path = batch.write_results(results, folder, stem=f"{stem}_predictions")
    progress(1.0, desc="Done")
    if summary["rejected"]:
        gr.Warning(
            f"{summary['rejected']:,} of {summary['rows']:,} rows could not be scored: "
            "their reason is in the error column of the results."
        )
    summary = {"file": name, **summary, "model_version": VERSION}
    return str(csv_path), str(xlsx_path), summary


def explain_customer(customer_id: str, as_of: str | None = None) -> dict:
    """Each feature's contribution to each target's prediction for one customer.

    Contributions (SHAP values for tree models) add up, with base_value, to the model's
    raw output, on the scale named in "scale"; largest absolute contribution first.

    Args:
        customer_id: the customer's ID.
        as_of: date, YYYY-MM-DD; empty for the latest date.
    """
    cid, day = _check_id(customer_id), _check_as_of(as_of)
    _warm(day)
    try:
        x = SCORER.customer_features(cid, day)
    except ValueError as exc:
        raise _error(exc) from exc
    if x.empty:
        if _scored(cid, day):  # no history: cold start
            note = (
                f"no purchase before {day:%Y-%m-%d}: predicted from the customer's "
                "attributes (segment, loyalty tier, account age), without per-feature "
                "contributions"
            )
            return _explanation(cid, day, {}, dict.fromkeys(MODEL.feature_config_.targets, note))
        raise _id_problem(cid, "no purchase history" if _known(cid) else "unknown", day)
    contributions, notes = {}, {}
    for target in MODEL.feature_config_.targets:
        try:
            contributions[target] = MODEL.explain_features(x, target).iloc[0]
        except ValueError as exc:
            notes[target] = str(exc)
    values = {f: _number(v) for f, v in x.iloc[0].items()}
    return _explanation(cid, day, values, notes, contributions)


def _scored(cid: str, day: pd.Timestamp) -> bool:
    """Whether the customer has a prediction as of `day` (from history or cold start)."""
    try:
        SCORER.lookup(cid, day)
    except KeyError:
        return False
    return True


def _explanation(
    cid: str, day: pd.Timestamp, values: dict, notes: dict, contributions: dict | None = None
) -> dict:
    targets = {}
    for target in MODEL.feature_config_.targets:
        entry = {
            "model": META["targets"].get(target, {}).get("model"),
            "scale": _scale(target),
            "base_value": None,
            "contributions": {},
            "note": notes.get(target, ""),
        }
        contrib = (contributions or {}).get(target)
        if contrib is not None:
            entry["base_value"] = _number(contrib["base_value"])
            contrib = contrib.drop("base_value")
            order = contrib.abs().sort_values(ascending=False, kind="stable").index
            entry["contributions"] = {f: _number(contrib[f]) for f in order}
        targets[target] = entry
    return {
        "customer_id": cid,
        "as_of": f"{day:%Y-%m-%d}",
        "model_version": VERSION,
        "feature_values": values,
        "targets": targets,
    }


def _headline_metrics() -> dict:
    """What users get, per target: the test metrics of the served predictions."""
    out = {}
    for target, report in METRICS.targets.items():
        spend = report.kind == "spend"
        keys = ("mae", "rmse", "r2", "gini") if spend else ("auc", "brier", "log_loss")
        entry = {"model": report.deployed, **{k: _number(report.served.get(k)) for k in keys}}
        if report.interval is not None:
            entry["interval_80_coverage"] = _number(report.interval.coverage)
        out[target] = entry
    return out


HEADLINE_METRICS = _headline_metrics()


def model_info() -> dict:
    """Model version, training date and cutoffs, categories, features, headline test
    metrics, and status "ok" when a prediction works (the health check)."""
    try:
        typical = MODEL.typical_.reindex(MODEL.feature_names_).to_frame().T
        status = "ok" if MODEL.predict_features(typical).notna().all(axis=None) else "degraded"
    except ValueError as exc:
        status = f"error: {exc}"
    return {
        "status": status,
        "model_version": VERSION,
        "trained_at": META.get("trained_at"),
        "currency": CURRENCY,
        "horizon_days": META.get("horizon_days"),
        "default_as_of": f"{DEFAULT_AS_OF:%Y-%m-%d}",
        "cutoffs": META.get("cutoffs"),
        "categories": list(MODEL.categories),
        "targets": {
            t: META["targets"].get(t, {}).get("model") for t in MODEL.feature_config_.targets
        },
        "cold_start_model": "cold_start" in META.get("targets", {}),
        "features": list(MODEL.feature_names_),
        "headline_metrics": HEADLINE_METRICS,
        "data": META.get("data"),
        "customers_with_history": int((~SCORER.scores(reasons=False)["cold_start"]).sum()),
        "customers_scored": len(SCORER.scores(reasons=False)),
    }


def batch_template(kind: str = "customer_id") -> str:
    """A CSV template for /predict_batch.

    Args:
        kind: "customer_id" (a column of IDs, scored from history) or "features" (every
            feature column, one row of typical values).
    """
    if kind not in TEMPLATES:
        raise gr.Error(f"kind must be one of {list(TEMPLATES)}; got {kind!r}.")
    return str(TEMPLATES[kind])


# ---------------------------------------------------------------- UI-only helpers
PREDICTION_COLUMNS = ["target", f"expected ({CURRENCY})", "80% low", "80% high"]
_CHANGE_COLUMNS = ["starting point", "change"]


def _prediction_table(reply: dict, previous: dict | None = None) -> pd.DataFrame:
    """Expected spend and interval per target, then P(buy), formatted; with a starting
    point, each prediction's change from it too."""
    rows = []
    for t in SPEND_TARGETS:
        low, high = reply["interval_80"][t]
        now = reply["predicted_30d_spend"][t]
        row = [t, _money_text(now), _money_text(low), _money_text(high)]
        if previous is not None:
            before = previous["predicted_30d_spend"][t]
            row += [_money_text(before), f"{now - before:+,.2f}"]
        rows.append(row)
    p = reply["purchase_probability"]
    row = ["probability of buying", _share_text(p), "", ""]
    if previous is not None:
        before = previous["purchase_probability"]
        row += [_share_text(before), f"{(p - before) * 100:+.1f} pts"]
    rows.append(row)
    columns = PREDICTION_COLUMNS + (_CHANGE_COLUMNS if previous is not None else [])
    return pd.DataFrame(rows, columns=columns)


def _headline(reply: dict) -> str:
    total = reply["predicted_30d_spend"]["total"]
    low, high = reply["interval_80"]["total"]
    who = f"**{reply['customer_id']}**, as of {reply['as_of']}: e" if reply["customer_id"] else "E"
    return (
        f"{who}xpected spend in the next 30 days **{CURRENCY} {total:,.2f}** "
        f"(80% interval {low:,.2f} to {high:,.2f}); probability of buying at all "
        f"**{reply['purchase_probability']:.1%}**. Model {reply['model_version']}."
    )


def _every_month(history: pd.DataFrame, day: pd.Timestamp, months: int = 24) -> pd.DataFrame:
    """Monthly spend from the first purchase (at most `months` back) to the as-of month,
    months without a purchase as zeros: the chart reaches the as-of date, not the last
    purchase."""
    end = (day - pd.Timedelta(days=1)).to_period("M")
    first = pd.Timestamp(history["month"].min()).to_period("M") if len(history) else end
    start = max(first, end - (months - 1))
    periods = pd.period_range(start, end, freq="M")
    spend = history.groupby(pd.to_datetime(history["month"]).dt.to_period("M"))["spend"].sum()
    spend = spend.reindex(periods, fill_value=0.0)
    return pd.DataFrame({"month": periods.to_timestamp(), "spend": spend.to_numpy()})


def show_lookup(reply: dict, explanation: dict):
    cid, as_of = reply["customer_id"], reply["as_of"]
    day = pd.Timestamp(as_of)
    history = _every_month(SOURCE.monthly_spend(cid, day), day)
    total, (low, high) = reply["predicted_30d_spend"]["total"], reply["interval_80"]["total"]
    fig = plots.forecast_plot(
        history, (total, low, high), title=f"{cid}: net spend per month", currency=CURRENCY
    )
    values = explanation["feature_values"]
    rows = []
    for target in ("total", "purchase"):
        contributions = explanation["targets"][target]["contributions"]
        for feature, c in list(contributions.items())[:6]:
            if c:
                rows.append(
                    [
                        target,
                        catalogue.feature_label(feature),
                        _value_text(feature, values.get(feature)),
                        "raises" if c > 0 else "lowers",
                        f"{c:+.3f}",
                    ]
                )
    scores = SCORER.lookup(cid, as_of)
    reasons = [v for c, v in scores.items() if c.startswith("reason_") and isinstance(v, str) and v]
    headline = _headline(reply)
    if reasons:
        headline += "\n\nWhy: " + "; ".join(reasons) + "."
    notes = {e["note"] for e in explanation["targets"].values() if e["note"]}
    if notes:
        headline += "\n\n*Note: " + " ".join(sorted(notes)) + ".*"
    return headline, _prediction_table(reply), fig, pd.DataFrame(rows, columns=DRIVER_COLUMNS)


DRIVER_COLUMNS = ["prediction", "feature", "customer's value", "effect", "contribution"]


def _value_text(feature: str, value: float | None) -> str:
    """A feature's value in its unit (days, money, %...), as the reason codes print it."""
    if value is None or pd.isna(value):
        return "none"
    unit = catalogue.feature_info(feature).unit
    decimals = 2 if unit in ("money", "money_change") else catalogue.UNITS[unit].decimals
    return str(catalogue.format_values(pd.Series([value]).to_numpy(), unit, decimals)[0])


def _whatif_order() -> list[str]:
    """Features by group (:data:`clvmodel.catalogue.GROUPS`), then by importance for total
    spend within a group, so that related values sit together."""
    importance = list(METRICS.targets["total"].importance)
    rank = {f: i for i, f in enumerate(importance)}
    groups = [g for g, _ in catalogue.GROUPS] + ["Other"]
    return sorted(
        MODEL.feature_names_,
        key=lambda f: (groups.index(catalogue.feature_group(f)), rank.get(f, len(rank))),
    )


WHATIF_ORDER = _whatif_order()
WHATIF_COLUMNS = ["group", "feature", "value", "starting value", "changed", "name"]


def _feature_table(values: pd.Series, start: pd.Series | None = None) -> pd.DataFrame:
    """The what-if table: each feature's value (editable) beside the starting value, with
    edited rows marked. `start` defaults to `values` (a table just loaded)."""
    values = values.reindex(WHATIF_ORDER).astype("float64").round(2)
    start = values if start is None else start.reindex(WHATIF_ORDER).astype("float64").round(2)
    same = (values == start) | (values.isna() & start.isna())
    return pd.DataFrame(
        {
            "group": [catalogue.feature_group(f) for f in WHATIF_ORDER],
            "feature": [catalogue.feature_label(f) for f in WHATIF_ORDER],
            "value": values.to_numpy(),
            "starting value": start.to_numpy(),
            "changed": np.where(same.to_numpy(), "", "✎ edited"),
            "name": WHATIF_ORDER,
        }
    )


def _typical_reply() -> dict:
    typical = MODEL.typical_.reindex(MODEL.feature_names_).to_frame().T
    return _reply(MODEL.predict_features(typical).iloc[0], customer_id=None, as_of=None)


TYPICAL_REPLY = _typical_reply()


def _exact(values: pd.Series) -> dict:
    """The starting values at full precision: the table shows them rounded, and a value
    the user did not edit is sent as it was, so that an unedited table predicts exactly
    the starting point."""
    return {f: _number(v, 12) for f, v in values.reindex(WHATIF_ORDER).items()}


def load_typical():
    """The what-if table at typical values, and their prediction as the starting point."""
    typical = MODEL.typical_
    return _feature_table(typical), TYPICAL_REPLY, _exact(typical), *_WHATIF_CLEARED


def check_customer(customer_id: str) -> str:
    """Refuse an ID the what-if tab cannot load, before the table is touched: an error in
    a handler that outputs the table would replace the table with an error box."""
    cid = _check_id(customer_id)
    if SCORER.customer_features(cid).empty:
        raise _id_problem(cid, "no purchase history" if _known(cid) else "unknown", DEFAULT_AS_OF)
    return cid


def _refuse_unloadable(customer_id: str) -> None:
    check_customer(customer_id)


def load_customer(customer_id: str):
    """The what-if table at a customer's current features, and their prediction."""
    cid = check_customer(customer_id)
    start = _reply(SCORER.lookup(cid), customer_id=cid, as_of=f"{DEFAULT_AS_OF:%Y-%m-%d}")
    values = SCORER.customer_features(cid).iloc[0]
    return _feature_table(values), start, _exact(values), *_WHATIF_CLEARED


def table_to_features(table: pd.DataFrame, exact: dict | None = None) -> dict:
    """The edited what-if table as the JSON object /predict_features takes (by the
    features' names, which the table's last column holds). A value left as shown is sent
    at its full precision from `exact` (see :func:`_exact`)."""
    out = {}
    rows = zip(table["name"], table["value"], table["starting value"], strict=True)
    for feature, value, start in rows:
        if feature is None or not str(feature).strip():
            continue
        name = str(feature).strip()
        if value is None or (isinstance(value, float) and pd.isna(value)):
            value = None
        unedited = _same_value(value, start)
        if exact is not None and name in exact and unedited:
            out[name] = exact[name]
        else:
            out[name] = value if value is None or isinstance(value, str) else float(value)
    return out


def _same_value(value: object, start: object) -> bool:
    a, b = pd.to_numeric(pd.Series([value, start]), errors="coerce")
    return bool((pd.isna(a) and pd.isna(b)) or a == b)


def show_whatif(reply: dict, start: dict | None, table: pd.DataFrame):
    """The headline, each prediction beside the starting point with its change, and the
    table with the edited values marked."""
    names = table["name"].tolist()
    values = pd.Series(pd.to_numeric(table["value"], errors="coerce").to_numpy(), index=names)
    before = pd.Series(
        pd.to_numeric(table["starting value"], errors="coerce").to_numpy(), index=names
    )
    edited = _feature_table(values, before)
    n = int((edited["changed"] != "").sum())
    headline = _headline(reply) + (
        f"\n\n{n} value{'s' if n != 1 else ''} changed from the starting point (marked ✎ in "
        "the table)."
        if n
        else "\n\nNo value changed from the starting point."
    )
    return headline, _prediction_table(reply, start), edited


_WHATIF_CLEARED = ("", None)  # headline and prediction table, when another start is loaded


def preview_results(csv_path: str | None, summary: dict | None):
    if not csv_path or not summary:
        return "", EMPTY_PREVIEW
    preview = pd.read_csv(csv_path, nrows=50, dtype=str, keep_default_na=False)
    first = [c for c in (batch.ID_COLUMN, "error") if c in preview.columns]
    preview = preview[[*first, *[c for c in preview.columns if c not in first]]]
    for c in preview.columns:  # numbers as a person reads them; the files keep raw values
        if c.startswith("predicted_"):
            preview[c] = pd.to_numeric(preview[c], errors="coerce").map(_money_text)
        elif c == PROBABILITY:
            preview[c] = pd.to_numeric(preview[c], errors="coerce").map(_share_text)
    text = (
        f"**{summary['scored']:,} of {summary['rows']:,} rows scored**, "
        f"{summary['rejected']:,} rejected (see the `error` column). Mode: {summary['mode']}"
        + (f", as of {summary['as_of']}" if summary.get("as_of") else "")
        + (
            f". Filled with typical values: {', '.join(summary['filled_features'])}"
            if summary.get("filled_features")
            else ""
        )
        + ". First 50 rows:"
    )
    return text, preview


def model_views(target: str):
    report = METRICS.targets[target]
    importance = plots.importance_plot(report.importance, title=f"{target}: feature importance")
    if report.kind == "spend":
        quality = plots.decile_plot(
            pd.DataFrame(report.deciles),
            title=f"{target}: mean spend by decile (test)",
            currency=CURRENCY,
        )
    else:
        quality = plots.reliability_plot(
            pd.DataFrame(report.reliability), title="Purchase probability: calibration (test)"
        )
    return importance, quality, comparison_table(target)


def comparison_table(target: str) -> pd.DataFrame:
    report = METRICS.targets[target]
    baselines = {"zero", "last_30d", "rate_x_horizon", "train_mean", "train_rate"}
    rows = []
    for model, metrics in report.test.items():
        role = (
            "served"
            if model == report.deployed
            else "chosen"
            if model == report.chosen
            else "oracle"
            if model.startswith("oracle")
            else "baseline"
            if model in baselines
            else "candidate"
        )
        shown = {k: _metric_text(v) for k, v in metrics.items()}
        rows.append({"model": model, "role": role, **shown})
    order = {"baseline": 0, "candidate": 1, "chosen": 2, "served": 3, "oracle": 4}
    return pd.DataFrame(rows).sort_values("role", key=lambda r: r.map(order), kind="stable")


def _about_markdown() -> str:
    data = META.get("data", {})
    cutoffs = META.get("cutoffs", {})
    train = cutoffs.get("train", [])
    return (
        f"**Model {VERSION}**, trained {META.get('trained_at', '?')}. It predicts each "
        f"customer's net spend over the next {META.get('horizon_days', 30)} days, in total and "
        f"for the categories {', '.join(MODEL.categories)}, each with an 80% prediction "
        "interval, and the probability of buying at all.\n\n"
        f"**Training**: {len(train)} monthly cutoffs from {train[0] if train else '?'} to "
        f"{train[-1] if train else '?'}; model chosen on the {cutoffs.get('validation', '?')} "
        f"cutoff, scored below on the {cutoffs.get('test', '?')} cutoff, never seen in "
        "training. Each target's model is the best of several against simple baselines; the "
        "oracle knows each synthetic customer's true buying rates and is the ceiling.\n\n"
        f"**Data**: {data.get('n_customers', '?'):,} customers, "
        f"{data.get('n_transactions', '?'):,} transactions from {data.get('first_date', '?')} "
        f"to {data.get('last_date', '?')}"
        f"{' (synthetic)' if data.get('synthetic') else ''}; fingerprint "
        f"`{data.get('fingerprint', '?')}`. Predictions are made as of "
        f"{DEFAULT_AS_OF:%Y-%m-%d} unless you choose an earlier date.\n\n"
        f"{len(MODEL.feature_names_)} features, built from history strictly before the "
        "as-of date. Amounts are in " + CURRENCY + "."
    )


# ---------------------------------------------------------------- layout
def _empty(columns: list[str]) -> pd.DataFrame:
    """A table with headers and no rows: what an output shows before (or after a failed)
    request, instead of Gradio's placeholder headers 1, 2, 3."""
    return pd.DataFrame(columns=columns)


FORECAST_COLUMNS = ["group", "target", f"expected ({CURRENCY})", "80% low", "80% high"]
EMPTY_FORECAST = _empty(FORECAST_COLUMNS)
EMPTY_LIST = _empty(["rank", "customer_id", "expected_total", PROBABILITY, "reason"])
EMPTY_PREDICTION = _empty(PREDICTION_COLUMNS)
EMPTY_DRIVERS = _empty(DRIVER_COLUMNS)
EMPTY_WHATIF = _empty(PREDICTION_COLUMNS + _CHANGE_COLUMNS)
EMPTY_PREVIEW = _empty([batch.ID_COLUMN, "error", "predicted_total", PROBABILITY])


def _filter_inputs():
    """The profile filter and the as-of date, as the Forecast and Customer lists tabs ask
    for them (custom values reach the handler, which names what is wrong)."""
    column = gr.Dropdown(
        choices=[_NONE, *BREAKDOWNS],
        value=_NONE,
        label="Only customers with",
        allow_custom_value=True,
        scale=1,
    )
    value = gr.Textbox(label="equal to", placeholder="premium", scale=1)
    as_of = gr.Textbox(label="As of (optional)", placeholder=f"{DEFAULT_AS_OF:%Y-%m-%d}", scale=1)
    return column, value, as_of


with gr.Blocks(title="clvmodel: 30-day customer spend", delete_cache=(3600, 3600)) as demo:
    gr.Markdown(
        "# 30-day customer spend\n"
        f"Predicted spend of each retail customer over the next 30 days, in total and per "
        f"category ({', '.join(MODEL.categories)}), with an 80% interval, and the "
        "probability that they buy at all. Every action here is also an API endpoint: see "
        "*Use via API* at the bottom of the page."
    )
    with gr.Tab("Forecast"):
        gr.Markdown(
            "Next 30 days' net revenue of the whole customer base, or of a part of it, in "
            "total and per category, with the 80% interval **of the sum** (customers' own "
            "ranges partly cancel out; a month that is weak or strong for everyone does not)."
        )
        with gr.Row():
            forecast_by = gr.Dropdown(
                choices=[_NONE, *BREAKDOWNS], value=BREAKDOWNS[0] if BREAKDOWNS else _NONE,
                label="Break down by", allow_custom_value=True, scale=1,
            )  # fmt: skip
            forecast_filter_column, forecast_filter_value, forecast_as_of = _filter_inputs()
            forecast_button = gr.Button("Forecast", variant="primary", scale=1)
        forecast_headline = gr.Markdown()
        with gr.Row():
            forecast_table = gr.Dataframe(
                value=EMPTY_FORECAST,
                label=f"Next 30 days ({CURRENCY})",
                interactive=False,
                max_height=420,
                scale=3,
            )
            forecast_chart = gr.Plot(
                label="Monthly revenue and the forecast", show_label=False, scale=2
            )
        forecast_categories = gr.Plot(label="Per category", show_label=False)
        with gr.Row():
            forecast_csv = gr.File(
                label="Forecast (CSV)", height=90, interactive=False, elem_id="forecast-csv"
            )
            forecast_xlsx = gr.File(
                label="Forecast (Excel)", height=90, interactive=False, elem_id="forecast-xlsx"
            )
        with gr.Accordion("Raw reply (JSON)", open=False):
            forecast_reply = gr.JSON(label="/forecast")

    with gr.Tab("Customer lists"):
        gr.Markdown(
            "Ranked lists to act on: " + "; ".join(
                f"**{k}**: {v}" for k, v in lists.LIST_KINDS.items()) + "."
        )  # fmt: skip
        with gr.Row():
            list_kind = gr.Radio(choices=list(lists.LIST_KINDS), value="top", label="List", scale=2)
            list_target = gr.Dropdown(
                choices=SPEND_TARGETS,
                value="total",
                label="Spend on",
                allow_custom_value=True,
                scale=1,
            )
            list_n = gr.Number(value=100, precision=0, minimum=1, label="How many", scale=1)
        with gr.Row():
            list_filter_column, list_filter_value, list_as_of = _filter_inputs()
            list_button = gr.Button("Make the list", variant="primary", scale=1)
        list_headline = gr.Markdown()
        list_table = gr.Dataframe(
            value=EMPTY_LIST, label="Customers", interactive=False, max_height=480
        )
        with gr.Row():
            list_csv = gr.File(label="List (CSV)", height=90, interactive=False, elem_id="list-csv")
            list_xlsx = gr.File(
                label="List (Excel)", height=90, interactive=False, elem_id="list-xlsx"
            )
        with gr.Accordion("Raw reply (JSON)", open=False):
            list_reply = gr.JSON(label="/customer_list")

    with gr.Tab("Customer lookup"):
        with gr.Row():
            lookup_id = gr.Textbox(label="Customer ID", placeholder=EXAMPLE_IDS[0], scale=2)
            lookup_as_of = gr.Textbox(
                label="As of (optional)", placeholder=f"{DEFAULT_AS_OF:%Y-%m-%d}", scale=1
            )
            lookup_button = gr.Button("Predict", variant="primary", scale=1)
        gr.Examples(examples=[[i] for i in EXAMPLE_IDS], inputs=[lookup_id], label="Examples")
        lookup_headline = gr.Markdown()
        with gr.Row():
            lookup_table = gr.Dataframe(
                value=EMPTY_PREDICTION,
                label=f"Next 30 days ({CURRENCY})",
                interactive=False,
                elem_id="lookup-table",
            )
            lookup_history = gr.Plot(label="Monthly spend so far", show_label=False)
        lookup_drivers = gr.Dataframe(
            value=EMPTY_DRIVERS,
            label=(
                "What pushes this prediction up or down: largest contributions, on the "
                f"model's raw scale ({_scale('total')} for total, log-odds for purchase)"
            ),
            interactive=False,
        )
        gr.Markdown(
            "An 80% interval of [0, 0] with a positive expected spend means the customer most "
            "likely buys nothing in the next 30 days, but might."
        )
        with gr.Accordion("Raw replies (JSON)", open=False):
            lookup_reply = gr.JSON(label="/predict_customer")
            lookup_explanation = gr.JSON(label="/explain_customer")

    with gr.Tab("What-if"):
        gr.Markdown(
            "Start from a customer's features or from typical values, edit the **value** "
            "column, and predict: each prediction is shown beside the starting point with "
            "its change, and edited values are marked ✎. Features are grouped (recency, "
            "spend, baskets, categories, habits, profile, calendar), the most important "
            "first in each group. Values must be possible: counts and durations are not "
            "negative, shares lie between 0 and 1, the last purchase is not before the "
            "first, and a shorter window never holds more than a longer one (spend may "
            "exceed it by what was returned)."
        )
        with gr.Row():
            whatif_id = gr.Textbox(label="Start from customer", placeholder=EXAMPLE_IDS[0], scale=2)
            whatif_load = gr.Button("Load customer", scale=1)
            whatif_typical = gr.Button("Load typical values", scale=1)
        whatif_table = gr.Dataframe(
            value=load_typical()[0],
            datatype=["str", "str", "number", "number", "str", "str"],
            static_columns=[0, 1, 3, 4, 5],
            interactive=True,
            max_height=720,
            label="Features (edit the value column)",
        )
        whatif_button = gr.Button("Predict with these values", variant="primary")
        whatif_headline = gr.Markdown()
        whatif_result = gr.Dataframe(
            value=EMPTY_WHATIF, label=f"Next 30 days ({CURRENCY})", interactive=False
        )
        whatif_previous = gr.State(TYPICAL_REPLY)
        whatif_exact = gr.State(_exact(MODEL.typical_))
        with gr.Accordion("Request and reply (JSON)", open=False):
            whatif_features = gr.JSON(label="Features sent to /predict_features")
            whatif_reply = gr.JSON(label="/predict_features")

    with gr.Tab("Batch scoring"):
        gr.Markdown(
            "Upload a CSV or Excel (.xlsx) file of up to 50 MB with either a **customer_id** "
            "column (customers scored from their history) or **feature columns** (each row "
            "scored as given; missing features take typical values). Bad rows are reported "
            "in an `error` column and the others are scored."
        )
        with gr.Row():
            template_kind = gr.Radio(
                choices=list(TEMPLATES), value="customer_id", label="Template", scale=2
            )
            template_button = gr.Button("Get template", scale=1)
            template_file = gr.File(
                label="Template", scale=2, height=90, interactive=False, elem_id="template-file"
            )
        with gr.Row():
            batch_file = gr.File(
                label="File to score",
                file_types=[".csv", ".xlsx", ".xls", ".txt", ".tsv"],
                type="filepath",
                scale=2,
                elem_id="batch-upload",
            )
            batch_as_of = gr.Textbox(
                label="As of (customer_id files, optional)",
                placeholder=f"{DEFAULT_AS_OF:%Y-%m-%d}",
                scale=1,
            )
        batch_button = gr.Button("Score file", variant="primary")
        with gr.Row():
            batch_csv = gr.File(
                label="Results (CSV)", height=90, interactive=False, elem_id="results-csv"
            )
            batch_xlsx = gr.File(
                label="Results (Excel)", height=90, interactive=False, elem_id="results-xlsx"
            )
        batch_headline = gr.Markdown()
        batch_preview = gr.Dataframe(
            value=EMPTY_PREVIEW, label="Preview", interactive=False, max_height=400
        )
        with gr.Accordion("Summary (JSON)", open=False):
            batch_summary = gr.JSON(label="Summary")

    with gr.Tab("Explanations & model"):
        gr.Markdown(_about_markdown())
        target_choice = gr.Dropdown(
            choices=MODEL.feature_config_.targets, value="total", label="Target"
        )
        _importance, _quality, _comparison = model_views("total")
        gr.Markdown(
            "For a spend target the right-hand chart compares mean predicted and actual "
            "spend by decile; for **purchase** it is the calibration of the probability."
        )
        with gr.Row():
            importance_plot = gr.Plot(value=_importance, show_label=False)
            quality_plot = gr.Plot(value=_quality, show_label=False)
        comparison = gr.Dataframe(
            value=_comparison,
            label="Every model against the baselines and the oracle (test cutoff)",
            interactive=False,
        )
        gr.Markdown(
            "### Model card\nThe model card describes the intended use, data, metrics and "
            "limits of the model."
            + (
                f" Read it [on the Hub]({os.environ['CLV_MODEL_CARD_URL']})."
                if os.environ.get("CLV_MODEL_CARD_URL")
                else " Download it here:"
            )
        )
        if MODEL_CARD.is_file():
            gr.File(value=str(MODEL_CARD), label="model_card.md", elem_id="model-card")
        info_button = gr.Button("Model info and health check")
        info_json = gr.JSON(label="/model_info")

    # ------------------------------------------------------------ events
    forecast_event = gr.on(
        [forecast_button.click, demo.load],
        forecast,
        [forecast_by, forecast_filter_column, forecast_filter_value, forecast_as_of],
        forecast_reply,
        api_name="forecast",
    )
    forecast_outputs = [
        forecast_headline, forecast_table, forecast_chart, forecast_categories, forecast_csv,
        forecast_xlsx,
    ]  # fmt: skip
    forecast_event.failure(
        _stale(EMPTY_FORECAST, None, None, None, None),
        None,
        forecast_outputs,
        api_visibility="private",
    )
    forecast_event.success(
        show_forecast,
        [forecast_reply, forecast_filter_column, forecast_filter_value],
        forecast_outputs,
        api_visibility="private",
    )
    list_kind.change(
        _target_for_kind, [list_kind, list_target], list_target, api_visibility="private"
    )
    list_event = list_button.click(
        customer_list,
        [list_kind, list_n, list_target, list_filter_column, list_filter_value, list_as_of],
        list_reply,
        api_name="customer_list",
    )
    list_event.failure(
        _stale(EMPTY_LIST, None, None),
        None,
        [list_headline, list_table, list_csv, list_xlsx],
        api_visibility="private",
    )
    list_event.success(
        show_list,
        list_reply,
        [list_headline, list_table, list_csv, list_xlsx],
        api_visibility="private",
    )
    lookup_busy = [lookup_table, lookup_history, lookup_drivers]  # the reply's JSON is folded
    lookup_event = gr.on(
        [lookup_button.click, lookup_id.submit],
        predict_customer,
        [lookup_id, lookup_as_of],
        lookup_reply,
        api_name="predict_customer",
        show_progress_on=lookup_busy,
    )
    lookup_event.failure(
        _stale(EMPTY_PREDICTION, None, EMPTY_DRIVERS),
        None,
        [lookup_headline, lookup_table, lookup_history, lookup_drivers],
        api_visibility="private",
    )
    lookup_event.success(
        explain_customer,
        [lookup_id, lookup_as_of],
        lookup_explanation,
        api_name="explain_customer",
        show_progress_on=lookup_busy,
    ).success(
        show_lookup,
        [lookup_reply, lookup_explanation],
        [lookup_headline, lookup_table, lookup_history, lookup_drivers],
        api_visibility="private",
    )

    whatif_load.click(_refuse_unloadable, whatif_id, None, api_visibility="private").success(
        load_customer,
        whatif_id,
        [whatif_table, whatif_previous, whatif_exact, whatif_headline, whatif_result],
        api_visibility="private",
    )
    whatif_typical.click(
        load_typical,
        None,
        [whatif_table, whatif_previous, whatif_exact, whatif_headline, whatif_result],
        api_visibility="private",
    )
    whatif_event = whatif_button.click(
        table_to_features, [whatif_table, whatif_exact], whatif_features, api_visibility="private"
    )
    whatif_event.failure(
        _stale(EMPTY_WHATIF), None, [whatif_headline, whatif_result], api_visibility="private"
    )
    whatif_predict = whatif_event.success(
        predict_features, whatif_features, whatif_reply, api_name="predict_features"
    )
    whatif_predict.failure(
        _stale(EMPTY_WHATIF), None, [whatif_headline, whatif_result], api_visibility="private"
    )
    whatif_predict.success(
        show_whatif,
        [whatif_reply, whatif_previous, whatif_table],
        [whatif_headline, whatif_result, whatif_table],
        api_visibility="private",
    )

    template_button.click(batch_template, template_kind, template_file, api_name="batch_template")
    batch_event = batch_button.click(
        predict_batch,
        [batch_file, batch_as_of],
        [batch_csv, batch_xlsx, batch_summary],
        api_name="predict_batch",
        concurrency_id="batch",
        concurrency_limit=1,
    )
    batch_event.failure(
        _stale(EMPTY_PREVIEW, None, None),
        None,
        [batch_headline, batch_preview, batch_csv, batch_xlsx],
        api_visibility="private",
    )
    batch_event.success(
        preview_results,
        [batch_csv, batch_summary],
        [batch_headline, batch_preview],
        api_visibility="private",
    )

    target_choice.change(
        model_views,
        target_choice,
        [importance_plot, quality_plot, comparison],
        api_visibility="private",
    )
    gr.on([demo.load, info_button.click], model_info, None, info_json, api_name="model_info")

# Lookups, explanations and templates run up to 4 at a time each; a batch runs alone in
# its own queue ("batch"), so a large upload never holds up single lookups.
demo.queue(default_concurrency_limit=4, max_size=100)


def _auth_from_env() -> tuple[str, str] | None:
    """CLV_AUTH="user:password" turns on the login page; unset or empty leaves it off."""
    value = os.environ.get("CLV_AUTH", "")
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise SystemExit('CLV_AUTH must look like "user:password" (both non-empty).')
    return user, password


_scoring.result()  # every customer scored before the first request
_LOADER.shutdown()

if __name__ == "__main__":
    demo.launch(auth=_auth_from_env(), max_file_size=batch.MAX_UPLOAD_BYTES)
