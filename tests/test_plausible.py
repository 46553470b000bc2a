"""What feature values can occur together (clvmodel.plausible): a refusal per impossible
combination, values far outside the training data, derived features after an edit, and no
refusal of any real customer."""

import numpy as np
import pandas as pd
import pytest

from clvmodel import batch, plausible
from clvmodel.features import build_features
from clvmodel.model import CLVModel
from clvmodel.prediction import CustomerScorer


@pytest.fixture(scope="module")
def scorer(trained_artifacts, small_data) -> CustomerScorer:
    return CustomerScorer(CLVModel.load(trained_artifacts), small_data)


def _error(scorer, cells: dict) -> str:
    table = pd.DataFrame({k: [str(v)] for k, v in cells.items()})
    return batch.score_table(scorer, table)[0].loc[0, "error"]


# The three kinds of refusal the README promised before, and the combinations added since.
@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (
            {"txn_count_30d": 9, "txn_count_90d": 2},
            "txn_count_30d must be <= txn_count_90d; got 9 > 2",
        ),
        (
            {"spend_90d": 5000, "spend_365d": 100, "returns_365d": 0},
            "spend_90d must be <= spend_365d plus returns_365d (returns in the last 365 days); "
            "got 5,000 > 100",
        ),
        (
            {"days_since_last": 40, "days_since_first": 10},
            "days_since_last must be <= days_since_first (the last purchase cannot come "
            "before the first); got 40 > 10",
        ),
        (  # the issue's: last purchase 5 days ago, no purchase in the last 7, 30, 90 days
            {"days_since_last": 5, "txn_count_7d": 0, "txn_count_30d": 0, "txn_count_90d": 0,
             "returns_365d": 0},
            "txn_count_90d is 0 but days_since_last is 5: a visit in the last 90 days that is "
            "no purchase is a return, and returns_365d says nothing was returned",
        ),
        (
            {"days_since_last": 45, "txn_count_30d": 3},
            "txn_count_30d is 3 but days_since_last is 45: a purchase in the last 30 days puts "
            "the last purchase at most 30 days back",
        ),
        (
            {"txn_count_7d": 3, "txn_count_30d": 2},
            "txn_count_7d must be <= txn_count_30d; got 3 > 2",
        ),
        (
            {"spend_90d": 4500, "txn_count_90d": 0},
            "spend_90d is 4,500 but txn_count_90d is 0: spend in the last 90 days needs a "
            "purchase in them (spend is net of returns)",
        ),
        (
            {"spend_30d": 1200, "days_since_last": 45},
            "spend_30d is 1,200 but days_since_last is 45: spending in the last 30 days "
            "means buying in them",
        ),
        (
            {"spend_30d": -500, "returns_365d": 100},
            "spend_30d is -500 but returns_365d is 100: a spend below zero is what was "
            "returned, at most returns_365d",
        ),
        (
            {"basket_min": 900, "basket_mean": 500, "basket_max": 2000},
            "basket_min is 900 but basket_mean is 500: basket_min cannot exceed basket_mean",
        ),
        (
            {"days_since_last": 12, "gap_mean_days": 30, "overdue_ratio": 2.51},
            "overdue_ratio is 2.51 but days_since_last / gap_mean_days is 0.4 (days_since_last "
            "12 and gap_mean_days 30): leave overdue_ratio out, or change it with its inputs, "
            "to have it computed",
        ),
        (
            {"spend_lifetime": 9000, "days_since_first": 300, "daily_spend_rate": 100},
            "daily_spend_rate is 100 but spend_lifetime / days_since_first (at least the "
            "horizon) is 30 (spend_lifetime 9,000 and days_since_first 300): leave "
            "daily_spend_rate out, or change it with its inputs, to have it computed",
        ),
    ],
    ids=[
        "count-windows", "spend-windows", "last-before-first", "recent-without-purchases",
        "purchase-but-long-ago", "count-7-above-30", "spend-without-purchase",
        "spend-but-long-ago", "negative-spend-beyond-returns", "baskets", "overdue-ratio",
        "daily-rate",
    ],
)  # fmt: skip
def test_each_impossible_combination_is_refused_naming_both_values(scorer, cells, message):
    assert _error(scorer, cells) == message


@pytest.mark.parametrize(
    "cells",
    [
        {"days_since_last": 5, "txn_count_7d": 0, "returns_365d": 80},  # the visit: a return
        {"days_since_last": 5, "txn_count_7d": 1, "txn_count_30d": 2, "txn_count_90d": 2},
        {"spend_30d": -50, "txn_count_30d": 0, "returns_365d": 50},
        {"days_since_last": 12, "gap_mean_days": 30, "overdue_ratio": 0.40},  # typed rounded
        {"spend_90d": 140, "spend_365d": 100, "returns_365d": 50},
    ],
    ids=["return", "nested", "returns-only", "rounded-ratio", "spend-explained-by-returns"],
)
def test_possible_combinations_pass(scorer, cells):
    assert _error(scorer, cells) == ""


def test_shares_add_up_to_at_most_one(scorer):
    shares = [c for c in scorer.model.feature_names_ if c.startswith("share_")][:2]
    message = _error(scorer, dict.fromkeys(shares, 0.7))
    assert message == (
        f"the shares of spend on {', '.join(shares)} add up to 1.4: they cannot exceed 1"
    )


def test_values_far_outside_the_training_data_are_refused_with_the_range(scorer):
    x = scorer.features()
    high = x["spend_90d"].max()
    message = _error(scorer, {"spend_90d": 1e11, "spend_365d": 2e11})
    assert message.startswith("spend_90d is 100,000,000,000, far outside the training data")
    assert f"{high:,.2f}".rstrip("0").rstrip(".") in message  # the range, with separators
    assert "e+" not in message
    assert "spend_365d is 200,000,000,000" in message
    message = _error(scorer, {"days_since_last": 1_000_000})
    assert message.startswith("days_since_last is 1,000,000, far outside the training data")
    assert f"up to {10 * x['days_since_last'].max():,.0f}" in message
    # within ten times the largest value: a fair question
    assert _error(scorer, {"days_since_last": 5 * x["days_since_last"].max()}) == ""


def test_codes_outside_the_seen_set_are_refused(scorer):
    tiers = sorted(scorer.features()["loyalty_tier"].dropna().unique())
    message = _error(scorer, {"loyalty_tier": 99})
    listed = ", ".join(f"{t:g}" for t in tiers)
    assert message == (
        f"loyalty_tier is 99, a code the training data never holds: it holds only {listed}"
    )
    segment = next(c for c in scorer.model.feature_names_ if c.startswith("segment_"))
    assert "never holds" in _error(scorer, {segment: 0.5})
    assert _error(scorer, {"loyalty_tier": tiers[-1]}) == ""


def test_no_real_customer_is_refused(scorer, small_data):
    """Every rule holds for every customer of the data at several cutoffs (and the range
    of the served features covers them)."""
    model = scorer.model
    limits = batch.training_limits(scorer)
    for cutoff in ["2025-03-01", "2025-09-01", scorer.default_as_of]:
        x = build_features(small_data, cutoff, model.feature_config_).reset_index(drop=True)
        _, errors = batch.validate_features(
            x, model.feature_names_, limits=None, categories=model.categories,
            horizon=model.horizon,
        )  # fmt: skip
        assert (errors == "").all(), errors[errors != ""].head(3).tolist()
    x = scorer.features().reset_index(drop=True)
    _, errors = batch.validate_features(
        x, model.feature_names_, limits=limits, categories=model.categories, horizon=model.horizon
    )
    assert (errors == "").all(), errors[errors != ""].head(3).tolist()


def test_derived_features_follow_an_edit(scorer):
    """Consistency: after editing an input, the derived features are what the features'
    own code computes from the edited values."""
    model = scorer.model
    start = scorer.features().iloc[0]
    start = start.fillna({"gap_mean_days": 20.0})
    edited = start.copy()
    edited["days_since_last"] = start["days_since_last"] + 3
    edited["spend_30d"] = start["spend_30d"] + 250
    edited["spend_lifetime"] = start["spend_lifetime"] + 250
    moved = plausible.recompute(
        edited, start, ["days_since_last", "spend_30d", "spend_lifetime"], model.horizon
    )
    assert moved["overdue_ratio"] == pytest.approx(
        edited["days_since_last"] / edited["gap_mean_days"]
    )
    assert moved["daily_spend_rate"] == pytest.approx(
        edited["spend_lifetime"] / max(edited["days_since_first"], model.horizon)
    )
    assert moved["spend_trend_30d"] == pytest.approx(start["spend_trend_30d"] + 250)
    # an edited derived feature is the user's, and the rest is untouched
    kept = plausible.recompute(edited, start, ["days_since_last", "overdue_ratio"], model.horizon)
    assert kept["overdue_ratio"] == edited["overdue_ratio"]
    untouched = edited.index.difference(["overdue_ratio", "daily_spend_rate", "spend_trend_30d"])
    pd.testing.assert_series_equal(moved[untouched], edited[untouched])


def test_derived_features_left_out_are_computed_from_the_values_given(scorer):
    model = scorer.model
    typical = batch.typical_values(model)
    assert typical["overdue_ratio"] == pytest.approx(
        typical["days_since_last"] / typical["gap_mean_days"]
    )
    table = pd.DataFrame({"days_since_last": ["12"], "gap_mean_days": ["30"]})
    results, summary = batch.score_table(scorer, table)
    assert summary["derived_features"] == ["overdue_ratio", "daily_spend_rate"]
    x = typical.to_frame().T.assign(days_since_last=12.0, gap_mean_days=30.0, overdue_ratio=0.4)
    expected = model.predict_features(x)
    np.testing.assert_allclose(results["predicted_total"], expected["predicted_total"])


def test_number_text_reads_like_a_person_writes():
    values = pd.Series([1e11, 58068.49, 0.0026, -1.0, 2.5, np.nan])
    assert plausible.number_text(values).tolist() == [
        "100,000,000,000", "58,068.49", "0.0026", "-1", "2.5", "none",
    ]  # fmt: skip
