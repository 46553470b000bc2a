"""The columns of a prediction: what every served row holds, by name.

Shared by the model, the app, the CLI and the batch scorer, so that a column is named once.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["COLD_START_REASON", "MEDIAN", "PROBABILITY", "REASONS", "prediction_columns"]

PROBABILITY = "purchase_probability"
MEDIAN = "predicted_total_median"
REASONS = ["reason_1", "reason_2", "reason_3"]
COLD_START_REASON = "no purchase yet: predicted from segment, loyalty tier and account age"


def prediction_columns(categories: Iterable[str]) -> list[str]:
    """The columns :meth:`clvmodel.CLVModel.predict_features` returns, shared by the app
    and the CLI.

    Per spend target the expected spend and its interval (``_low``, ``_high``: the
    quantiles of the predictive distribution at the interval's ends); then P(buy), the
    median of total spend and three reasons.
    """
    cols = []
    for t in ["total", *categories]:
        cols += [f"predicted_{t}", f"predicted_{t}_low", f"predicted_{t}_high"]
    return [*cols, PROBABILITY, MEDIAN, *REASONS]
