"""The Customer lists tab: ranked lists of customers to act on (/customer_list)."""

from __future__ import annotations

import json

import gradio as gr
import pandas as pd

from clvapp.errors import reported
from clvapp.format import empty, in_currency, money_text, share_text, stale
from clvapp.inputs import (
    check_as_of,
    filter_inputs,
    profile_label,
    refresh_filter_inputs,
    where,
)
from clvapp.state import AppState, Served
from clvmodel import batch, lists
from clvmodel.forecast import UNKNOWN_GROUP
from clvmodel.model import PROBABILITY, REASONS

#: The reply's columns a person reads, in words (money columns get the currency added).
COLUMN_LABELS = {
    "rank": "Rank",
    "customer_id": "Customer",
    "days_since_last": "Days since last purchase",
    "expected_total": "Expected spend",
    PROBABILITY: "Chance of buying",
    "reason": "Why",
    "past_spend_365d": "Spent in the last 365 days",
    "main_category": "Buys most of",
    "loyal_category": "Loyal to",
    "loyal_share": "Share of their spend there",
    "categories_365d": "Categories bought in the last 365 days",
}
_MONEY = ("expected_", "past_spend_365d")
_SHARES = (PROBABILITY, "loyal_share")
_COUNTS = ("days_since_last", "categories_365d", "rank")
_PROFILES = ("segment", "loyalty_tier", "region", "channel", "store")
EMPTY_COLUMNS = ["rank", "customer_id", "expected_total", PROBABILITY, "reason"]


def column_label(column: str, currency: str) -> str:
    """What a list table's header says for a reply column."""
    if column.startswith("expected_") and column != "expected_total":
        label = f"Expected on {column.removeprefix('expected_')}"
    elif column in _PROFILES:
        label = profile_label(column).capitalize()
    else:
        label = COLUMN_LABELS.get(column, column.replace("_", " ").capitalize())
    return in_currency(label, currency) if column.startswith(_MONEY) else label


def _reasons(state: AppState, listed: pd.DataFrame, day: pd.Timestamp) -> list[str]:
    """The reasons of the listed customers only, made on request."""
    explained = state.scorer.score(listed["customer_id"].tolist(), as_of=day)
    reasons = explained[REASONS].fillna("").agg(lambda r: "; ".join(v for v in r if v), axis=1)
    return reasons.to_numpy()


def _minimum(min_expected: object) -> float | None:
    """The minimum expected spend as a number; empty or 0 means none."""
    if min_expected is None or (isinstance(min_expected, str) and not min_expected.strip()):
        return None
    try:
        value = float(min_expected)
    except (TypeError, ValueError):
        raise gr.Error(
            f"min_expected must be an amount, e.g. 5000; got {min_expected!r}."
        ) from None
    # 0 is what an empty number field sends: no minimum (every expected spend is >= 0).
    return None if pd.isna(value) or value == 0 else value


@reported
def customer_list(
    state: AppState,
    kind: str = "top",
    n: int = 100,
    target: str = "total",
    filter_column: str | None = None,
    filter_value: str | None = None,
    as_of: str | None = None,
    min_expected: float | None = None,
) -> dict:
    """A ranked list of customers to act on, with profile, expected spend, P(buy), reasons.

    Args:
        kind: "top" (highest expected spend), "lapse" (high past spend, unlikely to buy),
            "cross_sell" (spend little or nothing in the target category), "new"
            (signed up, never bought), "category_loyal" (over 70% of their spend in one
            category, ranked by expected spend in it) or "multi_category" (bought in 3 or
            more categories in the last 365 days).
        n: how many customers, 1 to 10,000.
        target: "total" or a category (for cross_sell: the category to sell; for
            category_loyal: the category they are loyal to, "total" for any).
        filter_column / filter_value: keep only customers with this profile value (any
            case; "unknown" for those without one).
        as_of: date, YYYY-MM-DD; empty for the day after the data.
        min_expected: top only: the least expected spend on target (high-value customers
            above a threshold); empty for none.
    """
    day = check_as_of(state, as_of)
    state.scorer.warm(day)
    scores = state.scorer.scores(day, reasons=False)
    keep = where(state, filter_column, filter_value, day)
    minimum = _minimum(min_expected)
    try:
        n = int(float(n))
    except (TypeError, ValueError) as exc:
        raise gr.Error(f"n must be a whole number of customers; got {n!r}.") from exc
    listed = lists.customer_list(
        scores, state.source.profiles(day), state.source.list_features(day), kind=kind, n=n,
        target=target, where=keep, categories=state.model.categories, min_expected=minimum,
    )  # fmt: skip
    if len(listed):
        listed["reason"] = _reasons(state, listed, day)
    listed = listed.astype({c: "object" for c in listed.columns if c == "days_since_last"})
    return {
        "as_of": f"{day:%Y-%m-%d}",
        "kind": kind,
        "target": target,
        "filter": keep,
        "rule": lists.describe(kind, target, minimum),
        "rows": json.loads(listed.to_json(orient="records")),
        "currency": state.currency,
        "model_version": state.version,
        "min_expected": minimum,
    }


def _target_for_kind(state: AppState, kind: str, target: str) -> str:
    """A cross-sell list is for one category: switch away from "total" when it is chosen."""
    spec = lists.KINDS.get(kind)
    if spec and spec.category_target and target == "total" and state.model.categories:
        return state.model.categories[0]
    return target


def _minimum_for_kind(kind: str) -> dict:
    """The minimum expected spend is shown (and sent) only for the kinds that take it."""
    spec = lists.KINDS.get(kind)
    return gr.update(visible=bool(spec and "min_expected" in spec.options), value=None)


#: Column widths in the browser: the reasons wide and wrapped, the rest wide enough for
#: their headers (sized by their contents alone, short numbers squeezed them letter by letter).
_WIDTHS = {"rank": 64, "customer_id": 100, PROBABILITY: 96, "reason": 440, "store": 72}


def column_widths(columns: list[str]) -> list[str]:
    """The browser widths of a shown list's columns (its reply names, in shown order)."""
    return [f"{_WIDTHS.get(c, 130 if c.startswith(_MONEY) else 110)}px" for c in columns]


def _shown_order(columns: list[str]) -> list[str]:
    """Who, how much, how likely and why first; then the kind's own columns, the profile
    and the per-category spend (the reply keeps its own order)."""
    first = [c for c in ("rank", "customer_id", "expected_total", PROBABILITY) if c in columns]
    per_category = [c for c in columns if c.startswith("expected_") and c not in first]
    profile = [c for c in (*_PROFILES, "days_since_last") if c in columns]
    known = {*first, *per_category, *profile, "reason"}
    extra = [c for c in columns if c not in known]
    return [*first, *extra, *(["reason"] if "reason" in columns else []), *profile, *per_category]


def shown_table(table: pd.DataFrame, currency: str) -> pd.DataFrame:
    """A list as a person reads it: headers in words, money with separators, shares as
    percentages, whole days, "unknown" where a profile has no value."""
    shown = table[_shown_order(list(table.columns))].copy()
    for c in shown.columns:
        if c.startswith(_MONEY):
            shown[c] = shown[c].map(money_text)
        elif c in _SHARES:
            shown[c] = shown[c].map(share_text)
        elif c in _COUNTS:
            shown[c] = shown[c].map(lambda v: "" if v is None or pd.isna(v) else f"{v:,.0f}")
        elif c in _PROFILES:
            shown[c] = shown[c].where(shown[c].notna(), UNKNOWN_GROUP)
    shown.columns = [column_label(c, currency) for c in shown.columns]
    return shown


def show_list(state: AppState, reply: dict):
    """The customer-lists tab's headline, table (with its column widths) and files from a
    /customer_list reply."""
    table = pd.DataFrame(reply["rows"])
    if table.empty:
        table = empty(EMPTY_COLUMNS)
    folder = state.request_folder()
    csv_path, xlsx_path = batch.write_results(table, folder, stem=f"customers_{reply['kind']}")
    label = lists.KINDS[reply["kind"]].label
    text = f"{len(reply['rows']):,} customers. **{label}**: {reply['rule']}."
    widths = column_widths(_shown_order(list(table.columns)))
    shown = gr.update(value=shown_table(table, state.currency), column_widths=widths)
    return text, shown, str(csv_path), str(xlsx_path)


def build(served: Served) -> None:
    state = served.current()
    with gr.Tab("Customer lists"):
        gr.Markdown(
            "Ranked lists to act on: " + "; ".join(
                f"**{k.label}**: {k.rule.replace('`target`', '*Spend on*')}"
                for k in lists.KINDS.values()) + "."
        )  # fmt: skip
        with gr.Row():
            kind = gr.Radio(
                choices=[(k.label, name) for name, k in lists.KINDS.items()], value="top",
                label="List", scale=2,
            )  # fmt: skip
            target = gr.Dropdown(
                choices=state.spend_targets, value="total", label="Spend on",
                allow_custom_value=True, scale=1,
            )  # fmt: skip
            n = gr.Number(value=100, precision=0, minimum=1, label="How many", scale=1)
            minimum = gr.Number(
                value=None, minimum=0, label=in_currency("Expected spend at least", state.currency),
                info="0: no minimum", scale=1, elem_id="list-min-expected",
            )  # fmt: skip
        with gr.Row():
            filter_column, filter_value, as_of = filter_inputs(state)
            refresh_filter_inputs(served, filter_column, as_of)
            served.refreshes(target, lambda s: gr.update(choices=s.spend_targets, value="total"))
            button = gr.Button("Make the list", variant="primary", scale=1)
        headline = gr.Markdown()
        table = gr.Dataframe(
            value=shown_table(empty(EMPTY_COLUMNS), state.currency), label="Customers",
            interactive=False, max_height=480, wrap=True,
            column_widths=column_widths(_shown_order(EMPTY_COLUMNS)),
        )  # fmt: skip
        with gr.Row():
            csv = gr.File(label="List (CSV)", height=90, interactive=False, elem_id="list-csv")
            xlsx = gr.File(label="List (Excel)", height=90, interactive=False, elem_id="list-xlsx")
        with gr.Accordion("Raw reply (JSON)", open=False):
            reply = gr.JSON(label="/customer_list")
    kind.change(served.bind(_target_for_kind), [kind, target], target, api_visibility="private")
    kind.change(_minimum_for_kind, kind, minimum, api_visibility="private")
    event = button.click(
        served.bind(customer_list), [kind, n, target, filter_column, filter_value, as_of, minimum],
        reply, api_name="customer_list",
    )  # fmt: skip
    outputs = [headline, table, csv, xlsx]
    cleared = shown_table(empty(EMPTY_COLUMNS), state.currency)
    event.failure(stale(cleared, None, None), None, outputs, api_visibility="private")
    event.success(served.bind(show_list), reply, outputs, api_visibility="private")
