"""The Your data tab: upload a log, see what it holds, train on it, and be served it.

``/inspect_log`` (a file and an optional column mapping -> the overview as JSON) and
``/train_log`` (file, mapping, currency -> what was trained, its test figures, seconds).
After ``/train_log`` every endpoint answers the calling session (browser tab or
``gradio_client.Client``) from its own log and model; other sessions still see the demo
(:mod:`clvapp.sessions`). One training runs at a time (the queue shows the position).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import weakref
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import pandas as pd

from clvapp.errors import reported
from clvapp.format import STALE
from clvapp.sessions import Sessions
from clvapp.state import AppState, state_for
from clvmodel import log_training
from clvmodel.model import CLVModel
from clvmodel.overview import describe_log, overview_from_json, overview_json
from clvmodel.overview_plots import overview_figure
from clvmodel.source import MemorySource
from clvmodel.transactions import REQUIRED, parse_mapping

MAPPING_HEADERS = ["Log column", "Column in your file"]
#: The overview of each state's data, once (a state's data never changes).
_SERVED_OVERVIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Training runs on one thread here, so that other sessions keep a core for their lookups.
_TRAINER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clvapp-train")


def parse_mapping_text(text: str | None) -> dict[str, str] | None:
    """A column mapping typed or sent: a JSON object ``{"your column": "log column"}`` or
    pairs ``your column=log column`` separated by commas or new lines; empty: none."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the column mapping is not valid JSON: {exc}") from exc
        if not isinstance(mapping, dict):
            raise ValueError('the column mapping must look like {"your column": "log column"}.')
        return {str(k): str(v) for k, v in mapping.items()}
    pairs = [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]
    return parse_mapping(pairs)


def _path(file: str | None) -> Path:
    if not file:
        raise gr.Error("Upload a transaction log first (CSV, gzip CSV, Excel or Parquet).")
    return Path(file)


def _name(file: str) -> str:
    """The name the person gave the file (Gradio keeps it as the last part of the path)."""
    return Path(file).name


@reported
def inspect_log(file: str | None, mapping: str = "") -> dict:
    """What a transaction log holds, read as training would read it.

    Args:
        file: the log (CSV, gzip CSV, Excel .xlsx or Parquet), at most 200 MB.
        mapping: optional, which column is which: '{"Kunde": "customer_id"}' or
            'Kunde=customer_id, Datum=transaction_date'; empty: recognised by name.

    Returns:
        file, columns (log column -> the file's column), counts (rows, lines, anonymous,
        customers, returns, ...), first_date, last_date, monthly_revenue,
        purchases_per_customer, category_shares and warnings.
    """
    path, columns = _path(file), parse_mapping_text(mapping)
    roles = log_training.column_roles(path, columns)
    _, overview = log_training.inspect_log(path, columns)
    return {"file": _name(path), "columns": roles, **overview_json(overview)}


def detect_columns(file: str | None) -> pd.DataFrame:
    """The mapping table as detected: every log column the file provides, and the
    required ones it lacks (empty, for the person to fill)."""
    if not file:
        return pd.DataFrame(columns=MAPPING_HEADERS)
    try:
        roles = log_training.column_roles(file)
    except ValueError:
        roles = {}
    rows = [*roles.items(), *((c, "") for c in REQUIRED if c not in roles)]
    return pd.DataFrame(rows, columns=MAPPING_HEADERS)


def table_to_mapping(table: pd.DataFrame | None) -> str:
    """The edited table as the mapping text the endpoints take (filled rows only)."""
    if table is None or len(table) == 0:
        return ""
    rows = table.astype(str).apply(lambda c: c.str.strip())
    rows = rows[(rows.iloc[:, 1] != "") & (rows.iloc[:, 1] != "nan")]
    return json.dumps(dict(zip(rows.iloc[:, 1], rows.iloc[:, 0], strict=True)))


def overview_text(reply: dict, title: str) -> str:
    """The overview's counts and warnings, as a person reads them."""
    c = reply["counts"]
    lines = [
        f"### {title}",
        f"{c['rows']:,} rows: {c['lines']:,} lines of {c['customers']:,} customers in "
        f"{c['transactions']:,} purchases, {c['anonymous']:,} lines without a customer "
        f"(guests, left out), {c['rejected']:,} unreadable. From {reply['first_date']} to "
        f"{reply['last_date']} ({c['days']:,} days). {c['return_lines']:,} return lines.",
    ]
    if reply.get("columns"):
        lines.append("Columns read: " + ", ".join(
            f"{log} ← `{source}`" for log, source in reply["columns"].items()) + ".")  # fmt: skip
    if reply["warnings"]:
        lines += ["", "**Look at before training:**", *[f"- {w}" for w in reply["warnings"]]]
    return "\n".join(lines)


def show_overview(reply: dict, currency: str = ""):
    """The overview's text and its figure."""
    figure = overview_figure(overview_from_json(reply), currency=currency)
    return overview_text(reply, f"Your log: {reply.get('file', '')}"), figure


def served_overview(state: AppState):
    """The same overview of the data the session is served now (the demo's, by default):
    made once per state (every page load shows it), not per request."""
    if state not in _SERVED_OVERVIEWS:
        data = getattr(state.source, "data", None)
        if data is None:  # a partitioned base is not held in memory
            return "The served data is partitioned: no overview.", None
        overview = describe_log(data)
        _SERVED_OVERVIEWS[state] = (overview_text(overview_json(overview), "The data served now"),
                                    overview_figure(overview, currency=state.currency))  # fmt: skip
    return _SERVED_OVERVIEWS[state]


def banner(sessions: Sessions, request: gr.Request | None = None) -> str:
    """Which data this session is served, in one line."""
    label = sessions.label(request)
    if label is None:
        return (f"**Serving {sessions.demo_label}.** Upload your own log in the *Your data* "
                "tab: only this browser session will see it.")  # fmt: skip
    return (f"**Serving your data: {label}.** Only this session sees it; it is deleted when you "
            "leave, go back to the demo, or after an hour without use.")  # fmt: skip


def _bundle(trained: log_training.TrainedLog, folder: Path) -> list[str]:
    """The downloads: a zip of the artifacts and the model card, and the scores file."""
    pub = trained.publication
    archive = folder / "model.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(pub.artifacts.rglob("*")):
            if path.is_file():
                z.write(path, Path("artifacts") / path.relative_to(pub.artifacts))
        z.write(pub.card, "model_card.md")
    scores = folder / "scores.parquet"
    shutil.copy(pub.scores, scores)
    return [str(archive), str(scores)]


def default_model() -> CLVModel:
    """The model an upload trains: the defaults on one thread (the other core keeps
    answering other sessions); ``CLV_TRAIN_QUICK=1`` trains quickly (tests, small Spaces)."""
    if os.environ.get("CLV_TRAIN_QUICK") == "1":
        return CLVModel(n_jobs=1, quick=True, n_cutoffs=4, cold_start=False)
    return CLVModel(n_jobs=1)


def make_train_log(sessions: Sessions, model_factory=None):
    """The ``/train_log`` handler, serving what it trains to the calling session."""
    make_model = model_factory or default_model

    @reported
    def train_log(
        file: str | None, mapping: str = "", currency: str = "",
        progress=gr.Progress(),  # noqa: B008
        request: gr.Request = None,
    ) -> dict:  # fmt: skip
        """Train a model on a transaction log and serve it to this session from now on.

        Args:
            file: the log (CSV, gzip CSV, Excel .xlsx or Parquet), at most 200 MB.
            mapping: optional column mapping, as for /inspect_log.
            currency: optional name of the log's currency (e.g. "GBP"); empty names none.

        Returns:
            rows, rows_refused, anonymous_rows, customers, categories, as_of, targets
            (per target: the model served and its test figures), seconds, and downloads
            (the model zip and the scores file).
        """
        path, columns = _path(file), parse_mapping_text(mapping)
        started = time.monotonic()
        progress(0.02, desc=f"Reading {_name(path)}")
        source, _ = log_training.inspect_log(path, columns)
        work = Path(tempfile.mkdtemp(prefix="clvapp_session_"))
        try:
            estimate = log_training.estimate_seconds(len(source.data.lines),
                                                     len(source.data.customers))  # fmt: skip
            job = _TRAINER.submit(
                log_training.train_log, source, work / "run",
                currency=(currency or "").strip(), model=make_model(),
            )  # fmt: skip
            while not job.done():
                spent = time.monotonic() - started
                left = max(estimate - spent, 1.0)
                progress(min(0.05 + 0.9 * spent / (spent + left), 0.95),
                         desc=f"Training: about {left:,.0f} s left")  # fmt: skip
                time.sleep(0.5)
            trained = job.result()
            progress(0.97, desc="Scoring every customer")
            artifacts = trained.publication.artifacts
            model = CLVModel.load(artifacts)  # served as the app serves any artifacts
            memory = MemorySource(trained.source.data, artifacts)
            scorer = memory.serve(model)
            memory.warm(artifacts)
            state = state_for(model, memory, scorer, work)
            downloads = _bundle(trained, work)
        except Exception:
            shutil.rmtree(work, ignore_errors=True)
            raise
        sessions.set(request, state, f"{_name(path)} ({len(source.data.customers):,} customers)")
        return {**trained.summary, "seconds": round(time.monotonic() - started, 1),
                "downloads": [Path(d).name for d in downloads]}  # fmt: skip

    return train_log


def downloads_of(state: AppState) -> list[str] | None:
    files = [state.work_dir / "model.zip", state.work_dir / "scores.parquet"]
    return [str(f) for f in files if f.is_file()] or None


def summary_text(reply: dict) -> str:
    """What was trained, in words."""
    t = reply["targets"]
    total, buy = t.get("total", {}), t.get("purchase", {})
    parts = [f"**Trained in {reply['seconds']:,.0f} s** on {reply['customers']:,} customers"]
    if reply["categories"]:
        parts.append(f"categories: {', '.join(c.replace('_', ' ') for c in reply['categories'])}")
    lines = ["; ".join(parts) + "."]
    if "r2" in total:
        lines.append(f"On its test month: total spend R² {total['r2']:.3f}, Gini "
                     f"{total.get('gini', float('nan')):.3f}, predicted / actual total "
                     f"{total.get('sum_ratio', float('nan')):.3f}; chance of buying AUC "
                     f"{buy.get('auc', float('nan')):.3f}.")  # fmt: skip
    lines.append("Every tab now answers from your data, in this browser session only.")
    return "\n\n".join(lines)


def build(sessions: Sessions, demo: gr.Blocks, top: gr.Markdown) -> None:
    """The tab, and the banner `top` kept up to date for each session."""
    with gr.Tab("Your data"):
        gr.Markdown(
            "Upload a transaction log: one row per purchase or invoice line with at least a "
            "customer, a date (YYYY-MM-DD) and an amount. Check the columns, look at the "
            "overview, then train: every tab then answers from your data, in this browser "
            "session only."
        )
        with gr.Row():
            log_file = gr.File(label="Transaction log (CSV, gzip CSV, Excel, Parquet)",
                               type="filepath", elem_id="yourdata-file")  # fmt: skip
            with gr.Column():
                mapping = gr.Dataframe(
                    value=pd.DataFrame(columns=MAPPING_HEADERS), headers=MAPPING_HEADERS,
                    label="Columns as detected (edit the file's column names to change)",
                    interactive=True, column_count=(2, "fixed"), elem_id="yourdata-mapping",
                )  # fmt: skip
                currency = gr.Textbox(label="Currency (optional)", placeholder="e.g. GBP")
        mapping_text = gr.Textbox(visible=False)
        with gr.Row():
            inspect_button = gr.Button("Look at the log")
            train_button = gr.Button("Train on it", variant="primary")
            back_button = gr.Button("Back to the demo data")
        status = gr.Markdown(elem_id="yourdata-status")
        overview = gr.Markdown()
        chart = gr.Plot(show_label=False)
        downloads = gr.File(label="Download: the model (zip) and every customer's scores",
                            file_count="multiple", interactive=False)  # fmt: skip
        with gr.Accordion("Raw replies (JSON)", open=False):
            inspected = gr.JSON(label="/inspect_log")
            trained = gr.JSON(label="/train_log")
    components = {"log_file": log_file, "mapping": mapping, "currency": currency,
                  "mapping_text": mapping_text, "inspect_button": inspect_button,
                  "train_button": train_button, "back_button": back_button, "status": status,
                  "overview": overview, "chart": chart, "downloads": downloads,
                  "inspected": inspected, "trained": trained}  # fmt: skip
    _wire(sessions, demo, top, components)


def _wire(sessions: Sessions, demo: gr.Blocks, top: gr.Markdown, c: dict) -> None:
    """Inspect, then show; train, then serve it and say so; back to the demo. A failure
    clears what an earlier request showed."""
    hidden = {"api_visibility": "private"}

    def session_banner(request: gr.Request) -> str:
        return banner(sessions, request)

    refreshed = [component for component, _ in sessions.refreshers]

    def refresh(request: gr.Request) -> list:
        state = sessions.current(request)
        return [fn(state) for _, fn in sessions.refreshers]

    def redo_tabs(event) -> None:
        if refreshed:
            event.then(refresh, None, refreshed, **hidden)

    def leave(request: gr.Request) -> None:
        sessions.reset(request)

    def back(request: gr.Request) -> tuple:
        sessions.reset(request)
        return (banner(sessions, request), *served_overview(sessions.current(request)),
                f"Back to {sessions.demo_label}.", None)  # fmt: skip

    demo.load(session_banner, None, top, **hidden)
    demo.load(sessions.bind(served_overview), None, [c["overview"], c["chart"]], **hidden)
    demo.unload(leave)
    c["log_file"].upload(detect_columns, c["log_file"], c["mapping"], **hidden)
    to_text = {"fn": table_to_mapping, "inputs": c["mapping"], "outputs": c["mapping_text"]}
    shown = [c["status"], c["overview"], c["chart"]]
    event = (
        c["inspect_button"]
        .click(**to_text, **hidden)
        .then(
            inspect_log, [c["log_file"], c["mapping_text"]], c["inspected"], api_name="inspect_log"
        )
    )
    event.failure(lambda: (STALE, "", None), None, shown, **hidden)
    event.success(lambda r, cur: (f"Read {r['file']}.", *show_overview(r, cur)),
                  [c["inspected"], c["currency"]], shown, **hidden)  # fmt: skip
    train = c["train_button"].click(**to_text, **hidden).then(
        make_train_log(sessions), [c["log_file"], c["mapping_text"], c["currency"]],
        c["trained"], api_name="train_log", concurrency_id="train", concurrency_limit=1,
    )  # fmt: skip
    train.failure(lambda: (STALE, None), None, [c["status"], c["downloads"]], **hidden)
    served = (
        train.success(summary_text, c["trained"], c["status"], **hidden)
        .then(session_banner, None, top, **hidden)
        .then(sessions.bind(downloads_of), None, c["downloads"], **hidden)
    )
    redo_tabs(served)
    redo_tabs(c["back_button"].click(back, None, [top, c["overview"], c["chart"], c["status"],
                                     c["downloads"]], **hidden))  # fmt: skip
