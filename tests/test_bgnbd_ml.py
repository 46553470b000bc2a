"""BG/NBD by maximum likelihood: recovers its parameters and predicts in days."""

import numpy as np
import pandas as pd
import pytest

from clvmodel import bgnbd_ml


def _simulate(n: int, r=0.8, alpha=20.0, a=0.8, b=4.0, age=365.0, seed=0) -> pd.DataFrame:
    """Customers from the BG/NBD process itself, observed for `age` days after a first buy."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    last = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, bool)
    for _ in range(200):  # purchase events, each customer in parallel
        t = t + rng.exponential(1 / lam)
        buy = alive & (t < age)
        x += buy
        last = np.where(buy, t, last)
        alive &= buy & (rng.random(n) > p)
    return pd.DataFrame(
        {"txn_count_lifetime": x + 1, "days_since_first": age, "days_since_last": age - last}
    )


def test_fit_recovers_the_generating_parameters():
    params = bgnbd_ml.fit(_simulate(20_000))
    np.testing.assert_allclose(params, [0.8, 20.0, 0.8, 4.0], rtol=0.25)


def test_expected_transactions_are_per_horizon_in_days_and_shrink_with_recency():
    features = pd.DataFrame(
        {"txn_count_lifetime": [6, 6], "days_since_first": [300, 300], "days_since_last": [5, 250]}
    )
    params = [0.8, 20.0, 0.8, 4.0]
    e30 = bgnbd_ml.expected_transactions(params, features, 30)
    e60 = bgnbd_ml.expected_transactions(params, features, 60)
    assert (e60 > e30).all() and (e30 > 0).all()
    assert e30[0] > 3 * e30[1]  # a recent buyer is more likely still active
    # Five repeat purchases in ~300 days is ~0.5 a month for an active customer.
    assert e30[0] == pytest.approx(0.5, rel=0.4)
