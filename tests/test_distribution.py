"""The predictive distribution: quantiles of the hurdle, its spread, the basket split."""

import numpy as np
import pytest

from clvmodel.distribution import (
    amount_if_buy,
    category_shares,
    fit_sigma,
    interval_quantiles,
    quantile_calibration,
    spend_quantiles,
)


def test_unlikely_buyers_have_zero_quantiles_up_to_one_minus_p():
    q = spend_quantiles(np.array([50.0, 50.0]), np.array([0.05, 0.5]), 1.0, (0.1, 0.5, 0.9))
    assert (q[0] == 0).all()  # p = 5%: even P90 is 0, while the mean is 50
    assert q[1, 0] == 0 and q[1, 1] == 0 and q[1, 2] > 0


def test_certain_buyers_get_lognormal_quantiles_with_the_given_mean():
    sigma, mean = 0.7, 200.0
    q = spend_quantiles(np.array([mean]), np.array([1.0]), sigma, (0.5,))
    mu = np.log(mean) - sigma**2 / 2  # lognormal with mean 200
    assert q[0, 0] == pytest.approx(np.exp(mu))


def test_quantiles_match_samples_of_the_hurdle_and_its_mean():
    rng = np.random.default_rng(0)
    p, mean, sigma = 0.6, 120.0, 0.9
    mu = np.log(mean / p) - sigma**2 / 2
    n = 400_000
    y = np.where(rng.random(n) < p, np.exp(mu + sigma * rng.standard_normal(n)), 0.0)
    assert y.mean() == pytest.approx(mean, rel=0.01)
    taus = (0.1, 0.5, 0.9)
    q = spend_quantiles(np.array([mean]), np.array([p]), sigma, taus)[0]
    np.testing.assert_allclose(q, np.quantile(y, taus), rtol=0.02, atol=1e-9)


def test_quantiles_are_monotone_and_non_negative():
    rng = np.random.default_rng(1)
    mean, p = rng.gamma(1.0, 500.0, 1000) * (rng.random(1000) > 0.2), rng.random(1000)
    q = spend_quantiles(mean, p, 1.3, np.linspace(0.05, 0.95, 19))
    assert (np.diff(q, axis=1) >= 0).all() and (q >= 0).all()
    assert not np.signbit(q).any()  # no -0.0


def test_bad_quantile_levels_are_refused():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        spend_quantiles(np.array([1.0]), np.array([0.5]), 1.0, (0.0, 0.5))


def test_fit_sigma_recovers_the_spread_of_simulated_spend():
    rng = np.random.default_rng(2)
    n, sigma = 20_000, 1.1
    mean, p = rng.gamma(2.0, 100.0, n), rng.uniform(0.2, 1.0, n)
    mu = np.log(mean / p) - sigma**2 / 2
    y = np.where(rng.random(n) < p, np.exp(mu + sigma * rng.standard_normal(n)), 0.0)
    assert fit_sigma(y, mean, p, interval_quantiles(0.8)) == pytest.approx(sigma, abs=0.15)


def test_category_shares_sum_to_one_with_fallbacks():
    shares = category_shares(
        np.array([[1.0, 3.0], [0.0, 0.0], [0.0, 0.0], [-2.0, 2.0]]),
        np.array([[0.5, 0.5], [0.2, 0.6], [0.0, 0.0], [0.0, 0.0]]),
    )
    np.testing.assert_allclose(shares, [[0.25, 0.75], [0.25, 0.75], [0.5, 0.5], [0.0, 1.0]])


def test_calibration_counts_the_atom_at_zero():
    y = np.array([0.0, 0.0, 0.0, 5.0])
    cal = quantile_calibration(y, np.zeros((4, 1)), (0.5,))
    assert cal["p50"]["share_below"] == 0 and cal["p50"]["share_at_or_below"] == 0.75


def test_interval_quantiles():
    assert interval_quantiles(0.8) == (0.1, 0.9)
    assert interval_quantiles(0.9) == (0.05, 0.95)


def test_amount_if_buy_is_the_hurdle_given_a_purchase():
    mean, p, sigma = np.array([120.0, 50.0, 0.0, 300.0]), np.array([0.6, 0.05, 0.4, 1.0]), 0.9
    conditional, amount = amount_if_buy(mean, p, sigma, (0.1, 0.5, 0.9))
    np.testing.assert_allclose(conditional * p, mean)  # the mean over both outcomes
    assert (np.diff(amount, axis=1) >= 0).all() and (amount[2] == 0).all()  # nothing expected
    # The hurdle's q-quantile is the amount's at (q - (1 - p)) / p, where it is positive.
    hurdle = spend_quantiles(mean, p, sigma, (0.9,))[:, 0]
    _, shifted = amount_if_buy(mean[[0, 3]], p[[0, 3]], sigma, (0.5 / 0.6, 0.9))
    np.testing.assert_allclose(hurdle[[0, 3]], [shifted[0, 0], shifted[1, 1]])
    np.testing.assert_allclose(amount[3], spend_quantiles(mean, p, sigma, (0.1, 0.5, 0.9))[3])


def test_amount_if_buy_matches_samples_of_the_buyers():
    rng = np.random.default_rng(3)
    p, mean, sigma = 0.3, 90.0, 1.1
    mu = np.log(mean / p) - sigma**2 / 2
    buyers = np.exp(mu + sigma * rng.standard_normal(400_000))
    conditional, amount = amount_if_buy(np.array([mean]), np.array([p]), sigma, (0.1, 0.5, 0.9))
    assert conditional[0] == pytest.approx(buyers.mean(), rel=0.01)
    np.testing.assert_allclose(amount[0], np.quantile(buyers, (0.1, 0.5, 0.9)), rtol=0.02)
