"""The Customer lists tab: ranked lists of customers to act on (/customer_list)."""

from __future__ import annotations

import json

import gradio as gr
import pandas as pd

from clvapp.errors import reported
from clvapp.format import empty, money_text, share_text, stale
from clvapp.inputs import check_as_of, filter_inputs, where
from clvapp.state import AppState, Served
from clvmodel import batch, lists
from clvmodel.model import PROBABILITY, REASONS

EMPTY_COLUMNS = ["rank", "customer_id", "expected_total", PROBABILITY, "reason"]


def _reasons(state: AppState, listed: pd.DataFrame, day: pd.Timestamp) -> list[str]:
    """The reasons of the listed customers only, made on request."""
    explained = state.scorer.score(listed["customer_id"].tolist(), as_of=day)
    reasons = explained[REASONS].fillna("").agg(lambda r: "; ".join(v for v in r if v), axis=1)
    return reasons.to_numpy()


@reported
def customer_list(
    state: AppState,
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
    day = check_as_of(state, as_of)
    state.scorer.warm(day)
    scores = state.scorer.scores(day, reasons=False)
    keep = where(state, filter_column, filter_value, day)
    try:
        n = int(float(n))
    except (TypeError, ValueError) as exc:
        raise gr.Error(f"n must be a whole number of customers; got {n!r}.") from exc
    listed = lists.customer_list(
        scores, state.source.profiles(day), state.source.list_features(day), kind=kind, n=n,
        target=target, where=keep, categories=state.model.categories,
    )  # fmt: skip
    if len(listed):
        listed["reason"] = _reasons(state, listed, day)
    listed = listed.astype({c: "object" for c in listed.columns if c == "days_since_last"})
    return {
        "as_of": f"{day:%Y-%m-%d}",
        "kind": kind,
        "target": target,
        "filter": keep,
        "rule": lists.LIST_KINDS.get(kind, "").replace("`target`", repr(target)),
        "rows": json.loads(listed.to_json(orient="records")),
        "currency": state.currency,
        "model_version": state.version,
    }


def _target_for_kind(state: AppState, kind: str, target: str) -> str:
    """A cross-sell list is for one category: switch away from "total" when it is chosen."""
    if kind == "cross_sell" and target == "total" and state.model.categories:
        return state.model.categories[0]
    return target


def show_list(state: AppState, reply: dict):
    """The customer-lists tab's table and files from a /customer_list reply."""
    table = pd.DataFrame(reply["rows"])
    folder = state.request_folder()
    csv_path, xlsx_path = batch.write_results(table, folder, stem=f"customers_{reply['kind']}")
    shown = table.copy()
    for c in shown.columns:
        if c.startswith("expected_") or c == "past_spend_365d":
            shown[c] = shown[c].map(money_text)
        elif c == PROBABILITY:
            shown[c] = shown[c].map(share_text)
    text = f"{len(table):,} customers. Rule: {reply['rule']}"
    return text, shown, str(csv_path), str(xlsx_path)


def build(served: Served) -> None:
    state = served.current()
    with gr.Tab("Customer lists"):
        gr.Markdown(
            "Ranked lists to act on: " + "; ".join(
                f"**{k}**: {v}" for k, v in lists.LIST_KINDS.items()) + "."
        )  # fmt: skip
        with gr.Row():
            kind = gr.Radio(choices=list(lists.LIST_KINDS), value="top", label="List", scale=2)
            target = gr.Dropdown(
                choices=state.spend_targets, value="total", label="Spend on",
                allow_custom_value=True, scale=1,
            )  # fmt: skip
            n = gr.Number(value=100, precision=0, minimum=1, label="How many", scale=1)
        with gr.Row():
            filter_column, filter_value, as_of = filter_inputs(state)
            button = gr.Button("Make the list", variant="primary", scale=1)
        headline = gr.Markdown()
        table = gr.Dataframe(
            value=empty(EMPTY_COLUMNS), label="Customers", interactive=False, max_height=480
        )
        with gr.Row():
            csv = gr.File(label="List (CSV)", height=90, interactive=False, elem_id="list-csv")
            xlsx = gr.File(label="List (Excel)", height=90, interactive=False, elem_id="list-xlsx")
        with gr.Accordion("Raw reply (JSON)", open=False):
            reply = gr.JSON(label="/customer_list")
    kind.change(served.bind(_target_for_kind), [kind, target], target, api_visibility="private")
    event = button.click(
        served.bind(customer_list), [kind, n, target, filter_column, filter_value, as_of],
        reply, api_name="customer_list",
    )  # fmt: skip
    outputs = [headline, table, csv, xlsx]
    event.failure(stale(empty(EMPTY_COLUMNS), None, None), None, outputs, api_visibility="private")
    event.success(served.bind(show_list), reply, outputs, api_visibility="private")
