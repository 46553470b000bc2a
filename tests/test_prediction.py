"""Scoring from saved artifacts: by feature table, by customer ID, explanations."""

import copy
import json

import numpy as np
import pandas as pd
import pytest

from clvmodel.model import CLVModel, prediction_columns
from clvmodel.persistence import UntrustedArtifactError, load_json, save_json
from clvmodel.prediction import CustomerScorer


@pytest.fixture(scope="module")
def predictor(trained_artifacts) -> CLVModel:
    return CLVModel.load(trained_artifacts)


@pytest.fixture(scope="module")
def scorer(predictor, small_data) -> CustomerScorer:
    return CustomerScorer(predictor, small_data)


def test_predict_columns_and_ranges(scorer, predictor):
    x = scorer.features()
    out = predictor.predict_features(x)
    assert list(out.columns) == prediction_columns(predictor.categories)
    assert out.index.equals(x.index)
    assert out["purchase_probability"].between(0, 1).all()
    for t in ["total", *predictor.categories]:
        assert (out[f"predicted_{t}_low"] <= out[f"predicted_{t}_high"]).all()


def test_score_known_unknown_and_empty_ids_keeps_order(scorer):
    known = list(scorer.features().index[:2])
    no_history = scorer.data.customers.index.difference(scorer.features().index)
    ids = [known[1], "NOPE", known[0], "", *no_history[:1]]
    out = scorer.score(ids)
    assert list(out["customer_id"]) == ids
    assert out.loc[[0, 2], "predicted_total"].notna().all()
    assert (out.loc[[0, 2], "error"] == "").all()
    assert out.loc[1, "error"].startswith("unknown customer_id")
    assert out.loc[3, "error"] == "empty customer_id"
    assert np.isnan(out.loc[1, "predicted_total"])
    if len(no_history) and scorer.model.cold_ is not None:  # scored from attributes
        assert out.loc[4, "error"] == "" and out.loc[4, "cold_start"]
    elif len(no_history):
        assert out.loc[4, "error"].startswith("no purchase history before")


def test_score_matches_predict_on_features(scorer, predictor):
    cid = scorer.features().index[3]
    by_id = scorer.score([cid]).iloc[0]
    direct = predictor.predict_features(scorer.features().loc[[cid]]).iloc[0]
    assert by_id["predicted_total"] == pytest.approx(direct["predicted_total"])


def test_as_of_changes_the_features_and_bad_dates_are_clear(scorer):
    early = scorer.default_as_of - pd.Timedelta(days=60)
    assert len(scorer.features(early)) < len(scorer.features()) or not scorer.features(
        early
    ).equals(scorer.features())
    with pytest.raises(ValueError, match="as_of must be a date"):
        scorer.score(["x"], as_of="not a date")


def test_explanations_add_up_to_the_raw_prediction(scorer, predictor):
    x = scorer.features().iloc[:20]
    for target in predictor.feature_config_.targets:
        contrib = predictor.explain_features(x, target)
        assert list(contrib.columns) == [*predictor.feature_names_, "base_value"]
        assert np.isfinite(contrib.to_numpy()).all()
    with pytest.raises(ValueError, match="unknown target"):
        predictor.explain_features(x, "toys")


def test_missing_feature_column_is_a_clear_error(scorer, predictor):
    x = scorer.features().drop(columns=["spend_90d"])
    with pytest.raises(ValueError, match=r"missing feature column.*spend_90d"):
        predictor.predict_features(x)


def test_stale_feature_list_is_refused(trained_artifacts, tmp_path):
    import shutil

    copy = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts, copy)
    meta = load_json(copy / "metadata.json")
    meta["feature_names"] = meta["feature_names"][::-1]
    save_json(meta, copy / "metadata.json")
    with pytest.raises(ValueError, match=r"different feature list.*Retrain"):
        CLVModel.load(copy)


def test_untrusted_model_file_is_refused(trained_artifacts, tmp_path):
    """A model file swapped for one with an unreviewed type never loads."""
    import shutil

    import skops.io as sio
    from sklearn.neighbors import KNeighborsRegressor

    copy = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts, copy)
    rng = np.random.default_rng(0)
    knn = KNeighborsRegressor(algorithm="kd_tree").fit(rng.random((50, 3)), rng.random(50))
    sio.dump({"model": knn}, copy / "models" / "total.skops")
    with pytest.raises(UntrustedArtifactError, match="not on clvmodel's reviewed list"):
        CLVModel.load(copy)


def test_metrics_json_has_the_promised_keys(trained_artifacts):
    metrics = json.loads((trained_artifacts / "metrics.json").read_text())
    total = metrics["targets"]["total"]
    assert total["chosen"] in total["test"]
    assert "oracle" in total["test"]  # synthetic data: the oracle is reported under its name
    for scores in total["test"].values():
        assert {"mae", "rmse", "r2", "gini", "spearman", "sum_ratio"} <= set(scores)


def test_reason_codes_are_made_for_the_requested_customers_only(predictor, small_data):
    """Scoring everyone skips reason codes; a lookup fills in exactly the asked-for rows."""
    scorer = CustomerScorer(predictor, small_data)
    if not predictor.explainable("total"):
        pytest.skip("the small artifacts' total model has no contributions")
    bare = scorer.scores(reasons=False)
    with_history = scorer.features().index
    assert (bare.loc[with_history, "reason_1"] == "").all()
    asked = with_history[:3]
    out = scorer.score(list(asked))
    expected = predictor.reasons(scorer.features().loc[asked])
    assert list(out["reason_1"]) == list(expected["reason_1"])
    assert all(r.startswith(("↑", "↓")) for r in out["reason_1"] if r)
    assert scorer.lookup(asked[0])["reason_2"] == expected["reason_2"].iloc[0]
    assert (scorer.scores(reasons=False).loc[with_history[3:], "reason_1"] == "").all()
    everyone = scorer.scores().loc[with_history, "reason_1"]  # all on demand
    pd.testing.assert_series_equal(
        everyone, predictor.reasons(scorer.features())["reason_1"], check_names=False
    )


def test_warm_uses_train_py_saved_scores_for_the_same_data(trained_artifacts, small_data_dir):
    """train.py saves everyone's scores; the app starts from them on that same data."""
    from clvmodel.dataset import load_data
    from clvmodel.persistence import folder_fingerprint, load_scores

    predictor = CLVModel.load(trained_artifacts)
    scorer = CustomerScorer(predictor, load_data(small_data_dir))
    day = f"{scorer.default_as_of:%Y-%m-%d}"
    saved = load_scores(
        trained_artifacts, as_of=day, data_fingerprint=folder_fingerprint(small_data_dir)
    )
    assert saved is not None, "train.py saves the scores of its own data"
    fresh = CustomerScorer(predictor, scorer.data).scores()  # reason codes included
    pd.testing.assert_frame_equal(saved, fresh, check_dtype=False, check_index_type=False)

    marked = saved.assign(predicted_total=saved["predicted_total"] + 1e6)
    marked.loc[marked.index[0], "reason_1"] = "saved reason"
    assert scorer.warm(precomputed=marked)
    looked_up = scorer.lookup(saved.index[0])
    assert looked_up["predicted_total"] >= 1e6 and looked_up["reason_1"] == "saved reason"
    other = CustomerScorer(predictor, scorer.data)
    assert not other.warm(precomputed=marked.iloc[1:])  # other customers: predicted afresh
    pd.testing.assert_series_equal(other.scores()["predicted_total"], fresh["predicted_total"])


@pytest.mark.parametrize("blend", [None, 0.5], ids=["as_fitted", "hybrid"])
def test_served_explanations_add_up_to_what_is_served_for_every_customer(scorer, predictor, blend):
    """Base + contributions = the served value, per target and customer, for the model as
    fitted and for a hybrid of its booster with BG/NBD (the whole blend explained)."""
    model = copy.deepcopy(predictor)
    if blend is not None:
        for target in ["total", *model.categories]:
            model.bundles_[target]["blend"] = blend
    x = scorer.features()
    served = model.predict_features(x, reasons=False)
    targets = model.feature_config_.targets
    explained = model.explain_served(x, targets)
    for target in targets:
        frame = explained[target]
        column = "purchase_probability" if target == "purchase" else f"predicted_{target}"
        np.testing.assert_allclose(frame["served_value"], served[column], rtol=1e-12)
        parts = frame.drop(columns="served_value").sum(axis=1)
        tolerance = 1e-6 if target == "purchase" else 1e-7  # XGBoost sums in float32
        np.testing.assert_allclose(parts, served[column], rtol=tolerance, atol=1e-7)
        # Same signs as the model's own contributions where BG/NBD has no part.
        raw = model.explain_features(x, target).drop(columns="base_value").to_numpy()
        own = frame[model.feature_names_].to_numpy()
        if blend is None and model.bundles_[target].get("blend", 0.0) == 0.0:
            big = np.abs(raw) > 1e-9
            assert (np.sign(own[big]) == np.sign(raw[big])).all(), target
    one = model.explain_served(x.iloc[:1], "total")
    assert list(one.columns) == [*model.feature_names_, "base_value", "served_value"]


def test_bgnbd_shapley_values_add_up_and_vanish_for_the_typical_customer(scorer, predictor):
    from clvmodel import bgnbd_ml
    from clvmodel.explanation import bgnbd_shapley

    x = scorer.features()
    params, horizon = predictor.bundles_["total"]["bgnbd"], predictor.feature_config_.horizon
    for target in ("total", predictor.categories[0]):
        phi, base = bgnbd_shapley(params, x, predictor.typical_, target, horizon)
        spend = bgnbd_ml.expected_spend(params, x, target, horizon)
        np.testing.assert_allclose(base + phi.sum(axis=1), spend, rtol=1e-9, atol=1e-9)
        typical = predictor.typical_.reindex(x.columns).to_frame().T
        phi, _ = bgnbd_shapley(params, typical, predictor.typical_, target, horizon)
        np.testing.assert_allclose(phi.to_numpy(), 0.0, atol=1e-9)
