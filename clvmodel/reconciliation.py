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
    columns = {c: pred[c].to_numpy(dtype="float64") for c in pred.columns if c.startswith("pred")}
    if shares is not None:
        shares = shares[[f"share_{c}" for c in categories]].to_numpy(dtype="float64")
    return pred.assign(**reconcile_columns(columns, categories, shares=shares))


def reconcile_columns(
    pred: dict[str, np.ndarray], categories: Sequence[str], *, shares: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """:func:`reconcile` on a dict of column arrays (rows × categories `shares`).

    Plain arrays, because scoring one row with pandas column operations costs more than
    all its models' predictions together.
    """
    out = dict(pred)
    if not categories:
        return out
    cols = [f"predicted_{c}" for c in categories]
    cats = np.clip(np.column_stack([pred[c] for c in cols]), 0, None)
    total = np.clip(pred["predicted_total"], 0, None)
    sums = cats.sum(axis=1)
    factor = np.divide(total, sums, out=np.zeros_like(total), where=sums > 0)
    fallback = np.zeros_like(cats) if shares is None else np.nan_to_num(np.clip(shares, 0, None))
    fallback_sum = fallback.sum(axis=1, keepdims=True)
    fallback = np.where(
        fallback_sum > 0, fallback / np.where(fallback_sum > 0, fallback_sum, 1), 1 / len(cols)
    )
    empty = sums <= 0
    scaled = np.where(empty[:, None], fallback * total[:, None], cats * factor[:, None])
    for i, col in enumerate(cols):
        out[col] = scaled[:, i]
        for bound in ("low", "high"):
            if f"{col}_{bound}" in out:
                b = pred[f"{col}_{bound}"]
                out[f"{col}_{bound}"] = np.where(empty, b, np.clip(b, 0, None) * factor)
    return out
