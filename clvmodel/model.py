"""``CLVModel``: the one model object behind the app, the CLI, ``train.py`` and the backtests.

In scikit-learn's conventions: keyword-only parameters stored as given and validated by
``fit`` before any work, fitted state in ``*_`` attributes, ``fit`` returns ``self``. Every
number it serves comes from one predictive distribution per customer
(:mod:`clvmodel.distribution`): the expected spend per target, P(buy), quantiles and the
interval. ``fit`` scores the test cutoff with :meth:`CLVModel.predict_features`, the method
that serves, so the metrics it reports are those of the code users call.

>>> import clvmodel                                             # doctest: +SKIP
>>> data = clvmodel.load_data("data")                           # doctest: +SKIP
>>> model = clvmodel.CLVModel(random_state=0).fit(data)         # doctest: +SKIP
>>> model.predict(data).head()                                  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from clvmodel import estimates, explanation, fitting, forecast, params, parts, scoring
from clvmodel.columns import MEDIAN, PROBABILITY, REASONS, prediction_columns
from clvmodel.contributions import explainable
from clvmodel.dataset import RetailData
from clvmodel.distribution import interval_quantiles, score_quantiles
from clvmodel.features import FeatureConfig, check_compatible
from clvmodel.partitions import PartitionedData
from clvmodel.parts import combine_part_scores, predict_part, score_part
from clvmodel.persistence import load_fitted, save_fitted
from clvmodel.training import TrainConfig

__all__ = [
    "MEDIAN",
    "PROBABILITY",
    "REASONS",
    "CLVModel",
    "NotFittedError",
    "combine_part_scores",  # re-exported: they live in clvmodel.parts
    "predict_part",
    "prediction_columns",
    "score_part",
]

log = logging.getLogger(__name__)


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit`` (or ``load``)."""


class CLVModel(BaseEstimator):
    """Each customer's spend over the next `horizon` days: in total, per category, P(buy).

    Parameters
    ----------
    horizon : int, default=30
        Days ahead to predict.
    n_cutoffs : int, default=12
        Monthly cutoffs stacked for training: the latest tests, the one before validates
        (model choice, level, spread), the rest train.
    spend_models, probability_models : sequence of str
        Candidates compared per target on the validation cutoff
        (:data:`clvmodel.training.SPEND_MODELS`, ``PROBABILITY_MODELS``); each spend target
        also compares BG/NBD and its hybrid with the best candidate. Why these defaults:
        ``benchmarks/real_data.py`` and the README.
    interval : float, default=0.8
        Central probability of the prediction interval: [P10, P90] for 0.8.
    cold_start : bool, default=True
        Also predict customers who signed up but never bought (from their attributes).
    refit : bool, default=True
        Serve the chosen recipe fitted again on every cutoff, validation and test
        included; the report's test figures are those of the recipe fitted without them.
    quick : bool, default=False
        Ten times fewer trees, for smoke tests.
    random_state : int, default=0
    n_jobs : int, default=2
        Threads of the boosters (and workers of a local Dask cluster).
    max_categories : int or None, default=10
        Most category targets: the largest ``max_categories - 1`` by net spend keep
        their own, the rest are pooled as ``"other"``. None: no limit.
    category_map : dict or None, default=None
        Source category -> category, applied first (renames, merges).
    max_customers : int or None, default=50_000
        Most customers the training panel is built from; past it, a reproducible hash
        sample (:mod:`clvmodel.sample`). Scoring is always for everyone. None: all.
    engine : {"local", "dask"}, default="local"
        Where the parts of a :class:`clvmodel.partitions.PartitionedData` are read and
        scored (:mod:`clvmodel.engine`); the numbers are the same. Not part of the
        model's identity (:meth:`config_id`) nor of its saved parameters.
    scheduler : str, optional
        A Dask scheduler's address for ``engine="dask"``; without one, a local cluster.

    Attributes
    ----------
    feature_config_ : FeatureConfig
    feature_names_ : list of str
    bundles_ : dict
        Target -> the fitted model and what serving it needs.
    sigma_, cold_sigma_ : float
        Spread of log spend of the predictive distribution (with history, cold start).
    shared_error_ : dict
        Per spend target, the error customers share in a month (widens sums' intervals).
    typical_ : Series
        Median training value of each feature: the reference reasons quote.
    report_ : FitReport
        Every metric of the fit (:mod:`clvmodel.report`; ``metrics.json``).
    test_scores_, test_predictions_ : DataFrame, dict
        After ``fit`` only: the test cutoff as served before the refit, every candidate's.
    info_ : dict
        The data the model was fitted on: dates, counts, default as-of date.
    """

    def __init__(
        self,
        *,
        horizon: int = 30,
        n_cutoffs: int = 12,
        spend_models: Sequence[str] = ("lightgbm_tweedie",),
        probability_models: Sequence[str] = ("lightgbm", "xgboost"),
        interval: float = 0.8,
        cold_start: bool = True,
        refit: bool = True,
        quick: bool = False,
        random_state: int = 0,
        n_jobs: int = 2,
        max_customers: int | None = 50_000,
        max_categories: int | None = 10,
        category_map: dict[str, str] | None = None,
        engine: str = "local",
        scheduler: str | None = None,
    ) -> None:
        self.horizon = horizon
        self.n_cutoffs = n_cutoffs
        self.spend_models = spend_models
        self.probability_models = probability_models
        self.interval = interval
        self.cold_start = cold_start
        self.refit = refit
        self.quick = quick
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.max_customers = max_customers
        self.max_categories = max_categories
        self.category_map = category_map
        self.engine = engine
        self.scheduler = scheduler

    #: Every parameter's allowed values, declared once (:data:`clvmodel.params.CONSTRAINTS`).
    _parameter_constraints: dict = params.CONSTRAINTS

    def check_params(self) -> TrainConfig:
        """The parameters checked (:func:`clvmodel.params.check`), as training reads them:
        ``fit``, ``train.py`` and the backtest call it before any work. Raises scikit-learn's
        ``InvalidParameterError`` (a ValueError): ``The 'x' parameter of CLVModel must be ...``."""
        return params.check(self)

    def model_params(self) -> dict:
        """The parameters that define the model, as JSON: saved, and hashed by config_id."""
        return params.model_params(self)

    def config_id(self) -> str:
        """A short hash of the parameters and feature list, checked on :meth:`load`."""
        return params.config_id(self)

    def fit(
        self, data: RetailData | PartitionedData, *, as_of: str | pd.Timestamp | None = None,
        oracles: dict[str, pd.DataFrame] | None = None,
    ) -> CLVModel:  # fmt: skip
        """Build as-of features on monthly cutoffs of `data`, train, choose, calibrate.

        `data` comes from :func:`clvmodel.load_data`, :func:`clvmodel.read_transactions` or
        :func:`clvmodel.partitions.open_partitioned` (only the training sample's parts are
        read). `as_of`: use only what is dated before this day. `oracles` (synthetic data
        only): true expectations at the test cutoff, by ``(cutoff, customer_id)``, reported
        beside the models.
        """
        return fitting.fit(self, data, as_of=as_of, oracles=oracles)

    def fit_panel(
        self, panel: pd.DataFrame, feature_config: FeatureConfig, *,
        data: RetailData | None = None, oracles: dict[str, pd.DataFrame] | None = None,
    ) -> CLVModel:  # fmt: skip
        """:meth:`fit` on a panel already built (:func:`clvmodel.features.build_panel`), as
        the backtest does over its origins; without `data` there is no cold-start part."""
        return fitting.fit_panel(self, panel, feature_config, data=data, oracles=oracles)

    def _check_fitted(self) -> None:
        if not hasattr(self, "bundles_"):
            raise NotFittedError(
                "This CLVModel is not fitted yet: call fit(data) or CLVModel.load(folder) first."
            )

    @property
    def categories(self) -> tuple[str, ...]:
        self._check_fitted()
        return self.feature_config_.categories

    @property
    def columns(self) -> list[str]:
        """The columns of :meth:`predict_features`."""
        return prediction_columns(self.categories)

    def _levels(self, interval: float | None = None) -> tuple[float, float]:
        return interval_quantiles(self.interval if interval is None else interval)

    def predict_features(
        self, features: pd.DataFrame, *, reasons: bool = True,
        given: pd.DataFrame | np.ndarray | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """Predictions (:func:`prediction_columns`, same index) for each row of a feature
        table with at least :attr:`feature_names_`. ``reasons=False`` leaves ``reason_1..3``
        empty (faster); `given` marks the values the caller gave (True) rather than filled
        in: only those are cited as reasons."""
        self._check_fitted()
        return estimates.served_rows(self, features, reasons=reasons, given=given)

    def predict_cold_features(self, features: pd.DataFrame) -> pd.DataFrame:
        """Predictions for customers without purchases, from their attributes."""
        self._check_fitted()
        return estimates.cold_rows(self, features)

    def quantiles_of(self, scores: pd.DataFrame, q: Sequence[float]) -> dict[str, pd.DataFrame]:
        """Quantiles of every spend target from rows :meth:`predict_features` returned
        (rows flagged ``cold_start`` use the cold-start spread)."""
        self._check_fitted()
        return score_quantiles(scores, q, self.sigma_, self.cold_sigma_, self.categories)

    def predict(
        self, data: RetailData | PartitionedData, *, as_of: str | pd.Timestamp | None = None,
        customer_ids: Iterable[object] | None = None, reasons: bool = True,
    ) -> pd.DataFrame:  # fmt: skip
        """One row per customer: ``customer_id``, ``as_of``, :func:`prediction_columns`,
        ``cold_start``; with `customer_ids`, one row per ID given, in order, with an
        ``error`` column (empty, unknown or no history).

        `as_of` defaults to the day after the last transaction of `data`. `data` may be
        a partitioned data set (:func:`clvmodel.partitions.open_partitioned`): each part is
        scored as a whole data set is, on :attr:`engine`, and the rows come back as for
        the whole data (customers with history by ID, then cold-start customers by ID).
        """
        self._check_fitted()
        run = parts.predict if isinstance(data, PartitionedData) else scoring.predict
        return run(self, data, as_of=as_of, customer_ids=customer_ids, reasons=reasons)

    def predict_parts(
        self, data: PartitionedData, *, as_of: str | pd.Timestamp | None = None, reasons=True
    ) -> Iterator[pd.DataFrame | None]:  # fmt: skip
        """:meth:`predict` of each part, in part order (None for a part without customers):
        memory bounded by a part, whatever the base's size (:mod:`clvmodel.parts`)."""
        self._check_fitted()
        return parts.predict_parts(self, data, as_of=as_of, reasons=reasons)

    def write_predictions(
        self, data: PartitionedData, folder: str | os.PathLike[str], *,
        as_of: str | pd.Timestamp | None = None, reasons: bool = True,
    ) -> int:  # fmt: skip
        """Score every part and write its rows to ``folder/part-NNNNN.parquet`` where it was
        scored (a Dask worker writes its own parts); returns the number of rows."""
        self._check_fitted()
        return parts.write_predictions(self, data, folder, as_of=as_of, reasons=reasons)

    def forecast_scores(
        self, scores: pd.DataFrame, profiles: pd.DataFrame, *, by: str | None = None, where=None
    ) -> pd.DataFrame:  # fmt: skip
        """Expected spend of groups of customers and the interval of each sum."""
        self._check_fitted()
        return forecast.forecast_scores(self, scores, profiles, by=by, where=where)

    def forecast(
        self, data: RetailData, *, as_of: str | pd.Timestamp | None = None,
        by: str | None = None, where: dict[str, object] | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """:meth:`forecast_scores` of every customer of `data` as of a day."""
        return forecast.forecast(self, data, as_of=as_of, by=by, where=where)

    def predict_quantiles(
        self, data: RetailData, q: Sequence[float] = (0.1, 0.5, 0.9), *, target: str = "total",
        as_of: str | pd.Timestamp | None = None, customer_ids: Iterable[object] | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """Quantiles `q` of each customer's spend on `target` (the predictive distribution
        whose mean, P(buy) and interval :meth:`predict` returns), indexed by customer."""
        if target not in (targets := ["total", *self.categories]):
            raise ValueError(f"unknown target {target!r}; choose one of {targets}.")
        scores = self.predict(data, as_of=as_of, customer_ids=customer_ids, reasons=False)
        return self.quantiles_of(scores.set_index("customer_id"), q)[target]

    def reasons(self, features: pd.DataFrame, *, given=None, with_features: bool = False):
        """The three strongest drivers of each row's total prediction in plain words (served
        contributions, fast enough for 100,000 rows); `with_features` adds their features."""
        self._check_fitted()
        x = estimates.matrix(self, features)
        return explanation.reasons_of(self, x, given, with_features=with_features)

    def explainable(self, target: str) -> bool:
        """Whether :meth:`explain_features` supports the model of `target`."""
        self._check_fitted()
        return explainable(self.bundles_[target]["model"])

    def explain_features(
        self, features: pd.DataFrame, target: str = "total", *, exact: bool = True
    ) -> pd.DataFrame:
        """Each feature's additive contribution to `target`'s model output, per row: with
        ``base_value`` they add up to the raw output (spend, log spend for Tweedie, log-odds
        for purchase). ``exact``: TreeSHAP; otherwise path contributions, 100 times faster."""
        self._check_fitted()
        x = estimates.matrix(self, features)
        return explanation.explain_features(self, x, target, exact=exact)

    def explain_served(
        self, features: pd.DataFrame, target: str | Sequence[str] = "total", *,
        exact: bool = True, raw: dict[str, pd.DataFrame] | None = None,
    ) -> pd.DataFrame | dict[str, pd.DataFrame]:  # fmt: skip
        """Each feature's contribution to the served value of `target` (currency; purchase:
        probability): with ``base_value`` they add up to what :meth:`predict_features`
        serves, the whole hybrid explained. A list of targets gives a dict; `raw`:
        :meth:`explain_features` of these rows per target, if already made."""
        self._check_fitted()
        targets = [target] if isinstance(target, str) else list(target)
        out = explanation.explain_served(self, estimates.matrix(self, features), targets,
                                         exact=exact, raw=raw)  # fmt: skip
        return out[target] if isinstance(target, str) else out

    def explain(
        self, data: RetailData, customer_ids: Iterable[object], *, target: str = "total",
        as_of: str | pd.Timestamp | None = None, exact: bool = True,
    ) -> pd.DataFrame:  # fmt: skip
        """:meth:`explain_features` of these customers' features as of a day."""
        self._check_fitted()
        return explanation.explain(self, data, customer_ids, target=target, as_of=as_of,
                                   exact=exact)  # fmt: skip

    def check_data(self, data: RetailData) -> None:
        """Raise ValueError if this model cannot score `data` faithfully."""
        self._check_fitted()
        check_compatible(self.feature_config_, data)

    def save(self, folder: str | os.PathLike[str], *, metadata: dict | None = None) -> Path:
        """Write the model to `folder`: one skops file per target, ``metadata.json`` (the
        parameters and fitted scalars, plus `metadata`) and ``metrics.json``
        (:attr:`report_`), by :func:`clvmodel.persistence.save_fitted`."""
        self._check_fitted()
        return save_fitted(self, folder, metadata)

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> CLVModel:
        """A model saved by :meth:`save` (skops, reviewed trusted types only). Raises
        ValueError if the artifacts build other features than this version, lack a
        target's model, or do not match their configuration id."""
        return load_fitted(cls, folder)
