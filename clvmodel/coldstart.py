"""Cold start: customers who signed up before the as-of date but never bought.

They have no history, so their features are what the customer table says (loyalty tier,
segment, account age) plus the calendar of the cutoff. Small boosted models, one per
target, are trained on such customers at the same monthly cutoffs as the main models and
checked on the same test cutoff, reported apart. Intervals and P10/P50/P90 scale the
point prediction by factors calibrated on the validation cutoff (spend is 0 for most).
"""

from __future__ import annotations

import logging

import lightgbm as lgb
import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.distribution import QUANTILES
from clvmodel.evaluation import interval_metrics, probability_metrics, spend_metrics
from clvmodel.features import (
    INDEX,
    FeatureConfig,
    _as_day,
    _days_to_peak,
    _promo_days_ahead,
    build_targets,
)
from clvmodel.schema import LOYALTY_TIERS
from clvmodel.training import TrainConfig, time_split

log = logging.getLogger(__name__)


def cold_feature_names(config: FeatureConfig) -> list[str]:
    """Features of a customer without purchases: attributes and calendar only."""
    return [
        "loyalty_tier",
        "account_age_days",
        *[f"segment_{s}" for s in config.segments],
        "cutoff_month",
        "days_to_peak",
        "promo_days_ahead",
    ]


def build_cold_features(
    data: RetailData, cutoff: str | pd.Timestamp, config: FeatureConfig
) -> pd.DataFrame:
    """Features of customers who signed up before `cutoff` with no transaction before it."""
    cutoff = _as_day(cutoff)
    customers = data.customers[data.customers["customer_since"] < cutoff]
    active = data.transactions.loc[data.transactions["date"] < cutoff, "customer_id"].unique()
    customers = customers[~customers.index.isin(active)]
    tier = pd.Index(LOYALTY_TIERS).get_indexer(customers["loyalty_status"])
    out = pd.DataFrame(index=customers.index)
    out["loyalty_tier"] = np.where(tier >= 0, tier, np.nan)
    out["account_age_days"] = (cutoff - customers["customer_since"]).dt.days
    for s in config.segments:
        out[f"segment_{s}"] = (customers["segment_id"] == s).astype(float)
    out["cutoff_month"] = cutoff.month
    out["days_to_peak"] = _days_to_peak(cutoff, config.holiday_peaks)
    out["promo_days_ahead"] = _promo_days_ahead(data.promotions, cutoff, config.horizon)
    out.index.name = "customer_id"
    return out[cold_feature_names(config)].astype("float64")


def build_cold_panel(data: RetailData, cutoffs, config: FeatureConfig) -> pd.DataFrame:
    """Cold features and targets stacked over cutoffs, indexed by (cutoff, customer_id)."""
    frames = []
    for cutoff in cutoffs:
        x = build_cold_features(data, cutoff, config)
        y = build_targets(data, cutoff, config, x.index)
        frames.append(x.join(y).assign(cutoff=_as_day(cutoff)))
    return pd.concat(frames).reset_index().set_index(INDEX)


def _scale_factor(y: np.ndarray, point: np.ndarray, level: float) -> float:
    """Smallest k with share(y <= k · point) >= level on calibration rows (y <= 0 always in)."""
    score = np.where(y <= 0, -np.inf, np.where(point > 0, y / np.maximum(point, 1e-9), np.inf))
    k = np.quantile(score, level, method="higher")
    return float(k) if np.isfinite(k) else 0.0


def _model(kind: str, cfg: TrainConfig):
    params = {
        "n_estimators": 30 if cfg.quick else 150,
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_child_samples": 50,
        "verbose": -1,
        "random_state": cfg.random_state,
        "n_jobs": cfg.n_jobs,
    }
    if kind == "probability":
        return lgb.LGBMClassifier(**params)
    return lgb.LGBMRegressor(**params, objective="tweedie", tweedie_variance_power=1.5)


def train_cold_start(
    panel: pd.DataFrame,
    config: FeatureConfig,
    cfg: TrainConfig,
    *,
    oracles: dict[str, pd.DataFrame] | None = None,
) -> tuple[dict, dict]:
    """Train the cold-start models; returns (bundle to save, report for metrics.json)."""
    split = time_split(panel)
    names = cold_feature_names(config)
    xs = {k: getattr(split, k)[names] for k in ("train", "validation", "test")}
    bundle: dict = {"models": {}, "factors": {}}
    report: dict = {"rows": {k: len(v) for k, v in xs.items()}, "targets": {}}
    for target in config.targets:
        y = {k: getattr(split, k)[f"target_{target}"].to_numpy() for k in xs}
        kind = "probability" if target == "purchase" else "spend"
        model = _model(kind, cfg).fit(xs["train"], np.clip(y["train"], 0, None))
        bundle["models"][target] = model
        if kind == "probability":
            pred = {k: model.predict_proba(xs[k])[:, 1] for k in ("validation", "test")}
            test = {
                "train_rate": probability_metrics(
                    y["test"], np.full(len(y["test"]), y["train"].mean())
                ),
                "lightgbm": probability_metrics(y["test"], pred["test"]),
            }
            key = "p_purchase"
        else:
            pred = {k: model.predict(xs[k]) for k in ("validation", "test")}
            factors = {
                f"p{round(t * 100)}": _scale_factor(y["validation"], pred["validation"], t)
                for t in QUANTILES
            }
            factors["high"] = _scale_factor(y["validation"], pred["validation"], cfg.interval)
            bundle["factors"][target] = factors
            test = {
                "train_mean": spend_metrics(y["test"], np.full(len(y["test"]), y["train"].mean())),
                "lightgbm_tweedie": spend_metrics(y["test"], pred["test"]),
            }
            high = factors["high"] * pred["test"]
            interval = interval_metrics(y["test"], np.zeros_like(high), high)
            key = f"expected_{target}"
        for name, frame in (oracles or {}).items():
            truth = frame[key].reindex(split.test.index).fillna(0.0).to_numpy()
            metric = probability_metrics if kind == "probability" else spend_metrics
            test[name] = metric(y["test"], truth)
        report["targets"][target] = {"test": test}
        if kind == "spend":
            report["targets"][target]["interval"] = {"nominal": cfg.interval, **interval}
        log.info("  cold start %-12s done", target)
    return bundle, report


def predict_cold(bundle: dict, features: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """Prediction columns for cold-start customers (see :func:`prediction_columns`)."""
    x = features[cold_feature_names(config)]
    out = {}
    for target in config.spend_targets:
        point = np.clip(bundle["models"][target].predict(x), 0, None)
        factors = bundle["factors"][target]
        out[f"predicted_{target}"] = point
        out[f"predicted_{target}_low"] = np.zeros(len(x))
        out[f"predicted_{target}_high"] = factors["high"] * point
    out["purchase_probability"] = bundle["models"]["purchase"].predict_proba(x)[:, 1]
    for t in QUANTILES:
        name = f"p{round(t * 100)}"
        out[f"predicted_total_{name}"] = bundle["factors"]["total"][name] * out["predicted_total"]
    return pd.DataFrame(out, index=features.index)


def cold_start_models(
    data: RetailData,
    cutoffs,
    config: FeatureConfig,
    cfg: TrainConfig,
    *,
    oracles: dict[str, pd.DataFrame] | None = None,
    min_rows: int = 30,
) -> tuple[dict | None, dict | None]:
    """Build the cold-start panel and train on it, or (None, None) with too few such rows.

    Too few means fewer than `min_rows` never-bought customers at any of the train,
    validation or test cutoffs, or no buyer among them in training: nothing to learn.
    """
    if "attributes" not in config.groups:
        log.info("cold start: the data has no customer table (sign-up dates); no model")
        return None, None
    panel = build_cold_panel(data, cutoffs, config)
    counts = panel.groupby(level="cutoff").size().reindex(cutoffs, fill_value=0)
    if counts.iloc[-2:].min() < min_rows or counts.iloc[:-2].sum() < min_rows:
        log.info("cold start: too few customers without purchases (%s); no model", counts.tolist())
        return None, None
    if panel["target_purchase"].iloc[: counts.iloc[:-2].sum()].sum() == 0:
        log.info("cold start: no buyer among customers without purchases; no model")
        return None, None
    return train_cold_start(panel, config, cfg, oracles=oracles)
