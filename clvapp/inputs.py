"""What a person types, checked and turned into what the library takes, with messages that
say what to fix: a customer ID, an as-of date, a profile filter and a breakdown.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from clvapp.state import AppState
from clvmodel import dates, ids

__all__ = [
    "NONE", "breakdown", "check_as_of", "check_id", "filter_inputs", "id_problem", "known", "where",
]  # fmt: skip

#: The choice "no filter" / "no breakdown" of the dropdowns.
NONE = "(none)"
MAX_ID_LENGTH = 64


def known(state: AppState, cid: str) -> bool:
    """The source's ID index answers (its lookup table is built while warming)."""
    return cid in state.source.customer_ids


def check_id(state: AppState, customer_id: object) -> str:
    """The customer the typed ID names (:func:`clvmodel.ids.match_ids`: spaces around it
    and, for a unique match, case do not count), else the ID trimmed."""
    text = ids.trimmed([customer_id]).iloc[0]
    example = state.examples[0]
    if not text:
        raise gr.Error(f"Enter a customer ID, e.g. {example}.")
    if len(text) > MAX_ID_LENGTH:
        raise gr.Error(f"customer_id is {len(text)} characters long; IDs look like {example}.")
    known_ids = state.source.customer_ids
    return ids.match_ids([text], known_ids, folded=lambda: state.ids_by_case).iloc[0]


def check_as_of(state: AppState, as_of: object) -> pd.Timestamp:
    """The as-of day (:func:`clvmodel.dates.check_as_of`: empty means the day after the
    data's last transaction), with messages that give an example from the data."""
    text = "" if as_of is None else str(as_of).strip()
    latest = state.default_as_of
    try:
        day = dates.as_day(text) if text else None
    except ValueError:
        raise gr.Error(
            f"as_of must be a date like {latest:%Y-%m-%d}; got {text!r}. Write it "
            f"{dates.ISO_DAY}: a date in another form is never guessed (01/06/2026 could be "
            "1 June or 6 January)."
        ) from None
    try:
        return dates.check_as_of(day, latest)
    except ValueError:
        raise gr.Error(
            f"as_of must be on or before {latest:%Y-%m-%d}, the day after the last "
            f"transaction in the data; got {day:%Y-%m-%d}. Leave it empty for the latest date."
        ) from None


def id_problem(state: AppState, cid: str, day: pd.Timestamp) -> gr.Error:
    """Why a customer has no prediction as of `day`: unknown, or no history yet."""
    if not known(state, cid):
        return gr.Error(
            f"Unknown customer ID {cid!r}: it is not in the customer table. IDs look "
            f"like {state.examples[0]}; pick one of the examples."
        )
    return gr.Error(
        f"Customer {cid!r} has no purchase before {day:%Y-%m-%d}, so there is no "
        "history to predict from. Pick a later as_of date, or use the What-if tab."
    )


def where(
    state: AppState, filter_column: str | None, filter_value: str | None, day: pd.Timestamp
) -> dict | None:
    """The filter as the model takes it; a clear message for a value nobody has."""
    column = (filter_column or "").strip()
    if not column or column == NONE:
        return None
    if column not in state.breakdowns:
        raise gr.Error(f"filter_column must be one of {state.breakdowns}; got {column!r}.")
    value = (filter_value or "").strip()
    values = sorted(state.source.profiles(day)[column].dropna().astype("str").unique())
    if value not in values:
        shown = ", ".join(values[:20]) + (" ..." if len(values) > 20 else "")
        raise gr.Error(f"No customer has {column} = {value!r}. Values: {shown}.")
    return {column: value}


def breakdown(by: str | None) -> str | None:
    """The profile column to break down by, or None."""
    by = (by or "").strip()
    return None if not by or by == NONE else by


def filter_inputs(state: AppState) -> tuple[gr.Dropdown, gr.Textbox, gr.Textbox]:
    """The profile filter and the as-of date, as the Forecast and Customer lists tabs ask
    for them (custom values reach the handler, which names what is wrong)."""
    column = gr.Dropdown(
        choices=[NONE, *state.breakdowns],
        value=NONE,
        label="Only customers with",
        allow_custom_value=True,
        scale=1,
    )
    value = gr.Textbox(label="equal to", placeholder="premium", scale=1)
    as_of = gr.Textbox(
        label="As of (optional)", placeholder=f"{state.default_as_of:%Y-%m-%d}", scale=1
    )
    return column, value, as_of
