"""Time and peak memory of generating and scoring 20k to 1M customers (the README's Scale table).

python benchmarks/scale.py                                   # 20k, 100k, 300k, 1M
python benchmarks/scale.py --sizes 20000 100000 --root /tmp/scale
python benchmarks/scale.py --reuse-data     # score the data sets generated before

For each size, in fresh processes under ``/usr/bin/time -v`` (wall time and peak resident
memory of the largest process):

1. ``clvmodel-synthetic --layout parquet --jobs 2``: the partitioned data set, chunk by
   chunk, the ground truth in 2 processes;
2. ``pyarrow`` reading the seven tables' Parquet files of that data set (the floor any
   scorer pays to read the data), in a fresh process too;
3. ``clvmodel-score --data <parquet> --engine local``: every customer scored from history,
   part by part, into a folder of Parquet parts (each written as it is scored);
4. the same into one CSV file (written part after part);
5. the same as 3 with ``--engine dask`` on a local cluster of 2 single-threaded workers
   (each worker writes its own parts); both folders must hold the same rows exactly.

Then the growth exponent of time and memory (least-squares slope of log value on log
customers) and per-part figures (time and memory of scoring one part of ~25,000 customers)
from which the README sizes clusters. Results go to ``benchmarks/results/scale.json``.
Run it alone on the machine: it uses both cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = (20_000, 100_000, 300_000, 1_000_000)
READ = """
import sys, time, pathlib
import pyarrow.parquet as pq
from clvmodel.partitions import BY_CUSTOMER, SHARED
root = pathlib.Path(sys.argv[1])
files = [root / f"{t}.parquet" for t in SHARED]
files += [f for t in BY_CUSTOMER for f in sorted((root / t).glob("*.parquet"))]
started = time.perf_counter()
rows = sum(pq.read_table(f).num_rows for f in files)
print(rows, time.perf_counter() - started)
"""


def timed(cmd: list[str], log: Path) -> dict:
    """Run `cmd` under /usr/bin/time -v; wall seconds and peak RSS (GiB) of the run."""
    started = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.run(
            ["/usr/bin/time", "-v", *cmd], cwd=ROOT, stdout=subprocess.PIPE, stderr=err,
            text=True, env={"PYTHONPATH": str(ROOT), **_env()},
        )  # fmt: skip
    seconds = time.perf_counter() - started
    text = log.read_text()
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{text[-2000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return {"seconds": round(seconds, 1), "peak_gib": round(peak_kb / 2**20, 2),
            "stdout": proc.stdout.strip()}  # fmt: skip


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def slope(sizes: list[int], values: list[float]) -> float:
    """Growth exponent: least-squares slope of log(value) on log(size)."""
    return round(float(np.polyfit(np.log(sizes), np.log(values), 1)[0]), 2)


def _same_scores(a: Path, b: Path) -> bool:
    """Two folders of score parts hold the same rows (exactly)."""
    import pandas as pd

    x, y = pd.read_parquet(a), pd.read_parquet(b)
    key = ["cold_start", "customer_id"]
    x = x.sort_values(key).reset_index(drop=True)
    y = y.sort_values(key).reset_index(drop=True)
    return bool(x.equals(y))


def run_size(n: int, root: Path, artifacts: str, dask: bool, earlier: dict | None) -> dict:
    folder = root / f"c{n}"
    py = sys.executable
    out = {"customers": n}
    if earlier is not None and (folder / "_layout.json").is_file():
        # --reuse-data: the data set is the one generated (and measured) by an earlier run.
        out["generate"] = earlier["generate"] | {"measured_earlier": True}
    else:
        out["generate"] = timed(
            [py, "-m", "clvmodel.cli.synthetic", "--customers", str(n), "--layout", "parquet",
             "--jobs", "2", "--out", str(folder)], root / f"gen-{n}.log",
        )  # fmt: skip
    layout = json.loads((folder / "_layout.json").read_text())
    out["parts"] = layout["n_parts"]
    read = timed([py, "-c", READ, str(folder)], root / f"read-{n}.log")
    rows, seconds = read.pop("stdout").split()
    # The reading itself (the process's start-up and imports apart).
    read |= {"rows": int(rows), "read_seconds": round(float(seconds), 2)}
    out["pyarrow_read"] = read
    score = [py, "-m", "clvmodel.cli.score", "--artifacts", artifacts, "--data", str(folder)]
    local_dir, dask_dir = root / f"scores-{n}-local", root / f"scores-{n}-dask"
    local_csv = root / f"scores-{n}-local.csv"
    # Into a folder of parts: each part written as it is scored (flat memory).
    out["score_local"] = timed([*score, "--output", str(local_dir)], root / f"score-{n}.log")
    out["score_vs_read"] = round(out["score_local"]["seconds"] / read["read_seconds"], 1)
    # Into one CSV file, written part after part.
    out["score_local_csv"] = timed([*score, "--output", str(local_csv)],
                                   root / f"score-csv-{n}.log")  # fmt: skip
    if dask:
        out["score_dask"] = timed(
            [*score, "--engine", "dask", "--workers", "2", "--output", str(dask_dir)],
            root / f"dask-{n}.log",
        )
        out["dask_identical"] = _same_scores(local_dir, dask_dir)
        out["local_over_dask"] = round(
            out["score_local"]["seconds"] / out["score_dask"]["seconds"], 2
        )
    for key in ("generate", "score_local", "score_local_csv", "score_dask"):
        out.get(key, {}).pop("stdout", None)
    out["rows_scored"] = json.loads((local_dir / "_scores.json").read_text())["rows"]
    out["csv_rows"] = sum(1 for _ in local_csv.open()) - 1
    out["load_average_1min"] = round(os.getloadavg()[0], 2)  # another user's work shows here
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--root", default="/tmp/clv-scale", help="where data sets are written")
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask runs")
    parser.add_argument("--out", default="benchmarks/results/scale.json")
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="score the data sets already under --root, keeping their generation figures "
        "from the results file (marked measured_earlier)",
    )
    args = parser.parse_args(argv)
    out = ROOT / args.out
    earlier = {}
    if args.reuse_data and out.is_file():
        earlier = {r["customers"]: r for r in json.loads(out.read_text())["runs"]}
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.sizes:
        res = run_size(n, root, args.artifacts, not args.no_dask, earlier.get(n))
        results.append(res)
        print(json.dumps(res), flush=True)
    summary = {"runs": results}
    if len(results) >= 2:
        sizes = [r["customers"] for r in results]
        for key in ("generate", "score_local", "score_local_csv"):
            summary[f"{key}_time_exponent"] = slope(sizes, [r[key]["seconds"] for r in results])
            summary[f"{key}_memory_exponent"] = slope(sizes, [r[key]["peak_gib"] for r in results])
    big = results[-1]
    per_part = big["customers"] / big["parts"]
    summary["per_part"] = {
        "customers": round(per_part),
        "local_seconds": round(big["score_local"]["seconds"] / big["parts"], 2),
        "local_peak_gib": big["score_local"]["peak_gib"],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
