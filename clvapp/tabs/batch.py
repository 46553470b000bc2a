"""The Batch scoring tab: a CSV or Excel file scored by customer ID or by feature values
(/predict_batch), and the templates to start from (/batch_template).
"""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
import pandas as pd

from clvapp.errors import reported
from clvapp.format import empty, money_text, share_text, stale
from clvapp.inputs import check_as_of
from clvapp.state import AppState, Served
from clvmodel import batch
from clvmodel.model import PROBABILITY

PREVIEW_COLUMNS = [batch.ID_COLUMN, "error", "predicted_total", PROBABILITY]


@reported
def predict_batch(
    state: AppState,
    file: str | None,
    as_of: str | None = None,
    progress=gr.Progress(),  # noqa: B008
):
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
    day = check_as_of(state, as_of)
    name = Path(file).name
    progress(0.05, desc=f"Reading {name}")
    table = batch.read_upload(file)
    progress(0.3, desc=f"Scoring {len(table):,} rows")
    if batch.ID_COLUMN in table.columns:
        state.scorer.warm(day)
    try:
        results, summary = batch.score_table(state.scorer, table, as_of=day)
    except ValueError as exc:
        raise gr.Error(f"{name}: {exc}") from exc
    progress(0.75, desc="Writing CSV and Excel")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem)[:60] or "upload"
    folder = state.request_folder()
    csv_path, xlsx_path = batch.write_results(results, folder, stem=f"{stem}_predictions")
    progress(1.0, desc="Done")
    if summary["rejected"]:
        gr.Warning(
            f"{summary['rejected']:,} of {summary['rows']:,} rows could not be scored: "
            "their reason is in the error column of the results."
        )
    summary = {"file": name, **summary, "model_version": state.version}
    return str(csv_path), str(xlsx_path), summary


def batch_template(state: AppState, kind: str = "customer_id") -> str:
    """A CSV template for /predict_batch.

    Args:
        kind: "customer_id" (a column of IDs, scored from history) or "features" (every
            feature column, one row of typical values).
    """
    if kind not in state.templates:
        raise gr.Error(f"kind must be one of {list(state.templates)}; got {kind!r}.")
    return str(state.templates[kind])


def preview_results(state: AppState, csv_path: str | None, summary: dict | None):
    """The first 50 rows of the results, numbers as a person reads them, and a summary."""
    if not csv_path or not summary:
        return "", empty(PREVIEW_COLUMNS)
    preview = pd.read_csv(csv_path, nrows=50, dtype=str, keep_default_na=False)
    first = [c for c in (batch.ID_COLUMN, "error") if c in preview.columns]
    preview = preview[[*first, *[c for c in preview.columns if c not in first]]]
    for c in preview.columns:  # the files keep raw values
        if c.startswith("predicted_"):
            preview[c] = pd.to_numeric(preview[c], errors="coerce").map(money_text)
        elif c == PROBABILITY:
            preview[c] = pd.to_numeric(preview[c], errors="coerce").map(share_text)
    text = (
        f"**{summary['scored']:,} of {summary['rows']:,} rows scored**, "
        f"{summary['rejected']:,} rejected (see the `error` column). Mode: {summary['mode']}"
        + (f", as of {summary['as_of']}" if summary.get("as_of") else "")
        + (
            f". {summary['duplicated_rows']:,} rows name a customer named on another row too "
            "(each is scored; see the `duplicate` column)"
            if summary.get("duplicated_rows")
            else ""
        )
        + (
            f". Filled with typical values: {', '.join(summary['filled_features'])}"
            if summary.get("filled_features")
            else ""
        )
        + ". First 50 rows:"
    )
    return text, preview


def build(served: Served) -> None:
    state = served.current()
    with gr.Tab("Batch scoring"):
        gr.Markdown(
            "Upload a CSV or Excel (.xlsx) file of up to 50 MB with either a **customer_id** "
            "column (customers scored from their history) or **feature columns** (each row "
            "scored as given; missing features take typical values). IDs are matched as in "
            "the lookup (spaces around them and, when unique, case do not count); a customer "
            "named on several rows is scored on each and flagged in a `duplicate` column. "
            "Bad rows are reported in an `error` column and the others are scored. Dates: "
            "YYYY-MM-DD."
        )
        with gr.Row():
            kind = gr.Radio(
                choices=list(state.templates), value="customer_id", label="Template", scale=2
            )
            template_button = gr.Button("Get template", scale=1)
            template = gr.File(
                label="Template", scale=2, height=90, interactive=False, elem_id="template-file"
            )
        with gr.Row():
            upload = gr.File(
                label="File to score", file_types=[".csv", ".xlsx", ".xls", ".txt", ".tsv"],
                type="filepath", scale=2, elem_id="batch-upload",
            )  # fmt: skip
            as_of = gr.Textbox(
                label="As of (customer_id files, optional)",
                placeholder=f"{state.default_as_of:%Y-%m-%d}", scale=1,
            )  # fmt: skip
        button = gr.Button("Score file", variant="primary")
        with gr.Row():
            csv = gr.File(
                label="Results (CSV)", height=90, interactive=False, elem_id="results-csv"
            )
            xlsx = gr.File(
                label="Results (Excel)", height=90, interactive=False, elem_id="results-xlsx"
            )
        text = gr.Markdown()
        preview = gr.Dataframe(
            value=empty(PREVIEW_COLUMNS), label="Preview", interactive=False, max_height=400
        )
        with gr.Accordion("Summary (JSON)", open=False):
            summary = gr.JSON(label="Summary")
    template_button.click(served.bind(batch_template), kind, template, api_name="batch_template")
    # A batch runs alone in its own queue, so a large upload never holds up single lookups.
    event = button.click(
        served.bind(predict_batch), [upload, as_of], [csv, xlsx, summary],
        api_name="predict_batch", concurrency_id="batch", concurrency_limit=1,
    )  # fmt: skip
    event.failure(
        stale(empty(PREVIEW_COLUMNS), None, None), None, [text, preview, csv, xlsx],
        api_visibility="private",
    )  # fmt: skip
    event.success(
        served.bind(preview_results), [csv, summary], [text, preview], api_visibility="private"
    )
