"""Group forecasts: the variance of a customer's spend, intervals of sums, profiles."""

import numpy as np
import pandas as pd
import pytest

from clvmodel import aggregate
from clvmodel.dataset import from_tables


def _simulate(mean, p, sigma, rng, n):
    mu = np.log(mean / p) - sigma**2 / 2
    buys = rng.random((n, len(mean))) < p
    return np.where(buys, np.exp(mu + sigma * rng.standard_normal((n, len(mean)))), 0.0)


def test_spend_variance_matches_simulation():
    rng = np.random.default_rng(0)
    mean, p, sigma = np.array([100.0, 20.0]), np.array([0.3, 0.9]), 0.8
    draws = _simulate(mean, p, sigma, rng, 400_000)
    np.testing.assert_allclose(
        aggregate.spend_variance(mean, p, sigma), draws.var(axis=0), rtol=0.03
    )
    assert aggregate.spend_variance(np.array([0.0]), np.array([0.0]), 1.0)[0] == 0.0


def test_interval_of_a_sum_of_independent_customers_is_calibrated():
    rng = np.random.default_rng(1)
    mean, p = rng.gamma(1.0, 200.0, 2_000), rng.uniform(0.05, 0.9, 2_000)
    sums = _simulate(mean, p, 1.0, rng, 2_000).sum(axis=1)
    low, high = aggregate.sum_interval(
        np.array([mean.sum()]), np.array([aggregate.spend_variance(mean, p, 1.0).sum()]), 0.0, 0.8
    )
    covered = np.mean((sums >= low[0]) & (sums <= high[0]))
    assert covered == pytest.approx(0.8, abs=0.04)


def test_shared_error_recovers_a_common_month_effect():
    rng = np.random.default_rng(2)
    expected = rng.uniform(1e5, 2e5, 400)
    variance = (0.02 * expected) ** 2
    actual = expected * np.exp(0.1 * rng.standard_normal(400)) + np.sqrt(
        variance
    ) * rng.standard_normal(400)
    assert aggregate.shared_error(actual, expected, variance) == pytest.approx(0.1, abs=0.02)
    assert aggregate.shared_error(expected, expected, variance) == 0.0  # own luck explains it


def test_profiles_say_who_the_customer_is(tiny_tables):
    data = from_tables(tiny_tables)
    profiles = aggregate.customer_profiles(data, "2025-06-01")
    assert profiles.loc["C1", "segment"] == "premium"
    assert profiles.loc["C1", "loyalty_tier"] == "gold"
    assert profiles.loc["C1", "store"] == "S1"  # two visits of four, then S2 and W1
    assert profiles.loc["C1", "channel"] == "in-store"
    assert profiles.loc["C1", "days_since_last"] == 2  # T4 on 2025-05-30
    assert pd.isna(profiles.loc["C3", "last_purchase"])  # first purchase after the day
    assert set(aggregate.PROFILE_COLUMNS) <= set(profiles.columns)


def test_group_forecasts_add_up_to_the_base():
    scores = pd.DataFrame(
        {
            "predicted_total": [100.0, 50.0, 0.0, 30.0],
            "predicted_a": [60.0, 50.0, 0.0, 0.0],
            "predicted_b": [40.0, 0.0, 0.0, 30.0],
            "purchase_probability": [0.5, 0.9, 0.01, 0.3],
        },
        index=["x", "y", "z", "w"],
    )
    by = pd.Series(["g1", "g2", "g1", None], index=scores.index)
    sigma = np.full(4, 1.0)
    groups = aggregate.forecast_groups(
        scores, targets=["total", "a", "b"], sigma=sigma, shared=0.05, level=0.8, by=by
    )
    base = aggregate.forecast_groups(
        scores, targets=["total", "a", "b"], sigma=sigma, shared=0.05, level=0.8
    )
    assert set(groups["group"]) == {"g1", "g2", "unknown"}
    for t in ("total", "a", "b"):
        part = groups.loc[groups["target"] == t, "expected"].sum()
        assert part == pytest.approx(base.loc[base["target"] == t, "expected"].iloc[0])
    assert (groups["low"] <= groups["expected"]).all()
    assert (groups["expected"] <= groups["high"]).all()
    assert groups.loc[groups["group"] == "g1", "customers"].iloc[0] == 2


@pytest.mark.filterwarnings("error")
def test_month_to_month_error_skips_a_month_without_spend():
    # A category nobody bought at one cutoff: no log level there, and no divide-by-zero.
    cutoffs = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"])
    index = pd.MultiIndex.from_product([cutoffs, ["C1", "C2"]], names=["cutoff", "customer_id"])
    panel = pd.DataFrame({"target_toys": [0, 0, 10, 10, 20, 20, 10, 10]}, index=index)
    s = aggregate.month_to_month_error(panel, "toys")
    assert s == pytest.approx(np.std(np.log([2.0, 0.5]), ddof=1) / np.sqrt(2))
    panel["target_toys"] = 0.0
    assert aggregate.month_to_month_error(panel, "toys") == 0.0
