"""The hurdle distribution: quantiles consistent with P(buy) and with sampling."""

import numpy as np
import pytest

from clvmodel.distribution import hurdle_quantiles, quantile_calibration


def test_unlikely_buyers_have_zero_quantiles_up_to_one_minus_p():
    q = hurdle_quantiles(np.array([0.05, 0.3]), np.array([5.0, 5.0]), 1.0)
    assert (q[0] == 0).all()  # p = 0.05: even P90 is 0
    assert q[1, 0] == 0 and q[1, 1] == 0 and q[1, 2] > 0  # p = 0.3: P50 is 0, P90 is not


def test_certain_buyers_get_lognormal_quantiles():
    q = hurdle_quantiles(np.array([1.0]), np.array([2.0]), 0.5)
    np.testing.assert_allclose(q[0, 1], np.exp(2.0), rtol=1e-6)  # median of LogNormal(2, .5)
    np.testing.assert_allclose(q[0, 2], np.exp(2.0 + 0.5 * 1.2815516), rtol=1e-5)


def test_quantiles_match_samples_of_the_hurdle():
    rng = np.random.default_rng(0)
    n, p, mu, sigma = 200_000, 0.6, 6.0, 0.8
    y = np.where(rng.random(n) < p, rng.lognormal(mu, sigma, n), 0.0)
    q = hurdle_quantiles(np.full(n, p), np.full(n, mu), sigma)
    cal = quantile_calibration(y, q)
    assert cal["p10"]["share_below"] <= 0.1 <= cal["p10"]["share_at_or_below"]  # the atom
    assert cal["p50"]["share_at_or_below"] == pytest.approx(0.5, abs=0.005)
    assert cal["p90"]["share_at_or_below"] == pytest.approx(0.9, abs=0.005)
