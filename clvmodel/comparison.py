"""Every model a fit compared for one target, beside the baselines and the oracle: the
table the app's model tab shows (the model card has its own, longer one).
"""

from __future__ import annotations

import pandas as pd

from clvmodel.report import TargetReport

__all__ = ["BASELINES", "ROLES", "model_comparison"]

#: The simple reference models a fit scores beside the candidates (spend and purchase).
BASELINES = frozenset({"zero", "last_30d", "rate_x_horizon", "train_mean", "train_rate"})
#: Each model's role, in the order the table shows them.
ROLES = ("baseline", "candidate", "chosen", "served", "oracle")


def _role(model: str, report: TargetReport) -> str:
    if model == report.deployed:
        return "served"
    if model == report.chosen:
        return "chosen"
    if model.startswith("oracle"):
        return "oracle"
    return "baseline" if model in BASELINES else "candidate"


def model_comparison(report: TargetReport) -> pd.DataFrame:
    """One row per model of the test metrics: ``model``, ``role`` (:data:`ROLES`), then
    each metric, baselines first and the oracle (the ceiling) last.

    Examples
    --------
    >>> report = TargetReport(kind="spend", chosen="lgbm", deployed="lgbm", selection="mae",
    ...     validation={}, importance={},
    ...     test={"lgbm": {"mae": 9.0}, "zero": {"mae": 12.0}, "oracle": {"mae": 7.0}})
    >>> model_comparison(report)[["model", "role"]].to_numpy().tolist()
    [['zero', 'baseline'], ['lgbm', 'served'], ['oracle', 'oracle']]
    """
    rows = [
        {"model": model, "role": _role(model, report), **metrics}
        for model, metrics in report.test.items()
    ]
    order = {role: i for i, role in enumerate(ROLES)}
    return pd.DataFrame(rows).sort_values("role", key=lambda r: r.map(order), kind="stable")
