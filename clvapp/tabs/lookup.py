"""The Customer lookup tab: one customer's prediction (/predict_customer), what drives it
(/explain_customer) and their monthly spend so far.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from clvapp.errors import reported
from clvapp.format import empty, number, stale, value_text
from clvapp.inputs import check_as_of, check_id, id_problem
from clvapp.replies import customer_reply, headline, prediction_columns, prediction_table
from clvapp.state import AppState, Served
from clvmodel import catalogue, history, plots

DRIVER_COLUMNS = ["prediction", "feature", "customer's value", "effect", "contribution"]


@reported
def predict_customer(
    state: AppState,
    customer_id: str,
    as_of: str | None = None,
    progress=gr.Progress(),  # noqa: B008
) -> dict:
    """Predicted 30-day spend (total and per category, 80% intervals) and purchase probability.

    Args:
        customer_id: the customer's ID, exactly as in the data (e.g. "C000123").
        as_of: date to predict from, YYYY-MM-DD; empty for the day after the last transaction.
    """
    cid, day = check_id(state, customer_id), check_as_of(state, as_of)
    if not state.scorer.has(day):  # seconds, once per date: say so on the busy outputs
        progress(0, desc=f"Scoring every customer as of {day:%Y-%m-%d} (once per date)")
    state.scorer.warm(day)
    try:
        row = state.scorer.lookup(cid, day)
    except KeyError:
        raise id_problem(state, cid, day) from None
    return customer_reply(state, row, customer_id=cid, as_of=f"{day:%Y-%m-%d}")


def scale(state: AppState, target: str) -> str:
    """The scale of a target's raw model output, which contributions add up to."""
    if target == "purchase":
        return "log-odds of buying"
    model = state.meta["targets"].get(target, {}).get("model", "")
    return "log of expected spend" if "tweedie" in model else f"spend ({state.currency})"


def _scored(state: AppState, cid: str, day: pd.Timestamp) -> bool:
    """Whether the customer has a prediction as of `day` (from history or cold start)."""
    try:
        state.scorer.lookup(cid, day)
    except KeyError:
        return False
    return True


@reported
def explain_customer(state: AppState, customer_id: str, as_of: str | None = None) -> dict:
    """Each feature's contribution to each target's prediction for one customer.

    Contributions (SHAP values for tree models) add up, with base_value, to the model's
    raw output, on the scale named in "scale"; largest absolute contribution first.

    Args:
        customer_id: the customer's ID.
        as_of: date, YYYY-MM-DD; empty for the latest date.
    """
    cid, day = check_id(state, customer_id), check_as_of(state, as_of)
    targets = state.model.feature_config_.targets
    state.scorer.warm(day)
    x = state.scorer.customer_features(cid, day)
    if x.empty:
        if not _scored(state, cid, day):
            raise id_problem(state, cid, day)
        note = (  # no history: cold start
            f"no purchase before {day:%Y-%m-%d}: predicted from the customer's attributes "
            "(segment, loyalty tier, account age), without per-feature contributions"
        )
        return _explanation(state, cid, day, {}, dict.fromkeys(targets, note))
    contributions, notes = {}, {}
    for target in targets:
        try:
            contributions[target] = state.model.explain_features(x, target).iloc[0]
        except ValueError as exc:
            notes[target] = str(exc)
    values = {f: number(v) for f, v in x.iloc[0].items()}
    return _explanation(state, cid, day, values, notes, contributions)


def _explanation(
    state: AppState, cid: str, day: pd.Timestamp, values: dict, notes: dict,
    contributions: dict | None = None,
) -> dict:  # fmt: skip
    targets = {}
    for target in state.model.feature_config_.targets:
        entry = {
            "model": state.meta["targets"].get(target, {}).get("model"),
            "scale": scale(state, target),
            "base_value": None,
            "contributions": {},
            "note": notes.get(target, ""),
        }
        contrib = (contributions or {}).get(target)
        if contrib is not None:
            entry["base_value"] = number(contrib["base_value"])
            contrib = contrib.drop("base_value")
            order = contrib.abs().sort_values(ascending=False, kind="stable").index
            entry["contributions"] = {f: number(contrib[f]) for f in order}
        targets[target] = entry
    return {
        "customer_id": cid,
        "as_of": f"{day:%Y-%m-%d}",
        "model_version": state.version,
        "feature_values": values,
        "targets": targets,
    }


def _drivers(explanation: dict) -> pd.DataFrame:
    """The largest contributions to total spend and to buying, labelled."""
    values, rows = explanation["feature_values"], []
    for target in ("total", "purchase"):
        contributions = explanation["targets"][target]["contributions"]
        for feature, c in list(contributions.items())[:6]:
            if c:
                rows.append([
                    target, catalogue.feature_label(feature),
                    value_text(feature, values.get(feature)),
                    "raises" if c > 0 else "lowers", f"{c:+.3f}",
                ])  # fmt: skip
    return pd.DataFrame(rows, columns=DRIVER_COLUMNS)


def show_lookup(state: AppState, reply: dict, explanation: dict):
    """The headline (with reasons and notes), the table, the chart and the drivers."""
    cid, as_of = reply["customer_id"], reply["as_of"]
    day = pd.Timestamp(as_of)
    months = history.spend_by_month(state.source.monthly_spend(cid, day), day)
    total, (low, high) = reply["predicted_30d_spend"]["total"], reply[state.interval_key]["total"]
    fig = plots.forecast_plot(
        months, (total, low, high), title=f"{cid}: net spend per month", currency=state.currency
    )
    drivers = _drivers(explanation)
    scores = state.scorer.lookup(cid, as_of)
    reasons = [v for c, v in scores.items() if c.startswith("reason_") and isinstance(v, str) and v]
    text = headline(state, reply)
    if reasons:
        text += "\n\nWhy: " + "; ".join(reasons) + "."
    notes = {e["note"] for e in explanation["targets"].values() if e["note"]}
    if notes:
        text += "\n\n*Note: " + " ".join(sorted(notes)) + ".*"
    return text, prediction_table(state, reply), fig, drivers


def build(served: Served) -> None:
    state = served.current()
    examples, currency = state.examples, state.currency
    with gr.Tab("Customer lookup"):
        with gr.Row():
            cid = gr.Textbox(label="Customer ID", placeholder=examples[0], scale=2)
            as_of = gr.Textbox(
                label="As of (optional)", placeholder=f"{state.default_as_of:%Y-%m-%d}", scale=1
            )
            button = gr.Button("Predict", variant="primary", scale=1)
        gr.Examples(examples=[[i] for i in examples], inputs=[cid], label="Examples")
        text = gr.Markdown()
        with gr.Row():
            table = gr.Dataframe(
                value=empty(prediction_columns(state)), label=f"Next 30 days ({currency})",
                interactive=False, elem_id="lookup-table",
            )  # fmt: skip
            chart = gr.Plot(label="Monthly spend so far", show_label=False)
        drivers = gr.Dataframe(
            value=empty(DRIVER_COLUMNS),
            label=(
                "What pushes this prediction up or down: largest contributions, on the "
                f"model's raw scale ({scale(state, 'total')} for total, log-odds for purchase)"
            ),
            interactive=False,
        )
        gr.Markdown(
            "An 80% interval of [0, 0] with a positive expected spend means the customer most "
            "likely buys nothing in the next 30 days, but might."
        )
        with gr.Accordion("Raw replies (JSON)", open=False):
            reply = gr.JSON(label="/predict_customer")
            explanation = gr.JSON(label="/explain_customer")
    _wire(served, cid, as_of, button, [text, table, chart, drivers], reply, explanation)


def _wire(served: Served, cid, as_of, button, outputs: list, reply, explanation) -> None:
    """Predict, then explain, then show; a failure clears the old answer."""
    busy = outputs[1:]  # the reply's JSON is folded
    event = gr.on(
        [button.click, cid.submit], served.bind(predict_customer), [cid, as_of], reply,
        api_name="predict_customer", show_progress_on=busy,
    )  # fmt: skip
    cleared = stale(empty(prediction_columns(served.current())), None, empty(DRIVER_COLUMNS))
    event.failure(cleared, None, outputs, api_visibility="private")
    event.success(
        served.bind(explain_customer), [cid, as_of], explanation, api_name="explain_customer",
        show_progress_on=busy,
    ).success(
        served.bind(show_lookup), [reply, explanation], outputs, api_visibility="private"
    )  # fmt: skip
