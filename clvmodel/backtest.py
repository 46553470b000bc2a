"""Rolling-origin backtest: refit before each of several monthly origins, predict it, aggregate.

One test month says little: next month's spend is noisy and seasons differ. The backtest
takes the last ``origins`` monthly cutoffs as origins. For each one it fits
:class:`clvmodel.CLVModel` exactly as ``train.py`` does, on the ``n_cutoffs`` monthly
cutoffs whose 30 days end by the origin (the model's own train, validation and test months,
then its refit on all of them), and scores what the fitted model serves for the origin's
customers (``ours``: :meth:`CLVModel.predict_features`, with its interval and quantiles),
beside simple baselines, the comparators (BG/NBD + Gamma-Gamma) and, on synthetic data, the
oracles. Each metric is reported as mean ± std across origins.

Features as of a cutoff do not depend on the origin, so the panel is built once over all
the cutoffs needed and sliced per origin. Quantiles (``p10``, ``p50``, ``p90``) of the
predictive distribution are scored as quantiles, not as means: the share of outcomes below
each and the coverage and width of [P10, P90].
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from clvmodel import forecast
from clvmodel.aggregate import group_cells, sum_interval
from clvmodel.backtest_report import COMPARATORS, ORACLE, OURS, aggregate_summary
from clvmodel.bgnbd import bgnbd_gg_expectations, check_installed
from clvmodel.coldstart import build_cold_features
from clvmodel.dataset import RetailData
from clvmodel.evaluation import (
    interval_metrics,
    oracle_share,
    probability_report,
    reliability_table,
    spend_report,
    top_decile_coverage,
)
from clvmodel.features import FeatureConfig, build_panel, build_targets, cutoff_dates
from clvmodel.model import PROBABILITY, CLVModel
from clvmodel.training import spend_baselines, time_split

__all__ = [
    "aggregate_metrics",
    "aggregate_origin",
    "backtest_cutoffs",
    "run_backtest",
]

log = logging.getLogger(__name__)

OracleFn = Callable[[pd.Timestamp], Mapping[str, pd.DataFrame]]


# --------------------------------------------------------------------------- metrics


def _oracle_shares(models: dict[str, dict], kind: str) -> None:
    """Add each model's share of the oracle's score, in place (nothing without an oracle)."""
    oracle = models.get(ORACLE)
    if oracle is None:
        return
    keys = ("r2", "gini") if kind == "spend" else ("brier",)
    for metrics in models.values():
        shares = oracle_share(metrics, oracle, keys=keys)
        metrics |= {f"{key}_of_oracle": share for key, share in shares.items()}


def aggregate_metrics(per_origin: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Mean, standard deviation and count of each metric across origins.

    Parameters
    ----------
    per_origin : sequence of mapping of str to float
        One mapping (metric -> value) per origin; a metric missing or NaN at an origin is
        left out for that origin.

    Returns
    -------
    dict
        ``{metric: {"mean": ..., "std": ..., "n": ...}}``. ``std`` is the sample standard
        deviation (ddof=1), the spread one would expect between origins; NaN with fewer
        than two values. ``mean`` is NaN when no origin has a value.

    Examples
    --------
    >>> r2 = aggregate_metrics([{"r2": 0.5}, {"r2": 0.7}])["r2"]
    >>> r2["mean"], round(r2["std"], 4), r2["n"]
    (0.6, 0.1414, 2)
    """
    keys: list[str] = []
    for metrics in per_origin:
        keys += [k for k in metrics if k not in keys]
    out = {}
    for key in keys:
        values = np.array(
            [float(m[key]) for m in per_origin if key in m and m[key] is not None], dtype=float
        )
        values = values[np.isfinite(values)]
        n = int(values.size)
        out[key] = {
            "mean": float(values.mean()) if n else math.nan,
            "std": float(values.std(ddof=1)) if n > 1 else math.nan,
            "n": n,
        }
    return out


# --------------------------------------------------------------------------- cutoffs


def backtest_cutoffs(
    data: RetailData, *, origins: int, n_cutoffs: int, horizon: int
) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    """All the cutoffs the panel needs, and the origins (the last `origins` of them).

    A model is fitted on the `n_cutoffs` cutoffs before each origin (its own train,
    validation and test months) and predicts the origin; with less data, each origin
    uses what there is, as long as there are at least three.

    Raises
    ------
    ValueError
        If `origins` is not a positive integer or the data hold too few cutoffs.
    """
    if isinstance(origins, bool) or not isinstance(origins, int | np.integer) or origins < 1:
        raise ValueError(f"origins must be a positive whole number; got {origins!r}.")
    cutoffs = cutoff_dates(data, horizon=horizon, n_cutoffs=n_cutoffs + origins)
    if len(cutoffs) < origins + 3:
        raise ValueError(
            f"the data hold {len(cutoffs)} complete monthly cutoffs; {origins} origins need "
            f"at least {origins + 3} (each origin needs a test, a validation and a train "
            f"cutoff before it). Use fewer origins (--origins {max(len(cutoffs) - 3, 1)})."
        )
    return cutoffs, cutoffs[-origins:]


def _day(c) -> str:
    return f"{pd.Timestamp(c):%Y-%m-%d}"


# --------------------------------------------------------------------------- comparators


def _comparator_predictions(
    name: str, data: RetailData, origin: pd.Timestamp, fcfg: FeatureConfig
) -> tuple[pd.DataFrame, dict]:
    """Expectations of comparator `name` as of `origin`, indexed by customer_id."""
    if name == "bgnbd":
        frame, models = bgnbd_gg_expectations(
            data, origin, fcfg.categories, horizon_days=fcfg.horizon
        )
        info = {
            "params": {k: round(v, 6) for k, v in models.params.items()},
            "n_customers": models.n_customers,
            "n_repeat_buyers": models.n_repeat,
        }
        return frame, info
    raise ValueError(f"unknown comparator {name!r}; choose from {sorted(COMPARATORS)}.")


def _on_rows(frame: pd.DataFrame, customers: pd.Index, column: str) -> np.ndarray:
    """`column` of a customer-indexed frame on the test customers (0 for the absent)."""
    return frame[column].reindex(customers).fillna(0.0).to_numpy(dtype=float)


# --------------------------------------------------------------------------- one origin


def _quantile_report(y: np.ndarray, quantiles: dict[str, np.ndarray]) -> dict[str, float]:
    """Share of outcomes at or below, and strictly below, each quantile; [P10, P90]
    coverage and width."""
    out = {f"below_{name}": float(np.mean(y <= q)) for name, q in quantiles.items()}
    out |= {f"strictly_below_{name}": float(np.mean(y < q)) for name, q in quantiles.items()}
    if "p10" in quantiles and "p90" in quantiles:
        lo = np.minimum(quantiles["p10"], quantiles["p90"])
        hi = np.maximum(quantiles["p10"], quantiles["p90"])
        out |= interval_metrics(y, lo, hi)
    return out


def _score_origin(
    model: CLVModel, rows: pd.DataFrame, extra: dict[str, pd.DataFrame]
) -> tuple[dict, dict]:
    """Metrics of every predictor and target on one origin's rows; pooled arrays.

    ``ours`` is what the model, fitted before the origin, serves for the origin's
    customers (:meth:`CLVModel.predict_features`), its interval and quantiles too; beside
    it the baselines (from the same features), the comparators and the oracles.
    """
    fcfg = model.feature_config_
    served = model.predict_features(rows, reasons=False)
    customers = rows.index.get_level_values("customer_id")
    quantiles = model.quantiles_of(served, (0.1, 0.5, 0.9))
    targets: dict[str, dict] = {}
    pooled: dict[str, dict[str, np.ndarray]] = {}
    for target, report in model.report_.targets.items():
        kind = report.kind
        y = rows[f"target_{target}"].to_numpy(dtype=float)
        if kind == "spend":
            base = spend_baselines(rows, target, fcfg, 0.0)
            preds = {n: np.asarray(base[n], dtype=float) for n in ("zero", "last_30d",
                                                                     "rate_x_horizon")}  # fmt: skip
            preds[OURS] = served[f"predicted_{target}"].to_numpy(dtype=float)
            column = f"expected_{target}"
        else:
            preds = {OURS: served[PROBABILITY].to_numpy(dtype=float)}
            column = "p_purchase"
        for name, frame in extra.items():
            preds[name] = _on_rows(frame, customers, column)
        score = probability_report if kind == "probability" else spend_report
        models = {name: score(y, p) for name, p in preds.items()}
        _oracle_shares(models, kind)
        entry: dict = {"kind": kind, "chosen": report.chosen, "deployed": report.deployed}
        if kind == "spend":
            low = served[f"predicted_{target}_low"].to_numpy()
            high = served[f"predicted_{target}_high"].to_numpy()
            entry["interval"] = interval_metrics(y, low, high)
            entry["interval"]["top_decile_coverage"] = top_decile_coverage(
                y, low, high, preds[OURS]
            )
            named = {f"p{round(q * 100)}": quantiles[target][f"q{q:g}"].to_numpy() for q in
                     (0.1, 0.5, 0.9)}  # fmt: skip
            entry["quantiles"] = _quantile_report(y, named)
        else:
            pooled[target] = {"y": y, **preds}
        entry["models"] = models
        targets[target] = entry
    return targets, pooled


def aggregate_origin(
    model: CLVModel,
    rows: pd.DataFrame,
    *,
    groups: pd.Series | None = None,
    min_customers: int = 1,
) -> dict:
    """Group totals at one origin, against the actual totals, with the served 80% interval
    of each sum: the whole base and each segment per target (:meth:`CLVModel.group_cells`),
    and each of `groups` (labels by customer, e.g. the country of
    :func:`clvmodel.aggregate.customer_profiles`, as the Forecast tab breaks down by it);
    groups of fewer than `min_customers` are pooled as ``"other"``."""
    served = model.predict_features(rows, reasons=False)
    frames = [forecast.model_group_cells(model, rows, served)]
    if groups is not None:
        labels = groups.reindex(rows.index).fillna("unknown").astype(str)
        counts = labels.value_counts()
        labels = labels.where(~labels.isin(counts.index[counts < min_customers]), "other")
        targets = model.feature_config_.spend_targets
        frames.append(group_cells(rows, served, model.sigma_, targets, labels))
    cells = pd.concat(frames, ignore_index=True)
    shared = cells["target"].map(model.shared_error_).to_numpy()
    low, high = sum_interval(cells["expected"], cells["variance"], shared, model.interval)
    cells = cells.assign(low=low, high=high)
    cells["covered"] = (cells["actual"] >= cells["low"]) & (cells["actual"] <= cells["high"])
    return {"shared_error": model.shared_error_, "cells": cells.to_dict(orient="records")}


def _cold_start_origin(
    data: RetailData,
    model: CLVModel,
    origin: pd.Timestamp,
    truths: Mapping[str, pd.DataFrame],
) -> dict:
    """Score the fitted model's cold-start part on the never-bought customers at the origin."""
    fcfg = model.feature_config_
    entry: dict = {"origin": _day(origin)}
    if model.cold_ is None:
        return entry | {"skipped": "too few customers without purchases (see coldstart.py)"}
    x = build_cold_features(data, origin, fcfg)
    y = build_targets(data, origin, fcfg, x.index)
    pred = model.predict_cold_features(x)
    entry["n_test"] = len(x)
    targets = {}
    for target in fcfg.targets:
        kind = "probability" if target == "purchase" else "spend"
        column = "p_purchase" if kind == "probability" else f"expected_{target}"
        ours = PROBABILITY if kind == "probability" else f"predicted_{target}"
        preds = {OURS: pred[ours].to_numpy(dtype=float)}
        preds |= {name: _on_rows(frame, x.index, column) for name, frame in truths.items()}
        truth = y[f"target_{target}"].to_numpy(dtype=float)
        score = probability_report if kind == "probability" else spend_report
        models = {name: score(truth, p) for name, p in preds.items()}
        _oracle_shares(models, kind)
        targets[target] = {"kind": kind, "chosen": "cold_start", "models": models}
        if kind == "spend":
            bounds = pred[f"predicted_{target}_low"], pred[f"predicted_{target}_high"]
            targets[target]["interval"] = interval_metrics(truth, *bounds)
    entry["targets"] = targets
    return entry


def _cold_summary(cold: list[dict]) -> dict:
    scored = [e for e in cold if "targets" in e]
    return {
        "per_origin": cold,
        "summary": _summarise(scored) if scored else {},
    }


def _restrict(
    panel: pd.DataFrame, origin: pd.Timestamp, n_cutoffs: int, horizon: int
) -> pd.DataFrame:
    """Panel rows of the last `n_cutoffs` cutoffs whose whole window ends by `origin`:
    what a model fitted on the morning of `origin` could have learnt from."""
    level = panel.index.get_level_values("cutoff")
    end = pd.Timestamp(origin) - pd.Timedelta(days=horizon)
    keep = sorted(c for c in level.unique() if c <= end)[-n_cutoffs:]
    return panel[level.isin(keep)]


def run_backtest(
    data: RetailData,
    fcfg: FeatureConfig,
    estimator: CLVModel,
    *,
    origins: int = 6,
    oracle_fn: OracleFn | None = None,
    comparators: Iterable[str] = ("bgnbd",),
    panel: pd.DataFrame | None = None,
    cold_start: bool = True,
) -> dict:
    """Retrain and score at each of the last `origins` monthly cutoffs; aggregate.

    Parameters
    ----------
    data : RetailData
        The whole history.
    fcfg : FeatureConfig
        Feature vocabularies and horizon (from the whole data, as ``train.py`` does).
    estimator : CLVModel
        Unfitted; its parameters are used at every origin (``n_cutoffs``: cutoffs per
        training run, test included).
    origins : int, default=6
        Number of consecutive monthly test cutoffs, the latest last.
    oracle_fn : callable, optional
        ``oracle_fn(cutoff) -> {name: frame}``: true expectations as of a cutoff, each frame
        indexed by ``customer_id`` with ``expected_<target>`` and ``p_purchase`` columns
        (e.g. :func:`clvmodel.synthetic.expected_spend`). Reported as models; shares are
        taken of the one named ``"oracle"``. Synthetic data only.
    comparators : iterable of str, default=("bgnbd",)
        From :data:`COMPARATORS`; ``"bgnbd"`` needs pymc-marketing.
    panel : DataFrame, optional
        A prebuilt panel covering :func:`backtest_cutoffs` (built here otherwise).
    cold_start : bool, default=True
        Also fit the cold-start part (customers who signed up but never bought) at each
        origin, as ``train.py`` does, and score it on those customers apart
        (``cold_start`` in the result).

    Returns
    -------
    dict
        JSON-serialisable (NaN becomes None): ``config``, ``cutoffs`` (``panel``,
        ``origins``), ``per_origin`` (one entry per origin with the cutoffs the models
        were trained, validated and tested on, timings and per target the metrics of every
        model), ``summary`` (per target: ``models`` -> metric -> mean/std/n across
        origins, ``chosen`` and ``deployed`` names per origin, ``interval`` and
        ``quantiles``), ``pooled_reliability`` (per probability model, the reliability
        table over all origins' test rows together), ``cold_start`` (``per_origin`` and
        ``summary`` like the main ones, over never-bought customers; None if not run)
        and ``seconds``.
    """
    started = time.perf_counter()
    cfg = estimator.check_params()  # refuse bad parameters before any work
    comparators = _checked_comparators(comparators)
    cutoffs, test_cutoffs = backtest_cutoffs(
        data, origins=origins, n_cutoffs=cfg.n_cutoffs, horizon=fcfg.horizon
    )
    panel = _panel_over(data, cutoffs, fcfg, panel)
    panel_s = time.perf_counter() - started
    per_origin, cold, pooled = _run_origins(
        data, fcfg, estimator, panel, test_cutoffs,
        n_cutoffs=cfg.n_cutoffs, oracle_fn=oracle_fn, comparators=comparators,
        cold_start=cold_start,
    )  # fmt: skip
    out = {
        "config": _run_config(cfg, fcfg, len(test_cutoffs), comparators, oracle_fn is not None),
        "cutoffs": {
            "panel": [_day(c) for c in cutoffs],
            "origins": [_day(c) for c in test_cutoffs],
        },
        "per_origin": per_origin,
        "summary": _summarise(per_origin),
        "aggregate": aggregate_summary(per_origin),
        "cold_start": _cold_summary(cold) if cold_start else None,
        "pooled_reliability": _pooled_reliability(pooled),
        "seconds": {"panel": round(panel_s, 1), "total": round(time.perf_counter() - started, 1)},
    }
    return _jsonable(out)


def _checked_comparators(comparators: Iterable[str]) -> tuple[str, ...]:
    """The comparators as a tuple; unknown ones refused, BG/NBD's library checked (before
    the panel and the first training, not after)."""
    comparators = tuple(comparators)
    unknown = sorted(set(comparators) - set(COMPARATORS))
    if unknown:
        raise ValueError(
            f"The 'comparators' parameter must name items of {sorted(COMPARATORS)}; "
            f"got {list(comparators)} (unknown: {unknown})."
        )
    if "bgnbd" in comparators:
        check_installed()
    return comparators


def _panel_over(
    data: RetailData,
    cutoffs: Sequence[pd.Timestamp],
    fcfg: FeatureConfig,
    panel: pd.DataFrame | None,
) -> pd.DataFrame:
    """The given panel, or one built over `cutoffs`; refused if it lacks any of them."""
    if panel is None:
        log.info("building the panel over %d cutoffs", len(cutoffs))
        panel = build_panel(data, cutoffs, fcfg)
    have = set(panel.index.get_level_values("cutoff").unique())
    missing = [_day(c) for c in cutoffs if pd.Timestamp(c) not in have]
    if missing:
        raise ValueError(f"the panel lacks the cutoffs {missing}; build it over all of them.")
    return panel


def _run_origins(
    data: RetailData,
    fcfg: FeatureConfig,
    estimator: CLVModel,
    panel: pd.DataFrame,
    test_cutoffs: Sequence[pd.Timestamp],
    **options,
) -> tuple[list[dict], list[dict], dict[str, dict[str, list[np.ndarray]]]]:
    """:func:`_run_origin` at each origin, in turn: the origins' entries, the cold-start
    entries and, per probability target and model, the arrays of every origin."""
    panel_cutoffs = sorted(panel.index.get_level_values("cutoff").unique())
    per_origin, cold, pooled = [], [], {}
    for i, origin in enumerate(test_cutoffs, 1):
        key = next(c for c in panel_cutoffs if c == pd.Timestamp(origin))  # panel's own dtype
        log.info("origin %d/%d: %s", i, len(test_cutoffs), _day(key))
        entry, cold_entry, arrays = _run_origin(data, fcfg, estimator, panel, key, **options)
        per_origin.append(entry)
        cold += [cold_entry] if cold_entry is not None else []
        for target, named in arrays.items():
            for name, arr in named.items():
                pooled.setdefault(target, {}).setdefault(name, []).append(arr)
    return per_origin, cold, pooled


def _run_origin(
    data: RetailData,
    fcfg: FeatureConfig,
    estimator: CLVModel,
    panel: pd.DataFrame,
    key: pd.Timestamp,
    *,
    n_cutoffs: int,
    oracle_fn: OracleFn | None,
    comparators: tuple[str, ...],
    cold_start: bool,
) -> tuple[dict, dict | None, dict]:
    """Fit on the cutoffs before origin `key`, score it: the origin's entry, its cold-start
    entry (None when not run) and the pooled arrays of the probability targets."""
    t0 = time.perf_counter()
    sub = _restrict(panel, key, n_cutoffs, fcfg.horizon)
    rows = panel[panel.index.get_level_values("cutoff") == key]
    truths = dict(oracle_fn(key)) if oracle_fn is not None else {}
    model = CLVModel(**(estimator.get_params() | {"cold_start": cold_start}))
    model.fit_panel(sub, fcfg, data=data)
    split = time_split(sub)
    train_s = time.perf_counter() - t0
    customers = rows.index.get_level_values("customer_id")
    frames, info = _comparators_at(comparators, data, key, fcfg, customers)
    targets, arrays = _score_origin(model, rows, truths | frames)
    aggregate = aggregate_origin(model, rows)
    cold = _cold_start_origin(data, model, key, truths) if cold_start else None
    entry = {
        "origin": _day(key),
        "cutoffs": split.cutoffs,
        "n_train": len(split.train),
        "n_test": len(rows),
        "train_seconds": round(train_s, 1),
        "seconds": round(time.perf_counter() - t0, 1),
        "comparators": info,
        "targets": targets,
        "aggregate": aggregate,
    }
    log.info("origin %s done in %.0f s", _day(key), time.perf_counter() - t0)
    return entry, cold, arrays


def _comparators_at(
    comparators: tuple[str, ...],
    data: RetailData,
    key: pd.Timestamp,
    fcfg: FeatureConfig,
    customers: pd.Index,
) -> tuple[dict[str, pd.DataFrame], dict[str, dict]]:
    """Each comparator's expectations as of `key` (by its model name) and what it reports:
    its fit, its time and how many test customers it has no prediction for."""
    frames, info = {}, {}
    for comp in comparators:
        t1 = time.perf_counter()
        name = COMPARATORS[comp]
        frames[name], info[name] = _comparator_predictions(comp, data, key, fcfg)
        info[name]["seconds"] = round(time.perf_counter() - t1, 1)
        info[name]["test_rows_without_prediction"] = int(
            (~customers.isin(frames[name].index)).sum()
        )
    return frames, info


def _run_config(
    cfg, fcfg: FeatureConfig, n_origins: int, comparators: tuple[str, ...], oracle: bool
) -> dict:
    """The backtest's settings, as the results report them (`cfg`: the model's checked
    parameters)."""
    return {
        "origins": n_origins,
        "n_cutoffs": cfg.n_cutoffs,
        "horizon_days": fcfg.horizon,
        "spend_models": list(cfg.spend_models),
        "probability_models": list(cfg.probability_models),
        "comparators": [COMPARATORS[c] for c in comparators],
        "oracle": oracle,
        "quick": cfg.quick,
        "seed": cfg.random_state,
        "n_jobs": cfg.n_jobs,
        "interval": cfg.interval,
    }


def _pooled_reliability(pooled: Mapping[str, Mapping[str, list[np.ndarray]]]) -> dict:
    """Per probability target and model, the reliability table over all origins' rows."""
    return {
        target: {
            name: reliability_table(np.concatenate(named["y"]), np.concatenate(arr)).to_dict(
                orient="records"
            )
            for name, arr in named.items()
            if name != "y"
        }
        for target, named in pooled.items()
    }


def _summarise(per_origin: list[dict]) -> dict:
    summary = {}
    for target in per_origin[0]["targets"]:
        entries = [o["targets"][target] for o in per_origin]
        names: list[str] = []
        for e in entries:
            names += [m for m in e["models"] if m not in names]
        models = {
            name: aggregate_metrics([e["models"][name] for e in entries if name in e["models"]])
            for name in names
        }
        summary[target] = {
            "kind": entries[0]["kind"],
            "chosen": [e["chosen"] for e in entries],
            "deployed": [e.get("deployed", e["chosen"]) for e in entries],
            "models": models,
        }
        for key in ("interval", "quantiles"):
            if any(key in e for e in entries):
                summary[target][key] = aggregate_metrics([e[key] for e in entries if key in e])
    return summary


def _jsonable(value):
    """Plain Python types, NaN and infinities as None (strict JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value
