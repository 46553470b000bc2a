"""Who each customer is: loyalty tier and points, account age, segment, main region."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvmodel.features.history import History, Vocabularies
from clvmodel.schema import LOYALTY_TIERS


def customer_attributes(
    customers: pd.DataFrame, index: pd.Index, cutoff: pd.Timestamp, config: Vocabularies
) -> pd.DataFrame:
    """Loyalty tier, account age and segment flags of the customers in `index`.

    One definition for customers with history and for cold-start customers alike: a tier
    outside :data:`LOYALTY_TIERS` is missing, an account opened after the cutoff is 0 days old.
    """
    attrs = customers.reindex(index)
    tier = pd.Index(LOYALTY_TIERS).get_indexer(attrs["loyalty_status"].fillna("unknown"))
    out = pd.DataFrame(index=index)
    out["loyalty_tier"] = np.where(tier >= 0, tier, np.nan)
    out["account_age_days"] = (cutoff - attrs["customer_since"]).dt.days.clip(lower=0)
    for s in config.segments:
        out[f"segment_{s}"] = (attrs["segment_id"] == s).astype(float)
    return out


def attributes(h: History) -> dict[str, np.ndarray]:
    attrs = customer_attributes(h.data.customers, h.index, h.cutoff, h.config)
    return {c: attrs[c].to_numpy() for c in attrs.columns}


def points(h: History) -> dict[str, np.ndarray]:
    """Loyalty points earned by the purchases before the cutoff."""
    return {"loyalty_points": h.sums["points"]}


def main_region(h: History) -> dict[str, np.ndarray]:
    """A 0/1 flag per region: the region of most of the customer's physical-store visits
    (the first in text order on ties); online-only customers get the config's last region."""
    physical = ~h.tx["online"].to_numpy(dtype=bool)
    regions = h.config.regions
    region = _mode_region(h.customer, h.n, h.tx["region"], physical, regions[-1])
    return {f"region_{r}": (region == r).astype(float) for r in regions}


def _mode_region(
    customer: np.ndarray, n: int, region: pd.Series, physical: np.ndarray, online_region: str
) -> np.ndarray:
    """Each customer's (codes 0..n-1) most visited physical-store region, the first in
    text order on ties; online-only customers get `online_region`."""
    codes, names = pd.factorize(region, sort=True)  # text order: argmax takes the first
    ok = physical & (codes >= 0)
    k = max(len(names), 1)
    visits = np.bincount(customer[ok] * k + codes[ok], minlength=n * k).reshape(n, k)
    best = np.asarray([*names, online_region], dtype=object)[visits.argmax(axis=1)]
    return np.where(visits.sum(axis=1) > 0, best, online_region)
