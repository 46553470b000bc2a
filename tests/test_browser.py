"""The app in a real browser: Debian's chromium, headless, driven by Playwright's Python package.

Goes through the tabs as a person would: reads the base's forecast, makes a customer list,
looks a customer up (and sees a failed lookup clear the old answer), runs a what-if, uploads a
small file, opens the model tab. Screenshots of each step go to ``screenshots/`` (git-ignored).

Then customers of every kind (:func:`conftest.customers_by_kind`: probably buys nothing, with
an 80% interval of [0, 0]; cold start; one purchase; returns only; the top spender), a few of
each, in the lookup and the what-if: any error badge, or an answer that is not the one asked
for (the headline of the previous customer under the new ID), fails. The helpers that ask and
judge (:func:`ask_lookup`, :func:`ask_what_if`) also drive ``benchmarks/browser_walk.py``,
which walks hundreds of customers by hand.

Needs ``playwright`` (the Python package only: nothing downloads a browser) and the system
chromium (``apt-get install chromium``; another binary via ``CHROMIUM``). Without them the
tests are skipped with the reason, except under ``CI=true``, where they fail instead.
"""

import os
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import CUSTOMER_KINDS, customers_by_kind

from clvapp.tabs import whatif

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PREDICT = re.compile(r"^Predict")  # "Predict", "Predict with these values", ...
TIMEOUT_MS = 30_000  # per wait; a lookup answers in well under a second


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sync_api():
    try:
        from playwright import sync_api
    except ImportError:
        _unavailable("playwright is not installed: pip install -r requirements.txt")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _unavailable(f"no chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM)")
    return sync_api


@pytest.fixture(scope="module")
def url(app):
    _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        app.demo.close()


@pytest.fixture(scope="module")
def page(sync_api, url):
    """One browser page on the app, shared by the tests of this module (in file order)."""
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except sync_api.Error as exc:
            _unavailable(f"chromium at {CHROMIUM} does not start: {exc}")
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.get_by_role("tab", name="Customer lookup").wait_for()
        yield page
        context.close()
        browser.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture(scope="module")
def expect(sync_api):
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    return sync_api.expect


def _open_tab(page, name: str):
    page.get_by_role("tab", name=name).click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    panel.wait_for()
    return panel


def _no_error_toast(page, expect):
    expect(page.locator(".toast-body.error")).to_have_count(0)


def test_forecast_tab_shows_the_base_forecast_on_opening(page, app, expect):
    reply = app.forecast("segment")
    tab = _open_tab(page, "Forecast")

    expect(tab.get_by_text(f"{reply['total']['expected']:,.0f}").first).to_be_visible()
    expect(tab.get_by_text("the whole base").first).to_be_visible()
    group = reply["breakdown"][0]["group"]
    expect(tab.get_by_role("gridcell", name=group, exact=True).first).to_be_visible()
    expect(page.locator("#forecast-csv a").first).to_be_visible()
    expect(page.locator("#forecast-xlsx a").first).to_be_visible()
    _no_error_toast(page, expect)
    page.screenshot(path=SHOTS / "0_forecast.png", full_page=True)


def test_customer_lists_tab_makes_a_downloadable_list(page, app, expect):
    reply = app.customer_list("top", 100)
    tab = _open_tab(page, "Customer lists")

    tab.get_by_role("button", name="Make the list").click()
    expect(tab.get_by_text("100 customers").first).to_be_visible()
    first = reply["rows"][0]["customer_id"]
    expect(tab.get_by_role("gridcell", name=first, exact=True).first).to_be_visible()
    expect(page.locator("#list-csv a").first).to_be_visible()
    _no_error_toast(page, expect)
    page.screenshot(path=SHOTS / "0_lists.png", full_page=True)


def test_customer_lookup_shows_the_prediction(page, app, expect):
    cid = app.EXAMPLE_IDS[0]
    reply = app.predict_customer(cid)
    total = f"{reply['predicted_30d_spend']['total']:,.2f}"
    tab = _open_tab(page, "Customer lookup")

    tab.get_by_label("Customer ID").fill(cid)
    tab.get_by_role("button", name=PREDICT).click()

    expect(tab.get_by_text(f"{cid}, as of {reply['as_of']}")).to_be_visible()
    expect(tab.get_by_text(total).first).to_be_visible()
    for target in reply["predicted_30d_spend"]:  # one row per target in the table
        expect(tab.get_by_role("gridcell", name=target, exact=True).first).to_be_visible()
    expect(tab.locator(".js-plotly-plot, canvas, img, svg").first).to_be_visible()
    _no_error_toast(page, expect)
    page.screenshot(path=SHOTS / "1_lookup.png", full_page=True)


def test_customer_lookup_unknown_id_gets_a_message(page, expect):
    tab = _open_tab(page, "Customer lookup")

    tab.get_by_label("Customer ID").fill("NOPE-404")
    tab.get_by_role("button", name=PREDICT).click()

    toast = page.locator(".toast-body.error").filter(has_text="Unknown customer ID")
    expect(toast.first).to_be_visible()
    # The previous customer's answer is not left on screen as if it were this one's.
    expect(tab.get_by_text("The last request failed").first).to_be_visible()
    page.screenshot(path=SHOTS / "1_lookup_unknown.png")
    page.locator(".toast-body.error .toast-close").first.click()


def test_what_if_predicts_from_a_loaded_customer(page, app, expect):
    cid = app.EXAMPLE_IDS[1]

    table, start, _, _, _ = app.load_customer(cid)
    values = table["value"].map(whatif.parsed)  # shown with thousands separators
    whole = table[values.map(lambda v: isinstance(v, float) and v % 1 == 0 and v > 1)].iloc[0]
    total = start["predicted_30d_spend"]["total"]  # an unedited table predicts the start
    tab = _open_tab(page, "What-if")

    tab.get_by_label("Start from customer").fill(cid)
    tab.get_by_role("button", name="Load customer").click()
    # grouped, by label: "<group> <label> <value> <starting value> ..."
    loaded = re.compile(rf"{re.escape(whole['feature'])} {re.escape(whole['value'])}\b")
    expect(tab.get_by_role("row", name=loaded).first).to_be_visible()
    tab.get_by_role("button", name=PREDICT).click()

    expect(tab.get_by_text("Chance of buying in the next 30 days")).to_be_visible()
    expect(tab.get_by_text("No value changed from the starting point")).to_be_visible()
    expect(tab.get_by_text(f"{total:,.2f}").first).to_be_visible()
    expect(tab.get_by_role("gridcell", name="total", exact=True).first).to_be_visible()
    expect(tab.get_by_role("gridcell", name="probability of buying").first).to_be_visible()
    _no_error_toast(page, expect)
    page.screenshot(path=SHOTS / "2_what_if.png", full_page=True)


def test_batch_upload_scores_good_rows_and_reports_the_unknown_one(page, app, expect, tmp_path):
    ids = [*app.EXAMPLE_IDS[:4], "C999999999"]
    upload = tmp_path / "five_customers.csv"
    upload.write_text("customer_id\n" + "\n".join(ids) + "\n", encoding="utf-8")
    tab = _open_tab(page, "Batch scoring")

    tab.locator("input[type=file]").first.set_input_files(upload)
    expect(tab.get_by_text("five_customers").first).to_be_visible()
    tab.get_by_role("button", name="Score file").click()

    expect(tab.get_by_text("4 of 5 rows scored")).to_be_visible()
    for cid in ids:  # the preview has one row per input row, the unknown one included
        expect(tab.get_by_role("gridcell", name=cid, exact=True).first).to_be_visible()
    # the rejected row's reason (far right, maybe scrolled out of view: in the page is enough)
    reason = tab.get_by_role("gridcell", name=re.compile("unknown customer_id"))
    expect(reason).to_have_count(1)
    expect(page.locator("#results-csv a").first).to_be_visible()
    expect(page.locator("#results-xlsx a").first).to_be_visible()
    page.screenshot(path=SHOTS / "3_batch.png", full_page=True)


def test_explanations_tab_shows_the_model_comparison(page, app, expect):
    tab = _open_tab(page, "Explanations & model")

    expect(tab.get_by_text(f"Model {app.STATE.version}").first).to_be_visible()
    from clvapp.tabs.model import model_name  # the chosen model, in words

    chosen = app.STATE.model.report_.targets["total"].chosen
    chosen = model_name(chosen, app.STATE.model.feature_config_.horizon)
    expect(tab.get_by_role("gridcell", name=chosen, exact=True).first).to_be_visible()
    expect(tab.get_by_role("gridcell", name="baseline", exact=True).first).to_be_visible()
    tab.get_by_role("button", name="Model info and health check").click()
    expect(tab.get_by_text('"ok"').or_(tab.get_by_text("ok", exact=True)).first).to_be_visible()
    page.screenshot(path=SHOTS / "4_explanations.png", full_page=True)


# ------------------------------------------------------------------ customers of every kind

#: Visible outputs still working, and visible outputs showing Gradio's bare "Error" badge
#: (the status tracker of an output whose event raised), in the open tab.
_TRACKERS = "document.querySelectorAll('[role=tabpanel] [data-testid=status-tracker]')"
_BUSY = f"""() => Array.from({_TRACKERS})
  .filter(e => e.offsetParent !== null && !e.classList.contains('hide')).length"""
_BADGES = f"""() => Array.from({_TRACKERS}).flatMap(e => Array.from(e.querySelectorAll('.error')))
  .filter(e => e.offsetParent !== null).map(e => e.innerText.trim())"""
STALE_NOTICE = "The last request failed"


def close_toasts(page) -> None:
    for close in page.locator(".toast-close").all():
        try:
            close.click(timeout=1_000)
        except Exception:  # a toast that went by itself
            pass


def _toasts(page) -> list[str]:
    """The error toasts' messages ("" for a bare "Error" with no message)."""
    texts = page.locator(".toast-body.error").all_inner_texts()
    return [re.sub(r"^\s*Error\s*×?\s*", "", t).strip() for t in texts]


def _settle(page, answered, timeout_s: float) -> dict:
    """Wait until the open tab is idle and either `answered(tab)` holds or something
    failed; what is on screen then: outcome "ok", "error badge" (a bare badge or toast, no
    message), "refused" (an error with a message), "failed" (the stale notice) or "stale"
    (idle, and not the answer asked for, until the timeout)."""
    tab = page.get_by_role("tabpanel").filter(visible=True)
    deadline, seen = time.monotonic() + timeout_s, ""
    while time.monotonic() < deadline:
        time.sleep(0.1)
        toasts, badges = _toasts(page), page.evaluate(_BADGES)
        if any(not t for t in toasts) or badges:
            return {"outcome": "error badge", "detail": toasts + badges}
        if toasts:
            return {"outcome": "refused", "detail": toasts}
        if page.evaluate(_BUSY):
            continue
        seen = " | ".join(tab.locator(".prose").all_inner_texts())
        if STALE_NOTICE in seen:
            return {"outcome": "failed", "detail": seen[:300]}
        if answered(seen):
            return {"outcome": "ok", "detail": ""}
    return {"outcome": "stale", "detail": seen[:300]}


def ask_lookup(page, cid: str, *, timeout_s: float = 30) -> dict:
    """Look `cid` up in the lookup tab; "ok" once the headline names `cid`."""
    close_toasts(page)
    tab = _open_tab(page, "Customer lookup")
    tab.get_by_label("Customer ID").fill(cid)
    tab.get_by_role("button", name=PREDICT).click()
    named = re.compile(rf"(?<![\w-]){re.escape(cid)}(?![\w-])")
    return _settle(page, lambda seen: bool(named.search(seen)), timeout_s)


def _amounts(x: float) -> list[str]:
    return [f"{x:,.2f}", f"{x:,.0f}"]


def ask_what_if(page, cid: str, total: float, *, timeout_s: float = 30) -> dict:
    """Load `cid` into the what-if and predict unedited: "ok" once the answer shows
    `total`, the customer's own expected spend (an unedited what-if predicts exactly it)."""
    close_toasts(page)
    tab = _open_tab(page, "What-if")
    tab.get_by_label("Start from customer").fill(cid)
    tab.get_by_role("button", name="Load customer").click()
    time.sleep(0.3)
    loaded = _settle(page, lambda seen: True, timeout_s)
    if loaded["outcome"] != "ok":
        return {**loaded, "step": "load"}
    tab.get_by_role("button", name=PREDICT).click()
    time.sleep(0.3)
    return _settle(page, lambda seen: any(a in seen for a in _amounts(total)), timeout_s)


def test_customers_of_every_kind_get_their_own_answer_in_lookup_and_what_if(page, app):
    """Two customers of each kind, one after another (the previous answer on screen each
    time): no error badge, no refusal, the answer is this customer's. A cold start may be
    refused by the what-if with a message (it has no features to edit), nothing else."""
    kinds = customers_by_kind(app.STATE, n=2)
    assert all(kinds[k] for k in CUSTOMER_KINDS), kinds
    problems = []
    for kind in CUSTOMER_KINDS:
        for cid in kinds[kind]:
            looked = ask_lookup(page, cid)
            if looked["outcome"] != "ok":
                problems.append(("lookup", kind, cid, looked))
            total = app.predict_customer(cid)["predicted_30d_spend"]["total"]
            tried = ask_what_if(page, cid, total)
            cold = app.predict_customer(cid)["cold_start"]
            if tried["outcome"] != "ok" and not (cold and tried["outcome"] == "refused"):
                problems.append(("what-if", kind, cid, tried))
    close_toasts(page)
    assert not problems, problems


def test_your_data_uploads_trains_and_serves_this_page_only(page, expect, small_data, tmp_path,
                                                            monkeypatch):  # fmt: skip
    """Upload a log, look at it, train (quickly), then the Forecast and a lookup answer from
    it under a banner naming it; back to the demo. Last in the file: it changes the page's
    session."""
    monkeypatch.setenv("CLV_TRAIN_QUICK", "1")
    lines = small_data.lines
    log = tmp_path / "shop.csv"
    pd.DataFrame({"customer_id": "S" + lines["customer_id"].str.slice(1),
                  "transaction_date": lines["date"].dt.strftime("%Y-%m-%d"),
                  "amount": lines["amount"], "category": lines["category"]}).to_csv(
        log, index=False)  # fmt: skip
    close_toasts(page)
    tab = _open_tab(page, "Your data")
    tab.locator("#yourdata-file input[type=file]").set_input_files(log)
    expect(tab.get_by_role("gridcell", name="transaction_date", exact=True).first).to_be_visible()
    tab.get_by_role("button", name="Look at the log").click()
    assert _settle(page, lambda seen: "Your log: shop.csv" in seen, 60)["outcome"] == "ok"
    tab.get_by_role("button", name="Train on it").click()
    assert _settle(page, lambda seen: "Trained in" in seen, 240)["outcome"] == "ok"
    expect(page.locator("#served-banner")).to_contain_text("shop.csv")
    page.screenshot(path=SHOTS / "6_yourdata.png", full_page=True)
    looked = ask_lookup(page, "S000001", timeout_s=60)
    assert looked["outcome"] == "ok", looked
    forecast = _open_tab(page, "Forecast")
    forecast.get_by_role("button", name="Forecast").click()
    assert _settle(page, lambda seen: "expected" in seen.lower(), 60)["outcome"] == "ok"
    tab = _open_tab(page, "Your data")
    tab.get_by_role("button", name="Back to the demo data").click()
    expect(page.locator("#served-banner")).to_contain_text("demo")
    close_toasts(page)
