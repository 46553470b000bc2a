"""Tests for clvmodel.evaluation: metrics at their limits and on examples worked out by hand."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from clvmodel.evaluation import (
    decile_mape,
    decile_table,
    interval_metrics,
    normalized_gini,
    oracle_share,
    probability_metrics,
    probability_report,
    reliability_table,
    spend_metrics,
    spend_report,
    top_share,
)

# Skewed spend: many zeros, a few large values, as in real 30-day spend.
SPEND = np.array([0.0, 0.0, 0.0, 5.0, 12.0, 20.0, 35.0, 80.0, 150.0, 400.0])


@pytest.fixture
def no_warnings():
    """Turn every warning into an error, so a leaked RuntimeWarning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --------------------------------------------------------------------------- normalized_gini


def test_gini_perfect_ranking_is_one():
    # Any increasing transform of y_true ranks perfectly: the scale must not matter.
    assert normalized_gini(SPEND, np.log1p(SPEND) + np.arange(10) * 1e-3) == pytest.approx(1.0)


def test_gini_reversed_ranking_is_minus_one():
    assert normalized_gini(SPEND, -np.arange(10)) == pytest.approx(-1.0)


def test_gini_random_ranking_is_near_zero():
    rng = np.random.default_rng(0)
    y_true = rng.lognormal(mean=3.0, sigma=1.0, size=20_000) * rng.binomial(1, 0.3, 20_000)
    assert abs(normalized_gini(y_true, rng.permutation(y_true))) < 0.03


def test_gini_hand_example():
    # y_true = [0, 1, 3], total 4. Ranked by y_pred (highest first): 1, 0, 3, so the gain
    # curve is 1/4, 1/4, 4/4: sum 1.5, Gini (1.5 - (3 + 1) / 2) / 3 = -1/6.
    # Perfect order 3, 1, 0 gives 3/4, 4/4, 4/4: sum 2.75, Gini 0.75 / 3 = 1/4.
    assert normalized_gini([0, 1, 3], [2, 3, 1]) == pytest.approx((-1 / 6) / (1 / 4))


def test_gini_averages_over_ties_and_ignores_row_order():
    # The first two customers are tied at the top. Order (3, 0, 1) gives gains 3/4, 3/4, 1
    # (sum 2.5); order (0, 3, 1) gives 0, 3/4, 1 (sum 1.75). Mean 2.125, Gini 0.125/3 = 1/24;
    # the perfect Gini is 1/4 (see above), so the normalized Gini is 1/6 whatever the order.
    assert normalized_gini([0, 3, 1], [5, 5, 1]) == pytest.approx(1 / 6)
    assert normalized_gini([3, 0, 1], [5, 5, 1]) == pytest.approx(1 / 6)


def test_gini_constant_predictions_is_zero():
    assert normalized_gini(SPEND, np.full(10, 7.0)) == pytest.approx(0.0)


@pytest.mark.parametrize("y_true", [np.zeros(4), np.full(4, 3.0)], ids=["all-zero", "constant"])
def test_gini_undefined_without_spread_in_y_true(y_true, no_warnings):
    assert math.isnan(normalized_gini(y_true, [1, 2, 3, 4]))


# --------------------------------------------------------------------------- spend_metrics


def test_spend_metrics_hand_example():
    y_true = [0, 10, 20, 30]
    y_pred = [5, 10, 15, 40]
    # errors 5, 0, -5, 10 -> MAE 20/4 = 5, MSE (25 + 0 + 25 + 100)/4 = 37.5.
    # mean(y_true) = 15, SS_tot = 225 + 25 + 25 + 225 = 500, SS_res = 150 -> R2 = 0.7.
    # Predictions are in the same order as y_true -> Gini and Spearman 1; totals 70 / 60.
    expected = {
        "mae": 5.0,
        "rmse": math.sqrt(37.5),
        "r2": 0.7,
        "gini": 1.0,
        "spearman": 1.0,
        "sum_ratio": 70 / 60,
    }
    metrics = spend_metrics(y_true, y_pred)
    assert metrics == pytest.approx(expected)
    assert list(metrics) == list(expected)


def test_spend_metrics_are_json_serialisable_floats():
    metrics = spend_metrics(pd.Series(SPEND), SPEND * 0.9)
    assert all(type(value) is float for value in metrics.values())
    json.dumps(metrics)


def test_predicting_the_mean_gives_zero_r2_and_nan_spearman_without_warning(no_warnings):
    y_true = np.array([1.0, 2.0, 3.0, 6.0])
    metrics = spend_metrics(y_true, np.full(4, y_true.mean()))
    assert metrics["r2"] == pytest.approx(0.0)
    assert metrics["sum_ratio"] == pytest.approx(1.0)
    assert metrics["gini"] == pytest.approx(0.0)
    assert math.isnan(metrics["spearman"])


def test_spend_metrics_all_zero_truth_gives_nan_not_errors(no_warnings):
    metrics = spend_metrics(np.zeros(3), [1.0, 2.0, 3.0])
    assert metrics["mae"] == pytest.approx(2.0)
    for key in ("r2", "gini", "spearman", "sum_ratio"):
        assert math.isnan(metrics[key]), key


def test_spearman_uses_ranks_not_values():
    # Same order, very different scale: Spearman is exactly 1; one swap of the top two ranks
    # among 4 gives 1 - 6 * (1 + 1) / (4 * 15) = 0.8.
    assert spend_metrics([1, 2, 3, 4], [1, 2, 3, 1000])["spearman"] == pytest.approx(1.0)
    assert spend_metrics([1, 2, 3, 4], [1, 2, 4, 3])["spearman"] == pytest.approx(0.8)


# --------------------------------------------------------------------------- top_share


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.1, 400 / 702), (0.2, 550 / 702), (1.0, 1.0)],
    ids=["top-10pct", "top-20pct", "everyone"],
)
def test_top_share_of_perfect_ranking(fraction, expected):
    # SPEND sums to 702; the top customer spent 400, the next 150.
    assert top_share(SPEND, SPEND, fraction=fraction) == pytest.approx(expected)


def test_top_share_splits_ties_at_the_boundary():
    y_true = [1, 1, 1, 1, 1, 1, 4, 10, 30, 50]  # total 100
    y_pred = [1, 1, 1, 1, 1, 1, 1, 2, 2, 3]
    # Top 2: customer 9 (50), then one place shared by customers 7 and 8, tied at 2:
    # (10 + 30) / 2 = 20 expected. 70 / 100.
    assert top_share(y_true, y_pred, fraction=0.2) == pytest.approx(0.7)


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_top_share_rejects_fraction_outside_unit_interval(fraction):
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\]"):
        top_share(SPEND, SPEND, fraction=fraction)


# --------------------------------------------------------------------------- decile_table


def test_decile_table_counts_and_order():
    rng = np.random.default_rng(1)
    y_pred = rng.gamma(0.5, 20.0, size=1_003)
    table = decile_table(y_pred + rng.normal(0, 5, 1_003), y_pred)
    assert list(table.columns) == ["bin", "mean_predicted", "mean_actual", "count"]
    assert table["bin"].tolist() == list(range(10))
    assert table["count"].sum() == 1_003
    assert table["count"].between(100, 101).all()
    assert table["mean_predicted"].is_monotonic_increasing


def test_decile_table_keeps_ties_in_one_bin():
    # Eight tied zeros cannot be split across bins, so 5 bins collapse to 2:
    # the zeros, and the two positive predictions (mean 1.5, actual (2 + 6) / 2 = 4).
    y_pred = [0, 0, 0, 0, 0, 0, 0, 0, 1, 2]
    y_true = [0, 0, 1, 0, 0, 0, 0, 1, 2, 6]
    expected = pd.DataFrame(
        {
            "bin": [0, 1],
            "mean_predicted": [0.0, 1.5],
            "mean_actual": [0.25, 4.0],
            "count": [8, 2],
        }
    )
    pd.testing.assert_frame_equal(
        decile_table(y_true, y_pred, n_bins=5), expected, check_dtype=False
    )


def test_decile_table_with_fewer_customers_than_bins():
    table = decile_table([1, 2, 3], [3, 1, 2], n_bins=10)
    assert table["mean_predicted"].tolist() == [1.0, 2.0, 3.0]
    assert table["mean_actual"].tolist() == [2.0, 3.0, 1.0]


@pytest.mark.parametrize("n_bins", [0, -3, 2.5, True])
def test_binning_rejects_bad_n_bins(n_bins):
    with pytest.raises(ValueError, match="n_bins must be a positive integer"):
        decile_table(SPEND, SPEND, n_bins=n_bins)


# --------------------------------------------------------------------------- probabilities


def test_probability_metrics_hand_example():
    # Brier ((1 - 0.8)^2 + 0.4^2) / 2 = 0.1; log loss -(ln 0.8 + ln 0.6) / 2.
    metrics = probability_metrics([1, 0], [0.8, 0.4])
    assert metrics == pytest.approx(
        {
            "auc": 1.0,
            "brier": 0.1,
            "log_loss": -(math.log(0.8) + math.log(0.6)) / 2,
            "mean_predicted": 0.6,
            "observed_rate": 0.5,
        }
    )


def test_perfect_probabilities():
    metrics = probability_metrics([0, 1, 1, 0], [0, 1, 1, 0])
    assert metrics["auc"] == 1.0
    assert metrics["brier"] == 0.0
    # Clipping to [1e-6, 1 - 1e-6] keeps log(0) out: the loss is -log(1 - 1e-6), not 0 or inf.
    assert metrics["log_loss"] == pytest.approx(1e-6, rel=1e-3)


def test_constant_probability_has_auc_one_half():
    metrics = probability_metrics([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5])
    assert metrics["auc"] == pytest.approx(0.5)
    assert metrics["brier"] == pytest.approx(0.25)
    assert metrics["log_loss"] == pytest.approx(math.log(2))


def test_auc_counts_tied_pairs_as_one_half():
    # Positives score 0.2 and 0.9, negatives 0.2 and 0.1. Of the 4 positive-negative pairs,
    # three are ordered correctly and one is tied (0.2 vs 0.2): AUC (3 + 0.5) / 4.
    assert probability_metrics([0, 1, 0, 1], [0.2, 0.2, 0.1, 0.9])["auc"] == pytest.approx(0.875)


def test_auc_is_nan_with_one_class(no_warnings):
    assert math.isnan(probability_metrics([1, 1, 1], [0.2, 0.5, 0.9])["auc"])


@pytest.mark.parametrize(
    ("y_true", "p_pred", "match"),
    [
        ([0, 2, 1], [0.1, 0.2, 0.3], r"y_true must contain only 0 and 1.*at indexes \[1\]"),
        ([0, 1, 1], [0.1, 1.2, 0.3], r"p_pred must be probabilities in \[0, 1\]; got \[1\.2\]"),
    ],
    ids=["non-binary-y", "p-above-one"],
)
def test_probability_metrics_reject_bad_values(y_true, p_pred, match):
    with pytest.raises(ValueError, match=match):
        probability_metrics(y_true, p_pred)


def test_reliability_table_of_calibrated_probabilities():
    rng = np.random.default_rng(2)
    p_pred = rng.beta(1.0, 4.0, size=50_000)
    y_true = rng.binomial(1, p_pred)
    table = reliability_table(y_true, p_pred)
    assert list(table.columns) == ["bin", "mean_predicted", "observed_rate", "count"]
    assert table["bin"].tolist() == list(range(10))
    assert table["count"].sum() == 50_000
    assert table["mean_predicted"].is_monotonic_increasing
    assert (table["observed_rate"] - table["mean_predicted"]).abs().max() < 0.03


def test_reliability_table_detects_overconfidence():
    # Every customer buys with probability 0.5, but the model says 0.1 or 0.9.
    rng = np.random.default_rng(3)
    y_true = rng.binomial(1, 0.5, size=10_000)
    p_pred = rng.choice([0.1, 0.9], size=10_000)
    table = reliability_table(y_true, p_pred, n_bins=4)
    assert table["mean_predicted"].tolist() == pytest.approx([0.1, 0.9])
    assert table["observed_rate"].to_numpy() == pytest.approx([0.5, 0.5], abs=0.03)


# --------------------------------------------------------------------------- intervals


def test_interval_metrics_hand_example():
    # 1 in [0, 2] yes; 5 in [6, 7] no; 10 in [8, 12] yes; 3 in [3, 4] yes (bounds included).
    # Widths 2, 1, 4, 1 -> mean 2.
    metrics = interval_metrics([1, 5, 10, 3], [0, 6, 8, 3], [2, 7, 12, 4])
    assert metrics == {"coverage": 0.75, "mean_width": 2.0, "zero_share": 0.0}


def test_interval_metrics_rejects_crossed_bounds():
    with pytest.raises(ValueError, match=r"lower exceeds upper for 1 customers, at indexes \[1\]"):
        interval_metrics([1, 2, 3], [0, 5, 2], [2, 4, 4])


def test_interval_metrics_rejects_short_upper():
    with pytest.raises(ValueError, match="y_true has 3 values but upper has 2"):
        interval_metrics([1, 2, 3], [0, 1, 2], [2, 4])


# --------------------------------------------------------------------------- oracle_share


def test_oracle_share_hand_example():
    shares = oracle_share({"r2": 0.3, "gini": 0.6, "mae": 1.0}, {"r2": 0.6, "gini": 0.8})
    assert shares == pytest.approx({"r2": 0.5, "gini": 0.75})


@pytest.mark.parametrize("oracle_r2", [0.0, -0.2, math.nan], ids=["zero", "negative", "nan"])
def test_oracle_share_is_nan_for_non_positive_oracle(oracle_r2):
    shares = oracle_share({"r2": 0.3, "gini": 0.6}, {"r2": oracle_r2, "gini": 0.8})
    assert math.isnan(shares["r2"])
    assert shares["gini"] == pytest.approx(0.75)


def test_oracle_share_of_other_keys():
    assert oracle_share({"brier": 0.2}, {"brier": 0.16}, keys=("brier",)) == {"brier": 1.25}


def test_oracle_share_names_missing_key():
    with pytest.raises(ValueError, match=r"oracle lacks the keys \['gini'\]"):
        oracle_share({"r2": 0.3, "gini": 0.6}, {"r2": 0.6})


# --------------------------------------------------------------------------- input validation

TWO_ARRAY_FUNCTIONS = {
    "normalized_gini": (normalized_gini, "y_pred"),
    "spend_metrics": (spend_metrics, "y_pred"),
    "top_share": (top_share, "y_pred"),
    "decile_table": (decile_table, "y_pred"),
    "probability_metrics": (probability_metrics, "p_pred"),
    "reliability_table": (reliability_table, "p_pred"),
}


@pytest.mark.parametrize(
    ("func", "pred_name"), TWO_ARRAY_FUNCTIONS.values(), ids=TWO_ARRAY_FUNCTIONS.keys()
)
def test_length_mismatch_names_both_lengths(func, pred_name):
    with pytest.raises(ValueError, match=f"y_true has 5 values but {pred_name} has 4"):
        func([0, 1, 0, 1, 0], [0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize(
    ("func", "pred_name"), TWO_ARRAY_FUNCTIONS.values(), ids=TWO_ARRAY_FUNCTIONS.keys()
)
def test_nan_in_predictions_reports_count_and_indexes(func, pred_name):
    with pytest.raises(ValueError, match=rf"{pred_name} has 2 NaN values, at indexes \[1, 3\]"):
        func([0, 1, 0, 1, 0], [0.1, np.nan, 0.3, np.nan, 0.5])


def test_nan_message_lists_only_the_first_indexes():
    y_pred = np.full(20, np.nan)
    with pytest.raises(ValueError, match=r"20 NaN values, at indexes \[0, 1, 2, 3, 4, \.\.\.\]"):
        spend_metrics(np.ones(20), y_pred)


def test_missing_values_in_nullable_series_are_caught():
    y_true = pd.Series([1.0, None, 2.0], dtype="Float64")
    with pytest.raises(ValueError, match=r"y_true has 1 NaN values, at indexes \[1\]"):
        spend_metrics(y_true, [1.0, 2.0, 3.0])


def test_infinite_prediction_is_rejected():
    with pytest.raises(ValueError, match=r"y_pred has 1 infinite values, at indexes \[2\]"):
        spend_metrics([1, 2, 3], [1, 2, np.inf])


@pytest.mark.parametrize(
    "func", [func for func, _ in TWO_ARRAY_FUNCTIONS.values()], ids=TWO_ARRAY_FUNCTIONS.keys()
)
def test_empty_input_is_rejected(func):
    with pytest.raises(ValueError, match="y_true is empty"):
        func([], [])


def test_two_dimensional_input_is_rejected():
    with pytest.raises(ValueError, match=r"y_pred must be 1-D .* got shape \(2, 2\)"):
        spend_metrics([1, 2], [[1, 2], [3, 4]])


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="y_pred must contain numbers only"):
        spend_metrics([1, 2], ["a", "b"])


# --------------------------------------------------------------------------- reports


def test_decile_mape_by_hand():
    # Two bins: predictions {1, 2} -> mean 1.5 vs actual 5; {3, 4} -> 3.5 vs 30.
    mape = decile_mape([0, 10, 20, 40], [1, 2, 3, 4], n_bins=2)
    assert mape == pytest.approx((3.5 / 5 + 26.5 / 30) / 2)
    # A bin whose actual mean is zero is left out.
    assert decile_mape([0, 0, 20, 40], [1, 2, 3, 4], n_bins=2) == pytest.approx(26.5 / 30)


def test_reliability_max_is_the_largest_decile_gap():
    report = probability_report([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.8])
    assert report["reliability_max"] == pytest.approx(0.4)
    assert report["auc"] == 1.0


def test_spend_report_adds_decile_mape_and_top10_share_to_the_spend_metrics():
    report = spend_report(SPEND, SPEND[::-1])
    assert report == spend_metrics(SPEND, SPEND[::-1]) | {
        "decile_mape": decile_mape(SPEND, SPEND[::-1]),
        "top10_share": top_share(SPEND, SPEND[::-1], fraction=0.1),
    }
