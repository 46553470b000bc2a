"""One customer's prediction: the reply of /predict_customer and /predict_features, and
how the lookup and what-if tabs show it (a headline and a table)."""

from __future__ import annotations

import pandas as pd

from clvapp.format import money, money_text, share_text
from clvapp.state import AppState
from clvmodel.model import MEDIAN, PROBABILITY, REASONS

__all__ = ["CHANGE_COLUMNS", "customer_reply", "headline", "prediction_columns", "prediction_table"]

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
        "reasons": [str(row[r]) for r in REASONS if isinstance(row.get(r), str) and row[r]],
        "cold_start": bool(row.get("cold_start", False)),
        "as_of": as_of,
        "currency": state.currency,
        "model_version": state.version,
    }


def prediction_columns(state: AppState) -> list[str]:
    return ["target", f"expected ({state.currency})", "80% low", "80% high"]


def prediction_table(state: AppState, reply: dict, previous: dict | None = None) -> pd.DataFrame:
    """Expected spend and interval per target, then P(buy), formatted; with a starting
    point, each prediction's change from it too."""
    rows = []
    for t in state.spend_targets:
        low, high = reply[state.interval_key][t]
        now = reply["predicted_30d_spend"][t]
        row = [t, money_text(now), money_text(low), money_text(high)]
        if previous is not None:
            before = previous["predicted_30d_spend"][t]
            row += [money_text(before), f"{now - before:+,.2f}"]
        rows.append(row)
    p = reply["purchase_probability"]
    row = ["probability of buying", share_text(p), "", ""]
    if previous is not None:
        before = previous["purchase_probability"]
        row += [share_text(before), f"{(p - before) * 100:+.1f} pts"]
    rows.append(row)
    columns = prediction_columns(state) + (CHANGE_COLUMNS if previous is not None else [])
    return pd.DataFrame(rows, columns=columns)


def headline(state: AppState, reply: dict) -> str:
    total = reply["predicted_30d_spend"]["total"]
    low, high = reply[state.interval_key]["total"]
    who = f"**{reply['customer_id']}**, as of {reply['as_of']}: e" if reply["customer_id"] else "E"
    return (
        f"{who}xpected spend in the next 30 days **{state.currency} {total:,.2f}** "
        f"(80% interval {low:,.2f} to {high:,.2f}); probability of buying at all "
        f"**{reply['purchase_probability']:.1%}**. Model {reply['model_version']}."
    )
