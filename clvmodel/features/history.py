"""Each customer's history before a cutoff, as every feature computation reads it.

Built once per cutoff (:meth:`History.before`): rows on or after the cutoff are dropped
first, customers become integer codes 0..n-1 in ID order, and the per-transaction
quantities that several features sum are summed in one pass. The computations of
:mod:`clvmodel.features.registry` then take what they need from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData, loyalty_points
from clvmodel.schema import key_rows


class Vocabularies(Protocol):
    """What the computations read of a :class:`clvmodel.features.FeatureConfig` (named
    here, not imported: the config's name list reads the registry, which reads them)."""

    categories: tuple[str, ...]
    regions: tuple[str, ...]
    segments: tuple[str, ...]
    horizon: int
    windows: tuple[int, ...]
    category_windows: tuple[int, ...]
    holiday_peaks: tuple[tuple[int, int], ...]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class History:
    """Transactions and lines strictly before `cutoff`, of customers coded 0..n-1.

    ``customer`` holds each transaction's code, ``line_customer`` each line's (-1: a
    customer without a transaction before the cutoff, left out).
    """

    data: RetailData
    config: Vocabularies
    cutoff: pd.Timestamp
    tx: pd.DataFrame
    lines: pd.DataFrame
    customer: np.ndarray
    ids: pd.Index
    line_customer: np.ndarray

    @classmethod
    def before(
        cls,
        data: RetailData,
        cutoff: pd.Timestamp,
        config: Vocabularies,
        customer_ids: Iterable[str] | None = None,
    ) -> History:
        """The history of every customer (or of `customer_ids`) before `cutoff`.

        Raises
        ------
        ValueError
            If no transaction precedes the cutoff (nothing to describe).
        """
        tx = data.transactions[data.transactions["date"] < cutoff]
        lines = data.lines[data.lines["date"] < cutoff]
        if customer_ids is not None:
            wanted = pd.Index(pd.unique(pd.Series(list(customer_ids), dtype="str")))
            tx = tx[tx["customer_id"].isin(wanted)]
            lines = lines[lines["customer_id"].isin(wanted)]
        if tx.empty:
            raise ValueError(
                f"no transactions before the cutoff {cutoff:%Y-%m-%d}"
                + (" for the requested customers" if customer_ids is not None else "")
                + "; pick a later cutoff."
            )
        if tx["customer_id"].isna().any():  # grouping by customer leaves them out
            tx = tx[tx["customer_id"].notna()]
        # Customers as codes 0..n-1 in ID order, once: every aggregation groups by integers,
        # not by text (each text groupby hashes the IDs again), and columns line up by
        # position.
        customer, ids = pd.factorize(tx["customer_id"], sort=True)
        line_customer = key_rows(lines["customer_id"], ids)
        return cls(data, config, cutoff, tx, lines, customer, ids, line_customer)

    @property
    def n(self) -> int:
        return len(self.ids)

    @cached_property
    def index(self) -> pd.Index:
        return pd.Index(self.ids, name="customer_id")

    def has(self, group: str) -> bool:
        """Whether the optional feature group `group` is built (its data is there)."""
        return group in self.config.groups

    @cached_property
    def age(self) -> np.ndarray:
        """Days from each transaction to the cutoff (1 = the day before)."""
        return (self.cutoff - self.tx["date"]).dt.days.to_numpy()

    @cached_property
    def bought(self) -> np.ndarray:
        """Transactions that are purchases (positive amount), not returns."""
        return self.tx["amount"].to_numpy() > 0

    @cached_property
    def _quantities(self) -> dict[str, np.ndarray]:
        """Per-transaction quantities summed per customer (see :attr:`sums`)."""
        age, amount, bought, tx = self.age, self.tx["amount"].to_numpy(), self.bought, self.tx
        cols: dict[str, np.ndarray] = {
            "age": age,
            "bought": bought,
            "purchase_amount": np.where(bought, amount, np.nan),
            "returned": np.where(amount < 0, -amount, 0.0) * (age <= 365),
            "weekend": bought & (tx["date"].dt.day_of_week.to_numpy() >= 5),
            "prior_30d": amount * ((age > 30) & (age <= 60)),
        }
        if self.has("channel"):
            cols["online"] = bought & tx["online"].to_numpy(dtype=bool)
        if self.has("promotions"):
            cols["promoted"] = bought & tx["promoted"].to_numpy(dtype=bool)
        if self.has("loyalty_points"):
            cols["points"] = loyalty_points(amount, self.data.loyalty_rules)
        for d in self.config.windows:
            cols[f"spend_{d}d"] = amount * (age <= d)
            cols[f"txn_count_{d}d"] = bought & (age <= d)
        return cols

    @cached_property
    def grouped(self) -> pd.core.groupby.DataFrameGroupBy:
        """The transactions' quantities grouped by customer code (results are 0..n-1)."""
        frame = pd.DataFrame(
            {c: self.tx[c].to_numpy() for c in ["amount", "gross", "discount", "n_items"]}
            | self._quantities
        )
        return frame.groupby(self.customer, sort=True)

    @cached_property
    def sums(self) -> dict[str, np.ndarray]:
        """Each customer's sums of the quantities, of ``amount``, ``gross``, ``discount``
        and ``n_items``, in one pass."""
        summed = [*self._quantities.keys() - {"age", "purchase_amount"}]
        columns = [*summed, "amount", "gross", "discount", "n_items"]
        return {c: v.to_numpy() for c, v in self.grouped[columns].sum().items()}

    @cached_property
    def purchases(self) -> np.ndarray:
        """Purchases per customer; NaN for a customer with returns only."""
        n_bought = self.sums["bought"]
        return np.where(n_bought > 0, n_bought, np.nan)

    @cached_property
    def gross(self) -> np.ndarray:
        """Value bought before discounts per customer; NaN where nothing was bought."""
        gross = self.sums["gross"]
        return np.where(gross > 0, gross, np.nan)

    def by_customer(self, values: pd.Series, at: np.ndarray | None = None) -> np.ndarray:
        """Values of customers with codes `at` (default: the index) as a column of every
        customer, NaN for the others (as a groupby result aligned on every customer)."""
        out = np.full(self.n, np.nan)
        out[values.index.to_numpy() if at is None else at] = values.to_numpy(dtype="float64")
        return out

    def distinct(self, customer: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
        """Distinct values per customer (``groupby.nunique``) from rows' customer codes
        (-1: no customer's) and the values' codes (0..k-1; -1 missing, not counted): NaN
        for a customer without rows."""
        n, k = self.n, max(k, 1)
        ok = (customer >= 0) & (codes >= 0)
        pairs = customer[ok].astype(np.int64) * k + codes[ok]
        if n * k <= 8 * len(pairs) + 1024:  # a table of every pair: 3x cheaper than hashing
            count = (np.bincount(pairs, minlength=n * k).reshape(n, k) > 0).sum(axis=1)
        else:
            count = np.bincount(pd.unique(pairs) // k, minlength=n)
        has_rows = np.bincount(customer[customer >= 0], minlength=n) > 0
        return np.where(has_rows, count.astype("float64"), np.nan)
