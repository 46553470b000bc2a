"""Cold start: customers who signed up before the as-of date but never bought.

They have no history, so their features are what the customer table says (loyalty tier,
segment, account age) plus the calendar of the cutoff. Small boosted models, one per
target, are trained on such customers at the same monthly cutoffs as the main models and
checked on the same test cutoff, reported apart. Their predictive distribution is the
same hurdle as everyone's (:mod:`clvmodel.distribution`), with its own spread.
"""

from __future__ import annotations

import logging

import lightgbm as lgb
import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.dates import as_day
from clvmodel.evaluation import probability_metrics, spend_metrics
from clvmodel.features import (
    INDEX,
    FeatureConfig,
    build_targets,
    calendar_features,
    customer_attributes,
)
from clvmodel.schema import key_rows
from clvmodel.training import Split, TrainConfig, time_split, too_little_signal

log = logging.getLogger(__name__)


def cold_feature_names(config: FeatureConfig) -> list[str]:
    """Features of a customer without purchases: attributes and calendar only."""
    return [
        "loyalty_tier",
        "account_age_days",
        *[f"segment_{s}" for s in config.segments],
        "cutoff_month",
        "days_to_peak",
        *["promo_days_ahead"] * ("promotions" in config.groups),
    ]


def build_cold_features(
    data: RetailData, cutoff: str | pd.Timestamp, config: FeatureConfig
) -> pd.DataFrame:
    """Features of customers who signed up before `cutoff` with no transaction before it."""
    cutoff = as_day(cutoff, name="cutoff")
    customers = data.customers[data.customers["customer_since"] < cutoff]
    active = data.transactions.loc[data.transactions["date"] < cutoff, "customer_id"].unique()
    index = customers.index[key_rows(customers.index, active) < 0]  # ~50x Index.isin on text
    out = customer_attributes(data.customers, index, cutoff, config)
    for name, value in calendar_features(data, cutoff, config).items():
        out[name] = value
    out.index.name = "customer_id"
    return out[cold_feature_names(config)].astype("float64")


def build_cold_panel(data: RetailData, cutoffs, config: FeatureConfig) -> pd.DataFrame:
    """Cold features and targets stacked over cutoffs, indexed by (cutoff, customer_id)."""
    frames = []
    for cutoff in cutoffs:
        x = build_cold_features(data, cutoff, config)
        y = build_targets(data, cutoff, config, x.index)
        frames.append(x.join(y).assign(cutoff=as_day(cutoff, name="cutoff")))
    return pd.concat(frames).reset_index().set_index(INDEX)


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
) -> tuple[dict, dict, Split]:
    """Train the cold-start models; returns (bundle to save, report, the panel's split).

    A category with too few buyers among these customers
    (:func:`clvmodel.training.too_little_signal`) gets no model: its spend is the total's
    times its share of the training rows' spend (``bundle["shares"]``). The report
    compares each model with a constant and the oracles on the test rows; the predictive
    distribution and the deployed figures come from :class:`clvmodel.CLVModel`, which
    scores these rows as it serves them.
    """
    split = time_split(panel)
    names = cold_feature_names(config)
    xs = {k: getattr(split, k)[names] for k in ("train", "validation", "test")}
    bundle: dict = {"models": {}, "shares": _shares(split, config)}
    report: dict = {"rows": {k: len(v) for k, v in xs.items()}, "targets": {}}
    for target in config.targets:
        y = {k: getattr(split, k)[f"target_{target}"].to_numpy() for k in xs}
        kind = "probability" if target == "purchase" else "spend"
        if target not in bundle["shares"]:
            model = _model(kind, cfg).fit(xs["train"], np.clip(y["train"], 0, None))
            bundle["models"][target] = model
        pred = predict_cold(bundle, split.test, config, targets=(target,))[target]
        if kind == "probability":
            metric, key, constant = probability_metrics, "p_purchase", "train_rate"
            name = "lightgbm"
        else:
            metric, key, constant = spend_metrics, f"expected_{target}", "train_mean"
            name = "share_of_total" if target in bundle["shares"] else "lightgbm_tweedie"
        test = {
            constant: metric(y["test"], np.full(len(y["test"]), y["train"].mean())),
            name: metric(y["test"], pred),
        }
        for oracle, frame in (oracles or {}).items():
            truth = frame[key].reindex(split.test.index).fillna(0.0).to_numpy()
            test[oracle] = metric(y["test"], truth)
        report["targets"][target] = {"test": test}
        log.info("  cold start %-12s done", target)
    return bundle, report, split


def _shares(split: Split, config: FeatureConfig) -> dict[str, float]:
    """The categories too thin for a model of their own, with their share of the training
    rows' spend."""
    total = float(np.clip(split.train["target_total"], 0, None).sum())
    thin = [c for c in config.categories if too_little_signal(split, c) is not None]
    spend = {c: float(np.clip(split.train[f"target_{c}"], 0, None).sum()) for c in thin}
    return {c: min(v / total, 1.0) if total > 0 else 0.0 for c, v in spend.items()}


def refit_cold_start(
    bundle: dict, panel: pd.DataFrame, config: FeatureConfig, cfg: TrainConfig
) -> dict:
    """The cold-start models fitted again on every cutoff of their panel (see
    :func:`clvmodel.training.refit_target`); the thin categories stay shares."""
    x = panel[cold_feature_names(config)]
    models = {}
    for target in [t for t in config.targets if t not in bundle.get("shares", {})]:
        kind = "probability" if target == "purchase" else "spend"
        y = np.clip(panel[f"target_{target}"].to_numpy(), 0, None)
        models[target] = _model(kind, cfg).fit(x, y)
    return {**bundle, "models": models}


def predict_cold(
    bundle: dict, features: pd.DataFrame, config: FeatureConfig, *, targets=None
) -> dict:
    """Expected spend per spend target (clipped at 0) and P(buy) of cold-start customers
    (of `targets` only, when given)."""
    x = features[cold_feature_names(config)]
    shares = bundle.get("shares", {})
    out = {}
    for t in targets or config.targets:
        if t == "purchase":
            out[t] = bundle["models"][t].predict_proba(x)[:, 1]
        elif t in shares:
            out[t] = shares[t] * np.clip(bundle["models"]["total"].predict(x), 0, None)
        else:
            out[t] = np.clip(bundle["models"][t].predict(x), 0, None)
    return out


def cold_start_models(
    data: RetailData,
    cutoffs,
    config: FeatureConfig,
    cfg: TrainConfig,
    *,
    oracles: dict[str, pd.DataFrame] | None = None,
    min_rows: int = 30,
) -> tuple[dict, dict, Split] | None:
    """Build the cold-start panel and train on it (:func:`train_cold_start`), or None.

    None without customer attributes or with too few such rows: fewer than `min_rows`
    never-bought customers at any of the train, validation or test cutoffs, or no buyer
    among them in training: nothing to learn.
    """
    if "attributes" not in config.groups:
        log.info("cold start: the data has no customer table (sign-up dates); no model")
        return None
    panel = build_cold_panel(data, cutoffs, config)
    counts = panel.groupby(level="cutoff").size().reindex(cutoffs, fill_value=0)
    if counts.iloc[-2:].min() < min_rows or counts.iloc[:-2].sum() < min_rows:
        log.info("cold start: too few customers without purchases (%s); no model", counts.tolist())
        return None
    if panel["target_purchase"].iloc[: counts.iloc[:-2].sum()].sum() == 0:
        log.info("cold start: no buyer among customers without purchases; no model")
        return None
    return train_cold_start(panel, config, cfg, oracles=oracles)
