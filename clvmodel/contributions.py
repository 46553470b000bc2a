"""Per-feature contributions of a fitted model, row by row: why it predicted what it did.

Two methods, both additive (a row's contributions plus its base value give the model's
raw output):

- **exact** (TreeSHAP for LightGBM and XGBoost, coefficient × standardised value for
  linear models): about 1 ms per row for a 300-tree booster. Used where one request
  explains a few rows (``/explain_customer``, the explanations tab).
- **path** (Saabas): along each tree's path from the root to the row's leaf, every change
  of the node value is credited to the feature of the split. It costs a prediction, not
  TreeSHAP's depth² per leaf, so reason codes for 100,000 rows take seconds instead of
  minutes. Forests always use it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

EXPLAINABLE = (
    lgb.LGBMModel,
    xgb.XGBModel,
    Pipeline,
    RandomForestRegressor,
    RandomForestClassifier,
)


#: Declared objectives whose raw output is a log (of expected spend) or log-odds (of P(buy)),
#: LightGBM's and XGBoost's names; any other regression objective is the value itself.
LOG_OBJECTIVES = frozenset({"tweedie", "poisson", "gamma", "reg:tweedie", "count:poisson",
                            "reg:gamma"})  # fmt: skip
LOGIT_OBJECTIVES = frozenset({"binary", "cross_entropy", "xentropy", "binary:logistic"})
#: The inverse of each output scale: raw output -> the value the model predicts.
INVERSE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log": np.exp,
    "logit": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "identity": lambda z: z,
}


def output_scale(model) -> str:
    """The scale of the model's raw output, which :func:`contributions` add up to:
    ``"log"``, ``"logit"`` or ``"identity"``, from the objective the estimator declares.

    Boosters declare theirs (LightGBM's fitted ``objective_``, XGBoost's ``objective``); a
    linear pipeline ending in a classifier and a logistic regression explain log-odds;
    forests explain their prediction (a probability for a classifier).

    Raises
    ------
    ValueError
        For a custom (callable) objective, whose scale cannot be known.
    """
    est = unwrap(model)
    if isinstance(est, Pipeline):
        return "logit" if hasattr(est[-1], "predict_proba") else "identity"
    if isinstance(est, lgb.LGBMModel):
        objective = getattr(est, "objective_", None) or est.objective
        if objective is None:
            objective = "binary" if isinstance(est, lgb.LGBMClassifier) else "regression"
    elif isinstance(est, xgb.XGBModel):
        objective = est.objective
    else:
        return "identity"
    if not isinstance(objective, str):
        raise ValueError(
            f"the {type(est).__name__} model has a custom objective {objective!r}: the scale "
            "of its contributions is unknown."
        )
    if objective in LOG_OBJECTIVES:
        return "log"
    return "logit" if objective in LOGIT_OBJECTIVES else "identity"


def rescaled(raw: np.ndarray, served: np.ndarray, scale: str) -> tuple[np.ndarray, np.ndarray]:
    """Contributions on the raw scale (rows × (features + base), :func:`contributions`)
    as amounts of the served value: ``(contributions, base)`` with ``base +
    contributions.sum(axis=1) == served``.

    The base is the raw base value taken back to the served scale; the difference between
    the served value and it is split over the features in proportion to their raw
    contributions (same signs, same order), the standard way to state log-scale SHAP values
    in currency.
    """
    contrib, base_raw = raw[:, :-1], raw[:, -1]
    base = INVERSE[scale](base_raw)
    total = contrib.sum(axis=1)
    slope = {"log": base, "logit": base * (1 - base), "identity": np.ones_like(base)}[scale]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(np.abs(total) > 1e-12, (served - base) / total, slope)
    return contrib * factor[:, None], base


def unwrap(model):
    """The fitted estimator inside a calibration wrapper."""
    if isinstance(model, CalibratedClassifierCV):
        model = model.calibrated_classifiers_[0].estimator
    if isinstance(model, FrozenEstimator):
        model = model.estimator
    return model


def explainable(model) -> bool:
    """Whether :func:`contributions` supports `model` (boosters, forests, linear)."""
    return isinstance(unwrap(model), EXPLAINABLE)


def contributions(model, x: np.ndarray, *, exact: bool = True) -> np.ndarray:
    """Rows × (features + 1): each feature's contribution, then the base value.

    Parameters
    ----------
    model
        A fitted LightGBM, XGBoost, random forest or linear pipeline, possibly inside
        a calibration wrapper (explained before calibration, on its raw output).
    x : ndarray
        Float features in the order the model was trained on.
    exact : bool
        TreeSHAP (True) or path contributions (False), see the module docstring.

    Raises
    ------
    ValueError
        For a model type none of the methods supports.
    """
    est = unwrap(model)
    if isinstance(est, lgb.LGBMModel):
        booster = est.booster_
        if exact:
            return np.asarray(booster.predict(x, pred_contrib=True))
        leaves = booster.predict(x, pred_leaf=True).astype(np.int64)
        table, offsets = _lightgbm_leaf_table(booster)
        return _sum_leaf_rows(leaves + offsets, table)
    if isinstance(est, xgb.XGBModel):
        best = getattr(est, "best_iteration", None)  # early stopping: the trees it predicts with
        # One thread for a few rows: starting the pool costs more than the rows (~9 ms).
        dmatrix = xgb.DMatrix(x, nthread=1 if len(x) <= 256 else -1)
        return est.get_booster().predict(
            dmatrix,
            pred_contribs=True,
            approx_contribs=not exact,
            validate_features=False,
            iteration_range=(0, best + 1) if best is not None else (0, 0),
        )
    if isinstance(est, RandomForestRegressor | RandomForestClassifier):
        return forest_contributions(est, x)
    if isinstance(est, Pipeline):
        names = getattr(est, "feature_names_in_", None)
        z = est[:-1].transform(x if names is None else pd.DataFrame(x, columns=names))
        coef = np.ravel(est[-1].coef_)
        return np.column_stack([z * coef, np.full(len(x), np.ravel(est[-1].intercept_)[0])])
    raise ValueError(f"explanations are not available for a {type(est).__name__} model.")


def _sum_leaf_rows(leaves: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Sum, per row, the table rows of the leaves it lands in (one leaf per tree)."""
    n, trees = leaves.shape
    hits = sparse.csr_matrix(
        (np.ones(n * trees), leaves.ravel(), np.arange(0, n * trees + 1, trees)),
        shape=(n, table.shape[0]),
    )
    return np.asarray(hits @ table)


@lru_cache(maxsize=64)
def _lightgbm_leaf_table(booster: lgb.Booster) -> tuple[np.ndarray, np.ndarray]:
    """Per leaf of every tree, the path contributions of a row landing there.

    Returns the table (all leaves × (features + 1), the last column the tree's root value)
    and each tree's first row in it. Built once per model from its dump: the loop is over
    tree nodes, never over data rows.
    """
    dump = booster.dump_model()
    n_features = len(dump["feature_names"])
    tables, offsets, start = [], [], 0
    for tree in dump["tree_info"]:
        n_leaves = tree["num_leaves"]
        table = np.zeros((n_leaves, n_features + 1))
        root = tree["tree_structure"]
        root_value = root.get("internal_value", root.get("leaf_value", 0.0))
        table[:, n_features] = root_value
        stack = [(root, root_value, np.zeros(n_features))]
        while stack:
            node, value, path = stack.pop()
            if "leaf_index" in node or "split_feature" not in node:
                table[node.get("leaf_index", 0), :n_features] = path
                continue
            for side in ("left_child", "right_child"):
                child = node[side]
                child_value = child.get("internal_value", child.get("leaf_value"))
                step = path.copy()
                step[node["split_feature"]] += child_value - value
                stack.append((child, child_value, step))
        tables.append(table)
        offsets.append(start)
        start += n_leaves
    return np.vstack(tables), np.asarray(offsets, dtype=np.int64)


def forest_contributions(forest, x: np.ndarray) -> np.ndarray:
    """Path contributions of a random forest (Saabas): rows × (features + base value).

    Along each tree's path, the change of the node value at a split is credited to the
    split's feature; averaged over trees they add up, with the root value, to the
    prediction (the probability of class 1 for a classifier).
    """
    n_features = x.shape[1]
    out = np.zeros((len(x), n_features + 1))
    for tree in forest.estimators_:
        t = tree.tree_
        value = t.value[:, 0, -1] if t.value.shape[2] > 1 else t.value[:, 0, 0]
        if t.value.shape[2] > 1:  # classifier: class shares per node
            value = t.value[:, 0, 1] / t.value[:, 0, :].sum(axis=1)
        parent = np.full(t.node_count, -1)
        for side in (t.children_left, t.children_right):
            has = side >= 0
            parent[side[has]] = np.flatnonzero(has)
        child = np.flatnonzero(parent >= 0)
        delta = sparse.csr_matrix(
            (value[child] - value[parent[child]], (child, t.feature[parent[child]])),
            shape=(t.node_count, n_features),
        )
        path = tree.decision_path(x.astype(np.float32))
        out[:, :n_features] += (path @ delta).toarray()
        out[:, n_features] += value[0]
    return out / len(forest.estimators_)
