"""Cutoffs, targets and the panel a model is fit on; the data as known on a past day.

A panel stacks, for each cutoff, every customer's features (from rows strictly before the
cutoff, :func:`build_features`) beside their net spend in the `horizon` days from it
(:func:`build_targets`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.dates import as_day, day_after
from clvmodel.features.config import FeatureConfig
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
