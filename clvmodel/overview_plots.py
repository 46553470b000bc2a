"""The overview of a log as one figure: revenue per month, customers by purchases, shares.

A pure function from :class:`~clvmodel.overview.LogOverview` to a matplotlib Figure, built
without pyplot (as :mod:`clvmodel.plots` does), so a server drawing one per upload leaks none.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter, StrMethodFormatter

from clvmodel.overview import LogOverview

__all__ = ["overview_figure"]

_COLOR = "#4C72B0"
_NEGATIVE = "#8C8C8C"


def overview_figure(overview: LogOverview, *, currency: str = "") -> Figure:
    """Three panels: net revenue per month, customers by number of purchases, and the
    category shares of gross spend (left out when the log has no categories)."""
    shares = overview.category_shares
    panels = 3 if len(shares) else 2
    fig = Figure(figsize=(4.2 * panels, 3.6), layout="constrained")
    axes = fig.subplots(1, panels)
    monthly = overview.monthly_revenue
    ax = axes[0]
    labels = [f"{m:%b %y}" for m in monthly.index]
    colors = [_COLOR if v >= 0 else _NEGATIVE for v in monthly.to_numpy()]
    ax.bar(range(len(monthly)), monthly.to_numpy(), color=colors)
    ax.set_xticks(range(len(monthly)), labels, rotation=90 if len(monthly) > 6 else 0)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_title(f"Net revenue per month{f' ({currency})' if currency else ''}", fontsize=10)
    counts = overview.purchases_per_customer
    ax = axes[1]
    ax.bar(range(len(counts)), counts.to_numpy(), color=_COLOR)
    ax.set_xticks(range(len(counts)), list(counts.index))
    ax.set_xlabel("purchases")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_title("Customers by number of purchases", fontsize=10)
    if panels == 3:
        ax = axes[2]
        ordered = shares.iloc[::-1]
        ax.barh(range(len(ordered)), ordered.to_numpy(), color=_COLOR)
        ax.set_yticks(range(len(ordered)), [str(c).replace("_", " ") for c in ordered.index])
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_title("Share of spend by category", fontsize=10)
    for ax in axes:
        ax.tick_params(labelsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    return fig
