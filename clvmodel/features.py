"""As-of features and future-spend targets, one row per customer and cutoff.

The contract: features for a cutoff read only transactions dated strictly before it
(the cutoff day itself belongs to the target window), and every aggregation groups by
customer, so the work partitions by customer. Column names follow one rule,
``{quantity}_{window}`` (e.g. ``spend_90d``, ``spend_grocery_30d``), and categories,
windows, regions and segments are data in :class:`FeatureConfig`, looped over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData, loyalty_points
from clvmodel.schema import HOLIDAY_PEAKS, LOYALTY_TIERS

INDEX = ["cutoff", "customer_id"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureConfig:
    """Vocabularies and windows that fix the feature columns.

    Built from the training data with :meth:`from_data` and stored with the model, so
    scoring new data produces exactly the columns the model was trained on.
    """

    categories: tuple[str, ...]
    regions: tuple[str, ...]
    segments: tuple[str, ...]
    horizon: int = 30
    windows: tuple[int, ...] = (7, 30, 90, 365)
    category_windows: tuple[int, ...] = (30, 365)
    holiday_peaks: tuple[tuple[int, int], ...] = field(default=HOLIDAY_PEAKS)

    @classmethod
    def from_data(cls, data: RetailData, *, horizon: int = 30) -> FeatureConfig:
        if horizon < 1:
            raise ValueError(f"horizon must be a positive number of days; got {horizon}.")
        return cls(data.categories, data.regions, data.segments, horizon=horizon)

    @property
    def targets(self) -> list[str]:
        """Spend targets (total, then each category) followed by ``purchase``."""
        return ["total", *self.categories, "purchase"]

    @property
    def spend_targets(self) -> list[str]:
        return ["total", *self.categories]

    @property
    def feature_names(self) -> list[str]:
        """Every feature column, in the order models expect them."""
        w = self.windows
        names = ["days_since_last", "days_since_first", "gap_mean_days", "gap_std_days"]
        names += ["overdue_ratio", "txn_count_lifetime"]
        names += [f"txn_count_{d}d" for d in w]
        names += ["spend_lifetime", *[f"spend_{d}d" for d in w], "spend_trend_30d"]
        names += ["basket_mean", "basket_max", "basket_min", "basket_std", "daily_spend_rate"]
        names += ["returns_365d", "n_products", "n_categories", "n_stores"]
        for c in self.categories:
            names += [f"spend_{c}_{d}d" for d in self.category_windows]
            names += [f"lines_{c}_365d", f"share_{c}"]
        names += ["promo_share", "discount_share", "weekend_share", "items_per_basket"]
        names += ["online_share", "return_share"]
        names += ["loyalty_tier", "loyalty_points", "account_age_days"]
        names += [f"segment_{s}" for s in self.segments]
        names += [f"region_{r}" for r in self.regions]
        names += ["cutoff_month", "days_to_peak", "promo_days_ahead"]
        return names

    def to_dict(self) -> dict:
        return {
            "categories": list(self.categories),
            "regions": list(self.regions),
            "segments": list(self.segments),
            "horizon": self.horizon,
            "windows": list(self.windows),
            "category_windows": list(self.category_windows),
            "holiday_peaks": [list(p) for p in self.holiday_peaks],
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeatureConfig:
        return cls(
            categories=tuple(d["categories"]),
            regions=tuple(d["regions"]),
            segments=tuple(d["segments"]),
            horizon=int(d["horizon"]),
            windows=tuple(d["windows"]),
            category_windows=tuple(d["category_windows"]),
            holiday_peaks=tuple(tuple(p) for p in d["holiday_peaks"]),
        )


def _as_day(cutoff: str | pd.Timestamp) -> pd.Timestamp:
    try:
        day = pd.Timestamp(cutoff)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cutoff must be a date like 2026-09-01; got {cutoff!r}.") from exc
    if pd.isna(day):
        raise ValueError(f"cutoff must be a date like 2026-09-01; got {cutoff!r}.")
    return day.tz_localize(None).normalize() if day.tzinfo else day.normalize()


def _days_to_peak(cutoff: pd.Timestamp, peaks: Sequence[tuple[int, int]]) -> int:
    """Days from the cutoff to the next yearly peak (0 on the peak day)."""
    ahead = []
    for month, day in peaks:
        for year in (cutoff.year, cutoff.year + 1):
            peak = pd.Timestamp(year, month, day)
            if peak >= cutoff:
                ahead.append((peak - cutoff).days)
                break
    return min(ahead)


def _promo_days_ahead(promotions: pd.DataFrame, cutoff: pd.Timestamp, horizon: int) -> int:
    """Days of the coming horizon covered by promotions already running before the cutoff."""
    known = promotions[promotions["start_date"] < cutoff]
    end = cutoff + pd.Timedelta(days=horizon)
    days = pd.date_range(cutoff, end - pd.Timedelta(days=1), freq="D").to_numpy()
    covered = (days[:, None] >= known["start_date"].to_numpy()[None, :]) & (
        days[:, None] <= known["end_date"].to_numpy()[None, :]
    )
    return int(covered.any(axis=1).sum())


def _mode_region(tx: pd.DataFrame, online_region: str) -> pd.Series:
    """Each customer's most visited physical-store region; online-only customers get online."""
    physical = tx[~tx["online"]]
    counts = physical.groupby(["customer_id", "region"]).size().rename("n").reset_index()
    counts = counts.sort_values(["customer_id", "n", "region"], ascending=[True, False, True])
    region = counts.drop_duplicates("customer_id").set_index("customer_id")["region"]
    return region.reindex(tx["customer_id"].unique()).fillna(online_region)


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
    cutoff = _as_day(cutoff)
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
    age = (cutoff - tx["date"]).dt.days.to_numpy()  # 1 = the day before the cutoff
    amount = tx["amount"].to_numpy()
    bought = amount > 0
    cols: dict[str, np.ndarray] = {
        "age": age,
        "bought": bought,
        "purchase_amount": np.where(bought, amount, np.nan),
        "returned": np.where(amount < 0, -amount, 0.0) * (age <= 365),
        "weekend": bought & (tx["date"].dt.day_of_week.to_numpy() >= 5),
        "online": bought & tx["online"].to_numpy(),
        "promoted": bought & tx["promoted"].to_numpy(),
        "prior_30d": amount * ((age > 30) & (age <= 60)),
        "points": loyalty_points(amount, data.loyalty_rules),
    }
    for d in config.windows:
        cols[f"spend_{d}d"] = amount * (age <= d)
        cols[f"txn_count_{d}d"] = bought & (age <= d)
    frame = tx[["customer_id", "amount", "gross", "discount", "n_items", "store_id"]].assign(**cols)
    g = frame.groupby("customer_id", sort=True)
    sums = g[
        [*cols.keys() - {"age", "purchase_amount"}, "amount", "gross", "discount", "n_items"]
    ].sum()
    out = pd.DataFrame(index=sums.index)
    n_bought = sums["bought"].where(sums["bought"] > 0)  # NaN for returns-only customers

    out["days_since_last"] = g["age"].min()
    out["days_since_first"] = g["age"].max()
    # Gaps between distinct purchase days, per customer (NaN with fewer than two).
    days = frame.loc[bought, ["customer_id", "age"]].drop_duplicates()
    days = days.sort_values(["customer_id", "age"], ascending=[True, False])
    days["gap"] = -days.groupby("customer_id")["age"].diff()
    gaps = days.groupby("customer_id")["gap"]
    out["gap_mean_days"] = gaps.mean()
    out["gap_std_days"] = gaps.std()
    out["overdue_ratio"] = out["days_since_last"] / out["gap_mean_days"]
    out["txn_count_lifetime"] = sums["bought"]
    for d in config.windows:
        out[f"txn_count_{d}d"] = sums[f"txn_count_{d}d"]
    out["spend_lifetime"] = sums["amount"]
    for d in config.windows:
        out[f"spend_{d}d"] = sums[f"spend_{d}d"]
    out["spend_trend_30d"] = sums["spend_30d"] - sums["prior_30d"]
    basket = g["purchase_amount"]
    out["basket_mean"] = basket.mean()
    out["basket_max"] = basket.max()
    out["basket_min"] = basket.min()
    out["basket_std"] = basket.std()
    span = np.maximum(out["days_since_first"], config.horizon)
    out["daily_spend_rate"] = out["spend_lifetime"] / span
    out["returns_365d"] = sums["returned"]
    out["n_products"] = lines.groupby("customer_id")["product_id"].nunique()
    out["n_categories"] = lines.groupby("customer_id")["category"].nunique()
    out["n_stores"] = g["store_id"].nunique()

    line_age = (cutoff - lines["date"]).dt.days
    by_cat = lines.assign(**{f"w{d}": lines["amount"] * (line_age <= d) for d in (30, 365)})
    by_cat = by_cat.assign(n365=(line_age <= 365) & (lines["amount"] > 0))
    cat_sums = by_cat.groupby(["customer_id", "category"])[["amount", "w30", "w365", "n365"]].sum()
    for c in config.categories:
        this = cat_sums.xs(c, level="category") if c in cat_sums.index.levels[1] else None
        for d in config.category_windows:
            out[f"spend_{c}_{d}d"] = this[f"w{d}"] if this is not None else 0.0
        out[f"lines_{c}_365d"] = this["n365"] if this is not None else 0.0
        lifetime = this["amount"] if this is not None else 0.0
        share = lifetime / sums["gross"].where(sums["gross"] > 0)
        out[f"share_{c}"] = share.clip(0.0, 1.0) if this is not None else 0.0

    out["promo_share"] = sums["promoted"] / n_bought
    out["discount_share"] = sums["discount"] / sums["gross"].where(sums["gross"] > 0)
    out["weekend_share"] = sums["weekend"] / n_bought
    out["items_per_basket"] = sums["n_items"] / n_bought
    out["online_share"] = sums["online"] / n_bought
    out["return_share"] = sums["returned"] / sums["gross"].where(sums["gross"] > 0)

    attrs = data.customers.reindex(out.index)
    tier = pd.Index(LOYALTY_TIERS).get_indexer(attrs["loyalty_status"].fillna("unknown"))
    out["loyalty_tier"] = np.where(tier >= 0, tier, np.nan)
    out["loyalty_points"] = sums["points"]
    out["account_age_days"] = (cutoff - attrs["customer_since"]).dt.days.clip(lower=0)
    for s in config.segments:
        out[f"segment_{s}"] = (attrs["segment_id"] == s).astype(float)
    region = _mode_region(tx, config.regions[-1]).reindex(out.index)
    for r in config.regions:
        out[f"region_{r}"] = (region == r).astype(float)
    out["cutoff_month"] = cutoff.month
    out["days_to_peak"] = _days_to_peak(cutoff, config.holiday_peaks)
    out["promo_days_ahead"] = _promo_days_ahead(data.promotions, cutoff, config.horizon)

    out = out[config.feature_names].astype("float64")
    fill_zero = [c for c in out if c.startswith(("txn_count", "spend_", "lines_", "share_"))]
    out[fill_zero] = out[fill_zero].fillna(0.0)
    out.index.name = "customer_id"
    return out


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
    cutoff = _as_day(cutoff)
    end = cutoff + pd.Timedelta(days=config.horizon)
    lines = data.lines[(data.lines["date"] >= cutoff) & (data.lines["date"] < end)]
    tx = data.transactions[
        (data.transactions["date"] >= cutoff) & (data.transactions["date"] < end)
    ]
    per_cat = lines.pivot_table(
        index="customer_id", columns="category", values="amount", aggfunc="sum"
    )
    out = pd.DataFrame(index=customers)
    out["total"] = lines.groupby("customer_id")["amount"].sum()
    for c in config.categories:
        out[c] = per_cat[c] if c in per_cat else 0.0
    buyers = tx.loc[tx["amount"] > 0, "customer_id"].unique()
    out = out.fillna(0.0)
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
) -> list[pd.Timestamp]:
    """The latest `n_cutoffs` cutoffs (month starts by default) whose horizon is complete.

    A cutoff qualifies when its whole window lies inside the data (cutoff + horizon <=
    the day after the last transaction) and at least `min_history_days` of history precede
    it. Returned oldest first; the last one is the test cutoff.
    """
    first = data.first_date + pd.Timedelta(days=min_history_days)
    last = data.last_date + pd.Timedelta(days=1) - pd.Timedelta(days=horizon)
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
        log.info("features as of %s (%d/%d)", f"{_as_day(cutoff):%Y-%m-%d}", i, len(cutoffs))
        x = build_features(data, cutoff, config)
        y = build_targets(data, cutoff, config, x.index)
        frames.append(x.join(y).assign(cutoff=_as_day(cutoff)))
    return pd.concat(frames).reset_index().set_index(INDEX)
