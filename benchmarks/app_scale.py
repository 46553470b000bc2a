"""The app on a big partitioned base: start-up, memory and lookups against Gradio's floor.

CLV_DATA=/data/1m CLV_ARTIFACTS=/data/1m-artifacts /usr/bin/time -v \\
    python benchmarks/app_scale.py [--as-of 2026-06-01] [--calls 40]

``CLV_DATA`` is a data set in the partitioned layout and ``CLV_ARTIFACTS`` a model trained
on it by ``python train.py --data <folder> --out <artifacts>`` (which saves the scores and
summaries the app serves from). Measures, in this process: importing ``app`` (loading
everything the app needs; the target is under 20 s at a million customers), the peak
resident memory, then through ``gradio_client`` on localhost, interleaved: a no-op endpoint
added to the app (Gradio's floor), ``/predict_customer`` at the default date (target: within
15 ms of the floor), ``/predict_customer`` at another as-of date for customers not asked
before (target: under 1 s), and one ``/forecast`` and ``/customer_list``. Results go to
``benchmarks/results/app_scale.json``. The ``/usr/bin/time -v`` line gives the whole run's
peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ms(values: list[float]) -> dict:
    ms = sorted(v * 1000 for v in values)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
    }


def _peak_gib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", default="2026-06-01", help="the other as-of date")
    parser.add_argument("--calls", type=int, default=40, help="lookups at the default date")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/app_scale.json"))
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]

    started = time.perf_counter()
    import app  # importing the app is what is timed

    import_s = time.perf_counter() - started
    import gradio as gr
    from gradio_client import Client

    with app.demo:  # the floor: a no-op endpoint in the same app and queue
        probe = gr.Textbox(visible=False)
        gr.Button(visible=False).click(lambda x: x, probe, probe, api_name="noop_probe")
    _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False)
        ids = list(app.EXAMPLE_IDS)
        noop, lookup = [], []
        for i in range(args.calls):
            t = time.perf_counter()
            client.predict("x", api_name="/noop_probe")
            noop.append(time.perf_counter() - t)
            t = time.perf_counter()
            client.predict(ids[i % len(ids)], api_name="/predict_customer")
            lookup.append(time.perf_counter() - t)
        everyone = app.SOURCE.customer_ids
        other = []
        for i in range(10):  # a new customer each time: their rows are read from their part
            cid = everyone[(1000 + 997 * i) % len(everyone)]
            t = time.perf_counter()
            try:
                client.predict(cid, args.as_of, api_name="/predict_customer")
            except ValueError:
                pass  # a customer without history before that date: the same work was done
            other.append(time.perf_counter() - t)
        t = time.perf_counter()
        client.predict("segment", api_name="/forecast")
        forecast_s = time.perf_counter() - t
        t = time.perf_counter()
        client.predict("lapse", 100, "total", api_name="/customer_list")
        list_s = time.perf_counter() - t
    finally:
        app.demo.close()

    result = {
        "customers": len(app.SOURCE.customer_ids),
        "import_app_s": round(import_s, 1),
        "peak_gib": _peak_gib(),
        "noop": _ms(noop),
        "lookup_default_date": _ms(lookup),
        "lookup_added_ms": round(_ms(lookup)["median_ms"] - _ms(noop)["median_ms"], 1),
        "lookup_other_date": {"as_of": args.as_of, **_ms(other)},
        "forecast_by_segment_s": round(forecast_s, 2),
        "lapse_list_100_s": round(list_s, 2),
        "run": {
            "date": datetime.now().isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "load_average": [round(load_start, 1), round(os.getloadavg()[0], 1)],
            "data": os.environ.get("CLV_DATA"),
            "command": "python benchmarks/app_scale.py " + " ".join(argv or sys.argv[1:]),
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")

    def pair(stat: dict) -> str:
        return f"{stat['median_ms']} / {stat['p95_ms']} ms"

    other_date = result["lookup_other_date"]
    rows = [
        ("import app (ready to serve)", f"{result['import_app_s']} s", "< 20 s"),
        ("peak memory of this process", f"{result['peak_gib']} GiB", ""),
        ("no-op endpoint, median / p95", pair(result["noop"]), ""),
        ("/predict_customer, default date, median / p95", pair(result["lookup_default_date"]), ""),
        ("lookup's added latency over the floor (medians)", f"{result['lookup_added_ms']} ms",
         "≤ 15 ms"),
        (f"/predict_customer as of {args.as_of}, median / p95", pair(other_date), "< 1 s"),
        ("/forecast by segment", f"{result['forecast_by_segment_s']} s", ""),
        ("/customer_list lapse, 100", f"{result['lapse_list_100_s']} s", ""),
    ]  # fmt: skip
    print(f"{result['customers']:,} customers; load average {result['run']['load_average']}")
    print("| what | measured | target |\n| --- | ---: | ---: |")
    print("\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
