"""What each customer buys of each category: spend per window, items, share of spend.

A customer who never bought a category has 0 for it, and so has everyone for a category
of the model that the data lacks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvmodel.features.history import History


def _zero_if_missing(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), 0.0, values)


def categories(h: History) -> dict[str, np.ndarray | float]:
    """``n_categories`` and, per category of the config, spend over each category window,
    items bought in the last 365 days and the share of the value bought."""
    category, cats = pd.factorize(h.lines["category"])
    out: dict[str, np.ndarray | float] = {
        "n_categories": h.distinct(h.line_customer, category, len(cats))
    }
    if not h.config.categories:
        return out
    sums, pair_customer, pair_category = _category_sums(h, category, len(cats))
    windows = h.config.category_windows
    for c in h.config.categories:
        if c not in cats:
            out |= {f"spend_{c}_{d}d": 0.0 for d in windows}
            out |= {f"lines_{c}_365d": 0.0, f"share_{c}": 0.0}
            continue
        j = cats.get_loc(c)
        this, at = sums[pair_category == j], pair_customer[pair_category == j]
        for d in windows:
            out[f"spend_{c}_{d}d"] = _zero_if_missing(h.by_customer(this[f"w{d}"], at))
        out[f"lines_{c}_365d"] = _zero_if_missing(h.by_customer(this["n365"], at))
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.clip(h.by_customer(this["amount"], at) / h.gross, 0.0, 1.0)
        out[f"share_{c}"] = _zero_if_missing(share)
    return out


def _category_sums(
    h: History, category: np.ndarray, k: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Line sums per (customer, category) pair that has lines, with the pairs' codes."""
    lines = h.lines
    line_age = (h.cutoff - lines["date"]).dt.days.to_numpy()
    line_amount = lines["amount"].to_numpy()
    columns = {"amount": line_amount}
    columns |= {f"w{d}": line_amount * (line_age <= d) for d in h.config.category_windows}
    columns["n365"] = (line_age <= 365) & (line_amount > 0)
    by_cat = pd.DataFrame(columns)
    k = max(k, 1)
    ok = (h.line_customer >= 0) & (category >= 0)
    pair = h.line_customer.astype(np.int64) * k + category  # (customer, category) codes
    sums = (by_cat if ok.all() else by_cat[ok]).groupby(pair[ok]).sum()
    pair_customer, pair_category = np.divmod(sums.index.to_numpy(), k)
    return sums, pair_customer, pair_category
