"""Two versions of the app side by side on this machine: start-up and one what-if row.

git worktree add /tmp/old 6762916
python benchmarks/versions.py /tmp/old .

Machines differ (the earlier figures of the README were measured on a faster one), so a
comparison of versions is only fair when both run on the same machine in the same session.
For each folder: seconds from ``python app.py`` to the first ``/predict_customer`` answer (two
runs), and the median time of predicting one feature row with and without reason codes.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time

ONE_ROW = """
import sys, time, statistics
sys.path.insert(0, ".")
from clvmodel.dataset import load_data
try:
    from clvmodel.model import CLVModel as Model
    predict = "predict_features"
except ImportError:
    from clvmodel.prediction import Predictor as Model
    predict = "predict"
from clvmodel.prediction import CustomerScorer
model = Model.load("artifacts")
x = CustomerScorer(model, load_data("data")).features().iloc[[5]]
f = getattr(model, predict)
f(x)
for reasons in (True, False):
    times = []
    for _ in range(200):
        t = time.perf_counter(); f(x, reasons=reasons); times.append(time.perf_counter() - t)
    print(round(statistics.median(times) * 1000, 2))
"""


def start_up(folder: str, port: int) -> float:
    """Seconds from launching the app in `folder` to its first lookup answer."""
    from gradio_client import Client

    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=folder, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            "C000001", api_name="/predict_customer"
        )
        return time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    folders = (argv if argv is not None else sys.argv[1:]) or ["."]
    for i, folder in enumerate(folders):
        runs = [round(start_up(folder, 7900 + 2 * i + k), 1) for k in range(2)]
        rows = subprocess.run(
            [sys.executable, "-c", ONE_ROW], cwd=folder, capture_output=True, text=True,
            check=True,
        ).stdout.split()  # fmt: skip
        print(f"{folder}: start-up {runs} s (median {statistics.median(runs):.1f}); one what-if "
              f"row {rows[0]} ms, {rows[1]} ms without reason codes")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
