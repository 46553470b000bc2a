"""Model zoo, time-based split, selection on validation, calibration and intervals.

Every target is handled by the same loop: spend targets (total and each category) compare
baselines with Ridge, Random Forest, XGBoost and LightGBM (squared error and Tweedie
loss); the purchase target compares probability models and calibrates the chosen one.
The latest cutoff is the test set, the one before it validation, earlier ones train: no
customer-level random split anywhere.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from clvmodel import bgnbd_ml
from clvmodel.contributions import unwrap
from clvmodel.distribution import (
    QUANTILES,
    fit_spend_if_buy,
    hurdle_quantiles,
    log_sigma,
    quantile_calibration,
)
from clvmodel.evaluation import (
    decile_table,
    interval_metrics,
    oracle_share,
    probability_metrics,
    reliability_table,
    spend_metrics,
    top_decile_coverage,
)
from clvmodel.features import FeatureConfig
from clvmodel.reconciliation import METHOD, reconcile

log = logging.getLogger(__name__)

SPEND_MODELS = (
    "ridge",
    "random_forest",
    "xgboost",
    "xgboost_tweedie",
    "lightgbm",
    "lightgbm_tweedie",
)
PROBABILITY_MODELS = ("logistic", "random_forest", "xgboost", "lightgbm")
SPEND_BASELINES = ("zero", "last_30d", "rate_x_horizon", "train_mean")
PROBABILITY_BASELINES = ("train_rate", "last_30d")

#: Hyperparameters, declared once. Quick mode divides the number of trees by 10.
PARAMS: dict[str, dict] = {
    "random_forest": {
        "n_estimators": 60,
        "min_samples_leaf": 40,
        "max_features": 0.3,
        "max_samples": 0.3,
        "max_depth": 16,
    },
    "xgboost": {
        "n_estimators": 300,
        "learning_rate": 0.05,
        "max_depth": 6,
        "min_child_weight": 10,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "tree_method": "hist",
    },
    "lightgbm": {
        "n_estimators": 300,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 40,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "verbose": -1,
    },
    "tweedie_variance_power": {"value": 1.5},
}


@dataclass(frozen=True)
class TrainConfig:
    """What to train; `train.py` overrides these defaults from its command line."""

    horizon: int = 30
    n_cutoffs: int = 12
    spend_models: tuple[str, ...] = SPEND_MODELS
    probability_models: tuple[str, ...] = PROBABILITY_MODELS
    interval: float = 0.8
    quick: bool = False
    random_state: int = 0
    n_jobs: int = 2

    def __post_init__(self) -> None:
        for name, allowed, given in (
            ("spend_models", SPEND_MODELS, self.spend_models),
            ("probability_models", PROBABILITY_MODELS, self.probability_models),
        ):
            unknown = sorted(set(given) - set(allowed))
            if unknown or not given:
                raise ValueError(
                    f"The {name!r} option must name at least one of {list(allowed)}; "
                    f"got {list(given)} (unknown: {unknown})."
                )
        if not 0 < self.interval < 1:
            raise ValueError(f"interval must be between 0 and 1; got {self.interval}.")
        if self.n_cutoffs < 3:
            raise ValueError(
                f"n_cutoffs must be at least 3 (train, validation, test); got {self.n_cutoffs}."
            )


def _trees(n: int, cfg: TrainConfig) -> int:
    return max(10, n // 10) if cfg.quick else n


def make_model(name: str, kind: str, cfg: TrainConfig):
    """A fresh estimator for model `name` and target `kind` ("spend" or "probability")."""
    seed = {"random_state": cfg.random_state, "n_jobs": cfg.n_jobs}
    power = PARAMS["tweedie_variance_power"]["value"]
    if name in ("ridge", "logistic"):
        final = Ridge(alpha=10.0) if kind == "spend" else LogisticRegression(C=0.5, max_iter=2000)
        # arcsinh: log-like for large spend, defined for returns (negative values).
        return make_pipeline(
            SimpleImputer(strategy="median"),
            FunctionTransformer(np.arcsinh),
            StandardScaler(),
            final,
        )
    if name == "random_forest":
        p = PARAMS["random_forest"] | {
            "n_estimators": _trees(PARAMS["random_forest"]["n_estimators"], cfg)
        }
        cls = RandomForestRegressor if kind == "spend" else RandomForestClassifier
        return cls(**p, **seed)
    if name.startswith("xgboost"):
        p = PARAMS["xgboost"] | {"n_estimators": _trees(PARAMS["xgboost"]["n_estimators"], cfg)}
        if kind == "probability":
            return xgb.XGBClassifier(**p, **seed, objective="binary:logistic")
        # Early stopping watches RMSE, the selection criterion: the Tweedie deviance
        # bottoms out many trees before the RMSE of the expected spend does.
        if name == "xgboost_tweedie":
            return xgb.XGBRegressor(
                **p,
                **seed,
                objective="reg:tweedie",
                tweedie_variance_power=power,
                eval_metric="rmse",
            )
        return xgb.XGBRegressor(**p, **seed, objective="reg:squarederror", eval_metric="rmse")
    if name.startswith("lightgbm"):
        p = PARAMS["lightgbm"] | {"n_estimators": _trees(PARAMS["lightgbm"]["n_estimators"], cfg)}
        p |= {"importance_type": "gain"}
        if kind == "probability":
            return lgb.LGBMClassifier(**p, **seed)
        if name == "lightgbm_tweedie":
            return lgb.LGBMRegressor(
                **p, **seed, objective="tweedie", tweedie_variance_power=power, metric="rmse"
            )
        return lgb.LGBMRegressor(**p, **seed, objective="regression", metric="rmse")
    raise ValueError(f"unknown model {name!r}")


#: Boosters stop adding trees once the validation cutoff's loss has not improved for this
#: many rounds (up to ``n_estimators`` in PARAMS): the number of trees is tuned per
#: target and training run, deterministically for a seed, and fewer trees predict faster.
EARLY_STOPPING_ROUNDS = 50


def fit_model(model, xs: dict[str, pd.DataFrame], ys: dict[str, np.ndarray]):
    """Fit `model` on the ``"train"`` rows; LightGBM and XGBoost stop early on the
    ``"validation"`` rows."""
    x, y, x_val, y_val = xs["train"], ys["train"], xs["validation"], ys["validation"]
    if isinstance(model, lgb.LGBMModel):
        stop = lgb.early_stopping(EARLY_STOPPING_ROUNDS, first_metric_only=True, verbose=False)
        return model.fit(x, y, eval_X=x_val, eval_y=y_val, callbacks=[stop])
    if isinstance(model, xgb.XGBModel):
        model.set_params(early_stopping_rounds=EARLY_STOPPING_ROUNDS)
        return model.fit(x, y, eval_set=[(x_val, y_val)], verbose=False)
    return model.fit(x, y)


def trees_used(model) -> int | None:
    """How many boosting rounds a fitted booster predicts with (None for other models)."""
    if isinstance(model, lgb.LGBMModel):
        return int(model.best_iteration_ or model.n_estimators_)
    if isinstance(model, xgb.XGBModel):
        best = getattr(model, "best_iteration", None)
        return int(best) + 1 if best is not None else int(model.get_booster().num_boosted_rounds())
    return None


def make_quantile_model(alpha: float, cfg: TrainConfig) -> lgb.LGBMRegressor:
    """LightGBM quantile regressor for one interval bound."""
    p = PARAMS["lightgbm"] | {"n_estimators": _trees(200, cfg)}
    return lgb.LGBMRegressor(
        **p, objective="quantile", alpha=alpha, random_state=cfg.random_state, n_jobs=cfg.n_jobs
    )


#: Up to this many rows, LightGBM predicts on one thread: waking its thread pool costs
#: more than the prediction (0.7 ms against 0.1 ms for one row, 2 cores).
_ONE_THREAD_ROWS = 256


def predict_values(model, x: pd.DataFrame | np.ndarray) -> np.ndarray:
    """``model.predict(x)``; from a float array, straight from LightGBM's booster.

    Scikit-learn wrappers convert and check a DataFrame on every call, about 2 ms, which
    is 20 times a 300-tree booster's time for one row, and the what-if tab predicts one row
    with 17 models. An array is the caller's promise that the columns are the ones the
    model was fitted on, in order (:meth:`clvmodel.prediction.Predictor.predict` checks
    them once for all models).
    """
    if isinstance(x, pd.DataFrame):
        return model.predict(x)
    if isinstance(model, lgb.LGBMModel) and not isinstance(model, lgb.LGBMClassifier):
        threads = 1 if len(x) <= _ONE_THREAD_ROWS else 0
        return model.booster_.predict(x, num_threads=threads)
    return model.predict(_as_fitted(unwrap(model), x))


def predict_probability(model, x: pd.DataFrame | np.ndarray) -> np.ndarray:
    """P(class 1) for each row (an array as in :func:`predict_values`)."""
    if isinstance(x, np.ndarray):
        x = _as_fitted(unwrap(model), x)
    return model.predict_proba(x)[:, 1]


def _as_fitted(model, x: np.ndarray) -> np.ndarray | pd.DataFrame:
    """`x` as `model` reads it fastest without a feature-name warning: XGBoost and models
    fitted on arrays take the array; the others get their column names back."""
    names = getattr(model, "feature_names_in_", None)
    if names is None or isinstance(model, xgb.XGBModel):
        return x
    return pd.DataFrame(x, columns=names)


def predict_spend(model, x: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Expected spend, floored at 0: a negative expectation (a squared-error model's
    overshoot) would only mislead forecasts that sum customers."""
    return np.clip(predict_values(model, x), 0.0, None)


def level_factor(y: np.ndarray, pred: np.ndarray) -> float:
    """sum(actual) / sum(predicted) on the validation cutoff, within [0.5, 2].

    Models fitted on older cutoffs miss drift in the overall level (customers age, the mix
    changes): on the default data every model under-forecasts the next month by ~5%. One
    factor per target, fitted on the latest complete month, corrects the level without
    touching the ranking.
    """
    total = float(np.sum(pred))
    return float(np.clip(np.sum(y) / total, 0.5, 2.0)) if total > 0 else 1.0


def fits_nonnegative(name: str) -> bool:
    """Tweedie losses need non-negative labels: net spend is clipped at 0 for them."""
    return name.endswith("tweedie")


@dataclass(frozen=True)
class Split:
    """Rows of a panel for train, validation and test, by cutoff."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    @property
    def cutoffs(self) -> dict:
        days = lambda f: sorted({f"{c:%Y-%m-%d}" for c in f.index.get_level_values("cutoff")})  # noqa: E731
        return {
            "train": days(self.train),
            "validation": days(self.validation)[0],
            "test": days(self.test)[0],
        }


def time_split(panel: pd.DataFrame) -> Split:
    """Latest cutoff → test, the one before → validation, all earlier → train."""
    cutoffs = sorted(panel.index.get_level_values("cutoff").unique())
    if len(cutoffs) < 3:
        raise ValueError(f"the panel has {len(cutoffs)} cutoff(s); at least 3 are needed.")
    level = panel.index.get_level_values("cutoff")
    return Split(
        train=panel[level < cutoffs[-2]],
        validation=panel[level == cutoffs[-2]],
        test=panel[level == cutoffs[-1]],
    )


def spend_baselines(x: pd.DataFrame, target: str, cfg: FeatureConfig, train_mean: float) -> dict:
    """Baseline predictions of `target` spend from the features alone."""
    scale = cfg.horizon / 30.0
    last = x["spend_30d"] if target == "total" else x[f"spend_{target}_30d"]
    rate = x["daily_spend_rate"] * (1.0 if target == "total" else x[f"share_{target}"])
    return {
        "zero": np.zeros(len(x)),
        "last_30d": last.to_numpy() * scale,
        "rate_x_horizon": rate.to_numpy() * cfg.horizon,
        "train_mean": np.full(len(x), train_mean),
    }


def importance_shares(model, features: list[str]) -> dict[str, float]:
    """The model's own importances as shares that sum to 1, largest first."""
    est = model
    if isinstance(est, CalibratedClassifierCV):
        est = est.calibrated_classifiers_[0].estimator
    if isinstance(est, FrozenEstimator):
        est = est.estimator
    if hasattr(est, "feature_importances_"):
        raw = np.asarray(est.feature_importances_, dtype=float)
    else:  # linear pipeline: |coefficient| on standardised inputs
        raw = np.abs(np.ravel(est[-1].coef_))
    total = raw.sum() or 1.0
    shares = pd.Series(raw / total, index=features).sort_values(ascending=False)
    return {k: round(float(v), 6) for k, v in shares.items()}


@dataclass
class TargetResult:
    """What training one target produced: the saved bundle, its report, test predictions.

    ``test_predictions`` maps every compared model (baselines and oracles included) to its
    predictions on the test rows; ``test_interval`` is the chosen model's (low, high).
    """

    bundle: dict
    report: dict
    test_prediction: np.ndarray = field(repr=False)
    test_predictions: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    test_interval: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)


def _conformal_offset(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float) -> float:
    """Split-conformal shift q of the upper bound so that [lo, max(hi + q, lo)] covers `level`.

    Spend has an atom at zero, so the lower quantile is usually exactly 0 and an
    equal-tailed [q10, q90] interval covers ~90%, not 80%. Only the upper bound is
    conformalised, and it may shrink. The score of a row is the smallest q that covers
    it: +inf below ``lo``, -inf at ``lo`` (the clipped interval [lo, lo] covers it
    whatever q is), ``y - hi`` above; q is the ceil((n + 1) · level)-th smallest score.
    """
    scores = np.sort(np.where(y < lo, np.inf, np.where(y <= lo, -np.inf, y - hi)))
    k = min(int(np.ceil((len(scores) + 1) * level)), len(scores))
    finite = scores[np.isfinite(scores)]
    q = scores[k - 1]
    if np.isposinf(q):
        return float(finite.max()) if len(finite) else 0.0
    return float(q) if np.isfinite(q) else float(finite.min()) if len(finite) else 0.0


#: Groups of customers, by their upper quantile, calibrated apart when one shift cannot be.
CONFORMAL_GROUPS = 10


def conformal_offsets(
    y: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Shifts of the upper bound: (edges of ``hi`` between groups, one shift per group).

    One shift for everyone (:func:`_conformal_offset`) while the outcomes at the lower
    bound, mostly zeros, cover less than `level` of the validation rows. Where they cover
    more (a category most customers do not buy in a month), every shift meets `level`
    and the single one chosen would be the most negative, collapsing every interval to
    [lo, lo], the likely buyers' too. Then the rows are split into groups by ``hi``
    (Mondrian conformal) and each group gets its own shift: [0, 0] where customers
    rarely buy, a real upper bound for the likely buyers.
    """
    at_lower = np.mean((y >= lo) & (y <= lo))
    if at_lower < level:
        return np.array([]), np.array([_conformal_offset(y, lo, hi, level)])
    edges = np.unique(np.quantile(hi, np.linspace(0, 1, CONFORMAL_GROUPS + 1)[1:-1]))
    group = np.searchsorted(edges, hi, side="right")
    offsets = [
        _conformal_offset(y[group == g], lo[group == g], hi[group == g], level)
        if np.any(group == g)
        else 0.0
        for g in range(len(edges) + 1)
    ]
    return edges, np.asarray(offsets)


def interval_bounds(bundle: dict, x: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the prediction interval for actual spend.

    A prediction interval for what the customer will spend, not for the mean: for a
    customer who most likely buys nothing it is [0, 0] while the expected spend is positive.
    """
    lo = predict_values(bundle["lower"], x)
    hi = predict_values(bundle["upper"], x)
    offsets = np.atleast_1d(np.asarray(bundle["interval_offset"], dtype=float))
    edges = np.asarray(bundle.get("interval_edges", []), dtype=float)
    shift = offsets[np.searchsorted(edges, hi, side="right")] if len(edges) else offsets[0]
    return lo, np.maximum(hi + shift, lo)


HYBRID_WEIGHTS = (0.25, 0.5, 0.75)


def _hybrid_candidate(split, target, xs, ys, preds, fitted, levels, fcfg) -> dict:
    """Add ``bgnbd_ml`` and ``hybrid`` predictions to `preds`; return the hybrid's recipe.

    BG/NBD's four parameters come from the latest training cutoff. The hybrid blends the
    best booster (by validation RMSE) with BG/NBD expected spend, with the weight and the
    level factor chosen on validation.
    """
    latest = split.train.index.get_level_values("cutoff").max()
    params = bgnbd_ml.fit(split.train.xs(latest, level="cutoff", drop_level=False))
    bg = {k: bgnbd_ml.expected_spend(params, xs[k], target, fcfg.horizon) for k in xs}
    bg_level = level_factor(ys["validation"], bg["validation"])
    for k in ("validation", "test"):
        preds[k]["bgnbd_ml"] = bg[k] * bg_level
    rmse = lambda p: float(np.sqrt(np.mean((ys["validation"] - p) ** 2)))  # noqa: E731
    best = min(fitted, key=lambda m: rmse(preds["validation"][m]))
    raw = {k: preds[k][best] / levels[best] for k in ("validation", "test")}
    options = []
    for w in HYBRID_WEIGHTS:
        blend = (1 - w) * raw["validation"] + w * bg["validation"]
        f = level_factor(ys["validation"], blend)
        options.append((rmse(blend * f), w, f))
    _, weight, level = min(options)
    for k in ("validation", "test"):
        preds[k]["hybrid"] = ((1 - weight) * raw[k] + weight * bg[k]) * level
    return {"booster": best, "weight": weight, "level": level, "params": params}


def train_spend_target(
    split: Split,
    target: str,
    features: list[str],
    fcfg: FeatureConfig,
    cfg: TrainConfig,
    oracles: dict[str, pd.DataFrame] | None,
) -> TargetResult:
    """Fit every spend model for `target`, pick by validation RMSE, add an interval."""
    col = f"target_{target}"
    xs = {k: getattr(split, k)[features] for k in ("train", "validation", "test")}
    ys = {k: getattr(split, k)[col].to_numpy() for k in xs}
    preds = {k: spend_baselines(xs[k], target, fcfg, float(ys["train"].mean())) for k in xs}
    fitted, levels = {}, {}
    for name in cfg.spend_models:
        t0 = time.perf_counter()
        model = make_model(name, "spend", cfg)
        labels = {k: np.clip(v, 0, None) for k, v in ys.items()} if fits_nonnegative(name) else ys
        fitted[name] = fit_model(model, xs, labels)
        for k in ("validation", "test"):
            preds[k][name] = predict_spend(model, xs[k])
        levels[name] = level_factor(ys["validation"], preds["validation"][name])
        for k in ("validation", "test"):
            preds[k][name] = preds[k][name] * levels[name]
        log.info("  %-12s %-18s %5.1fs", target, name, time.perf_counter() - t0)
    hybrid = _hybrid_candidate(split, target, xs, ys, preds, fitted, levels, fcfg)
    validation = {m: spend_metrics(ys["validation"], p) for m, p in preds["validation"].items()}
    chosen = min([*fitted, "hybrid"], key=lambda m: validation[m]["rmse"])
    test = {m: spend_metrics(ys["test"], p) for m, p in preds["test"].items()}

    lower, upper = (
        fit_model(make_quantile_model(q, cfg), xs, ys)
        for q in ((1 - cfg.interval) / 2, (1 + cfg.interval) / 2)
    )
    edges, offsets = conformal_offsets(
        ys["validation"],
        lower.predict(xs["validation"]),
        upper.predict(xs["validation"]),
        cfg.interval,
    )
    booster = hybrid["booster"] if chosen == "hybrid" else chosen
    bundle = {
        "model": fitted[booster],
        "level": hybrid["level"] if chosen == "hybrid" else levels[chosen],
        "blend": hybrid["weight"] if chosen == "hybrid" else 0.0,
        "bgnbd": hybrid["params"],
        "lower": lower,
        "upper": upper,
        "interval_offset": offsets,
        "interval_edges": edges,
    }
    point = preds["test"][chosen]
    lo, hi = interval_bounds(bundle, xs["test"])
    report = {
        "kind": "spend",
        "chosen": chosen,
        "selection": "lowest validation RMSE, after a level correction fitted on validation",
        "level_factor": bundle["level"],
        "hybrid": {k: v for k, v in hybrid.items() if k != "params"} | {"bgnbd": hybrid["params"]},
        "validation": validation,
        "test": test,
        "interval": {
            "nominal": cfg.interval,
            **interval_metrics(ys["test"], lo, hi),
            "top_decile_coverage": top_decile_coverage(ys["test"], lo, hi, point),
        },
        "deciles": decile_table(ys["test"], point).to_dict(orient="records"),
        "importance": importance_shares(fitted[booster], features),
        "trees": {m: trees_used(f) for m, f in fitted.items() if trees_used(f) is not None}
        | {"lower": trees_used(lower), "upper": trees_used(upper)},
    }
    for name, frame in (oracles or {}).items():
        expected = frame[f"expected_{target}"].reindex(split.test.index).fillna(0.0)
        preds["test"][name] = expected.to_numpy()
        test[name] = spend_metrics(ys["test"], expected.to_numpy())
    if "oracle" in test:
        report["oracle_share"] = {
            m: oracle_share(v, test["oracle"]) for m, v in test.items() if m != "oracle"
        }
    return TargetResult(bundle, report, point, preds["test"], (lo, hi))


def train_purchase_target(
    split: Split,
    features: list[str],
    cfg: TrainConfig,
    oracles: dict[str, pd.DataFrame] | None,
) -> TargetResult:
    """Fit every probability model, pick by validation log loss, calibrate on validation."""
    xs = {k: getattr(split, k)[features] for k in ("train", "validation", "test")}
    ys = {k: getattr(split, k)["target_purchase"].to_numpy() for k in xs}
    active = {k: (x["txn_count_30d"] > 0).to_numpy() for k, x in xs.items()}
    rate_if = {a: ys["train"][active["train"] == a].mean() for a in (True, False)}
    preds = {
        k: {
            "train_rate": np.full(len(xs[k]), ys["train"].mean()),
            "last_30d": np.where(active[k], rate_if[True], rate_if[False]),
        }
        for k in xs
    }
    fitted = {}
    for name in cfg.probability_models:
        t0 = time.perf_counter()
        model = make_model(name, "probability", cfg)
        fitted[name] = fit_model(model, xs, ys)
        for k in ("validation", "test"):
            preds[k][name] = model.predict_proba(xs[k])[:, 1]
        log.info("  %-12s %-18s %5.1fs", "purchase", name, time.perf_counter() - t0)
    validation = {
        m: probability_metrics(ys["validation"], p) for m, p in preds["validation"].items()
    }
    chosen = min(fitted, key=lambda m: validation[m]["log_loss"])
    test = {m: probability_metrics(ys["test"], p) for m, p in preds["test"].items()}
    point = preds["test"][chosen]
    report = {
        "kind": "probability",
        "chosen": chosen,
        "selection": (
            "lowest validation log loss; no recalibration (log-loss boosters are calibrated, "
            "and isotonic calibration on one validation month made the backtest's Brier "
            "score and reliability worse)"
        ),
        "validation": validation,
        "test": test,
        "reliability": reliability_table(ys["test"], point).to_dict(orient="records"),
        "importance": importance_shares(fitted[chosen], features),
        "trees": {m: trees_used(f) for m, f in fitted.items() if trees_used(f) is not None},
    }
    for name, frame in (oracles or {}).items():
        p = frame["p_purchase"].reindex(split.test.index).fillna(0.0).to_numpy()
        preds["test"][name] = p
        test[name] = probability_metrics(ys["test"], p)
    bundle = {"model": fitted[chosen], "lower": None, "upper": None, "interval_offset": None}
    return TargetResult(bundle, report, point, preds["test"])


def train_all(
    panel: pd.DataFrame,
    fcfg: FeatureConfig,
    cfg: TrainConfig,
    *,
    oracles: dict[str, pd.DataFrame] | None = None,
) -> tuple[dict[str, TargetResult], Split]:
    """Train every target of `fcfg` on a panel from :func:`clvmodel.features.build_panel`.

    Parameters
    ----------
    oracles : dict of DataFrame, optional
        Name -> true expectations indexed like the panel's test rows ``(cutoff,
        customer_id)``, with ``expected_<target>`` and ``p_purchase`` columns (synthetic
        data only). Each is reported as a model; shares are taken of the one named "oracle".
    """
    split = time_split(panel)
    features = fcfg.feature_names
    log.info(
        "train %d rows (%d cutoffs), validation %d, test %d",
        len(split.train),
        len(split.cutoffs["train"]),
        len(split.validation),
        len(split.test),
    )
    results = {}
    log.info("target purchase")
    results["purchase"] = train_purchase_target(split, features, cfg, oracles)
    for target in fcfg.spend_targets:
        log.info("target %s", target)
        results[target] = train_spend_target(split, target, features, fcfg, cfg, oracles)
    add_distribution(results, split, features, cfg)
    add_reconciliation(results, split, fcfg)
    return {t: results[t] for t in fcfg.targets}, split


def add_distribution(
    results: dict[str, TargetResult], split: Split, features: list[str], cfg: TrainConfig
) -> None:
    """Fit the hurdle distribution of total spend (P10/P50/P90) and check its calibration."""
    t0 = time.perf_counter()
    model = make_model("lightgbm", "spend", cfg)
    fit_spend_if_buy(model, split.train[features], split.train["target_total"].to_numpy())
    sigma = log_sigma(
        model, split.validation[features], split.validation["target_total"].to_numpy()
    )
    p = results["purchase"].test_prediction
    q = hurdle_quantiles(p, model.predict(split.test[features]), sigma)
    total = results["total"]
    total.bundle |= {"spend_if_buy": model, "log_sigma": sigma}
    total.report["distribution"] = {
        "method": "hurdle: purchase probability × lognormal spend if they buy",
        "log_sigma": sigma,
        **quantile_calibration(split.test["target_total"].to_numpy(), q),
    }
    for i, tau in enumerate(QUANTILES):
        total.test_predictions[f"p{round(tau * 100)}"] = q[:, i]
    log.info("  %-12s %-18s %5.1fs", "total", "distribution", time.perf_counter() - t0)


def add_reconciliation(results: dict[str, TargetResult], split: Split, fcfg: FeatureConfig) -> None:
    """Score the categories as users get them: reconciled to the total (``reconciled``)."""
    if not fcfg.categories:
        return
    pred = {}
    for t in fcfg.spend_targets:
        pred[f"predicted_{t}"] = results[t].test_prediction
        pred[f"predicted_{t}_low"], pred[f"predicted_{t}_high"] = results[t].test_interval
    shares = split.test[[f"share_{c}" for c in fcfg.categories]].reset_index(drop=True)
    rec = reconcile(pd.DataFrame(pred), fcfg.categories, shares=shares)
    for c in fcfg.categories:
        res, y = results[c], split.test[f"target_{c}"].to_numpy()
        point = rec[f"predicted_{c}"].to_numpy()
        bounds = (rec[f"predicted_{c}_low"].to_numpy(), rec[f"predicted_{c}_high"].to_numpy())
        res.test_predictions["reconciled"] = point
        res.test_interval = bounds
        res.report["test"]["reconciled"] = spend_metrics(y, point)
        if "oracle" in res.report["test"]:
            res.report["oracle_share"]["reconciled"] = oracle_share(
                res.report["test"]["reconciled"], res.report["test"]["oracle"]
            )
        res.report["interval_model"] = res.report["interval"]
        res.report["interval"] = {
            "nominal": res.report["interval"]["nominal"],
            **interval_metrics(y, *bounds),
            "top_decile_coverage": top_decile_coverage(y, *bounds, point),
        }
        res.report["reconciliation"] = METHOD
        res.report["deployed"] = "reconciled"
