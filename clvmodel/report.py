"""The report of a fit: one typed schema behind ``metrics.json``, the model card, the app's
model tab and the backtest.

:class:`FitReport` is what :attr:`clvmodel.CLVModel.report_` holds. ``to_dict`` gives the
JSON that ``save`` writes; ``from_dict`` reads it back and refuses a file with keys the
schema does not know or without the ones it needs, naming them, so a reader never guesses.
Metric tables stay plain mappings (model name -> metric name -> value): their keys are the
models compared and the metrics of :mod:`clvmodel.evaluation`, which vary by target.
:func:`fit_report` builds it from a fit (it receives the model; it does not import it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from clvmodel.columns import MEDIAN, PROBABILITY
from clvmodel.distribution import interval_quantiles, quantile_calibration
from clvmodel.evaluation import (
    decile_table,
    interval_metrics,
    oracle_share,
    probability_metrics,
    reliability_table,
    spend_metrics,
    top_decile_coverage,
)

if TYPE_CHECKING:
    import pandas as pd

    from clvmodel.training import Split, TargetResult

__all__ = [
    "ColdStartReport",
    "ColdTargetReport",
    "DistributionReport",
    "FitReport",
    "IntervalReport",
    "TargetReport",
    "cold_start_served",
    "fit_report",
]

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

Metrics = dict[str, dict[str, float]]


def _build(cls, data: dict, where: str):
    """`cls(**data)`, with a message naming unknown or missing keys."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object; got {type(data).__name__}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    required = {
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing = sorted(required - set(data))
    if unknown or missing:
        raise ValueError(
            f"{where} does not follow the report schema of this clvmodel "
            f"(unknown keys: {unknown or 'none'}; missing: {missing or 'none'}). Retrain."
        )
    return cls(**data)


@dataclass
class IntervalReport:
    """How the served interval did on the test rows (:func:`evaluation.interval_metrics`)."""

    nominal: float
    coverage: float
    mean_width: float
    zero_share: float
    quantiles: list[float] | None = None
    top_decile_coverage: float | None = None


@dataclass
class DistributionReport:
    """The predictive distribution of total spend: method, spread, quantile calibration."""

    method: str
    log_sigma: float
    #: Quantile name ("p10") -> {"tau", "share_below", "share_at_or_below"}.
    quantiles: dict[str, dict[str, float]]

    def to_dict(self) -> dict:
        return {"method": self.method, "log_sigma": self.log_sigma, **self.quantiles}

    @classmethod
    def from_dict(cls, data: dict) -> DistributionReport:
        quantiles = {k: v for k, v in data.items() if k not in ("method", "log_sigma")}
        return cls(data["method"], float(data["log_sigma"]), quantiles)


@dataclass
class TargetReport:
    """One target: every candidate's metrics, the choice, and what is served."""

    kind: str  # "spend" or "probability"
    chosen: str
    deployed: str
    selection: str
    validation: Metrics
    test: Metrics
    importance: dict[str, float]
    trees: dict[str, int] = field(default_factory=dict)
    level_factor: float | None = None
    hybrid: dict[str, Any] | None = None
    interval: IntervalReport | None = None
    deciles: list[dict] | None = None
    reliability: list[dict] | None = None
    distribution: DistributionReport | None = None
    reconciliation: str | None = None
    oracle_share: Metrics | None = None
    #: Why a category has no booster of its own (too few buyers): it is a share of the total.
    no_booster: str | None = None

    @property
    def served(self) -> dict[str, float]:
        """The test metrics of what users get."""
        return self.test[self.deployed]

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["interval"] = dataclasses.asdict(self.interval) if self.interval else None
        out["distribution"] = self.distribution.to_dict() if self.distribution else None
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict, where: str = "target") -> TargetReport:
        data = dict(data)
        if data.get("interval") is not None:
            data["interval"] = _build(IntervalReport, data["interval"], f"{where}.interval")
        if data.get("distribution") is not None:
            data["distribution"] = DistributionReport.from_dict(data["distribution"])
        return _build(cls, data, where)


@dataclass
class ColdTargetReport:
    test: Metrics
    interval: IntervalReport | None = None

    def to_dict(self) -> dict:
        out: dict = {"test": self.test}
        if self.interval is not None:
            out["interval"] = dataclasses.asdict(self.interval)
        return out


@dataclass
class ColdStartReport:
    """Customers who signed up but never bought: their own models, scored apart."""

    rows: dict[str, int]
    targets: dict[str, ColdTargetReport]
    log_sigma: float | None = None

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "targets": {t: r.to_dict() for t, r in self.targets.items()},
            "log_sigma": self.log_sigma,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ColdStartReport:
        targets = {}
        for t, r in data["targets"].items():
            interval = r.get("interval")
            targets[t] = ColdTargetReport(
                r["test"],
                _build(IntervalReport, interval, f"cold_start.{t}.interval") if interval else None,
            )
        return cls(data["rows"], targets, data.get("log_sigma"))


@dataclass
class FitReport(Mapping):
    """Everything a fit measured (the content of ``metrics.json``).

    Also a read-only mapping of that JSON, so ``report["targets"]["total"]["test"]`` reads
    as in the file (each lookup reads a fresh :meth:`to_dict`: editing it changes nothing).
    """

    horizon_days: int
    interval: float
    cutoffs: dict[str, Any]
    n_rows: dict[str, int]
    targets: dict[str, TargetReport]
    cold_start: ColdStartReport | None = None
    train_seconds: float | None = None
    currency: str = ""

    def to_dict(self) -> dict:
        out = {
            "horizon_days": self.horizon_days,
            "interval": self.interval,
            "cutoffs": self.cutoffs,
            "n_rows": self.n_rows,
            "targets": {t: r.to_dict() for t, r in self.targets.items()},
            "train_seconds": self.train_seconds,
            "currency": self.currency,
        }
        if self.cold_start is not None:
            out["cold_start"] = self.cold_start.to_dict()
        return out

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> FitReport:
        data = dict(data)
        data["targets"] = {
            t: TargetReport.from_dict(r, f"targets.{t}") for t, r in data["targets"].items()
        }
        if data.get("cold_start") is not None:
            data["cold_start"] = ColdStartReport.from_dict(data["cold_start"])
        return _build(cls, data, "metrics")


def _served_spend(report: dict, target: str, y: np.ndarray, served: pd.DataFrame, model: Any):
    """The deployed figures of a spend target, from the served test rows, in place."""
    level = model.interval
    lo, hi = interval_quantiles(level)
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


def fit_report(
    model: Any,
    results: dict[str, TargetResult],
    split: Split,
    served: pd.DataFrame,
    cold_report: dict | None,
) -> FitReport:
    """The report of a fit: every candidate's test metrics from training, and the deployed
    model's from `served`, the test rows as :meth:`clvmodel.CLVModel.predict_features`
    scores them."""
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
            _served_spend(report, target, y, served, model)
        if report["kind"] == "spend" and "oracle" in report["test"]:
            report["oracle_share"] = {
                m: oracle_share(v, report["test"]["oracle"])
                for m, v in report["test"].items()
                if m != "oracle"
            }
        targets[target] = report
    out = {
        "horizon_days": model.feature_config_.horizon,
        "interval": model.interval,
        "cutoffs": split.cutoffs,
        "n_rows": {k: len(getattr(split, k)) for k in ("train", "validation", "test")},
        "targets": targets,
    }
    if cold_report is not None:
        out["cold_start"] = cold_report
    return FitReport.from_dict(out)


def cold_start_served(model: Any, report: dict, split: Split) -> None:
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
