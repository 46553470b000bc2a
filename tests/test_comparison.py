"""clvmodel.comparison: each model's role, baselines first and the oracle last."""

from clvmodel.comparison import ROLES, model_comparison
from clvmodel.report import TargetReport


def _report(**kwargs) -> TargetReport:
    test = {
        "oracle": {"mae": 5.0, "r2": 0.5},
        "lgbm": {"mae": 9.0, "r2": 0.2},
        "zero": {"mae": 12.0, "r2": -0.1},
        "xgb": {"mae": 9.5, "r2": 0.1},
        "train_rate": {"mae": 11.0, "r2": 0.0},
        "hybrid": {"mae": 8.9, "r2": 0.21},
    }
    base = {"kind": "spend", "chosen": "lgbm", "deployed": "hybrid", "selection": "mae"}
    return TargetReport(**{**base, **kwargs}, validation={}, test=test, importance={})


def test_roles_in_order_and_metrics_kept():
    table = model_comparison(_report())
    assert table["model"].tolist() == ["zero", "train_rate", "xgb", "lgbm", "hybrid", "oracle"]
    assert table["role"].tolist() == [
        "baseline", "baseline", "candidate", "chosen", "served", "oracle"
    ]  # fmt: skip
    assert list(table.columns) == ["model", "role", "mae", "r2"]
    assert table.set_index("model").loc["lgbm", "mae"] == 9.0
    assert set(table["role"]) <= set(ROLES)


def test_the_served_model_is_served_even_when_it_is_the_chosen_one():
    table = model_comparison(_report(deployed="lgbm")).set_index("model")
    assert table.loc["lgbm", "role"] == "served"
    assert "chosen" not in set(table["role"])
