"""Accuracy backtest: rolling monthly origins, our models vs baselines, BG/NBD and the oracle.

python benchmarks/accuracy.py                        # data/, 6 origins, default models
python benchmarks/accuracy.py --origins 3 --models lightgbm_tweedie xgboost_tweedie --jobs 1
python benchmarks/accuracy.py --comparators          # without BG/NBD (no pymc-marketing)

At each of the last ``--origins`` monthly cutoffs the models are retrained on data before
it, exactly as ``train.py`` trains (``clvmodel.training.train_all``), and scored on the
following 30 days; metrics are reported as mean ± std across origins, with the issue-5
target checks. BG/NBD + Gamma-Gamma (pymc-marketing, MAP) needs
``pip install -r benchmarks/requirements.txt``. On synthetic data (a folder with
``latent_customers.csv.gz``) the oracle's true expectations are scored too.

The default model lists are ``CLVModel``'s own (the model that ships): LightGBM and XGBoost
with the Tweedie loss for every spend target, LightGBM and XGBoost for the purchase
probability. Pass ``--models`` / ``--probability-models`` to backtest others.

The report gives wall time and CPU time (user + system, this process and its children):
on a machine shared with other jobs the wall time says more about them than about us.
OpenMP threads (LightGBM, XGBoost) are told to sleep rather than spin while they wait
(``OMP_WAIT_POLICY=PASSIVE``, unless set otherwise): with the default active waiting, a
2-thread LightGBM fit took 38-62 s instead of 7 s while another process kept one of the two
cores busy.

Writes JSON (``--out``) and markdown (same name, ``.md``) and prints the markdown.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import shlex
import sys
import time
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Before LightGBM and XGBoost load their OpenMP runtime (see the module docstring).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from clvmodel.backtest import run_backtest  # noqa: E402
from clvmodel.backtest_report import (  # noqa: E402
    COMPARATORS,
    backtest_table,
    group_totals_lines,
    interval_table,
    markdown_table,
    target_checks,
)
from clvmodel.card import refresh_card  # noqa: E402
from clvmodel.dataset import from_tables  # noqa: E402
from clvmodel.features import FeatureConfig  # noqa: E402
from clvmodel.model import CLVModel  # noqa: E402
from clvmodel.schema import SchemaError, read_tables  # noqa: E402
from clvmodel.synthetic import expected_spend, read_latent  # noqa: E402
from clvmodel.training import PROBABILITY_MODELS, SPEND_MODELS  # noqa: E402

DEFAULTS = CLVModel().get_params()

log = logging.getLogger("accuracy")

DEFAULT_SPEND_MODELS = tuple(DEFAULTS["spend_models"])
DEFAULT_PROBABILITY_MODELS = tuple(DEFAULTS["probability_models"])
LIBRARIES = ("numpy", "pandas", "scikit-learn", "lightgbm", "xgboost-cpu", "pymc-marketing")


def format_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="data", help="folder of the seven tables (default: data)")
    parser.add_argument("--origins", type=int, default=6, help="monthly test cutoffs (default: 6)")
    parser.add_argument(
        "--cutoffs",
        type=int,
        default=DEFAULTS["n_cutoffs"],
        help=f"cutoffs per training run, test included (default: {DEFAULTS['n_cutoffs']})",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_SPEND_MODELS),
        metavar="MODEL",
        help=f"spend models, from {', '.join(SPEND_MODELS)} "
        f"(default: {' '.join(DEFAULT_SPEND_MODELS)})",
    )
    parser.add_argument(
        "--probability-models",
        nargs="+",
        default=list(DEFAULT_PROBABILITY_MODELS),
        metavar="MODEL",
        help=f"purchase models, from {', '.join(PROBABILITY_MODELS)} "
        f"(default: {' '.join(DEFAULT_PROBABILITY_MODELS)})",
    )
    parser.add_argument(
        "--comparators",
        nargs="*",
        default=["bgnbd"],
        metavar="NAME",
        help=f"comparators, from {', '.join(COMPARATORS)}; none to skip (default: bgnbd)",
    )
    parser.add_argument("--quick", action="store_true", help="10x fewer trees, for smoke tests")
    parser.add_argument(
        "--jobs",
        type=int,
        default=DEFAULTS["n_jobs"],
        help=f"threads per model (default: {DEFAULTS['n_jobs']})",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-refit", action="store_true", help="serve the models fitted before validation"
    )
    parser.add_argument(
        "--out",
        default="benchmarks/results/accuracy.json",
        help="JSON output; the markdown goes next to it with .md",
    )
    parser.add_argument(
        "--card",
        default="model_card.md",
        help="model card to refresh with these results, from --artifacts' metrics and "
        "metadata (default: model_card.md; empty to leave it)",
    )
    parser.add_argument("--artifacts", default="artifacts", help="artifacts of the card")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the markdown and the card from the JSON at --out, without running",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def _versions() -> dict[str, str]:
    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = "not installed"
    return out


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (compilers)."""
    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(args: argparse.Namespace) -> dict:
    """Load, backtest, add the target checks and run information; returns the results."""
    started = time.perf_counter()
    cpu_started = _cpu_seconds()
    model = CLVModel(
        n_cutoffs=args.cutoffs,
        spend_models=tuple(args.models),
        probability_models=tuple(args.probability_models),
        quick=args.quick,
        random_state=args.seed,
        n_jobs=args.jobs,
        refit=not args.no_refit,
    )
    log.info("reading %s", args.data)
    tables = read_tables(args.data)
    data = from_tables(tables)
    fcfg = FeatureConfig.from_data(data, horizon=model.horizon)
    latent = read_latent(args.data)
    oracle_fn = None
    if latent is not None:
        log.info("synthetic data: the oracle is scored too")

        def oracle_fn(cutoff):
            return {
                name: expected_spend(latent, tables, cutoff, horizon=model.horizon, given=given)
                for name, given in (("oracle", "history"), ("oracle_alive_known", "state"))
            }

    results = run_backtest(
        data,
        fcfg,
        model,
        origins=args.origins,
        oracle_fn=oracle_fn,
        comparators=args.comparators,
    )
    results["checks"] = target_checks(results)
    results["run"] = {
        "command": " ".join(["python benchmarks/accuracy.py", shlex.join(args.argv)]).strip(),
        "date": datetime.now().isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(_cpu_seconds() - cpu_started, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs",
        "data": {
            "folder": str(args.data),
            "customers": len(data.customers),
            "transactions": len(data.transactions),
            "synthetic": latent is not None,
        },
        "versions": _versions(),
    }
    return results


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def to_markdown(results: dict) -> str:
    """The report: run information, one table per target, intervals, target checks."""
    run_info, cfg = results["run"], results["config"]
    origins = results["cutoffs"]["origins"]
    lines = [
        "# Accuracy backtest",
        "",
        f"`{run_info['command']}` ({run_info['date']}, {run_info['machine']}): "
        f"{_minutes(run_info['wall_seconds'])} wall time, "
        f"{_minutes(run_info['cpu_seconds'])} CPU time (load average at the end: "
        f"{', '.join(str(x) for x in run_info['load_average'])}).",
        "",
        f"- Data: `{run_info['data']['folder']}`, {run_info['data']['customers']:,} customers, "
        f"{run_info['data']['transactions']:,} transactions"
        + (" (synthetic: oracle available)." if run_info["data"]["synthetic"] else "."),
        f"- {cfg['origins']} rolling origins (test cutoffs) {origins[0]} to {origins[-1]}; at "
        f"each, models retrained on the {cfg['n_cutoffs']} cutoffs up to it (the one before "
        f"it for validation), horizon {cfg['horizon_days']} days.",
        f"- Spend models: {', '.join(cfg['spend_models'])}; purchase models: "
        f"{', '.join(cfg['probability_models'])}; {cfg['n_jobs']} thread(s) per model"
        + (" (quick: 10x fewer trees)" if cfg["quick"] else "")
        + "; plus train_all's baselines. `ours` = what train.py ships at each origin: the "
        "model selected on validation (listed under each table), or the prediction training "
        "deploys instead (e.g. `reconciled` categories).",
        f"- Comparators: {', '.join(cfg['comparators']) or 'none'}"
        + (
            "; oracles: oracle (knows the latent parameters), oracle_alive_known (also knows "
            "who is still alive)"
            if cfg["oracle"]
            else ""
        )
        + ".",
        "- Cells: mean ± std (ddof=1) across origins. `decile_mape`: mean |predicted − actual| "
        "/ actual over prediction deciles; `top10_share`: share of actual spend captured by "
        "the top 10% predicted; `*_of_oracle`: ratio to the oracle's score at the same origin; "
        "`reliability_max`: largest |observed − predicted| over probability deciles.",
        "",
    ]
    for target, entry in results["summary"].items():
        lines += [f"## {target}", "", markdown_table(backtest_table(results, target)), ""]
        shipped = [
            c if c == d else f"{c} → {d}"
            for c, d in zip(entry["chosen"], entry["deployed"], strict=True)
        ]
        lines += [f"selected on validation per origin (→ deployed): {', '.join(shipped)}", ""]
    cold = results.get("cold_start") or {}
    if cold.get("summary"):
        counts = [str(o.get("n_test", "skipped")) for o in cold["per_origin"]]
        lines += [
            "## Cold start",
            "",
            "Customers who signed up before the origin but never bought (not in the tables "
            "above), scored with the cold-start models retrained at each origin "
            f"(customers per origin: {', '.join(counts)}).",
            "",
        ]
        for target in cold["summary"]:
            table = backtest_table(results, target, cold_start=True)
            lines += [f"### {target} (cold start)", "", markdown_table(table), ""]
    elif cold:
        lines += [
            "## Cold start",
            "",
            "Not scored: "
            + "; ".join(f"{o['origin']} {o.get('skipped', '')}" for o in cold["per_origin"]),
            "",
        ]
    intervals = interval_table(results)
    if len(intervals):
        lines += [
            "## Intervals",
            "",
            "Coverage and mean width (currency) of the shipped 80% interval per target, and of "
            "[P10, P90] of the predictive distribution, with the share of outcomes at or below "
            "each quantile.",
            "",
            markdown_table(intervals),
            "",
        ]
    totals = group_totals_lines(results["per_origin"], groups="everyone and each segment")
    if totals:
        lines += ["## Totals of groups", "", *totals, ""]
    lines += ["## Targets (issue 5)", "", "```"]
    lines += [f"{c['status']}  {c['target']}: {c['detail']}" for c in results["checks"]]
    lines += ["```", ""]
    comp = results["per_origin"][0]["comparators"]
    if comp:
        lines += ["## Comparator fits", ""]
        for o in results["per_origin"]:
            for name, info in o["comparators"].items():
                params = ", ".join(f"{k}={v:.4g}" for k, v in info["params"].items())
                lines.append(
                    f"- {o['origin']} {name}: {params}; {info['n_customers']:,} customers, "
                    f"{info['n_repeat_buyers']:,} repeat buyers, {info['seconds']} s"
                )
        lines.append("")
    lines += ["## Time", ""]
    lines.append(f"- panel: {results['seconds']['panel']} s")
    for o in results["per_origin"]:
        lines.append(
            f"- origin {o['origin']}: {o['seconds']} s (training {o['train_seconds']} s, "
            f"{o['n_train']:,} train rows, {o['n_test']:,} test rows)"
        )
    lines.append(f"- versions: {', '.join(f'{k} {v}' for k, v in run_info['versions'].items())}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = format_parser().parse_args(argv)
    args.argv = argv
    level = logging.DEBUG if args.verbose > 1 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.verbose < 1:
        logging.getLogger("clvmodel.training").setLevel(logging.WARNING)
    out = Path(args.out)
    try:
        results = json.loads(out.read_text()) if args.report_only else run(args)
    except (SchemaError, ValueError, FileNotFoundError, ImportError) as exc:
        log.error("error: %s", exc)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        out.write_text(json.dumps(results, indent=1, allow_nan=False) + "\n")
    report = to_markdown(results)
    out.with_suffix(".md").write_text(report)
    print(report)
    log.info("wrote %s and %s", out, out.with_suffix(".md"))
    card = refresh_card(args.card, args.artifacts, backtest=results) if args.card else None
    if card:
        log.info("refreshed %s with the backtest", card)
    return 0


if __name__ == "__main__":
    sys.exit(main())
