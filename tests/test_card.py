"""Tests for clvmodel.card: every input number shows, formatted; absent parts are left out.

The fake metrics are built as ``metrics.json`` holds them (dicts following the report
schema) and handed to the card as ``FitReport.from_dict(...)``, as CLVModel reports them.
"""

import copy
import re

import pytest
from huggingface_hub import ModelCard

from clvmodel.card import make_card, write_card
from clvmodel.report import FitReport

SPEND_MODELS = ["zero", "last_30d", "ridge", "lightgbm_tweedie", "oracle"]
PURCHASE_MODELS = ["last_30d", "logistic", "lightgbm", "oracle"]


def _spend_scores(i):
    """Distinct, easy-to-spot values per model: MAE 1234.4 + i, R² 0.1 + i / 100, ..."""
    return {
        "mae": 1234.4 + i,
        "rmse": 45678.9 + i,
        "r2": 0.1 + i / 100,
        "gini": 0.5 + i / 100,
        "spearman": 0.3 + i / 100,
        "sum_ratio": 0.95 + i / 100,
    }


RECONCILIATION = "each category's expected spend is the total times the category's share"
METHOD = "hurdle: 0 with probability 1 - P(buy), else a lognormal amount"


def _interval(coverage=0.8137, quantiles=(0.1, 0.9), nominal=0.8):
    """As clvmodel.evaluation.interval_metrics and CLVModel's evaluation report it."""
    return {
        "nominal": nominal,
        "quantiles": list(quantiles),
        "coverage": coverage,
        "mean_width": 2345.6,
        "zero_share": 0.6012,
        "top_decile_coverage": 0.7123,
    }


def _spend_target(chosen, deployed=None):
    """A spend target as CLVModel reports it; ``deployed`` defaults to the chosen model."""
    target = {
        "kind": "spend",
        "chosen": chosen,
        "selection": "lowest validation RMSE",
        "deployed": deployed or chosen,
        "validation": {m: _spend_scores(i) for i, m in enumerate(SPEND_MODELS[2:4])},
        "test": {m: _spend_scores(i) for i, m in enumerate(SPEND_MODELS)},
        "oracle_share": {m: {"r2": 0.123, "gini": 0.456} for m in SPEND_MODELS[:-1]},
        "interval": _interval(),
        "deciles": [{"bin": 0, "mean_predicted": 1.0, "mean_actual": 2.0, "count": 5}],
        "importance": {"spend_90d": 0.6, "days_since_last": 0.4},
    }
    if deployed == "reconciled":
        target["test"]["reconciled"] = _spend_scores(20)  # R² 0.3, Gini 0.7, sum ratio 1.15
        target["reconciliation"] = RECONCILIATION
    return target


def _distribution():
    return {
        "method": METHOD,
        "log_sigma": 1.9,
        "p10": {"tau": 0.1, "share_below": 0.0094, "share_at_or_below": 0.5831},
        "p50": {"tau": 0.5, "share_below": 0.2257, "share_at_or_below": 0.6144},
        "p90": {"tau": 0.9, "share_below": 0.9310, "share_at_or_below": 0.9311},
    }


def _cold_start():
    spend = {"train_mean": _spend_scores(30), "lightgbm_tweedie": _spend_scores(31)}
    probability = {"auc": 0.7279, "brier": 0.0998, "log_loss": 0.3476}
    return {
        "rows": {"train": 1460, "validation": 720, "test": 780},
        "targets": {
            "total": {
                "test": {**spend, "deployed": _spend_scores(31)},
                "interval": {
                    "nominal": 0.8,
                    "coverage": 0.8846,
                    "mean_width": 577.64,
                    "zero_share": 0.8718,
                },
            },
            "purchase": {
                "test": {
                    "train_rate": probability,
                    "lightgbm": probability,
                    "deployed": probability,
                }
            },
        },
        "log_sigma": 1.2,
    }


@pytest.fixture
def metrics():
    probability = {
        "auc": 0.8123,
        "brier": 0.1234,
        "log_loss": 0.3456,
        "mean_predicted": 0.21,
        "observed_rate": 0.2,
    }
    return {
        "horizon_days": 30,
        "currency": "INR",
        "train_seconds": 312.4,
        "cutoffs": {
            "train": ["2026-05-01", "2026-06-01", "2026-07-01"],
            "validation": "2026-08-01",
            "test": "2026-09-01",
        },
        "n_rows": {"train": 140000, "validation": 16500, "test": 16702},
        "interval": 0.8,
        "targets": {
            "total": _spend_target("lightgbm_tweedie") | {"distribution": _distribution()},
            "grocery": _spend_target("ridge", "reconciled"),
            "purchase": {
                "kind": "probability",
                "chosen": "lightgbm",
                "selection": "lowest validation log loss",
                "deployed": "lightgbm",
                "validation": {"logistic": probability},
                "test": {m: probability for m in PURCHASE_MODELS},
                "reliability": [
                    {"bin": 0, "mean_predicted": 0.05, "observed_rate": 0.04, "count": 8351},
                    {"bin": 1, "mean_predicted": 0.37, "observed_rate": 0.36, "count": 8351},
                ],
                "importance": {"days_since_last": 1.0},
            },
        },
        "cold_start": _cold_start(),
    }


@pytest.fixture
def metadata():
    return {
        "model_version": "2026.11.24-1a2b3c4d",
        "trained_at": "2026-11-24T12:00:00",
        "currency": "INR",
        "horizon_days": 30,
        "default_as_of": "2026-10-01",
        "feature_names": [
            "days_since_last",
            "spend_90d",
            "returns_365d",
            "return_share",
            "spend_grocery_30d",
            "share_grocery",
            "segment_vip",
            "days_to_peak",
        ],
        "feature_config": {"categories": ["grocery"], "regions": ["north"], "segments": ["vip"]},
        "targets": {
            "total": {"file": "models/total.skops", "model": "lightgbm_tweedie"},
            "grocery": {"file": "models/grocery.skops", "model": "ridge"},
            "purchase": {"file": "models/purchase.skops", "model": "lightgbm"},
        },
        "data": {
            "source": "data",
            "fingerprint": "abcd1234abcd1234",
            "first_date": "2024-10-01",
            "last_date": "2026-09-30",
            "n_customers": 20000,
            "n_transactions": 331000,
            "synthetic": True,
        },
        "params": {
            "horizon": 30,
            "n_cutoffs": 12,
            "spend_models": ["ridge", "lightgbm_tweedie"],
            "interval": 0.8,
            "cold_start": True,
            "random_state": 0,
        },
        "config_id": "4821562255c75850",
        "sigma": 1.9,
        "cold_sigma": 1.2,
        "info": {"n_customers": 20000, "default_as_of": "2026-10-01"},
        "library_versions": {"scikit-learn": "1.9.1", "skops": "0.16.0"},
        "plots": {
            "deciles_total": "plots/deciles_total.png",
            "reliability_purchase": "plots/reliability_purchase.png",
        },
    }


def _section(card, title):
    """The text of one ``## title`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", card, flags=re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


def _table_rows(text, first_cell):
    """Markdown table rows of ``text`` whose first cell is ``first_cell``."""
    return [line for line in text.splitlines() if line.startswith(f"| {first_cell} |")]


def test_card_has_yaml_front_matter(metrics, metadata):
    card = make_card(FitReport.from_dict(metrics), metadata)
    assert card.startswith("---\n")
    data = ModelCard(card).data
    assert data.library_name == "sklearn"
    assert data.license == "mit"
    assert data.tags == ["tabular-regression", "customer-lifetime-value", "skops"]


def test_card_has_every_section(metrics, metadata):
    card = make_card(FitReport.from_dict(metrics), metadata)
    for title in [
        "Intended use",
        "Data",
        "How returns enter",
        "Features",
        "Models compared",
        "Purchase probability",
        "Predictive distribution",
        "Prediction intervals",
        "Categories that add up",
        "Cold start",
        "Plots",
        "Limitations",
        "How to reproduce",
    ]:
        assert f"\n## {title}\n" in card


@pytest.mark.parametrize("target", ["total", "grocery"])
def test_every_spend_model_has_a_test_row_chosen_in_bold(metrics, metadata, target):
    section = _section(make_card(FitReport.from_dict(metrics), metadata), "Models compared")
    block = section.split(f"### {target}\n")[1].split("<details>")[0]
    chosen = metrics["targets"][target]["chosen"]
    for model in SPEND_MODELS:
        name = f"**{model}**" if model == chosen else model
        assert len(_table_rows(block, name)) == 1, model
    assert _table_rows(block, "oracle")
    assert "share of oracle R²" in block
    assert "share of oracle Gini" in block
    assert "lowest validation RMSE" in block


def test_purchase_models_and_reliability(metrics, metadata):
    section = _section(make_card(FitReport.from_dict(metrics), metadata), "Purchase probability")
    for model in PURCHASE_MODELS:
        name = "**lightgbm**" if model == "lightgbm" else model
        assert _table_rows(section, name), model
    assert "| **lightgbm** | 0.812 | 0.123 | 0.346 | 0.210 | 0.200 |" in section
    assert "| 1 | 0.370 | 0.360 | 8,351 |" in section  # reliability bin 1


def test_numbers_equal_inputs_formatted(metrics, metadata):
    card = make_card(FitReport.from_dict(metrics), metadata)
    # total, test, lightgbm_tweedie is model 3: MAE 1237.4 -> "1,237" (no decimals, with
    # thousands separator), RMSE 45681.9 -> "45,682", ratios with 3 decimals.
    chosen = "| **lightgbm_tweedie** | 1,237 | 45,682 | 0.130 | 0.530 | 0.330 | 0.980 |"
    assert chosen + " 0.123 | 0.456 |" in card
    assert "| oracle | 1,238 | 45,683 | 0.140 | 0.540 | 0.340 | 0.990 | – | – |" in card
    intervals = _section(card, "Prediction intervals")
    assert "| total | 0.800 | 0.814 | 0.712 | 0.601 | 2,346 |" in intervals
    assert "20,000" in _section(card, "Data")
    assert "5 min 12 s" in _section(card, "How to reproduce")


def test_small_money_keeps_two_decimals(metrics, metadata):
    metrics["targets"]["grocery"]["test"]["ridge"]["mae"] = 45.267
    card = make_card(FitReport.from_dict(metrics), metadata)
    assert "| **ridge** | 45.27 |" in card


def test_missing_values_print_as_na(metrics, metadata):
    metrics["targets"]["total"]["test"]["zero"]["r2"] = float("nan")
    metrics["targets"]["total"]["test"]["zero"]["gini"] = None
    card = make_card(FitReport.from_dict(metrics), metadata)
    assert "| zero | 1,234 | 45,679 | n/a | n/a |" in card


def test_plot_links_are_relative_to_the_card(metrics, metadata):
    card = make_card(FitReport.from_dict(metrics), metadata)
    assert "](artifacts/plots/deciles_total.png)" in card
    assert "](artifacts/plots/reliability_purchase.png)" in card
    other = make_card(FitReport.from_dict(metrics), metadata, artifacts_dir="out/run1")
    assert "](out/run1/plots/deciles_total.png)" in other


def test_data_features_and_reproduce(metrics, metadata):
    card = make_card(FitReport.from_dict(metrics), metadata)
    data = _section(card, "Data")
    for text in ["abcd1234abcd1234", "2024-10-01", "2026-09-30", "2026-08-01", "2026-09-01"]:
        assert text in data
    assert "3 (2026-05-01 to 2026-07-01), 140,000 rows" in data
    features = _section(card, "Features")
    assert "8 features" in features
    assert "| Categories | 2 |" in features  # the feature registry's groups
    assert "| Spend | 3 |" in features
    assert "<details>" in features and "`spend_grocery_30d`" in features
    assert "`1.9.1`" in _section(card, "How to reproduce")
    limitations = _section(card, "Limitations")
    assert "total_loyalty_points" in limitations and "last_purchase_date" in limitations


def test_card_without_oracle_or_interval(metrics, metadata):
    real = copy.deepcopy(metrics)
    real.pop("cold_start")
    for target in real["targets"].values():
        target["test"].pop("oracle")
        target.pop("oracle_share", None)
        target.pop("interval", None)
        target.pop("distribution", None)
    card = make_card(FitReport.from_dict(real), metadata)
    assert "oracle" not in _section(card, "Models compared")
    assert "share of oracle" not in card
    for absent in ["## Prediction intervals", "## Predictive distribution", "## Cold start"]:
        assert absent not in card
    assert "One spread for everyone" not in _section(card, "Limitations")
    assert _table_rows(card, "**lightgbm_tweedie**")


def _minimal():
    """The least a report holds: one spend target, no intervals, cold start or timings."""
    return {
        "horizon_days": 30,
        "interval": 0.8,
        "cutoffs": {},
        "n_rows": {},
        "targets": {
            "total": {
                "kind": "spend",
                "chosen": "ridge",
                "deployed": "ridge",
                "selection": "lowest validation RMSE",
                "validation": {},
                "test": {"ridge": {"mae": 1.0}},
                "importance": {},
            }
        },
    }


def test_card_with_minimal_inputs():
    minimal = _minimal()
    card = make_card(FitReport.from_dict(minimal), {})
    assert card.startswith("---\n")
    assert "| **ridge** | 1.00 | – |" in card
    for absent in ["## Plots", "## Features", "## Purchase probability", "Training took"]:
        assert absent not in card


def test_card_refuses_a_dict_or_a_report_without_targets(metrics, metadata):
    with pytest.raises(TypeError, match=r"FitReport\.from_dict"):
        make_card(metrics, metadata)  # the dict of metrics.json, not read into a FitReport
    empty = _minimal()
    empty["targets"] = {}
    with pytest.raises(ValueError, match="no targets"):
        make_card(FitReport.from_dict(empty), {})


def test_write_card(tmp_path, metrics, metadata):
    report = FitReport.from_dict(metrics)
    path = write_card(report, metadata, tmp_path / "sub" / "model_card.md")
    assert path == tmp_path / "sub" / "model_card.md"
    assert path.read_text(encoding="utf-8") == make_card(report, metadata)


def test_backtest_section_shows_total_spend_and_the_target_checks():
    stat = lambda m, s: {"mean": m, "std": s, "n": 6}  # noqa: E731
    backtest = {
        "run": {"command": "python benchmarks/accuracy.py", "date": "2026-11-25T04:00:00",
                "wall_seconds": 790.0, "machine": "x86_64, 2 CPUs"},
        "config": {"origins": 6},
        "cutoffs": {"panel": [], "origins": ["2026-04-01", "2026-09-01"]},
        "summary": {"total": {"models": {
            "ours": {"rmse": stat(5712.0, 374.0), "r2": stat(0.609, 0.021),
                     "r2_of_oracle": stat(0.925, 0.023)},
            "oracle": {"rmse": stat(5335.0, 309.0), "r2": stat(0.659, 0.017)},
        }}},
        "checks": [{"target": "total R² ≥ 90% of the oracle's", "status": "PASS",
                    "detail": "92.5%"}],
    }  # fmt: skip
    report = FitReport.from_dict(_minimal())
    card = make_card(report, {}, backtest=backtest)
    assert "## Backtest" in card
    assert "`python benchmarks/accuracy.py` (2026-11-25, 13 min 10 s" in card
    assert "6 monthly test cutoffs (2026-04-01 to 2026-09-01)" in card
    assert "| ours (what train.py ships) | 5,712 ± 374 | 0.609 ± 0.021 |" in card
    assert "92.5% ± 2.3" in card
    assert "- **PASS** total R² ≥ 90% of the oracle's: 92.5%" in card
    assert "## Backtest" not in make_card(report, {})


def test_overview_scores_what_is_served(metrics, metadata):
    card = make_card(FitReport.from_dict(metrics), metadata)
    overview = card.split("## Intended use")[0]
    assert "`CLVModel.predict_features`" in overview
    # total and purchase: the chosen model is served; a category: its share of the total.
    assert "| total | `lightgbm_tweedie` | `models/total.skops` | R² 0.130, Gini 0.530" in overview
    assert "| grocery | `ridge`, served `reconciled` | `models/grocery.skops` | R² 0.300," in (
        overview
    )
    assert "| purchase | `lightgbm` | `models/purchase.skops` | AUC 0.812" in overview
    grocery = _section(card, "Models compared").split("### grocery\n")[1]
    assert "What users get is **reconciled**" in grocery
    assert _table_rows(grocery, "reconciled (served)")
    assert "Its test row is what users get" in _section(card, "Purchase probability")


def test_distribution_section_formats_the_report(metrics, metadata):
    section = _section(make_card(FitReport.from_dict(metrics), metadata), "Predictive distribution")
    assert METHOD in section
    assert "σ = 1.90" in section and "σ = 1.20" in section  # cold start's own spread
    assert "the 80% interval is [P10, P90]" in section
    assert "pinball loss" in section
    assert "| P10 | 0.100 | 0.009 | 0.583 |" in section
    assert "| P90 | 0.900 | 0.931 | 0.931 |" in section


def test_card_states_that_the_expected_value_can_sit_above_p90(metrics, metadata):
    card = make_card(FitReport.from_dict(metrics), metadata)
    caveat = "The expected spend can sit above P90"
    for title in ["Predictive distribution", "Limitations"]:
        section = _section(card, title)
        assert caveat in section
        assert "P(buy) ≤ 10%, has P90 = 0" in section
    assert "with P(buy) ≤ 10% the interval is [0, 0]" in _section(card, "Prediction intervals")


def test_no_old_interval_text_remains(metrics, metadata):
    card = make_card(FitReport.from_dict(metrics), metadata)
    for old in ["groups of similar upper bounds", "conformal", "quantile model", "interval_model"]:
        assert old not in card.lower()
    assert "Predictor" not in card  # the model is CLVModel now
    intervals = _section(card, "Prediction intervals")
    assert "[P10, P90] of the customer's one predictive distribution" in intervals
    assert "not a separate model" in intervals


def test_interval_ends_follow_the_reported_quantiles(metrics, metadata):
    metrics["interval"] = 0.9
    for name in ["total", "grocery"]:
        metrics["targets"][name]["interval"] = _interval(quantiles=(0.05, 0.95), nominal=0.9)
    card = make_card(FitReport.from_dict(metrics), metadata)
    assert "90% interval is [P5, P95]" in _section(card, "Prediction intervals")
    assert "The expected spend can sit above P95" in _section(card, "Limitations")
    assert "P(buy) ≤ 5%, has P95 = 0" in _section(card, "Limitations")


def test_reconciliation_shows_both_scores(metrics, metadata):
    section = _section(make_card(FitReport.from_dict(metrics), metadata), "Categories that add up")
    assert RECONCILIATION in section
    assert "add up to the total" in section
    # grocery: ridge is model 2 (R² 0.12, Gini 0.52, sum ratio 0.97), reconciled model 20.
    assert "| grocery | `ridge` | 0.120 | 0.520 | 0.970 | 0.300 | 0.700 | 1.150 |" in section


def test_cold_start_section(metrics, metadata):
    section = _section(make_card(FitReport.from_dict(metrics), metadata), "Cold start")
    assert "1,460 training rows, 720 at the validation cutoff, 780 at the test cutoff" in section
    assert "σ = 1.20" in section
    assert "`CLVModel.predict_cold_features`" in section
    assert "| deployed | 1,265 | 45,710 | 0.410 |" in section  # model 31
    assert "| train_mean | 1,264 |" in section
    assert "| deployed | 0.728 | 0.100 | 0.348 |" in section
    assert "| total | 0.800 | 0.885 | 0.872 | 578 |" in section


def test_reproduce_shows_train_py_and_in_process_use(metrics, metadata):
    section = _section(make_card(FitReport.from_dict(metrics), metadata), "How to reproduce")
    assert "```bash\npython train.py\n```" in section
    assert (
        "```python\nimport clvmodel\n\n"
        'data = clvmodel.load_data("data")\n'
        "model = clvmodel.CLVModel(random_state=0).fit(data)\n"
        "scores = model.predict(data)\n```"
    ) in section
    assert "| spend_models | `ridge, lightgbm_tweedie` |" in section
    assert "| n_cutoffs | `12` |" in section
    assert "`4821562255c75850`" in section


def test_metadata_info_fills_the_data_table(metrics):
    metadata = {"info": {"n_customers": 400, "first_date": "2024-10-01", "default_as_of": "x"}}
    card = make_card(FitReport.from_dict(metrics), metadata)
    assert "| Customers | 400 |" in _section(card, "Data")
    assert "| Default as-of date | `x` |" in card


def test_the_real_data_section_has_one_part_per_log():
    from clvmodel.card import _real_data

    one = {"summary": {"ours": {"r2": "0.6"}}, "per_origin": [{"origin": "2011-11-10"}],
           "checks": [], "seconds": 5.0}  # fmt: skip
    text = _real_data({"logs": {
        "a": {**one, "data": {"title": "UCI Online Retail", "citation": "UCI, CC BY 4.0"}},
        "b": {**one, "data": {"title": "The Complete Journey", "citation": "dunnhumby"}},
    }, "run": {"command": "python benchmarks/real_data.py"}})  # fmt: skip
    assert "## Real data: UCI Online Retail" in text
    assert "## Real data: The Complete Journey" in text and "Data: dunnhumby" in text
