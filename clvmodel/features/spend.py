"""How much each customer spent (net of returns) and in what baskets."""

from __future__ import annotations

import numpy as np

from clvmodel.features.history import History


def spend(h: History) -> dict[str, np.ndarray]:
    """Net spend over the lifetime and each window, its 30-day trend, the daily rate and
    what was returned."""
    sums = h.sums
    out = {"spend_lifetime": sums["amount"]}
    for d in h.config.windows:
        out[f"spend_{d}d"] = sums[f"spend_{d}d"]
    out["spend_trend_30d"] = sums["spend_30d"] - sums["prior_30d"]
    days = h.grouped["age"].max().to_numpy()  # days since the first transaction
    out["daily_spend_rate"] = out["spend_lifetime"] / np.maximum(days, h.config.horizon)
    out["returns_365d"] = sums["returned"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["return_share"] = sums["returned"] / h.gross
    return out


def baskets(h: History) -> dict[str, np.ndarray]:
    """Size of the customer's purchases (returns left out)."""
    basket = h.grouped["purchase_amount"]
    return {
        "basket_mean": basket.mean().to_numpy(),
        "basket_max": basket.max().to_numpy(),
        "basket_min": basket.min().to_numpy(),
        "basket_std": basket.std().to_numpy(),
    }


def items_per_basket(h: History) -> dict[str, np.ndarray]:
    """Items per purchase."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"items_per_basket": h.sums["n_items"] / h.purchases}
