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
import time
from collections.abc import Iterable, Iterator, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)

from clvmodel.aggregate import (
    PROFILE_COLUMNS,
    customer_profiles,
    forecast_groups,
    group_cells,
    month_to_month_error,
    shared_error,
)
from clvmodel.coldstart import cold_start_models, predict_cold, refit_cold_start
from clvmodel.contributions import contributions, explainable, unwrap
from clvmodel.dataset import RetailData
from clvmodel.dates import as_day
from clvmodel.distribution import (
    category_shares,
    fit_sigma,
    interval_quantiles,
    quantile_calibration,
    spend_quantiles,
)
from clvmodel.engine import ENGINES, iter_parts, require_dask
from clvmodel.evaluation import (
    decile_table,
    interval_metrics,
    oracle_share,
    probability_metrics,
    reliability_table,
    spend_metrics,
    top_decile_coverage,
)
from clvmodel.features import (
    FeatureConfig,
    as_of_data,
    build_features,
    build_panel,
    check_compatible,
    cutoff_dates,
)
from clvmodel.partitions import PartitionedData
from clvmodel.persistence import read_artifacts, write_artifacts
from clvmodel.reasons import reason_codes
from clvmodel.report import FitReport
from clvmodel.sample import training_data
from clvmodel.score_folder import finish_folder, prepare_folder, write_part
from clvmodel.training import (
    PROBABILITY_MODELS,
    SPEND_MODELS,
    Split,
    TargetResult,
    TrainConfig,
    level_factor,
    point_prediction,
    predict_probability,
    refit_target,
    train_all,
)

if TYPE_CHECKING:
    from clvmodel.prediction import CustomerScorer

__all__ = [
    "PROBABILITY",
    "REASONS",
    "CLVModel",
    "NotFittedError",
    "combine_part_scores",
    "predict_part",
    "prediction_columns",
    "score_part",
]

log = logging.getLogger(__name__)

PROBABILITY = "purchase_probability"
MEDIAN = "predicted_total_median"
REASONS = ["reason_1", "reason_2", "reason_3"]
COLD_START_REASON = "no purchase yet: predicted from segment, loyalty tier and account age"
DISTRIBUTION = (
    "hurdle: 0 with probability 1 - P(buy), else a lognormal amount whose mean makes the "
    "distribution's mean the expected spend; categories split the basket by their shares of "
    "the expected spend"
)
RECONCILIATION = (
    "each category's expected spend is the customer's total times the category's share of "
    "the category models' predictions (clipped at 0; the customer's historical shares where "
    "every category model predicts 0); its interval is the total's interval times the same "
    "share"
)


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


def prediction_columns(categories: Iterable[str]) -> list[str]:
    """The columns :meth:`CLVModel.predict_features` returns, shared by the app and the CLI.

    Per spend target the expected spend and its interval (``_low``, ``_high``: the
    quantiles of the predictive distribution at the interval's ends); then P(buy), the
    median of total spend and three reasons.
    """
    cols = []
    for t in ["total", *categories]:
        cols += [f"predicted_{t}", f"predicted_{t}_low", f"predicted_{t}_high"]
    return [*cols, PROBABILITY, MEDIAN, *REASONS]


def _no_negative_zero(values: np.ndarray) -> np.ndarray:
    """Adding 0.0 turns -0.0 into 0.0 and leaves every other float as it is."""
    return np.asarray(values, dtype=float) + 0.0


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

    def _model_params(self) -> dict:
        """The parameters that define the model (the engine only says where it runs)."""
        params = self.get_params()
        return _jsonable_params({k: v for k, v in params.items() if k not in _RUNTIME})

    def config_id(self) -> str:
        """A short hash of the parameters and the feature list: the identity of the model's
        configuration, checked on :meth:`load`."""
        spec = {"params": self._model_params()}
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
        cfg = self.check_params()
        started = time.perf_counter()
        end_of_data = data.last_date + pd.Timedelta(days=1)
        data, sample = training_data(data, self.max_customers, engine=self.engine,
                                     scheduler=self.scheduler, n_workers=self.n_jobs)  # fmt: skip
        if as_of is None and sample is not None:
            as_of = end_of_data  # the whole data's end, not the sample's last purchase
        if as_of is not None:
            data = as_of_data(data, as_of)
        fcfg = FeatureConfig.from_data(data, horizon=cfg.horizon)
        cutoffs = cutoff_dates(data, horizon=cfg.horizon, n_cutoffs=cfg.n_cutoffs, end=as_of)
        panel = build_panel(data, cutoffs, fcfg)
        self.fit_panel(panel, fcfg, data=data, oracles=oracles)
        end = as_day(as_of) if as_of is not None else data.last_date + pd.Timedelta(days=1)
        self.info_["default_as_of"] = f"{end:%Y-%m-%d}"
        self.info_["training_sample"] = sample.to_dict() if sample is not None else None
        self.report_.train_seconds = round(time.perf_counter() - started, 1)
        return self

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
        cfg = self.check_params()
        started = time.perf_counter()
        results, split = train_all(panel, feature_config, cfg, oracles=oracles)
        features = feature_config.feature_names
        self.feature_config_ = feature_config
        self.feature_names_ = list(features)
        self.n_features_in_ = len(features)
        self.bundles_ = {t: r.bundle for t, r in results.items()}
        self.typical_ = split.train[features].median()
        levels = self._levels(cfg.interval)
        validation = self._expected(split.validation[features])
        self.sigma_ = fit_sigma(
            split.validation["target_total"].to_numpy(dtype=float),
            validation["total"],
            validation["purchase"],
            levels,
        )
        self.cold_, self.cold_sigma_ = None, None
        cold_report = None
        if self.cold_start and data is not None:
            cutoffs = sorted(panel.index.get_level_values("cutoff").unique())
            trained = cold_start_models(data, cutoffs, feature_config, cfg, oracles=oracles)
            if trained is not None:
                self.cold_, cold_report, cold_split = trained
                served = predict_cold(self.cold_, cold_split.validation, feature_config)
                self.cold_sigma_ = fit_sigma(
                    cold_split.validation["target_total"].to_numpy(dtype=float),
                    served["total"],
                    served["purchase"],
                    levels,
                )
                _cold_evaluation(self, cold_report, cold_split)
        self.info_ = {
            "cutoffs": split.cutoffs,
            "n_rows": {k: len(getattr(split, k)) for k in ("train", "validation", "test")},
        }
        if data is not None:
            self.info_ |= {
                "first_date": f"{data.first_date:%Y-%m-%d}",
                "last_date": f"{data.last_date:%Y-%m-%d}",
                "n_customers": len(data.customers),
                "n_transactions": len(data.transactions),
                "default_as_of": f"{data.last_date + pd.Timedelta(days=1):%Y-%m-%d}",
            }
        test = self.predict_features(split.test[features], reasons=False)
        self.report_ = _evaluation(self, results, split, test, cold_report)
        self.test_scores_ = test
        cells = self.group_cells(split.test, test)
        self.shared_error_ = {
            t: max(
                shared_error(
                    *(
                        cells.loc[cells["target"] == t, k]
                        for k in ("actual", "expected", "variance")
                    )
                ),
                month_to_month_error(panel, t),
            )
            for t in feature_config.spend_targets
        }
        if self.refit:
            levels_now = _recent_levels(self, split, validation)
            self.bundles_ = {
                t: refit_target(r, panel, t, features, cfg) for t, r in results.items()
            }
            for t, level in levels_now.items():
                self.bundles_[t]["level"] = level
            if self.cold_ is not None:
                whole = pd.concat([cold_split.train, cold_split.validation, cold_split.test])
                self.cold_ = refit_cold_start(self.cold_, whole, feature_config, cfg)
        self.report_.train_seconds = round(time.perf_counter() - started, 1)
        self.test_predictions_ = {t: r.test_predictions for t, r in results.items()}
        return self

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

    def _matrix(self, features: pd.DataFrame) -> pd.DataFrame:
        """The features the models read, as one float block, in their order."""
        missing = [f for f in self.feature_names_ if f not in features.columns]
        if missing:
            raise ValueError(
                f"missing feature column(s): {missing[:10]}"
                + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            )
        # One float block, built once: column-wise astype costs more than predicting a row.
        arr = features[self.feature_names_].to_numpy(dtype="float64")
        return pd.DataFrame(arr, index=features.index, columns=self.feature_names_)

    def _expected(self, features: pd.DataFrame) -> dict[str, np.ndarray]:
        """Expected spend per spend target (before reconciliation) and P(buy)."""
        x = self._matrix(features)
        arr = x.to_numpy()  # columns checked once here: every model reads the array
        horizon = self.feature_config_.horizon
        out = {
            t: point_prediction(self.bundles_[t], x, t, horizon, arr)
            for t in self.feature_config_.spend_targets
        }
        out["purchase"] = predict_probability(self.bundles_["purchase"]["model"], arr)
        return out

    def _distribution(
        self, expected: dict[str, np.ndarray], sigma: float, fallback: np.ndarray | None
    ) -> dict[str, np.ndarray]:
        """Every served number of :func:`prediction_columns` (reasons aside) from the
        expected spends and P(buy): the one place they are derived."""
        cats = self.categories
        lo, hi = self._levels()
        total = np.clip(expected["total"], 0.0, None)
        p = np.clip(expected["purchase"], 0.0, 1.0)
        q = spend_quantiles(total, p, sigma, (lo, 0.5, hi))
        out = {"predicted_total": total, "predicted_total_low": q[:, 0]}
        out["predicted_total_high"] = q[:, 2]
        if cats:
            shares = category_shares(np.column_stack([expected[c] for c in cats]), fallback)
            for i, c in enumerate(cats):
                out[f"predicted_{c}"] = shares[:, i] * total
                out[f"predicted_{c}_low"] = shares[:, i] * q[:, 0]
                out[f"predicted_{c}_high"] = shares[:, i] * q[:, 2]
        out[PROBABILITY] = p
        out[MEDIAN] = q[:, 1]
        return {k: _no_negative_zero(v) for k, v in out.items()}

    def group_cells(self, rows: pd.DataFrame, served: pd.DataFrame) -> pd.DataFrame:
        """Actual, expected and independent variance of every spend target's total, for
        everyone and per segment (where the data has segments), on panel `rows` that
        :meth:`predict_features` served as `served` (:func:`clvmodel.aggregate.group_cells`).
        """
        targets = self.feature_config_.spend_targets
        frames = [group_cells(rows, served, self.sigma_, targets)]
        segments = [f"segment_{s}" for s in self.feature_config_.segments]
        if segments and set(segments) <= set(rows.columns):
            flags = rows[segments].to_numpy()
            labels = np.asarray(self.feature_config_.segments, dtype=object)[flags.argmax(axis=1)]
            groups = pd.Series(np.where(flags.max(axis=1) > 0, labels, "unknown"), index=rows.index)
            frames.append(group_cells(rows, served, self.sigma_, targets, groups))
        return pd.concat(frames, ignore_index=True)

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
        x = self._matrix(features)
        expected = self._expected(x)
        fallback = x[[f"share_{c}" for c in self.categories]].to_numpy()
        out = self._distribution(expected, self.sigma_, fallback)
        if reasons:
            codes = self._reasons(x, given)
            out |= {r: codes[r].to_numpy() for r in REASONS}
        else:
            out |= dict.fromkeys(REASONS, "")
        return pd.DataFrame(out, index=features.index, columns=self.columns)

    def predict_cold_features(self, features: pd.DataFrame) -> pd.DataFrame:
        """Predictions for customers without purchases, from their attributes only."""
        self._check_fitted()
        if self.cold_ is None:
            raise ValueError("this model has no cold-start part; fit it with cold_start=True.")
        expected = predict_cold(self.cold_, features, self.feature_config_)
        out = self._distribution(expected, self.cold_sigma_, None)
        out[REASONS[0]] = np.full(len(features), COLD_START_REASON, dtype=object)
        out |= {r: np.full(len(features), "", dtype=object) for r in REASONS[1:]}
        return pd.DataFrame(out, index=features.index, columns=self.columns)

    def quantiles_of(self, scores: pd.DataFrame, q: Sequence[float]) -> dict[str, pd.DataFrame]:
        """Quantiles of every spend target from rows :meth:`predict_features` returned.

        Rows flagged ``cold_start`` (if the column is there) use the cold-start spread.
        """
        self._check_fitted()
        q = [float(v) for v in q]
        cold = scores["cold_start"].to_numpy(dtype=bool) if "cold_start" in scores else None
        total = scores["predicted_total"].to_numpy(dtype=float)
        p = scores[PROBABILITY].to_numpy(dtype=float)
        quant = spend_quantiles(total, p, self.sigma_, q)
        if cold is not None and cold.any() and self.cold_sigma_ is not None:
            quant[cold] = spend_quantiles(total[cold], p[cold], self.cold_sigma_, q)
        names = [f"q{v:g}" for v in q]
        out = {"total": pd.DataFrame(quant, index=scores.index, columns=names)}
        with np.errstate(divide="ignore", invalid="ignore"):
            for c in self.categories:
                share = np.where(
                    total > 0, scores[f"predicted_{c}"].to_numpy(dtype=float) / total, 0.0
                )
                out[c] = pd.DataFrame(
                    _no_negative_zero(share[:, None] * quant), index=scores.index, columns=names
                )
        return out

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
        from clvmodel.prediction import CustomerScorer

        self._check_fitted()
        if isinstance(data, PartitionedData):
            return self._predict_parts(data, as_of=as_of, customer_ids=customer_ids,
                                       reasons=reasons)  # fmt: skip
        scorer = CustomerScorer(self, data)
        if customer_ids is not None:
            out = scorer.score(customer_ids, as_of=as_of)
            if not reasons:
                out[REASONS] = out[REASONS].where(out[PROBABILITY].isna(), "")
            return out
        return scorer.predictions(as_of, reasons=reasons)

    def _predict_parts(
        self,
        data: PartitionedData,
        *,
        as_of: str | pd.Timestamp | None,
        customer_ids: Iterable[object] | None,
        reasons: bool,
    ) -> pd.DataFrame:
        """:meth:`predict` of every part (:func:`score_part`), in the order of the whole."""
        if customer_ids is not None:
            raise ValueError(
                "scoring chosen customer IDs reads the whole data: use clvmodel.load_data "
                "on the partitioned folder, or score every customer and select."
            )
        return combine_part_scores(self.predict_parts(data, as_of=as_of, reasons=reasons))

    def _parts_day(self, data: PartitionedData, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
        """The as-of day of a partitioned data set, checked before any part is read."""
        from clvmodel.prediction import check_as_of, default_as_of

        self._check_fitted()
        self.check_params()
        day = check_as_of(as_of, default_as_of(data))
        if day <= data.first_date:
            raise ValueError(
                f"no transactions before the as-of date {day:%Y-%m-%d}; the data starts on "
                f"{data.first_date:%Y-%m-%d}. Pick a later date."
            )
        return day

    def predict_parts(
        self,
        data: PartitionedData,
        *,
        as_of: str | pd.Timestamp | None = None,
        reasons: bool = True,
    ) -> Iterator[pd.DataFrame | None]:
        """:meth:`predict` of each part of a partitioned data set, yielded in part order
        (None for a part without customers).

        Memory is bounded by a part whatever the base's size, which a single table of
        every customer (:meth:`predict`) is not; rows are ordered within each part.
        """
        day = self._parts_day(data, as_of)
        yield from iter_parts(score_part, data, self, day, reasons, engine=self.engine,
                              scheduler=self.scheduler, n_workers=self.n_jobs)  # fmt: skip

    def write_predictions(
        self,
        data: PartitionedData,
        folder: str | os.PathLike[str],
        *,
        as_of: str | pd.Timestamp | None = None,
        reasons: bool = True,
    ) -> int:
        """Score every part and write its rows to ``folder/part-NNNNN.parquet``
        (:mod:`clvmodel.score_folder`); returns the number of rows.

        Each part is written by whoever scored it (a Dask worker writes its own parts,
        so `folder` must be one the workers can write: shared, or a URL), and nothing
        but row counts comes back: memory stays that of one part at any size.
        """
        day = self._parts_day(data, as_of)
        target = prepare_folder(folder)
        counts = iter_parts(write_part_scores, data, self, day, reasons, target,
                            engine=self.engine, scheduler=self.scheduler,
                            n_workers=self.n_jobs)  # fmt: skip
        rows = sum(counts)
        finish_folder(target, as_of=f"{day:%Y-%m-%d}", n_parts=data.n_parts, rows=rows)
        return rows

    def forecast_scores(
        self,
        scores: pd.DataFrame,
        profiles: pd.DataFrame,
        *,
        by: str | None = None,
        where: dict[str, object] | None = None,
    ) -> pd.DataFrame:
        """Expected spend of groups of customers and the interval of each sum.

        `scores` are :meth:`predict` rows indexed by customer, `profiles` their
        :func:`clvmodel.aggregate.customer_profiles`. `by` names a profile column to break
        down by (None: the whole base); `where` keeps the customers whose profile column
        equals the value (or is in the list). Returns ``group, target, customers,
        expected, low, high`` for the total and every category.
        """
        self._check_fitted()
        profiles = profiles.reindex(scores.index)
        keep = np.ones(len(scores), dtype=bool)
        for column, value in (where or {}).items():
            if column not in profiles:
                raise ValueError(
                    f"cannot filter on {column!r}: the data has {_profile_names(profiles)}."
                )
            values = value if isinstance(value, list | tuple | set) else [value]
            keep &= profiles[column].astype("str").isin([str(v) for v in values]).to_numpy()
        if by is not None and by not in profiles:
            raise ValueError(
                f"cannot break down by {by!r}: the data has {_profile_names(profiles)}."
            )
        scores, profiles = scores[keep], profiles[keep]
        cold = scores["cold_start"].to_numpy(dtype=bool) if "cold_start" in scores else False
        sigma = np.where(cold, self.cold_sigma_ or self.sigma_, self.sigma_)
        groups = profiles[by].astype("str").where(profiles[by].notna()) if by else None
        return forecast_groups(
            scores,
            targets=["total", *self.categories],
            sigma=sigma,
            shared=self.shared_error_,
            level=self.interval,
            by=groups,
        )

    def forecast(
        self,
        data: RetailData,
        *,
        as_of: str | pd.Timestamp | None = None,
        by: str | None = None,
        where: dict[str, object] | None = None,
    ) -> pd.DataFrame:
        """:meth:`forecast_scores` of every customer of `data` as of a day."""
        scores = self.predict(data, as_of=as_of, reasons=False)
        day = scores["as_of"].iloc[0] if len(scores) else as_of
        scores = scores.set_index("customer_id")
        return self.forecast_scores(scores, customer_profiles(data, day), by=by, where=where)

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

    def _reasons(self, x: pd.DataFrame, given=None) -> pd.DataFrame:
        if not self.explainable("total") or x.empty:
            return pd.DataFrame("", index=x.index, columns=REASONS)
        raw = contributions(self.bundles_["total"]["model"], x.to_numpy(), exact=False)
        contrib = pd.DataFrame(raw[:, : len(self.feature_names_)], index=x.index)
        contrib.columns = self.feature_names_
        return reason_codes(contrib, x, self.typical_, top=len(REASONS), given=given)

    def reasons(self, features: pd.DataFrame, *, given=None) -> pd.DataFrame:
        """The three strongest drivers of each row's total prediction, in plain words
        (path contributions, fast enough for 100,000 rows)."""
        self._check_fitted()
        return self._reasons(self._matrix(features), given)

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
        targets = self.feature_config_.targets
        if target not in targets:
            raise ValueError(f"unknown target {target!r}; choose one of {targets}.")
        if not self.explainable(target):
            model = unwrap(self.bundles_[target]["model"])
            raise ValueError(
                f"explanations are not available for the {type(model).__name__} model of "
                f"target {target!r}."
            )
        x = self._matrix(features).to_numpy()
        raw = contributions(self.bundles_[target]["model"], x, exact=exact)
        cols = [*self.feature_names_, "base_value"]
        return pd.DataFrame(np.asarray(raw)[:, : len(cols)], index=features.index, columns=cols)

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
        day = as_day(as_of) if as_of is not None else data.last_date + pd.Timedelta(days=1)
        ids = [str(c) for c in customer_ids]
        x = build_features(data, day, self.feature_config_, customer_ids=ids)
        unknown = [c for c in ids if c not in x.index]
        if unknown:
            raise ValueError(
                f"no purchase history before {day:%Y-%m-%d} for customer(s) {unknown[:5]}."
            )
        return self.explain_features(x.loc[ids], target, exact=exact)

    def check_data(self, data: RetailData) -> None:
        """Raise ValueError if this model cannot score `data` faithfully."""
        self._check_fitted()
        check_compatible(self.feature_config_, data)

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | os.PathLike[str], *, metadata: dict | None = None) -> Path:
        """Write the model to `folder`: one skops file per target, ``metadata.json`` (the
        parameters and fitted scalars) and ``metrics.json`` (:attr:`report_`).

        `metadata` adds entries (e.g. where the data came from) to ``metadata.json``.
        """
        self._check_fitted()
        bundles = dict(self.bundles_)
        if self.cold_ is not None:
            bundles["cold_start"] = self.cold_
        fitted = {
            "config_id": self.config_id(),
            "params": self._model_params(),
            "feature_names": self.feature_names_,
            "feature_config": self.feature_config_.to_dict(),
            "sigma": self.sigma_,
            "cold_sigma": self.cold_sigma_,
            "shared_error": self.shared_error_,
            "typical_features": self.typical_.round(4).to_dict(),
            "horizon_days": self.feature_config_.horizon,
            "default_as_of": self.info_.get("default_as_of"),
            "cutoffs": self.info_.get("cutoffs"),
            "info": self.info_,
            "targets": {
                t: {"model": self.report_.targets[t].chosen, "kind": self.report_.targets[t].kind}
                for t in self.bundles_
            },
        }
        write_artifacts(folder, bundles, {**(metadata or {}), **fitted}, self.report_.to_dict())
        return Path(folder)

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> CLVModel:
        """A model saved by :meth:`save` (skops, reviewed trusted types only).

        Raises
        ------
        ValueError
            If the artifacts were made by a version of clvmodel that builds other
            features, lack a target's model, or do not match their configuration id.
        """
        bundles, metadata = read_artifacts(folder)
        if "params" not in metadata or "sigma" not in metadata:
            raise ValueError(
                f"{folder} holds artifacts of an older clvmodel (no model parameters or "
                "spread). Retrain with `python train.py`."
            )
        model = cls(**_params_from_json(metadata["params"]))
        config = FeatureConfig.from_dict(metadata["feature_config"])
        names = list(metadata["feature_names"])
        if names != config.feature_names:
            added = sorted(set(config.feature_names) - set(names))
            dropped = sorted(set(names) - set(config.feature_names))
            raise ValueError(
                "The artifacts were trained on a different feature list than this version of "
                f"clvmodel builds (new: {added or 'none'}; gone: {dropped or 'none'}; or a "
                "different order). Retrain with `python train.py`."
            )
        missing = sorted(set(config.targets) - set(bundles))
        if missing:
            raise ValueError(f"The artifacts have no model for target(s) {missing}.")
        model.feature_config_ = config
        model.feature_names_ = names
        model.n_features_in_ = len(names)
        model.cold_ = bundles.pop("cold_start", None)
        model.bundles_ = bundles
        model.sigma_ = float(metadata["sigma"])
        cold_sigma = metadata.get("cold_sigma")
        model.cold_sigma_ = None if cold_sigma is None else float(cold_sigma)
        model.shared_error_ = {t: float(v) for t, v in (metadata.get("shared_error") or {}).items()}
        model.typical_ = pd.Series(metadata.get("typical_features", {}), dtype="float64")
        model.info_ = dict(metadata.get("info", {}))
        model.metadata_ = metadata
        from clvmodel.persistence import METRICS_FILE, load_json

        model.report_ = FitReport.from_dict(load_json(Path(folder) / METRICS_FILE))
        if model.config_id() != metadata.get("config_id"):
            raise ValueError(
                f"{folder}: the saved configuration id {metadata.get('config_id')!r} does not "
                f"match the parameters and features stored beside it ({model.config_id()!r}): "
                "the files were edited or mixed from two models. Retrain."
            )
        return model


def score_part(
    data: PartitionedData, part: int, model: CLVModel, day: pd.Timestamp, reasons: bool
) -> pd.DataFrame | None:
    """:meth:`CLVModel.predict` of one part, read here (on a Dask worker: by the worker);
    None for a part without customers.

    The same call as for a whole data set: scores of a customer read only their rows.
    Errors name the part.
    """
    return predict_part(data, part, data.part(part), model, day, reasons)[0]


def predict_part(
    data: PartitionedData,
    part: int,
    rows: RetailData,
    model: CLVModel,
    day: pd.Timestamp,
    reasons: bool,
) -> tuple[pd.DataFrame | None, CustomerScorer | None]:
    """:func:`score_part` of a part's rows already read, and the scorer that made them:
    it keeps the features of `day`, which a caller summarizing the part reuses instead
    of building them again. ``(None, None)`` for a part without customers."""
    from clvmodel.prediction import CustomerScorer, default_as_of

    if rows.customers.empty and rows.transactions.empty:
        return None, None
    try:
        model.check_data(rows)
        # The base's last day, not the part's: a small part may end before the others.
        scorer = CustomerScorer(model, rows, default_as_of=default_as_of(data))
        return scorer.predictions(day, reasons=reasons), scorer
    except ValueError as exc:
        raise ValueError(f"part {part} of {data.path}: {exc}") from exc


def write_part_scores(
    data: PartitionedData,
    part: int,
    model: CLVModel,
    day: pd.Timestamp,
    reasons: bool,
    folder: str,
) -> int:
    """:func:`score_part`, written to the scores folder where it ran; its row count."""
    rows = score_part(data, part, model, day, reasons)
    return 0 if rows is None else write_part(folder, part, rows)


def combine_part_scores(parts: Iterable[pd.DataFrame | None]) -> pd.DataFrame:
    """The parts' :func:`score_part` rows as :meth:`CLVModel.predict` returns the whole
    data's: customers with history by ID, then cold-start customers by ID."""
    out = pd.concat([p for p in parts if p is not None], ignore_index=True)
    order = np.lexsort((out["customer_id"].to_numpy(), out["cold_start"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _profile_names(profiles: pd.DataFrame) -> list[str]:
    return [c for c in profiles.columns if c in PROFILE_COLUMNS]


def _jsonable_params(params: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple | list) else v for k, v in params.items()}


def _params_from_json(params: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


# ---------------------------------------------------------------------- evaluation
def _evaluation(
    model: CLVModel,
    results: dict[str, TargetResult],
    split: Split,
    served: pd.DataFrame,
    cold_report: dict | None,
) -> FitReport:
    """The report of a fit: every candidate's test metrics from training, and the deployed
    model's from `served`, the test rows as :meth:`CLVModel.predict_features` scores them."""
    level = model.interval
    lo, hi = model._levels()
    targets = {}
    for target, res in results.items():
        report = dict(res.report)
        y = split.test[f"target_{target}"].to_numpy(dtype=float)
        if report["kind"] == "probability":
            p = served[PROBABILITY].to_numpy()
            report["deployed"] = report["chosen"]
            report["test"][report["chosen"]] = probability_metrics(y, p)
            report["reliability"] = reliability_table(y, p).to_dict(orient="records")
        else:
            point = served[f"predicted_{target}"].to_numpy()
            low = served[f"predicted_{target}_low"].to_numpy()
            high = served[f"predicted_{target}_high"].to_numpy()
            deployed = report["chosen"] if target == "total" else "reconciled"
            report["deployed"] = deployed
            report["test"][deployed] = spend_metrics(y, point)
            report["interval"] = {
                "nominal": level,
                "quantiles": [lo, hi],
                **interval_metrics(y, low, high),
                "top_decile_coverage": top_decile_coverage(y, low, high, point),
            }
            report["deciles"] = decile_table(y, point).to_dict(orient="records")
            if target == "total":
                q = np.column_stack([low, served[MEDIAN].to_numpy(), high])
                report["distribution"] = {
                    "method": DISTRIBUTION,
                    "log_sigma": model.sigma_,
                    **quantile_calibration(y, q, (lo, 0.5, hi)),
                }
            else:
                report["reconciliation"] = RECONCILIATION
        if report["kind"] == "spend" and "oracle" in report["test"]:
            report["oracle_share"] = {
                m: oracle_share(v, report["test"]["oracle"])
                for m, v in report["test"].items()
                if m != "oracle"
            }
        targets[target] = report
    out = {
        "horizon_days": model.feature_config_.horizon,
        "interval": level,
        "cutoffs": split.cutoffs,
        "n_rows": {k: len(getattr(split, k)) for k in ("train", "validation", "test")},
        "targets": targets,
    }
    if cold_report is not None:
        out["cold_start"] = cold_report
    return FitReport.from_dict(out)


def _recent_levels(
    model: CLVModel, split: Split, validation: dict[str, np.ndarray]
) -> dict[str, float]:
    """Each spend target's level factor over the validation and test months together.

    Both months are out of time for the models fitted before the refit; the refitted
    model serves the month after the test month, and the level of the latest two months
    says more about it than the validation month alone (a month's total is noisy).
    """
    out = {}
    features = model.feature_names_
    months = [validation, model._expected(split.test[features])]
    for t in model.feature_config_.spend_targets:
        level = model.bundles_[t].get("level", 1.0)
        y = np.concatenate([getattr(split, k)[f"target_{t}"].to_numpy() for k in
                            ("validation", "test")])  # fmt: skip
        unit = np.concatenate([m[t] for m in months]) / level
        out[t] = level_factor(y, unit)
    return out


def _cold_evaluation(model: CLVModel, report: dict, split: Split) -> None:
    """Add the deployed cold-start figures (the served distribution) to `report`."""
    served = model.predict_cold_features(split.test)
    for target, entry in report["targets"].items():
        y = split.test[f"target_{target}"].to_numpy(dtype=float)
        if target == "purchase":
            entry["test"]["deployed"] = probability_metrics(y, served[PROBABILITY].to_numpy())
            continue
        point = served[f"predicted_{target}"].to_numpy()
        low = served[f"predicted_{target}_low"].to_numpy()
        high = served[f"predicted_{target}_high"].to_numpy()
        entry["test"]["deployed"] = spend_metrics(y, point)
        entry["interval"] = {"nominal": model.interval, **interval_metrics(y, low, high)}
    report["log_sigma"] = model.cold_sigma_
