"""How each customer shops: at weekends, online, on promotion."""

from __future__ import annotations

import numpy as np

from clvmodel.features.history import History


def _share(counts: np.ndarray, of: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return counts / of


def weekend_share(h: History) -> dict[str, np.ndarray]:
    return {"weekend_share": _share(h.sums["weekend"], h.purchases)}


def online_share(h: History) -> dict[str, np.ndarray]:
    return {"online_share": _share(h.sums["online"], h.purchases)}


def promotion_shares(h: History) -> dict[str, np.ndarray]:
    """Purchases on promotion, and the discount as a share of the value bought."""
    return {
        "promo_share": _share(h.sums["promoted"], h.purchases),
        "discount_share": _share(h.sums["discount"], h.gross),
    }
