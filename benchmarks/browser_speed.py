"""Speed of the app as a person sees it: headless chromium, driven by Playwright, on the
in-process app with the default data.

python benchmarks/browser_speed.py [--repeats N]     # ~1-2 minutes on 2 cores

Run by hand, ideally on an otherwise idle machine (the load average before and after is
recorded). Checks the done-when criterion "a person in a browser gets the base forecast with
its band, the breakdowns and a downloadable target list in under five seconds each on the
default data". Prints a markdown table, writes it to benchmarks/results/browser_speed.md and
every raw number to benchmarks/results/browser_speed.json.

1. ``import app`` (loads the model and the data, scores every customer), then ``app.demo``
   launched in-process on 127.0.0.1, then the page opened in Debian's chromium (1280x1000),
   timed until the forecast the app makes on page load is on screen.
2. Forecast tab: each repeat chooses another "Break down by" value (cycling the choices other
   than "(none)") and clicks "Forecast"; timed from the click until the headline, a table whose
   row count and groups are this breakdown's (a group only it has is shown, the previous
   breakdown's is gone), both charts and a new CSV download link are on screen and no output
   is busy.
3. Customer lists tab: each repeat sets "How many" to another N (100, 200, ...) and the kind
   (top, lapse, cross_sell in turn), clicks "Make the list"; timed until "{N:,} customers."
   heads the answer, the table has N rows, its first row is the expected customer and a new
   CSV download link is on screen.
4. The same requests in-process, without the browser (``forecast`` + ``show_forecast``,
   ``customer_list`` + ``show_list``): where the time goes. These also give the expected
   answers the browser waits for.

Each browser time is taken twice: in Python, from just before Playwright's click until the
wait returns (reported), and in the page, from the click event until the check first holds
(polled every animation frame; in the JSON). The app's four handlers are wrapped, in this
process only, to record when they ran in the server: each request's time is split into
phases (click to the first handler, the handlers, between them, after the last one).
Needs ``playwright`` (the Python package only) and the system chromium (``apt-get install
chromium``; another binary via ``CHROMIUM``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import shutil
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 1000}
TARGET_S = 5.0
LIST_KINDS = ["top", "lapse", "cross_sell"]

# One check of the visible tab, evaluated in the page. `a` names what this answer must show;
# returns each part and `ok` when all hold. Visible as Playwright means it: a non-empty box and
# not hidden by CSS (being scrolled out of view is fine).
CHECK_JS = """
(a) => {
  const vis = (el) => !!el && el.getBoundingClientRect().width > 0
    && el.getBoundingClientRect().height > 0
    && el.checkVisibility({opacityProperty: true, visibilityProperty: true});
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim();
  const panel = [...document.querySelectorAll("[role=tabpanel]")].find(vis);
  if (!panel) return {ok: false, panel: false};
  const headline = [...panel.querySelectorAll("[data-testid=markdown]")]
    .some((el) => vis(el) && (a.headline_exact ? norm(el.innerText) === a.headline
                                               : norm(el.innerText).startsWith(a.headline)));
  const grid = panel.querySelector("[role=grid]");
  const cells = grid ? [...grid.querySelectorAll("[role=gridcell]")] : [];
  const marker = cells.some((c) => vis(c) && norm(c.innerText) === a.marker
                                  && (a.marker_row === null || c.dataset.row === a.marker_row));
  const stale = a.stale_marker !== null && cells.some((c) => norm(c.innerText) === a.stale_marker);
  const rows = !!grid && grid.getAttribute("aria-rowcount") === String(a.rows);
  const imgs = [...panel.querySelectorAll("[data-testid=matplotlib] img")];
  const charts = imgs.filter((i) => vis(i) && i.complete && i.naturalWidth > 0).length >= a.charts;
  const link = document.querySelector(a.link);
  const download = vis(link) && link.getAttribute("href") !== a.stale_href;
  const busy = [...panel.querySelectorAll("[data-testid=status-tracker]")]
    .some((t) => !t.classList.contains("hide"));
  const ok = headline && marker && !stale && rows && charts && download && !busy;
  return {ok, panel: true, headline, marker, stale, rows, charts, download, busy};
}
"""
WAIT_JS = f"(a) => {{ const r = ({CHECK_JS})(a); return r.ok ? performance.now() : false; }}"
CLICK_CLOCK_JS = """
document.addEventListener("click", () => { window.__benchClick = performance.now(); },
                          {capture: true});
"""


# ------------------------------------------------------------------ helpers
def _summary(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0, "median_s": None, "max_s": None}
    return {
        "n": len(seconds),
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
        "min_s": min(seconds),
    }


def _plain(markdown: str) -> str:
    """The text a headline's markdown shows (bold and code marks dropped)."""
    return re.sub(r"\s+", " ", markdown.replace("**", "").replace("`", "")).strip()


def _forecast_plan(breakdowns: list[str], repeats: int) -> list[str]:
    """Breakdowns in turn, starting after the page's default (segment) so that every request
    differs from the answer on screen before it."""
    if not breakdowns:
        return []
    order = breakdowns[1:] + breakdowns[:1]
    return [order[i % len(order)] for i in range(repeats)]


def _list_plan(app, repeats: int) -> list[dict[str, Any]]:
    from clvmodel import lists

    kinds = [k for k in LIST_KINDS if k in lists.LIST_KINDS] or ["top"]
    plan = []
    for i in range(repeats):
        kind = kinds[i % len(kinds)]
        target = app.MODEL.categories[0] if kind == "cross_sell" else "total"
        plan.append({"kind": kind, "n": 100 * (i + 1), "target": target})
    return plan


def _block_fns(demo, handler) -> list:
    """The app's events (Gradio BlockFunctions) that run `handler` (by name: each event runs
    the handler bound to the app's state, ``app.SERVED.bind``, a function of its own)."""
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    return [
        bf for bf in fns if getattr(getattr(bf, "fn", None), "__name__", None) == handler.__name__
    ]


class HandlerClock:
    """When the app's handlers run inside the server during the browser requests: each
    event's function is wrapped in this process (no file changes), then put back."""

    def __init__(self, demo, handlers: list):
        self.spans: list[tuple[str, float, float]] = []
        self._wrapped = [(bf, bf.fn) for h in handlers for bf in _block_fns(demo, h)]
        for bf, fn in self._wrapped:
            bf.fn = self._timed(fn)

    def _timed(self, fn):
        @functools.wraps(fn)  # Gradio reads the signature through __wrapped__
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spans.append((fn.__name__, t0, time.perf_counter()))

        return timed

    def since(self, t0: float) -> list[dict[str, Any]]:
        """Handlers that started after `t0`, in seconds from `t0`."""
        return [
            {"handler": name, "start_s": a - t0, "end_s": b - t0}
            for name, a, b in sorted(self.spans, key=lambda s: s[1])
            if a >= t0
        ]

    def restore(self) -> None:
        for bf, fn in self._wrapped:
            bf.fn = fn


def _postprocess_s(demo, handler, values: tuple) -> float | None:
    """Gradio turning a handler's return values into what it sends (charts become images)."""
    events = _block_fns(demo, handler)
    if not events:
        return None
    t0 = time.perf_counter()
    for component, value in zip(events[0].outputs, values, strict=False):
        component.postprocess(value)
    return time.perf_counter() - t0


# ------------------------------------------------------------------ in-process
def measure_in_process(app, forecast_plan: list[str], list_plan: list[dict]) -> dict[str, Any]:
    """The handlers without the browser; their answers are what the browser must show."""
    from matplotlib.figure import Figure

    groups = {
        by: [r["group"] for r in app.forecast(by)["breakdown"]] for by in app.STATE.breakdowns
    }
    expected: dict[str, dict] = {}
    for by in app.STATE.breakdowns:
        others = {g for b, gs in groups.items() if b != by for g in gs}
        only = [g for g in dict.fromkeys(groups[by]) if g not in others]
        expected[by] = {"groups": list(dict.fromkeys(groups[by])), "only_this_breakdown": only}

    forecast_runs = []
    for by in [*forecast_plan, *app.STATE.breakdowns]:  # then what the page shows of the others
        t0 = time.perf_counter()
        reply = app.forecast(by)
        t1 = time.perf_counter()
        out = app.show_forecast(reply, None, None)
        t2 = time.perf_counter()
        if len(forecast_runs) < len(forecast_plan):
            post = _postprocess_s(app.demo, app.show_forecast, out)
            forecast_runs.append(
                {"by": by, "forecast_s": t1 - t0, "show_s": t2 - t1, "postprocess_s": post}
            )
        elif "headline" in expected[by]:
            continue
        expected[by].update(
            headline=_plain(out[0]),
            rows=1 + len(out[1]),  # aria-rowcount counts the header row
            charts=sum(isinstance(o, Figure) for o in out),
        )

    list_runs, list_expected = [], []
    for item in list_plan:
        t0 = time.perf_counter()
        reply = app.customer_list(item["kind"], item["n"], item["target"])
        t1 = time.perf_counter()
        out = app.show_list(reply)
        t2 = time.perf_counter()
        post = _postprocess_s(app.demo, app.show_list, out)
        list_runs.append(
            {**item, "customer_list_s": t1 - t0, "show_s": t2 - t1, "postprocess_s": post}
        )
        rows = reply["rows"]
        list_expected.append(
            {
                **item,
                "rows": len(rows),
                "headline": f"{len(rows):,} customers.",
                "headline_md": out[0],
                "first_id": str(rows[0]["customer_id"]) if rows else None,
            }
        )

    def parts(runs: list[dict], first: str) -> dict[str, Any]:
        post = [r["postprocess_s"] for r in runs if r["postprocess_s"] is not None]
        return {
            first: _summary([r[first] for r in runs]),
            "show_s": _summary([r["show_s"] for r in runs]),
            "both_s": _summary([r[first] + r["show_s"] for r in runs]),
            "postprocess_s": _summary(post),
        }

    return {
        "forecast": {"runs": forecast_runs, **parts(forecast_runs, "forecast_s")},
        "customer_list": {"runs": list_runs, **parts(list_runs, "customer_list_s")},
        "expected_forecast": expected,
        "expected_lists": list_expected,
    }


# ------------------------------------------------------------------ browser
class Browser:
    """One chromium page on the app, and the waits the measurements share."""

    def __init__(self, page, sync_api, timeout_s: float, clock: HandlerClock):
        self.page = page
        self.clock = clock
        self.api = sync_api
        self.timeout_ms = timeout_s * 1000
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"console.error: {msg.text[:300]}")

    def panel(self):
        panel = self.page.get_by_role("tabpanel").filter(visible=True)
        panel.wait_for()
        return panel

    def open_tab(self, name: str):
        self.page.get_by_role("tab", name=name).click()
        return self.panel()

    def href(self, selector: str) -> str:
        link = self.page.locator(selector)
        return (link.first.get_attribute("href") or "") if link.count() else ""

    def choose(self, panel, label: str, value: str) -> None:
        """Pick `value` in a Gradio dropdown as a person does: open it, click the option."""
        box = panel.get_by_label(label, exact=True)
        if box.input_value() == value:
            return
        box.click()
        option = re.compile(rf"^\W*{re.escape(value)}$")  # the chosen one reads "✓ value"
        self.page.get_by_role("option", name=option).click()
        self.api.expect(box).to_have_value(value, timeout=self.timeout_ms)

    def wait(self, check: dict) -> tuple[float, float | None]:
        """Until `check` holds: (Python seconds since the wait began, page's done time in ms)."""
        done = self.page.wait_for_function(
            WAIT_JS, arg=check, polling="raf", timeout=self.timeout_ms
        )
        return time.perf_counter(), done.json_value()

    def why_not(self, check: dict) -> str:
        """Which parts of `check` do not hold, after a timeout."""
        parts = self.page.evaluate(f"(a) => ({CHECK_JS})(a)", check)
        return ", ".join(f"{k}={v}" for k, v in parts.items() if k != "ok")

    def error_toasts(self) -> list[str]:
        toasts = self.page.locator(".toast-body.error")
        return [t.inner_text()[:300] for t in toasts.all()]

    def timed_click(self, button, check: dict) -> dict[str, Any]:
        self.page.evaluate("() => { window.__benchClick = null; }")
        t0 = time.perf_counter()
        button.click()
        try:
            t1, done_ms = self.wait(check)
        except self.api.TimeoutError:
            return {
                "error": f"not on screen within {self.timeout_ms / 1000:.0f} s "
                f"({self.why_not(check)})"
            }
        clicked_ms = self.page.evaluate("() => window.__benchClick")
        in_page = (done_ms - clicked_ms) / 1000 if clicked_ms is not None else None
        return {"seconds": t1 - t0, "in_page_s": in_page, "server": self.clock.since(t0)}


def _forecast_check(exp: dict, stale: dict | None, stale_href: str) -> dict[str, Any]:
    only = exp["only_this_breakdown"]
    return {
        "headline": exp["headline"],
        "headline_exact": True,
        "marker": only[0] if only else exp["groups"][0],
        "marker_row": None,
        "stale_marker": stale["only_this_breakdown"][0]
        if stale and stale["only_this_breakdown"]
        else None,
        "rows": exp["rows"],
        "charts": exp["charts"],
        "link": "#forecast-csv a",
        "stale_href": stale_href,
    }


def measure_page_open(b: Browser, url: str, exp: dict) -> dict[str, Any]:
    """From page.goto until the forecast made on page load (default breakdown) is shown."""
    check = _forecast_check(exp, None, "")
    t0 = time.perf_counter()
    b.page.goto(url)
    try:
        t1, done_ms = b.wait(check)
    except b.api.TimeoutError:
        return {"error": f"first forecast not on screen ({b.why_not(check)})"}
    return {"seconds": t1 - t0, "in_page_s": done_ms / 1000}  # page clock starts at navigation


def measure_forecasts(b: Browser, plan: list[str], expected: dict, default: str) -> list[dict]:
    panel = b.open_tab("Forecast")
    button = panel.get_by_role("button", name="Forecast", exact=True)
    shown: str | None = default  # the breakdown on screen after page load
    runs = []
    for by in plan:
        b.choose(panel, "Break down by", by)
        check = _forecast_check(
            expected[by], expected.get(shown) if shown else None, b.href("#forecast-csv a")
        )
        run = {"by": by, "marker": check["marker"], **b.timed_click(button, check)}
        if "error" not in run:
            cell = panel.get_by_role("gridcell", name=check["marker"], exact=True).first
            b.api.expect(cell).to_be_visible(timeout=b.timeout_ms)  # the tests' way, untimed
        run["error_toasts"] = b.error_toasts()
        shown = None if "error" in run else by
        runs.append(run)
    return runs


def measure_lists(b: Browser, expected: list[dict]) -> list[dict]:
    panel = b.open_tab("Customer lists")
    button = panel.get_by_role("button", name="Make the list")
    runs = []
    for exp in expected:
        panel.get_by_role("radio", name=exp["kind"], exact=True).check()
        b.choose(panel, "Spend on", exp["target"])
        how_many = panel.get_by_label("How many")
        how_many.fill(str(exp["n"]))
        b.api.expect(how_many).to_have_value(str(exp["n"]))
        check = {
            "headline": exp["headline"],
            "headline_exact": False,
            "marker": exp["first_id"],
            "marker_row": "0",
            "stale_marker": None,
            "rows": exp["rows"] + 1,
            "charts": 0,
            "link": "#list-csv a",
            "stale_href": b.href("#list-csv a"),
        }
        run = {k: exp[k] for k in ("kind", "n", "target", "first_id")}
        run.update(b.timed_click(button, check))
        if "error" not in run:
            cell = panel.get_by_role("gridcell", name=exp["first_id"], exact=True).first
            b.api.expect(cell).to_be_visible(timeout=b.timeout_ms)
        run["error_toasts"] = b.error_toasts()
        runs.append(run)
    return runs


PHASES = {
    "click_to_first_handler_s": "click to the first handler's start",
    "first_handler_s": "first handler",
    "between_handlers_s": "first handler's end to the second's start",
    "second_handler_s": "second handler",
    "after_handlers_s": "second handler's end to on screen",
}


def _phases(runs: list[dict]) -> dict[str, Any]:
    """Median of each phase of the requests that ran exactly two handlers (the request's,
    then the one that shows its reply)."""
    rows = []
    for run in runs:
        server = run.get("server", [])
        if "seconds" not in run or len(server) != 2:
            continue
        first, second = server
        rows.append(
            {
                "click_to_first_handler_s": first["start_s"],
                "first_handler_s": first["end_s"] - first["start_s"],
                "between_handlers_s": second["start_s"] - first["end_s"],
                "second_handler_s": second["end_s"] - second["start_s"],
                "after_handlers_s": run["seconds"] - second["end_s"],
            }
        )
    if not rows:
        return {"n": 0}
    # On screen before the second handler ended would mean the check matched an old answer.
    early = sum(r["after_handlers_s"] < 0 for r in rows)
    names = [s["handler"] for s in next(r["server"] for r in runs if len(r.get("server", [])) == 2)]
    return {
        "n": len(rows),
        "handlers": names,
        "on_screen_before_reply": early,
        **{k: statistics.median(r[k] for r in rows) for k in PHASES},
    }


def measure_browser(app, url: str, inproc: dict, args) -> dict[str, Any]:
    try:
        from playwright import sync_api
    except ImportError:
        return {"error": "playwright is not installed (pip install -r requirements.txt)"}
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return {"error": f"no chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"}
    out: dict[str, Any] = {}
    expected = inproc["expected_forecast"]
    default = app.STATE.breakdowns[0] if app.STATE.breakdowns else None
    clock = HandlerClock(
        app.demo, [app.forecast, app.show_forecast, app.customer_list, app.show_list]
    )
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except sync_api.Error as exc:
            clock.restore()
            return {"error": f"chromium at {CHROMIUM} does not start: {exc}"}
        try:
            out["chromium"] = browser.version
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.set_default_timeout(args.timeout * 1000)
            page.add_init_script(CLICK_CLOCK_JS)
            b = Browser(page, sync_api, args.timeout, clock)
            if default is None:
                out["page_open"] = {"error": "the data has no profile column to break down by"}
            else:
                print("page open ...", file=sys.stderr)
                out["page_open"] = {"by": default, **measure_page_open(b, url, expected[default])}
            if "error" in out["page_open"]:
                page.goto(url)  # carry on: the later waits need the page, not that answer
            steps = [
                ("forecast", lambda: measure_forecasts(b, args.forecast_plan, expected, default)),
                ("customer_list", lambda: measure_lists(b, inproc["expected_lists"])),
            ]
            for name, step in steps:
                print(f"{name} in the browser ...", file=sys.stderr)
                try:
                    out[name] = {"runs": step()}
                except Exception as exc:  # a control not found, a click refused, ...
                    out[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
            out["page_errors"] = b.errors
            context.close()
        finally:
            browser.close()
            clock.restore()
    for name in ("forecast", "customer_list"):
        runs = out[name].get("runs", [])
        out[name]["summary"] = _summary([r["seconds"] for r in runs if "seconds" in r])
        in_page = [r["in_page_s"] for r in runs if r.get("in_page_s") is not None]
        out[name]["in_page_summary"] = _summary(in_page)
        out[name]["phases"] = _phases(runs)
        failed = [r["error"] for r in runs if "error" in r]
        if failed:
            out[name]["failed"] = failed
    return out


# ------------------------------------------------------------------ report
def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _verdict(summary: dict, failed: list | None, error: str | None) -> str:
    if error:
        return f"not measured: {error}"
    if failed:
        return f"**FAIL** ({len(failed)} not on screen in time)"
    if summary.get("max_s") is None:
        return "not measured"
    return "PASS" if summary["max_s"] < TARGET_S else "**FAIL**"


def report(r: dict[str, Any]) -> str:
    br = r.get("browser", {})
    ip = r["in_process"]
    n_f, n_l = len(r["args"]["forecast_plan"]), len(r["args"]["list_plan"])
    lines = [
        f"Browser speed, {r['machine']['summary']}, {r['date']}",
        "",
        f"`{r['command']}`",
        "",
        "| what | median s | max s | target | result |",
        "|---|---:|---:|---:|---|",
        f"| `import app` (model, data, every customer scored) | {_s(r['import_app_s'])} | | | |",
        f"| `app.demo.launch` in-process | {_s(r['launch_s'])} | | | |",
    ]
    if "error" in br:
        lines.append(f"| browser | | | | not measured: {br['error']} |")
    else:
        po = br.get("page_open", {})
        lines.append(
            f"| open the page until the forecast made on load (by {po.get('by')}) is on screen "
            f"| {_s(po.get('seconds'))} | | < {TARGET_S:.0f} s "
            f"| {_verdict({'max_s': po.get('seconds')}, None, po.get('error'))} |"
        )
        for key, what, n in (
            (
                "forecast",
                "Forecast with a breakdown: click to headline, this breakdown's table, "
                "both charts and CSV link",
                n_f,
            ),
            (
                "customer_list",
                'Customer list: click to "N customers.", first row, N rows and CSV link',
                n_l,
            ),
        ):
            m = br.get(key, {})
            s = m.get("summary", {})
            lines.append(
                f"| {what} ({n} requests) | {_s(s.get('median_s'))} | {_s(s.get('max_s'))} "
                f"| < {TARGET_S:.0f} s | {_verdict(s, m.get('failed'), m.get('error'))} |"
            )
    lines += [
        "",
        "Where the time goes (same requests, in-process, no browser):",
        "",
        "| in-process | median s | max s |",
        "|---|---:|---:|",
    ]
    f, cl = ip["forecast"], ip["customer_list"]
    for name, s in (
        ("`forecast(by)`", f["forecast_s"]),
        ("`show_forecast(reply)` (table, 2 charts, CSV + xlsx)", f["show_s"]),
        ("both", f["both_s"]),
        ("Gradio's postprocess of show_forecast's outputs (charts to images)", f["postprocess_s"]),
        ("`customer_list(kind, n, target)`", cl["customer_list_s"]),
        ("`show_list(reply)` (table, CSV + xlsx)", cl["show_s"]),
        ("both", cl["both_s"]),
        ("Gradio's postprocess of show_list's outputs", cl["postprocess_s"]),
    ):
        lines.append(f"| {name} | {_s(s['median_s'])} | {_s(s['max_s'])} |")
    if "error" not in br:
        lines += [
            "",
            "The same requests in the browser, median s of each phase (handlers timed in the "
            "server as they ran; the last phase is Gradio's postprocess, the transfer and the "
            "rendering):",
            "",
            f"| request | {' | '.join(PHASES.values())} | total | click to check, in the page |",
            f"|---|{'---:|' * (len(PHASES) + 2)}",
        ]
        odd: list[str] = []
        for key, label in (("forecast", "Forecast"), ("customer_list", "Customer list")):
            m = br.get(key, {})
            ph, tot, p = m.get("phases", {}), m.get("summary", {}), m.get("in_page_summary", {})
            if ph.get("n"):
                lines.append(
                    f"| {label} (`{'` then `'.join(ph['handlers'])}`) | "
                    + " | ".join(_s(ph[k]) for k in PHASES)
                    + f" | {_s(tot.get('median_s'))} | {_s(p.get('median_s'))} |"
                )
            if ph.get("on_screen_before_reply"):
                odd.append(
                    f"- {label}: {ph['on_screen_before_reply']} answer(s) passed the check "
                    "before the handler that shows them had finished: the check is not strict."
                )
        lines += ["", *odd]
        per = {}
        for run in br.get("forecast", {}).get("runs", []):
            if "seconds" in run:
                per.setdefault(run["by"], []).append(run["seconds"])
        if per:
            lines.append(
                "- Forecast per breakdown (s): "
                + "; ".join(f"{k} {', '.join(f'{v:.2f}' for v in vs)}" for k, vs in per.items())
            )
        for key in ("forecast", "customer_list"):
            for err in br.get(key, {}).get("failed", []):
                lines.append(f"- {key}: {err}")
            toasts = [t for run in br.get(key, {}).get("runs", []) for t in run["error_toasts"]]
            if toasts:
                lines.append(f"- {key}: error messages in the page: {toasts}")
        if br.get("page_errors"):
            lines.append(f"- JavaScript errors or console errors: {br['page_errors']}")
    load = r["load_average_1_5_15"]
    lines += [
        "",
        f"Load average (1/5/15 min) at start {' / '.join(f'{v:.2f}' for v in load['start'])}, "
        f"at end {' / '.join(f'{v:.2f}' for v in load['end'])} on "
        f"{r['machine']['cpus']} CPUs: other jobs may have been running on this machine, "
        "which slows every number above.",
        "",
        f"Target: each answer on screen in under {TARGET_S:.0f} s (PASS: the slowest of the "
        "repeats). Times in Python from just before Playwright's click until the page check "
        "holds (polled every animation frame).",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="requests per tab (default 10)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait per answer")
    parser.add_argument("--out", default=str(RESULTS / "browser_speed.json"))
    args = parser.parse_args(argv)
    command = "python benchmarks/browser_speed.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )

    load_start = os.getloadavg()
    print("importing app ...", file=sys.stderr)
    t0 = time.perf_counter()
    import app

    import_s = time.perf_counter() - t0
    import gradio

    args.forecast_plan = _forecast_plan(list(app.STATE.breakdowns), args.repeats)
    args.list_plan = _list_plan(app, args.repeats)
    result: dict[str, Any] = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": command.strip(),
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)),
            "gradio": gradio.__version__,
            "summary": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, gradio {gradio.__version__}",
        },
        "args": vars(args),
        "target_s": TARGET_S,
        "import_app_s": import_s,
    }
    print("in-process ...", file=sys.stderr)
    inproc = measure_in_process(app, args.forecast_plan, args.list_plan)
    result["in_process"] = inproc

    t0 = time.perf_counter()
    _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    result["launch_s"] = time.perf_counter() - t0
    try:
        result["browser"] = measure_browser(app, url, inproc, args)
    finally:
        app.demo.close()
    try:
        from importlib.metadata import version

        result["machine"]["playwright"] = version("playwright")
    except Exception:  # not installed: the browser part said so already
        result["machine"]["playwright"] = None
    result["machine"]["chromium"] = result["browser"].get("chromium")
    result["load_average_1_5_15"] = {"start": load_start, "end": os.getloadavg()}

    text = report(result)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"\nwrote {shown} and {shown.with_suffix('.md')}")
    return 1 if "error" in result["browser"] else 0


if __name__ == "__main__":
    sys.exit(main())
