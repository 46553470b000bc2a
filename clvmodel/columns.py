"""The columns of a prediction: what every served row holds, by name.

Shared by the model, the app, the CLI and the batch scorer, so that a column is named once.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "COLD_START_REASON",
    "IF_BUY",
    "MEDIAN",
    "PROBABILITY",
    "REASONS",
    "prediction_columns",
]

PROBABILITY = "purchase_probability"
MEDIAN = "predicted_total_median"
#: The amount of total spend if they buy: its mean, the interval's low end, median, high
#: end (no ``predicted_`` prefix: a ``predicted_<c>`` with ``_low`` and ``_high`` is a
#: category to :func:`clvmodel.lists.score_categories`).
IF_BUY = ["total_if_buy", "total_if_buy_low", "total_if_buy_median", "total_if_buy_high"]
REASONS = ["reason_1", "reason_2", "reason_3"]
COLD_START_REASON = "no purchase yet: predicted from segment, loyalty tier and account age"


def prediction_columns(categories: Iterable[str]) -> list[str]:
    """The columns :meth:`clvmodel.CLVModel.predict_features` returns, shared by the app
    and the CLI.

    Per spend target the expected spend and its interval (``_low``, ``_high``: the
    quantiles of the predictive distribution at the interval's ends); then P(buy), the
    median of total spend, the amount of total spend if they buy (:data:`IF_BUY`: mean,
    interval ends and median of the same distribution's amount given a purchase) and
    three reasons.
    """
    cols = []
    for t in ["total", *categories]:
        cols += [f"predicted_{t}", f"predicted_{t}_low", f"predicted_{t}_high"]
    return [*cols, PROBABILITY, MEDIAN, *IF_BUY, *REASONS]
