"""The Forecast tab: next 30 days' net revenue of the base or a part of it (/forecast), with
its monthly history, per category and per group.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from clvapp.errors import reported
from clvapp.format import empty, in_currency, money, stale
from clvapp.inputs import (
    breakdown,
    breakdown_choices,
    check_as_of,
    filter_inputs,
    profile_label,
    refresh_filter_inputs,
    where,
)
from clvapp.state import AppState, Served
from clvmodel import batch, history, plots
from clvmodel.source import HISTORY_MONTHS


def _money_row(row: pd.Series) -> dict:
    return {k: money(row[k]) for k in ("expected", "low", "high")}


def _group_rows(groups: pd.DataFrame | None) -> list[dict]:
    if groups is None:
        return []
    return [
        {
            "group": r.group,
            "target": r.target,
            "customers": int(r.customers),
            "expected": money(r.expected),
            "low": money(r.low),
            "high": money(r.high),
        }
        for r in groups.itertuples()
    ]


@reported
def forecast(
    state: AppState,
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
    model, day = state.model, check_as_of(state, as_of)
    state.scorer.warm(day)
    scores = state.scorer.scores(day, reasons=False)
    keep = where(state, filter_column, filter_value, day)
    by = breakdown(by, state.breakdowns)
    profiles = state.source.profiles(day)
    base = model.forecast_scores(scores, profiles, where=keep).set_index("target")
    groups = model.forecast_scores(scores, profiles, by=by, where=keep) if by else None
    return {
        "as_of": f"{day:%Y-%m-%d}",
        "customers": int(base.loc["total", "customers"]),
        "filter": keep,
        "currency": state.currency,
        "total": _money_row(base.loc["total"]),
        "categories": {c: _money_row(base.loc[c]) for c in model.categories},
        "by": by,
        "breakdown": _group_rows(groups),
        "interval": model.interval,
        "model_version": state.version,
    }


@reported
def revenue_history(
    state: AppState, day: pd.Timestamp, keep: dict | None
) -> dict[str, pd.DataFrame]:
    """Net revenue per month of the (filtered) base, in total and per category
    (:func:`clvmodel.history.revenue_by_month`)."""
    return history.revenue_by_month(
        state.source.revenue(day, keep), day, categories=state.model.categories,
        months=HISTORY_MONTHS,
    )  # fmt: skip


def amount(x: float, currency: str, digits: int = 0) -> str:
    """An amount with its currency in front, e.g. "INR 1,048"; the bare number without one."""
    number = f"{x:,.{digits}f}"
    return f"{currency} {number}" if currency else number


def columns(state: AppState) -> list[str]:
    """The forecast table's headers, in words."""
    return [
        "Group", "Spend on", "Customers", in_currency("Expected", state.currency),
        "80% interval: low", "80% interval: high",
    ]  # fmt: skip


def _table(state: AppState, reply: dict) -> pd.DataFrame:
    """The base's total and categories, then each group's (its total first)."""
    everyone = {"group": "all", "customers": reply["customers"]}
    rows = [{**everyone, "target": "total", **reply["total"]}] + [
        {**everyone, "target": c, **v} for c, v in reply["categories"].items()
    ]
    order = {t: i for i, t in enumerate(state.spend_targets)}
    groups = sorted(reply["breakdown"], key=lambda r: (r["group"], order.get(r["target"], 99)))
    keys = ("group", "target", "customers", "expected", "low", "high")
    rows += [{k: r[k] for k in keys} for r in groups]
    return pd.DataFrame(rows, columns=list(keys))


def shown_table(state: AppState, table: pd.DataFrame) -> pd.DataFrame:
    """The table as a person reads it: words, separators, the whole base as "everyone"."""
    shown = pd.DataFrame({
        "group": table["group"].where(table["group"] != "all", "everyone"),
        "target": table["target"].where(table["target"] != "total", "total (all categories)"),
        "customers": table["customers"].map(lambda v: f"{v:,.0f}"),
        **{k: table[k].map(lambda v: f"{v:,.2f}") for k in ("expected", "low", "high")},
    })  # fmt: skip
    shown.columns = columns(state)
    return shown


def _who(reply: dict) -> str:
    """Whom the forecast is of, in words."""
    if not reply["filter"]:
        return "the whole base"
    return " and ".join(f"{profile_label(k)} = {v}" for k, v in reply["filter"].items())


def show_forecast(
    state: AppState, reply: dict, filter_column: str | None, filter_value: str | None
):
    """The forecast tab's headline, table, chart and files from a /forecast reply."""
    total, currency = reply["total"], state.currency
    day = pd.Timestamp(reply["as_of"])
    who = _who(reply)
    headline = (
        f"**{amount(total['expected'], currency)}** expected in the 30 days from "
        f"{reply['as_of']} for {who} ({reply['customers']:,} customers); 80% interval "
        f"{total['low']:,.0f} to {total['high']:,.0f}."
        + (f" The table breaks it down by **{profile_label(reply['by'])}**." if reply["by"]
           else "")
    )  # fmt: skip
    table = _table(state, reply)
    months = revenue_history(state, day, reply["filter"])
    band = {"total": total, **reply["categories"]}
    band = {t: (v["expected"], v["low"], v["high"]) for t, v in band.items()}
    fig = plots.forecast_plot(
        months.pop("total"), band.pop("total"), title=f"Net revenue per month, {who}",
        currency=currency,
    )  # fmt: skip
    by_category = plots.category_forecast_plot(
        months, band, title=f"Per category, {who}", currency=currency
    )
    csv_path, xlsx_path = batch.write_results(table, state.request_folder(), stem="forecast")
    return headline, shown_table(state, table), fig, by_category, str(csv_path), str(xlsx_path)


def build(served: Served, demo: gr.Blocks) -> None:
    """The tab and its events; the forecast also runs when the page loads."""
    state = served.current()
    breakdowns = state.breakdowns
    with gr.Tab("Forecast"):
        gr.Markdown(
            "Next 30 days' net revenue of the whole customer base, or of a part of it, in "
            "total and per category, with the 80% interval **of the sum** (customers' own "
            "ranges partly cancel out; a month that is weak or strong for everyone does not)."
        )
        with gr.Row():
            by = gr.Dropdown(
                choices=breakdown_choices(state),
                value=breakdowns[0] if breakdowns else breakdown_choices(state)[0][1],
                label="Break down by", allow_custom_value=True, scale=1,
            )  # fmt: skip
            filter_column, filter_value, as_of = filter_inputs(state)
            refresh_filter_inputs(served, filter_column, as_of)
            served.refreshes(by, lambda s: gr.update(choices=breakdown_choices(s), value=(
                s.breakdowns[0] if s.breakdowns else breakdown_choices(s)[0][1])))  # fmt: skip
            button = gr.Button("Forecast", variant="primary", scale=1)
        headline = gr.Markdown()
        with gr.Row():
            table = gr.Dataframe(
                value=empty(columns(state)), label=in_currency("Next 30 days", state.currency),
                interactive=False, max_height=420, scale=3,
            )  # fmt: skip
            chart = gr.Plot(label="Monthly revenue and the forecast", show_label=False, scale=2)
        categories = gr.Plot(label="Per category", show_label=False)
        with gr.Row():
            csv = gr.File(
                label="Forecast (CSV)", height=90, interactive=False, elem_id="forecast-csv"
            )
            xlsx = gr.File(
                label="Forecast (Excel)", height=90, interactive=False, elem_id="forecast-xlsx"
            )
        with gr.Accordion("Raw reply (JSON)", open=False):
            reply = gr.JSON(label="/forecast")
    event = gr.on(
        [button.click, demo.load], served.bind(forecast),
        [by, filter_column, filter_value, as_of], reply, api_name="forecast",
    )  # fmt: skip
    outputs = [headline, table, chart, categories, csv, xlsx]
    event.failure(
        stale(empty(columns(state)), None, None, None, None), None, outputs,
        api_visibility="private",
    )  # fmt: skip
    event.success(
        served.bind(show_forecast), [reply, filter_column, filter_value], outputs,
        api_visibility="private",
    )  # fmt: skip
