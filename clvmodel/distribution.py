"""A predictive distribution of 30-day spend: P(buy) × a lognormal amount if they buy.

Spend over 30 days is zero for most customers and heavy-tailed for the rest, so its
distribution is a hurdle: with probability ``1 - p`` nothing, otherwise a lognormal amount
whose log-mean comes from a regressor trained on buyers and whose spread is the
regressor's residual spread. Quantiles follow in closed form; they are consistent with the
purchase probability by construction (P10 is 0 whenever p < 0.9).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

QUANTILES = (0.1, 0.5, 0.9)


def fit_spend_if_buy(model, x: pd.DataFrame, y: np.ndarray):
    """Fit `model` on log spend of the rows that bought (y > 0); returns the model."""
    bought = y > 0
    return model.fit(x[bought], np.log(y[bought]))


def log_sigma(model, x: pd.DataFrame, y: np.ndarray) -> float:
    """Residual spread of log spend among buyers on held-out rows."""
    bought = y > 0
    return float(np.std(np.log(y[bought]) - model.predict(x[bought])))


def hurdle_quantiles(
    p: np.ndarray, mu: np.ndarray, sigma: float, taus: tuple[float, ...] = QUANTILES
) -> np.ndarray:
    """Quantiles (rows × taus) of 0 w.p. 1 - p, else LogNormal(mu, sigma).

    The tau-quantile is 0 when tau <= 1 - p, else the lognormal quantile at
    (tau - (1 - p)) / p.
    """
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1.0)[:, None]
    taus_ = np.asarray(taus, dtype=float)[None, :]
    inner = np.clip((taus_ - (1 - p)) / p, 1e-9, 1 - 1e-9)
    q = np.exp(np.asarray(mu, dtype=float)[:, None] + sigma * norm.ppf(inner))
    return np.where(taus_ <= 1 - p, 0.0, q)


def quantile_calibration(y: np.ndarray, q: np.ndarray, taus=QUANTILES) -> dict[str, dict]:
    """Share of outcomes strictly below and at-or-below each predicted quantile.

    With an atom at zero, a calibrated tau-quantile has P(y < q) <= tau <= P(y <= q).
    """
    y = np.asarray(y, dtype=float)[:, None]
    below, at_or_below = (y < q).mean(axis=0), (y <= q).mean(axis=0)
    return {
        f"p{round(t * 100)}": {"tau": t, "share_below": float(b), "share_at_or_below": float(a)}
        for t, b, a in zip(taus, below, at_or_below, strict=True)
    }
