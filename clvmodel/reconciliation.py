"""Per-category predictions that add up to the total prediction.

The total model sees every purchase and is the best calibrated, so categories are
reconciled top-down: each customer's category predictions are scaled by one factor so
that they sum to the total prediction, and their interval bounds by the same factor.
Where every category prediction is zero the total is split by the customer's
historical category shares, or evenly for a customer without any.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

METHOD = (
    "proportional top-down: each customer's category predictions (clipped at 0) are scaled "
    "by one factor so they sum to the total prediction; interval bounds scale by the same "
    "factor; without any positive category prediction the total is split by the customer's "
    "historical category shares"
)


def reconcile(
    pred: pd.DataFrame, categories: Sequence[str], *, shares: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Scale ``predicted_<category>`` (and ``_low``/``_high``) to sum to ``predicted_total``.

    Parameters
    ----------
    pred : DataFrame
        Prediction columns as :func:`clvmodel.prediction.prediction_columns` names them.
    categories : sequence of str
    shares : DataFrame, optional
        Historical spend shares per category (columns ``share_<category>``), used only
        where all category predictions are zero.

    Returns
    -------
    DataFrame
        A copy with reconciled category columns; totals untouched.
    """
    if not categories:
        return pred.copy()
    out = pred.copy()
    cols = [f"predicted_{c}" for c in categories]
    cats = out[cols].clip(lower=0).to_numpy()
    total = out["predicted_total"].clip(lower=0).to_numpy()
    sums = cats.sum(axis=1)
    factor = np.divide(total, sums, out=np.zeros_like(total), where=sums > 0)
    if shares is not None:
        fallback = shares[[f"share_{c}" for c in categories]].clip(lower=0).fillna(0).to_numpy()
    else:
        fallback = np.zeros_like(cats)
    fallback_sum = fallback.sum(axis=1, keepdims=True)
    fallback = np.where(
        fallback_sum > 0, fallback / np.where(fallback_sum > 0, fallback_sum, 1), 1 / len(cols)
    )
    empty = sums <= 0
    out[cols] = np.where(empty[:, None], fallback * total[:, None], cats * factor[:, None])
    for c in categories:
        for bound in ("low", "high"):
            col = f"predicted_{c}_{bound}"
            if col in out:
                out[col] = np.where(empty, out[col], out[col].clip(lower=0) * factor)
    return out
