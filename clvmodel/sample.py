"""The customers a model is trained on when the data has too many for one panel.

A panel holds one row per customer and cutoff (12 cutoffs by default), so a million
customers make twelve million rows: more than a 2-core machine fits in minutes and memory.
Past ``max_customers`` the model is trained on a reproducible sample of customers and
scores everyone. The sample is a hash sample: the customers whose
:func:`clvmodel.partitions.partition_of` bucket, out of :data:`BUCKETS`, is below ``k``,
with ``k`` the largest whole number of buckets that keeps about ``max_customers``. It
depends only on the customer IDs, so the same data gives the same sample in memory or
partitioned (where each part is read and filtered in turn: memory holds the sample and
one part, never the whole data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData, from_tables
from clvmodel.engine import map_parts
from clvmodel.partitions import BY_CUSTOMER, PartitionedData, partition_of

__all__ = ["BUCKETS", "TrainingSample", "customer_subset", "training_data"]

#: Hash buckets of the sample: a sample keeps a whole number of them.
BUCKETS = 1024


@dataclass(frozen=True)
class TrainingSample:
    """Which customers a model was trained on (recorded in ``info_`` and the model card)."""

    customers: int
    of: int
    buckets: int

    def describe(self) -> str:
        """One sentence for the model card."""
        return (
            f"{self.customers:,} of {self.of:,} customers, those whose hash bucket "
            f"(clvmodel.partitions.partition_of of the ID, {BUCKETS} buckets) is below "
            f"{self.buckets}"
        )

    def to_dict(self) -> dict:
        return asdict(self) | {"rule": self.describe()}


def _buckets(n_customers: int, max_customers: int | None) -> int:
    if max_customers is None or n_customers <= max_customers:
        return BUCKETS
    return max(1, BUCKETS * max_customers // n_customers)


def _chosen(customer_ids: np.ndarray, buckets: int) -> np.ndarray:
    return partition_of(customer_ids, BUCKETS) < buckets


def training_data(
    data: RetailData | PartitionedData,
    max_customers: int | None,
    *,
    engine: str = "local",
    scheduler: str | None = None,
    n_workers: int = 2,
) -> tuple[RetailData, TrainingSample | None]:
    """The data to build the training panel from, and the sample it is (None: everyone).

    Parameters
    ----------
    data : RetailData or PartitionedData
        The whole data set.
    max_customers : int or None
        Most customers to train on; None for all.
    engine, scheduler, n_workers
        Where a partitioned data set's parts are read and filtered
        (:func:`clvmodel.engine.map_parts`): on Dask, each worker reads its parts and
        sends back only the sample's rows, which are gathered here to train on.
    """
    if isinstance(data, PartitionedData):
        everyone = data.n_rows("customer_details")
        k = _buckets(everyone, max_customers)
        parts = map_parts(_sample_part, data, k, engine=engine, scheduler=scheduler,
                          n_workers=n_workers)  # fmt: skip
        tables = dict(data.shared) | {
            t: pd.concat([part[t] for part in parts], ignore_index=True) for t in BY_CUSTOMER
        }
        whole = from_tables(tables)
        sample = TrainingSample(len(whole.customers), everyone, k) if k < BUCKETS else None
        return whole, sample
    k = _buckets(len(data.customers), max_customers)
    if k == BUCKETS:
        return data, None
    keep = data.customers.index[_chosen(data.customers.index.to_numpy(), k)]
    subset = customer_subset(data, keep.to_numpy())
    return subset, TrainingSample(len(subset.customers), len(data.customers), k)


def _sample_part(data: PartitionedData, part: int, buckets: int) -> dict[str, pd.DataFrame]:
    """One part's per-customer tables, read and kept to the sample's customers."""
    tables = data.tables(part)
    return _filtered({t: tables[t] for t in BY_CUSTOMER}, buckets)


def _filtered(tables: dict[str, pd.DataFrame], buckets: int) -> dict[str, pd.DataFrame]:
    """One part's per-customer tables, only the sample's customers (all when buckets is
    every bucket)."""
    if buckets == BUCKETS:
        return tables
    customers = tables["customer_details"]
    keep = customers["customer_id"][_chosen(customers["customer_id"].to_numpy(), buckets)]
    header = tables["store_sales_header"]
    header = header[header["customer_id"].isin(keep)]
    lines = tables["store_sales_line_items"]
    return {
        "customer_details": customers[customers["customer_id"].isin(keep)],
        "store_sales_header": header,
        "store_sales_line_items": lines[lines["transaction_id"].isin(header["transaction_id"])],
    }


def customer_subset(data: RetailData, customer_ids: np.ndarray) -> RetailData:
    """`data` restricted to some customers: their rows of every per-customer table."""
    customers = data.customers[data.customers.index.isin(customer_ids)]
    tx = data.transactions[data.transactions["customer_id"].isin(customers.index)]
    lines = data.lines[data.lines["customer_id"].isin(customers.index)]
    return RetailData(
        lines=lines.reset_index(drop=True),
        transactions=tx.reset_index(drop=True),
        customers=customers,
        promotions=data.promotions,
        loyalty_rules=data.loyalty_rules,
    )
