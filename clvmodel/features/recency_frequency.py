"""How recently and how often each customer bought: recency, gaps, purchase counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvmodel.features.history import History


def recency(h: History) -> dict[str, np.ndarray]:
    """Days since the last and first transaction, gaps between purchase days, and how
    overdue the customer is in their own gaps (NaN with fewer than two purchase days)."""
    out = {
        "days_since_last": h.grouped["age"].min().to_numpy(),
        "days_since_first": h.grouped["age"].max().to_numpy(),
    }
    gaps = _purchase_gaps(h)
    out["gap_mean_days"] = h.by_customer(gaps.mean())
    out["gap_std_days"] = h.by_customer(gaps.std())
    with np.errstate(divide="ignore", invalid="ignore"):
        out["overdue_ratio"] = out["days_since_last"] / out["gap_mean_days"]
    return out


def _purchase_gaps(h: History) -> pd.core.groupby.SeriesGroupBy:
    """Days between each customer's distinct purchase days, grouped by customer code."""
    bought = h.bought
    c, a = h.customer[bought], h.age[bought]
    order = np.lexsort((-a, c))  # each customer's days, oldest first
    c, a = c[order], a[order]
    repeat = np.zeros(len(c), dtype=bool)  # a day the customer already bought on
    repeat[1:] = (c[1:] == c[:-1]) & (a[1:] == a[:-1])
    c, a = c[~repeat], a[~repeat]
    gap = np.full(len(c), np.nan)
    later = np.flatnonzero(c[1:] == c[:-1]) + 1  # not the customer's first day
    gap[later] = a[later - 1] - a[later]
    return pd.Series(gap).groupby(c)


def purchase_counts(h: History) -> dict[str, np.ndarray]:
    """Purchases (returns are not) over the customer's lifetime and each window."""
    out = {"txn_count_lifetime": h.sums["bought"]}
    for d in h.config.windows:
        out[f"txn_count_{d}d"] = h.sums[f"txn_count_{d}d"]
    return out
