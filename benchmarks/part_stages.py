"""Where the time of scoring one part goes, against pyarrow reading the same part.

python benchmarks/part_stages.py --data /tmp/clv-scale/c100000 [--part 1] [--repeat 5]

Times, in this process (imports and a warm-up part apart), the stages of
:func:`clvmodel.model.score_part` with the calls it makes: reading and checking the part,
its features, the boosters' predictions, the cold-start features and predictions, the
reason codes, and the whole ``score_part``; and ``pyarrow.parquet.read_table`` of the
part's three files, the floor of any scorer. Medians of ``--repeat`` runs; the ratios to
the read say how far a stage alone is from the issue's "score within 4x of the read".
Results go to ``benchmarks/results/part_stages.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="a partitioned data set")
    parser.add_argument("--artifacts", default=str(ROOT / "artifacts"))
    parser.add_argument("--part", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/part_stages.json"))
    args = parser.parse_args(argv)

    import pyarrow.parquet as pq

    from clvmodel.coldstart import build_cold_features
    from clvmodel.features import build_features
    from clvmodel.model import CLVModel, score_part
    from clvmodel.partitions import BY_CUSTOMER, open_partitioned, part_name
    from clvmodel.prediction import default_as_of

    model = CLVModel.load(args.artifacts)
    data = open_partitioned(args.data)
    day = default_as_of(data)
    score_part(data, 0 if args.part else 1, model, day, True)  # warm-up: caches, lazy imports
    rows = data.part(args.part)
    features = build_features(rows, day, model.feature_config_)
    cold = build_cold_features(rows, day, model.feature_config_)
    files = [Path(args.data, t, part_name(args.part)) for t in BY_CUSTOMER]
    stages = {
        "pyarrow read of the part's files": lambda: [pq.read_table(f) for f in files],
        "read and check the part": lambda: data.part(args.part),
        "features": lambda: build_features(rows, day, model.feature_config_),
        "boosters (predict_features)": lambda: model.predict_features(features, reasons=False),
        "cold-start features": lambda: build_cold_features(rows, day, model.feature_config_),
        "cold-start predictions": lambda: model.predict_cold_features(cold),
        "reason codes": lambda: model.reasons(features),
        "score_part, all of it": lambda: score_part(data, args.part, model, day, True),
    }
    seconds = {name: _median_seconds(fn, args.repeat) for name, fn in stages.items()}
    floor = seconds["pyarrow read of the part's files"]
    result = {
        "data": str(args.data),
        "part": args.part,
        "customers": len(rows.customers),
        "repeat": args.repeat,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "seconds": seconds,
        "times_the_read": {k: round(v / floor, 1) for k, v in seconds.items()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, seconds))
    for name, value in seconds.items():
        print(f"{name:<{width}}  {value:7.3f} s  {value / floor:6.1f}x the read")
    print(f"{result['customers']:,} customers; load average {result['load_average_1min']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
