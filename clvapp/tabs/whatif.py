"""The What-if tab: a customer described by feature values (/predict_features), started from
a customer's features or from typical values, each prediction beside the starting point.
"""

from __future__ import annotations

import json
import re

import gradio as gr
import numpy as np
import pandas as pd

from clvapp.errors import reported
from clvapp.format import STALE, empty, number
from clvapp.inputs import check_id, id_problem
from clvapp.replies import (
    CHANGE_COLUMNS,
    customer_reply,
    headline,
    prediction_columns,
    prediction_table,
)
from clvapp.state import AppState, Served
from clvmodel import batch, catalogue, plausible

#: The headline and prediction table, when another starting point is loaded.
CLEARED = ("", None)


@reported
def predict_features(state: AppState, features: dict) -> dict:
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
    batch.check_feature_names(names, state.model.feature_names_)
    cells = {
        n: ["" if v is None else str(v)] for n, v in zip(names, features.values(), strict=True)
    }
    results, summary = batch.score_table(state.scorer, pd.DataFrame(cells))
    row = results.iloc[0]
    if row["error"]:
        raise gr.Error(row["error"])
    return {
        **customer_reply(state, row, customer_id=None, as_of=None),
        "filled_features": summary["filled_features"],
    }


def _order(state: AppState) -> list[str]:
    """Features by group (:data:`clvmodel.catalogue.GROUPS`), then by importance for total
    spend within a group, so that related values sit together."""
    rank = {f: i for i, f in enumerate(state.model.report_.targets["total"].importance)}
    groups = [g for g, _ in catalogue.GROUPS] + ["Other"]
    return sorted(
        state.model.feature_names_,
        key=lambda f: (groups.index(catalogue.feature_group(f)), rank.get(f, len(rank))),
    )


#: The table's columns: the value a person edits, its start, the marks, the raw name last.
TABLE_COLUMNS = [
    "group", "feature", "value", "starting value", "changed", "follows the edits", "name",
]  # fmt: skip
#: A number with thousands separators, as the table shows it ("58,068.49").
_GROUPED = re.compile(r"^\s*[+-]?\d{1,3}(,\d{3})+(\.\d*)?\s*$")


def shown(values: pd.Series) -> pd.Series:
    """Values as the table shows them: thousands separators, at most two decimals, no
    trailing zeros; empty when missing."""

    def one(v: float) -> str:
        if pd.isna(v):
            return ""
        text = f"{v:,.2f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text

    return values.astype("float64").map(one).astype(object)


def parsed(value: object) -> object:
    """A value typed in the table: a number (separators allowed), None when empty, else
    the text as typed (the library says what is wrong with it)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, int | float | np.number):
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    number = pd.to_numeric(text.replace(",", "") if _GROUPED.match(text) else text, "coerce")
    return text if pd.isna(number) else float(number)


def _feature_table(
    state: AppState,
    values: pd.Series,
    start: pd.Series | None = None,
    follows: pd.Series | None = None,
) -> pd.DataFrame:
    """The what-if table: each feature's value (editable) beside the starting value, with
    edited rows marked, and the new values of those that follow the edits (`follows`:
    the features sent, where they differ from what the table holds). `start` defaults to
    `values` (a table just loaded)."""
    order = _order(state)
    values = values.reindex(order).astype("float64").round(2)
    start = values if start is None else start.reindex(order).astype("float64").round(2)
    same = (values == start) | (values.isna() & start.isna())
    moved = pd.Series("", index=order, dtype=object)
    if follows is not None:
        new = follows.reindex(order).astype("float64")
        differ = same & (new.round(2) != start) & new.notna()
        moved[differ] = shown(new[differ]) + " (from the edited values)"
    return pd.DataFrame(
        {
            "group": [catalogue.feature_group(f) for f in order],
            "feature": [catalogue.feature_label(f) for f in order],
            "value": shown(values).to_numpy(),
            "starting value": shown(start).to_numpy(),
            "changed": np.where(same.to_numpy(), "", "✎ edited"),
            "follows the edits": moved.to_numpy(),
            "name": order,
        }
    ).astype({"value": object})  # a person may type a number or text: both are kept


def _exact(state: AppState, values: pd.Series) -> dict:
    """The starting values at full precision: the table shows them rounded, and a value
    the user did not edit is sent as it was, so that an unedited table predicts exactly
    the starting point."""
    return {f: number(v, 12) for f, v in values.reindex(_order(state)).items()}


def _typical_reply(state: AppState) -> dict:
    typical = batch.typical_values(state.model).to_frame().T
    row = state.model.predict_features(typical).iloc[0]
    return customer_reply(state, row, customer_id=None, as_of=None)


def load_typical(state: AppState):
    """The what-if table at typical values (derived features computed from the others'),
    and their prediction as the starting point."""
    typical = batch.typical_values(state.model)
    table = _feature_table(state, typical)
    return table, _typical_reply(state), _exact(state, typical), *CLEARED


def check_customer(state: AppState, customer_id: str) -> str:
    """Refuse an ID the what-if tab cannot load, before the table is touched: an error in
    a handler that outputs the table would replace the table with an error box."""
    cid = check_id(state, customer_id)
    if state.scorer.customer_features(cid).empty:
        raise id_problem(state, cid, state.default_as_of,
                         instead="Type feature values in the table by hand instead")  # fmt: skip
    return cid


@reported
def _refuse_unloadable(state: AppState, customer_id: str) -> None:
    check_customer(state, customer_id)


@reported
def load_customer(state: AppState, customer_id: str):
    """The what-if table at a customer's current features, and their prediction."""
    cid = check_customer(state, customer_id)
    as_of = f"{state.default_as_of:%Y-%m-%d}"
    start = customer_reply(state, state.scorer.lookup(cid), customer_id=cid, as_of=as_of)
    values = state.scorer.customer_features(cid).iloc[0]
    return _feature_table(state, values), start, _exact(state, values), *CLEARED


def _same_value(value: object, start: object) -> bool:
    a, b = parsed(value), parsed(start)
    return (a is None and b is None) or a == b


def table_to_features(table: pd.DataFrame, exact: dict | None = None, horizon: int = 30) -> dict:
    """The edited what-if table as the JSON object /predict_features takes (by the
    features' names, which the table's last column holds). A value left as shown is sent
    at its full precision from `exact` (see :func:`_exact`); the features that follow the
    edited ones (:func:`clvmodel.plausible.recompute`: the overdue ratio follows the days
    since the last purchase) are sent as they follow, unless edited themselves."""
    out, edited = {}, []
    rows = zip(table["name"], table["value"], table["starting value"], strict=True)
    for feature, value, start in rows:
        if feature is None or not str(feature).strip():
            continue
        name = str(feature).strip()
        if exact is not None and name in exact and _same_value(value, start):
            out[name] = exact[name]
        else:
            out[name] = parsed(value)
            edited.append(name)
    if not edited or exact is None:
        return out
    numbers = pd.to_numeric(pd.Series(out, dtype=object), errors="coerce")
    start = pd.to_numeric(pd.Series(exact, dtype=object), errors="coerce").reindex(numbers.index)
    moved = plausible.recompute(numbers, start, edited, horizon)
    changed = [n for n in moved.index if n not in edited and not _equal(moved[n], numbers[n])]
    return out | {n: number(moved[n], 12) for n in changed}


def _equal(a: float, b: float) -> bool:
    return bool((pd.isna(a) and pd.isna(b)) or a == b)


def features_of(state: AppState, table: pd.DataFrame, exact: dict | None = None) -> dict:
    """:func:`table_to_features` with the model's horizon."""
    return table_to_features(table, exact, state.model.horizon)


def _values(table: pd.DataFrame, column: str) -> pd.Series:
    values = [parsed(v) for v in table[column]]
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return pd.Series(numbers.to_numpy(dtype="float64"), index=table["name"].tolist())


def mark_edits(state: AppState, table: pd.DataFrame, sent: dict | None = None) -> pd.DataFrame:
    """The table with its marks as they are: ✎ where the value differs from the start,
    and what follows the edits in the features `sent` (none after a failed predict)."""
    follows = None
    if sent:
        follows = pd.to_numeric(pd.Series(sent, dtype=object), errors="coerce").astype(float)
    return _feature_table(state, _values(table, "value"), _values(table, "starting value"),
                          follows)  # fmt: skip


def show_whatif(
    state: AppState, reply: dict, start: dict | None, table: pd.DataFrame, sent: dict | None = None
):
    """The headline, each prediction beside the starting point with its change, and the
    table with the edited values marked (and, with the features `sent`, the new values of
    the features that follow them)."""
    edited = mark_edits(state, table, sent)
    n = int((edited["changed"] != "").sum())
    moved = edited.loc[edited["follows the edits"] != "", "feature"].tolist()
    text = headline(state, reply) + (
        f"\n\n{n} value{'s' if n != 1 else ''} changed from the starting point (marked ✎ in "
        "the table)."
        if n
        else "\n\nNo value changed from the starting point."
    )
    if moved:
        text += f" Following them: {', '.join(moved)} (computed from the edited values)."
    return text, prediction_table(state, reply, start), edited


def failed(state: AppState, table: pd.DataFrame):
    """After a refused prediction: the stale notice, no result, no reply, and the table's
    marks as the values now stand (nothing of the previous answer is left as the new)."""
    return (STALE, empty(prediction_columns(state) + CHANGE_COLUMNS), mark_edits(state, table),
            None)  # fmt: skip


def build(served: Served) -> None:
    state = served.current()
    with gr.Tab("What-if"):
        gr.Markdown(
            "Start from a customer's features or from typical values, edit the **value** "
            "column, and predict: each prediction is shown beside the starting point with "
            "its change, and edited values are marked ✎. Features are grouped (recency, "
            "spend, baskets, categories, habits, profile, calendar), the most important "
            "first in each group. Values computed from others follow your edits (the days "
            "since the last purchase in usual gaps follows the days since the last "
            "purchase). Values must be possible together, and each is refused with a "
            "message otherwise: counts and durations are not negative, shares lie between "
            "0 and 1; the last purchase is not before the first; a shorter window never "
            "holds more than a longer one (spend may exceed it by what was returned); a "
            "purchase in a window puts the last purchase inside it, and a last purchase "
            "inside a window means a purchase (or a return) in it; spend in a window needs a "
            "purchase in it; the smallest basket is at most the average, the average at "
            "most the largest; category shares add up to at most 1; and no value lies far "
            "outside the training data (over ten times its largest size there, or a loyalty "
            "tier or segment code it never holds)."
        )
        with gr.Row():
            cid = gr.Textbox(label="Start from customer", placeholder=state.examples[0], scale=2)
            served.refreshes(cid, lambda s: gr.update(placeholder=s.examples[0], value=""))
            load = gr.Button("Load customer", scale=1)
            typical = gr.Button("Load typical values", scale=1)
        start_table, start_reply, start_exact, *_ = load_typical(state)
        table = gr.Dataframe(
            value=start_table, datatype=["str"] * len(TABLE_COLUMNS),
            static_columns=[0, 1, 3, 4, 5, 6], interactive=True, max_height=720,
            label="Features (edit the value column)",
        )  # fmt: skip
        button = gr.Button("Predict with these values", variant="primary")
        text = gr.Markdown()
        result = gr.Dataframe(
            value=empty(prediction_columns(state) + CHANGE_COLUMNS),
            label=f"Next 30 days ({state.currency})", interactive=False,
        )  # fmt: skip
        previous, exact = gr.State(start_reply), gr.State(start_exact)
        with gr.Accordion("Request and reply (JSON)", open=False):
            features = gr.JSON(label="Features sent to /predict_features")
            reply = gr.JSON(label="/predict_features")
    _wire(served, cid, load, typical, table, button, text, result, previous, exact, features, reply)


def _wire(served, cid, load, typical, table, button, text, result, previous, exact, features,
          reply) -> None:  # fmt: skip
    """Load a starting point; table -> features -> prediction -> what changed."""
    started = [table, previous, exact, text, result]
    load.click(served.bind(_refuse_unloadable), cid, None, api_visibility="private").success(
        served.bind(load_customer), cid, started, api_visibility="private"
    )
    typical.click(served.bind(load_typical), None, started, api_visibility="private")
    event = button.click(
        served.bind(features_of), [table, exact], features, api_visibility="private"
    )
    undone = served.bind(failed)
    event.failure(undone, table, [text, result, table, reply], api_visibility="private")
    predicted = event.success(
        served.bind(predict_features), features, reply, api_name="predict_features"
    )
    predicted.failure(undone, table, [text, result, table, reply], api_visibility="private")
    predicted.success(
        served.bind(show_whatif), [reply, previous, table, features], [text, result, table],
        api_visibility="private",
    )  # fmt: skip
