"""Cutoffs, targets and the panel a model is fit on; the data as known on a past day.

A panel stacks, for each cutoff, every customer's features (from rows strictly before the
cutoff, :func:`build_features`) beside their net spend in the `horizon` days from it
(:func:`build_targets`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.dates import as_day, day_after
from clvmodel.features.config import FeatureConfig, map_categories
from clvmodel.features.frame import build_features

INDEX = ["cutoff", "customer_id"]
log = logging.getLogger("clvmodel.features")


def build_targets(
    data: RetailData,
    cutoff: str | pd.Timestamp,
    config: FeatureConfig,
    customers: pd.Index,
) -> pd.DataFrame:
    """Net spend in [cutoff, cutoff + horizon) in total and per category, and any purchase.

    Returns net spend (returns subtract), so a customer who only returned something has
    a negative target. ``purchase`` is 1 when at least one transaction with a positive
    amount falls in the window. Rows follow `customers`; customers without activity get 0.
    """
    cutoff = as_day(cutoff, name="cutoff")
    end = cutoff + pd.Timedelta(days=config.horizon)
    data = map_categories(data, config)  # the same categories as the features'
    lines = data.lines[(data.lines["date"] >= cutoff) & (data.lines["date"] < end)]
    tx = data.transactions[
        (data.transactions["date"] >= cutoff) & (data.transactions["date"] < end)
    ]
    columns = {"total": lines.groupby("customer_id")["amount"].sum()}
    if config.categories:
        per_cat = lines.pivot_table(
            index="customer_id", columns="category", values="amount", aggfunc="sum"
        )
        columns |= {c: per_cat[c] if c in per_cat else 0.0 for c in config.categories}
    # One frame at once: a column at a time fragments it (pandas warns past ~100 columns).
    out = pd.DataFrame(columns, index=customers).fillna(0.0)
    buyers = tx.loc[tx["amount"] > 0, "customer_id"].unique()
    out["purchase"] = out.index.isin(buyers).astype(float)
    out.index.name = "customer_id"
    return out.add_prefix("target_")


def cutoff_dates(
    data: RetailData,
    *,
    horizon: int = 30,
    n_cutoffs: int = 12,
    freq: str = "MS",
    min_history_days: int = 90,
    end: str | pd.Timestamp | None = None,
) -> list[pd.Timestamp]:
    """The latest `n_cutoffs` cutoffs (month starts by default) whose horizon is complete.

    A cutoff qualifies when its whole window lies inside the data (cutoff + horizon <=
    `end`) and at least `min_history_days` of history precede it. `end` is the first day
    the data does not cover: by default the day after the last transaction; when training
    as of a date (see :func:`as_of_data`), that date, since the days up to it are known
    even if nobody bought on the last of them. Returned oldest first; the last one is the
    test cutoff.
    """
    first = data.first_date + pd.Timedelta(days=min_history_days)
    stop = day_after(data.last_date) if end is None else as_day(end, name="end")
    last = stop - pd.Timedelta(days=horizon)
    grid = pd.date_range(first, last, freq=freq)
    if len(grid) < 3:
        raise ValueError(
            f"the data ({data.first_date:%Y-%m-%d} to {data.last_date:%Y-%m-%d}) holds "
            f"{len(grid)} complete cutoff(s) with {min_history_days} days of history before "
            f"and {horizon} after; at least 3 are needed (train, validation, test)."
        )
    return list(grid[-n_cutoffs:])


#: Fewest days of history before a weekly cutoff of a short log.
WEEKLY_HISTORY_DAYS = 28
#: Fewest days of history before the test cutoff of a log fitted by BG/NBD alone.
MIN_HISTORY_DAYS = 30


@dataclass(frozen=True)
class CutoffPlan:
    """The cutoffs a model is fitted on and how they were chosen.

    ``kind`` is ``"monthly"`` (month starts with 90 days of history, the default),
    ``"weekly"`` (a log too short for three of those: the test window is the last
    `horizon` days, the validation window the `horizon` days before it, and training
    cutoffs a week apart before that) or ``"bgnbd"`` (too short even for that: BG/NBD
    alone, measured on the last `horizon` days, its only cutoff). ``note`` says why.
    """

    cutoffs: list[pd.Timestamp]
    kind: str
    note: str = ""


def plan_cutoffs(
    data: RetailData,
    *,
    horizon: int = 30,
    n_cutoffs: int = 12,
    end: str | pd.Timestamp | None = None,
) -> CutoffPlan:
    """Monthly cutoffs where the data allow three, else weekly ones, else BG/NBD alone.

    Raises
    ------
    ValueError
        If the data cover fewer than ``horizon + 30`` days: one message saying how many
        are needed.
    """
    stop = day_after(data.last_date) if end is None else as_day(end, name="end")
    days = (stop - data.first_date).days
    try:
        return CutoffPlan(cutoff_dates(data, horizon=horizon, n_cutoffs=n_cutoffs, end=end),
                          "monthly")  # fmt: skip
    except ValueError:
        pass
    test = stop - pd.Timedelta(days=horizon)
    validation = test - pd.Timedelta(days=horizon)
    earliest = data.first_date + pd.Timedelta(days=WEEKLY_HISTORY_DAYS)
    train = [validation - pd.Timedelta(weeks=k) for k in range(1, n_cutoffs - 1)]
    train = sorted(c for c in train if c >= earliest)
    span = f"{days} days ({data.first_date:%Y-%m-%d} to {stop - pd.Timedelta(days=1):%Y-%m-%d})"
    if train:
        note = (f"the data cover {span}, too few for three monthly cutoffs with 90 days of "
                f"history: {len(train)} weekly training cutoffs, then validation and test "
                f"windows of {horizon} days each")  # fmt: skip
        return CutoffPlan([*train, validation, test], "weekly", note)
    if days >= horizon + MIN_HISTORY_DAYS:
        note = (f"the data cover {span}, too few to train boosters (that needs "
                f"{WEEKLY_HISTORY_DAYS + 7 + 2 * horizon} days): BG/NBD alone, measured on the "
                f"last {horizon} days (the spread of the predictive distribution too, so the "
                "interval's coverage there is optimistic)")  # fmt: skip
        return CutoffPlan([test], "bgnbd", note)
    raise ValueError(
        f"the data cover {span}; at least {horizon + MIN_HISTORY_DAYS} days are needed: "
        f"{MIN_HISTORY_DAYS} of history and the {horizon}-day horizon to measure a forecast "
        "on. Train on a longer log."
    )


def build_panel(
    data: RetailData, cutoffs: Sequence[pd.Timestamp], config: FeatureConfig
) -> pd.DataFrame:
    """Features and targets stacked over cutoffs, indexed by (cutoff, customer_id)."""
    frames = []
    for i, cutoff in enumerate(cutoffs, 1):
        day = as_day(cutoff, name="cutoff")
        log.info("features as of %s (%d/%d)", f"{day:%Y-%m-%d}", i, len(cutoffs))
        x = build_features(data, day, config)
        y = build_targets(data, day, config, x.index)
        frames.append(x.join(y).assign(cutoff=day))
    return pd.concat(frames).reset_index().set_index(INDEX)


def as_of_data(data: RetailData, as_of: str | pd.Timestamp) -> RetailData:
    """The data as it was known on the morning of `as_of`: everything dated before it.

    Lines and transactions dated on or after `as_of` are dropped, and so are customers
    who signed up on or after it and promotions that start on or after it. Loyalty rules
    carry no date and are kept. Train on the result to reproduce a model as of a past
    day: no later step can read what happened from `as_of` on.

    Raises
    ------
    ValueError
        If `as_of` is not a date, or no transaction precedes it.
    """
    day = as_day(as_of)
    tx = data.transactions[data.transactions["date"] < day]
    if tx.empty:
        raise ValueError(
            f"no transactions before the as-of date {day:%Y-%m-%d}; the data starts on "
            f"{data.first_date:%Y-%m-%d}. Pick a later date."
        )
    # Customers signed up before the day; without a sign-up date (a transaction log),
    # those who had bought before it.
    customers = data.customers
    seen = customers.index.isin(tx["customer_id"])
    if "customer_since" in customers:
        since = customers["customer_since"]
        seen = np.where(since.notna(), since < day, seen)
    customers = customers[seen]
    promotions = data.promotions
    if "start_date" in promotions:
        promotions = promotions[promotions["start_date"] < day].reset_index(drop=True)
    return replace(
        data,
        lines=data.lines[data.lines["date"] < day].reset_index(drop=True),
        transactions=tx.reset_index(drop=True),
        customers=customers,
        promotions=promotions,
    )
