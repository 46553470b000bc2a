"""Your data, timed: a real log from upload to served, and other sessions' lookups meanwhile.

python benchmarks/upload_speed.py                   # both real logs (~5 minutes on 2 cores)
python benchmarks/upload_speed.py --logs online_retail

Run by hand on an otherwise idle machine. ``python app.py`` (the demo) starts in a
subprocess on a free port. One ``gradio_client`` session measures the idle median of
``/predict_customer``; then, for each log, a second session calls ``/train_log`` with the
file (upload, reading, training with the app's defaults on one core, scoring) while the
first keeps looking up demo customers: the seconds from the call to the summary, and the
lookups' median during the training against the idle one. Targets (issue 20): Online Retail
under 60 s, Complete Journey under 3 minutes; lookups' p50 under 3 × the idle p50.
Writes benchmarks/results/upload_speed.json and .md.

Data: UCI Online Retail (CC BY 4.0) and dunnhumby / 84.51° "The Complete Journey".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = Path(os.environ.get("CLV_REAL_DATA", ROOT.parent / "shared" / "data"))
LOGS = {
    "online_retail": ("online_retail/online_retail.csv.gz", "GBP", 60.0),
    "completejourney": ("completejourney/transactions.csv.gz", "USD", 180.0),
}
LOOKUP_RATIO_TARGET = 3.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_app(port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    return subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def _client(url: str, folder: Path):
    from gradio_client import Client

    for _ in range(120):
        try:
            return Client(url, verbose=False, download_files=folder)
        except Exception:  # not up yet
            time.sleep(1)
    raise SystemExit(f"the app did not start at {url}")


def _lookups(client, ids: list[str], stop: threading.Event, out: list[float]) -> None:
    k = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        client.predict(ids[k % len(ids)], "", api_name="/predict_customer")
        out.append(time.perf_counter() - t0)
        k += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", nargs="+", choices=sorted(LOGS), default=list(LOGS))
    parser.add_argument("--idle-calls", type=int, default=40)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/upload_speed.json"))
    args = parser.parse_args(argv)
    from gradio_client import handle_file

    port = _free_port()
    app = _start_app(port)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"upload_speed_{port}"
    try:
        url = f"http://127.0.0.1:{port}/"
        watcher, trainer = _client(url, work / "a"), _client(url, work / "b")
        ids = [f"C{n:06d}" for n in range(1, 400, 7)]
        idle: list[float] = []
        for cid in ids[: args.idle_calls]:
            t0 = time.perf_counter()
            watcher.predict(cid, "", api_name="/predict_customer")
            idle.append(time.perf_counter() - t0)
        results = {"idle_lookup_p50_ms": round(1000 * statistics.median(idle), 1), "logs": {}}
        for name in args.logs:
            path, currency, target = LOGS[name]
            during: list[float] = []
            stop = threading.Event()
            thread = threading.Thread(target=_lookups, args=(watcher, ids, stop, during))
            thread.start()
            t0 = time.perf_counter()
            summary = trainer.predict(handle_file(str(DATA_ROOT / path)), "", currency,
                                      api_name="/train_log")  # fmt: skip
            seconds = time.perf_counter() - t0
            stop.set()
            thread.join()
            p50 = 1000 * statistics.median(during) if during else float("nan")
            results["logs"][name] = {
                "seconds_upload_to_served": round(seconds, 1), "target_seconds": target,
                "lookups_during": len(during), "lookup_p50_ms": round(p50, 1),
                "lookup_ratio": round(p50 / results["idle_lookup_p50_ms"], 2),
                "customers": summary["customers"], "training_seconds": summary["seconds"],
            }  # fmt: skip
    finally:
        app.terminate()
        app.wait(timeout=30)
    results["run"] = {"finished": datetime.now().isoformat(timespec="seconds"),
                      "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                      "command": "python benchmarks/upload_speed.py"
                      + (" " + " ".join(argv) if argv else "")}  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    md = ["# Your data: upload to served", "", f"`{results['run']['command']}` on "
          f"{results['run']['machine']}; idle lookup p50 {results['idle_lookup_p50_ms']} ms.", "",
          "| log | customers | upload to served (s) | target (s) | lookups meanwhile | "
          "their p50 (ms) | × idle |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in results["logs"].items():
        md.append(f"| {name} | {r['customers']:,} | {r['seconds_upload_to_served']} | "
                  f"{r['target_seconds']:.0f} | {r['lookups_during']} | {r['lookup_p50_ms']} | "
                  f"{r['lookup_ratio']} (target < {LOOKUP_RATIO_TARGET:.0f}) |")  # fmt: skip
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
