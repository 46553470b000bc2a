"""clvmodel.history: monthly series that reach the as-of month, zeros included."""

import pandas as pd
import pytest

from clvmodel import plots
from clvmodel.history import revenue_by_month, spend_by_month


def test_revenue_by_month_has_every_month_and_category_and_adds_up():
    revenue = pd.DataFrame(
        {
            "month": ["2026-02-01", "2026-02-01", "2026-04-01", "2025-01-01"],
            "category": ["home", "grocery", "home", "home"],
            "amount": [10.0, 5.0, -2.0, 99.0],  # the last one is before the months shown
        }
    )
    history = revenue_by_month(
        revenue, pd.Timestamp("2026-05-01"), categories=["grocery", "home", "toys"], months=4
    )
    assert list(history) == ["total", "grocery", "home", "toys"]
    for frame in history.values():
        assert list(frame["month"].dt.strftime("%Y-%m")) == [
            "2026-01", "2026-02", "2026-03", "2026-04"
        ]  # fmt: skip
    assert history["total"]["spend"].tolist() == [0.0, 15.0, 0.0, -2.0]
    assert history["home"]["spend"].tolist() == [0.0, 10.0, 0.0, -2.0]
    assert history["toys"]["spend"].tolist() == [0.0] * 4


def test_revenue_by_month_ends_with_the_month_before_the_as_of_day():
    history = revenue_by_month(
        pd.DataFrame({"month": [], "category": [], "amount": []}),
        pd.Timestamp("2026-05-02"),
        categories=["home"],
        months=2,
    )
    assert list(history["total"]["month"].dt.strftime("%Y-%m")) == ["2026-04", "2026-05"]


def test_spend_by_month_reaches_the_as_of_month_with_zeros():
    history = pd.DataFrame({"month": pd.to_datetime(["2026-01-01"]), "spend": [50.0]})
    months = spend_by_month(history, pd.Timestamp("2026-05-01"))
    assert list(months["month"].dt.strftime("%Y-%m")) == [
        "2026-01", "2026-02", "2026-03", "2026-04"
    ]  # fmt: skip
    assert list(months["spend"]) == [50.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(("months", "first"), [(3, "2026-02"), (24, "2025-01")])
def test_spend_by_month_shows_at_most_months_back(months, first):
    history = pd.DataFrame({"month": pd.to_datetime(["2025-01-01"]), "spend": [1.0]})
    shown = spend_by_month(history, pd.Timestamp("2026-05-01"), months=months)
    assert shown["month"].iloc[0].strftime("%Y-%m") == first
    assert shown["spend"].sum() == (1.0 if months == 24 else 0.0)


def test_spend_by_month_of_a_customer_without_purchases_has_no_month():
    # A cold-start customer's chart shows the forecast alone, not an empty month before it.
    empty = pd.DataFrame({"month": pd.to_datetime([]), "spend": []})
    shown = spend_by_month(empty, pd.Timestamp("2026-05-01"))
    assert shown.empty and list(shown.columns) == ["month", "spend"]
    assert shown["spend"].dtype == "float64"
    fig = plots.forecast_plot(shown, (460.0, 0.0, 900.0), title="C9", currency="")
    ax = fig.axes[0]
    assert len(ax.patches) == 1  # the forecast bar only
    assert [t.get_text() for t in ax.get_xticklabels()] == ["next 30 days"]
