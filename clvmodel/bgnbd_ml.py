"""BG/NBD fitted by maximum likelihood with scipy: the probabilistic half of the hybrid model.

The boosted models learn spend from many features but extrapolate a customer's purchase
rate and drop-out less well than the BG/NBD model, whose Gamma and Beta priors shrink
sparse histories the right way. The hybrid blends the two. BG/NBD here needs only three
features per customer (repeat purchases, time of the last purchase, age since the first, in
days), so it scores from a feature table like every other model; its four parameters are
fitted once on the latest training cutoff and saved with the model (Fader, Hardie & Lee 2005).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1


def rfm(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) in days from the features: repeat purchases, last and first purchase age."""
    x = np.maximum(features["txn_count_lifetime"].to_numpy(dtype=float) - 1, 0.0)
    age = features["days_since_first"].to_numpy(dtype=float)
    t_x = np.maximum(age - features["days_since_last"].to_numpy(dtype=float), 0.0)
    return x, t_x, age


def _neg_log_likelihood(log_params: np.ndarray, x, t_x, age) -> float:
    r, alpha, a, b = np.exp(log_params)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + age)
    dropped = np.where(
        x > 0,
        betaln(a + 1, np.maximum(b + x - 1, 1e-9)) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return float(-(head + np.logaddexp(alive, dropped)).sum())


def fit(features: pd.DataFrame) -> list[float]:
    """Maximum-likelihood (r, alpha, a, b) from the customers of one cutoff."""
    x, t_x, age = rfm(features)
    start = np.log([0.5, max(age.mean(), 1.0) / max(x.mean(), 1e-3), 1.0, 2.0])
    res = minimize(
        _neg_log_likelihood, start, args=(x, t_x, age), method="L-BFGS-B", bounds=[(-7, 7)] * 4
    )
    return [float(v) for v in np.exp(res.x)]


def expected_transactions(params: list[float], features: pd.DataFrame, horizon: int) -> np.ndarray:
    """E[purchases in the next `horizon` days | x, t_x, T] under BG/NBD."""
    r, alpha, a, b = params
    x, t_x, age = rfm(features)
    odds = np.where(
        x > 0, a / np.maximum(b + x - 1, 1e-9) * ((alpha + age) / (alpha + t_x)) ** (r + x), 0.0
    )
    z = horizon / (alpha + age + horizon)
    tail = ((alpha + age) / (alpha + age + horizon)) ** (r + x) * hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    # (a - 1) may be negative (a < 1 is common); (1 - tail) then is too, and the product is not.
    denom = a - 1 if abs(a - 1) > 1e-6 else 1e-6
    out = (a + b + x - 1) / denom * (1 - tail) / (1 + odds)
    return np.nan_to_num(np.clip(out, 0, None))


def expected_spend(
    params: list[float], features: pd.DataFrame, target: str, horizon: int
) -> np.ndarray:
    """Expected purchases × the customer's mean basket (× their share of `target` category)."""
    basket = np.clip(np.nan_to_num(features["basket_mean"].to_numpy(dtype=float)), 0, None)
    share = 1.0 if target == "total" else np.nan_to_num(features[f"share_{target}"].to_numpy(float))
    return expected_transactions(params, features, horizon) * basket * share
