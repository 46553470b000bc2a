"""Reason codes: each customer's top drivers of the prediction, in plain words.

The drivers are the features with the largest contributions (SHAP values of the total
spend model) for that customer. Each is phrased from the feature's value, and where a
customer-own reference exists, against it ("spent 3.1× their usual in the last 30 days");
otherwise against the typical customer ("last purchase 212 days ago (typical: 41)").
Formatting is done column by column over all customers at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Plain-words label per feature (a feature without one uses its name).
LABELS: dict[str, str] = {
    "days_since_last": "last purchase {v:.0f} days ago",
    "days_since_first": "first purchase {v:.0f} days ago",
    "gap_mean_days": "buys every {v:.0f} days on average",
    "gap_std_days": "irregular buyer (gap spread {v:.0f} days)",
    "overdue_ratio": "{v:.1f}× their usual gap since the last purchase",
    "txn_count_lifetime": "{v:.0f} purchases in all",
    "txn_count_7d": "{v:.0f} purchases in the last 7 days",
    "txn_count_30d": "{v:.0f} purchases in the last 30 days",
    "txn_count_90d": "{v:.0f} purchases in the last 90 days",
    "txn_count_365d": "{v:.0f} purchases in the last year",
    "spend_lifetime": "spent {v:,.0f} in all",
    "spend_7d": "spent {v:,.0f} in the last 7 days",
    "spend_30d": "spent {v:,.0f} in the last 30 days",
    "spend_90d": "spent {v:,.0f} in the last 90 days",
    "spend_365d": "spent {v:,.0f} in the last year",
    "spend_trend_30d": "spend {v:+,.0f} vs the 30 days before",
    "basket_mean": "average basket {v:,.0f}",
    "basket_max": "largest basket {v:,.0f}",
    "daily_spend_rate": "spends {v:,.0f} a day on average",
    "loyalty_points": "{v:,.0f} loyalty points",
    "account_age_days": "customer for {v:.0f} days",
    "online_share": "{v:.0%} of purchases online",
    "promo_share": "{v:.0%} of purchases on promotion",
    "returns_365d": "returned {v:,.0f} in the last year",
}

#: Features compared with the customer's own usual rate: (feature, window days).
_OWN_USUAL = {"spend_7d": 7, "spend_30d": 30, "spend_90d": 90}


def _phrase(name: str, values: np.ndarray, typical: float, usual: np.ndarray | None) -> list[str]:
    """One feature's phrase for each of `values` (`usual`: the customer's own reference)."""
    template = LABELS.get(name, name.replace("_", " ") + " {v:,.2f}")
    text = [template.format(v=v) if np.isfinite(v) else f"{name} unknown" for v in values]
    if usual is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(usual > 0, values / usual, np.nan)
        note = [f" ({r:.1f}× their usual)" if np.isfinite(r) else "" for r in ratio]
    elif np.isfinite(typical):
        note = [f" (typical: {typical:,.0f})"] * len(values)
    else:
        note = [""] * len(values)
    return [t + n for t, n in zip(text, note, strict=True)]


def reason_codes(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    typical: pd.Series,
    *,
    top: int = 3,
) -> pd.DataFrame:
    """The `top` drivers per row: ``reason_1`` .. ``reason_<top>`` as plain sentences.

    Parameters
    ----------
    contributions : DataFrame
        Per-feature contributions (e.g. :meth:`Predictor.explain`), ``base_value`` ignored.
    features : DataFrame
        The feature values of the same rows.
    typical : Series
        Typical (median) value per feature, for comparison.

    Returns
    -------
    DataFrame
        Same index; each cell like ``"↑ spent 12,400 in the last 30 days (3.1× their usual)"``
        where ↑ raises and ↓ lowers the prediction.
    """
    contrib = contributions.drop(columns=["base_value"], errors="ignore")
    values = contrib.to_numpy()
    order = np.argsort(-np.abs(values), axis=1)[:, :top]
    names = np.asarray(contrib.columns)
    yearly = (
        features["spend_365d"].to_numpy(dtype=float) / 365 if "spend_365d" in features else None
    )
    out = {}
    for k in range(order.shape[1]):
        chosen = names[order[:, k]]
        sign = np.take_along_axis(values, order[:, k : k + 1], axis=1)[:, 0]
        text = np.empty(len(chosen), dtype=object)
        for name in pd.unique(chosen):  # loop over features, each vectorised over customers
            rows = chosen == name
            usual = (
                yearly[rows] * _OWN_USUAL[name]
                if name in _OWN_USUAL and yearly is not None
                else None
            )
            value = features[name].to_numpy(dtype=float)[rows]
            text[rows] = _phrase(name, value, float(typical.get(name, np.nan)), usual)
        arrows = np.where(sign >= 0, "↑ ", "↓ ").astype(object)
        out[f"reason_{k + 1}"] = arrows + text
    return pd.DataFrame(out, index=contrib.index, columns=[f"reason_{k + 1}" for k in range(top)])
