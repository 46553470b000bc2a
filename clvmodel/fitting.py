"""Fitting a :class:`clvmodel.CLVModel`: the bodies of its ``fit`` and ``fit_panel``.

As-of features on monthly cutoffs, the candidates trained and chosen per target
(:mod:`clvmodel.training`), the spread of the predictive distribution, the cold-start part,
the fit's report, the shared error of sums and the refit on every cutoff. The functions
receive the model (they do not import it) and set its ``*_`` attributes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from clvmodel import bgnbd_ml, forecast
from clvmodel.aggregate import month_to_month_error, shared_error
from clvmodel.coldstart import cold_start_models, predict_cold, refit_cold_start
from clvmodel.dataset import RetailData
from clvmodel.dates import as_day, day_after
from clvmodel.distribution import fit_sigma
from clvmodel.estimates import expected
from clvmodel.features import (
    INDEX,
    CutoffPlan,
    FeatureConfig,
    as_of_data,
    build_features,
    build_panel,
    build_targets,
    map_categories,
    plan_cutoffs,
)
from clvmodel.partitions import PartitionedData
from clvmodel.report import cold_start_served, fit_report
from clvmodel.sample import training_data
from clvmodel.training import (
    Split,
    TargetResult,
    TrainConfig,
    bgnbd_bundles,
    bgnbd_results,
    recent_levels,
    refit_target,
    train_all,
)

__all__ = ["fit", "fit_panel"]


def fit(
    model: Any,
    data: RetailData | PartitionedData,
    *,
    as_of: str | pd.Timestamp | None,
    oracles: dict[str, pd.DataFrame] | None,
) -> Any:
    """:meth:`clvmodel.CLVModel.fit`: the panel of `data` (or of its training sample)."""
    cfg = model.check_params()
    started = time.perf_counter()
    end_of_data = day_after(data.last_date)
    data, sample = training_data(data, model.max_customers, engine=model.engine,
                                 scheduler=model.scheduler, n_workers=model.n_jobs)  # fmt: skip
    if as_of is None and sample is not None:
        as_of = end_of_data  # the whole data's end, not the sample's last purchase
    if as_of is not None:
        data = as_of_data(data, as_of)
    fcfg = FeatureConfig.from_data(data, horizon=cfg.horizon, max_categories=model.max_categories,
                                   category_map=model.category_map)  # fmt: skip
    data = map_categories(data, fcfg)  # once, not at every cutoff
    plan = plan_cutoffs(data, horizon=cfg.horizon, n_cutoffs=cfg.n_cutoffs, end=as_of)
    end = as_day(as_of) if as_of is not None else day_after(data.last_date)
    if plan.kind == "bgnbd":
        _fit_bgnbd_only(model, data, fcfg, plan, end)
    else:
        fit_panel(model, build_panel(data, plan.cutoffs, fcfg), fcfg, data=data, oracles=oracles)
    model.info_["cutoff_plan"] = {"kind": plan.kind, "note": plan.note}
    model.info_["default_as_of"] = f"{end:%Y-%m-%d}"
    model.info_["training_sample"] = sample.to_dict() if sample is not None else None
    model.report_.train_seconds = round(time.perf_counter() - started, 1)
    return model


def fit_panel(
    model: Any,
    panel: pd.DataFrame,
    feature_config: FeatureConfig,
    *,
    data: RetailData | None,
    oracles: dict[str, pd.DataFrame] | None,
) -> Any:
    """:meth:`clvmodel.CLVModel.fit_panel`: train, choose, measure and refit on `panel`."""
    cfg = model.check_params()
    started = time.perf_counter()
    results, split = train_all(panel, feature_config, cfg, oracles=oracles)
    features = feature_config.feature_names
    model.feature_config_ = feature_config
    model.feature_names_ = list(features)
    model.n_features_in_ = len(features)
    model.bundles_ = {t: r.bundle for t, r in results.items()}
    model.typical_ = split.train[features].median()
    validation = expected(model, split.validation[features])
    y = split.validation["target_total"].to_numpy(dtype=float)
    model.sigma_ = fit_sigma(y, validation["total"], validation["purchase"], model._levels())
    cold_report, cold_split = _fit_cold(model, panel, data, cfg, oracles)
    model.info_ = _fit_info(split, data)
    test = model.predict_features(split.test[features], reasons=False)
    model.report_ = fit_report(model, results, split, test, cold_report)
    model.test_scores_ = test
    model.shared_error_ = _shared_errors(model, split.test, test, panel)
    if model.refit:
        _refit(model, results, split, validation, panel, cfg, cold_split)
    model.report_.train_seconds = round(time.perf_counter() - started, 1)
    model.test_predictions_ = {t: r.test_predictions for t, r in results.items()}
    return model


def _fit_bgnbd_only(
    model: Any, data: RetailData, fcfg: FeatureConfig, plan: CutoffPlan, end: pd.Timestamp
) -> None:
    """A log too short for boosters: BG/NBD fitted on the history before the last
    `horizon` days and measured on them (the spread of the distribution too, the only
    held-out month), then, with the refit, fitted again on the whole history."""
    test = plan.cutoffs[-1]
    x = build_features(data, test, fcfg)
    rows = x.join(build_targets(data, test, fcfg, x.index)).assign(cutoff=test)
    rows = rows.reset_index().set_index(INDEX)
    features = fcfg.feature_names
    model.feature_config_, model.feature_names_ = fcfg, list(features)
    model.n_features_in_ = len(features)
    model.bundles_ = bgnbd_bundles(bgnbd_ml.fit(rows), fcfg, plan.note)
    model.typical_ = rows[features].median()
    model.cold_, model.cold_sigma_ = None, None
    served = expected(model, rows[features])
    y = rows["target_total"].to_numpy(dtype=float)
    model.sigma_ = fit_sigma(y, served["total"], served["purchase"], model._levels())
    split = Split(rows.iloc[:0], rows.iloc[:0], rows)
    model.info_ = _fit_info(split, data)
    scores = model.predict_features(rows[features], reasons=False)
    results = bgnbd_results(rows, served, fcfg, plan.note)
    model.report_ = fit_report(model, results, split, scores, None)
    model.test_scores_ = scores
    model.shared_error_ = _shared_errors(model, rows, scores, rows)
    model.test_predictions_ = {t: r.test_predictions for t, r in results.items()}
    if model.refit:
        latest = build_features(data, end, fcfg)
        model.bundles_ = bgnbd_bundles(bgnbd_ml.fit(latest), fcfg, plan.note)
        model.typical_ = latest[features].median()


def _fit_cold(
    model: Any,
    panel: pd.DataFrame,
    data: RetailData | None,
    cfg: TrainConfig,
    oracles: dict[str, pd.DataFrame] | None,
) -> tuple[dict | None, Split | None]:
    """Fit the cold-start part of `model` (``cold_``, ``cold_sigma_``; None without one)
    and measure it; its report and split."""
    model.cold_, model.cold_sigma_ = None, None
    if not model.cold_start or data is None:
        return None, None
    config = model.feature_config_
    cutoffs = sorted(panel.index.get_level_values("cutoff").unique())
    trained = cold_start_models(data, cutoffs, config, cfg, oracles=oracles)
    if trained is None:
        return None, None
    model.cold_, cold_report, cold_split = trained
    served = predict_cold(model.cold_, cold_split.validation, config)
    y = cold_split.validation["target_total"].to_numpy(dtype=float)
    model.cold_sigma_ = fit_sigma(y, served["total"], served["purchase"], model._levels())
    cold_start_served(model, cold_report, cold_split)
    return cold_report, cold_split


def _fit_info(split: Split, data: RetailData | None) -> dict:
    """What ``info_`` records of the data a model was fitted on."""
    info = {
        "cutoffs": split.cutoffs,
        "n_rows": {k: len(getattr(split, k)) for k in ("train", "validation", "test")},
    }
    if data is not None:
        info |= {
            "first_date": f"{data.first_date:%Y-%m-%d}",
            "last_date": f"{data.last_date:%Y-%m-%d}",
            "n_customers": len(data.customers),
            "n_transactions": len(data.transactions),
            "default_as_of": f"{day_after(data.last_date):%Y-%m-%d}",
        }
    return info


def _shared_errors(
    model: Any, rows: pd.DataFrame, served: pd.DataFrame, panel: pd.DataFrame
) -> dict[str, float]:
    """Per spend target, the larger of the error the test month's group totals share and
    how much a month's spend per customer moves from the month before."""
    cells = forecast.model_group_cells(model, rows, served)
    out = {}
    for t in model.feature_config_.spend_targets:
        mine = cells.loc[cells["target"] == t]
        shared = shared_error(mine["actual"], mine["expected"], mine["variance"])
        out[t] = max(shared, month_to_month_error(panel, t))
    return out


def _refit(
    model: Any,
    results: dict[str, TargetResult],
    split: Split,
    validation: dict[str, np.ndarray],
    panel: pd.DataFrame,
    cfg: TrainConfig,
    cold_split: Split | None,
) -> None:
    """The chosen recipes fitted again on every cutoff, with the level of the latest two
    months (:func:`clvmodel.training.recent_levels`)."""
    features = model.feature_names_
    test = expected(model, split.test[features])
    levels = recent_levels(split, validation, test, model.bundles_)
    model.bundles_ = {t: refit_target(r, panel, t, features, cfg) for t, r in results.items()}
    for t, level in levels.items():
        model.bundles_[t]["level"] = level
    if model.cold_ is not None:
        whole = pd.concat([cold_split.train, cold_split.validation, cold_split.test])
        model.cold_ = refit_cold_start(model.cold_, whole, model.feature_config_, cfg)
