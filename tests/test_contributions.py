"""Per-feature contributions: both methods add up to the model's raw output."""

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from clvmodel.contributions import contributions, forest_contributions
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
