"""The feature frame of one cutoff: every customer with history, every registered column.

The contract: features for a cutoff read only transactions dated strictly before it
(the cutoff day itself belongs to the target window), and every aggregation groups by
customer, so the work partitions by customer. Column names follow one rule,
``{quantity}_{window}`` (e.g. ``spend_90d``, ``spend_grocery_30d``); which columns there
are, and which function computes each, is :mod:`clvmodel.features.registry`'s.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.dates import as_day
from clvmodel.features.config import FeatureConfig, map_categories
from clvmodel.features.history import History
from clvmodel.features.registry import computations


def build_features(
    data: RetailData,
    cutoff: str | pd.Timestamp,
    config: FeatureConfig,
    *,
    customer_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Features of every customer with a transaction strictly before `cutoff`.

    Parameters
    ----------
    data : RetailData
        Joined tables; rows on or after the cutoff are dropped before anything else.
    cutoff : date
        The as-of day. A transaction on the cutoff day is in the future.
    config : FeatureConfig
        Fixes the columns; vocabulary values the data lacks give all-zero columns.
    customer_ids : iterable of str, optional
        Restrict to these customers (those without history are simply absent).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), columns ``config.feature_names``, float.

    Raises
    ------
    ValueError
        If no transaction precedes the cutoff (nothing to describe).
    """
    data = map_categories(data, config)  # the model's categories (pooled, renamed)
    history = History.before(data, as_day(cutoff, name="cutoff"), config, customer_ids)
    columns: dict[str, object] = {}
    for compute in computations(config):
        columns |= compute(history)
    names = config.feature_names
    return pd.DataFrame({n: columns[n] for n in names}, index=history.index).astype("float64")
