"""The Gradio app through its API: every named endpoint, called with gradio_client.

The app is the one users get: it loads the artifacts and data of the repository (or those
named by CLV_ARTIFACTS / CLV_DATA) and is served on 127.0.0.1 for this module.
"""

import math
import re
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from clvapp import replies
from clvapp.format import value_text
from clvapp.tabs import forecast as forecast_tab
from clvapp.tabs import lists as lists_tab
from clvapp.tabs import model as model_tab
from clvapp.tabs import whatif
from clvmodel import catalogue, lists

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = {
    "/forecast",
    "/customer_list",
    "/predict_customer",
    "/predict_features",
    "/predict_batch",
    "/explain_customer",
    "/model_info",
    "/batch_template",
    "/inspect_log",
    "/train_log",
}
REPLY_KEYS = {
    "customer_id",
    "predicted_30d_spend",
    "interval_80",
    "purchase_probability",
    "spend_distribution",
    "spend_if_buy",
    "horizon_days",
    "reasons",
    "cold_start",
    "as_of",
    "currency",
    "model_version",
}


@pytest.fixture(scope="module")
def client(app, tmp_path_factory):
    _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        yield Client(url, verbose=False, download_files=tmp_path_factory.mktemp("downloads"))
    finally:
        app.demo.close()


@pytest.fixture(scope="module")
def spend_targets(app) -> list[str]:
    return ["total", *app.MODEL.categories]


def _check_reply(reply: dict, spend_targets: list[str]) -> None:
    assert list(reply["predicted_30d_spend"]) == spend_targets
    assert list(reply["interval_80"]) == spend_targets
    for target in spend_targets:
        low, high = reply["interval_80"][target]
        assert isinstance(reply["predicted_30d_spend"][target], float)
        assert isinstance(low, float) and isinstance(high, float)
        assert 0 <= low <= high
        assert round(low, 2) == low and round(high, 2) == high
    assert 0.0 <= reply["purchase_probability"] <= 1.0
    assert round(reply["purchase_probability"], 4) == reply["purchase_probability"]


def test_every_endpoint_is_named_and_helpers_are_hidden(client):
    assert (
        set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ENDPOINTS
    )


# ------------------------------------------------------------------ /predict_customer


def test_predict_customer(client, app, spend_targets):
    cid = app.EXAMPLE_IDS[0]
    reply = client.predict(cid, api_name="/predict_customer")
    assert set(reply) == REPLY_KEYS
    _check_reply(reply, spend_targets)
    assert reply["customer_id"] == cid
    assert reply["as_of"] == f"{app.DEFAULT_AS_OF:%Y-%m-%d}"
    assert reply["currency"] == app.STATE.meta["currency"]
    assert reply["model_version"] == app.STATE.meta["model_version"]
    assert list(reply["spend_distribution"]) == ["p10", "p50", "p90"]
    assert 1 <= len(reply["reasons"]) <= 3 and reply["cold_start"] is False
    expected = app.SCORER.scores().loc[cid]
    assert reply["predicted_30d_spend"]["total"] == pytest.approx(
        expected["predicted_total"], abs=0.006
    )
    assert reply["purchase_probability"] == pytest.approx(
        expected["purchase_probability"], abs=6e-5
    )


def test_predict_customer_as_of_an_earlier_date(client, app):
    reply = client.predict(app.EXAMPLE_IDS[0], "2026-06-01", api_name="/predict_customer")
    assert reply["as_of"] == "2026-06-01"


@pytest.mark.parametrize(
    ("customer_id", "as_of", "message"),
    [
        ("NOPE-42", "", r"Unknown customer ID 'NOPE-42': it is not in the customer table"),
        ("   ", "", r"Enter a customer ID"),
        ("X" * 500, "", r"customer_id is 500 characters long"),
        ("C000001", "not a date", r"as_of must be a date like \d{4}-\d\d-\d\d; got 'not a date'"),
        ("C000001", "2999-01-01", r"as_of must be on or before"),
        ("C000001", "1999-01-01", r"no transactions before the cutoff 1999-01-01"),
    ],
    ids=["unknown", "blank", "too-long", "bad-date", "future-date", "before-the-data"],
)
def test_predict_customer_bad_input(client, customer_id, as_of, message):
    with pytest.raises(AppError, match=message):
        client.predict(customer_id, as_of, api_name="/predict_customer")


# ------------------------------------------------------------------ /predict_features


def test_predict_features_fills_and_lists_missing_features(client, app, spend_targets):
    reply = client.predict(
        {"days_since_last": 5, "txn_count_90d": "3"}, api_name="/predict_features"
    )
    assert set(reply) == REPLY_KEYS | {"filled_features"}
    _check_reply(reply, spend_targets)
    assert reply["customer_id"] is None
    assert reply["filled_features"] == [
        f for f in app.MODEL.feature_names_ if f not in {"days_since_last", "txn_count_90d"}
    ]


def test_predict_features_of_a_customer_matches_predict_customer(client, app):
    cid = app.EXAMPLE_IDS[1]
    values = app.SCORER.features().loc[cid]
    features = {f: (None if math.isnan(v) else float(v)) for f, v in values.items()}
    by_features = client.predict(features, api_name="/predict_features")
    by_id = client.predict(cid, api_name="/predict_customer")
    assert by_features["filled_features"] == []
    assert by_features["predicted_30d_spend"] == by_id["predicted_30d_spend"]
    assert by_features["purchase_probability"] == by_id["purchase_probability"]


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            {"days_since_last": 50, "days_since_first": 5},
            r"days_since_last must be <= days_since_first .* got 50 > 5",
        ),
        ({"txn_count_30d": -2}, r"txn_count_30d must be >= 0; got -2"),
        ({"spend_30d": "lots"}, r"spend_30d: 'lots' is not a number"),
        ({"dayz_since_last": 5}, r"'dayz_since_last' \(did you mean 'days_since_last'\?\)"),
        ({}, r"features is empty"),
        ([1, 2], r"features must be a JSON object"),
    ],
    ids=["recency-beyond-tenure", "negative-count", "not-a-number", "typo", "empty", "list"],
)
def test_predict_features_bad_input(client, features, message):
    with pytest.raises(AppError, match=message):
        client.predict(features, api_name="/predict_features")


# ------------------------------------------------------------------ /explain_customer


def test_explain_customer(client, app):
    cid = app.EXAMPLE_IDS[0]
    reply = client.predict(cid, api_name="/explain_customer")
    assert set(reply) == {"customer_id", "as_of", "model_version", "feature_values", "targets",
                          "reasons", "reason_features"}  # fmt: skip
    assert reply["customer_id"] == cid
    assert list(reply["feature_values"]) == app.MODEL.feature_names_
    assert list(reply["targets"]) == app.MODEL.feature_config_.targets
    for entry in reply["targets"].values():
        assert set(entry) == {"model", "scale", "base_value", "contributions", "note", "served"}
        assert entry["note"] == ""
        assert set(entry["contributions"]) == set(app.MODEL.feature_names_)
        sizes = [abs(c) for c in entry["contributions"].values()]
        assert sizes == sorted(sizes, reverse=True)


def test_explain_unknown_customer(client):
    with pytest.raises(AppError, match="Unknown customer ID 'nobody'"):
        client.predict("nobody", api_name="/explain_customer")


# ------------------------------------------------------------------ /model_info


def test_model_info(client, app):
    info = client.predict(api_name="/model_info")
    assert info["status"] == "ok"
    assert info["model_version"] == app.STATE.meta["model_version"]
    assert info["categories"] == list(app.MODEL.categories)
    assert info["features"] == app.MODEL.feature_names_
    assert info["cutoffs"] == app.STATE.meta["cutoffs"]
    assert set(info["headline_metrics"]) == set(app.MODEL.feature_config_.targets)
    assert {"trained_at", "currency", "default_as_of", "data"} <= set(info)


# ------------------------------------------------------------------ /batch_template


def test_batch_templates(client, app):
    ids = pd.read_csv(client.predict(api_name="/batch_template"), dtype=str)
    assert ids["customer_id"].tolist() == app.EXAMPLE_IDS
    features = pd.read_csv(client.predict("features", api_name="/batch_template"))
    assert list(features.columns) == app.MODEL.feature_names_
    assert len(features) == 1


# ------------------------------------------------------------------ /predict_batch


def test_predict_batch_scores_good_rows_and_reports_bad_ones(client, app, tmp_path):
    good = app.EXAMPLE_IDS[:2]
    upload = tmp_path / "customers.csv"
    upload.write_text(f"customer_id\n{good[0]}\nnobody\n=cmd|' /C calc'!A0\n{good[1]}\n")
    csv_path, xlsx_path, summary = client.predict(handle_file(upload), api_name="/predict_batch")
    assert Path(csv_path).name == "customers_predictions.csv"
    assert summary["rows"] == 4 and summary["scored"] == 2 and summary["rejected"] == 2
    assert summary["mode"] == "customer_id"
    assert summary["file"] == "customers.csv"
    for results in (
        pd.read_csv(csv_path, dtype={"customer_id": str}, keep_default_na=False),
        pd.read_excel(xlsx_path, dtype={"customer_id": str}, keep_default_na=False),
    ):
        assert results["customer_id"].tolist() == [
            good[0],
            "nobody",
            "'=cmd|' /C calc'!A0",
            good[1],
        ]
        assert results["error"].tolist() == [
            "",
            "unknown customer_id: not in the customer table",
            "unknown customer_id: not in the customer table",
            "",
        ]
        assert results.loc[[0, 3], "predicted_total"].astype(float).notna().all()
        assert (results.loc[[1, 2], "predicted_total"] == "").all()


def test_predict_batch_features_file(client, tmp_path):
    template = pd.read_csv(client.predict("features", api_name="/batch_template"), dtype=str)
    table = pd.concat([template] * 3, ignore_index=True)
    table.loc[1, "days_since_last"] = "soon"
    table = table.drop(columns=["spend_7d"])
    upload = tmp_path / "whatif.xlsx"
    table.to_excel(upload, index=False)
    csv_path, _, summary = client.predict(handle_file(upload), api_name="/predict_batch")
    assert (summary["mode"], summary["scored"], summary["rejected"]) == ("features", 2, 1)
    assert summary["filled_features"] == ["spend_7d"]
    results = pd.read_csv(csv_path, keep_default_na=False)
    assert results["error"].tolist() == ["", "days_since_last: 'soon' is not a number", ""]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("junk.csv", b"\x89PNG\r\n\x1a\n\x00\x00binary", r"junk\.csv is not a table"),
        ("empty.csv", b"", r"empty\.csv is empty"),
        ("people.csv", b"name,email\nAsha,a@x.in\n", r"people\.csv: the table has neither"),
        ("fake.xlsx", b"PK\x03\x04 not a zip", r"fake\.xlsx is not a readable Excel workbook"),
    ],
    ids=["binary", "empty", "no-usable-column", "damaged-xlsx"],
)
def test_predict_batch_bad_file(client, tmp_path, name, content, message):
    upload = tmp_path / name
    upload.write_bytes(content)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(upload), api_name="/predict_batch")


def test_predict_batch_many_rows_through_submit(client, app, tmp_path):
    upload = tmp_path / "ids.csv"
    upload.write_text("customer_id\n" + "\n".join(app.EXAMPLE_IDS * 500) + "\n")
    job = client.submit(handle_file(upload), api_name="/predict_batch")
    _, _, summary = job.result(timeout=60)
    assert summary["scored"] == 4 * 500
    assert job.status().success


def test_customer_without_purchases(client, app):
    """Scored from attributes when the model has a cold-start part, else a clear error."""
    no_history = app.SOURCE.data.customers.index.difference(app.SCORER.features().index)
    if no_history.empty:
        pytest.skip("every customer in the data has a purchase")
    cid = str(no_history[0])
    if cid not in app.SCORER.scores().index:
        with pytest.raises(AppError, match=f"Customer '{cid}' has no purchase before"):
            client.predict(cid, api_name="/predict_customer")
        return
    assert set(client.predict(cid, api_name="/predict_customer")) == REPLY_KEYS
    explanation = client.predict(cid, api_name="/explain_customer")
    assert explanation["feature_values"] == {}
    for entry in explanation["targets"].values():
        assert entry["contributions"] == {}
        assert entry["note"].startswith("no purchase before")


# ------------------------------------------------------------------ /forecast


def test_forecast_total_is_the_sum_of_the_customers_and_breakdowns_add_up(client, app):
    reply = client.predict("segment", "", "", "", api_name="/forecast")
    scores = app.SCORER.scores(reasons=False)
    assert reply["customers"] == len(scores)
    assert reply["total"]["expected"] == pytest.approx(scores["predicted_total"].sum(), abs=0.01)
    low, expected, high = (reply["total"][k] for k in ("low", "expected", "high"))
    assert 0 <= low < expected < high
    categories = sum(v["expected"] for v in reply["categories"].values())
    assert categories == pytest.approx(expected, rel=1e-6)
    groups = pd.DataFrame(reply["breakdown"])
    assert set(groups["group"]) >= set(app.SOURCE.data.customers["segment_id"].unique())
    for target, part in groups.groupby("target"):
        whole = expected if target == "total" else reply["categories"][target]["expected"]
        assert part["expected"].sum() == pytest.approx(whole, rel=1e-6)
    assert groups["customers"].groupby(groups["target"]).sum().eq(reply["customers"]).all()


def test_forecast_filter_keeps_one_part_of_the_base(client, app):
    everyone = client.predict("", "", "", "", api_name="/forecast")
    premium = client.predict("", "segment", "premium", "", api_name="/forecast")
    assert premium["filter"] == {"segment": "premium"}
    assert 0 < premium["customers"] < everyone["customers"]
    assert premium["total"]["expected"] < everyone["total"]["expected"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "segment", "nobody", ""), r"No customer has segment = 'nobody'\. Values: "),
        (("", "colour", "red", ""), r"filter_column must be one of"),
        (("shoe size", "", "", ""), r"cannot break down by 'shoe size'"),
        (("", "", "", "not a date"), r"as_of must be a date"),
    ],
    ids=["unknown-value", "unknown-column", "unknown-breakdown", "bad-date"],
)
def test_forecast_bad_inputs_get_a_clear_message(client, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/forecast")


# ------------------------------------------------------------------ /customer_list


def test_customer_lists_are_ranked_and_sized(client, app):
    top = client.predict("top", 25, "total", "", "", "", api_name="/customer_list")
    rows = pd.DataFrame(top["rows"])
    assert len(rows) == 25 and list(rows["rank"]) == list(range(1, 26))
    assert rows["expected_total"].is_monotonic_decreasing
    best = app.SCORER.scores(reasons=False)
    best = best[~best["cold_start"]]["predicted_total"].nlargest(1)
    assert rows["customer_id"].iloc[0] == best.index[0]
    assert {"segment", "loyalty_tier", "days_since_last", "purchase_probability"} <= set(rows)
    assert rows["reason"].str.len().gt(0).any()
    lapse = pd.DataFrame(
        client.predict("lapse", 10, "total", "", "", "", api_name="/customer_list")["rows"]
    )
    assert (lapse["purchase_probability"] < 0.5).all()
    new = pd.DataFrame(
        client.predict("new", 5, "total", "segment", "premium", "", api_name="/customer_list")[
            "rows"
        ]
    )
    assert (new["segment"] == "premium").all()
    category = app.MODEL.categories[0]
    cross = client.predict("cross_sell", 10, category, "", "", "", api_name="/customer_list")
    assert "main_category" in pd.DataFrame(cross["rows"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("favourites", 10, "total", "", "", ""), r"favourites"),
        (("top", 0, "total", "", "", ""), r"n"),
        (("cross_sell", 10, "total", "", "", ""), r"cross_sell"),
        (("top", 10, "toys", "", "", ""), r"toys"),
    ],
    ids=["unknown-kind", "zero", "cross-sell-total", "unknown-target"],
)
def test_customer_list_bad_inputs_get_a_clear_message(client, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/customer_list")


def test_customer_id_in_another_case_finds_the_customer(client, app):
    cid = app.EXAMPLE_IDS[0]
    reply = client.predict(cid.lower(), api_name="/predict_customer")
    assert reply["customer_id"] == cid


# ------------------------------------------------------------------ what a person sees


def test_contradictory_what_if_values_are_refused(client):
    features = {"spend_90d": 5000, "spend_365d": 100, "returns_365d": 0}
    with pytest.raises(AppError, match=r"spend_90d must be <= spend_365d plus returns_365d"):
        client.predict(features, api_name="/predict_features")
    with pytest.raises(AppError, match=r"txn_count_30d must be <= txn_count_90d; got 9 > 2"):
        client.predict({"txn_count_30d": 9, "txn_count_90d": 2}, api_name="/predict_features")
    # What a return explains is not a contradiction: net spend over 365 days is lower.
    reply = client.predict(
        {"spend_90d": 500, "spend_365d": 300, "returns_365d": 250}, api_name="/predict_features"
    )
    assert reply["predicted_30d_spend"]["total"] >= 0


def test_what_if_table_is_grouped_labelled_and_marks_edits(app):
    cid = app.EXAMPLE_IDS[1]
    table, start, exact = app.load_customer(cid)[:3]
    # the table shows rounded values; left unedited, it predicts exactly the starting point
    unedited = whatif.predict_features(app.STATE, whatif.table_to_features(table, exact))
    assert unedited["predicted_30d_spend"] == start["predicted_30d_spend"]
    assert unedited["purchase_probability"] == start["purchase_probability"]
    groups = [g for g, _ in catalogue.GROUPS]
    # related features sit together: the group column never returns to an earlier group
    order = [groups.index(g) for g in table["group"] if g in groups]
    assert order == sorted(order)
    assert "days_since_last" not in set(table["feature"])  # labels, not raw names
    assert (table["changed"] == "").all()
    edited = table.copy()
    row = edited.index[edited["name"] == "days_since_last"][0]
    edited.loc[row, "value"] = 1.0
    reply = whatif.predict_features(app.STATE, whatif.table_to_features(edited, exact))
    headline, predictions, marked = whatif.show_whatif(app.STATE, reply, start, edited)
    assert marked.loc[row, "changed"] == "✎ edited"
    assert (marked["changed"] != "").sum() == 1
    assert "1 value changed" in headline
    # every prediction beside its starting point, with the change
    targets = app.STATE.spend_targets
    assert list(predictions["target"]) == [
        targets[0],
        replies.IF_BUY_ROW,
        *targets[1:],
        "probability of buying",
    ]
    total = predictions.set_index("target").loc["total"]
    now, before = reply["predicted_30d_spend"]["total"], start["predicted_30d_spend"]["total"]
    assert total["change"] == f"{now - before:+,.2f}"


def test_tables_show_money_with_separators_and_probabilities_as_percentages(app):
    reply = app.predict_customer(app.EXAMPLE_IDS[0])
    table = replies.prediction_table(app.STATE, reply).set_index("target")
    total = reply["predicted_30d_spend"]["total"]
    assert table.loc["total", f"expected ({app.STATE.currency})"] == f"{total:,.2f}"
    assert table.loc["probability of buying", f"expected ({app.STATE.currency})"] == (
        f"{reply['purchase_probability']:.1%}"
    )
    _, _, _, drivers = app.show_lookup(reply, app.explain_customer(app.EXAMPLE_IDS[0]))
    names = set(app.MODEL.feature_names_)
    assert len(drivers) and not set(drivers["feature"]) & names  # labels, not raw names
    money = r"^[+-]?[\d,]+\.\d{2}$"  # currency, thousands separators; points for buying
    spend = drivers["prediction"].str.startswith("total spend")
    assert drivers.loc[spend, "contribution"].str.match(money).all()
    assert drivers.loc[~spend, "contribution"].str.match(r"^([+-]\d+\.\d pts|\d+\.\d%)$").all()
    assert value_text("spend_90d", 28568.591) == "28,568.59"
    assert value_text("online_share", 0.2158) == "22%"
    comparison = model_tab.comparison_table(app.STATE, "total")
    assert comparison["Mean absolute error"].str.match(r"^[\d,]+(\.\d{3})?$").all()


def test_every_table_has_its_headers_before_the_first_answer(app):
    frames = [c for c in app.demo.config["components"] if c["type"] == "dataframe"]
    assert len(frames) >= 7
    for frame in frames:
        headers = frame["props"]["value"]["headers"]
        assert headers and headers[:3] != ["1", "2", "3"], frame["props"]["label"]


def test_plots_have_no_label_over_their_title_and_calibration_is_shown_once(app):
    plots = [c for c in app.demo.config["components"] if c["type"] == "plot"]
    assert plots and all(p["props"]["show_label"] is False for p in plots)
    # the model tab's plots are the ones drawn at start: importance and quality, no third
    # calibration plot beside them
    assert len([p for p in plots if p["props"].get("value")]) == 2
    _, quality, _ = model_tab.model_views(app.STATE, "purchase")
    assert "calibration" in quality.axes[0].get_title().lower()


def test_a_lookup_at_a_new_date_shows_progress_on_the_visible_outputs(app):
    ids = {c["props"].get("elem_id"): c["id"] for c in app.demo.config["components"]}
    for name in ("predict_customer", "explain_customer"):
        (event,) = [d for d in app.demo.config["dependencies"] if d.get("api_name") == name]
        assert event["show_progress"] == "full"
        assert ids["lookup-table"] in event["show_progress_on"]


def test_forecast_tab_shows_the_monthly_history_per_category_too(app):
    reply = app.forecast("segment")
    history = app._revenue_history(pd.Timestamp(reply["as_of"]), None)
    assert list(history) == ["total", *app.MODEL.categories]
    parts = sum(history[c]["spend"] for c in app.MODEL.categories)
    assert parts.to_numpy() == pytest.approx(history["total"]["spend"].to_numpy())
    months = app.SOURCE.data.transactions["date"].dt.to_period("M")
    last = app.SOURCE.data.transactions.loc[months == months.max(), "amount"].sum()
    assert history["total"]["spend"].iloc[-1] == pytest.approx(last)
    outputs = forecast_tab.show_forecast(app.STATE, reply, None, None)
    by_category = outputs[3]
    shown = [ax.get_title() for ax in by_category.axes if ax.get_visible()]
    assert shown == list(app.MODEL.categories)


def test_list_rule_names_the_target_and_cross_sell_moves_off_total(app):
    reply = app.customer_list("top", 5, "grocery")
    assert "'grocery'" in reply["rule"] and "`target`" not in reply["rule"]
    assert lists_tab._target_for_kind(app.STATE, "cross_sell", "total") == app.MODEL.categories[0]
    assert lists_tab._target_for_kind(app.STATE, "cross_sell", "home") == "home"
    assert lists_tab._target_for_kind(app.STATE, "top", "total") == "total"


def test_forecast_table_puts_each_groups_total_first_and_says_the_breakdown(app):
    reply = app.forecast("segment")
    headline, table = forecast_tab.show_forecast(app.STATE, reply, None, None)[:2]
    assert "breaks it down by **segment**" in headline
    shown = ["total (all categories)", *app.MODEL.categories]
    for _, rows in table[table["Group"] != "everyone"].groupby("Group", sort=False):
        assert list(rows["Spend on"]) == shown


# ------------------------------------------------------------------ the package's pieces


def test_library_errors_become_gr_error_and_are_logged(caplog):
    import gradio as gr

    from clvapp.errors import reported

    @reported
    def refuse(kind: str) -> None:
        if kind == "input":
            raise ValueError("n must be >= 1; got 0")
        raise KeyError("a bug")

    with caplog.at_level("INFO", logger="clvapp"):
        with pytest.raises(gr.Error, match=r"n must be >= 1; got 0"):
            refuse("input")
        with pytest.raises(KeyError):
            refuse("bug")
    input_error, bug = caplog.records
    assert input_error.levelname == "INFO" and input_error.exc_info is None
    assert input_error.getMessage() == "refuse refused: n must be >= 1; got 0"
    assert bug.levelname == "ERROR" and bug.exc_info is not None


def test_handlers_reach_the_state_through_the_served_accessor(app):
    import inspect

    from clvapp.state import Served
    from clvapp.tabs import lookup

    bound = app.SERVED.bind(lookup.predict_customer)
    parameters = list(inspect.signature(bound).parameters)
    assert parameters == ["customer_id", "as_of", "progress", "request"]  # request: the session
    assert bound.__doc__ == lookup.predict_customer.__doc__
    served = Served(app.STATE)
    assert served.bind(lookup.scale)("purchase") == "log-odds of buying"
    assert app.STATE.interval_key == f"interval_{round(app.STATE.model.interval * 100)}"


# ------------------------------------------------------------------ filters, lists, labels


def _group_totals(reply: dict) -> dict[str, dict]:
    return {r["group"]: r for r in reply["breakdown"] if r["target"] == "total"}


def test_every_group_a_breakdown_shows_can_be_filtered_in_any_case(app):
    for column in app.STATE.breakdowns:
        groups = _group_totals(app.forecast(column))
        if column in ("region", "channel", "store"):
            assert "unknown" in groups  # customers who never bought have none
        for name, row in groups.items():
            typed = name.upper() if len(groups) % 2 else f"  {name.title()} "
            one = app.forecast("", column, typed, "")
            assert one["filter"] == {column: name}
            assert one["customers"] == row["customers"], (column, name)
            assert one["total"]["expected"] == pytest.approx(row["expected"], abs=0.02)


def test_the_unknown_region_is_the_customers_without_a_purchase(app):
    reply = app.forecast("", "region", "Unknown", "")
    scores = app.SCORER.scores(reasons=False)
    assert reply["customers"] == int(scores["cold_start"].sum())
    listed = pd.DataFrame(app.customer_list("new", 50, "total", "REGION", "unknown")["rows"])
    assert len(listed) and listed["region"].isna().all()
    table = lists_tab.show_list(
        app.STATE, app.customer_list("new", 5, "total", "region", "unknown")
    )[1]["value"]
    assert (table["Region"] == "unknown").all()


@pytest.mark.parametrize("api_name", ["/forecast", "/customer_list"])
def test_a_filter_value_without_a_column_is_an_error(client, api_name):
    args = (
        ("", "", "north", "") if api_name == "/forecast" else ("top", 5, "total", "", "north", "")
    )
    with pytest.raises(AppError, match=r"filter_value 'north' needs a filter_column"):
        client.predict(*args, api_name=api_name)
    args = (
        ("", "region", "", "") if api_name == "/forecast" else ("top", 5, "total", "region", "", "")
    )
    with pytest.raises(AppError, match=r"Enter the region to keep"):
        client.predict(*args, api_name=api_name)


def test_category_loyal_list_through_the_api(client, app):
    reply = client.predict("category_loyal", 30, "total", "", "", "", api_name="/customer_list")
    rows = pd.DataFrame(reply["rows"])
    assert len(rows) == 30 and (rows["loyal_share"] > 0.7).all()
    assert set(rows["loyal_category"]) <= set(app.MODEL.categories)
    key = [row[f"expected_{row['loyal_category']}"] for row in reply["rows"]]
    assert key == sorted(key, reverse=True)  # ranked by expected spend in that category
    features = app.SOURCE.list_features(app.DEFAULT_AS_OF)
    for row in reply["rows"][:5]:
        assert features.loc[row["customer_id"], f"share_{row['loyal_category']}"] > 0.7
    category = app.MODEL.categories[0]
    one = client.predict("category_loyal", 10, category, "", "", "", api_name="/customer_list")
    assert {r["loyal_category"] for r in one["rows"]} == {category}


def test_multi_category_list_through_the_api(client, app):
    reply = client.predict("multi_category", 20, "total", "", "", "", api_name="/customer_list")
    rows = pd.DataFrame(reply["rows"])
    assert len(rows) == 20 and (rows["categories_365d"] >= 3).all()
    assert rows["expected_total"].is_monotonic_decreasing
    features = app.SOURCE.list_features(app.DEFAULT_AS_OF).loc[rows["customer_id"]]
    bought = (features[[f"lines_{c}_365d" for c in app.MODEL.categories]] > 0).sum(axis=1)
    assert (bought.to_numpy() == rows["categories_365d"].to_numpy()).all()


def test_top_list_with_a_minimum_expected_spend(client, app):
    scores = app.SCORER.scores(reasons=False)
    scores = scores[~scores["cold_start"]]
    threshold = float(scores["predicted_total"].quantile(0.99))
    reply = client.predict("top", 10_000, "total", "", "", "", threshold, api_name="/customer_list")
    rows = pd.DataFrame(reply["rows"])
    assert len(rows) == int((scores["predicted_total"] >= threshold).sum())
    assert (rows["expected_total"] >= threshold).all()
    assert reply["min_expected"] == threshold and "at least" in reply["rule"]
    old = client.predict("top", 5, "total", "", "", "", api_name="/customer_list")
    assert old["min_expected"] is None and len(old["rows"]) == 5
    with pytest.raises(AppError, match=r"min_expected applies to the lists \['top'\]"):
        client.predict("lapse", 5, "total", "", "", "", 100, api_name="/customer_list")


def test_list_table_reads_in_words_with_currency_and_percentages(app):
    currency = app.STATE.currency
    for kind in lists.KINDS:
        target = app.MODEL.categories[0] if kind == "cross_sell" else "total"
        text, update = lists_tab.show_list(app.STATE, app.customer_list(kind, 5, target))[:2]
        table = update["value"]
        assert len(update["column_widths"]) == len(table.columns)
        assert lists.KINDS[kind].label in text and "…" not in text
        headers = list(table.columns)
        assert f"Expected spend ({currency})" in headers
        assert {"Chance of buying", "Customer", "Rank"} <= set(headers)
        assert not [h for h in headers if "_" in h], headers  # no raw column names
        if len(table):
            assert table["Chance of buying"].str.match(r"^\d+\.\d%$").all()
            assert table[f"Expected spend ({currency})"].str.match(r"^[\d,]+\.\d\d$").all()
    top = lists_tab.show_list(app.STATE, app.customer_list("top", 5))[1]["value"]
    assert "Days since last purchase" in top
    assert top[f"Expected spend ({currency})"].str.contains(",").any()
    radios = [c for c in app.demo.config["components"] if c["type"] == "radio"]
    choices = [c[0] for r in radios for c in r["props"]["choices"]]
    assert "Cross-sell" in choices and "cross_sell" not in choices
    lists_frame = [
        c for c in app.demo.config["components"]
        if c["type"] == "dataframe" and c["props"]["label"] == "Customers"
    ]  # fmt: skip
    assert lists_frame and lists_frame[0]["props"]["wrap"] is True  # reasons are not cut


def _without_currency(state):
    import copy
    import dataclasses

    model = copy.copy(state.model)
    model.metadata_ = {**state.model.metadata_, "currency": ""}
    return dataclasses.replace(state, model=model)


def test_texts_read_well_without_a_currency(app):
    state = _without_currency(app.STATE)
    assert state.currency == ""
    reply = forecast_tab.forecast(state, "segment")
    headline, table = forecast_tab.show_forecast(state, reply, None, None)[:2]
    assert headline.startswith(f"**{reply['total']['expected']:,.0f}** expected")
    assert "()" not in headline and not re.search(r"\*\* \d", headline)  # not "** 1,047"
    assert "Expected" in table.columns and not [c for c in table.columns if "()" in c]
    assert table["Customers"].str.match(r"^[\d,]+$").all()
    listed = lists_tab.show_list(state, lists_tab.customer_list(state, "top", 5))[1]["value"]
    assert "Expected spend" in listed.columns
    assert not [c for c in listed.columns if "()" in c]
    assert forecast_tab.amount(1047.8, "", 2) == "1,047.80"
    assert forecast_tab.amount(1047.8, "INR") == "INR 1,048"


def test_forecast_table_reads_in_words(app):
    table = forecast_tab.show_forecast(app.STATE, app.forecast("loyalty_tier"), None, None)[1]
    currency = app.STATE.currency
    assert list(table.columns) == [
        "Group", "Spend on", "Customers", f"Expected ({currency})", "80% interval: low",
        "80% interval: high",
    ]  # fmt: skip
    assert table["Group"].iloc[0] == "everyone"
    assert table[f"Expected ({currency})"].str.match(r"^-?[\d,]+\.\d\d$").all()
    assert table["Customers"].iloc[0] == f"{app.forecast('')['customers']:,}"


# ------------------------------------------------------------------ one ID rule, one date rule


def test_an_id_with_spaces_or_in_another_case_finds_the_customer_in_lookup_and_batch(
    client, app, tmp_path
):
    cid = app.EXAMPLE_IDS[0]
    assert client.predict(f"  {cid.lower()} ", api_name="/predict_customer")["customer_id"] == cid
    upload = tmp_path / "ids.csv"
    upload.write_text(f"customer_id\n{cid.lower()}\n {cid} \n{app.EXAMPLE_IDS[1]}\n")
    csv_path, _, summary = client.predict(handle_file(str(upload)), api_name="/predict_batch")
    out = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    assert out["customer_id"].tolist() == [cid, cid, app.EXAMPLE_IDS[1]]
    assert out["error"].tolist() == ["", "", ""]
    assert out["duplicate"].tolist() == ["True", "True", "False"]
    assert summary["duplicated_rows"] == 2


@pytest.mark.parametrize("as_of", ["01/06/2026", "13/06/2026"])
def test_a_slashed_as_of_is_refused_not_guessed(client, app, as_of):
    with pytest.raises(AppError, match=r"as_of must be a date like .* never guessed"):
        client.predict(app.EXAMPLE_IDS[0], as_of, api_name="/predict_customer")


# ------------------------------------------------------------------ what-if consistency


def _loaded(app, cid=None):
    table, start, exact = app.load_customer(cid or app.EXAMPLE_IDS[1])[:3]
    return table.copy(), start, exact


def _edit(table, **values):
    for name, value in values.items():
        table.loc[table.index[table["name"] == name][0], "value"] = value
    return table


def test_what_if_recomputes_the_overdue_ratio_from_the_edited_days(app):
    table, start, exact = _loaded(app)
    days = float(exact["days_since_last"]) - 2  # still inside their purchase windows
    edited = _edit(table, days_since_last=f"{days:g}")
    sent = whatif.features_of(app.STATE, edited, exact)
    assert sent["overdue_ratio"] == pytest.approx(days / exact["gap_mean_days"])
    reply = whatif.predict_features(app.STATE, sent)
    _, _, marked = whatif.show_whatif(app.STATE, reply, start, edited, sent)
    row = marked.set_index("name").loc["overdue_ratio"]
    assert row["changed"] == "" and row["follows the edits"].startswith(
        f"{days / exact['gap_mean_days']:,.2f}".rstrip("0").rstrip(".")
    )
    assert (marked["changed"] != "").sum() == 1


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        (
            {"days_since_last": "5", "txn_count_7d": "0", "txn_count_30d": "0",
             "txn_count_90d": "0", "returns_365d": "0"},
            r"txn_count_90d is 0 but days_since_last is 5",
        ),
        ({"spend_90d": "1e11", "spend_365d": "2e11", "spend_lifetime": "3e11"},
         r"spend_90d is 100,000,000,000, far outside the training data"),
        ({"days_since_last": "1000000", "days_since_first": "1000000"},
         r"days_since_last is 1,000,000, far outside the training data"),
        ({"loyalty_tier": "99"}, r"loyalty_tier is 99, a code the training data never holds"),
    ],
    ids=["recent-without-purchases", "huge-spend", "huge-recency", "tier-99"],
)  # fmt: skip
def test_what_if_refuses_what_the_issue_found_accepted(app, edits, message):
    table, _, exact = _loaded(app)
    sent = whatif.features_of(app.STATE, _edit(table, **edits), exact)
    with pytest.raises(gr.Error, match=message):
        whatif.predict_features(app.STATE, sent)


def test_after_a_refused_predict_marks_are_the_real_edits_and_no_answer_is_left(app):
    table, start, exact = _loaded(app)
    first = _edit(table.copy(), basket_std="1")
    whatif.show_whatif(app.STATE, whatif.predict_features(
        app.STATE, whatif.features_of(app.STATE, first, exact)), start, first)  # fmt: skip
    # the first edit undone, an impossible tier typed: refused
    now = _edit(first.copy(), basket_std=table.set_index("name").loc["basket_std", "value"],
                loyalty_tier="99")  # fmt: skip
    with pytest.raises(gr.Error):
        whatif.predict_features(app.STATE, whatif.features_of(app.STATE, now, exact))
    _, result, marked, reply = whatif.failed(app.STATE, now)
    assert reply is None and result.empty
    assert marked.loc[marked["changed"] != "", "name"].tolist() == ["loyalty_tier"]


def test_what_if_values_have_thousands_separators(app):
    table, _, exact = _loaded(app, app.EXAMPLE_IDS[0])
    row = table.set_index("name").loc["spend_lifetime"]
    assert float(exact["spend_lifetime"]) >= 1000
    assert row["value"] == f"{round(exact['spend_lifetime'], 2):,.2f}".rstrip("0").rstrip(".")
    assert "," in row["value"]
    assert whatif.parsed(row["value"]) == pytest.approx(exact["spend_lifetime"], abs=0.01)
    assert whatif.parsed("1,5") == "1,5"  # not a number: the library names it


# ------------------------------------------------------------------ hurdle and explanations


def _kinds(app) -> dict[str, str]:
    """A customer of each kind: the top spender, one of [0, 0] interval, cold start, one
    purchase, returns exceeding purchases, an example."""
    scores, x = app.SCORER.scores(), app.SCORER.features()
    history = scores[~scores["cold_start"]]
    out = {
        "top": history["predicted_total"].idxmax(),
        "zero_interval": history.index[history["predicted_total_high"] == 0][0],
        "one_purchase": x.index[x["txn_count_lifetime"] == 1][0],
        "example": app.EXAMPLE_IDS[-1],
    }
    if scores["cold_start"].any():
        out["cold_start"] = scores.index[scores["cold_start"]][0]
    returns = x.index[x["spend_365d"] < 0]
    if len(returns):
        out["returns"] = returns[0]
    return out


def _numbers(text: str) -> list[float]:
    return [float(v.replace(",", "")) for v in re.findall(r"-?\d[\d,]*(?:\.\d+)?", text)]


def test_lookup_reads_the_hurdle_and_its_drivers_add_up_for_every_kind(app):
    from clvapp.tabs import lookup

    state = app.STATE
    horizon, currency = state.model.feature_config_.horizon, state.currency
    for kind, cid in _kinds(app).items():
        reply = lookup.predict_customer(state, cid)
        explanation = lookup.explain_customer(state, cid)
        text, table, _, drivers = lookup.show_lookup(state, reply, explanation)
        p, total = reply["purchase_probability"], reply["predicted_30d_spend"]["total"]
        assert f"Chance of buying in the next {horizon} days:" in text, kind
        assert f"If they buy: typically **{currency} " in text and "On average:" in text, kind
        rounding = reply["spend_if_buy"]["mean"] * 5e-5 + 0.01  # P(buy) has 4 decimals
        assert reply["spend_if_buy"]["mean"] * p == pytest.approx(total, abs=rounding), kind
        if_buy = reply["spend_if_buy"]
        assert if_buy["p10"] <= if_buy["p50"] <= if_buy["p90"], kind
        assert replies.IF_BUY_ROW in set(table["target"])
        why = text.split("Why: ", 1)[1].split("\n")[0] if "Why: " in text else ""
        assert not re.search(r"(?<![\d,.])1 (days|different products|purchases)\b", why), why
        for bad in ("spent -", "…", "_"):
            assert bad not in why, (kind, why)
        if kind == "cold_start":
            assert drivers.empty and explanation["reasons"] == []
            continue
        # Each prediction's rows: the base, the drivers, the rest, the served value.
        for label, group in drivers.groupby("prediction", sort=False):
            values = [_numbers(v)[0] for v in group["contribution"]]
            scale = 1.0 if label.startswith("total spend") else 100.0  # percent, points
            base, parts, served = values[0], values[1:-1], values[-1]
            shown = 0.005 if scale == 1.0 else 0.05  # half the last digit printed
            assert base + sum(parts) == pytest.approx(served, abs=shown * len(values)), label
            if scale == 1.0:
                assert served == pytest.approx(total, abs=0.01)
            else:
                assert served == pytest.approx(p * 100, abs=0.06)
        # One list of reasons: the Why line is the drivers table's reason column.
        cited = [r for r in drivers["reason"] if r]
        assert sorted(cited) == sorted(explanation["reasons"]), kind
        assert explanation["reasons"] == reply["reasons"], kind  # one list on the page
        assert why == ("; ".join(reply["reasons"]) + "." if cited else ""), kind


def test_explanation_in_currency_adds_up_and_says_how(client, app):
    cid = app.EXAMPLE_IDS[0]
    reply = client.predict(cid, api_name="/explain_customer")
    prediction = client.predict(cid, api_name="/predict_customer")
    for target, entry in reply["targets"].items():
        served = entry["served"]
        total = served["base_value"] + sum(served["contributions"].values())
        assert total == pytest.approx(served["value"], rel=1e-4, abs=1e-3), target
        expected = (
            prediction["purchase_probability"]
            if target == "purchase"
            else prediction["predicted_30d_spend"][target]
        )
        assert served["value"] == pytest.approx(expected, rel=1e-3, abs=0.01), target
        assert served["unit"] == ("probability" if target == "purchase" else app.STATE.currency)
        assert "add up" in served["how"]
    assert set(reply["reason_features"]) <= set(
        reply["targets"]["total"]["served"]["contributions"]
    )
    assert reply["reasons"] == prediction["reasons"]


def test_model_tab_says_what_the_refit_means_and_names_metrics_in_words(app):
    state = app.STATE
    text = model_tab.about_markdown(state)
    assert "never seen in training" not in text
    if state.meta["params"]["refit"]:
        assert "fitted again on all" in text and "has seen" in text
    for target in state.model.feature_config_.targets:
        table = model_tab.comparison_table(state, target)
        metrics = [c for c in table.columns if c not in ("Model", "Role")]
        assert set(metrics) <= set(model_tab.METRIC_NAMES.values()), metrics
        cells = table.astype(str).to_numpy().ravel()
        assert not any(c in ("-0.000", "-0") for c in cells)
        assert not any("_" in m for m in table["Model"]), list(table["Model"])
    names = model_tab.comparison_table(state, "total")["Model"].tolist()
    assert "BG/NBD (maximum likelihood)" in names
