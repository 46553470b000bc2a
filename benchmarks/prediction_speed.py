"""In-process scoring speed: 100,000 customer IDs and a 100,000-row feature table.

python benchmarks/prediction_speed.py                 # data/ and artifacts/, n=100,000
python benchmarks/prediction_speed.py --n 10000 --repeats 5

No Gradio here: this is what the app's batch tab costs before any file handling. Scoring
by ID builds the as-of features of every customer once (the "cold" call, cached per
as-of date) and then only looks rows up; both are reported. Prints a markdown table and
writes JSON to benchmarks/results/prediction_speed.json.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clvmodel.dataset import load_data  # noqa: E402
from clvmodel.model import CLVModel  # noqa: E402
from clvmodel.prediction import CustomerScorer  # noqa: E402


def _timed(fn, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def run(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    predictor = CLVModel.load(args.artifacts)
    data = load_data(args.data)
    load_s = time.perf_counter() - start

    scorer = CustomerScorer(predictor, data)
    ids = rng.choice(data.customers.index.to_numpy(), size=args.n, replace=True)
    cold_s = _timed(lambda: scorer.score(ids), 1)[0]  # builds every customer's features
    warm = _timed(lambda: scorer.score(ids), args.repeats)

    features = scorer.features()
    rows = features.iloc[rng.integers(0, len(features), size=args.n)]
    table = _timed(lambda: predictor.predict_features(rows), args.repeats)
    bare = None
    if "reasons" in inspect.signature(predictor.predict_features).parameters:
        bare = _timed(lambda: predictor.predict_features(rows, reasons=False), args.repeats)
    explained = _explanations(predictor, features, rng, args.explain_rows)

    return {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}, {_cpus()} CPUs",
        "n": args.n,
        "repeats": args.repeats,
        "n_customers_with_history": len(features),
        "load_seconds": load_s,
        "score_ids_cold_seconds": cold_s,
        "score_ids_seconds": warm,
        "predict_table_seconds": table,
        "predict_table_no_reasons_seconds": bare,
        "explanations": explained,
    }


def _explanations(predictor: CLVModel, features, rng, n: int) -> dict:
    """Exact TreeSHAP against path contributions of the total model on `n` customers:
    seconds, and how often both name the same strongest feature (the first reason code)."""
    rows = features.iloc[rng.choice(len(features), size=min(n, len(features)), replace=False)]
    out = {"rows": len(rows)}
    tops = {}
    for kind, exact in (("exact", True), ("path", False)):
        start = time.perf_counter()
        contrib = predictor.explain_features(rows, "total", exact=exact).drop(columns="base_value")
        out[f"{kind}_seconds"] = time.perf_counter() - start
        tops[kind] = contrib.abs().to_numpy().argmax(axis=1)
    out["same_top_feature"] = float(np.mean(tops["exact"] == tops["path"]))
    return out


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _load(values) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def report(r: dict) -> str:
    n = f"{r['n']:,}"
    med_ids = statistics.median(r["score_ids_seconds"])
    med_tab = statistics.median(r["predict_table_seconds"])
    rows = [
        ("load artifacts + data (once, at start-up)", r["load_seconds"]),
        (
            f"score {n} IDs, first call (builds features of all "
            f"{r['n_customers_with_history']:,} customers)",
            r["score_ids_cold_seconds"],
        ),
        (f"score {n} IDs, cached features (median of {r['repeats']})", med_ids),
        (f"predict a {n}-row feature table (median of {r['repeats']})", med_tab),
    ]
    lines = [
        f"In-process scoring, {r['machine']}, {r['date']}",
        "",
        "| step | seconds | µs per row |",
        "|---|---:|---:|",
    ]
    if r.get("predict_table_no_reasons_seconds"):
        med = statistics.median(r["predict_table_no_reasons_seconds"])
        rows.append((f"predict a {n}-row feature table, reasons=False (median)", med))
    for i, (name, seconds) in enumerate(rows):
        per_row = f"{seconds / r['n'] * 1e6:.1f}" if i >= 2 else ""
        lines.append(f"| {name} | {seconds:.3f} | {per_row} |")
    load = r.get("load_average_1_5_15")
    if load:
        lines += [
            "",
            f"Load average (1/5/15 min) before: {_load(load['before'])}; "
            f"after: {_load(load['after'])} (other work on the machine skews the times).",
        ]
    e = r.get("explanations")
    if e:
        lines += [
            "",
            f"Contributions of the total model for {e['rows']:,} customers: exact TreeSHAP "
            f"{e['exact_seconds']:.2f} s, path (Saabas, behind the reason codes) "
            f"{e['path_seconds']:.2f} s; the two name the same strongest feature for "
            f"{e['same_top_feature']:.0%} of them.",
        ]
    lines += [
        "",
        "Target for the app: 100,000 IDs from upload to download < 20 s (see app_speed.py).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT / "data"))
    parser.add_argument("--artifacts", default=str(ROOT / "artifacts"))
    parser.add_argument("--n", type=int, default=100_000, help="rows per call")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--explain-rows", type=int, default=2000, help="customers for the SHAP/path comparison"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "prediction_speed.json")
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    result = run(args)
    result["load_average_1_5_15"] = {"before": load_before, "after": os.getloadavg()}
    print(report(result))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
