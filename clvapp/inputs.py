"""What a person types, checked and turned into what the library takes, with messages that
say what to fix: a customer ID, an as-of date, a profile filter and a breakdown.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from clvapp.state import AppState, Served
from clvmodel import dates, forecast, ids

__all__ = [
    "NONE",
    "PROFILE_LABELS",
    "breakdown",
    "breakdown_choices",
    "check_as_of",
    "check_id",
    "filter_inputs",
    "id_problem",
    "known",
    "profile_label",
    "refresh_filter_inputs",
    "where",
]  # fmt: skip

#: The choice "no filter" / "no breakdown" of the dropdowns.
NONE = "(none)"
MAX_ID_LENGTH = 64

#: The profile columns in words (what the dropdowns, headlines and tables show).
PROFILE_LABELS = {
    "segment": "segment",
    "loyalty_tier": "loyalty tier",
    "region": "region",
    "channel": "channel",
    "store": "store",
}


def profile_label(column: str) -> str:
    """A profile column in words, e.g. "loyalty tier" for ``loyalty_tier``."""
    return PROFILE_LABELS.get(column, column.replace("_", " "))


def breakdown_choices(state: AppState) -> list[tuple[str, str]]:
    """The dropdown choices of a filter or breakdown: (words shown, column sent)."""
    return [(NONE, NONE), *[(profile_label(c), c) for c in state.breakdowns]]


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


LATER_OR_WHATIF = "Pick a later as_of date, or use the What-if tab"


def id_problem(
    state: AppState, cid: str, day: pd.Timestamp, *, instead: str = LATER_OR_WHATIF
) -> gr.Error:
    """Why a customer has no prediction as of `day`: unknown, or no history yet (and what
    to do `instead`)."""
    if not known(state, cid):
        return gr.Error(
            f"Unknown customer ID {cid!r}: it is not in the customer table. IDs look "
            f"like {state.examples[0]}; pick one of the examples."
        )
    return gr.Error(
        f"Customer {cid!r} has no purchase before {day:%Y-%m-%d}, so there is no "
        f"history to predict from. {instead}."
    )


def where(
    state: AppState, filter_column: str | None, filter_value: str | None, day: pd.Timestamp
) -> dict | None:
    """The filter as the model takes it, the value spelt as the breakdowns show it.

    Any group a breakdown shows can be filtered, ``unknown`` (no value) included, in any
    case and with spaces around it (:func:`clvmodel.forecast.profile_mask` compares the
    same way). A value without a column, a column without a value and a value nobody has
    get a message that says what to type.
    """
    column = (filter_column or "").strip()
    value = (filter_value or "").strip()
    if not column or column == NONE:
        if value:
            raise gr.Error(
                f"filter_value {value!r} needs a filter_column ('Only customers with'): "
                f"choose one of {', '.join(state.breakdowns)}, or leave filter_value empty."
            )
        return None
    column = _column(column, state.breakdowns)
    if column not in state.breakdowns:
        raise gr.Error(f"filter_column must be one of {state.breakdowns}; got {column!r}.")
    values = sorted(forecast.group_labels(state.source.profiles(day), column).unique())
    shown = ", ".join(values[:20]) + (" ..." if len(values) > 20 else "")
    if not value:
        raise gr.Error(
            f"Enter the {profile_label(column)} to keep in filter_value ('equal to'): {shown}."
        )
    found = _one_of(value, values)
    if found not in values:
        raise gr.Error(f"No customer has {profile_label(column)} = {value!r}. Values: {shown}.")
    return {column: found}


def _column(text: str, columns: list[str]) -> str:
    """The profile column named by its name or its words, in any case ("Loyalty tier")."""
    names = {c.casefold(): c for c in columns} | {profile_label(c).casefold(): c for c in columns}
    return names.get(text.casefold(), text)


def _one_of(text: str, options: list[str]) -> str:
    """`text` as spelt in `options`: itself, else its one case-insensitive match."""
    if text in options:
        return text
    folded = [o for o in options if o.casefold() == text.casefold()]
    return folded[0] if len(folded) == 1 else text


def breakdown(by: str | None, columns: list[str] | None = None) -> str | None:
    """The profile column to break down by, or None; named by its name or its words in
    any case when the `columns` are given (an unknown one is left for the library to name)."""
    by = (by or "").strip()
    if not by or by == NONE:
        return None
    return _column(by, columns) if columns else by


def refresh_filter_inputs(served: Served, column: gr.Dropdown, as_of: gr.Textbox) -> None:
    """The filter's columns and the as-of placeholder redone for a session's own data."""
    served.refreshes(column, lambda s: gr.update(choices=breakdown_choices(s), value=NONE))
    served.refreshes(as_of, lambda s: gr.update(placeholder=f"{s.default_as_of:%Y-%m-%d}"))


def filter_inputs(state: AppState) -> tuple[gr.Dropdown, gr.Textbox, gr.Textbox]:
    """The profile filter and the as-of date, as the Forecast and Customer lists tabs ask
    for them (custom values reach the handler, which names what is wrong)."""
    column = gr.Dropdown(
        choices=breakdown_choices(state),
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
