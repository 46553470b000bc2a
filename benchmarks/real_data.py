"""Real-data benchmark: rolling origins over real logs (UCI Online Retail, Complete Journey).

python benchmarks/real_data.py                       # both logs -> benchmarks/results/real_data.*
python benchmarks/real_data.py --logs online_retail  # one of them
python benchmarks/real_data.py --log FILE            # any other log

Every 30 days back from the end of a log, the last ``--origins`` windows whose 30 days fit
in the data are test windows ("origins"). At each origin, every model is fitted only on the
history before it and predicts each customer's net spend in the next 30 days (and whether
they buy), for every customer with a purchase before the origin:

- ``ours``: ``clvmodel.CLVModel`` fitted with ``fit(data, as_of=origin)`` and
  ``predict(data, as_of=origin)``, exactly as ``train.py --transactions --as-of`` and the
  scoring CLI do;
- ``bgnbd_gg``: BG/NBD + Gamma-Gamma from pymc-marketing (MAP), fitted as of the origin;
- ``lightgbm_rfm``: LightGBM with a Tweedie loss (and a classifier for P(buy)) on RFM
  features, trained on the same stacked monthly cutoffs before the origin.

Per category (the log's 5 largest by spend before the origin, among the model's targets),
``ours`` is the model's own category target and each comparator is split the way an analyst
would: its total × the customer's past share of the category (``share_<category>``).

Metrics are those of ``benchmarks/accuracy.py`` (``clvmodel.evaluation.spend_report`` and
``probability_report``), per origin and as mean ± std over origins.

Data: UCI Online Retail (Daqing Chen, Sai Liang Sain and Kun Guo, 2012; UCI Machine Learning
Repository id 352, CC BY 4.0) and dunnhumby / 84.51° "The Complete Journey" (one-year release).
The folder of the logs: ``CLV_REAL_DATA`` (default ``../shared/data`` beside the repository).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import logging
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clvmodel.aggregate import customer_profiles  # noqa: E402
from clvmodel.backtest import aggregate_metrics, aggregate_origin  # noqa: E402
from clvmodel.backtest_report import (  # noqa: E402
    aggregate_summary,
    group_totals_lines,
    markdown_table,
)
from clvmodel.bgnbd import bgnbd_gg_expectations, check_installed  # noqa: E402
from clvmodel.dataset import RetailData  # noqa: E402
from clvmodel.evaluation import probability_report, spend_report  # noqa: E402
from clvmodel.features import (  # noqa: E402
    FeatureConfig,
    as_of_data,
    build_features,
    build_panel,
    build_targets,
    cutoff_dates,
)
from clvmodel.model import PROBABILITY, CLVModel  # noqa: E402
from clvmodel.transactions import read_transactions  # noqa: E402

log = logging.getLogger("real_data")
DATA_ROOT = Path(os.environ.get("CLV_REAL_DATA", ROOT.parent / "shared" / "data"))
OR_CITATION = (
    'Daqing Chen, Sai Liang Sain and Kun Guo, "Data mining for the online retail industry: A '
    'case study of RFM model-based customer segmentation using data mining", Journal of '
    "Database Marketing and Customer Strategy Management 19(3), 2012; UCI Machine Learning "
    'Repository, "Online Retail" (id 352), CC BY 4.0.'
)
CJ_CITATION = (
    'dunnhumby / 84.51°, "The Complete Journey" (2.0 release, one-year slice as distributed '
    "in the completejourney packages), for research and education."
)
#: The logs the benchmark knows: file under DATA_ROOT, citation, currency, title.
LOGS = {
    "online_retail": ("online_retail/online_retail.csv.gz", OR_CITATION, "GBP",
                      "UCI Online Retail"),
    "completejourney": ("completejourney/transactions.csv.gz", CJ_CITATION, "USD",
                        "dunnhumby The Complete Journey"),
}  # fmt: skip
#: Categories measured one by one: the largest by spend before the origin.
TOP_CATEGORIES = 5
#: The RFM features of the boosted comparator: recency, frequency and monetary value over
#: windows, basket statistics and purchase gaps; nothing else the log would allow.
RFM_FEATURES = [
    "days_since_last", "days_since_first", "gap_mean_days", "gap_std_days", "overdue_ratio",
    "txn_count_lifetime", "txn_count_7d", "txn_count_30d", "txn_count_90d", "txn_count_365d",
    "spend_lifetime", "spend_7d", "spend_30d", "spend_90d", "spend_365d", "spend_trend_30d",
    "basket_mean", "basket_max", "basket_min", "basket_std", "daily_spend_rate",
    "returns_365d", "return_share", "weekend_share",
]  # fmt: skip
MODELS = ("ours", "bgnbd_gg", "lightgbm_rfm")
SPEND_KEYS = ("mae", "rmse", "r2", "gini", "spearman", "sum_ratio", "top10_share")
PURCHASE_KEYS = ("auc", "brier")


#: Groups whose totals are measured: the log's countries (its only customer attribute);
#: countries with fewer customers than MIN_GROUP at an origin are pooled as "other".
MIN_GROUP = 100
GROUPS_TEXT = f"everyone and each country with at least {MIN_GROUP} customers, the rest pooled"


def format_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--logs",
        nargs="+",
        choices=sorted(LOGS),
        default=list(LOGS),
        help="the known logs to run (default: all)",
    )
    parser.add_argument("--log", help="another transaction log instead of the known ones")
    parser.add_argument("--origins", type=int, default=4, help="test windows (default: 4)")
    parser.add_argument("--step", type=int, default=30, help="days between origins")
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10x fewer trees (smoke test)")
    parser.add_argument("--no-bgnbd", action="store_true", help="skip the pymc comparator")
    parser.add_argument(
        "--no-refit", action="store_true", help="ours without the refit on the latest months"
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/real_data.json"))
    return parser


def origins_of(data: RetailData, n: int, step: int, horizon: int) -> list[pd.Timestamp]:
    """The last `n` origins, `step` days apart, whose `horizon` days fit in the data."""
    end = data.last_date + pd.Timedelta(days=1)
    last = end - pd.Timedelta(days=horizon)
    return [last - pd.Timedelta(days=step * k) for k in range(n)][::-1]


def lightgbm_rfm(history: RetailData, origin: pd.Timestamp, x_origin: pd.DataFrame, cfg, quick):
    """The boosted comparator: Tweedie spend and a classifier for P(buy) on RFM features,
    trained on stacked monthly cutoffs before `origin`."""
    import lightgbm as lgb

    cutoffs = cutoff_dates(history, horizon=cfg.horizon, n_cutoffs=12, end=origin)
    panel = build_panel(history, cutoffs, cfg)
    x, y = panel[RFM_FEATURES], panel["target_total"].clip(lower=0)
    params = {"n_estimators": 30 if quick else 300, "learning_rate": 0.05, "num_leaves": 15,
              "min_child_samples": 40, "subsample": 0.8, "subsample_freq": 1,
              "colsample_bytree": 0.8, "verbose": -1, "random_state": 0, "n_jobs": 2}  # fmt: skip
    spend = lgb.LGBMRegressor(objective="tweedie", tweedie_variance_power=1.5, **params)
    buy = lgb.LGBMClassifier(**params)
    spend.fit(x, y)
    buy.fit(x, panel["target_purchase"])
    rows = x_origin[RFM_FEATURES]
    return spend.predict(rows), buy.predict_proba(rows)[:, 1]


def run_origin(data: RetailData, origin: pd.Timestamp, args) -> dict:
    """Fit every model on the history before `origin`; score the next `horizon` days."""
    history = as_of_data(data, origin)
    cfg = FeatureConfig.from_data(history, horizon=args.horizon)
    x = build_features(history, origin, cfg)
    truth = build_targets(data, origin, cfg, x.index)
    y, bought = truth["target_total"].to_numpy(), truth["target_purchase"].to_numpy()
    preds, seconds = {}, {}

    t0 = time.perf_counter()
    model = CLVModel(
        horizon=args.horizon, quick=args.quick, random_state=0, refit=not args.no_refit
    )
    model.fit(data, as_of=origin)
    seconds["ours_fit"] = time.perf_counter() - t0
    scores = model.predict(data, as_of=origin, reasons=False).set_index("customer_id")
    scores = scores.reindex(x.index)
    preds["ours"] = (scores["predicted_total"].to_numpy(), scores[PROBABILITY].to_numpy())
    # Group totals as the Forecast tab serves them: the base and each country, per target.
    rows = build_features(history, origin, model.feature_config_)
    rows = rows.join(build_targets(data, origin, model.feature_config_, rows.index))
    countries = customer_profiles(history, origin).get("region")
    aggregate = aggregate_origin(model, rows, groups=countries, min_customers=MIN_GROUP)
    shares = rows.reindex(x.index)
    truths = build_targets(data, origin, model.feature_config_, x.index)

    if not args.no_bgnbd:
        t0 = time.perf_counter()
        frame, _ = bgnbd_gg_expectations(history, origin, (), horizon_days=args.horizon)
        frame = frame.reindex(x.index).fillna(0.0)
        preds["bgnbd_gg"] = (frame["expected_total"].to_numpy(), frame["p_purchase"].to_numpy())
        seconds["bgnbd_gg"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    preds["lightgbm_rfm"] = lightgbm_rfm(history, origin, x, cfg, args.quick)
    seconds["lightgbm_rfm"] = time.perf_counter() - t0

    models = {}
    for name, (spend, p) in preds.items():
        models[name] = {
            **spend_report(y, spend),
            **{f"purchase_{k}": v for k, v in probability_report(bought, p).items()},
        }
    categories = {}
    for c in largest_categories(history, model.feature_config_.categories):
        truth_c = truths[f"target_{c}"].to_numpy()
        categories[c] = {"ours": spend_report(truth_c, scores[f"predicted_{c}"].to_numpy())}
        share = shares[f"share_{c}"].fillna(0.0).to_numpy()
        for name, (spend, _) in preds.items():
            if name != "ours":
                categories[c][name] = spend_report(truth_c, spend * share)
    return {
        "origin": f"{origin:%Y-%m-%d}",
        "n_customers": len(x),
        "buyers": int(bought.sum()),
        "actual_total": float(y.sum()),
        "chosen": model.report_.targets["total"].chosen,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "models": models,
        "categories": categories,
        "aggregate": aggregate,
    }


def largest_categories(history: RetailData, targets: tuple[str, ...]) -> list[str]:
    """The :data:`TOP_CATEGORIES` largest of the model's category targets by spend in
    `history` (a pooled ``other`` is not a category a retailer plans)."""
    lines = getattr(history, "lines", None)
    if lines is None or "category" not in lines or not targets:
        return []
    spend = lines.groupby("category")["amount"].sum()
    spend = spend.reindex([t for t in targets if t != "other"]).dropna()
    return list(spend.sort_values(ascending=False).index[:TOP_CATEGORIES])


def summary_table(per_origin: list[dict]) -> pd.DataFrame:
    """mean ± std over origins, one row per model."""
    rows = {}
    keys = [*SPEND_KEYS, *(f"purchase_{k}" for k in PURCHASE_KEYS)]
    for name in MODELS:
        entries = [o["models"][name] for o in per_origin if name in o["models"]]
        if not entries:
            continue
        agg = aggregate_metrics(entries)
        rows[name] = {
            k: f"{agg[k]['mean']:.3f} ± {agg[k]['std']:.3f}" if len(entries) > 1
            else f"{agg[k]['mean']:.3f}"
            for k in keys
        }  # fmt: skip
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def target_checks(per_origin: list[dict]) -> list[dict]:
    """The real-data issue's targets, on the means over origins (PASS / FAIL with figures)."""
    means = {
        name: {k: v["mean"] for k, v in aggregate_metrics(
            [o["models"][name] for o in per_origin if name in o["models"]]).items()}
        for name in MODELS if any(name in o["models"] for o in per_origin)
    }  # fmt: skip
    ours = means["ours"]
    others = {n: m for n, m in means.items() if n != "ours"}
    if not others:
        return []
    best = {k: max(m[k] for m in others.values()) for k in ("r2", "gini", "purchase_auc")}
    closest = min(abs(m["sum_ratio"] - 1) for m in others.values())
    worst_gap = min(
        o["models"]["ours"]["r2"] - max(o["models"][n]["r2"] for n in others if n in o["models"])
        for o in per_origin
    )

    def check(name: str, ok: bool, detail: str) -> dict:
        return {"target": name, "status": "PASS" if ok else "FAIL", "detail": detail}

    return [
        check("R² ≥ 1.10 × the better comparator's", ours["r2"] >= 1.10 * best["r2"],
              f"{ours['r2']:.3f} vs {best['r2']:.3f} (× {ours['r2'] / best['r2']:.2f})"),
        check("Gini ≥ the better comparator's + 0.02", ours["gini"] >= best["gini"] + 0.02,
              f"{ours['gini']:.3f} vs {best['gini']:.3f}"),
        check("purchase AUC ≥ the better comparator's", ours["purchase_auc"] >= best[
              "purchase_auc"], f"{ours['purchase_auc']:.3f} vs {best['purchase_auc']:.3f}"),
        check("sum ratio closer to 1 than both comparators'",
              abs(ours["sum_ratio"] - 1) < closest,
              f"{ours['sum_ratio']:.3f}; comparators "
              + ", ".join(f"{m['sum_ratio']:.3f}" for m in others.values())),
        check("never more than 0.02 R² below the better comparator at one origin",
              worst_gap >= -0.02, f"largest shortfall {-worst_gap:.3f}"),
    ]  # fmt: skip


def per_origin_table(per_origin: list[dict]) -> pd.DataFrame:
    rows = []
    for o in per_origin:
        for name, m in o["models"].items():
            rows.append({"origin": o["origin"], "model": name, "r2": f"{m['r2']:.3f}",
                         "gini": f"{m['gini']:.3f}", "auc": f"{m['purchase_auc']:.3f}",
                         "sum_ratio": f"{m['sum_ratio']:.3f}"})  # fmt: skip
    return pd.DataFrame(rows).set_index("origin")


def category_table(per_origin: list[dict]) -> tuple[pd.DataFrame, list[dict]]:
    """Per category and model, R² and Gini (mean ± std over the origins where the category
    is among the largest), and the check "ours ≥ the comparators' split" per category."""
    names = sorted({c for o in per_origin for c in o.get("categories", {})})
    rows, checks = [], []
    for c in names:
        entries = [o["categories"][c] for o in per_origin if c in o.get("categories", {})]
        means = {}
        for model in MODELS:
            runs = [e[model] for e in entries if model in e]
            if not runs:
                continue
            agg = aggregate_metrics(runs)
            means[model] = agg["r2"]["mean"]
            rows.append({"category": c, "model": model, "origins": len(runs),
                         "r2": f"{agg['r2']['mean']:.3f} ± {agg['r2']['std']:.3f}",
                         "gini": f"{agg['gini']['mean']:.3f} ± {agg['gini']['std']:.3f}",
                         "sum_ratio": f"{agg['sum_ratio']['mean']:.3f}"})  # fmt: skip
        others = [v for k, v in means.items() if k != "ours"]
        if "ours" in means and others:
            ok = means["ours"] >= max(others)
            checks.append({"target": f"{c}: R² ≥ the comparators' split", "status":
                           "PASS" if ok else "FAIL", "detail": f"{means['ours']:.3f} vs "
                           f"{max(others):.3f}"})  # fmt: skip
    table = pd.DataFrame(rows).set_index("category") if rows else pd.DataFrame()
    return table, checks


def run_log(path: Path, name: str, args) -> dict:
    """Every origin of one log, and its summary, checks and data description."""
    started = time.perf_counter()
    reading = read_transactions(path)
    data = reading.data
    log.info("%s: %d customers, %d transactions", path, len(data.customers),
             len(data.transactions))  # fmt: skip
    per_origin = []
    for origin in origins_of(data, args.origins, args.step, args.horizon):
        t0 = time.perf_counter()
        per_origin.append(run_origin(data, origin, args))
        log.info("%s origin %s done in %.0f s: %s", name, f"{origin:%Y-%m-%d}",
                 time.perf_counter() - t0,
                 {n: round(m["r2"], 3) for n, m in per_origin[-1]["models"].items()})  # fmt: skip
    categories, category_checks = category_table(per_origin)
    _, citation, currency, title = LOGS.get(name, (None, "", "", name))
    return {
        "data": {"log": str(path), "title": title, "citation": citation, "currency": currency,
                 "rows": reading.n_rows, "rejected": len(reading.rejected),
                 "customers": len(data.customers), "transactions": len(data.transactions)},
        "per_origin": per_origin,
        "summary": summary_table(per_origin).to_dict(orient="index"),
        "categories": categories.reset_index().to_dict(orient="records"),
        "aggregate": aggregate_summary(per_origin),
        "checks": target_checks(per_origin) + category_checks,
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def log_markdown(name: str, result: dict, horizon: int) -> list[str]:
    """One log's section of ``real_data.md``."""
    per_origin = result["per_origin"]
    table = pd.DataFrame.from_dict(result["summary"], orient="index")
    table.index.name = "model"
    lines = [
        f"## {result['data']['title']}",
        "",
        f"{result['seconds']:.0f} s. Origins: "
        + ", ".join(o["origin"] for o in per_origin)
        + f"; next {horizon} days' net spend of every customer with a purchase before "
        "the origin; each model fitted only on the history before it. Mean ± std over origins.",
        "",
        markdown_table(table),
        "",
        "Per origin:",
        "",
        markdown_table(per_origin_table(per_origin)),
        "",
    ]
    if result["categories"]:
        categories = pd.DataFrame(result["categories"]).set_index("category")
        lines += ["Largest categories (comparators: their total × the customer's past share):",
                  "", markdown_table(categories), ""]  # fmt: skip
    lines += [
        "Targets:",
        "",
        *[f"- {c['status']} {c['target']}: {c['detail']}" for c in result["checks"]],
        "",
        "Totals of groups:",
        "",
        *group_totals_lines(per_origin, groups=GROUPS_TEXT),
        "",
        "Fit time of `ours` per origin (s): "
        + ", ".join(str(o["seconds"]["ours_fit"]) for o in per_origin),
        "",
        f"Data: {result['data']['citation']}",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = format_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("clvmodel").setLevel(logging.WARNING)
    if not args.no_bgnbd:
        check_installed()
    started = time.perf_counter()
    if args.log:
        logs = {Path(args.log).stem: Path(args.log)}
    else:
        logs = {name: DATA_ROOT / LOGS[name][0] for name in args.logs}
    missing = [str(p) for p in logs.values() if not p.exists()]
    if missing:
        raise SystemExit(f"real_data.py: no such log: {', '.join(missing)} (set CLV_REAL_DATA)")
    results = {"logs": {name: run_log(path, name, args) for name, path in logs.items()}}
    results["config"] = {"origins": args.origins, "step_days": args.step,
                         "horizon": args.horizon, "quick": args.quick}  # fmt: skip
    results["run"] = {
        "seconds": round(time.perf_counter() - started, 1),
        "finished": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": "python benchmarks/real_data.py" + (" " + " ".join(argv) if argv else ""),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    md = [
        "# Real-data benchmark",
        "",
        f"`{results['run']['command']}`, {results['run']['seconds']:.0f} s on "
        f"{results['run']['machine']}. `ours` is `clvmodel.CLVModel`, `bgnbd_gg` BG/NBD + "
        "Gamma-Gamma (pymc-marketing, MAP), `lightgbm_rfm` LightGBM (Tweedie) on RFM features.",
        "",
    ]
    for name, result in results["logs"].items():
        md += log_markdown(name, result, args.horizon)
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
