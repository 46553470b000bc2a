"""How the app writes numbers and tables: money, shares, metrics, feature values, and the
empty tables an output shows before (or after a failed) request.

The API replies keep plain rounded numbers (:func:`money`, :func:`number`); what a person
reads in the tabs is text (the ``*_text`` functions).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from clvmodel import catalogue

__all__ = [
    "STALE",
    "empty",
    "in_currency",
    "metric_text",
    "money",
    "money_text",
    "number",
    "share_text",
    "stale",
    "value_text",
]

STALE = (
    "**The last request failed** (the message says why): nothing here is an answer to it. "
    "Fix the input and try again."
)


def money(x: float) -> float:
    """Money in a reply: a plain float, to the cent."""
    return round(float(x), 2)


def number(x: object, digits: int = 4) -> float | None:
    """A JSON-safe number: NaN and infinities become None."""
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if pd.notna(x) and abs(x) != float("inf") else None


def _unsigned_zero(text: str) -> str:
    """A number shown without a sign when every digit shown is zero: -0.0001 reads
    "0.000", not "-0.000" (a metric a hair below zero looked like a negative one)."""
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def in_currency(label: str, currency: str) -> str:
    """A money label with its currency, e.g. "Expected (INR)"; the bare label without one."""
    return f"{label} ({currency})" if currency else label


def money_text(x: object) -> str:
    """Money as a person reads it: thousands separators, cents; empty when missing."""
    return "" if x is None or pd.isna(x) else _unsigned_zero(f"{float(x):,.2f}")


def share_text(x: object) -> str:
    """A share or probability as a percentage to one decimal; empty when missing."""
    return "" if x is None or pd.isna(x) else _unsigned_zero(f"{float(x):.1%}")


def metric_text(x: object) -> str:
    """A metric: large ones (money) as whole numbers with separators, small ones to 3 places."""
    if x is None or pd.isna(x):
        return ""
    return _unsigned_zero(f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3f}")


def value_text(feature: str, value: float | None) -> str:
    """A feature's value in its unit (days, money, %...), as the reason codes print it."""
    if value is None or pd.isna(value):
        return "none"
    unit = catalogue.feature_info(feature).unit
    decimals = 2 if unit in ("money", "money_change") else catalogue.UNITS[unit].decimals
    return str(catalogue.format_values(pd.Series([value]).to_numpy(), unit, decimals)[0])


def empty(columns: list[str]) -> pd.DataFrame:
    """A table with headers and no rows: what an output shows before (or after a failed)
    request, instead of Gradio's placeholder headers 1, 2, 3."""
    return pd.DataFrame(columns=columns)


def stale(*cleared: object) -> Callable[[], tuple]:
    """A failure handler: the stale notice, then the outputs set to `cleared` (None, or an
    empty table that keeps its headers)."""

    def clear() -> tuple:
        return (STALE, *cleared)

    return clear
