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

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)

from clvmodel import estimates, explanation, fitting, forecast, parts, scoring
from clvmodel.columns import (
    MEDIAN,
    PROBABILITY,
    REASONS,
    prediction_columns,
)
from clvmodel.contributions import explainable
from clvmodel.dataset import RetailData
from clvmodel.distribution import interval_quantiles, score_quantiles
from clvmodel.engine import ENGINES, require_dask
from clvmodel.features import (
    FeatureConfig,
    check_compatible,
)
from clvmodel.partitions import PartitionedData
from clvmodel.parts import combine_part_scores, predict_part, score_part
from clvmodel.persistence import load_fitted, save_fitted
from clvmodel.training import (
    PROBABILITY_MODELS,
    SPEND_MODELS,
    TrainConfig,
)

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

#: Parameters of how the model runs, not of what it is: left out of its identity.
_RUNTIME = ("engine", "scheduler")


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


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit`` (or ``load``)."""


class CLVModel(BaseEstimator):
    """Each customer's spend over the next `horizon` days: in total, per category, P(buy).

    Parameters
    ----------
    horizon : int, default=30
        Days ahead to predict.
    n_cutoffs : int, default=12
        Monthly cutoffs stacked for training: the latest is the test month, the one
        before it validation (model choice, level, spread), the rest train.
    spend_models, probability_models : sequence of str
        Candidates compared per target on the validation cutoff, from
        :data:`clvmodel.training.SPEND_MODELS` and ``PROBABILITY_MODELS``. Each spend
        target also compares BG/NBD and the hybrid of the best candidate with it. The
        defaults are LightGBM with a Tweedie loss for spend: on Online Retail, choosing
        among squared-error boosters too on one validation month picked them at three
        origins of four and lost 0.05 of R² on the months after, and XGBoost's Tweedie
        model added nothing but time (``benchmarks/real_data.py``).
    interval : float, default=0.8
        Central probability of the prediction interval: [P10, P90] for 0.8.
    cold_start : bool, default=True
        Also learn to predict customers who signed up but never bought (needs
        customer attributes).
    refit : bool, default=True
        After choosing and measuring on the validation and test months, fit the chosen
        recipe again on every cutoff, those two months included, and serve that. The
        report's test figures are those of the recipe fitted without them (the served
        code, :meth:`predict_features`, on the test month); the backtests measure the
        refitted model on months it never saw.
    quick : bool, default=False
        Ten times fewer trees, for smoke tests.
    random_state : int, default=0
    n_jobs : int, default=2
        Threads of the boosters; with ``engine="dask"`` and no scheduler, also the
        workers of the local cluster.
    max_categories : int or None, default=10
        Most category targets: past it, the largest ``max_categories - 1`` categories by
        net spend keep their own and the rest are pooled as ``"other"``. None: no limit.
    category_map : dict or None, default=None
        Source category -> category, applied first: renames or merges categories (e.g.
        subcategory to department). Both are kept in ``feature_config_.category_map``.
    max_customers : int or None, default=50_000
        Most customers the training panel is built from (one row per customer and
        cutoff); past it, a reproducible hash sample of customers (:mod:`clvmodel.sample`).
        Scoring is always for everyone. None: train on all.
    engine : {"local", "dask"}, default="local"
        Where a partitioned data set (:class:`clvmodel.partitions.PartitionedData`) is
        read and scored, part by part: in this process, or on Dask (:mod:`clvmodel.engine`).
        :meth:`fit` has the parts read and filtered to the training sample where they
        are and trains on the sample gathered here (the boosters train on one machine);
        :meth:`predict` scores each part where it is read. The numbers are the same.
        How the model runs, not what it is: not part of :meth:`config_id` nor of the
        saved parameters.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``) for ``engine="dask"``; without
        one, a local cluster is started and stopped around the work.

    Attributes
    ----------
    feature_config_ : FeatureConfig
    feature_names_ : list of str
    bundles_ : dict
        Target -> the fitted model and what serving it needs.
    sigma_, cold_sigma_ : float
        Spread of log spend of the predictive distribution (customers with history, and
        cold-start customers).
    shared_error_ : dict
        Per spend target, the relative error that customers share in a month (a weak or
        strong month for everyone): the larger of what the test month's group totals show
        and how much a month's spend per customer moves from the month before; widens
        intervals of sums (:mod:`clvmodel.aggregate`).
    typical_ : Series
        Median training value of each feature: the reference reasons quote.
    report_ : FitReport
        Every metric of the fit (:mod:`clvmodel.report`; ``metrics.json`` is its JSON).
    test_scores_, test_predictions_ : DataFrame, dict
        After ``fit`` only (not saved): the test cutoff as served before the refit, and
        every compared candidate's predictions there.
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

    #: Every parameter's allowed values, declared once (scikit-learn's machinery): checked
    #: by :meth:`check_params` before any work, with scikit-learn's messages.
    _parameter_constraints: dict = {  # noqa: RUF012 (scikit-learn's convention)
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

    # ------------------------------------------------------------------ parameters
    def check_params(self) -> TrainConfig:
        """The parameters checked against :attr:`_parameter_constraints` (and the engine
        against what is installed), as the training functions read them.

        ``fit`` calls it before any work; ``train.py`` and the backtest call it before
        reading data.

        Raises
        ------
        ValueError
            ``The 'x' parameter of CLVModel must be ... Got ... instead.`` (scikit-learn's
            ``InvalidParameterError``, a ValueError and a TypeError).
        """
        self._validate_params()
        if self.scheduler is not None and self.engine != "dask":
            raise InvalidParameterError(
                "The 'scheduler' parameter of CLVModel needs engine='dask'. "
                f"Got engine={self.engine!r} instead."
            )
        if self.engine == "dask":
            require_dask()
        return TrainConfig(
            horizon=int(self.horizon),
            n_cutoffs=int(self.n_cutoffs),
            spend_models=tuple(self.spend_models),
            probability_models=tuple(self.probability_models),
            interval=float(self.interval),
            quick=bool(self.quick),
            random_state=int(self.random_state),
            n_jobs=int(self.n_jobs),
        )

    def model_params(self) -> dict:
        """The parameters that define the model, as JSON (the engine only says where it
        runs): saved, and hashed by :meth:`config_id`."""
        params = self.get_params()
        return {k: list(v) if isinstance(v, tuple | list) else v
                for k, v in params.items() if k not in _RUNTIME}  # fmt: skip

    def config_id(self) -> str:
        """A short hash of the parameters and the feature list: the identity of the model's
        configuration, checked on :meth:`load`."""
        spec = {"params": self.model_params()}
        if hasattr(self, "feature_names_"):
            spec["features"] = list(self.feature_names_)
        text = json.dumps(spec, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        data: RetailData | PartitionedData,
        *,
        as_of: str | pd.Timestamp | None = None,
        oracles: dict[str, pd.DataFrame] | None = None,
    ) -> CLVModel:
        """Build as-of features on monthly cutoffs of `data`, train, choose, calibrate.

        Parameters
        ----------
        data : RetailData or PartitionedData
            From :func:`clvmodel.load_data`, :func:`clvmodel.read_transactions` or
            :func:`clvmodel.partitions.open_partitioned`. With more than `max_customers`
            customers, the panel is built from a reproducible sample of them
            (:mod:`clvmodel.sample`, recorded in ``info_["training_sample"]``); only the
            sample's parts of a partitioned data set are read.
        as_of : date, optional
            Use only what is dated before this day, as if fitted then.
        oracles : dict of DataFrame, optional
            Synthetic data only: true expectations at the test cutoff, indexed by
            ``(cutoff, customer_id)``, reported beside the models.
        """
        return fitting.fit(self, data, as_of=as_of, oracles=oracles)

    def fit_panel(
        self,
        panel: pd.DataFrame,
        feature_config: FeatureConfig,
        *,
        data: RetailData | None = None,
        oracles: dict[str, pd.DataFrame] | None = None,
    ) -> CLVModel:
        """:meth:`fit` on a panel already built (:func:`clvmodel.features.build_panel`).

        The backtest builds one panel over all its origins and fits on slices of it.
        `data` is needed for the cold-start part (customers without purchases are not in
        the panel); without it there is none.
        """
        return fitting.fit_panel(self, panel, feature_config, data=data, oracles=oracles)

    # ------------------------------------------------------------------ serving
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
        self,
        features: pd.DataFrame,
        *,
        reasons: bool = True,
        given: pd.DataFrame | np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Predictions for each row of a feature table (extra columns are ignored).

        Parameters
        ----------
        features : DataFrame
            At least :attr:`feature_names_`, e.g. from :func:`clvmodel.build_features`.
        reasons : bool, default=True
            Fill ``reason_1..3``; False leaves them empty and is faster.
        given : boolean DataFrame or array, optional
            Where the caller gave a feature's value (True) rather than filling it in:
            only given values are cited as reasons.

        Returns
        -------
        DataFrame
            Same index, columns :func:`prediction_columns`.
        """
        self._check_fitted()
        return estimates.served_rows(self, features, reasons=reasons, given=given)

    def predict_cold_features(self, features: pd.DataFrame) -> pd.DataFrame:
        """Predictions for customers without purchases, from their attributes only."""
        self._check_fitted()
        return estimates.cold_rows(self, features)

    def quantiles_of(self, scores: pd.DataFrame, q: Sequence[float]) -> dict[str, pd.DataFrame]:
        """Quantiles of every spend target from rows :meth:`predict_features` returned
        (rows flagged ``cold_start`` use the cold-start spread)."""
        self._check_fitted()
        return score_quantiles(scores, q, self.sigma_, self.cold_sigma_, self.categories)

    def group_cells(self, rows: pd.DataFrame, served: pd.DataFrame) -> pd.DataFrame:
        """Actual, expected and independent variance of each spend target's total, for
        everyone and per segment (:func:`clvmodel.forecast.model_group_cells`)."""
        return forecast.model_group_cells(self, rows, served)

    def predict(
        self,
        data: RetailData | PartitionedData,
        *,
        as_of: str | pd.Timestamp | None = None,
        customer_ids: Iterable[object] | None = None,
        reasons: bool = True,
    ) -> pd.DataFrame:
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
        self, data: PartitionedData, *, as_of: str | pd.Timestamp | None = None,
        reasons: bool = True,
    ) -> Iterator[pd.DataFrame | None]:  # fmt: skip
        """:meth:`predict` of each part of a partitioned data set, yielded in part order
        (None for a part without customers): memory bounded by a part, whatever the
        base's size (:mod:`clvmodel.parts`)."""
        self._check_fitted()
        return parts.predict_parts(self, data, as_of=as_of, reasons=reasons)

    def write_predictions(
        self, data: PartitionedData, folder: str | os.PathLike[str], *,
        as_of: str | pd.Timestamp | None = None, reasons: bool = True,
    ) -> int:  # fmt: skip
        """Score every part and write its rows to ``folder/part-NNNNN.parquet``
        (:mod:`clvmodel.score_folder`) where it was scored (a Dask worker writes its own
        parts: `folder` must be one the workers can write); returns the number of rows."""
        self._check_fitted()
        return parts.write_predictions(self, data, folder, as_of=as_of, reasons=reasons)

    def forecast_scores(
        self, scores: pd.DataFrame, profiles: pd.DataFrame, *, by: str | None = None,
        where: dict[str, object] | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """Expected spend of groups of customers and the interval of each sum
        (:func:`clvmodel.forecast.forecast_scores`)."""
        self._check_fitted()
        return forecast.forecast_scores(self, scores, profiles, by=by, where=where)

    def forecast(
        self, data: RetailData, *, as_of: str | pd.Timestamp | None = None,
        by: str | None = None, where: dict[str, object] | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """:meth:`forecast_scores` of every customer of `data` as of a day."""
        return forecast.forecast(self, data, as_of=as_of, by=by, where=where)

    def predict_quantiles(
        self,
        data: RetailData,
        q: Sequence[float] = (0.1, 0.5, 0.9),
        *,
        target: str = "total",
        as_of: str | pd.Timestamp | None = None,
        customer_ids: Iterable[object] | None = None,
    ) -> pd.DataFrame:
        """Quantiles `q` of each customer's spend on `target` (the predictive distribution
        whose mean, P(buy) and interval :meth:`predict` returns), indexed by customer."""
        if target not in ["total", *self.categories]:
            raise ValueError(
                f"unknown target {target!r}; choose one of {['total', *self.categories]}."
            )
        scores = self.predict(data, as_of=as_of, customer_ids=customer_ids, reasons=False)
        scores = scores.set_index("customer_id")
        return self.quantiles_of(scores, q)[target]

    def reasons(self, features: pd.DataFrame, *, given=None) -> pd.DataFrame:
        """The three strongest drivers of each row's total prediction, in plain words
        (path contributions, fast enough for 100,000 rows)."""
        self._check_fitted()
        return explanation.reasons_of(self, estimates.matrix(self, features), given)

    def explainable(self, target: str) -> bool:
        """Whether :meth:`explain_features` supports the model of `target`."""
        self._check_fitted()
        return explainable(self.bundles_[target]["model"])

    def explain_features(
        self, features: pd.DataFrame, target: str = "total", *, exact: bool = True
    ) -> pd.DataFrame:
        """Each feature's additive contribution to `target`'s model output, per row.

        Contributions add up, with ``base_value``, to the model's raw output: spend for
        squared-error models, log spend for Tweedie, log-odds for the purchase model.
        ``exact`` gives TreeSHAP; otherwise path contributions, a hundred times faster.
        """
        self._check_fitted()
        x = estimates.matrix(self, features)
        return explanation.explain_features(self, x, target, exact=exact)

    def explain(
        self,
        data: RetailData,
        customer_ids: Iterable[object],
        *,
        target: str = "total",
        as_of: str | pd.Timestamp | None = None,
        exact: bool = True,
    ) -> pd.DataFrame:
        """:meth:`explain_features` of these customers' features as of a day."""
        self._check_fitted()
        return explanation.explain(
            self, data, customer_ids, target=target, as_of=as_of, exact=exact
        )

    def check_data(self, data: RetailData) -> None:
        """Raise ValueError if this model cannot score `data` faithfully."""
        self._check_fitted()
        check_compatible(self.feature_config_, data)

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | os.PathLike[str], *, metadata: dict | None = None) -> Path:
        """Write the model to `folder`: one skops file per target, ``metadata.json`` (the
        parameters and fitted scalars, plus `metadata`) and ``metrics.json``
        (:attr:`report_`), by :func:`clvmodel.persistence.save_fitted`."""
        self._check_fitted()
        return save_fitted(self, folder, metadata)

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> CLVModel:
        """A model saved by :meth:`save` (skops, reviewed trusted types only).

        Raises
        ------
        ValueError
            If the artifacts were made by a version of clvmodel that builds other
            features, lack a target's model, or do not match their configuration id.
        """
        return load_fitted(cls, folder)
