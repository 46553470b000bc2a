"""Training: the time split, baselines, the hybrid blend and the report shape."""

import numpy as np
import pandas as pd
import pytest

from clvmodel.features import FeatureConfig, build_panel, cutoff_dates
from clvmodel.training import (
    PROBABILITY_MODELS,
    SPEND_BASELINES,
    TrainConfig,
    blend,
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


def _cfg(**changes) -> TrainConfig:
    from clvmodel.model import CLVModel

    return CLVModel(**changes).check_params()


def test_blend_is_the_hybrid_formula():
    booster, bg = np.array([100.0, 0.0]), np.array([50.0, 20.0])
    np.testing.assert_allclose(blend(booster, bg, 0.25, 2.0), [175.0, 10.0])
    np.testing.assert_allclose(blend(booster, bg, 0.0, 1.0), booster)


def test_train_all_reports_every_model_and_target(panel_and_config):
    panel, fcfg = panel_and_config
    cfg = _cfg(quick=True, spend_models=("ridge", "lightgbm_tweedie"),
               probability_models=("logistic", "lightgbm"))  # fmt: skip
    results, split = train_all(panel, fcfg, cfg)
    assert list(results) == fcfg.targets
    for target in fcfg.spend_targets:
        report = results[target].report
        learned = {"ridge", "lightgbm_tweedie", "bgnbd_ml", "hybrid"}
        assert set(report["test"]) == {*SPEND_BASELINES, *learned}
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
        assert sum(report["importance"].values()) == pytest.approx(1.0, abs=1e-3)
        assert set(results[target].bundle) == {"model", "level", "blend", "bgnbd"}
    purchase = results["purchase"].report
    assert purchase["chosen"] in PROBABILITY_MODELS  # a log-loss booster, not recalibrated
    for report in (r.report for r in results.values()):
        for name, trees in report.get("trees", {}).items():  # early stopping
            assert 1 <= trees <= 300, (name, trees)
    assert 0.5 < purchase["test"][purchase["chosen"]]["auc"] <= 1.0
    assert len(results["total"].test_predictions["ridge"]) == len(split.test)


@pytest.fixture(scope="module")
def rare_model(small_data, tmp_path_factory):
    """A model of `small_data` where a sixth category, ``rare``, has three lines in all."""
    from dataclasses import replace

    from clvmodel.model import CLVModel

    lines = small_data.lines.copy()
    lines.loc[lines.index[:3], "category"] = "rare"
    data = replace(small_data, lines=lines)
    model = CLVModel(quick=True, n_cutoffs=4, probability_models=("lightgbm",)).fit(data)
    return model, data, model.save(tmp_path_factory.mktemp("rare"))


def test_a_category_without_buyers_is_a_share_of_the_total(rare_model):
    from clvmodel.training import ShareOfTotal

    model, data, _ = rare_model
    assert "rare" in model.categories
    assert isinstance(model.bundles_["rare"]["model"], ShareOfTotal)
    report = model.report_.targets["rare"]
    assert report.chosen == "share_of_total" and "fewer than 20" in report.no_booster
    assert report.importance == {"share_rare": 1.0}  # the importance chart has a bar
    booster_categories = [c for c in model.categories if c != "rare"]
    assert all(model.report_.targets[c].no_booster is None for c in booster_categories)
    scores = model.predict(data, reasons=False)
    assert (scores["predicted_rare"] >= 0).all()
    cats = scores[[f"predicted_{c}" for c in model.categories]].sum(axis=1)
    np.testing.assert_allclose(cats, scores["predicted_total"], rtol=1e-9, atol=1e-9)


def test_a_share_category_saves_loads_and_refuses_explanations(rare_model):
    from clvmodel.card import make_card
    from clvmodel.model import CLVModel

    model, data, folder = rare_model
    loaded = CLVModel.load(folder)
    pd.testing.assert_frame_equal(
        loaded.predict(data, reasons=False), model.predict(data, reasons=False)
    )
    someone = model.predict(data, reasons=False)["customer_id"].iloc[:1]
    with pytest.raises(ValueError, match="ShareOfTotal model of target 'rare'"):
        loaded.explain(data, someone, target="rare")
    if loaded.cold_ is not None:  # the cold-start part has no model for it either
        assert "rare" in loaded.cold_["shares"] and "rare" not in loaded.cold_["models"]
    card = make_card(loaded.report_, {})
    assert "### Categories predicted from their share" in card and "`rare`" in card
