"""Monthly series for the charts: every month up to the as-of day, months without a
purchase as zeros, so that a chart reaches the as-of date and not the last purchase.

- :func:`revenue_by_month`: net revenue of (a part of) the base per month, in total and per
  category (the forecast tab's history).
- :func:`spend_by_month`: one customer's net spend per month since their first purchase
  (the lookup tab's history).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["revenue_by_month", "spend_by_month"]


def _last_month(day: pd.Timestamp) -> pd.Period:
    """The month of the last day before `day` (history is strictly before the as-of day)."""
    return (pd.Timestamp(day) - pd.Timedelta(days=1)).to_period("M")


def revenue_by_month(
    revenue: pd.DataFrame, day: pd.Timestamp, *, categories: Sequence[str], months: int
) -> dict[str, pd.DataFrame]:
    """Net revenue per month, in total and per category, of the `months` months before `day`.

    Parameters
    ----------
    revenue : DataFrame
        ``month, category, amount`` rows, as ``Source.revenue`` returns them.
    day : Timestamp
        The as-of day: the last month shown is the one of the day before.
    categories : sequence of str
        The categories to show, in order (a category without rows gets zeros).
    months : int
        How many months to show, the last one included.

    Returns
    -------
    dict of str to DataFrame
        ``"total"`` then each category: ``month`` (first day, datetime) and ``spend`` (float).

    Examples
    --------
    >>> rows = pd.DataFrame({"month": ["2026-03-01"], "category": ["home"], "amount": [5.0]})
    >>> history = revenue_by_month(rows, pd.Timestamp("2026-05-01"), categories=["home"],
    ...                            months=3)
    >>> history["total"]["spend"].tolist()
    [0.0, 5.0, 0.0]
    """
    periods = pd.period_range(end=_last_month(day), periods=months)
    month = pd.to_datetime(revenue["month"]).dt.to_period("M")
    by_category = revenue.groupby([month, revenue["category"]])["amount"].sum()
    by_category = by_category.unstack(fill_value=0)
    by_category = by_category.reindex(index=periods, columns=list(categories), fill_value=0)
    spend = {"total": by_category.sum(axis=1), **{c: by_category[c] for c in categories}}
    return {
        t: pd.DataFrame({"month": periods.to_timestamp(), "spend": v.to_numpy(dtype="float64")})
        for t, v in spend.items()
    }


def spend_by_month(spend: pd.DataFrame, day: pd.Timestamp, *, months: int = 24) -> pd.DataFrame:
    """Monthly spend from the first purchase (at most `months` back) to the month before `day`.

    Parameters
    ----------
    spend : DataFrame
        ``month, spend`` rows of one customer (months with a purchase only).
    day : Timestamp
        The as-of day.
    months : int
        The most months shown.

    Returns
    -------
    DataFrame
        ``month`` (first day) and ``spend``, one row per month, zeros included; no row for
        a customer without a purchase (a chart then shows no empty month before the
        forecast).

    Examples
    --------
    >>> rows = pd.DataFrame({"month": pd.to_datetime(["2026-01-01"]), "spend": [50.0]})
    >>> spend_by_month(rows, pd.Timestamp("2026-03-01"))["spend"].tolist()
    [50.0, 0.0]
    >>> len(spend_by_month(rows.iloc[:0], pd.Timestamp("2026-03-01")))
    0
    """
    end = _last_month(day)
    if not len(spend):
        return pd.DataFrame({"month": pd.to_datetime([]), "spend": pd.Series([], dtype="float64")})
    first = pd.Timestamp(spend["month"].min()).to_period("M")
    start = max(first, end - (months - 1))
    periods = pd.period_range(start, end, freq="M")
    total = spend.groupby(pd.to_datetime(spend["month"]).dt.to_period("M"))["spend"].sum()
    total = total.reindex(periods, fill_value=0.0)
    return pd.DataFrame({"month": periods.to_timestamp(), "spend": total.to_numpy()})
