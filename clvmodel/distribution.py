"""The one predictive distribution of a customer's spend, from which every number derives.

Spend over the horizon is zero for most customers and heavy-tailed for the rest, so it is
a hurdle: nothing with probability ``1 - p``, otherwise a lognormal amount. The model's
expected spend ``m`` and purchase probability ``p`` fix it, with one spread ``sigma`` of
log spend fitted on held-out rows: the amount if they buy has mean ``m / p``, so the
distribution's mean is ``m``, its P(spend > 0) is ``p``, and its quantiles follow in
closed form. The 80% interval is [P10, P90] of that same distribution.

Categories are a split of the basket: a customer's spend in category c is ``share_c``
times their total, with the shares of the reconciled expected spends
(:func:`category_shares`). So category means add up to the total's, a category's quantile
is never above the total's, and no bound is negative.

An expected value can sit above P90: a customer who probably buys nothing (p < 0.1) has
P90 = 0 while their expected spend is positive. The amount if they buy
(:func:`amount_if_buy`) is the same distribution's lognormal part on its own: its mean
``m / p``, times ``p``, is the expected spend, and its quantiles are those a person reads
as "if they buy: typically ...".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from clvmodel.columns import IF_BUY, MEDIAN, PROBABILITY

__all__ = [
    "SIGMA_GRID",
    "amount_if_buy",
    "category_shares",
    "fit_sigma",
    "interval_quantiles",
    "pinball_loss",
    "quantile_calibration",
    "score_quantiles",
    "served_numbers",
    "spend_quantiles",
]

#: Smallest purchase probability used for the amount if they buy: keeps ``m / p`` finite.
_P_MIN = 1e-6
#: Candidate spreads of log spend, searched on held-out rows by :func:`fit_sigma`.
SIGMA_GRID: np.ndarray = np.round(np.arange(0.2, 3.01, 0.05), 2)


def interval_quantiles(level: float) -> tuple[float, float]:
    """The central interval's quantile levels: (0.1, 0.9) for 80%."""
    return (round((1 - level) / 2, 10), round((1 + level) / 2, 10))


def spend_quantiles(
    mean: np.ndarray, p: np.ndarray, sigma: float, q: Sequence[float]
) -> np.ndarray:
    """Quantiles (rows × q) of the hurdle with expected spend `mean` and P(buy) `p`.

    The q-quantile is 0 when q <= 1 - p (or the expected spend is 0), else the lognormal
    quantile at (q - (1 - p)) / p, the lognormal having mean ``mean / p``. Monotone in q.
    """
    q = _levels(q)
    mean, p, positive, mu = _amount_location(mean, p, sigma)
    inner = np.clip((q[None, :] - (1 - p)) / p, 1e-12, 1 - 1e-12)
    amount = np.exp(mu + sigma * norm.ppf(inner))
    return np.where((q[None, :] > 1 - p) & positive, amount, 0.0)


def amount_if_buy(
    mean: np.ndarray, p: np.ndarray, sigma: float, q: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The amount if they buy, of the hurdle with expected spend `mean` and P(buy) `p`:
    its mean ``mean / p`` (rows) and its quantiles (rows × q), 0 where `mean` is 0.

    The lognormal part of :func:`spend_quantiles`' distribution, the same numbers: the
    hurdle's q-quantile is this one's at ``(q - (1 - p)) / p``.
    """
    q = _levels(q)
    mean, p, positive, mu = _amount_location(mean, p, sigma)
    amount = np.exp(mu + sigma * norm.ppf(q)[None, :])
    conditional = np.where(positive, mean / p, 0.0)[:, 0]
    return conditional, np.where(positive, amount, 0.0)


def _levels(q: Sequence[float]) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    if np.any((q <= 0) | (q >= 1)):
        raise ValueError(f"quantile levels must lie strictly between 0 and 1; got {q.tolist()}.")
    return q


def _amount_location(mean: np.ndarray, p: np.ndarray, sigma: float) -> tuple:
    """Columns of the clipped mean and P(buy), where the mean is positive, and the log
    location ``mu`` of the lognormal amount whose mean is ``mean / p``."""
    mean = np.clip(np.asarray(mean, dtype=float), 0.0, None)[:, None]
    p = np.clip(np.asarray(p, dtype=float), _P_MIN, 1.0)[:, None]
    positive = mean > 0
    mu = np.log(np.where(positive, mean, 1.0) / p) - sigma**2 / 2
    return mean, p, positive, mu


def pinball_loss(y: np.ndarray, quantiles: np.ndarray, q: Sequence[float]) -> float:
    """Mean quantile (pinball) loss of rows × q predictions: a proper score for quantiles."""
    diff = np.asarray(y, dtype=float)[:, None] - quantiles
    tau = np.asarray(q, dtype=float)[None, :]
    return float(np.mean(np.maximum(tau * diff, (tau - 1) * diff)))


def fit_sigma(
    y: np.ndarray, mean: np.ndarray, p: np.ndarray, q: Sequence[float], grid=SIGMA_GRID
) -> float:
    """The spread of log spend whose quantiles `q` score best (pinball loss) on `y`.

    Fitted on held-out rows, with the mean and P(buy) the model serves: the interval ends
    are what users read, so they are what is scored.
    """
    losses = [pinball_loss(y, spend_quantiles(mean, p, s, q), q) for s in grid]
    return float(grid[int(np.argmin(losses))])


def category_shares(category_means: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """Each customer's split of the basket over categories (rows × categories, rows sum to 1).

    The shares of the categories' expected spends (clipped at 0); where every one is 0,
    the customer's historical shares (`fallback`), or an even split for a customer without.
    """
    cats = np.clip(np.asarray(category_means, dtype=float), 0.0, None)
    sums = cats.sum(axis=1, keepdims=True)
    n = cats.shape[1]
    if fallback is None:
        fallback = np.zeros_like(cats)
    fallback = np.nan_to_num(np.clip(np.asarray(fallback, dtype=float), 0.0, None))
    fsum = fallback.sum(axis=1, keepdims=True)
    even = np.full_like(cats, 1.0 / max(n, 1))
    backup = np.where(fsum > 0, fallback / np.where(fsum > 0, fsum, 1.0), even)
    return np.where(sums > 0, cats / np.where(sums > 0, sums, 1.0), backup)


def quantile_calibration(y: np.ndarray, quantiles: np.ndarray, q: Sequence[float]) -> dict:
    """Share of outcomes strictly below and at-or-below each predicted quantile.

    With an atom at zero, a calibrated q-quantile has P(y < Q) <= q <= P(y <= Q).
    """
    y = np.asarray(y, dtype=float)[:, None]
    below, at_or_below = (y < quantiles).mean(axis=0), (y <= quantiles).mean(axis=0)
    return {
        f"p{round(t * 100)}": {"tau": t, "share_below": float(b), "share_at_or_below": float(a)}
        for t, b, a in zip(q, below, at_or_below, strict=True)
    }


def _no_negative_zero(values: np.ndarray) -> np.ndarray:
    """Adding 0.0 turns -0.0 into 0.0 and leaves every other float as it is."""
    return np.asarray(values, dtype=float) + 0.0


def served_numbers(
    expected: dict[str, np.ndarray],
    sigma: float,
    fallback: np.ndarray | None,
    categories: Sequence[str],
    levels: tuple[float, float],
) -> dict[str, np.ndarray]:
    """Every served number of :func:`clvmodel.columns.prediction_columns` (reasons aside)
    from the expected spends per target and P(buy) (``expected["purchase"]``): the one
    place they are derived. `fallback`: each row's historical category shares, used where
    every category model predicts 0; `levels`: the interval's quantiles."""
    lo, hi = levels
    total = np.clip(expected["total"], 0.0, None)
    p = np.clip(expected["purchase"], 0.0, 1.0)
    q = spend_quantiles(total, p, sigma, (lo, 0.5, hi))
    out = {"predicted_total": total, "predicted_total_low": q[:, 0]}
    out["predicted_total_high"] = q[:, 2]
    if categories:
        shares = category_shares(np.column_stack([expected[c] for c in categories]), fallback)
        for i, c in enumerate(categories):
            out[f"predicted_{c}"] = shares[:, i] * total
            out[f"predicted_{c}_low"] = shares[:, i] * q[:, 0]
            out[f"predicted_{c}_high"] = shares[:, i] * q[:, 2]
    out[PROBABILITY] = p
    out[MEDIAN] = q[:, 1]
    conditional, amount = amount_if_buy(total, p, sigma, (lo, 0.5, hi))
    out |= dict(zip(IF_BUY, [conditional, *amount.T], strict=True))
    return {k: _no_negative_zero(v) for k, v in out.items()}


def score_quantiles(
    scores: pd.DataFrame,
    q: Sequence[float],
    sigma: float,
    cold_sigma: float | None,
    categories: Sequence[str],
) -> dict[str, pd.DataFrame]:
    """Quantiles `q` of every spend target from served rows (their expected total, P(buy)
    and category spends); rows flagged ``cold_start`` (if the column is there) use
    `cold_sigma`. Columns ``q<level>``, per target."""
    q = [float(v) for v in q]
    cold = scores["cold_start"].to_numpy(dtype=bool) if "cold_start" in scores else None
    total = scores["predicted_total"].to_numpy(dtype=float)
    p = scores[PROBABILITY].to_numpy(dtype=float)
    quant = spend_quantiles(total, p, sigma, q)
    if cold is not None and cold.any() and cold_sigma is not None:
        quant[cold] = spend_quantiles(total[cold], p[cold], cold_sigma, q)
    names = [f"q{v:g}" for v in q]
    out = {"total": pd.DataFrame(quant, index=scores.index, columns=names)}
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in categories:
            share = np.where(total > 0, scores[f"predicted_{c}"].to_numpy(dtype=float) / total, 0.0)
            out[c] = pd.DataFrame(
                _no_negative_zero(share[:, None] * quant), index=scores.index, columns=names
            )
    return out
