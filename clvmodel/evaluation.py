"""Metrics for 30-day spend predictions: pure functions over arrays, no printing.

Spend per customer is zero for most customers and heavy-tailed for the rest, so a single
error number says little. The functions here look at it from several sides:

* ``spend_metrics``: errors in currency units (MAE, RMSE), explained variance (R2), how well
  the predictions *rank* customers (normalized Gini, Spearman) and whether the total is right
  (``sum_ratio``).
* ``probability_metrics`` and ``reliability_table``: the "will this customer buy at all"
  probability, judged by ranking (AUC) and by calibration.
* ``decile_table`` and ``top_share``: what a marketer sees when targeting the top of the list.
* ``interval_metrics``: whether prediction intervals cover as often as they claim.
* ``oracle_share``: how much of the attainable score a model reaches, relative to an oracle.
* ``spend_report`` and ``probability_report``: every metric the backtest reports of one
  model on one test cutoff, with ``decile_mape`` and ``reliability_max``.

Every function accepts array-likes (lists, NumPy arrays, pandas Series), converts them to
1-D float arrays and refuses NaN, infinite values, empty input and mismatched lengths with a
``ValueError`` that names the argument: a silently dropped row would make two models' scores
incomparable. Ties in the predictions are handled by averaging over every order of the tied
customers, so no result depends on the order of the rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = [
    "decile_mape",
    "decile_table",
    "interval_metrics",
    "normalized_gini",
    "oracle_share",
    "probability_metrics",
    "probability_report",
    "reliability_max",
    "reliability_table",
    "spend_metrics",
    "spend_report",
    "top_decile_coverage",
    "top_share",
]

#: Probabilities are clipped to [_PROB_EPS, 1 - _PROB_EPS] before taking logs, so a single
#: confident mistake costs about 13.8 nats instead of infinity.
_PROB_EPS = 1e-6

#: How many offending indexes an error message lists before it stops.
_MAX_INDEXES_SHOWN = 5

#: Keys of ``spend_metrics`` that ``oracle_share`` compares by default.
_ORACLE_KEYS = ("r2", "gini")


# --------------------------------------------------------------------------- input checks


def _format_indexes(indexes: np.ndarray) -> str:
    """List the first few indexes, e.g. ``[1, 3, 4, 8, 9, ...]``, to keep messages short."""
    shown = ", ".join(str(i) for i in indexes[:_MAX_INDEXES_SHOWN])
    return f"[{shown}{', ...' if indexes.size > _MAX_INDEXES_SHOWN else ''}]"


def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    """Return ``values`` as a finite, non-empty 1-D float array or raise naming ``name``.

    Checking here, once, means every metric fails loudly on bad input instead of
    returning NaN (NumPy's default) or silently skipping rows (pandas' default).
    """
    if isinstance(values, pd.Series | pd.Index):
        # Nullable dtypes (Float64, Int64) hold pd.NA; map it to NaN so the check below
        # reports it like any other missing value.
        values = values.to_numpy(dtype=float, na_value=np.nan)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must contain numbers only; got {err}.") from err
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per customer); got shape {arr.shape}. "
            "Pass a single column, e.g. np.ravel(...)."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty; metrics need at least one customer.")
    for bad, label in ((np.isnan(arr), "NaN"), (np.isinf(arr), "infinite")):
        if bad.any():
            where = np.flatnonzero(bad)
            raise ValueError(
                f"{name} has {where.size} {label} values, at indexes {_format_indexes(where)}; "
                "drop or impute them before evaluating."
            )
    return arr


def _check_pair(
    y_true: ArrayLike, y_pred: ArrayLike, *, pred_name: str = "y_pred"
) -> tuple[np.ndarray, np.ndarray]:
    """Convert both arrays and check they describe the same customers (same length)."""
    true = _as_1d(y_true, "y_true")
    pred = _as_1d(y_pred, pred_name)
    if true.size != pred.size:
        raise ValueError(
            f"y_true has {true.size} values but {pred_name} has {pred.size}; "
            "they must have one value per customer, in the same order."
        )
    return true, pred


def _check_binary(y_true: np.ndarray) -> None:
    """Refuse outcomes other than 0 and 1, which probability metrics cannot score."""
    bad = ~np.isin(y_true, (0.0, 1.0))
    if bad.any():
        raise ValueError(
            "y_true must contain only 0 and 1 (did the customer buy?); got "
            f"{y_true[bad][:_MAX_INDEXES_SHOWN].tolist()} at indexes "
            f"{_format_indexes(np.flatnonzero(bad))}. "
            "Use (spend > 0).astype(int) to turn spend into a purchase flag."
        )


def _check_probabilities(p_pred: np.ndarray) -> None:
    """Refuse probabilities outside [0, 1], usually a sign that spend was passed instead."""
    bad = (p_pred < 0.0) | (p_pred > 1.0)
    if bad.any():
        raise ValueError(
            "p_pred must be probabilities in [0, 1]; got "
            f"{p_pred[bad][:_MAX_INDEXES_SHOWN].tolist()} at indexes "
            f"{_format_indexes(np.flatnonzero(bad))}."
        )


def _check_n_bins(n_bins: int) -> None:
    """Refuse a bin count that is not a positive integer (``True`` and ``2.5`` included)."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r} instead.")


# --------------------------------------------------------------------------- private helpers


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ascending, with tied values sharing the mean of their ranks.

    Average ranks are what makes every metric here independent of row order: a tied group
    is scored as the average over all orders of its members.
    """
    return pd.Series(values).rank(method="average").to_numpy(dtype=float)


def _roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic, with ties counting one half.

    This equals scikit-learn's ``roc_auc_score`` but needs only a ranking, which keeps
    this module free of the slower scikit-learn and SciPy imports.
    """
    positive = y_true == 1
    n_pos = int(positive.sum())
    n_neg = y_true.size - n_pos
    rank_sum = _average_ranks(scores)[positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _raw_gini(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Gini of the gain curve obtained by ranking customers by ``y_pred``, highest first.

    With customers sorted by prediction, descending, the gain curve is
    ``G(k) = sum of y_true over the top k / sum of y_true``. Its Gini is
    ``(sum_k G(k) - (n + 1) / 2) / n``: the area between the curve and the diagonal a random
    ranking would follow on average, as in Kaggle's normalized Gini. Since
    ``sum_k G(k) = sum_i y_i * r_i / sum(y)``, with ``r_i`` the ascending rank of ``y_pred[i]``,
    average ranks for ties give the mean over every order of the tied customers.
    """
    n = y_true.size
    ranks = _average_ranks(y_pred)
    return float((np.dot(y_true, ranks) / y_true.sum() - (n + 1) / 2) / n)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of average ranks; NaN, without a warning, if either is constant."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    ra = _average_ranks(a) - (a.size + 1) / 2
    rb = _average_ranks(b) - (b.size + 1) / 2
    return float(np.dot(ra, rb) / math.sqrt(np.dot(ra, ra) * np.dot(rb, rb)))


def _quantile_bins(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin codes ``0..k-1`` (``k <= n_bins``) by quantile of ``values``, lowest first.

    Customer ``i`` with average rank ``r_i`` (1-based, ties share the mean of their ranks)
    goes to bin ``floor((r_i - 1/2) * n_bins / n)``: equal-count bins when there are no
    ties, and a tied group lands, whole, in the bin holding its middle. Codes of empty bins
    are then closed up so they run 0, 1, ... without gaps.

    ``pd.qcut(ranks, n_bins, duplicates="drop")`` is not used because it merges too much:
    when a tied group sits on a quantile edge the duplicate edge is dropped and the group
    falls into the neighbouring bin, so predictions taking two values give a single bin.
    """
    n = values.size
    # Average ranks are multiples of 1/2, so 2 * rank is an exact integer and the bin index
    # can be computed in integer arithmetic, without rounding at the bin edges.
    twice_ranks = np.rint(2 * _average_ranks(values)).astype(np.int64)
    codes = (twice_ranks - 1) * n_bins // (2 * n)
    return np.unique(codes, return_inverse=True)[1].astype(np.int64)


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or NaN if the denominator is zero (no ZeroDivisionError)."""
    return float(numerator / denominator) if denominator != 0 else math.nan


# --------------------------------------------------------------------------- ranking


def normalized_gini(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Normalized Gini coefficient: how well ``y_pred`` ranks customers by actual spend.

    Targeting uses only the order of the predictions, and the Gini scores exactly that order
    while ignoring the scale. It is the Gini of the gain curve from ranking by ``y_pred``
    divided by the Gini of the best possible ranking (by ``y_true`` itself), as in Google's
    ``lifetime_value`` metrics and Kaggle's normalized Gini: 1 for a perfect ranking, about 0
    for a random one, -1 for the reversed perfect ranking.

    Parameters
    ----------
    y_true : array-like of shape (n_customers,)
        Actual spend, in currency units.
    y_pred : array-like of shape (n_customers,)
        Predicted spend or any score whose order matters (e.g. a purchase probability).

    Returns
    -------
    float
        The normalized Gini, or NaN if ``y_true`` sums to 0 or is constant (no ranking is
        better than another, so the ratio is undefined).

    Raises
    ------
    ValueError
        If the arrays are empty, of different lengths or contain NaN or infinite values.

    Notes
    -----
    Ties in ``y_pred`` are scored as the average over every order of the tied customers
    (average ranks), so the result never depends on the row order and constant predictions
    score exactly 0. Sorting by prediction with ties kept in row order, as the Kaggle
    reference does, would instead reward or punish whatever order the rows came in.

    Examples
    --------
    >>> normalized_gini([0, 1, 3], [0.1, 0.5, 0.9])
    1.0
    >>> normalized_gini([0, 1, 3], [0.9, 0.5, 0.1])
    -1.0
    """
    true, pred = _check_pair(y_true, y_pred)
    if true.sum() == 0 or np.ptp(true) == 0:
        return math.nan
    return _ratio(_raw_gini(true, pred), _raw_gini(true, true))


def top_share(y_true: ArrayLike, y_pred: ArrayLike, *, fraction: float = 0.1) -> float:
    """Share of total actual spend captured by the top ``fraction`` of customers by prediction.

    This is the question a campaign asks ("if we contact the top 10 %, how much of next
    month's spend do we reach?") and one point of the gain curve behind the Gini. A random
    ranking captures about ``fraction``; divide by it to get the lift.

    Parameters
    ----------
    y_true : array-like of shape (n_customers,)
        Actual spend, in currency units.
    y_pred : array-like of shape (n_customers,)
        Predicted spend or score; higher means contacted first.
    fraction : float, default=0.1
        Share of customers selected, in (0, 1]. The top ``ceil(fraction * n_customers)``
        customers are selected.

    Returns
    -------
    float
        Selected customers' actual spend divided by total actual spend; NaN if the total is 0.

    Raises
    ------
    ValueError
        If ``fraction`` is outside (0, 1] or the arrays are invalid.

    Notes
    -----
    Customers tied with the last selected prediction share the remaining places: they
    contribute their mean spend per place, the average over every order of the ties.

    Examples
    --------
    >>> top_share([0, 0, 10, 90], [1, 2, 3, 4], fraction=0.25)
    0.9
    """
    if isinstance(fraction, bool) or not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction!r} instead.")
    true, pred = _check_pair(y_true, y_pred)
    # Round first so that 0.1 * 30 = 3.0000000000000004 selects 3 customers, not 4.
    k = max(1, math.ceil(round(fraction * true.size, 9)))
    threshold = np.sort(pred)[::-1][k - 1]
    above = pred > threshold
    tied = pred == threshold
    captured = true[above].sum() + (k - above.sum()) * true[tied].mean()
    return _ratio(captured, true.sum())


# --------------------------------------------------------------------------- spend


def spend_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """Error, ranking and total-level metrics of predicted spend.

    No single number judges a spend model: MAE is dominated by the many zero-spend
    customers, RMSE and R2 by the few big spenders, Gini and Spearman see only the order, and
    ``sum_ratio`` only the total a finance team would plan with. Reporting all of them
    keeps a model from winning on one by losing on the others.

    Parameters
    ----------
    y_true : array-like of shape (n_customers,)
        Actual spend over the horizon, in currency units.
    y_pred : array-like of shape (n_customers,)
        Predicted spend, in the same units.

    Returns
    -------
    dict of str to float
        Plain Python floats (JSON-serialisable), with keys:

        - ``mae``: mean absolute error, currency units.
        - ``rmse``: root mean squared error, currency units.
        - ``r2``: ``1 - SS_res / SS_tot``; 0 for predicting the mean, NaN if ``y_true`` is
          constant.
        - ``gini``: see :func:`normalized_gini`.
        - ``spearman``: rank correlation; NaN (without a warning) if either side is constant.
        - ``sum_ratio``: ``sum(y_pred) / sum(y_true)``; 1 means the total is right, NaN if
          ``sum(y_true) == 0``.

    Raises
    ------
    ValueError
        If the arrays are empty, of different lengths or contain NaN or infinite values.

    Examples
    --------
    >>> m = spend_metrics([0, 10, 20, 30], [5, 10, 15, 40])
    >>> m["mae"], m["r2"], m["gini"]
    (5.0, 0.7, 1.0)
    """
    true, pred = _check_pair(y_true, y_pred)
    err = pred - true
    ss_tot = float(np.sum((true - true.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else math.nan,
        "gini": normalized_gini(true, pred),
        "spearman": _spearman(true, pred),
        "sum_ratio": _ratio(pred.sum(), true.sum()),
    }


def decile_table(y_true: ArrayLike, y_pred: ArrayLike, *, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted and actual spend per quantile bin of the predictions.

    Shows where a model over- or under-predicts (e.g. good on average but too low for the
    top bin), which ``spend_metrics`` averages away.

    Parameters
    ----------
    y_true : array-like of shape (n_customers,)
        Actual spend, in currency units.
    y_pred : array-like of shape (n_customers,)
        Predicted spend, in currency units.
    n_bins : int, default=10
        Number of bins wanted. Fewer are returned when there are fewer customers or when
        tied predictions fill more than one bin: tied customers always share a bin.

    Returns
    -------
    pandas.DataFrame
        One row per bin, ordered from the lowest predictions (``bin`` 0) to the highest,
        with columns ``bin`` (int), ``mean_predicted``, ``mean_actual`` and ``count`` (int).

    Raises
    ------
    ValueError
        If ``n_bins`` is not a positive integer or the arrays are invalid.

    Examples
    --------
    >>> decile_table([0, 0, 5, 20], [1, 2, 8, 15], n_bins=2)
       bin  mean_predicted  mean_actual  count
    0    0             1.5          0.0      2
    1    1            11.5         12.5      2
    """
    _check_n_bins(n_bins)
    true, pred = _check_pair(y_true, y_pred)
    frame = pd.DataFrame({"bin": _quantile_bins(pred, n_bins), "pred": pred, "true": true})
    table = frame.groupby("bin", sort=True).agg(
        mean_predicted=("pred", "mean"),
        mean_actual=("true", "mean"),
        count=("true", "size"),
    )
    return table.reset_index()


def decile_mape(y_true: ArrayLike, y_pred: ArrayLike, *, n_bins: int = 10) -> float:
    """Mean of |mean predicted - mean actual| / mean actual over prediction deciles
    (:func:`decile_table`).

    Deciles whose mean actual spend is not positive are left out (a ratio to zero or to a
    net refund means nothing); NaN if none is left.

    Examples
    --------
    >>> round(decile_mape([0, 10, 20, 40], [1, 2, 3, 4], n_bins=2), 4)
    0.7917
    """
    table = decile_table(y_true, y_pred, n_bins=n_bins)
    table = table[table["mean_actual"] > 0]
    if table.empty:
        return math.nan
    err = (table["mean_predicted"] - table["mean_actual"]).abs() / table["mean_actual"]
    return float(err.mean())


def spend_report(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """Every spend metric of one model on one test cutoff, as the backtest reports it.

    :func:`spend_metrics` (mae, rmse, r2, gini, spearman, sum_ratio), plus
    ``decile_mape`` (:func:`decile_mape`) and ``top10_share`` (share of actual spend
    captured by the top 10 % of customers by prediction, :func:`top_share`).
    """
    out = spend_metrics(y_true, y_pred)
    out["decile_mape"] = decile_mape(y_true, y_pred)
    out["top10_share"] = top_share(y_true, y_pred, fraction=0.1)
    return out


# --------------------------------------------------------------------------- probability


def probability_metrics(y_true: ArrayLike, p_pred: ArrayLike) -> dict[str, float]:
    """Ranking and calibration metrics of a purchase probability.

    A purchase probability is used two ways: to rank customers (judged by AUC) and,
    multiplied by expected basket value, as a number (judged by Brier score and log loss,
    which also punish miscalibration). ``mean_predicted`` against ``observed_rate`` is the
    quickest calibration check.

    Parameters
    ----------
    y_true : array-like of shape (n_customers,)
        1 if the customer bought during the horizon, else 0.
    p_pred : array-like of shape (n_customers,)
        Predicted probability of buying, in [0, 1].

    Returns
    -------
    dict of str to float
        Plain Python floats, with keys:

        - ``auc``: ROC AUC; 0.5 for constant predictions, NaN if ``y_true`` has one class.
        - ``brier``: mean squared error of the probabilities; 0 is perfect.
        - ``log_loss``: mean negative log-likelihood in nats, with ``p_pred`` clipped to
          [1e-6, 1 - 1e-6] so that one confident mistake stays finite.
        - ``mean_predicted``: mean of ``p_pred``.
        - ``observed_rate``: mean of ``y_true``.

    Raises
    ------
    ValueError
        If ``y_true`` holds values other than 0 and 1, ``p_pred`` values outside [0, 1], or
        the arrays are invalid.

    Examples
    --------
    >>> m = probability_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    >>> m["auc"], round(m["brier"], 3)
    (1.0, 0.025)
    """
    true, prob = _check_pair(y_true, p_pred, pred_name="p_pred")
    _check_binary(true)
    _check_probabilities(prob)
    both_classes = np.unique(true).size == 2
    clipped = np.clip(prob, _PROB_EPS, 1.0 - _PROB_EPS)
    log_lik = true * np.log(clipped) + (1.0 - true) * np.log1p(-clipped)
    return {
        "auc": _roc_auc(true, prob) if both_classes else math.nan,
        "brier": float(np.mean((prob - true) ** 2)),
        "log_loss": float(-np.mean(log_lik)),
        "mean_predicted": float(prob.mean()),
        "observed_rate": float(true.mean()),
    }


def reliability_table(y_true: ArrayLike, p_pred: ArrayLike, *, n_bins: int = 10) -> pd.DataFrame:
    """Observed purchase rate against mean predicted probability, per quantile bin.

    A calibrated model has ``observed_rate`` close to ``mean_predicted`` in every bin, not
    only on average. Quantile bins (rather than fixed-width ones) keep every bin populated
    when most probabilities are small, as they are for a 30-day horizon.

    Parameters
    ----------
    y_true : array-like of shape (n_customers,)
        1 if the customer bought during the horizon, else 0.
    p_pred : array-like of shape (n_customers,)
        Predicted probability of buying, in [0, 1].
    n_bins : int, default=10
        Number of bins wanted; fewer are returned when tied probabilities fill more than one
        bin or there are fewer customers than bins. Tied customers always share a bin.

    Returns
    -------
    pandas.DataFrame
        One row per bin, ordered from the lowest probabilities (``bin`` 0) to the highest,
        with columns ``bin`` (int), ``mean_predicted``, ``observed_rate`` and ``count`` (int).

    Raises
    ------
    ValueError
        If ``n_bins`` is not a positive integer, ``y_true`` is not 0/1, ``p_pred`` is
        outside [0, 1] or the arrays are invalid.

    Examples
    --------
    >>> reliability_table([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.8], n_bins=2)
       bin  mean_predicted  observed_rate  count
    0    0             0.2            0.0      2
    1    1             0.7            1.0      2
    """
    _check_n_bins(n_bins)
    true, prob = _check_pair(y_true, p_pred, pred_name="p_pred")
    _check_binary(true)
    _check_probabilities(prob)
    frame = pd.DataFrame({"bin": _quantile_bins(prob, n_bins), "prob": prob, "true": true})
    table = frame.groupby("bin", sort=True).agg(
        mean_predicted=("prob", "mean"),
        observed_rate=("true", "mean"),
        count=("true", "size"),
    )
    return table.reset_index()


def reliability_max(y_true: ArrayLike, p_pred: ArrayLike, *, n_bins: int = 10) -> float:
    """The largest |observed rate - mean predicted| over the bins of :func:`reliability_table`,
    a fraction (0.03 = 3 points).

    Examples
    --------
    >>> round(reliability_max([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.8], n_bins=2), 6)
    0.3
    """
    table = reliability_table(y_true, p_pred, n_bins=n_bins)
    return float((table["observed_rate"] - table["mean_predicted"]).abs().max())


def probability_report(y_true: ArrayLike, p_pred: ArrayLike) -> dict[str, float]:
    """:func:`probability_metrics` plus ``reliability_max`` (:func:`reliability_max` over
    deciles), as the backtest reports them."""
    out = probability_metrics(y_true, p_pred)
    out["reliability_max"] = reliability_max(y_true, p_pred)
    return out


# --------------------------------------------------------------------------- intervals


def interval_metrics(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> dict[str, float]:
    """Empirical coverage and mean width of prediction intervals.

    An interval is only useful if it covers as often as its nominal level says (an 80 %
    interval should have ``coverage`` near 0.8) and is no wider than needed; the two numbers
    must be read together, since an infinitely wide interval covers everything.

    Parameters
    ----------
    y_true : array-like of shape (n_customers,)
        Actual spend, in currency units.
    lower, upper : array-like of shape (n_customers,)
        Interval bounds, in currency units, with ``lower <= upper``.

    Returns
    -------
    dict of str to float
        ``coverage``: share of customers with ``lower <= y_true <= upper`` (bounds
        included); ``mean_width``: mean of ``upper - lower``, in currency units;
        ``zero_share``: share of outcomes that are exactly 0. Where most customers buy
        nothing, an interval holding 0 covers all of those, so coverage cannot sensibly
        fall below it.

    Raises
    ------
    ValueError
        If the three arrays differ in length, any ``lower`` exceeds its ``upper``, or the
        arrays are invalid.

    Examples
    --------
    >>> interval_metrics([1, 5], [0, 6], [2, 7])
    {'coverage': 0.5, 'mean_width': 1.5, 'zero_share': 0.0}
    """
    true, low = _check_pair(y_true, lower, pred_name="lower")
    _, high = _check_pair(true, upper, pred_name="upper")
    crossed = np.flatnonzero(low > high)
    if crossed.size:
        raise ValueError(
            f"lower exceeds upper for {crossed.size} customers, at indexes "
            f"{_format_indexes(crossed)}; swap the bounds or check the quantiles."
        )
    return {
        "coverage": float(np.mean((low <= true) & (true <= high))),
        "mean_width": float(np.mean(high - low)),
        "zero_share": float(np.mean(true == 0)),
    }


# --------------------------------------------------------------------------- comparison


def oracle_share(
    model: Mapping[str, float],
    oracle: Mapping[str, float],
    *,
    keys: tuple[str, ...] = _ORACLE_KEYS,
) -> dict[str, float]:
    """Share of an oracle's R2 and Gini (or other `keys`) that a model reaches.

    Next-month spend is mostly noise, so an R2 of 0.2 can be poor or near the best
    possible. Dividing by the score of an oracle (e.g. a model given the true purchase
    rates on synthetic data) turns it into "how much of what is attainable we got".

    Parameters
    ----------
    model, oracle : mapping of str to float
        Outputs of :func:`spend_metrics` (or :func:`probability_metrics`); only `keys` are
        used.
    keys : tuple of str, default=("r2", "gini")
        The scores to compare, e.g. ``("brier",)`` for probabilities.

    Returns
    -------
    dict of str to float
        ``{"r2": model_r2 / oracle_r2, "gini": model_gini / oracle_gini}``; a value is NaN
        where the oracle's is NaN or <= 0 (a ratio to a non-positive score means nothing).

    Raises
    ------
    ValueError
        If either mapping lacks one of `keys`.

    Examples
    --------
    >>> oracle_share({"r2": 0.3, "gini": 0.4}, {"r2": 0.6, "gini": 0.5})
    {'r2': 0.5, 'gini': 0.8}
    """
    for name, metrics in (("model", model), ("oracle", oracle)):
        missing = [key for key in keys if key not in metrics]
        if missing:
            raise ValueError(
                f"{name} lacks the keys {missing}; pass the dict returned by spend_metrics() "
                "(or probability_metrics())."
            )
    shares = {}
    for key in keys:
        ref = float(oracle[key])
        shares[key] = float(model[key]) / ref if ref > 0 else math.nan  # NaN > 0 is False
    return shares


def top_decile_coverage(
    y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike, predicted: ArrayLike
) -> float:
    """Coverage of the intervals among the 10% of customers with the highest prediction.

    The customers a retailer acts on. Where most customers buy nothing, intervals can
    reach their nominal coverage overall while failing these customers (an interval of
    [0, 0] covers everyone who buys nothing): read it beside ``coverage``.

    Examples
    --------
    >>> top_decile_coverage([0] * 9 + [50], [0] * 10, [0] * 10, list(range(10)))
    0.0
    """
    true, low = _check_pair(y_true, lower, pred_name="lower")
    _, high = _check_pair(true, upper, pred_name="upper")
    _, pred = _check_pair(true, predicted, pred_name="predicted")
    top = pred >= np.quantile(pred, 0.9)
    return float(np.mean((low[top] <= true[top]) & (true[top] <= high[top])))
