"""``CLVModel``'s parameters: their allowed values, declared once, and what they define.

The constraints table is scikit-learn's (``_parameter_constraints``), so every bad parameter
gets the same message, ``The 'x' parameter of CLVModel must be ... Got ... instead.``, before
any work. The model's identity (:func:`config_id`) is a hash of the parameters that define it
(not of where it runs) and its feature list, checked when artifacts are loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, InvalidParameterError, Options, StrOptions

from clvmodel.engine import ENGINES, require_dask
from clvmodel.training import PROBABILITY_MODELS, SPEND_MODELS, TrainConfig

__all__ = ["CONSTRAINTS", "RUNTIME", "check", "config_id", "model_params"]

#: Parameters of how the model runs, not of what it is: left out of its identity.
RUNTIME = ("engine", "scheduler")


class _Int(Interval):
    """An int in a range, never a bool (scikit-learn's Interval lets True pass as 1)."""

    def is_satisfied_by(self, val: object) -> bool:
        return not isinstance(val, bool | np.bool_) and super().is_satisfied_by(val)


class _Names(Options):
    """A non-empty list (or tuple) of names from `allowed`; a name alone is refused."""

    def __init__(self, allowed: Sequence[str]) -> None:
        super().__init__(str, set(allowed))
        self.allowed = tuple(allowed)

    def is_satisfied_by(self, val: object) -> bool:
        return (
            isinstance(val, list | tuple)
            and len(val) > 0
            and all(isinstance(v, str) and v in self.allowed for v in val)
        )

    def __str__(self) -> str:
        return f"a non-empty list of names from {list(self.allowed)}"


#: Every parameter's allowed values (scikit-learn's ``_parameter_constraints``).
CONSTRAINTS: dict[str, list] = {
    "horizon": [_Int(Integral, 1, None, closed="left")],
    "n_cutoffs": [_Int(Integral, 3, None, closed="left")],  # train, validation, test
    "spend_models": [_Names(SPEND_MODELS)],
    "probability_models": [_Names(PROBABILITY_MODELS)],
    "interval": [Interval(Real, 0, 1, closed="neither")],
    "cold_start": ["boolean"],
    "refit": ["boolean"],
    "quick": ["boolean"],
    "random_state": [_Int(Integral, None, None, closed="neither")],
    "n_jobs": [_Int(Integral, 1, None, closed="left")],
    "max_customers": [_Int(Integral, 1, None, closed="left"), None],
    "max_categories": [_Int(Integral, 2, None, closed="left"), None],
    "category_map": [dict, None],
    "engine": [StrOptions(set(ENGINES))],
    "scheduler": [str, None],
}


def check(model: BaseEstimator) -> TrainConfig:
    """A ``CLVModel``'s parameters checked against :data:`CONSTRAINTS` (and the engine against what
    is installed), as the training functions read them."""
    model._validate_params()
    if model.scheduler is not None and model.engine != "dask":
        raise InvalidParameterError(
            "The 'scheduler' parameter of CLVModel needs engine='dask'. "
            f"Got engine={model.engine!r} instead."
        )
    if model.engine == "dask":
        require_dask()
    return TrainConfig(
        horizon=int(model.horizon),
        n_cutoffs=int(model.n_cutoffs),
        spend_models=tuple(model.spend_models),
        probability_models=tuple(model.probability_models),
        interval=float(model.interval),
        quick=bool(model.quick),
        random_state=int(model.random_state),
        n_jobs=int(model.n_jobs),
    )


def model_params(model: BaseEstimator) -> dict:
    """The parameters that define the model, as JSON (the engine only says where it runs)."""
    params = model.get_params()
    return {k: list(v) if isinstance(v, tuple | list) else v
            for k, v in params.items() if k not in RUNTIME}  # fmt: skip


def config_id(model: BaseEstimator) -> str:
    """A short hash of the parameters and, once fitted, the feature list."""
    spec = {"params": model_params(model)}
    if hasattr(model, "feature_names_"):
        spec["features"] = list(model.feature_names_)
    text = json.dumps(spec, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
