"""The backtest's results read back: tables, the totals of groups and the target checks.

Formatting and judging only, over the JSON-like dict :func:`clvmodel.backtest.run_backtest`
returns (or ``benchmarks/results/accuracy.json`` read back): no model, no LightGBM, so the
model card (:mod:`clvmodel.card`) and the benchmarks' reports use it without fitting anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

__all__ = [
    "COMPARATORS",
    "aggregate_summary",
    "backtest_table",
    "base_total_table",
    "group_totals_lines",
    "interval_table",
    "markdown_table",
    "target_checks",
]

#: Comparators the backtest knows, by name, and the model name they get in the results.
COMPARATORS = {"bgnbd": "bgnbd_gg"}

#: Name of the row holding, per origin, the prediction training ships.
OURS = "ours"

#: Oracle names, strictest last; shares are taken of ``ORACLE``.
ORACLE = "oracle"

#: Columns of :func:`backtest_table`, per kind of target.
SPEND_COLUMNS = (
    "mae",
    "rmse",
    "r2",
    "gini",
    "spearman",
    "sum_ratio",
    "decile_mape",
    "top10_share",
    "r2_of_oracle",
    "gini_of_oracle",
)
PROBABILITY_COLUMNS = (
    "auc",
    "brier",
    "log_loss",
    "reliability_max",
    "brier_of_oracle",
    "mean_predicted",
    "observed_rate",
)


# --------------------------------------------------------------------------- totals of groups


def _cells(per_origin: Sequence[Mapping]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"origin": o["origin"], **c} for o in per_origin for c in o["aggregate"]["cells"]]
    )


def aggregate_summary(per_origin: Sequence[Mapping]) -> dict:
    """Over origins: the error of the base's total and the coverage of the sums' intervals.

    ``base_total_error``: mean |predicted / actual − 1| of the whole base's total spend;
    ``coverage``: share of all cells (everyone and each group, every target, every
    origin) whose actual total fell in its interval; ``coverage_segments``: of the cells
    of groups (not everyone).
    """
    return _summary_of(_cells(per_origin))


def _summary_of(cells: pd.DataFrame) -> dict:
    if cells.empty:
        return {}
    base = cells[(cells["group"] == "all") & (cells["target"] == "total")]
    ratio = base["expected"] / base["actual"]
    groups = cells["group"] != "all"
    return {
        "base_total_ratio": [float(r) for r in ratio],
        "base_total_error": float((ratio - 1).abs().mean()),
        "coverage": float(cells["covered"].mean()),
        "coverage_segments": float(cells.loc[groups, "covered"].mean()) if groups.any() else None,
        "cells": len(cells),
    }


def base_total_table(per_origin: Sequence[Mapping], *, target: str = "total") -> pd.DataFrame:
    """Per origin, the whole base's predicted and actual `target` total, their ratio and the
    80% interval of the sum (formatted for a report)."""
    cells = _cells(per_origin)
    base = cells[(cells["group"] == "all") & (cells["target"] == target)]
    return pd.DataFrame(
        {
            "origin": base["origin"],
            "predicted": base["expected"].map("{:,.0f}".format),
            "actual": base["actual"].map("{:,.0f}".format),
            "predicted / actual": (base["expected"] / base["actual"]).map("{:.3f}".format),
            "80% interval": [
                f"{lo:,.0f} to {hi:,.0f}" for lo, hi in zip(base["low"], base["high"], strict=True)
            ],
            "covered": base["covered"].map({True: "yes", False: "no"}),
        }
    ).set_index("origin")


def group_totals_lines(per_origin: Sequence[Mapping], *, groups: str) -> list[str]:
    """The "Totals of groups" report (markdown lines) of a backtest's per-origin cells, for
    ``benchmarks/accuracy.py``, ``benchmarks/real_data.py`` and the model card; `groups`
    says in words which groups the cells hold."""
    cells = _cells(per_origin)
    agg = _summary_of(cells)
    if not agg:
        return []
    lines = [
        "The whole base's next-30-day net spend against the actual total at each origin, "
        "with the 80% interval of the sum (`clvmodel.aggregate`: the customers' predictive "
        "distributions plus the shared error the fit measured):",
        "",
        markdown_table(base_total_table(per_origin)),
        "",
        f"- mean absolute error of the base total: {agg['base_total_error']:.1%}",
        f"- the 80% intervals of the sums cover {agg['coverage']:.1%} of {agg['cells']} cells "
        f"({groups}, every target, every origin)",
    ]
    if agg["coverage_segments"] is not None:
        group_cells = cells[cells["group"] != "all"]
        error = (group_cells["expected"] / group_cells["actual"] - 1).abs()
        lines.append(
            f"- cells of groups only: {agg['coverage_segments']:.1%} covered; median absolute "
            f"error of a group's sum {error.median():.1%}"
        )
    return lines


# --------------------------------------------------------------------------- tables


def _model_order(names: Iterable[str]) -> list[str]:
    """ours, the compared models and baselines, comparators, oracles."""
    names = list(names)
    comps = [n for n in names if n in COMPARATORS.values()]
    oracles = [n for n in names if n.startswith(ORACLE)]
    rest = [n for n in names if n not in comps + oracles + [OURS]]
    return [n for n in [OURS] if n in names] + rest + comps + oracles


def backtest_table(
    results: dict, target: str, *, digits: int = 3, cold_start: bool = False
) -> pd.DataFrame:
    """One target's models × metrics, each cell ``mean ± std`` across origins.

    Parameters
    ----------
    results : dict
        From :func:`run_backtest` (or its JSON read back).
    target : str
        ``"total"``, a category or ``"purchase"``.
    digits : int, default=3
        Significant digits of the mean and std (currency values are rounded to units).
    cold_start : bool, default=False
        The table of the never-bought customers (cold-start models) instead.

    Returns
    -------
    DataFrame
        Indexed by model (``ours`` first, oracles last), columns from
        :data:`SPEND_COLUMNS` or :data:`PROBABILITY_COLUMNS` that some model has; empty
        cells where a model lacks the metric (e.g. shares without an oracle). Use
        :func:`markdown_table` to print.
    """
    summary = (results.get("cold_start") or {}).get("summary", {}) if cold_start else None
    summary = results["summary"] if summary is None else summary
    if target not in summary:
        raise ValueError(f"target must be one of {list(summary)}; got {target!r}.")
    entry = summary[target]
    columns = SPEND_COLUMNS if entry["kind"] == "spend" else PROBABILITY_COLUMNS
    rows = {}
    for name in _model_order(entry["models"]):
        metrics = entry["models"][name]
        rows[name] = {c: _cell(metrics.get(c), c, digits) for c in columns}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(columns))
    table = table.loc[:, (table != "").any(axis=0)]
    table.index.name = "model"
    return table


def interval_table(results: dict, *, digits: int = 3) -> pd.DataFrame:
    """Coverage and width of the shipped intervals (and of [P10, P90]), per spend target.

    Returns
    -------
    DataFrame
        One row per target and interval (``interval``: the target's 80 % interval as
        shipped; ``p10-p90``: the predictive distribution's quantiles, with the share of
        outcomes at or below each quantile), then the cold-start ones, cells ``mean ± std``
        across origins.
    """
    rows = {}
    cold = (results.get("cold_start") or {}).get("summary", {})
    for summary, suffix in ((results["summary"], ""), (cold, " (cold start)")):
        for target, entry in summary.items():
            if entry["kind"] != "spend":
                continue
            for key, label in (("interval", "interval"), ("quantiles", "p10-p90")):
                stats = entry.get(key)
                if not stats:
                    continue
                renamed = {("width" if k == "mean_width" else k): v for k, v in stats.items()}
                cells = {k: _cell(v, k, digits) for k, v in renamed.items()}
                rows[f"{target} {label}{suffix}"] = cells
    columns = ["coverage", "width", "below_p10", "below_p50", "below_p90"]
    table = pd.DataFrame.from_dict(rows, orient="index")
    table = table.reindex(columns=[c for c in columns if c in table]).fillna("")
    table.index.name = "interval"
    return table


def _cell(stat: Mapping | None, column: str, digits: int) -> str:
    if not stat or stat.get("mean") is None:
        return ""
    mean, std = stat["mean"], stat.get("std")
    currency = column in ("mae", "rmse", "width")
    fmt = (lambda v: f"{v:,.0f}") if currency else (lambda v: f"{v:.{digits}f}")
    return fmt(mean) if std is None else f"{fmt(mean)} ± {fmt(std)}"


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub markdown table of :func:`backtest_table` (no tabulate needed)."""
    header = [table.index.name or "", *table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in table.iterrows():
        lines.append("| " + " | ".join([str(name), *[str(v) for v in row]]) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- targets


def _mean(metrics: Mapping | None, key: str) -> float:
    stat = (metrics or {}).get(key) or {}
    value = stat.get("mean")
    return math.nan if value is None else float(value)


def _check(name: str, ok: bool | None, detail: str) -> dict:
    status = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
    return {"target": name, "status": status, "detail": detail}


def target_checks(results: dict) -> list[dict]:
    """The accuracy targets of issue 5, judged on the backtest's means across origins.

    Our model is the ``ours`` row (what training ships at each origin). Each check is
    ``{"target", "status" ("PASS", "FAIL" or "SKIP"), "detail"}``; checks against the
    oracle are skipped without one, checks against BG/NBD without that comparator.

    - total: R² ≥ 90 % and Gini ≥ 95 % of the oracle's (mean of the per-origin shares, the
      ``r2_of_oracle`` / ``gini_of_oracle`` columns of :func:`backtest_table`),
      |mean sum ratio - 1| ≤ 3 %;
    - each category: R² ≥ 85 % of the oracle's;
    - purchase: Brier ≤ 1.05 × the oracle's (mean of per-origin ratios); reliability: the
      largest |observed - predicted| over the deciles ≤ 3 points (mean over origins of the
      per-origin largest);
    - each spend target: 80 % interval coverage in [77 %, 83 %] (mean over origins), and
      the same for [P10, P90] where training gives quantiles;
    - against BG/NBD + Gamma-Gamma on total spend: lower RMSE, higher R² and Gini, with our
      |sum ratio - 1| ≤ 5 %; on purchase: higher AUC.
    """
    summary = results["summary"]
    spend_targets = [t for t, e in summary.items() if e["kind"] == "spend"]
    purchase = summary.get("purchase", {}).get("models", {})
    checks = _total_checks(summary["total"]["models"], results["per_origin"])
    checks += _category_checks(summary, [t for t in spend_targets if t != "total"])
    if purchase:
        pooled = results.get("pooled_reliability", {}).get("purchase", {}).get(OURS)
        checks += _purchase_checks(purchase, pooled)
    for target in spend_targets:
        checks += _interval_checks(target, summary[target])
    checks += _comparator_checks(summary["total"]["models"], purchase)
    return checks


_NO_ORACLE = "no oracle (the data have no latent parameters)"


def _total_checks(total: Mapping, per_origin: Sequence[Mapping]) -> list[dict]:
    """Total spend: R² and Gini as shares of the oracle's, the sum ratio within 3%."""
    ours, oracle = total[OURS], total.get(ORACLE)
    checks = []
    for key, floor, label in (("r2", 0.90, "R²"), ("gini", 0.95, "Gini")):
        name = f"total {label} ≥ {floor:.0%} of the oracle's"
        if oracle is None:
            checks.append(_check(name, None, _NO_ORACLE))
            continue
        share = _mean(ours, f"{key}_of_oracle")
        checks.append(
            _check(
                name,
                share >= floor,
                f"{share:.1%} (mean of per-origin shares; mean {label} "
                f"{_mean(ours, key):.3f} vs oracle {_mean(oracle, key):.3f})",
            )
        )
    ratios = [o["targets"]["total"]["models"][OURS]["sum_ratio"] for o in per_origin]
    ratios = [r for r in ratios if r is not None]
    ratio = _mean(ours, "sum_ratio")
    spread = f" (origins {min(ratios):.3f} to {max(ratios):.3f})" if ratios else ""
    checks.append(
        _check(
            "total |sum ratio − 1| ≤ 3%",
            abs(ratio - 1) <= 0.03,
            f"sum ratio {ratio:.3f}{spread}",
        )
    )
    return checks


def _category_checks(summary: Mapping, categories: Sequence[str]) -> list[dict]:
    """Each category: R² at least 85% of the oracle's."""
    checks = []
    for target in categories:
        name = f"{target} R² ≥ 85% of the oracle's"
        models = summary[target]["models"]
        if ORACLE not in models:
            checks.append(_check(name, None, _NO_ORACLE))
            continue
        share = _mean(models[OURS], "r2_of_oracle")
        detail = (
            f"{share:.1%} (mean of per-origin shares; mean R² {_mean(models[OURS], 'r2'):.3f} "
            f"vs oracle {_mean(models[ORACLE], 'r2'):.3f})"
        )
        checks.append(_check(name, share >= 0.85, detail))
    return checks


def _purchase_checks(purchase: Mapping, pooled: Sequence[Mapping] | None) -> list[dict]:
    """P(buy): Brier within 5% of the oracle's, reliability within 3 points per decile
    (`pooled`: our reliability table over all origins' rows, reported beside)."""
    mine = purchase[OURS]
    name = "purchase Brier within 5% of the oracle's"
    if ORACLE in purchase:
        ratio = _mean(mine, "brier_of_oracle")
        detail = (
            f"{ratio:.3f} × the oracle's (mean of per-origin ratios; mean Brier "
            f"{_mean(mine, 'brier'):.4f} vs {_mean(purchase[ORACLE], 'brier'):.4f})"
        )
        checks = [_check(name, ratio <= 1.05, detail)]
    else:
        checks = [_check(name, None, _NO_ORACLE)]
    dev = _mean(mine, "reliability_max")
    detail = f"largest decile gap {dev * 100:.1f} points (mean over origins)"
    if pooled:
        gap = max(abs(r["observed_rate"] - r["mean_predicted"]) for r in pooled)
        detail += f"; {gap * 100:.1f} with all origins pooled"
    if ORACLE in purchase:
        detail += f"; the oracle's {_mean(purchase[ORACLE], 'reliability_max') * 100:.1f}"
    checks.append(_check("purchase reliability within ±3 points per decile", dev <= 0.03, detail))
    return checks


def _interval_checks(target: str, entry: Mapping) -> list[dict]:
    """A spend target's 80% interval coverage, and its quantiles' calibration."""
    cov = _mean(entry.get("interval"), "coverage")
    name = f"{target} 80% interval coverage in 77–83%"
    if math.isnan(cov):
        checks = [_check(name, None, "no interval")]
    else:
        zeros = _mean(entry.get("interval"), "zero_share")
        detail = f"coverage {cov:.1%}"
        if not math.isnan(zeros):
            detail += f"; {zeros:.1%} of outcomes are 0, which any interval holding 0 covers"
        checks = [_check(name, 0.77 <= cov <= 0.83, detail)]
    quantiles = entry.get("quantiles")
    if quantiles and "coverage" in quantiles:
        checks.append(_quantile_check(target, quantiles))
    return checks


def _quantile_check(target: str, quantiles: Mapping) -> dict:
    """Each quantile calibrated: with an atom at zero a calibrated tau-quantile q has
    P(y < q) <= tau <= P(y <= q), so [P10, P90] covers ~90%, not 80%; the quantiles are
    checked one by one."""
    taus = {
        k[len("below_") :]: int(k[len("below_p") :]) / 100
        for k in quantiles
        if k.startswith("below_p")
    }
    misses = [
        f"{name.upper()}: {_mean(quantiles, 'strictly_below_' + name):.1%} below, "
        f"{_mean(quantiles, 'below_' + name):.1%} at or below"
        for name, tau in taus.items()
    ]
    ok = all(
        _mean(quantiles, f"strictly_below_{name}") <= tau + 0.03
        and _mean(quantiles, f"below_{name}") >= tau - 0.03
        for name, tau in taus.items()
    )
    return _check(
        f"{target} P10/P50/P90 calibrated (share below ≤ τ + 3 pts ≤ share at or below + 6 pts)",
        ok,
        "; ".join(misses) + f"; [P10, P90] covers {_mean(quantiles, 'coverage'):.1%}",
    )


def _comparator_checks(total: Mapping, purchase: Mapping) -> list[dict]:
    """Against BG/NBD + Gamma-Gamma: total RMSE, R², Gini, the sum ratio within 5%, and
    the purchase AUC."""
    ours = total[OURS]
    bg_name = COMPARATORS["bgnbd"]
    bg = total.get(bg_name)
    checks = []
    for key, label, better in (
        ("rmse", "RMSE", lambda a, b: a < b),
        ("r2", "R²", lambda a, b: a > b),
        ("gini", "Gini", lambda a, b: a > b),
    ):
        name = f"total {label} better than BG/NBD + Gamma-Gamma"
        if bg is None:
            checks.append(_check(name, None, "BG/NBD not run"))
            continue
        a, b = _mean(ours, key), _mean(bg, key)
        fmt = "{:,.0f}" if key == "rmse" else "{:.3f}"
        checks.append(_check(name, better(a, b), f"{fmt.format(a)} vs {fmt.format(b)}"))
    ratio = _mean(ours, "sum_ratio")
    checks.append(
        _check("total |sum ratio − 1| ≤ 5% (vs BG/NBD)", abs(ratio - 1) <= 0.05, f"{ratio:.3f}")
    )
    if purchase:
        name = "purchase AUC better than BG/NBD"
        if bg_name in purchase:
            a, b = _mean(purchase[OURS], "auc"), _mean(purchase[bg_name], "auc")
            checks.append(_check(name, a > b, f"{a:.4f} vs {b:.4f}"))
        else:
            checks.append(_check(name, None, "BG/NBD not run"))
    return checks
