"""Customers as a person meets them in the browser: hundreds looked up and tried in the what-if.

python benchmarks/browser_walk.py [--random 200] [--per-kind 20] [--screenshots]

Run by hand (about 15 minutes on 2 busy cores). Checks issue 19's "done when": in Chromium,
200 random customers plus 20 of each kind (:func:`conftest.customers_by_kind`: probably buys
nothing, with an 80% interval of [0, 0]; cold start; one purchase; returns only; the top
spender) show no error badge and no stale answer, in the lookup and in the what-if; and the
server log holds no traceback for an expected error.

1. ``import app`` (the repository's model and data, or ``CLV_ARTIFACTS`` / ``CLV_DATA``), the
   app launched in-process on 127.0.0.1, its log (the ``clvapp`` logger at INFO and
   everything the server prints on stderr, where Gradio prints tracebacks) captured.
2. Each customer, one after the other, in the lookup (``ok`` once the headline names the ID
   typed) and the what-if (load, predict unedited: ``ok`` once the customer's own expected
   spend is shown), judged by ``tests/test_browser.py``'s :func:`ask_lookup` and
   :func:`ask_what_if`: ``error badge`` (Gradio's bare "Error", no message), ``refused`` (an
   error with a message), ``failed`` (the stale notice) or ``stale`` (the answer on screen is
   not this customer's).
3. Three expected input errors (an unknown ID in the lookup and in the what-if, a date that
   is not one), which must be refused with a message and logged without a traceback.
4. With ``--screenshots``: each of the six tabs with an answer on screen, into
   ``docs/screenshots/<tab>.png``, with the visible snake_case identifiers of each tab (raw
   column names, codes) and each chart's width as shown.

Writes ``benchmarks/results/browser_walk.json`` (every outcome) and ``browser_walk.md``
(the counts) and prints the counts. Exit code 1 if any count that must be zero is not.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
RESULTS = ROOT / "benchmarks" / "results"
SHOTS = ROOT / "docs" / "screenshots"
TABS = {  # file name: the tab's label
    "forecast": "Forecast",
    "lists": "Customer lists",
    "lookup": "Customer lookup",
    "whatif": "What-if",
    "batch": "Batch scoring",
    "model": "Explanations & model",
}
IDENTIFIER = re.compile(r"(?<![\w/.`-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/.-])")
CHARTS_JS = """() => Array.from(document.querySelectorAll(
  '[role=tabpanel] [data-testid=matplotlib] img')).filter(i => i.offsetParent !== null)
  .map(i => [i.naturalWidth, Math.round(i.clientWidth)])"""


class Tee(io.TextIOBase):
    """Writes to the real stream and keeps a copy: the server's log."""

    def __init__(self, stream, copy: io.StringIO) -> None:
        self.stream, self.copy = stream, copy

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def _customers(app, n_random: int, per_kind: int, seed: int) -> list[tuple[str, str]]:
    """The customers of each kind and the random ones, interleaved (one of each kind, then
    the random ones in proportion), so that a walk cut short by its time budget still
    covers every kind."""
    from conftest import CUSTOMER_KINDS, customers_by_kind

    kinds = customers_by_kind(app.STATE, n=per_kind)
    ids = app.SOURCE.customer_ids.to_series()
    groups = [[(kind, cid) for cid in kinds[kind]] for kind in CUSTOMER_KINDS]
    randoms = [("random", cid) for cid in ids.sample(n_random, random_state=seed)]
    per_round = max(1, -(-n_random // max(1, per_kind)))
    groups.append(randoms)
    chosen = []
    for i in range(max(per_kind, 1) + 1):
        for g, group in enumerate(groups):
            chosen += group[i * per_round : (i + 1) * per_round] if g == len(groups) - 1 else (
                group[i : i + 1])  # fmt: skip
    return chosen


def _walk(page, app, customers, *, minutes: float) -> list[dict]:
    """Each customer in the lookup, then the what-if, until done or out of time."""
    from test_browser import ask_lookup, ask_what_if

    rows, stop = [], time.monotonic() + 60 * minutes
    for i, (kind, cid) in enumerate(customers):
        if time.monotonic() > stop:
            print(f"  out of time after {i} customers", file=sys.__stderr__, flush=True)
            break
        reply = app.predict_customer(cid)
        t0 = time.perf_counter()
        looked = ask_lookup(page, cid)
        t1 = time.perf_counter()
        tried = ask_what_if(page, cid, reply["predicted_30d_spend"]["total"])
        t2 = time.perf_counter()
        if tried["outcome"] == "refused" and reply["cold_start"]:  # no features to load
            tried["outcome"] = "refused, cold start"
        rows.append({
            "kind": kind, "customer_id": cid, "cold_start": reply["cold_start"],
            "interval": reply[app.STATE.interval_key]["total"],
            "lookup": looked, "what_if": tried,
            "lookup_s": round(t1 - t0, 2), "what_if_s": round(t2 - t1, 2),
        })  # fmt: skip
        if (i + 1) % 20 == 0:
            print(f"  {i + 1} of {len(customers)}", file=sys.__stderr__, flush=True)
    return rows


def _expected_errors(page) -> list[dict]:
    """Input errors a person makes: each must be refused with a message."""
    from test_browser import PREDICT, _open_tab, _settle, ask_lookup, ask_what_if, close_toasts

    out = [
        {"input": "lookup NOPE-404", **ask_lookup(page, "NOPE-404", timeout_s=15)},
        {"input": "what-if NOPE-404", **ask_what_if(page, "NOPE-404", 0.0, timeout_s=15)},
    ]
    close_toasts(page)
    tab = _open_tab(page, "Customer lookup")
    tab.get_by_label("As of (optional)").fill("13/45/2026")
    tab.get_by_role("button", name=PREDICT).click()
    out.append({"input": "lookup as of 13/45/2026", **_settle(page, lambda s: False, 15)})
    tab.get_by_label("As of (optional)").fill("")
    close_toasts(page)
    return out


def _screenshots(page, app, tmp: Path) -> dict:
    """Each tab with an answer on screen, saved; its identifiers and chart widths."""
    from test_browser import _open_tab, ask_lookup, ask_what_if, close_toasts

    SHOTS.mkdir(parents=True, exist_ok=True)
    cid = app.EXAMPLE_IDS[0]
    seen = {}
    for name, label in TABS.items():
        close_toasts(page)
        tab = _open_tab(page, label)
        if name == "forecast":  # the one made on page load may still be on its way
            tab.get_by_role("button", name="Forecast", exact=True).click()
            tab.locator("[data-testid=matplotlib] img").first.wait_for()
        elif name == "lists":
            tab.get_by_role("button", name="Make the list").click()
        elif name == "lookup":
            ask_lookup(page, cid)
        elif name == "whatif":
            ask_what_if(page, cid, app.predict_customer(cid)["predicted_30d_spend"]["total"])
        elif name == "batch":
            upload = tmp / "customers.csv"
            upload.write_text("customer_id\n" + "\n".join(app.EXAMPLE_IDS[:5]) + "\n")
            tab.locator("input[type=file]").first.set_input_files(upload)
            page.wait_for_timeout(1500)
            tab.get_by_role("button", name="Score file").click()
        page.wait_for_timeout(4000 if name in ("lists", "batch", "forecast") else 1500)
        page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
        text = tab.inner_text()
        seen[name] = {
            "identifiers": sorted(set(IDENTIFIER.findall(text))),
            "charts_natural_and_shown_px": page.evaluate(CHARTS_JS),
        }
    return seen


def _summary(rows: list[dict]) -> dict:
    out = {}
    for view in ("lookup", "what_if"):
        by_kind = {}
        for row in rows:
            by_kind.setdefault(row["kind"], Counter())[row[view]["outcome"]] += 1
        out[view] = {k: dict(v) for k, v in by_kind.items()}
    return out


def _markdown(result: dict) -> str:
    lines = [
        f"# Browser walk ({result['when']}, load {result['load_before']} -> "
        f"{result['load_after']})",
        "",
        f"{result['walked']} of {result['customers']} customers ({result['args']['random']} "
        f"random, {result['args']['per_kind']} of each kind, interleaved), each in the lookup "
        f"and the what-if, in {result['seconds']:.0f} s"
        f"{' (the time budget ran out)' if result['walked'] < result['customers'] else ''}.",
        "",
        "| view | kind | " + " | ".join(OUTCOMES) + " |",
        "| --- | --- | " + " | ".join("---" for _ in OUTCOMES) + " |",
    ]
    for view, kinds in result["summary"].items():
        for kind, counts in kinds.items():
            cells = " | ".join(str(counts.get(o, 0)) for o in OUTCOMES)
            lines.append(f"| {view} | {kind} | {cells} |")
    log = result["log"]
    lines += [
        "",
        f"Expected errors: {', '.join(e['input'] + ': ' + e['outcome'] for e in result['expected_errors'])}.",  # noqa: E501
        f"Server log: {log['lines']} lines, {log['refused_lines']} one-line refusals, "
        f"**{log['tracebacks']} tracebacks**.",
    ]
    if result.get("tabs"):
        lines += ["", "| tab | snake_case identifiers visible | charts (natural / shown px) |",
                  "| --- | --- | --- |"]  # fmt: skip
        for tab, seen in result["tabs"].items():
            ids = ", ".join(f"`{i}`" for i in seen["identifiers"]) or "none"
            lines.append(f"| {tab} | {ids} | {seen['charts_natural_and_shown_px']} |")
    return "\n".join(lines) + "\n"


OUTCOMES = ("ok", "error badge", "refused", "refused, cold start", "failed", "stale")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--random", type=int, default=200, help="random customers")
    parser.add_argument("--per-kind", type=int, default=20, help="customers of each kind")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--screenshots", action="store_true", help="docs/screenshots/<tab>.png")
    parser.add_argument("--out", type=Path, default=RESULTS / "browser_walk")
    parser.add_argument(
        "--minutes",
        type=float,
        default=120,
        help="stop walking after this long (the counts say how many were done)",
    )
    args = parser.parse_args(argv)

    log = io.StringIO()
    sys.stderr = Tee(sys.__stderr__, log)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    logging.getLogger("clvapp").addHandler(handler)
    logging.getLogger("clvapp").setLevel(logging.INFO)
    load_before = os.getloadavg()[0]
    print("importing app ...", file=sys.__stderr__)
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    import app

    customers = _customers(app, args.random, args.per_kind, args.seed)
    _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    t0 = time.perf_counter()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            page.set_default_timeout(30_000)
            page.goto(url)
            page.get_by_role("tab", name="Customer lookup").wait_for()
            tabs = _screenshots(page, app, Path(tempfile.mkdtemp())) if args.screenshots else {}
            rows = _walk(page, app, customers, minutes=args.minutes)
            expected = _expected_errors(page)
            browser.close()
    finally:
        app.demo.close()
    seconds = time.perf_counter() - t0
    text = log.getvalue()
    result = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.platform(),
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
        "args": {"random": args.random, "per_kind": args.per_kind, "seed": args.seed},
        "customers": len(customers),
        "walked": len(rows),
        "seconds": round(seconds, 1),
        "summary": _summary(rows),
        "expected_errors": expected,
        "log": {
            "lines": text.count("\n"),
            "refused_lines": text.count(" refused: "),
            "tracebacks": text.count("Traceback (most recent call last)"),
            # each traceback's last line: the exception and its message
            "traceback_ends": re.findall(
                r"Traceback \(most recent call last\):\n(?:[ \t].*\n)+(\S.*)", text
            ),
        },
        "tabs": tabs,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(_markdown(result))
    print(_markdown(result), file=sys.__stdout__)
    bad = sum(
        n for view in result["summary"].values() for counts in view.values()
        for outcome, n in counts.items() if outcome in ("error badge", "refused", "failed", "stale")
    )  # fmt: skip
    # refused with a message; "failed" is the stale notice that replaced the old answer
    refused = [e for e in expected if e["outcome"] not in ("refused", "failed")]
    return 1 if bad or refused or result["log"]["tracebacks"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
