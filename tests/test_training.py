"""Training: the time split, baselines, conformal intervals and the saved report shape."""

import numpy as np
import pandas as pd
import pytest

from clvmodel.evaluation import interval_metrics
from clvmodel.features import FeatureConfig, build_panel, cutoff_dates
from clvmodel.training import (
    PROBABILITY_MODELS,
    SPEND_BASELINES,
    TrainConfig,
    _conformal_offset,
    conformal_offsets,
    interval_bounds,
    spend_baselines,
    time_split,
    train_all,
)


@pytest.fixture(scope="module")
def panel_and_config(small_data):
    fcfg = FeatureConfig.from_data(small_data)
    cutoffs = cutoff_dates(small_data, n_cutoffs=4)
    return build_panel(small_data, cutoffs, fcfg), fcfg


def test_time_split_puts_latest_cutoff_in_test(panel_and_config):
    panel, _ = panel_and_config
    split = time_split(panel)
    cut = lambda f: set(f.index.get_level_values("cutoff"))  # noqa: E731
    assert max(cut(split.train)) < min(cut(split.validation)) < min(cut(split.test))
    assert len(cut(split.validation)) == len(cut(split.test)) == 1
    assert len(split.train) + len(split.validation) + len(split.test) == len(panel)


def test_time_split_needs_three_cutoffs(panel_and_config):
    panel, _ = panel_and_config
    two = panel[
        panel.index.get_level_values("cutoff") >= sorted(set(panel.index.get_level_values(0)))[-2]
    ]
    with pytest.raises(ValueError, match="at least 3"):
        time_split(two)


def test_spend_baselines_by_hand():
    fcfg = FeatureConfig(categories=("grocery",), regions=("online",), segments=("a",))
    x = pd.DataFrame(
        {"spend_30d": [300.0, 0.0], "spend_grocery_30d": [100.0, 0.0],
         "daily_spend_rate": [10.0, 2.0], "share_grocery": [0.5, 1.0]}
    )  # fmt: skip
    total = spend_baselines(x, "total", fcfg, train_mean=7.0)
    grocery = spend_baselines(x, "grocery", fcfg, train_mean=7.0)
    assert set(total) == set(SPEND_BASELINES)
    np.testing.assert_allclose(total["last_30d"], [300, 0])
    np.testing.assert_allclose(total["rate_x_horizon"], [300, 60])
    np.testing.assert_allclose(grocery["rate_x_horizon"], [150, 60])
    np.testing.assert_allclose(grocery["train_mean"], [7, 7])


def test_conformal_offset_reaches_nominal_coverage_with_an_atom_at_zero():
    """Zero-inflated spend: the calibrated interval covers ~80%, not the ~90% of [q10, q90]."""
    rng = np.random.default_rng(0)
    n = 20_000
    p_buy = rng.uniform(0.05, 0.9, n)
    y = np.where(rng.random(n) < p_buy, rng.lognormal(6, 1, n), 0.0)
    lo = np.zeros(n)
    hi = np.where(p_buy > 0.1, np.exp(6 + 1.28), 0.0)  # a rough upper quantile
    half = n // 2
    q = _conformal_offset(y[:half], lo[:half], hi[:half], 0.8)
    upper = np.maximum(hi[half:] + q, lo[half:])
    coverage = interval_metrics(y[half:], lo[half:], upper)["coverage"]
    assert coverage == pytest.approx(0.8, abs=0.015)


def test_mostly_zero_spend_keeps_real_intervals_for_likely_buyers():
    """When zeros alone cover more than 80%, one shift would collapse every interval to
    [0, 0]; per-group shifts keep the likely buyers' upper bounds and cover them ~80%."""
    rng = np.random.default_rng(1)
    n = 40_000
    p_buy = np.where(rng.random(n) < 0.1, rng.uniform(0.5, 0.95, n), rng.uniform(0, 0.05, n))
    y = np.where(rng.random(n) < p_buy, rng.lognormal(7, 0.5, n), 0.0)
    lo = np.zeros(n)
    hi = np.where(p_buy > 0.3, np.exp(7 + 0.64), 0.0) * rng.uniform(0.9, 1.1, n)
    half = n // 2
    assert np.mean(y[:half] == 0) > 0.8
    single = _conformal_offset(y[:half], lo[:half], hi[:half], 0.8)
    likely = p_buy[half:] > 0.3
    collapsed = np.maximum(hi[half:] + single, 0)
    assert (y[half:] <= collapsed)[likely].mean() < 0.5  # what one shift does to buyers
    edges, offsets = conformal_offsets(y[:half], lo[:half], hi[:half], 0.8)
    assert len(offsets) == len(edges) + 1 > 1
    bundle = {
        "lower": _Column(0),
        "upper": _Column(1),
        "interval_offset": offsets,
        "interval_edges": edges,
    }
    _, upper = interval_bounds(bundle, np.column_stack([lo[half:], hi[half:]]))
    assert np.all(upper[likely] > 0)
    covered = (y[half:] <= upper)[likely].mean()
    assert covered == pytest.approx(0.8, abs=0.04)


class _Column:
    """A stand-in quantile model that predicts one column of its input."""

    def __init__(self, i: int) -> None:
        self.i = i

    def predict(self, x):
        return np.asarray(x)[:, self.i]


def test_train_config_rejects_unknown_models():
    with pytest.raises(ValueError, match=r"spend_models.*unknown: \['catboost'\]"):
        TrainConfig(spend_models=("catboost",))
    with pytest.raises(ValueError, match="n_cutoffs"):
        TrainConfig(n_cutoffs=2)


def test_train_all_reports_every_model_and_target(panel_and_config):
    panel, fcfg = panel_and_config
    cfg = TrainConfig(quick=True, spend_models=("ridge", "lightgbm_tweedie"),
                      probability_models=("logistic", "lightgbm"))  # fmt: skip
    results, split = train_all(panel, fcfg, cfg)
    assert list(results) == fcfg.targets
    for target in fcfg.spend_targets:
        report = results[target].report
        reconciled = {"reconciled"} if target in fcfg.categories else set()
        learned = {"ridge", "lightgbm_tweedie", "bgnbd_ml", "hybrid"}
        assert set(report["test"]) == {*SPEND_BASELINES, *learned, *reconciled}
        assert report["chosen"] in {"ridge", "lightgbm_tweedie", "hybrid"}
        assert report["hybrid"]["weight"] in (0.25, 0.5, 0.75)
        assert set(report["test"]["ridge"]) == {
            "mae",
            "rmse",
            "r2",
            "gini",
            "spearman",
            "sum_ratio",
        }
        assert 0.5 < report["interval"]["coverage"] <= 1.0
        assert sum(report["importance"].values()) == pytest.approx(1.0, abs=1e-3)
    purchase = results["purchase"].report
    assert purchase["chosen"] in PROBABILITY_MODELS  # a log-loss booster, not recalibrated
    for report in (r.report for r in results.values()):
        for name, trees in report.get("trees", {}).items():  # early stopping
            assert 1 <= trees <= 300, (name, trees)
    assert 0.5 < purchase["test"][purchase["chosen"]]["auc"] <= 1.0
    assert len(results["total"].test_prediction) == len(split.test)
