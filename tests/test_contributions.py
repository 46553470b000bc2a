"""Per-feature contributions: both methods add up to the model's raw output."""

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from clvmodel.contributions import (
    INVERSE,
    contributions,
    forest_contributions,
    output_scale,
    rescaled,
)
from clvmodel.training import predict_probability, predict_values


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 5))
    y = 3 * x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(0, 0.1, n)
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values take the trees' learnt side
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(5)]), y


def _boosters():
    opts = {"n_estimators": 30, "random_state": 0}
    return {
        "lightgbm": lgb.LGBMRegressor(num_leaves=7, min_child_samples=5, verbose=-1, **opts),
        "xgboost": xgb.XGBRegressor(max_depth=3, **opts),
    }


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("exact", [True, False], ids=["shap", "path"])
def test_booster_contributions_add_up_to_the_raw_prediction(name, exact):
    x, y = _data()
    model = _boosters()[name].fit(x, y)
    contrib = contributions(model, x.to_numpy(), exact=exact)
    assert contrib.shape == (len(x), x.shape[1] + 1)
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict(x), rtol=1e-5, atol=1e-5)


def test_path_contributions_credit_the_features_the_trees_split_on():
    x, y = _data()
    model = _boosters()["lightgbm"].fit(x, y)
    contrib = contributions(model, x.to_numpy(), exact=False)
    spread = np.abs(contrib[:, :-1]).mean(axis=0)
    assert spread.argmax() == 0  # y is driven by f0
    assert spread[3] < spread[0] / 10 and spread[4] < spread[0] / 10  # noise features


def test_linear_contributions_add_up_and_unknown_models_are_refused():
    x, y = _data()
    x = x.fillna(0.5)
    model = make_pipeline(StandardScaler(), Ridge()).fit(x, y)
    contrib = contributions(model, x.to_numpy())
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict(x), atol=1e-9)
    knn = KNeighborsRegressor().fit(x, y)
    with pytest.raises(ValueError, match="not available for a KNeighborsRegressor"):
        contributions(knn, x.to_numpy())


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_random_forest_contributions_add_up(kind):
    x, y = _data(300)
    x = x.to_numpy()
    if kind == "regressor":
        forest = RandomForestRegressor(n_estimators=10, random_state=0).fit(x, y)
        expected = forest.predict(x)
    else:
        forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, y > 2)
        expected = forest.predict_proba(x)[:, 1]
    np.testing.assert_allclose(forest_contributions(forest, x).sum(axis=1), expected, atol=1e-9)


@pytest.mark.parametrize("rows", [1, 400], ids=["one row", "many rows"])
def test_array_predictions_match_the_dataframe_ones(rows):
    """The fast path (float array straight to the booster) changes nothing but speed."""
    x, y = _data()
    x = x.iloc[:rows]
    models = [*_boosters().values(), make_pipeline(StandardScaler(), Ridge())]
    for model in models:
        model.fit(_data()[0].fillna(0.5), y)
        np.testing.assert_allclose(
            predict_values(model, x.fillna(0.5).to_numpy()), model.predict(x.fillna(0.5))
        )
    clf = xgb.XGBClassifier(n_estimators=10, max_depth=2).fit(_data()[0], y > 2)
    np.testing.assert_allclose(
        predict_probability(clf, x.to_numpy()), clf.predict_proba(x)[:, 1], rtol=1e-6
    )


def test_the_scale_comes_from_the_declared_objective():
    x, y = _data()
    yp = np.abs(y)
    label = (y > np.median(y)).astype(int)
    opts = {"n_estimators": 5, "random_state": 0, "verbose": -1}
    models = {
        "log": [
            lgb.LGBMRegressor(objective="tweedie", **opts).fit(x, yp),
            lgb.LGBMRegressor(objective="poisson", **opts).fit(x, yp),
            xgb.XGBRegressor(objective="reg:tweedie", n_estimators=5).fit(x, yp),
        ],
        "logit": [
            lgb.LGBMClassifier(**opts).fit(x, label),
            xgb.XGBClassifier(n_estimators=5).fit(x, label),
            make_pipeline(StandardScaler(), LogisticRegression()).fit(x.fillna(0), label),
        ],
        "identity": [
            lgb.LGBMRegressor(**opts).fit(x, y),
            xgb.XGBRegressor(n_estimators=5).fit(x, y),
            make_pipeline(StandardScaler(), Ridge()).fit(x.fillna(0), y),
            RandomForestRegressor(n_estimators=3, random_state=0).fit(x.fillna(0), y),
        ],
    }
    for scale, fitted in models.items():
        for model in fitted:
            assert output_scale(model) == scale, type(model).__name__
    # A name merely containing "tweedie" says nothing: the objective is what counts.
    renamed = lgb.LGBMRegressor(**opts).fit(x, y)
    assert output_scale(renamed) == "identity"
    custom = lgb.LGBMRegressor(objective=lambda y, p: (p - y, np.ones_like(y)), **opts)
    with pytest.raises(ValueError, match="custom objective"):
        output_scale(custom.fit(x, y))


@pytest.mark.parametrize("scale", ["log", "logit", "identity"])
def test_rescaled_contributions_add_up_to_the_served_value_with_the_same_signs(scale):
    rng = np.random.default_rng(4)
    raw = rng.normal(0, 0.5, (50, 6))
    raw[0, :-1] = 0.0  # nothing to spread: the base is the value
    value = INVERSE[scale](raw.sum(axis=1))
    amounts, base = rescaled(raw, value, scale)
    np.testing.assert_allclose(base + amounts.sum(axis=1), value, rtol=1e-12)
    np.testing.assert_allclose(base, INVERSE[scale](raw[:, -1]))
    changed = np.abs(raw[:, :-1]) > 0
    assert (np.sign(amounts[changed]) == np.sign(raw[:, :-1][changed])).all()
