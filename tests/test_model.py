"""CLVModel: parameters, fit/predict/save/load, and the invariants every customer's numbers keep."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from clvmodel.columns import IF_BUY
from clvmodel.evaluation import interval_metrics, probability_metrics, spend_metrics
from clvmodel.features import build_features, build_targets
from clvmodel.model import PROBABILITY, CLVModel, NotFittedError, prediction_columns


@pytest.fixture(scope="module")
def fitted(small_data) -> CLVModel:
    """Without the refit, the served model is the one the report measured."""
    return CLVModel(n_cutoffs=4, quick=True, random_state=0, refit=False).fit(small_data)


@pytest.fixture(scope="module")
def refitted(small_data) -> CLVModel:
    return CLVModel(n_cutoffs=4, quick=True, random_state=0).fit(small_data)


@pytest.fixture(scope="module")
def scores(fitted, small_data) -> pd.DataFrame:
    return fitted.predict(small_data)


def test_parameters_are_stored_as_given_and_shown(fitted):
    model = CLVModel(n_cutoffs=5, quick=True)
    assert model.get_params()["n_cutoffs"] == 5
    assert repr(model) == "CLVModel(n_cutoffs=5, quick=True)"
    assert model.set_params(horizon=14) is model and model.horizon == 14
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(depth=3)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"horizon": 0}, r"'horizon' parameter of CLVModel must be an int in the range \[1, "),
        ({"horizon": True}, r"'horizon' parameter of CLVModel must be an int .* Got True"),
        ({"n_cutoffs": 2}, r"'n_cutoffs' parameter of CLVModel must be an int in the range \[3, "),
        ({"interval": 1.2}, r"'interval' parameter of CLVModel must be a float in the range \(0"),
        ({"spend_models": ("catboost",)}, r"'spend_models' .* names from \[.*Got \('catboost',\)"),
        ({"spend_models": "lightgbm"}, r"'spend_models' .* non-empty list of names"),
        ({"probability_models": ()}, r"'probability_models' .* non-empty list of names"),
        ({"random_state": "seed"}, r"'random_state' parameter of CLVModel must be an int"),
        (
            {"cold_start": "yes"},
            r"'cold_start' parameter of CLVModel must be an instance of 'bool'",
        ),
        ({"engine": "spark"}, r"'engine' parameter of CLVModel must be a str among"),
        ({"max_categories": 1}, r"'max_categories' parameter of CLVModel must be an int in the"),
        ({"category_map": "a.csv"}, r"'category_map' parameter of CLVModel must be an instance"),
        ({"scheduler": "tcp://x:1"}, r"'scheduler' parameter of CLVModel needs engine='dask'"),
    ],
)
def test_bad_parameters_are_refused_before_any_work(params, message):
    class NoData:  # fit must fail on the parameters, before touching the data
        def __getattr__(self, name):
            raise AssertionError("the data was read")

    with pytest.raises(ValueError, match=message):
        CLVModel(**params).fit(NoData())


def test_unfitted_model_says_so(small_data):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        CLVModel().predict(small_data)


def test_fit_returns_self_with_fitted_attributes(fitted):
    for name in ("feature_config_", "feature_names_", "bundles_", "sigma_", "typical_", "report_"):
        assert hasattr(fitted, name), name
    assert 0 < fitted.sigma_ < 5
    assert set(fitted.bundles_) == set(fitted.feature_config_.targets)


def test_predict_gives_one_row_per_customer(fitted, scores, small_data):
    assert scores["customer_id"].is_unique
    assert set(prediction_columns(fitted.categories)) <= set(scores.columns)
    with_history = small_data.transactions["customer_id"].unique()
    assert set(with_history) <= set(scores["customer_id"])


def test_save_load_round_trip_gives_identical_predictions(fitted, scores, small_data, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = CLVModel.load(tmp_path / "model")
    assert loaded.get_params() == fitted.get_params()
    pd.testing.assert_frame_equal(loaded.predict(small_data), scores)
    q1 = fitted.predict_quantiles(small_data, (0.2, 0.7), target=fitted.categories[0])
    q2 = loaded.predict_quantiles(small_data, (0.2, 0.7), target=fitted.categories[0])
    pd.testing.assert_frame_equal(q1, q2)


def test_load_refuses_mixed_files(fitted, tmp_path):
    from clvmodel.persistence import load_json, save_json

    fitted.save(tmp_path / "m")
    meta = load_json(tmp_path / "m" / "metadata.json")
    meta["params"]["horizon"] = 14
    save_json(meta, tmp_path / "m" / "metadata.json")
    with pytest.raises(ValueError, match="configuration id"):
        CLVModel.load(tmp_path / "m")


def test_artifacts_saved_before_a_parameter_existed_load_with_its_default(fitted, repo_model):
    from clvmodel.persistence import _saved_config_id, load_json

    assert _saved_config_id(fitted, fitted.model_params()) == fitted.config_id()
    saved = load_json("artifacts/metadata.json")["params"]
    if "max_categories" not in saved:  # the committed model predates it, and loads
        assert repo_model.max_categories == 10 and repo_model.category_map is None


def check_invariants(model: CLVModel, scores: pd.DataFrame) -> None:
    """What every customer's numbers must satisfy, over every row of `scores`."""
    scored = scores[scores[PROBABILITY].notna()]
    cats = model.categories
    values = scored[[c for c in prediction_columns(cats) if c.startswith("predicted")]]
    arr = values.to_numpy(dtype=float)
    assert np.isfinite(arr).all()
    assert not (np.signbit(arr) & (arr == 0)).any(), "-0.0 in the output"
    assert (arr >= 0).all(), "negative spend or bound (no history has returns here)"
    assert scored[PROBABILITY].between(0, 1).all()
    for t in ["total", *cats]:
        low, high = (scored[f"predicted_{t}{s}"] for s in ("_low", "_high"))
        assert (low <= high).all()
    # The interval is [P10, P90] of the one distribution whose median is shown.
    assert (scored["predicted_total_low"] <= scored["predicted_total_median"]).all()
    assert (scored["predicted_total_median"] <= scored["predicted_total_high"]).all()
    q = model.quantiles_of(scored, (0.1, 0.5, 0.9))
    np.testing.assert_allclose(q["total"]["q0.1"], scored["predicted_total_low"], atol=1e-9)
    np.testing.assert_allclose(q["total"]["q0.9"], scored["predicted_total_high"], atol=1e-9)
    np.testing.assert_allclose(q["total"]["q0.5"], scored["predicted_total_median"], atol=1e-9)
    # Quantiles monotone in q, for every target.
    grid = model.quantiles_of(scored, np.linspace(0.05, 0.95, 10))
    for frame in grid.values():
        assert (np.diff(frame.to_numpy(), axis=1) >= -1e-9).all()
    if cats:
        parts = scored[[f"predicted_{c}" for c in cats]].sum(axis=1)
        np.testing.assert_allclose(parts, scored["predicted_total"], rtol=1e-9, atol=1e-6)
        for c in cats:
            for bound in ("_low", "_high"):
                assert (
                    scored[f"predicted_{c}{bound}"] <= scored[f"predicted_total{bound}"] + 1e-9
                ).all()
    # A customer who buys for sure has a lower bound above zero; P(buy) < 1 - 0.1 gives 0.
    unlikely = scored[PROBABILITY] < 0.9
    assert (scored.loc[unlikely, "predicted_total_low"] == 0).all()
    assert (scored.loc[scored[PROBABILITY] < 0.1, "predicted_total_high"] == 0).all()
    check_amount_if_buy(model, scored)


def check_amount_if_buy(model: CLVModel, scored: pd.DataFrame) -> None:
    """The amount if they buy is the same distribution given a purchase: ordered
    quantiles, mean × P(buy) = expected spend, and the hurdle's quantiles are its own at
    the shifted levels (the interval keys are the same distribution's)."""
    mean, low, median, high = (scored[c].to_numpy(dtype=float) for c in IF_BUY)
    p, total = scored[PROBABILITY].to_numpy(dtype=float), scored["predicted_total"].to_numpy()
    assert (low <= median).all() and (median <= high).all() and (low >= 0).all()
    np.testing.assert_allclose(p * mean, total, rtol=1e-9, atol=1e-9)
    # Given a purchase, spend is at least what the hurdle's quantile at the same level says.
    for hurdle, amount in (("_low", low), ("_median", median), ("_high", high)):
        column = "predicted_total" + hurdle
        assert (scored[column].to_numpy() <= amount * (1 + 1e-12) + 1e-9).all(), column
    # P90 of the hurdle is the amount's quantile at (0.9 - (1 - p)) / p, with the spread
    # the row was served with (cold-start rows have their own).
    cold = scored["cold_start"].to_numpy(dtype=bool) if "cold_start" in scored else False
    sigma = np.where(cold, model.cold_sigma_ or np.nan, model.sigma_)
    lo, hi = model._levels()
    buys = (p > 1 - hi + 1e-6) & (total > 0)
    level = (hi - (1 - p[buys])) / p[buys]
    mu = np.log(mean[buys]) - sigma[buys] ** 2 / 2
    expected_high = np.exp(mu + sigma[buys] * norm.ppf(level))
    np.testing.assert_allclose(scored["predicted_total_high"].to_numpy()[buys], expected_high,
                               rtol=1e-9)  # fmt: skip
    # ... and the amount's own interval is its lognormal's P10 and P90.
    mu_all = np.log(np.where(total > 0, mean, 1.0)) - sigma**2 / 2
    for quantile, column in ((lo, low), (hi, high)):
        expected = np.where(total > 0, np.exp(mu_all + sigma * norm.ppf(quantile)), 0.0)
        np.testing.assert_allclose(column, expected, rtol=1e-9, atol=1e-12)


def test_invariants_hold_for_every_customer_of_a_fitted_model(fitted, scores):
    check_invariants(fitted, scores.set_index("customer_id"))


def test_invariants_hold_for_every_customer_of_the_committed_artifacts(repo_model, repo_scores):
    check_invariants(repo_model, repo_scores)


def test_metrics_are_reproduced_by_predict_on_the_test_cutoff(fitted, small_data):
    """The report's deployed figures are those of the serving code on the test cutoff."""
    test_day = pd.Timestamp(fitted.report_.cutoffs["test"])
    x = build_features(small_data, test_day, fitted.feature_config_)
    y = build_targets(small_data, test_day, fitted.feature_config_, x.index)
    served = fitted.predict_features(x, reasons=False)
    for target, report in fitted.report_.targets.items():
        truth = y[f"target_{target}"].to_numpy()
        if report.kind == "probability":
            got = probability_metrics(truth, served[PROBABILITY])
        else:
            got = spend_metrics(truth, served[f"predicted_{target}"])
            interval = interval_metrics(
                truth, served[f"predicted_{target}_low"], served[f"predicted_{target}_high"]
            )
            assert interval["coverage"] == pytest.approx(report.interval.coverage)
        expected = report.served
        for key, value in got.items():
            assert value == pytest.approx(expected[key], nan_ok=True), (target, key)


def test_refit_serves_the_measured_recipe_fitted_on_every_month(fitted, refitted, small_data):
    """The report of a refitted model is that of the same recipe before the refit (the
    served code on the test month); the served model then learns from the last months."""
    for target, report in refitted.report_.targets.items():
        assert report.chosen == fitted.report_.targets[target].chosen
        assert report.served == pytest.approx(fitted.report_.targets[target].served)
    before = fitted.predict(small_data, reasons=False)["predicted_total"]
    after = refitted.predict(small_data, reasons=False)["predicted_total"]
    assert not np.allclose(before, after)
    check_invariants(refitted, refitted.predict(small_data, reasons=False).set_index("customer_id"))


def test_explain_by_customer_adds_up(fitted, small_data, scores):
    ids = list(scores.loc[~scores["cold_start"], "customer_id"][:5])
    contrib = fitted.explain(small_data, ids, target="total")
    assert list(contrib.index) == ids
    with pytest.raises(ValueError, match="unknown target"):
        fitted.explain(small_data, ids, target="toys")


def test_forecast_of_groups_adds_up_to_the_customers(fitted, small_data, scores):
    base = fitted.forecast(small_data)
    total = base.loc[base["target"] == "total", "expected"].iloc[0]
    assert total == pytest.approx(scores["predicted_total"].sum())
    by_segment = fitted.forecast(small_data, by="segment")
    assert by_segment.loc[by_segment["target"] == "total", "expected"].sum() == pytest.approx(total)
    for c in fitted.categories:  # categories add up to the total in every group
        cat = by_segment.loc[by_segment["target"] == c, "expected"].to_numpy()
        assert (cat <= by_segment.loc[by_segment["target"] == "total", "expected"].to_numpy()).all()
    first = by_segment["group"].iloc[0]
    one = fitted.forecast(small_data, where={"segment": first})
    expected = by_segment.loc[
        (by_segment["group"] == first) & (by_segment["target"] == "total"), "expected"
    ].iloc[0]
    assert one.loc[one["target"] == "total", "expected"].iloc[0] == pytest.approx(expected)
    assert (base["low"] <= base["expected"]).all() and (base["expected"] <= base["high"]).all()
    with pytest.raises(ValueError, match="cannot break down by 'colour'"):
        fitted.forecast(small_data, by="colour")
    with pytest.raises(ValueError, match="cannot filter on 'colour'"):
        fitted.forecast(small_data, where={"colour": "red"})
