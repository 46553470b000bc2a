"""A fitted model's estimates for rows of features: the bodies of
:meth:`clvmodel.CLVModel.predict_features` and ``predict_cold_features``.

Features -> one float block -> expected spend per spend target and P(buy) -> the served
numbers of one predictive distribution per row (:func:`clvmodel.distribution.served_numbers`).
The functions receive the fitted model (they do not import it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clvmodel.coldstart import predict_cold
from clvmodel.columns import COLD_START_REASON, REASONS
from clvmodel.distribution import served_numbers
from clvmodel.explanation import reasons_of
from clvmodel.training import point_prediction, predict_probability

__all__ = ["cold_rows", "expected", "matrix", "served_rows"]


def matrix(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """The features the models read, as one float block, in their order."""
    names = model.feature_names_
    missing = [f for f in names if f not in features.columns]
    if missing:
        raise ValueError(
            f"missing feature column(s): {missing[:10]}"
            + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        )
    # One float block, built once: column-wise astype costs more than predicting a row.
    arr = features[names].to_numpy(dtype="float64")
    return pd.DataFrame(arr, index=features.index, columns=names)


def expected(model: Any, features: pd.DataFrame) -> dict[str, np.ndarray]:
    """Expected spend per spend target (before reconciliation) and P(buy)."""
    x = matrix(model, features)
    arr = x.to_numpy()  # columns checked once here: every model reads the array
    config = model.feature_config_
    total = point_prediction(model.bundles_["total"], x, "total", config.horizon, arr)
    out = {"total": total}  # a category without a booster of its own is a share of it
    for t in config.categories:
        out[t] = point_prediction(model.bundles_[t], x, t, config.horizon, arr, total)
    out["purchase"] = predict_probability(model.bundles_["purchase"]["model"], arr)
    return out


def served_rows(
    model: Any, features: pd.DataFrame, *, reasons: bool, given: Any = None
) -> pd.DataFrame:
    """:meth:`clvmodel.CLVModel.predict_features`: a row of served numbers per row."""
    x = matrix(model, features)
    estimate = expected(model, x)
    fallback = x[[f"share_{c}" for c in model.categories]].to_numpy()
    out = served_numbers(estimate, model.sigma_, fallback, model.categories, model._levels())
    if reasons:
        codes = reasons_of(model, x, given)
        out |= {r: codes[r].to_numpy() for r in REASONS}
    else:
        out |= dict.fromkeys(REASONS, "")
    return pd.DataFrame(out, index=features.index, columns=model.columns)


def cold_rows(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """:meth:`clvmodel.CLVModel.predict_cold_features`: customers without purchases, from
    their attributes only."""
    if model.cold_ is None:
        raise ValueError("this model has no cold-start part; fit it with cold_start=True.")
    estimate = predict_cold(model.cold_, features, model.feature_config_)
    out = served_numbers(estimate, model.cold_sigma_, None, model.categories, model._levels())
    out[REASONS[0]] = np.full(len(features), COLD_START_REASON, dtype=object)
    out |= {r: np.full(len(features), "", dtype=object) for r in REASONS[1:]}
    return pd.DataFrame(out, index=features.index, columns=model.columns)
