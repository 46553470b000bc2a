"""The rolling-origin backtest: which cutoffs each retraining sees, and the aggregation.

The harness tests replace ``CLVModel.fit_panel`` with a fast stand-in that records the panel
it was given and serves fixed predictions, so they check the slicing of the panel without
training anything; one test fits the real model (quick, Ridge and logistic regression) end
to end with the oracle.
"""

import json
import math

import numpy as np
import pandas as pd
import pytest

from clvmodel import backtest, backtest_report, synthetic
from clvmodel.aggregate import customer_profiles
from clvmodel.features import FeatureConfig, as_of_data, build_features, build_panel, build_targets
from clvmodel.model import CLVModel
from clvmodel.report import FitReport

FAST = CLVModel(
    n_cutoffs=4, spend_models=("ridge",), probability_models=("logistic",), quick=True, n_jobs=1
)


def _stand_in(predict, calls=None):
    """A CLVModel whose fit_panel trains nothing and whose predict_features serves
    `predict(rows, target)` as the expected spend of each spend target (P(buy) is 0.4)."""

    class StandIn(CLVModel):
        def fit_panel(self, panel, feature_config, *, data=None, oracles=None):
            if calls is not None:
                calls.append(sorted(panel.index.get_level_values("cutoff").unique()))
            self.feature_config_, self.bundles_, self.cold_ = feature_config, {}, None
            self.sigma_, self.cold_sigma_ = 1.0, None
            self.shared_error_ = dict.fromkeys(feature_config.spend_targets, 0.05)
            targets = {
                t: {"kind": "spend", "chosen": "selected",
                    "deployed": "reconciled" if t != "total" else "selected"}
                for t in feature_config.spend_targets
            }  # fmt: skip
            targets["purchase"] = {"kind": "probability", "chosen": "flat", "deployed": "flat"}
            self.report_ = FitReport.from_dict(
                {"horizon_days": 30, "interval": 0.8, "cutoffs": {}, "n_rows": {},
                 "targets": {t: r | {"selection": "", "validation": {}, "test": {},
                                     "importance": {}} for t, r in targets.items()}}
            )  # fmt: skip
            return self

        def predict_features(self, rows, *, reasons=True, given=None):
            served = {}
            for t in self.feature_config_.spend_targets:
                pred = predict(rows, t)
                served |= {f"predicted_{t}": pred, f"predicted_{t}_low": np.zeros(len(rows)),
                           f"predicted_{t}_high": 2 * np.abs(pred)}  # fmt: skip
            served["purchase_probability"] = np.full(len(rows), 0.4)
            return pd.DataFrame(served, index=rows.index)

    return StandIn


@pytest.fixture(scope="module")
def fcfg(small_data):
    return FeatureConfig.from_data(small_data)


@pytest.fixture
def recorded(monkeypatch):
    """Replace the model with a stand-in that records the cutoffs of each panel."""
    calls = []

    def last_month(rows, target):
        col = f"spend_{target}_30d" if target != "total" else "spend_30d"
        return rows[col].clip(lower=0).to_numpy() + 1.0

    monkeypatch.setattr(backtest, "CLVModel", _stand_in(last_month, calls))
    return calls


def test_origins_are_consecutive_months_and_training_sees_only_earlier_cutoffs(
    small_data, fcfg, recorded
):
    results = backtest.run_backtest(
        small_data, fcfg, FAST, origins=3, comparators=(), cold_start=False
    )

    origins = [pd.Timestamp(o) for o in results["cutoffs"]["origins"]]
    assert len(origins) == 3
    assert origins == list(pd.date_range(origins[0], periods=3, freq="MS"))
    assert origins[-1] == pd.Timestamp(results["cutoffs"]["panel"][-1])  # latest complete
    assert len(recorded) == 3
    for origin, seen, entry in zip(origins, recorded, results["per_origin"], strict=True):
        # The model sees only cutoffs whose 30 days end by the origin; it predicts the origin.
        assert all(c + pd.Timedelta(days=30) <= origin for c in seen)
        assert len(seen) == FAST.n_cutoffs
        previous = origin - pd.DateOffset(months=1)
        assert seen == list(pd.date_range(end=previous, periods=FAST.n_cutoffs, freq="MS"))
        assert entry["origin"] == f"{origin:%Y-%m-%d}"
        assert entry["cutoffs"]["test"] == f"{seen[-1]:%Y-%m-%d}"
        assert entry["cutoffs"]["validation"] == f"{seen[-2]:%Y-%m-%d}"
        assert max(entry["cutoffs"]["train"]) < entry["cutoffs"]["validation"]


def test_panel_is_built_once_over_all_cutoffs(small_data, fcfg, recorded, monkeypatch):
    built = []

    def counting_build_panel(data, cutoffs, config):
        built.append(list(cutoffs))
        return build_panel(data, cutoffs, config)

    monkeypatch.setattr(backtest, "build_panel", counting_build_panel)
    results = backtest.run_backtest(
        small_data, fcfg, FAST, origins=2, comparators=(), cold_start=False
    )
    assert len(built) == 1
    assert [f"{c:%Y-%m-%d}" for c in built[0]] == results["cutoffs"]["panel"]
    assert len(built[0]) == FAST.n_cutoffs + 2


def test_short_history_uses_the_cutoffs_there_are(small_data, fcfg, recorded):
    # The small data hold 10 complete monthly cutoffs: the first of 3 origins has 7 before it.
    cfg = CLVModel(n_cutoffs=12, spend_models=("ridge",), probability_models=("logistic",))
    backtest.run_backtest(small_data, fcfg, cfg, origins=3, comparators=(), cold_start=False)
    assert [len(seen) for seen in recorded] == [7, 8, 9]


def test_too_many_origins_are_refused(small_data, fcfg):
    with pytest.raises(ValueError, match=r"10 complete monthly cutoffs; 8 origins need"):
        backtest.run_backtest(small_data, fcfg, FAST, origins=8, comparators=(), cold_start=False)
    with pytest.raises(ValueError, match="origins must be a positive whole number"):
        backtest.run_backtest(small_data, fcfg, FAST, origins=0, comparators=(), cold_start=False)


def test_unknown_comparator_is_refused_before_any_work(small_data, fcfg):
    with pytest.raises(ValueError, match=r"'comparators'.*unknown: \['pareto'\]"):
        backtest.run_backtest(small_data, fcfg, FAST, comparators=("pareto",))


@pytest.fixture
def shipping(monkeypatch):
    """A stand-in that serves every category perfectly (its actual spend) and the total as
    the actual plus 5."""

    def served(rows, target):
        y = rows[f"target_{target}"].to_numpy()
        return y + 5.0 if target == "total" else y.copy()

    monkeypatch.setattr(backtest, "CLVModel", _stand_in(served))


def test_ours_is_what_the_model_serves_and_quantiles_are_not_means(small_data, fcfg, shipping):
    results = backtest.run_backtest(
        small_data, fcfg, FAST, origins=2, comparators=(), cold_start=False
    )
    summary = results["summary"]
    # Ours is what the model serves for the origin's customers.
    assert summary["total"]["models"]["ours"]["gini"]["mean"] > 0.5
    assert summary["total"]["models"]["zero"]["gini"]["mean"] == pytest.approx(0, abs=1e-12)
    assert {"last_30d", "rate_x_horizon"} <= set(summary["total"]["models"])
    assert summary["total"]["deployed"] == ["selected", "selected"]
    assert summary["grocery"]["models"]["ours"]["r2"]["mean"] == pytest.approx(1.0)
    assert summary["grocery"]["deployed"] == ["reconciled", "reconciled"]
    # P10/P50/P90 of the served distribution are scored as quantiles, not as model rows.
    assert not {"p10", "p50", "p90"} & set(summary["total"]["models"])
    quantiles = summary["total"]["quantiles"]
    assert 0 <= quantiles["coverage"]["mean"] <= 1
    assert {"total interval", "total p10-p90"} <= set(backtest_report.interval_table(results).index)
    checks = {c["target"]: c for c in backtest_report.target_checks(results)}
    quantile_check = next(c for n, c in checks.items() if n.startswith("total P10/P50/P90"))
    assert "P50:" in quantile_check["detail"] and "[P10, P90] covers" in quantile_check["detail"]


def test_aggregate_mean_and_std_by_hand():
    per_origin = [
        {"r2": 0.5, "gini": 0.8, "sum_ratio": 1.0},
        {"r2": 0.7, "gini": math.nan, "sum_ratio": 1.1},
        {"r2": 0.9, "gini": 0.6, "sum_ratio": None},
    ]
    out = backtest.aggregate_metrics(per_origin)
    # r2: mean 0.7; deviations -0.2, 0, 0.2 -> sample variance 0.08 / 2 = 0.04 -> std 0.2.
    assert out["r2"]["mean"] == pytest.approx(0.7)
    assert out["r2"]["std"] == pytest.approx(0.2)
    assert out["r2"]["n"] == 3
    # NaN and None are left out, not counted as zero.
    assert out["gini"] == pytest.approx({"mean": 0.7, "std": math.sqrt(0.02), "n": 2})
    assert out["sum_ratio"]["mean"] == pytest.approx(1.05)
    assert out["sum_ratio"]["n"] == 2


def test_aggregate_of_one_origin_has_no_spread():
    out = backtest.aggregate_metrics([{"r2": 0.4}])
    assert out["r2"]["mean"] == 0.4
    assert math.isnan(out["r2"]["std"])


def test_end_to_end_with_oracle_is_json_and_tabulates(small_data, small_tables_latent, fcfg):
    tables, latent = small_tables_latent
    cfg_syn = synthetic.SyntheticConfig(n_customers=400, days=400)
    cfg = CLVModel(
        n_cutoffs=4,
        spend_models=("ridge",),
        probability_models=("logistic",),
        quick=True,
        n_jobs=1,
    )

    def oracle_fn(cutoff):
        return {"oracle": synthetic.expected_spend(latent, tables, cutoff, cfg=cfg_syn)}

    results = backtest.run_backtest(
        small_data, fcfg, cfg, origins=2, oracle_fn=oracle_fn, comparators=()
    )
    json.dumps(results, allow_nan=False)  # strict JSON: NaN became None
    total = results["summary"]["total"]
    assert total["models"]["oracle"]["r2_of_oracle"]["mean"] == pytest.approx(1.0)
    assert total["models"]["oracle"]["r2"]["n"] == 2
    # The oracle was aligned with the test rows (not all zero after reindexing).
    assert total["models"]["oracle"]["sum_ratio"]["mean"] > 0.5
    assert total["interval"]["coverage"]["n"] == 2
    table = backtest_report.backtest_table(results, "total")
    assert table.index[0] == "ours" and table.index[-1] == "oracle"
    assert {"rmse", "r2", "gini", "sum_ratio", "decile_mape", "top10_share"} <= set(table)
    assert "±" in table.loc["ours", "r2"]
    assert "total interval" in backtest_report.interval_table(results).index
    purchase = backtest_report.backtest_table(results, "purchase")
    assert {"auc", "brier", "reliability_max", "brier_of_oracle"} <= set(purchase)
    assert backtest_report.markdown_table(table).startswith("| model | mae |")
    checks = backtest_report.target_checks(results)
    assert {c["status"] for c in checks} <= {"PASS", "FAIL", "SKIP"}
    assert [c["status"] for c in checks if "BG/NBD" in c["target"] and "sum" not in c["target"]]
    assert all(c["status"] == "SKIP" for c in checks if "better than BG/NBD" in c["target"])
    with pytest.raises(ValueError, match="target must be one of"):
        backtest_report.backtest_table(results, "toys")
    # Never-bought customers are scored apart (or skipped, with the reason, if too few).
    cold = results["cold_start"]
    assert len(cold["per_origin"]) == 2
    if cold["summary"]:
        table = backtest_report.backtest_table(results, "total", cold_start=True)
        assert list(table.index) == ["ours", "oracle"]
    else:
        assert all("skipped" in o for o in cold["per_origin"])


def test_group_totals_of_given_groups_pool_the_small_ones_and_tabulate(
    small_data, trained_artifacts
):
    model = CLVModel.load(trained_artifacts)
    origin = small_data.last_date - pd.Timedelta(days=40)
    history = as_of_data(small_data, origin)
    rows = build_features(history, origin, model.feature_config_)
    rows = rows.join(build_targets(small_data, origin, model.feature_config_, rows.index))
    regions = customer_profiles(history, origin)["region"]
    counts = regions.reindex(rows.index).value_counts()
    cut = int(counts.iloc[1]) + 1  # only the largest region keeps its own cells
    agg = backtest.aggregate_origin(model, rows, groups=regions, min_customers=cut)
    cells = pd.DataFrame(agg["cells"])
    given = cells[~cells["group"].isin(["all", *model.feature_config_.segments, "unknown"])]
    assert set(given["group"]) == {counts.index[0], "other"}
    for target in model.feature_config_.spend_targets:  # the groups add up to everyone
        mine = given[given["target"] == target]
        everyone = cells[(cells["group"] == "all") & (cells["target"] == target)]
        assert mine["expected"].sum() == pytest.approx(everyone["expected"].sum())
        assert mine["actual"].sum() == pytest.approx(everyone["actual"].sum())
    assert ((cells["low"] <= cells["expected"]) & (cells["expected"] <= cells["high"])).all()
    per_origin = [{"origin": f"{origin:%Y-%m-%d}", "aggregate": agg}]
    table = backtest_report.base_total_table(per_origin)
    assert list(table.index) == [f"{origin:%Y-%m-%d}"]
    assert table.iloc[0]["covered"] in {"yes", "no"}
    lines = backtest_report.group_totals_lines(per_origin, groups="everyone and each region")
    assert any(line.startswith("| origin | predicted | actual |") for line in lines)
    assert any(f"of {len(cells)} cells (everyone and each region" in line for line in lines)
