"""Cold start: customers who signed up but never bought get a flagged prediction."""

import numpy as np
import pandas as pd

from clvmodel.coldstart import (
    build_cold_features,
    build_cold_panel,
    cold_feature_names,
    predict_cold,
    train_cold_start,
)
from clvmodel.features import FeatureConfig, cutoff_dates
from clvmodel.model import CLVModel
from clvmodel.prediction import CustomerScorer


def test_cold_features_cover_only_signed_up_customers_without_history(small_data):
    config = FeatureConfig.from_data(small_data)
    cutoff = cutoff_dates(small_data, n_cutoffs=3)[-1]
    x = build_cold_features(small_data, cutoff, config)
    bought = small_data.transactions.loc[small_data.transactions["date"] < cutoff, "customer_id"]
    since = small_data.customers.loc[x.index, "customer_since"]
    assert len(x) > 0
    assert not x.index.isin(bought).any()
    assert (since < cutoff).all()
    assert list(x.columns) == cold_feature_names(config)


def test_cold_start_models_report_and_predict(small_data):
    config = FeatureConfig.from_data(small_data)
    cutoffs = cutoff_dates(small_data, n_cutoffs=5)
    panel = build_cold_panel(small_data, cutoffs, config)
    cfg = CLVModel(quick=True).check_params()
    bundle, report, split = train_cold_start(panel, config, cfg)
    assert set(report["targets"]) == set(config.targets)
    assert "lightgbm_tweedie" in report["targets"]["total"]["test"]
    # Each target has a model or, with too few buyers among these customers, a share.
    assert set(bundle["models"]) | set(bundle["shares"]) == set(config.targets)
    assert not set(bundle["models"]) & set(bundle["shares"])
    pred = predict_cold(bundle, split.test, config)
    assert (pred["total"] >= 0).all() and ((pred["purchase"] >= 0) & (pred["purchase"] <= 1)).all()
    for c, share in bundle["shares"].items():
        assert 0 <= share <= 1
        np.testing.assert_allclose(pred[c], share * pred["total"])
        assert "share_of_total" in report["targets"][c]["test"]


def test_scorer_flags_cold_start_rows_and_adds_up(trained_artifacts, small_data):
    scorer = CustomerScorer(CLVModel.load(trained_artifacts), small_data)
    if scorer.model.cold_ is None:  # too few never-bought customers in the tiny data
        assert "cold_start" not in (trained_artifacts / "metrics.json").read_text()
        return
    scores = scorer.scores()
    cold = scores[scores["cold_start"]]
    assert len(cold) > 0
    assert (cold["reason_1"].str.startswith("no purchase yet")).all()
    cats = [f"predicted_{c}" for c in scorer.model.categories]
    pd.testing.assert_series_equal(
        cold[cats].sum(axis=1), cold["predicted_total"], check_names=False, atol=1e-6
    )
