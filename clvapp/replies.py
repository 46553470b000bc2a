"""One customer's prediction: the reply of /predict_customer and /predict_features, and
how the lookup and what-if tabs show it (a headline and a table).

The headline reads the predictive distribution the way people think of it: the chance of
buying, the amount if they buy (typical, and its interval), and the average over both
outcomes, which is the expected spend. All three come from the same row of scores.
"""

from __future__ import annotations

import math

import pandas as pd

from clvapp.format import in_currency, money, money_text, share_text
from clvapp.state import AppState
from clvmodel.columns import IF_BUY
from clvmodel.model import MEDIAN, PROBABILITY, REASONS

__all__ = [
    "CHANGE_COLUMNS",
    "customer_reply",
    "headline",
    "hurdle_text",
    "prediction_columns",
    "prediction_table",
    "rounded",
]

CHANGE_COLUMNS = ["starting point", "change"]


def customer_reply(
    state: AppState, row: pd.Series, *, customer_id: str | None, as_of: str | None
) -> dict:
    """The seed service's reply shape, with plain floats, from a row of scores."""
    targets = state.spend_targets
    low, high = state.levels
    return {
        "customer_id": customer_id,
        "predicted_30d_spend": {t: money(row[f"predicted_{t}"]) for t in targets},
        state.interval_key: {
            t: [money(row[f"predicted_{t}_low"]), money(row[f"predicted_{t}_high"])]
            for t in targets
        },
        "purchase_probability": round(float(row[PROBABILITY]), 4),
        # Quantiles of the same distribution as the interval: its ends are P10 and P90.
        "spend_distribution": {
            f"p{round(low * 100)}": money(row["predicted_total_low"]),
            "p50": money(row[MEDIAN]),
            f"p{round(high * 100)}": money(row["predicted_total_high"]),
        },
        # The amount if they buy: the same distribution given a purchase (mean = expected
        # spend / purchase probability).
        "spend_if_buy": {
            "mean": money(row[IF_BUY[0]]),
            f"p{round(low * 100)}": money(row[IF_BUY[1]]),
            "p50": money(row[IF_BUY[2]]),
            f"p{round(high * 100)}": money(row[IF_BUY[3]]),
        },
        "horizon_days": state.model.feature_config_.horizon,
        "reasons": [str(row[r]) for r in REASONS if isinstance(row.get(r), str) and row[r]],
        "cold_start": bool(row.get("cold_start", False)),
        "as_of": as_of,
        "currency": state.currency,
        "model_version": state.version,
    }


def prediction_columns(state: AppState) -> list[str]:
    level = round(state.model.interval * 100)
    return ["target", in_currency("expected", state.currency), f"{level}% low", f"{level}% high"]


#: The prediction table's row of the amount if they buy.
IF_BUY_ROW = "total, if they buy"


def prediction_table(state: AppState, reply: dict, previous: dict | None = None) -> pd.DataFrame:
    """Expected spend and interval per target (total's followed by the amount if they
    buy), then P(buy), formatted; with a starting point, each prediction's change from it
    too."""
    rows = []
    for t in state.spend_targets:
        low, high = reply[state.interval_key][t]
        now = reply["predicted_30d_spend"][t]
        row = [t, money_text(now), money_text(low), money_text(high)]
        if previous is not None:
            before = previous["predicted_30d_spend"][t]
            row += [money_text(before), f"{now - before:+,.2f}"]
        rows.append(row)
        if t == "total":
            rows.append(_if_buy_row(state, reply, previous))
    p = reply["purchase_probability"]
    row = ["probability of buying", share_text(p), "", ""]
    if previous is not None:
        before = previous["purchase_probability"]
        row += [share_text(before), f"{(p - before) * 100:+.1f} pts"]
    rows.append(row)
    columns = prediction_columns(state) + (CHANGE_COLUMNS if previous is not None else [])
    return pd.DataFrame(rows, columns=columns)


def _if_buy_row(state: AppState, reply: dict, previous: dict | None) -> list[str]:
    """Mean and interval of total spend if they buy, as a row of :func:`prediction_table`."""
    low, high = (f"p{round(q * 100)}" for q in state.levels)
    now = reply["spend_if_buy"]
    row = [IF_BUY_ROW, money_text(now["mean"]), money_text(now[low]), money_text(now[high])]
    if previous is not None:
        before = previous["spend_if_buy"]["mean"]
        row += [money_text(before), f"{now['mean'] - before:+,.2f}"]
    return row


def rounded(x: float) -> str:
    """An amount as a person says it: two significant figures, thousands separators
    (2,437.10 -> "2,400"; 912 -> "910"; 7.8 -> "7.8"; 0 -> "0")."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    digits = 1 - math.floor(math.log10(abs(x)))  # two significant figures
    value = round(x, digits) + 0.0
    return f"{value:,.{max(digits, 0)}f}"


def _chance(p: float) -> str:
    """A probability in whole percent, never a misleading 0% or 100%."""
    if 0 < p < 0.005:
        return "under 1%"
    if 0.995 <= p < 1:
        return "over 99%"
    return f"{p:.0%}"


def hurdle_text(state: AppState, reply: dict) -> str:
    """The chance of buying, the amount if they buy and the average, in three lines."""
    horizon, level = reply["horizon_days"], round(state.model.interval * 100)
    if_buy, currency = reply["spend_if_buy"], f"{state.currency} " if state.currency else ""
    low, high = state.levels
    lo, hi = if_buy[f"p{round(low * 100)}"], if_buy[f"p{round(high * 100)}"]
    average = reply["predicted_30d_spend"]["total"]
    return (
        f"Chance of buying in the next {horizon} days: **{_chance(reply[PROBABILITY])}**  \n"
        f"If they buy: typically **{currency}{rounded(if_buy['p50'])}** "
        f"({level}%: {rounded(lo)} to {rounded(hi)})  \n"
        f"On average: **{currency}{money_text(average)}** (the chance times the average "
        "amount if they buy)"
    )


def headline(state: AppState, reply: dict) -> str:
    """Who and when, then :func:`hurdle_text`, then the model's version."""
    who = f"**{reply['customer_id']}**, as of {reply['as_of']}\n\n" if reply["customer_id"] else ""
    return f"{who}{hurdle_text(state, reply)}\n\nModel {reply['model_version']}."
