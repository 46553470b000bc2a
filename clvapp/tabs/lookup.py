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
from clvmodel.columns import REASONS
from clvmodel.contributions import output_scale

DRIVER_COLUMNS = ["prediction", "feature", "customer's value", "effect", "contribution", "reason"]


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


#: Scales of a model's raw output, in words (:func:`clvmodel.contributions.output_scale`).
RAW_SCALES = {"log": "log of expected spend", "logit": "log-odds of buying"}
#: Drivers per prediction in the drivers table, besides those the "Why:" line cites.
TOP_DRIVERS = 6


def scale(state: AppState, target: str) -> str:
    """The scale of a target's raw model output, which the raw contributions add up to,
    from the objective its model declares."""
    name = output_scale(state.model.bundles_[target]["model"])
    if name == "identity":
        return "probability of buying" if target == "purchase" else f"spend ({state.currency})"
    return RAW_SCALES[name]


def how_text(state: AppState, target: str) -> str:
    """One line on how the served contributions of `target` are made (they add up, with
    the base, to the served value)."""
    bundle = state.model.bundles_[target]
    raw = scale(state, target)
    if target == "purchase":
        return (
            "Chance of buying: the model's contributions (on the scale of the "
            f"{raw}) rescaled in proportion so that, with the base, they add up to the "
            "probability; in percentage points."
        )
    weight, level = bundle.get("blend", 0.0), bundle.get("level", 1.0)
    what = "Total spend" if target == "total" else f"Spend on {target}"
    text = (
        f"{what}, in {state.currency}: the booster's contributions (on the scale of the "
        f"{raw}) rescaled in proportion so that they add up to its amount"
    )
    if weight:
        text += (
            ", and BG/NBD's amount split over the features it reads (Shapley values against "
            f"the typical customer), blended as served ({1 - weight:g} × booster + {weight:g} "
            "× BG/NBD)"
        )
    text += f", times the level factor {level:.3f}"
    if target != "total":
        text += ", then scaled as the category's estimate is to make the categories add up"
    return text + ": base plus contributions is the expected spend served."


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

    "contributions" (SHAP values for tree models) add up, with base_value, to the model's
    raw output, on the scale named in "scale" (for a hybrid, its booster's part only);
    "served" gives them in currency (probability for purchase), adding up with its base to
    the served value, the whole blend explained, and says how. Largest absolute first.
    "reasons" are the plain-words drivers of total spend (those of /predict_customer) and
    "reason_features" their features.

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
        return _explanation(state, cid, day, x, dict.fromkeys(targets, note), {})
    raw, notes = {}, {}
    for target in targets:
        try:
            raw[target] = state.model.explain_features(x, target)
        except ValueError as exc:
            notes[target] = str(exc)
    served = state.model.explain_served(x, list(raw), raw=raw)
    contributions = {t: (raw[t].iloc[0], served[t].iloc[0]) for t in raw}
    return _explanation(state, cid, day, x, notes, contributions)


def _largest(contributions: pd.Series) -> dict:
    order = contributions.abs().sort_values(ascending=False, kind="stable").index
    return {f: number(contributions[f]) for f in order}


def _entry(state: AppState, target: str, note: str, contributions: tuple | None) -> dict:
    entry = {
        "model": state.meta["targets"].get(target, {}).get("model"),
        "scale": scale(state, target),
        "base_value": None,
        "contributions": {},
        "note": note,
    }
    if contributions is not None:
        raw, served = contributions
        entry["base_value"] = number(raw["base_value"])
        entry["contributions"] = _largest(raw.drop("base_value"))
        entry["served"] = {
            "unit": "probability" if target == "purchase" else state.currency,
            "value": number(served["served_value"]),
            "base_value": number(served["base_value"]),
            "contributions": _largest(served.drop(["base_value", "served_value"])),
            "how": how_text(state, target),
        }
    return entry


def _explanation(
    state: AppState, cid: str, day: pd.Timestamp, x: pd.DataFrame, notes: dict,
    contributions: dict,
) -> dict:  # fmt: skip
    targets = {
        t: _entry(state, t, notes.get(t, ""), contributions.get(t))
        for t in state.model.feature_config_.targets
    }
    reasons, cited = _reasons(state, x, targets["total"].get("served"))
    return {
        "customer_id": cid,
        "as_of": f"{day:%Y-%m-%d}",
        "model_version": state.version,
        "feature_values": {} if x.empty else {f: number(v) for f, v in x.iloc[0].items()},
        "targets": targets,
        "reasons": reasons,
        "reason_features": cited,
    }


def _reasons(state: AppState, x: pd.DataFrame, served: dict | None) -> tuple[list, list]:
    """The customer's reasons, as their scores have them (:meth:`CLVModel.reasons`: served
    contributions in currency), and the feature of each: the drivers table shows them."""
    if served is None:
        return [], []
    codes = state.model.reasons(x, with_features=True).iloc[0]
    pairs = [(codes[f"reason_{k + 1}"], codes[f"feature_{k + 1}"]) for k in range(len(REASONS))]
    pairs = [(text, feature) for text, feature in pairs if text]
    return [t for t, _ in pairs], [f for _, f in pairs]


def _amount(target: str, value: float, *, change: bool) -> str:
    """A served amount: money for spend, a percentage (or points) for buying."""
    if target == "purchase":
        return f"{value * 100:+.1f} pts" if change else f"{value:.1%}"
    return f"{value:+,.2f}" if change else f"{value:,.2f}"


def _drivers(state: AppState, explanation: dict) -> pd.DataFrame:
    """Per prediction: the base, the largest served contributions (labelled, each with its
    reason if the "Why:" line cites it), the rest together, and the served value they add
    up to."""
    values, rows = explanation["feature_values"], []
    reasons = dict(zip(explanation["reason_features"], explanation["reasons"], strict=True))
    for target, label in (("total", f"total spend ({state.currency})"),
                          ("purchase", "chance of buying")):  # fmt: skip
        served = explanation["targets"][target].get("served")
        if served is None:
            continue
        items, top = list(served["contributions"].items()), TOP_DRIVERS
        if target == "total":  # the largest, and every driver the "Why:" line cites
            shown = [f for i, (f, _) in enumerate(items) if i < TOP_DRIVERS or f in reasons]
            items = [(f, served["contributions"][f]) for f in shown] + [
                item for item in items if item[0] not in shown
            ]
            top = len(shown)
        rows.append([label, "Starting point: an average customer", "", "",
                     _amount(target, served["base_value"], change=False), ""])  # fmt: skip
        for feature, c in items[:top]:
            rows.append([
                label, catalogue.feature_label(feature),
                value_text(feature, values.get(feature)), "raises" if c > 0 else "lowers",
                _amount(target, c, change=True), reasons.get(feature, "") if target == "total"
                else "",
            ])  # fmt: skip
        rest = sum(c for _, c in items[top:])
        rows.append([label, f"The other {len(items[top:])} features together", "",
                     "raises" if rest > 0 else "lowers", _amount(target, rest, change=True),
                     ""])  # fmt: skip
        what = "Expected spend" if target == "total" else "Chance of buying"
        rows.append([label, f"= {what} (served)", "", "",
                     _amount(target, served["value"], change=False), ""])  # fmt: skip
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
    drivers = _drivers(state, explanation)
    # One list of reasons: the drivers table's (or, without contributions, the reply's).
    has_drivers = explanation["targets"]["total"].get("served") is not None
    reasons = explanation["reasons"] if has_drivers else reply["reasons"]
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
            served.refreshes(cid, lambda s: gr.update(placeholder=s.examples[0], value=""))
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
                f"What pushes this prediction up or down, in {currency} for total spend and "
                "in percentage points for the chance of buying: from the starting point, the "
                "contributions add up to the value served"
            ),
            interactive=False,
        )
        gr.Markdown(
            "How the contributions are made. " + how_text(state, "total") + " "
            + how_text(state, "purchase") + " The reasons under **Why** are the strongest "
            "drivers of total spend in this table that can be put in words (ranked on path "
            "contributions, a faster estimate of the same)."
        )  # fmt: skip
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
