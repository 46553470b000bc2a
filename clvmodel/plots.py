"""Figures for the model card and the app: pure functions from data to a matplotlib Figure.

Each ``*_plot`` function takes a small table (usually one produced by
:mod:`clvmodel.evaluation`) and returns a :class:`matplotlib.figure.Figure`; nothing is
shown or written. :func:`save_figure` writes a figure as PNG and closes it.

Figures are built with :class:`matplotlib.figure.Figure` directly rather than
``pyplot.subplots``, so they never enter pyplot's list of open figures: a server that draws
one per request cannot leak them, and no interactive backend is needed. The Agg backend is
selected at import all the same, for any code that goes through pyplot.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: servers have no display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from clvmodel.catalogue import feature_label

__all__ = [
    "category_forecast_plot",
    "decile_plot",
    "forecast_plot",
    "history_plot",
    "importance_plot",
    "reliability_plot",
    "save_figure",
]

#: Resolution of saved PNGs, in dots per inch.
DPI = 110
#: The smallest text of a chart, in points at the figure's own size. The app's charts are
#: drawn about as wide as the app shows them (Gradio writes them at 100 dpi and shrinks a
#: wider image to its column), so this is about the size a person reads.
TEXT_PT = 10
#: The forecast chart's size in inches: the forecast tab shows it in a column of ~480
#: pixels at a 1280-pixel window, the lookup in one of ~600.
FORECAST_SIZE = (4.8, 3.4)
#: The model tab shows the importance and decile charts side by side, ~600 pixels each.
_MODEL_TAB_SIZE = (6.2, 4.0)

_PREDICTED_COLOR = "#4C72B0"
_ACTUAL_COLOR = "#DD8452"
_NEGATIVE_COLOR = "#8C8C8C"
_MONEY_FORMAT = StrMethodFormatter("{x:,.0f}")


def _check_columns(table: pd.DataFrame, required: Iterable[str], name: str) -> None:
    """Raise a ValueError naming the missing columns of ``table``."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(table).__name__}.")
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(
            f"{name} lacks the columns {missing}; got {list(table.columns)}. "
            f"Pass the table returned by clvmodel.evaluation."
        )


def _in(label: str, currency: str) -> str:
    """An axis label with its currency, or without one when no currency is named ("")."""
    return f"{label} ({currency})" if currency else label


def _set_title(ax, title: str, width: float) -> None:
    """A title wrapped to the figure's width (about 11 characters an inch), never cut."""
    ax.set_title(textwrap.fill(title, max(20, int(width * 11))))


def _new_axes(width: float = 7.0, height: float = 4.0):
    """A fresh Figure outside pyplot's registry, and its single Axes."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _legend_below(fig: Figure, ax, *, ncols: int | None = None) -> None:
    """The legend of `ax` under the figure's axes, in one row: off the data whatever the
    data look like (a legend inside the axes covers bars sooner or later)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncols=ncols or len(labels), frameon=False,
        fontsize=TEXT_PT,
    )  # fmt: skip


def decile_plot(table: pd.DataFrame, *, title: str, currency: str) -> Figure:
    """Grouped bars of mean predicted and mean actual spend per bin of the predictions.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`clvmodel.evaluation.decile_table`: one row per bin, lowest
        predictions first, with columns ``bin``, ``mean_predicted``, ``mean_actual`` and
        ``count``.
    title : str
        Figure title.
    currency : str
        Currency code shown on the y axis, e.g. ``"INR"``.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes holding two bars per bin (predicted, then actual), bins labelled 1 to n.

    Raises
    ------
    ValueError
        If a column is missing or the table is empty.

    Examples
    --------
    >>> from clvmodel.evaluation import decile_table
    >>> fig = decile_plot(decile_table([0, 0, 5, 20], [1, 2, 8, 15], n_bins=2),
    ...                   title="Total", currency="INR")
    >>> len(fig.axes[0].patches)
    4
    """
    _check_columns(table, ["bin", "mean_predicted", "mean_actual"], "table")
    if table.empty:
        raise ValueError("table is empty; decile_plot needs at least one bin.")
    table = table.sort_values("bin")
    x = np.arange(len(table))
    width = 0.4
    fig, ax = _new_axes(*_MODEL_TAB_SIZE)
    ax.bar(x - width / 2, table["mean_predicted"], width, label="predicted", color=_PREDICTED_COLOR)
    ax.bar(x + width / 2, table["mean_actual"], width, label="actual", color=_ACTUAL_COLOR)
    ax.set_xticks(x, [str(int(b) + 1) for b in table["bin"]])
    ax.set_xlabel("Bin of predicted spend (1 = lowest)")
    ax.set_ylabel(_in("Mean spend per customer", currency))
    ax.yaxis.set_major_formatter(_MONEY_FORMAT)
    ax.axhline(0, color="black", linewidth=0.8)
    _legend_below(fig, ax)
    _set_title(ax, title, fig.get_figwidth())
    return fig


def importance_plot(importance: Mapping[str, float], *, title: str, top: int = 15) -> Figure:
    """Horizontal bars of the ``top`` largest feature importances, largest at the top.

    Parameters
    ----------
    importance : mapping of str to float
        Feature name to importance, e.g. shares summing to 1. Any order. Bars are
        labelled with :func:`clvmodel.catalogue.feature_label`.
    title : str
        Figure title.
    top : int, default=15
        How many features to show; all of them if there are fewer.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes with ``min(top, len(importance))`` bars.

    Raises
    ------
    ValueError
        If ``importance`` is empty or ``top`` is not a positive integer.

    Examples
    --------
    >>> fig = importance_plot({"spend_90d": 0.5, "days_since_last": 0.3, "n_stores": 0.2},
    ...                       title="Total", top=2)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['Days since last purchase', 'Spend, last 90 days']
    """
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ValueError(f"top must be a positive integer; got {top!r} instead.")
    if not importance:
        raise ValueError("importance is empty; pass a dict of feature name to importance.")
    ranked = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:top]
    # barh draws the first item at the bottom; features by their plain labels
    names = [feature_label(name) for name, _ in reversed(ranked)]
    values = [float(value) for _, value in reversed(ranked)]
    fig, ax = _new_axes(_MODEL_TAB_SIZE[0], 0.3 * len(names) + 1.2)
    ax.barh(names, values, color=_PREDICTED_COLOR)
    ax.set_xlabel("Importance")
    _set_title(ax, title, fig.get_figwidth())
    return fig


def reliability_plot(table: pd.DataFrame, *, title: str) -> Figure:
    """Observed purchase rate against mean predicted probability per bin, with the diagonal.

    Points on the dashed diagonal mean the probabilities are calibrated. The axes stop a
    little above the largest value rather than at 1, since 30-day purchase probabilities
    are mostly small.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`clvmodel.evaluation.reliability_table`, with columns ``bin``,
        ``mean_predicted``, ``observed_rate`` and ``count``.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes with two lines: the model (one marker per bin), then the diagonal.

    Raises
    ------
    ValueError
        If a column is missing or the table is empty.

    Examples
    --------
    >>> from clvmodel.evaluation import reliability_table
    >>> fig = reliability_plot(reliability_table([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.8],
    ...                                          n_bins=2), title="Purchase")
    >>> len(fig.axes[0].lines)
    2
    """
    _check_columns(table, ["bin", "mean_predicted", "observed_rate"], "table")
    if table.empty:
        raise ValueError("table is empty; reliability_plot needs at least one bin.")
    table = table.sort_values("bin")
    top = max(float(table["mean_predicted"].max()), float(table["observed_rate"].max()))
    limit = min(1.0, top * 1.05) if top > 0 else 1.0
    fig, ax = _new_axes(5.0, 5.0)
    ax.plot(
        table["mean_predicted"],
        table["observed_rate"],
        marker="o",
        label="model",
        color=_PREDICTED_COLOR,
    )
    ax.plot([0, limit], [0, limit], linestyle="--", color="grey", label="perfect calibration")
    ax.set_xlim(0, limit)
    ax.set_ylim(0, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("Mean predicted probability")
    ax.set_ylabel("Observed purchase rate")
    _legend_below(fig, ax)
    _set_title(ax, title, fig.get_figwidth())
    return fig


def history_plot(history: pd.DataFrame, *, title: str, currency: str) -> Figure:
    """Bars of one customer's net spend per calendar month.

    Rows in the same month are summed and months without a row between the first and the
    last are drawn as zero, so gaps in buying show as gaps. Net spend can be negative (a
    month with more returned than bought); such bars are grey.

    Parameters
    ----------
    history : pandas.DataFrame
        Columns ``month`` (datetime; any day of the month) and ``spend`` (currency units).
        May be empty: the figure then says there is no purchase to show.
    title : str
        Figure title.
    currency : str
        Currency code shown on the y axis, e.g. ``"INR"``.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes with one bar per month from the first to the last month of ``history``.

    Raises
    ------
    ValueError
        If a column is missing.

    Examples
    --------
    >>> h = pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-03-01"]),
    ...                   "spend": [1200.0, 300.0]})
    >>> len(history_plot(h, title="C42", currency="INR").axes[0].patches)
    3
    """
    _check_columns(history, ["month", "spend"], "history")
    fig, ax = _new_axes(7.0, 3.5)
    _set_title(ax, title, fig.get_figwidth())
    if history.empty:
        ax.text(0.5, 0.5, "No purchases to show", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    months = pd.to_datetime(history["month"]).dt.to_period("M")
    spend = history["spend"].astype(float).groupby(months).sum()
    spend = spend.reindex(pd.period_range(months.min(), months.max(), freq="M"), fill_value=0.0)
    x = np.arange(len(spend))
    colors = [_NEGATIVE_COLOR if v < 0 else _PREDICTED_COLOR for v in spend]
    ax.bar(x, spend.to_numpy(), color=colors)
    # Label every month when there are few, otherwise about twelve labels.
    step = max(1, int(np.ceil(len(spend) / 12)))
    ax.set_xticks(
        x[::step], [p.strftime("%b %Y") for p in spend.index[::step]], rotation=45, ha="right"
    )
    ax.set_ylabel(_in("Net spend", currency))
    ax.yaxis.set_major_formatter(_MONEY_FORMAT)
    ax.axhline(0, color="black", linewidth=0.8)
    return fig


def forecast_plot(
    history: pd.DataFrame,
    forecast: tuple[float, float, float],
    *,
    title: str,
    currency: str,
    horizon_label: str = "next 30 days",
) -> Figure:
    """Monthly spend so far as bars, and the forecast with its band beside them.

    Months before the first one with any spend are left out (a customer's history starts at
    their first purchase; a customer with none, a cold start, gets the forecast bar alone).
    The legend is under the axes, never over a bar.

    Parameters
    ----------
    history : pandas.DataFrame
        Columns ``month`` (datetime) and ``spend``: every month to show, zeros included.
    forecast : (expected, low, high)
        The forecast of the coming period and the interval of the sum.

    Examples
    --------
    >>> h = pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-02-01"]),
    ...                   "spend": [100.0, 120.0]})
    >>> len(forecast_plot(h, (110.0, 90.0, 130.0), title="t", currency="INR").axes[0].patches)
    3
    """
    _check_columns(history, ["month", "spend"], "history")
    fig = Figure(figsize=FORECAST_SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(textwrap.fill(title, 44), fontsize=TEXT_PT + 1)
    history = history.iloc[_first_spent(history["spend"]) :]
    _forecast_bars(ax, history, forecast, horizon_label=horizon_label)
    ax.set_ylabel(_in("Net spend per month", currency), fontsize=TEXT_PT)
    if history.empty:
        ax.set_xlabel("No purchase so far", fontsize=TEXT_PT)
    _legend_below(fig, ax)
    return fig


def _first_spent(*spends: pd.Series) -> int:
    """The position of the first month with any spend in any of `spends` (their length if
    none has any): the months before it would be empty slots."""
    spent = np.zeros(len(spends[0]), dtype=bool)
    for spend in spends:
        spent |= spend.astype(float).fillna(0.0).to_numpy() != 0
    return int(np.argmax(spent)) if spent.any() else len(spent)


def _forecast_bars(
    ax, history: pd.DataFrame, forecast: tuple[float, float, float], *, horizon_label: str
) -> None:
    """History bars, then the forecast bar with its interval, on one Axes."""
    spend = history["spend"].astype(float).to_numpy()
    labels = [f"{m:%b %Y}" for m in pd.to_datetime(history["month"])]
    x = np.arange(len(spend) + 1)
    if len(spend):  # no "actual" in the legend when there is none
        ax.bar(x[:-1], spend, color=_ACTUAL_COLOR, label="actual")
    expected, low, high = forecast
    ax.bar(x[-1], expected, color=_PREDICTED_COLOR, label="forecast")
    # The interval is drawn on its own, low to high: the expected spend may lie outside it
    # (a customer who probably buys nothing has [0, 0] and a positive mean; see README).
    low, high = min(low, high), max(low, high)
    ax.errorbar(x[-1], (low + high) / 2, yerr=(high - low) / 2, fmt="none", color="black",
                capsize=6, label="80% interval")  # fmt: skip
    # About six labels: the charts are small, and a label per month would overlap.
    step = max(1, int(np.ceil(len(x) / 6)))
    ticks = [*labels, horizon_label]
    shown = sorted({*range(len(x) - 1, -1, -step)})  # counted back from the forecast bar
    ax.set_xticks(x[shown], [ticks[i] for i in shown], rotation=45, ha="right")
    ax.tick_params(labelsize=TEXT_PT)
    ax.yaxis.set_major_formatter(_MONEY_FORMAT)
    # A forecast bar alone (no history) is drawn a quarter of the axes wide, not all of it.
    ax.set_xlim(*((-0.6, len(x) - 0.4) if len(x) > 1 else (-2.0, 2.0)))


def category_forecast_plot(
    histories: Mapping[str, pd.DataFrame],
    forecasts: Mapping[str, tuple[float, float, float]],
    *,
    title: str,
    currency: str,
    horizon_label: str = "next 30 days",
) -> Figure:
    """The forecast plot for each category, small multiples two to a row.

    Parameters
    ----------
    histories : mapping of category to DataFrame
        Each with columns ``month`` and ``spend``, as :func:`forecast_plot` takes.
    forecasts : mapping of category to (expected, low, high)
        Same keys as `histories`.

    Examples
    --------
    >>> h = pd.DataFrame({"month": pd.to_datetime(["2026-01-01"]), "spend": [10.0]})
    >>> fig = category_forecast_plot({"a": h, "b": h, "c": h}, dict.fromkeys("abc", (9, 8, 11)),
    ...                              title="t", currency="INR")
    >>> len([ax for ax in fig.axes if ax.get_visible()])
    3
    """
    names = list(histories)
    if not names or set(names) != set(forecasts):
        raise ValueError(
            f"histories and forecasts must name the same categories; got {names} and "
            f"{list(forecasts)}."
        )
    for name in names:
        _check_columns(histories[name], ["month", "spend"], f"histories[{name!r}]")
    rows = (len(names) + 1) // 2
    fig = Figure(figsize=(10.0, 2.9 * rows + 0.9), layout="constrained")
    axes = fig.subplots(rows, 2, squeeze=False).ravel()
    # The same months in every panel: those before the first with spend in any are left out.
    start = _first_spent(*(histories[name]["spend"] for name in names))
    for ax, name in zip(axes, names, strict=False):
        _forecast_bars(ax, histories[name].iloc[start:], forecasts[name],
                       horizon_label=horizon_label)  # fmt: skip
        ax.set_title(name, fontsize=TEXT_PT + 1)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in axes[::2]:
        ax.set_ylabel(_in("Net spend per month", currency), fontsize=TEXT_PT)
    _legend_below(fig, axes[0])
    fig.suptitle(textwrap.fill(title, 110))
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to write. It is closed afterwards, even if writing fails.
    path : str or Path
        Output file; missing parent folders are created. Written as PNG whatever the
        suffix, at :data:`DPI` dots per inch with a tight bounding box.

    Returns
    -------
    Path
        ``path``, as a :class:`pathlib.Path`.

    Examples
    --------
    >>> import tempfile
    >>> fig = importance_plot({"spend_90d": 1.0}, title="Total")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = save_figure(fig, Path(tmp) / "plots" / "importance.png")
    ...     out.read_bytes()[:4]
    b'\\x89PNG'
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
