"""The synthetic data's oracle at a training run's test cutoff: the true expectations the
fit report compares the model with (``CLVModel.fit(oracles=)``).

Only synthetic seven tables have one (:mod:`clvmodel.synthetic` writes their latent
parameters beside them); any other source gets None.
"""

from __future__ import annotations

import logging

import pandas as pd

from clvmodel.dates import as_day
from clvmodel.features import cutoff_dates
from clvmodel.loading import Source
from clvmodel.synthetic import ground_truth

__all__ = ["oracles_at_test_cutoff"]

log = logging.getLogger(__name__)


def oracles_at_test_cutoff(
    source: Source, *, horizon: int, n_cutoffs: int, as_of: str | pd.Timestamp | None = None
) -> dict[str, pd.DataFrame] | None:
    """``{"oracle": ..., "oracle_alive_known": ...}`` at the last of the `n_cutoffs`
    cutoffs a model of that `horizon` trains on (the test cutoff), indexed by ``cutoff``
    and ``customer_id``; None for data without latent truth.

    ``oracle`` knows the history, ``oracle_alive_known`` also whether each customer is
    still alive. Nothing dated on or after `as_of` is read.
    """
    latent = source.latent()
    if latent is None or source.tables is None:
        return None
    log.info("synthetic data: computing the oracles for the test cutoff")
    end = None if as_of is None or as_of == "" else as_day(as_of)
    cutoffs = cutoff_dates(source.data, horizon=horizon, n_cutoffs=n_cutoffs, end=end)
    tables = source.tables if end is None else _tables_before(source.tables, end)
    out = {}
    for name, given in (("oracle", "history"), ("oracle_alive_known", "state")):
        truth = ground_truth(latent, tables, [cutoffs[-1]], horizon=horizon, given=given)
        out[name] = truth.set_index(["cutoff", "customer_id"])
    return out


def _tables_before(tables: dict[str, pd.DataFrame], day: pd.Timestamp) -> dict:
    """The seven tables without what is dated on or after `day`."""
    header = tables["store_sales_header"]
    header = header[header["transaction_date"] < day]
    lines = tables["store_sales_line_items"]
    promos = tables["promotion_details"]
    customers = tables["customer_details"]
    return tables | {
        "store_sales_header": header,
        "store_sales_line_items": lines[lines["transaction_id"].isin(header["transaction_id"])],
        "promotion_details": promos[promos["start_date"] < day],
        "customer_details": customers[customers["customer_since"] < day],
    }
