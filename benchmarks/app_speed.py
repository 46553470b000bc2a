"""Speed of the Gradio app: lookup round trip against Gradio's floor, in-process prediction,
batch upload to download, and start-up to first answer.

python benchmarks/app_speed.py                   # everything (~2-4 minutes on 2 cores)
python benchmarks/app_speed.py --calls 500 --batch-sizes 10000

Run by hand on an otherwise idle machine. Prints a markdown table against the targets of
issue 4 and writes every raw number to benchmarks/results/app_speed.json.

1. Start-up: ``python app.py`` in a subprocess on a free port (``GRADIO_SERVER_PORT``), timed
   until ``/model_info`` answers through ``gradio_client``. Measured first, while this
   process is still idle.
2. The prediction in-process: ``SCORER.score([id])`` (the lookup's model work),
   ``MODEL.predict_features`` on one feature row, and the whole ``predict_customer`` handler.
3. ``/predict_customer`` through ``gradio_client`` on localhost, interleaved call by call
   with a no-op JSON endpoint (a separate tiny Blocks on another port, same queue
   defaults): the difference of the medians is what the app adds over Gradio's floor.
4. ``/predict_batch`` with 10,000 and 100,000 customer IDs (sampled with replacement from
   the customer table): from the start of the upload until both result files are
   downloaded.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGETS = {
    "lookup_added_ms": 15.0,
    "in_process_ms": 10.0,
    "batch_100000_s": 20.0,
    "startup_s": 10.0,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary_ms(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000
    return {
        "n": len(ms),
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "mean_ms": float(ms.mean()),
        "min_ms": float(ms.min()),
        "max_ms": float(ms.max()),
    }


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


# ------------------------------------------------------------------------ 1. start-up
def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def measure_startup(repeats: int, timeout: float = 120.0) -> dict:
    from gradio_client import Client

    from clvmodel.dataset import example_customers, load_data

    customer = example_customers(load_data(ROOT / "data"))[0]
    runs = []
    for _ in range(repeats):
        port = _free_port()
        env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
        url = f"http://127.0.0.1:{port}/"
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            reply, t_http = None, None
            while time.perf_counter() - t0 < timeout:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"python app.py exited with {proc.returncode}: "
                        f"{proc.stderr.read().decode(errors='replace')[-2000:]}"
                    )
                # A bare TCP connect every 50 ms: polling with gradio_client.Client (0.15 s
                # of CPU per failed try) would take a core from the app it is timing.
                if not _listening(port):
                    time.sleep(0.05)
                    continue
                t_http = time.perf_counter() - t0
                client = Client(url, verbose=False)
                reply = client.predict(api_name="/model_info")
                break
            elapsed = time.perf_counter() - t0
            if reply is None:
                raise RuntimeError(f"no answer from /model_info within {timeout:.0f} s")
            if reply.get("status") != "ok":
                raise RuntimeError(f"/model_info status is {reply.get('status')!r}")
            lookup = client.predict(customer, api_name="/predict_customer")
            if "predicted_30d_spend" not in lookup:
                raise RuntimeError(f"first /predict_customer answer is not a prediction: {lookup}")
            runs.append(
                {
                    "first_answer_s": elapsed,
                    "first_lookup_s": time.perf_counter() - t0,
                    "client_connected_s": t_http,
                }
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    firsts = [r["first_answer_s"] for r in runs]
    lookups = [r["first_lookup_s"] for r in runs]
    return {
        "runs": runs,
        "median_s": statistics.median(firsts),
        "max_s": max(firsts),
        "lookup_median_s": statistics.median(lookups),
        "lookup_max_s": max(lookups),
    }


# ------------------------------------------------------------------ 2. in-process
def measure_in_process(app, ids: np.ndarray, calls: int) -> dict:
    rng = np.random.default_rng(1)
    picks = rng.choice(ids, size=calls, replace=True)
    features = app.SCORER.features()
    one_row = features.loc[[picks[0]]]
    app.SCORER.score([picks[0]])  # warm
    app.MODEL.predict_features(one_row)
    it = iter(picks)
    score = _timed(lambda: app.SCORER.score([next(it)]), calls)
    predict = _timed(lambda: app.MODEL.predict_features(one_row), calls)
    it = iter(picks)
    handler = _timed(lambda: app.predict_customer(str(next(it))), calls)
    out = {
        "scorer_score_one_id": _summary_ms(score),
        "predictor_predict_one_row": _summary_ms(predict),
        "predict_customer_handler": _summary_ms(handler),
    }
    if "reasons" in inspect.signature(app.MODEL.predict_features).parameters:
        bare = _timed(lambda: app.MODEL.predict_features(one_row, reasons=False), calls)
        out["predictor_predict_one_row_no_reasons"] = _summary_ms(bare)
    return out


# ------------------------------------------------------------------ 3. round trip
def _noop_demo():
    import gradio as gr

    def noop(customer_id: str) -> dict:
        return {"customer_id": customer_id}

    with gr.Blocks() as demo:
        box = gr.Textbox()
        out = gr.JSON()
        box.submit(noop, box, out, api_name="noop")
    demo.queue(default_concurrency_limit=4, max_size=100)
    return demo


def measure_round_trip(app_url: str, ids: np.ndarray, calls: int, warmup: int = 20) -> dict:
    from gradio_client import Client

    noop = _noop_demo()
    _, noop_url, _ = noop.launch(
        server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True
    )
    try:
        app_client = Client(app_url, verbose=False)
        noop_client = Client(noop_url, verbose=False)
        rng = np.random.default_rng(2)
        picks = [str(i) for i in rng.choice(ids, size=calls + warmup, replace=True)]
        lookup, floor = [], []
        for k, cid in enumerate(picks):  # interleaved, so drift hits both alike
            t0 = time.perf_counter()
            noop_client.predict(cid, api_name="/noop")
            t1 = time.perf_counter()
            reply = app_client.predict(cid, api_name="/predict_customer")
            t2 = time.perf_counter()
            if reply["customer_id"] != cid:
                raise RuntimeError(f"/predict_customer answered for {reply['customer_id']}")
            if k >= warmup:
                floor.append(t1 - t0)
                lookup.append(t2 - t1)
    finally:
        noop.close()
    out = {"noop_floor": _summary_ms(floor), "predict_customer": _summary_ms(lookup)}
    out["added_median_ms"] = out["predict_customer"]["median_ms"] - out["noop_floor"]["median_ms"]
    out["added_p95_ms"] = out["predict_customer"]["p95_ms"] - out["noop_floor"]["p95_ms"]
    return out


# ------------------------------------------------------------------ 4. batch
def measure_batch(url: str, ids: np.ndarray, sizes: list[int], repeats: int) -> dict:
    from gradio_client import Client, handle_file

    rng = np.random.default_rng(3)
    out = {}
    with tempfile.TemporaryDirectory(prefix="clv_bench_") as tmp:
        client = Client(url, verbose=False, download_files=tmp)
        for n in sizes:
            path = Path(tmp) / f"ids_{n}.csv"
            sample = rng.choice(ids, size=n, replace=True)
            path.write_text("customer_id\n" + "\n".join(map(str, sample)) + "\n")
            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                csv_path, xlsx_path, summary = client.predict(
                    handle_file(str(path)), "", api_name="/predict_batch"
                )
                elapsed = time.perf_counter() - t0
                if not (Path(csv_path).is_file() and Path(xlsx_path).is_file()):
                    raise RuntimeError("/predict_batch returned no downloadable files")
                if summary["rows"] != n:
                    raise RuntimeError(f"/predict_batch read {summary['rows']} rows, not {n}")
                runs.append(elapsed)
            out[str(n)] = {
                "upload_bytes": path.stat().st_size,
                "csv_bytes": Path(csv_path).stat().st_size,
                "xlsx_bytes": Path(xlsx_path).stat().st_size,
                "scored": summary["scored"],
                "rejected": summary["rejected"],
                "seconds": runs,
                "median_s": statistics.median(runs),
                "max_s": max(runs),
            }
    return out


# ------------------------------------------------------------------ report
def _load(values) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def report(r: dict) -> str:
    def ok(value, target):
        return "yes" if value <= target else "**no**"

    rt, ip, st = r.get("round_trip"), r.get("in_process"), r.get("startup")
    lines = [
        f"App speed, {r['machine']}, {r['date']}",
        "",
        "| measurement | median | p95 | target | met |",
        "|---|---:|---:|---:|---|",
    ]
    if rt:
        f, p = rt["noop_floor"], rt["predict_customer"]
        lines += [
            f"| no-op endpoint via gradio_client (Gradio's floor, {f['n']} calls) "
            f"| {f['median_ms']:.1f} ms | {f['p95_ms']:.1f} ms | | |",
            f"| /predict_customer via gradio_client ({p['n']} calls) "
            f"| {p['median_ms']:.1f} ms | {p['p95_ms']:.1f} ms | | |",
            f"| added over floor | {rt['added_median_ms']:+.1f} ms | {rt['added_p95_ms']:+.1f} ms "
            f"| <= {TARGETS['lookup_added_ms']:.0f} ms "
            f"| {ok(rt['added_median_ms'], TARGETS['lookup_added_ms'])} |",
        ]
    if ip:
        names = {
            "scorer_score_one_id": "in-process SCORER.score([id])",
            "predictor_predict_one_row": "in-process MODEL.predict_features(1 feature row)",
            "predictor_predict_one_row_no_reasons": (
                "in-process MODEL.predict_features(1 feature row, reasons=False)"
            ),
            "predict_customer_handler": "in-process predict_customer handler",
        }
        for key, name in names.items():
            if key not in ip:
                continue
            s = ip[key]
            lines.append(
                f"| {name} ({s['n']} calls) | {s['median_ms']:.2f} ms | {s['p95_ms']:.2f} ms "
                f"| <= {TARGETS['in_process_ms']:.0f} ms "
                f"| {ok(s['median_ms'], TARGETS['in_process_ms'])} |"
            )
    for n, b in r.get("batch", {}).items():
        target = TARGETS["batch_100000_s"] if n == "100000" else None
        lines.append(
            f"| /predict_batch, {int(n):,} IDs, upload to downloaded CSV + xlsx "
            f"(median of {len(b['seconds'])}; max) | {b['median_s']:.2f} s | {b['max_s']:.2f} s "
            f"| {f'< {target:.0f} s' if target else ''} "
            f"| {ok(b['max_s'], target) if target else ''} |"
        )
    if st:
        lines.append(
            f"| start-up: `python app.py` to first /model_info answer "
            f"(median of {len(st['runs'])}; max) | {st['median_s']:.2f} s | {st['max_s']:.2f} s "
            f"| < {TARGETS['startup_s']:.0f} s | {ok(st['max_s'], TARGETS['startup_s'])} |"
        )
    if st and "lookup_median_s" in st:
        lines.append(
            f"| start-up: `python app.py` to first /predict_customer answer "
            f"(median of {len(st['runs'])}; max) | {st['lookup_median_s']:.2f} s "
            f"| {st['lookup_max_s']:.2f} s | < {TARGETS['startup_s']:.0f} s "
            f"| {ok(st['lookup_max_s'], TARGETS['startup_s'])} |"
        )
    if r.get("batch"):
        lines += ["", "Batch files (rows scored / rejected as unknown or without history):"]
        for n, b in r["batch"].items():
            lines.append(
                f"- {int(n):,} IDs: upload {b['upload_bytes'] / 1e6:.1f} MB, results CSV "
                f"{b['csv_bytes'] / 1e6:.1f} MB, xlsx {b['xlsx_bytes'] / 1e6:.1f} MB; "
                f"{b['scored']:,} scored, {b['rejected']:,} rejected"
            )
    load = r.get("load_average_1_5_15")
    if load:
        lines += [
            "",
            f"Load average (1/5/15 min) before: {_load(load['before'])}; "
            f"after: {_load(load['after'])} (other work on the machine skews the times).",
        ]
    lines += [
        "",
        "Targets: lookup adds <= 15 ms over the floor (median); in-process prediction <= 10 ms; "
        "100,000-ID batch < 20 s; start-up < 10 s.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="timed lookups (>= 200)")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--batch-repeats", type=int, default=3)
    parser.add_argument("--startup-repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "app_speed.json"))
    args = parser.parse_args(argv)

    import gradio

    load_before = os.getloadavg()
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, Python "
            f"{platform.python_version()}, gradio {gradio.__version__}"
        ),
        "args": vars(args),
    }
    if args.startup_repeats:
        print("start-up ...", file=sys.stderr)
        result["startup"] = measure_startup(args.startup_repeats)

    print("importing app ...", file=sys.stderr)
    t0 = time.perf_counter()
    import app

    result["import_app_s"] = time.perf_counter() - t0
    with_history = app.SCORER.features().index.to_numpy()
    all_ids = app.SOURCE.data.customers.index.to_numpy()

    print("in-process ...", file=sys.stderr)
    result["in_process"] = measure_in_process(app, with_history, max(args.calls, 200))
    # Served as `python app.py` serves it (same upload limit), on a free port.
    _, url, _ = app.demo.launch(
        server_name="127.0.0.1",
        server_port=_free_port(),
        prevent_thread_lock=True,
        quiet=True,
        max_file_size=app.MAX_UPLOAD_BYTES,
    )
    try:
        if args.calls:
            print("round trips ...", file=sys.stderr)
            result["round_trip"] = measure_round_trip(url, with_history, args.calls)
        if args.batch_sizes:
            print("batch ...", file=sys.stderr)
            result["batch"] = measure_batch(url, all_ids, args.batch_sizes, args.batch_repeats)
    finally:
        app.demo.close()

    result["load_average_1_5_15"] = {"before": load_before, "after": os.getloadavg()}
    print(report(result))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
