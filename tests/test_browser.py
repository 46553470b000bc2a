"""The app in a real browser: Debian's chromium, headless, driven by Playwright's Python package.

Goes through the tabs as a person would: reads the base's forecast, makes a customer list,
looks a customer up (and sees a failed lookup clear the old answer), runs a what-if, uploads a
small file, opens the model tab. Screenshots of each step go to ``screenshots/`` (git-ignored).

Needs ``playwright`` (the Python package only: nothing downloads a browser) and the system
chromium (``apt-get install chromium``; another binary via ``CHROMIUM``). Without them the
tests are skipped with the reason, except under ``CI=true``, where they fail instead.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

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
