"""The model card: ``model_card.md``, markdown with a Hugging Face YAML header.

:func:`make_card` only formats. Every number comes from what training writes: the
:class:`~clvmodel.report.FitReport` (``CLVModel.report_``, ``metrics.json``: scores per
target and model, the predictive distribution, intervals, reliability, cold start) and the
``metadata`` dict (``metadata.json``: version, data, features, parameters, library
versions, plot files). Nothing is recomputed, so the card always agrees with
``metrics.json``. Optional parts (the oracle, intervals, plots, ...) are left out when the
report or metadata lacks them, as on real data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from clvmodel.backtest_report import group_totals_lines
from clvmodel.catalogue import group_features
from clvmodel.persistence import load_json
from clvmodel.report import DistributionReport, FitReport, IntervalReport, TargetReport

__all__ = ["CARD_TAGS", "make_card", "write_card"]

#: Tags of the YAML header.
CARD_TAGS: tuple[str, ...] = ("tabular-regression", "customer-lifetime-value", "skops")

#: Columns of the spend tables: metric key, header, formatter kind.
_SPEND_COLUMNS = (
    ("mae", "MAE", "money"),
    ("rmse", "RMSE", "money"),
    ("r2", "R²", "ratio"),
    ("gini", "Gini", "ratio"),
    ("spearman", "Spearman", "ratio"),
    ("sum_ratio", "sum ratio", "ratio"),
)
_PROBABILITY_COLUMNS = (
    ("auc", "AUC", "ratio"),
    ("brier", "Brier", "ratio"),
    ("log_loss", "log loss", "ratio"),
    ("mean_predicted", "mean predicted", "ratio"),
    ("observed_rate", "observed rate", "ratio"),
)

#: What the reference models do, shown under the tables for the names that appear there.
_MODEL_NOTES = {
    "zero": "predicts 0 for everyone",
    "last_30d": (
        "spend: repeats the last 30 days before the cutoff; purchase: the training rate of "
        "buyers among customers who did / did not buy in the last 30 days"
    ),
    "train_rate": "the share of buyers in training, the same for everyone",
    "rate_x_horizon": "the customer's past daily spend rate times the horizon",
    "train_mean": "the mean of the training target, the same for everyone",
    "share_of_total": (
        "the customer's past share of spend in the category times their expected total (a "
        "category with too few buyers for a booster of its own)"
    ),
    "oracle": (
        "the simulator's true expected value given each customer's hidden parameters and "
        "their observed history (synthetic data only): the best any model of the "
        "transactions can do"
    ),
    "oracle_alive_known": (
        "as the oracle, but also told whether each customer is still active, which no data "
        "reveals: a stricter bound than any model can reach"
    ),
}

#: What a served model that is not a candidate is, said where it is named as served.
_SERVED_NOTES = {
    "reconciled": "the category's share of the total, see *Categories that add up*",
}

#: Where the test scores of what is served come from.
_SERVED_BY = "`CLVModel.predict_features`, the method that serves, on the test cutoff"

_MISSING = "–"


# --------------------------------------------------------------------------- formatting


def _is_missing(value: Any) -> bool:
    """None and NaN (how strict JSON and NumPy spell "undefined") print as n/a."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _money(value: Any) -> str:
    """Thousands separators; whole units from 100 up, two decimals below (``45.27``)."""
    if _is_missing(value):
        return "n/a"
    value = float(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _ratio(value: Any) -> str:
    """Three decimals, e.g. ``0.812``."""
    return "n/a" if _is_missing(value) else f"{float(value):.3f}"


def _count(value: Any) -> str:
    """An integer with thousands separators, e.g. ``16,702``."""
    return "n/a" if _is_missing(value) else f"{int(value):,}"


_FORMATTERS = {"money": _money, "ratio": _ratio, "count": _count}


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, align: str = "") -> str:
    """A GitHub markdown table; ``align`` gives one letter per column (``l`` or ``r``)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def _details(summary: str, body: str) -> str:
    """A collapsible block; the blank lines let markdown inside it render."""
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def _join_names(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


# --------------------------------------------------------------------------- sections


def _spend_targets(report: FitReport) -> list[str]:
    return [t for t, r in report.targets.items() if r.kind == "spend"]


def _probability_targets(report: FitReport) -> list[str]:
    return [t for t, r in report.targets.items() if r.kind == "probability"]


def _header(report: FitReport, metadata: Mapping) -> str:
    currency = report.currency or metadata.get("currency", "")
    horizon = report.horizon_days
    spend = _spend_targets(report)
    categories = [t for t in spend if t != "total"]
    what = f"net spend over the next {horizon} days ({currency})".replace(" ()", "")
    if "total" in spend:
        what = f"total {what}"
        if categories:
            what += f" and per category ({', '.join(categories)})"
    elif categories:
        what += f" per category ({', '.join(categories)})"
    lines = [f"# clvmodel: {horizon}-day customer value", ""]
    lines.append(f"Predicts each retail customer's {what}")
    if _probability_targets(report):
        lines[-1] += ", and the probability that the customer buys at all in that window"
    lines[-1] += "."
    facts = [
        ("Model version", metadata.get("model_version")),
        ("Trained at", metadata.get("trained_at")),
        (
            "Default as-of date",
            metadata.get("default_as_of", metadata.get("info", {}).get("default_as_of")),
        ),
    ]
    facts = [(k, v) for k, v in facts if v is not None]
    if facts:
        lines += ["", _table(["", ""], [[k, f"`{v}`"] for k, v in facts], align="ll")]
    intro = (
        "Chosen model per target, and the test scores of what users get, computed by "
        f"{_SERVED_BY} (for a category, its share of the total: `reconciled`):"
    )
    lines += ["", intro, "", _overview(report, metadata)]
    return "\n".join(lines)


def _overview(report: FitReport, metadata: Mapping) -> str:
    """One row per target: the chosen model, its file and the served model's test scores."""
    files = metadata.get("targets", {})
    rows = []
    for name, target in report.targets.items():
        chosen, deployed = target.chosen, target.deployed
        test = target.served
        if target.kind == "spend":
            keys = (("r2", "R²"), ("gini", "Gini"), ("sum_ratio", "sum ratio"))
        else:
            keys = (("auc", "AUC"), ("brier", "Brier"))
        scores = ", ".join(f"{label} {_ratio(test[k])}" for k, label in keys if k in test)
        file = files.get(name, {}).get("file")
        model = f"`{chosen}`" if deployed == chosen else f"`{chosen}`, served `{deployed}`"
        rows.append([name, model, f"`{file}`" if file else _MISSING, scores or _MISSING])
    return _table(["target", "model", "file", "test scores"], rows, align="llll")


def _total_distribution(report: FitReport) -> DistributionReport | None:
    """The predictive distribution of total spend, if training reported it."""
    total = report.targets.get("total")
    return total.distribution if total is not None else None


def _has_ranges(report: FitReport) -> bool:
    """Whether training reported the predictive distribution or intervals."""
    return _total_distribution(report) is not None or any(
        report.targets[t].interval is not None for t in _spend_targets(report)
    )


def _intended_use(report: FitReport) -> str:
    horizon = report.horizon_days
    ranges = ""
    if _has_ranges(report):
        low, high = (_level_name(v) for v in _interval_levels(report))
        ranges = f"""
- **Show one customer's range**: {low}, P50 and {high} of a customer's spend, and the
  interval [{low}, {high}], describe how uncertain that customer's next {horizon} days are.
  They are not ranges for sums over customers (add expected values), and the expected
  spend can sit above {high} (see *Limitations*)."""
    return f"""## Intended use

- **Forecast revenue**: sum the expected spends over customers for the next {horizon} days,
  in total and per category.
- **Target promotions**: rank customers by expected spend or purchase probability and
  contact the top of the list.
- **Plan stock**: per-category predictions show where demand is expected.{ranges}

Predictions are estimates for groups of customers and for ranking. **Do not use them for
decisions about individuals' credit, eligibility, pricing or access to services**, or for
any decision with legal or similarly significant effects on a person: the model only
knows past shopping, and a single customer's next {horizon} days are mostly chance."""


def _data(report: FitReport, metadata: Mapping) -> str:
    data = {**metadata.get("info", {}), **metadata.get("data", {})}
    cutoffs = report.cutoffs or metadata.get("cutoffs") or {}
    horizon = report.horizon_days
    config = metadata.get("feature_config", {})
    rows = []
    if "source" in data:
        rows.append(["Source", f"`{data['source']}`"])
    if "synthetic" in data:
        rows.append(
            ["Synthetic", "yes (generated by `clvmodel.synthetic`)" if data["synthetic"] else "no"]
        )
    if "fingerprint" in data:
        rows.append(["Fingerprint", f"`{data['fingerprint']}`"])
    if "first_date" in data or "last_date" in data:
        first, last = data.get("first_date", "?"), data.get("last_date", "?")
        rows.append(["Transactions dated", f"{first} to {last}"])
    if "n_customers" in data:
        rows.append(["Customers", _count(data["n_customers"])])
    if "n_transactions" in data:
        rows.append(["Transactions", _count(data["n_transactions"])])
    sample = data.get("training_sample")
    if sample:
        rows.append(["Trained on", f"a sample: {sample['rule']}; every customer is scored"])
    for key, label in (
        ("categories", "Categories"),
        ("regions", "Regions"),
        ("segments", "Segments"),
    ):
        if config.get(key):
            rows.append([label, ", ".join(config[key])])
    if horizon is not None:
        rows.append(["Horizon", f"{horizon} days from each cutoff (the cutoff day included)"])
    n_rows = report.n_rows
    train = list(cutoffs.get("train", []))
    if train:
        span = train[0] if len(train) == 1 else f"{train[0]} to {train[-1]}"
        rows.append(["Training cutoffs", f"{len(train)} ({span})" + _rows_note(n_rows, "train")])
    for split in ("validation", "test"):
        if cutoffs.get(split):
            rows.append(
                [f"{split.capitalize()} cutoff", cutoffs[split] + _rows_note(n_rows, split)]
            )
    text = [
        "## Data",
        "",
        "One row per customer and cutoff date: features use only transactions dated before the "
        "cutoff, targets the transactions from the cutoff on. Models are fitted on the training "
        "cutoffs, chosen on the validation cutoff and scored once on the test cutoff.",
    ]
    if rows:
        text += ["", _table(["", ""], rows, align="ll")]
    if train:
        text += ["", _details("All training cutoffs", ", ".join(train))]
    return "\n".join(text)


def _rows_note(n_rows: Mapping, split: str) -> str:
    return f", {_count(n_rows[split])} rows" if split in n_rows else ""


def _returns(report: FitReport) -> str:
    horizon = report.horizon_days
    return f"""## How returns enter

Returns are lines with a negative amount. They enter in three places:

- **Target**: net spend, purchases minus returns dated in the {horizon}-day window, so a
  customer who only returned something has a negative target. The purchase target is 1 when
  at least one purchase (positive amount) falls in the window; a return alone does not count.
- **Spend features** (`spend_*`, baskets, per-category spend) are net too: returns lower them.
- **Return features**: `returns_365d` (value returned in the last 365 days) and
  `return_share` (returned value over bought value) describe how much a customer returns."""


def _features(metadata: Mapping) -> str | None:
    names = metadata.get("feature_names")
    if not names:
        return None
    config = metadata.get("feature_config", {})
    groups = group_features(names)  # the feature registry's groups
    rows = [[group, str(len(members))] for group, members in groups.items()]
    listing = "\n".join(
        f"- **{group}**: {_join_names(members)}" for group, members in groups.items()
    )
    text = [
        "## Features",
        "",
        f"{len(names)} features per customer and cutoff, computed from transactions before the "
        "cutoff only.",
    ]
    if config.get("windows"):
        windows = ", ".join(str(w) for w in config["windows"])
        text[-1] += f" Spend and transaction counts look back over {windows} days"
        if config.get("category_windows"):
            text[-1] += (
                ", per-category spend over "
                + ", ".join(str(w) for w in config["category_windows"])
                + " days"
            )
        text[-1] += "."
    text += ["", _table(["group", "features"], rows), "", _details("All feature names", listing)]
    return "\n".join(text)


def _model_table(
    scores: Mapping[str, Mapping[str, float]],
    columns: Sequence[tuple[str, str, str]],
    *,
    currency: str,
    chosen: str | None = None,
    deployed: str | None = None,
    shares: Mapping[str, Mapping[str, float]] | None = None,
) -> str:
    """Rows: every model of ``scores`` (model -> metric -> value); ``chosen`` in bold,
    ``deployed`` marked as served, ``shares`` (of the oracle's scores) appended."""
    header = ["model"]
    for _, label, kind in columns:
        header.append(f"{label} ({currency})" if kind == "money" and currency else label)
    if shares:
        header += ["share of oracle R²", "share of oracle Gini"]
    rows = []
    for model, values in scores.items():
        label = f"{model} (served)" if model == deployed and model != chosen else model
        row = [f"**{model}**" if model == chosen else label]
        row += [
            _FORMATTERS[kind](values[key]) if key in values else _MISSING
            for key, _, kind in columns
        ]
        if shares:
            share = shares.get(model, {})
            row += [_ratio(share[k]) if k in share else _MISSING for k in ("r2", "gini")]
        rows.append(row)
    return _table(header, rows)


def _notes(models: Iterable[str]) -> str:
    notes = [f"`{m}`: {_MODEL_NOTES[m]}" for m in models if m in _MODEL_NOTES]
    return "Reference models: " + "; ".join(notes) + "." if notes else ""


def _target_block(name: str, target: TargetReport, columns, *, currency: str) -> list[str]:
    lines = [f"### {name}", ""]
    chosen, rule, deployed = target.chosen, target.selection, target.deployed
    if chosen:
        sentence = f"Chosen model: **{chosen}**"
        lines.append(sentence + (f", by {rule}." if rule else "."))
        if deployed == chosen:
            lines[-1] += f" Its test row is what users get, scored by {_SERVED_BY}."
        elif deployed:
            note = f" ({_SERVED_NOTES[deployed]})" if deployed in _SERVED_NOTES else ""
            lines[-1] += (
                f" What users get is **{deployed}**{note}, in the row *{deployed} (served)*, "
                f"scored by {_SERVED_BY}."
            )
        lines.append("")
    if target.test:
        table = _model_table(
            target.test,
            columns,
            currency=currency,
            chosen=chosen,
            deployed=deployed,
            shares=target.oracle_share,
        )
        lines += ["Test cutoff:", "", table]
    if target.validation:
        table = _model_table(
            target.validation, columns, currency=currency, chosen=chosen, deployed=deployed
        )
        lines += ["", _details(f"Validation scores ({name})", table)]
    return lines


def _models_compared(report: FitReport) -> str | None:
    spend = _spend_targets(report)
    if not spend:
        return None
    currency = report.currency
    lines = [
        "## Models compared",
        "",
        "For each spend target, the models below were fitted on the training cutoffs and the "
        "one that wins on the **validation** cutoff was kept (the rule is given per target). The "
        "tables score them all on the **test** cutoff, which played no part in the choice; the "
        "chosen model is in bold. MAE and RMSE are in currency units (lower is better); R², "
        "Gini (ranking, 1 is perfect) and Spearman are higher-is-better; sum ratio is predicted "
        "over actual total (1 is exact).",
    ]
    if any(report.targets[t].oracle_share for t in spend):
        lines[-1] += (
            " *Share of oracle* divides a model's R² or Gini by the oracle's: the part of the "
            "attainable score the model reaches."
        )
    models: dict[str, None] = {}
    for name in spend:
        target = report.targets[name]
        models.update(dict.fromkeys(target.test))
        lines += ["", *_target_block(name, target, _SPEND_COLUMNS, currency=currency)]
    notes = _notes(models)
    if notes:
        lines += ["", notes]
    return "\n".join(lines)


def _purchase(report: FitReport) -> str | None:
    names = _probability_targets(report)
    if not names:
        return None
    lines = [
        "## Purchase probability",
        "",
        "AUC measures ranking (0.5 is chance, 1 perfect); Brier score and log loss measure the "
        "probabilities themselves (lower is better); mean predicted should be close to the "
        "observed rate.",
    ]
    models: dict[str, None] = {}
    for name in names:
        target = report.targets[name]
        models.update(dict.fromkeys(target.test))
        lines += ["", *_target_block(name, target, _PROBABILITY_COLUMNS, currency="")]
        reliability = target.reliability
        if reliability:
            rows = [
                [
                    str(r["bin"]),
                    _ratio(r["mean_predicted"]),
                    _ratio(r["observed_rate"]),
                    _count(r["count"]),
                ]
                for r in reliability
            ]
            lines += [
                "",
                f"Reliability of **{target.chosen or name}** on the test cutoff, customers "
                "binned by predicted probability (bin 0 lowest); a calibrated model has the "
                "observed rate close to the mean predicted probability in every bin:",
                "",
                _table(["bin", "mean predicted", "observed rate", "customers"], rows),
            ]
    notes = _notes(models)
    if notes:
        lines += ["", notes]
    return "\n".join(lines)


def _interval_levels(report: FitReport) -> tuple[float, float]:
    """The quantile levels of the intervals' ends, as training reports them."""
    for name in _spend_targets(report):
        interval = report.targets[name].interval
        levels = interval.quantiles if interval is not None else None
        if levels and len(levels) == 2:
            return float(levels[0]), float(levels[1])
    return 0.1, 0.9


def _level_name(level: float) -> str:
    """A quantile level as users read it: 0.1 -> ``P10``."""
    return f"P{_percent(level)}"


def _percent(share: float) -> str:
    """0.1 -> ``10``, 0.025 -> ``2.5`` (no float noise)."""
    return f"{round(float(share) * 100, 6):g}"


def _nominal(report: FitReport) -> str:
    """The interval's nominal coverage as a percentage, e.g. ``80%``."""
    nominal = report.interval
    if _is_missing(nominal):
        nominal = next(
            (t.interval.nominal for t in report.targets.values() if t.interval is not None),
            None,
        )
    return "" if _is_missing(nominal) else f"{_percent(nominal)}%"


def _above_upper(report: FitReport) -> tuple[str, str]:
    """The caveat of an expected value above the upper quantile: headline, explanation."""
    _, hi = _interval_levels(report)
    upper = _level_name(hi)
    return (
        f"The expected spend can sit above {upper}.",
        f"Spend is exactly 0 with probability 1 − P(buy), so a customer who probably buys "
        f"nothing, with P(buy) ≤ {_percent(1 - hi)}%, has {upper} = 0 and an interval of "
        "[0, 0], while their expected spend (a small chance of buying times what they would "
        "then spend) is positive.",
    )


def _intervals(report: FitReport) -> str | None:
    currency = report.currency
    rows = []
    for name in _spend_targets(report):
        interval = report.targets[name].interval
        if interval is not None:
            rows.append(
                [
                    name,
                    _ratio(interval.nominal),
                    _ratio(interval.coverage),
                    _ratio(interval.top_decile_coverage),
                    _ratio(interval.zero_share),
                    _money(interval.mean_width),
                ]
            )
    if not rows:
        return None
    lo, hi = _interval_levels(report)
    low, high = _level_name(lo), _level_name(hi)
    nominal = f"{_nominal(report)} ".lstrip()
    width = f"mean width ({currency})" if currency else "mean width"
    return "\n".join(
        [
            "## Prediction intervals",
            "",
            f"Every spend target's {nominal}interval is [{low}, {high}] of the customer's "
            "one predictive distribution of spend (see *Predictive distribution*), not a "
            "separate model. A category's bounds are the total's times the category's share, "
            "so the categories' bounds add up to the total's, none exceeds the total's and "
            "none is negative.",
            "",
            "*Nominal* is the share of customers the interval is meant to cover, *measured* "
            f"the share whose actual test spend fell inside it, scored by {_SERVED_BY}; *top "
            "10%* the same among the tenth of customers with the highest expected spend. "
            f"{low} is 0 for every customer with P(buy) ≤ {_percent(1 - lo)}%, and such an "
            "interval covers the customer if they buy nothing: where zero outcomes are "
            "common, measured coverage can run above the nominal. The spread is "
            f"fitted by the pinball loss of {low} and {high}, not to reach the nominal "
            "coverage: read coverage with the mean width and the top 10%. The expected spend "
            f"need not lie inside its interval: with P(buy) ≤ {_percent(1 - hi)}% the "
            "interval is [0, 0] while the expected spend is positive.",
            "",
            _table(
                [
                    "target",
                    "nominal coverage",
                    "measured coverage",
                    "top 10%",
                    "zero outcomes",
                    width,
                ],
                rows,
            ),
        ]
    )


def _absent_features(metadata: Mapping) -> str | None:
    absent = metadata.get("absent_feature_groups")
    if not absent:
        return None
    rows = [[a["group"], a["needs"], _join_names(a["features"])] for a in absent]
    return "\n".join(
        [
            "### Features absent for lack of data",
            "",
            f"The training data ({metadata.get('data', {}).get('format', 'as given')}) lacks "
            "what these feature groups need, so they are not built and the model does without:",
            "",
            _table(["group", "needs", "features"], rows, align="lll"),
        ]
    )


def _short_log(metadata: Mapping) -> str | None:
    """What a log too short for monthly cutoffs was fitted with, and why."""
    plan = metadata.get("info", {}).get("cutoff_plan") or {}
    if plan.get("kind") in (None, "monthly"):
        return None
    note = plan.get("note") or plan["kind"]
    return f"### A short log\n\n{note[0].upper()}{note[1:]}."


def _pooled_categories(metadata: Mapping) -> str | None:
    """Which source categories were renamed, merged or pooled into "other"."""
    pairs = metadata.get("feature_config", {}).get("category_map") or []
    if not pairs:
        return None
    pooled = sorted(s for s, c in pairs if c == "other")
    renamed = sorted((s, c) for s, c in pairs if c != "other")
    params = metadata.get("params", {})
    text = ["### Categories pooled or renamed", ""]
    if pooled:
        limit = params.get("max_categories")
        why = f" (beyond the {limit - 1} largest by net spend)" if limit else ""
        text.append(f"Pooled as `other`{why}: {_join_names(pooled)}.")
    if renamed:
        rows = [[f"`{s}`", f"`{c}`"] for s, c in renamed]
        text += ["", "Renamed or merged (`--categories`):", ""]
        text.append(_table(["source", "category"], rows, align="ll"))
    return "\n".join(text)


def _share_categories(report: FitReport) -> str | None:
    """The categories too thin for a booster, predicted from their share, and why."""
    rows = [[f"`{t}`", r.no_booster] for t, r in report.targets.items() if r.no_booster]
    if not rows:
        return None
    return "\n".join(
        [
            "### Categories predicted from their share",
            "",
            "These categories had too few buyers in the training months for a model of their "
            "own: each customer's expected spend in one is their past share of spend in it "
            "times their expected total.",
            "",
            _table(["category", "why"], rows, align="ll"),
        ]
    )


def _reconciliation(report: FitReport) -> str | None:
    method = next((t.reconciliation for t in report.targets.values() if t.reconciliation), None)
    if not method:
        return None
    low, high = (_level_name(v) for v in _interval_levels(report))
    keys = ("r2", "gini", "sum_ratio")
    rows = []
    for name in _spend_targets(report):
        target = report.targets[name]
        if "reconciled" in target.test:
            chosen, rec = target.test.get(target.chosen, {}), target.test["reconciled"]
            rows.append(
                [name, f"`{target.chosen}`"]
                + [_ratio(chosen.get(k)) for k in keys]
                + [_ratio(rec.get(k)) for k in keys]
            )
    lines = [
        "## Categories that add up",
        "",
        f"Categories split the basket: a customer's expected spend, {low} and {high} in a "
        "category are their total's times the category's share. So the categories add up to "
        "the total, no category bound exceeds the total's and nothing is negative. The method "
        f"as `metrics.json` records it: *{method}*.",
        "",
        "A category's own chosen model only sets the shares. What `CLVModel.predict`, the "
        "app, the batch files and the scoring CLI return for a category is the reconciled "
        f"value (`reconciled`), scored by {_SERVED_BY}. Reconciling can raise or lower a "
        "category's scores; the test scores of both:",
    ]
    if rows:
        header = ["category", "model"]
        header += [f"{label} alone" for label in ("R²", "Gini", "sum ratio")]
        header += [f"{label} reconciled" for label in ("R²", "Gini", "sum ratio")]
        lines += ["", _table(header, rows)]
    return "\n".join(lines)


def _cold_sigma(report: FitReport, metadata: Mapping) -> Any:
    """The cold-start spread of log spend: the report's, else metadata's ``cold_sigma``."""
    sigma = report.cold_start.log_sigma if report.cold_start is not None else None
    return metadata.get("cold_sigma") if _is_missing(sigma) else sigma


def _distribution(report: FitReport, metadata: Mapping) -> str | None:
    dist = _total_distribution(report)
    if dist is None:
        return None
    horizon = report.horizon_days
    low, high = (_level_name(v) for v in _interval_levels(report))
    nominal = f"{_nominal(report)} ".lstrip()
    sigma = metadata.get("sigma") if _is_missing(dist.log_sigma) else dist.log_sigma
    spread = "one spread of log spend"
    if not _is_missing(sigma):
        spread += f", σ = {float(sigma):.2f},"
    cold_sigma = _cold_sigma(report, metadata)
    cold = (
        ""
        if _is_missing(cold_sigma)
        else f" (cold-start customers have their own, σ = {float(cold_sigma):.2f})"
    )
    rows = [
        [
            key.upper(),
            _ratio(v.get("tau")),
            _ratio(v.get("share_below")),
            _ratio(v.get("share_at_or_below")),
        ]
        for key, v in dist.quantiles.items()
    ]
    lines = [
        "## Predictive distribution",
        "",
        "Every number served for a customer comes from one predictive distribution of their "
        f"{horizon}-day spend, a hurdle: spend is 0 with probability 1 − P(buy), else a "
        "lognormal amount whose mean makes the distribution's mean equal the expected spend. "
        "The chosen total model gives the expected spend and the purchase model P(buy); "
        f"{spread} is fitted on the validation cutoff by the pinball loss of the interval's "
        f"ends, {low} and {high}{cold}. Each customer's {low}, P50 "
        f"(`predicted_total_median`) and {high} are quantiles of this distribution, and the "
        f"{nominal}interval is [{low}, {high}]: the same two numbers "
        "(`CLVModel.predict_quantiles` gives other levels). Categories split the basket: a "
        "category's expected spend and quantiles are the total's times the category's share.",
    ]
    if dist.method:
        lines += ["", f"The method as `metrics.json` records it: *{dist.method}*."]
    lines += [
        "",
        "**{}** {}".format(*_above_upper(report))
        + " Likewise P50 is 0 whenever P(buy) ≤ 50%. Sum and rank customers by the expected "
        "spend; read the quantiles as one customer's range.",
    ]
    if rows:
        lines += [
            "",
            "Spend is exactly 0 for most customers, so a quantile is calibrated when the share "
            "of test outcomes strictly below it is at most its level and the share at or below "
            "it at least its level:",
            "",
            _table(["quantile", "level", "share below", "share at or below"], rows),
        ]
    return "\n".join(lines)


def _cold_start(report: FitReport, metadata: Mapping) -> str | None:
    cold = report.cold_start
    if cold is None:
        return None
    currency = report.currency
    counts = cold.rows
    rows = [
        f"{_count(counts[k])} {label}"
        for k, label in (
            ("train", "training rows"),
            ("validation", "at the validation cutoff"),
            ("test", "at the test cutoff"),
        )
        if k in counts
    ]
    sigma = _cold_sigma(report, metadata)
    spread = "its own spread of log spend"
    if not _is_missing(sigma):
        spread += f" (σ = {float(sigma):.2f})"
    lines = [
        "## Cold start",
        "",
        "Customers who signed up before the as-of date but never bought get a prediction "
        "from their attributes (segment, loyalty tier, account age) and the calendar, flagged "
        "`cold_start` in every output. Their models, one per target, are trained and tested "
        "on such customers only" + (f" ({', '.join(rows)})" if rows else "") + ". Their "
        f"predictive distribution is the same hurdle as everyone's, with {spread} fitted on "
        "the validation cutoff, and categories split the basket the same way.",
        "",
        "`deployed` is what `CLVModel.predict_cold_features` serves, scored on the test "
        "cutoff: the model's own prediction for total and purchase, the share of the total "
        "for a category. `train_mean` and `train_rate` predict the training mean or rate for "
        "everyone.",
    ]
    intervals = []
    for name, target in cold.targets.items():
        warm = report.targets.get(name)
        if warm is not None:
            kind = warm.kind
        else:
            kind = "probability" if name == "purchase" else "spend"
        columns = _PROBABILITY_COLUMNS if kind == "probability" else _SPEND_COLUMNS
        lines += ["", f"**{name}**", ""]
        lines += [_model_table(target.test, columns, currency=currency)]
        interval: IntervalReport | None = target.interval
        if interval is not None:
            intervals.append(
                [
                    name,
                    _ratio(interval.nominal),
                    _ratio(interval.coverage),
                    _ratio(interval.zero_share),
                    _money(interval.mean_width),
                ]
            )
    if intervals:
        low, high = (_level_name(v) for v in _interval_levels(report))
        width = f"mean width ({currency})" if currency else "mean width"
        lines += [
            "",
            f"Their intervals, [{low}, {high}] of their distribution, on the test cutoff:",
            "",
            _table(
                ["target", "nominal coverage", "measured coverage", "zero outcomes", width],
                intervals,
            ),
        ]
    return "\n".join(lines)


def _plots(metadata: Mapping, artifacts_dir: str) -> str | None:
    plots = metadata.get("plots")
    if not plots:
        return None
    lines = ["## Plots", ""]
    for name, relative in plots.items():
        link = (PurePosixPath(artifacts_dir) / PurePosixPath(relative)).as_posix()
        label = name.replace("_", " ")
        lines += [f"**{label}**", "", f"![{label}]({link})", ""]
    return "\n".join(lines).rstrip()


#: Rows of the backtest table: the shipped pipeline, its comparators, a baseline, the limit.
_BACKTEST_ROWS = (
    ("ours", "ours (what train.py ships)"),
    ("bgnbd_gg", "BG/NBD + Gamma-Gamma (pymc-marketing)"),
    ("rate_x_horizon", "rate × horizon (baseline)"),
    ("oracle", "oracle (knows the latent parameters)"),
)
_BACKTEST_COLUMNS = (
    ("rmse", "RMSE", "{:,.0f}"),
    ("r2", "R²", "{:.3f}"),
    ("gini", "Gini", "{:.3f}"),
    ("sum_ratio", "sum ratio", "{:.3f}"),
    ("r2_of_oracle", "R² of oracle's", "{:.1%}"),
    ("gini_of_oracle", "Gini of oracle's", "{:.1%}"),
)


def _mean_std(stat: Mapping | None, fmt: str) -> str:
    if not stat or _is_missing(stat.get("mean")):
        return _MISSING
    text = fmt.format(stat["mean"])
    std = stat.get("std")
    return text if _is_missing(std) else f"{text} ± {fmt.format(std).rstrip('%')}"


def _backtest(backtest: Mapping | None) -> str | None:
    """The rolling-origin backtest of ``benchmarks/accuracy.py``: total spend and targets."""
    if not backtest or "total" not in backtest.get("summary", {}):
        return None
    run, config = backtest.get("run", {}), backtest.get("config", {})
    cutoffs = (backtest.get("cutoffs") or {}).get("origins") or []
    models = backtest["summary"]["total"]["models"]
    rows = [
        [label, *(_mean_std(models[name].get(key), fmt) for key, _, fmt in _BACKTEST_COLUMNS)]
        for name, label in _BACKTEST_ROWS
        if name in models
    ]
    minutes, secs = divmod(round(float(run.get("wall_seconds", 0))), 60)
    origins = f" ({cutoffs[0]} to {cutoffs[-1]})" if cutoffs else ""
    lines = [
        "## Backtest",
        "",
        f"`{run.get('command', 'python benchmarks/accuracy.py')}` ({run.get('date', '')[:10]}, "
        f"{minutes} min {secs} s on {run.get('machine', 'this machine')}): "
        f"{config.get('origins', '?')} monthly test cutoffs{origins}, the whole pipeline "
        "retrained at each on data before it. Total 30-day spend, mean ± std across "
        "origins:",
        "",
        _table(["model", *(h for _, h, _ in _BACKTEST_COLUMNS)], rows, align="l" + "r" * 6),
    ]
    checks = backtest.get("checks") or []
    if checks:
        lines += ["", "Targets of the accuracy issue:", ""]
        lines += [f"- **{c['status']}** {c['target']}: {c['detail']}" for c in checks]
    lines += _group_totals(backtest, "everyone and each segment")
    return "\n".join(lines)


def _group_totals(results: Mapping, groups: str) -> list[str]:
    """The backtest's "Totals of groups": what the Forecast tab serves, measured."""
    per_origin = results.get("per_origin") or []
    if not all("aggregate" in o for o in per_origin):
        return []
    totals = group_totals_lines(per_origin, groups=groups)
    return ["", "### Totals of groups", "", *totals] if totals else []


def _real_data(real_data: Mapping | None) -> str | None:
    """The real-data benchmark of ``benchmarks/real_data.py``: one section per log (its
    results hold ``logs``; an older one, UCI Online Retail alone, holds its summary)."""
    if real_data and real_data.get("logs"):
        sections = [_real_log({**result, "run": {**real_data.get("run", {}),
                                                 "seconds": result.get("seconds")}})
                    for result in real_data["logs"].values()]  # fmt: skip
        return "\n\n".join(s for s in sections if s) or None
    return _real_log(real_data)


def _real_log(real_data: Mapping | None) -> str | None:
    """One log's rolling-origin results."""
    if not real_data or not real_data.get("summary"):
        return None
    title = real_data.get("data", {}).get("title", "UCI Online Retail")
    run = real_data.get("run", {})
    keys = ("r2", "gini", "spearman", "sum_ratio", "purchase_auc", "purchase_brier")
    rows = [
        [f"`{name}`", *(str(metrics.get(k, "–")) for k in keys)]
        for name, metrics in real_data["summary"].items()
    ]
    origins = ", ".join(o["origin"] for o in real_data.get("per_origin", []))
    lines = [
        f"## Real data: {title}",
        "",
        f"`{run.get('command', 'python benchmarks/real_data.py')}` "
        f"({str(run.get('finished', ''))[:10]}, {run.get('seconds', '?')} s on "
        f"{run.get('machine', 'this machine')}): rolling origins {origins}, every model "
        "fitted only on the history before each and scored on the next 30 days' net spend of "
        "every customer who had bought before. `ours` is this model, `bgnbd_gg` BG/NBD + "
        "Gamma-Gamma (pymc-marketing, MAP), `lightgbm_rfm` a LightGBM Tweedie model on RFM "
        "features trained on stacked earlier cutoffs. Mean ± std over origins:",
        "",
        _table(
            ["model", "R²", "Gini", "Spearman", "sum ratio", "AUC", "Brier"],
            rows,
            align="l" + "r" * 6,
        ),
    ]
    checks = real_data.get("checks") or []
    if checks:
        lines += ["", "Targets of the real-data issue:", ""]
        lines += [f"- **{c['status']}** {c['target']}: {c['detail']}" for c in checks]
    lines += _group_totals(
        real_data, "everyone and each country with at least 100 customers, the rest pooled"
    )
    citation = real_data.get("data", {}).get("citation")
    if citation:
        lines += ["", f"Data: {citation}"]
    return "\n".join(lines)


def _limitations(report: FitReport, metadata: Mapping) -> str:
    cutoffs = report.cutoffs or metadata.get("cutoffs") or {}
    test = cutoffs.get("test")
    n_train = len(cutoffs.get("train", []))
    items = []
    if metadata.get("data", {}).get("synthetic", True):
        items.append(
            "**Synthetic data.** The scores describe data made by `clvmodel.synthetic`, where "
            "customers follow a known process; real customers are less regular, so expect lower "
            "scores on real data and measure them again before relying on the model."
        )
    items += [
        f"**Trained on cutoffs up to the test cutoff{f' ({test})' if test else ''}.** "
        + (f"There are {n_train} training cutoffs, so each" if n_train else "Each")
        + " calendar month, holiday peaks included, is seen at most a few times. "
        "Predictions for later dates assume customers keep behaving as before: retrain as "
        "new data arrives.",
        "**Static attributes.** Loyalty tier and segment are taken from the customer table as "
        "they are now and used as if they had always been so, which can flatter the scores of "
        "past cutoffs a little.",
        "**Snapshot columns ignored.** `total_loyalty_points` and `last_purchase_date` in the "
        "customer table describe the moment of the export, after the cutoffs; they are "
        "deliberately not used, to avoid leaking the future. Loyalty points are recomputed from "
        "transactions before each cutoff instead.",
        "**MAE favours predicting zero.** Most customers spend nothing in a month, so the "
        "all-zero baseline has a low MAE while being useless. Read RMSE, R², Gini, AUC and the "
        "sum ratio together.",
    ]
    dist = _total_distribution(report)
    if _has_ranges(report):
        low, high = (_level_name(v) for v in _interval_levels(report))
        sigma = dist.log_sigma if dist is not None else None
        if _is_missing(sigma):
            sigma = metadata.get("sigma")
        value = "" if _is_missing(sigma) else f" (σ = {float(sigma):.2f})"
        items += [
            f"**One spread for everyone.** The predictive distribution has a single spread of "
            f"log spend{value} for all customers with history: a customer's range scales with "
            "their expected spend and P(buy), not with how erratic they are, and the lognormal "
            "shape of the amount is an assumption, checked only by the quantile calibration "
            "and the interval coverage on one test cutoff.",
            f"**Categories share the total's range.** A category's {low} and {high} are its "
            "share of the total's, as if the split of the basket were known: uncertainty about "
            "what a customer buys, as opposed to how much, is not in the category intervals.",
            "**Quantiles are per customer.** "
            + " ".join(_above_upper(report))
            + f" Adding customers' {low}s or {high}s does not give a range for their sum: "
            "the range of a sum is `CLVModel.forecast` (the app's Forecast tab).",
        ]
    return "## Limitations\n\n" + "\n".join(f"- {item}" for item in items)


#: The in-process equivalent of ``python train.py``, shown in "How to reproduce".
_PYTHON_USE = """import clvmodel

data = clvmodel.load_data("data")
model = clvmodel.CLVModel(random_state=0).fit(data)
scores = model.predict(data)"""


def _param_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _reproduce(report: FitReport, metadata: Mapping) -> str:
    lines = [
        "## How to reproduce",
        "",
        "From the repository root, train on `data/` and write `artifacts/` and this card:",
        "",
        "```bash",
        "python train.py",
        "```",
        "",
        "or fit and score in-process (`python train.py --help` lists the options that set "
        "the parameters):",
        "",
        "```python",
        _PYTHON_USE,
        "```",
    ]
    params = metadata.get("params")
    if params:
        rows = [[name, f"`{_param_value(value)}`"] for name, value in params.items()]
        lines += ["", "Parameters of this model (`clvmodel.CLVModel(**params)`):", ""]
        lines.append(_table(["parameter", "value"], rows, align="ll"))
    if metadata.get("config_id"):
        lines += ["", f"Configuration id (parameters and features): `{metadata['config_id']}`."]
    seconds = report.train_seconds
    if not _is_missing(seconds):
        minutes, secs = divmod(round(float(seconds)), 60)
        took = f"{minutes} min {secs} s" if minutes else f"{secs} s"
        lines += ["", f"Training took {took}."]
    versions = metadata.get("library_versions")
    if versions:
        rows = [[name, f"`{version}`"] for name, version in versions.items()]
        lines += ["", "Library versions:", "", _table(["library", "version"], rows, align="ll")]
    return "\n".join(lines)


# --------------------------------------------------------------------------- public


def make_card(
    report: FitReport,
    metadata: Mapping,
    *,
    artifacts_dir: str = "artifacts",
    backtest: Mapping | None = None,
    real_data: Mapping | None = None,
) -> str:
    """Markdown text of ``model_card.md``, with a Hugging Face YAML header.

    Parameters
    ----------
    report : FitReport
        What training measured (``CLVModel.report_``; read ``metrics.json`` with
        ``FitReport.from_dict``): per target (``targets``, at least one) the ``kind``, the
        ``chosen`` model and its ``selection`` rule, the ``deployed`` (served) model, whose
        test scores come from ``CLVModel.predict_features``, ``validation``/``test`` scores
        per model and, when reported, ``oracle_share``, ``interval`` ([P10, P90] of the
        predictive distribution), ``reliability``, ``reconciliation`` (categories) and
        ``distribution`` (total); also ``horizon_days``, ``interval``, ``cutoffs``,
        ``n_rows``, ``currency``, ``train_seconds`` and ``cold_start``.
    metadata : mapping
        Model metadata (``metadata.json``): ``model_version``, ``trained_at``, ``data``,
        ``info``, ``feature_names``, ``feature_config``, ``targets`` (files), ``params``,
        ``config_id``, ``sigma``, ``cold_sigma``, ``library_versions``, ``plots`` (paths
        relative to the artifacts folder). Every key is optional.
    artifacts_dir : str, default="artifacts"
        Folder of the artifacts relative to the card, prefixed to the plot paths. Keep it
        relative: the card is read on the Hub and in the repository.
    backtest : mapping, optional
        The JSON of ``benchmarks/accuracy.py``; its total-spend table and target checks
        become the card's "Backtest" section.

    Returns
    -------
    str
        The card: YAML front matter between ``---`` lines, then markdown. A part whose input
        is missing (no oracle on real data, no intervals, no plots) is left out.

    Raises
    ------
    TypeError
        If ``report`` is not a :class:`~clvmodel.report.FitReport` (e.g. the dict of
        ``metrics.json``: pass ``FitReport.from_dict(...)``).
    ValueError
        If ``report`` has no targets.

    Examples
    --------
    >>> report = FitReport.from_dict({
    ...     "horizon_days": 30, "interval": 0.8, "cutoffs": {}, "n_rows": {},
    ...     "currency": "INR", "targets": {"total": {
    ...         "kind": "spend", "chosen": "ridge", "deployed": "ridge",
    ...         "selection": "lowest validation RMSE", "validation": {}, "importance": {},
    ...         "test": {"zero": {"mae": 310.0, "rmse": 2400.0, "r2": -0.02},
    ...                  "ridge": {"mae": 520.4, "rmse": 2010.9, "r2": 0.29}}}}})
    >>> card = make_card(report, {"model_version": "v1"})
    >>> card.startswith("---")
    True
    >>> "| **ridge** | 520 | 2,011 | 0.290 |" in card
    True
    """
    _check_report(report)
    data = ModelCardData(
        library_name="sklearn",
        license="mit",
        tags=list(CARD_TAGS),
        model_name="clvmodel",
    )
    sections = _sections(
        report, metadata, artifacts_dir=artifacts_dir, backtest=backtest, real_data=real_data
    )
    body = "\n\n".join(s for s in sections if s)
    # ModelCard parses the header back, so a malformed one fails here, not on the Hub.
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}\n"))


def _check_report(report: Any) -> None:
    """Refuse what is not a fit report with targets, saying what to pass instead."""
    if not isinstance(report, FitReport):
        raise TypeError(
            f"make_card takes a FitReport (CLVModel.report_); got {type(report).__name__}. "
            "Read metrics.json with clvmodel.report.FitReport.from_dict."
        )
    if not report.targets:
        raise ValueError("the report has no targets: there is nothing to put in the card.")


def _sections(
    report: FitReport,
    metadata: Mapping,
    *,
    artifacts_dir: str,
    backtest: Mapping | None,
    real_data: Mapping | None,
) -> list[str | None]:
    """The card's sections in order; None for a part whose input is missing."""
    return [
        _header(report, metadata),
        _intended_use(report),
        _data(report, metadata),
        _short_log(metadata),
        _returns(report),
        _features(metadata),
        _absent_features(metadata),
        _pooled_categories(metadata),
        _share_categories(report),
        _models_compared(report),
        _purchase(report),
        _distribution(report, metadata),
        _intervals(report),
        _reconciliation(report),
        _cold_start(report, metadata),
        _backtest(backtest),
        _real_data(real_data),
        _plots(metadata, artifacts_dir),
        _limitations(report, metadata),
        _reproduce(report, metadata),
    ]


def write_card(
    report: FitReport,
    metadata: Mapping,
    path: str | Path,
    *,
    artifacts_dir: str = "artifacts",
    backtest: Mapping | None = None,
    real_data: Mapping | None = None,
) -> Path:
    """Write :func:`make_card`'s text to ``path`` (UTF-8) and return it as a Path.

    Parent folders are created. See :func:`make_card` for the parameters.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = make_card(
        report, metadata, artifacts_dir=artifacts_dir, backtest=backtest, real_data=real_data
    )
    path.write_text(text, encoding="utf-8")
    return path


#: Where the benchmarks write the results the card shows.
BACKTEST_RESULTS = Path("benchmarks/results/accuracy.json")
REAL_DATA_RESULTS = Path("benchmarks/results/real_data.json")


def refresh_card(
    card: str | Path,
    artifacts: str | Path,
    *,
    backtest: Mapping | str | Path | None = BACKTEST_RESULTS,
    real_data: Mapping | str | Path | None = REAL_DATA_RESULTS,
) -> Path | None:
    """Rewrite the card of the saved model in `artifacts` with benchmark results, without
    refitting: each benchmark calls it with its fresh results and reads the other's file.

    `backtest` and `real_data` are results or paths of their JSON files (a missing file
    leaves its section out). Returns None when `artifacts` holds no fitted model.
    """
    folder = Path(artifacts)
    if not (folder / "metrics.json").is_file():
        return None

    def results(value: Mapping | str | Path | None) -> Mapping | None:
        if value is None or isinstance(value, Mapping):
            return value
        return load_json(value) if Path(value).is_file() else None

    return write_card(
        FitReport.from_dict(load_json(folder / "metrics.json")),
        load_json(folder / "metadata.json"),
        card,
        artifacts_dir=Path(
            os.path.relpath(folder.resolve(), Path(card).resolve().parent)
        ).as_posix(),
        backtest=results(backtest),
        real_data=results(real_data),
    )
