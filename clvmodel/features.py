"""As-of features and future-spend targets, one row per customer and cutoff.

The contract: features for a cutoff read only transactions dated strictly before it
(the cutoff day itself belongs to the target window), and every aggregation groups by
customer, so the work partitions by customer. Column names follow one rule,
``{quantity}_{window}`` (e.g. ``spend_90d``, ``spend_grocery_30d``), and categories,
windows, regions and segments are data in :class:`FeatureConfig`, looped over.

Some features need data that not every source holds: a bare transaction log has no
products, promotions, loyalty rules or customer attributes. Those features form the
optional groups of :data:`FEATURE_GROUPS`; :meth:`FeatureConfig.from_data` records which
groups the training data supports, and absent groups are simply not built. With every
group present (the seven retail tables), the features are those of a config without
``groups``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData, loyalty_points
from clvmodel.dates import as_day
from clvmodel.schema import HOLIDAY_PEAKS, LOYALTY_TIERS, key_rows

INDEX = ["cutoff", "customer_id"]
log = logging.getLogger(__name__)

#: Optional feature groups -> (what data they need, the features they add). A group is
#: present when :func:`available_groups` finds its data; see :attr:`FeatureConfig.groups`.
FEATURE_GROUPS: dict[str, tuple[str, str]] = {
    "products": ("product ids on the lines", "n_products"),
    "categories": (
        "a category on the lines",
        "n_categories and, per category, spend_<category>_<window>, lines_<category>_365d, "
        "share_<category>",
    ),
    "stores": ("store ids on the transactions", "n_stores"),
    "channel": ("online or in-store per transaction", "online_share"),
    "regions": ("store regions", "region_<region>"),
    "quantity": ("quantities on the lines", "items_per_basket"),
    "promotions": (
        "promotions and discounts",
        "promo_share, discount_share, promo_days_ahead",
    ),
    "attributes": (
        "customer details (loyalty tier, segment, sign-up date)",
        "loyalty_tier, account_age_days, segment_<segment>",
    ),
    "loyalty_points": ("loyalty rules", "loyalty_points"),
}
ALL_GROUPS: tuple[str, ...] = tuple(FEATURE_GROUPS)


def available_groups(data: RetailData) -> tuple[str, ...]:
    """The optional feature groups whose data `data` holds, in :data:`ALL_GROUPS` order.

    A column that is missing throughout (all NaN / NA) means the source lacks it, which is
    how :func:`clvmodel.transactions.read_transactions` marks what a log does not have.
    The seven retail tables always hold every group (their loyalty rules table aside,
    which could be empty).
    """
    tx, lines = data.transactions, data.lines

    def has(frame: pd.DataFrame, col: str) -> bool:
        return col in frame.columns and bool(frame[col].notna().any())

    present = {
        "products": has(lines, "product_id"),
        "categories": has(lines, "category"),
        "stores": has(tx, "store_id"),
        "channel": has(tx, "online"),
        "regions": has(tx, "online") and has(tx, "region"),
        "quantity": has(lines, "quantity"),
        "promotions": has(lines, "promoted"),
        "attributes": has(data.customers, "customer_since"),
        "loyalty_points": len(data.loyalty_rules) > 0,
    }
    return tuple(g for g in ALL_GROUPS if present[g])


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
    #: Optional feature groups present (see :data:`FEATURE_GROUPS`); the rest are not built.
    groups: tuple[str, ...] = ALL_GROUPS

    def __post_init__(self) -> None:
        unknown = sorted(set(self.groups) - set(ALL_GROUPS))
        if unknown:
            raise ValueError(
                f"unknown feature group(s) {unknown}; the optional groups are {list(ALL_GROUPS)}."
            )
        if self.categories and "categories" not in self.groups:
            raise ValueError(
                f"categories {list(self.categories)} need the 'categories' feature group; "
                "add it to groups or pass categories=()."
            )
        # One canonical order, so that equal sets of groups give equal configs.
        object.__setattr__(self, "groups", tuple(g for g in ALL_GROUPS if g in self.groups))

    @classmethod
    def from_data(cls, data: RetailData, *, horizon: int = 30) -> FeatureConfig:
        """The vocabularies and feature groups that `data` supports.

        Without a category, there is one spend target (``total``); without regions or
        customer attributes, the region and segment vocabularies are empty.
        """
        if horizon < 1:
            raise ValueError(f"horizon must be a positive number of days; got {horizon}.")
        groups = available_groups(data)
        return cls(
            data.categories,
            data.regions if "regions" in groups else (),
            data.segments if "attributes" in groups else (),
            horizon=horizon,
            groups=groups,
        )

    @property
    def absent_groups(self) -> list[str]:
        """Optional feature groups left out for lack of data."""
        return [g for g in ALL_GROUPS if g not in self.groups]

    @property
    def targets(self) -> list[str]:
        """Spend targets (total, then each category) followed by ``purchase``.

        With no category: ``["total", "purchase"]``.
        """
        return ["total", *self.categories, "purchase"]

    @property
    def spend_targets(self) -> list[str]:
        return ["total", *self.categories]

    @property
    def feature_names(self) -> list[str]:
        """Every feature column, in the order models expect them.

        Features of absent groups are left out; with every group present the list is the
        one this version has always built (committed artifacts are checked against it).
        """
        w, has = self.windows, set(self.groups).__contains__
        names = ["days_since_last", "days_since_first", "gap_mean_days", "gap_std_days"]
        names += ["overdue_ratio", "txn_count_lifetime"]
        names += [f"txn_count_{d}d" for d in w]
        names += ["spend_lifetime", *[f"spend_{d}d" for d in w], "spend_trend_30d"]
        names += ["basket_mean", "basket_max", "basket_min", "basket_std", "daily_spend_rate"]
        names += ["returns_365d"]
        names += ["n_products"] * has("products")
        names += ["n_categories"] * has("categories")
        names += ["n_stores"] * has("stores")
        for c in self.categories:
            names += [f"spend_{c}_{d}d" for d in self.category_windows]
            names += [f"lines_{c}_365d", f"share_{c}"]
        names += ["promo_share", "discount_share"] * has("promotions")
        names += ["weekend_share"]
        names += ["items_per_basket"] * has("quantity")
        names += ["online_share"] * has("channel")
        names += ["return_share"]
        names += ["loyalty_tier"] * has("attributes")
        names += ["loyalty_points"] * has("loyalty_points")
        names += ["account_age_days"] * has("attributes")
        names += [f"segment_{s}" for s in self.segments] * has("attributes")
        names += [f"region_{r}" for r in self.regions] * has("regions")
        names += ["cutoff_month", "days_to_peak"]
        names += ["promo_days_ahead"] * has("promotions")
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
            "groups": list(self.groups),
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeatureConfig:
        """Inverse of :meth:`to_dict`; metadata without ``groups`` (older artifacts) has all."""
        return cls(
            categories=tuple(d["categories"]),
            regions=tuple(d["regions"]),
            segments=tuple(d["segments"]),
            horizon=int(d["horizon"]),
            windows=tuple(d["windows"]),
            category_windows=tuple(d["category_windows"]),
            holiday_peaks=tuple(tuple(p) for p in d["holiday_peaks"]),
            groups=tuple(d.get("groups", ALL_GROUPS)),
        )


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


def _distinct(customer: np.ndarray, n: int, codes: np.ndarray, k: int) -> np.ndarray:
    """Distinct values per customer code 0..n-1 (``groupby.nunique``) from the values'
    codes (0..k-1; -1 missing, not counted): NaN for a customer without rows (customer
    codes -1 are no customer's)."""
    k = max(k, 1)
    ok = (customer >= 0) & (codes >= 0)
    pairs = customer[ok].astype(np.int64) * k + codes[ok]
    if n * k <= 8 * len(pairs) + 1024:  # a table of every pair: 3x cheaper than hashing
        count = (np.bincount(pairs, minlength=n * k).reshape(n, k) > 0).sum(axis=1)
    else:
        count = np.bincount(pd.unique(pairs) // k, minlength=n)
    has_rows = np.bincount(customer[customer >= 0], minlength=n) > 0
    return np.where(has_rows, count.astype("float64"), np.nan)


def _by_customer(values: pd.Series, n: int, at: np.ndarray | None = None) -> np.ndarray:
    """Values of customers with codes `at` (default: the index) as a column of all `n`
    customers, NaN for the others (as a groupby result aligned on every customer)."""
    out = np.full(n, np.nan)
    out[values.index.to_numpy() if at is None else at] = values.to_numpy(dtype="float64")
    return out


def customer_attributes(
    customers: pd.DataFrame, index: pd.Index, cutoff: pd.Timestamp, config: FeatureConfig
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


def calendar_features(data: RetailData, cutoff: pd.Timestamp, config: FeatureConfig) -> dict:
    """Features of the cutoff day itself, the same for every customer."""
    out = {
        "cutoff_month": cutoff.month,
        "days_to_peak": _days_to_peak(cutoff, config.holiday_peaks),
    }
    if "promotions" in config.groups:
        out["promo_days_ahead"] = _promo_days_ahead(data.promotions, cutoff, config.horizon)
    return out


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
    cutoff = as_day(cutoff, name="cutoff")
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
    # not by text (each text groupby hashes the IDs again), and columns line up by position.
    customer, ids = pd.factorize(tx["customer_id"], sort=True)
    n = len(ids)
    line_customer = key_rows(lines["customer_id"], ids)  # -1: no transaction before, left out
    has = set(config.groups).__contains__
    age = (cutoff - tx["date"]).dt.days.to_numpy()  # 1 = the day before the cutoff
    amount = tx["amount"].to_numpy()
    bought = amount > 0
    cols: dict[str, np.ndarray] = {
        "age": age,
        "bought": bought,
        "purchase_amount": np.where(bought, amount, np.nan),
        "returned": np.where(amount < 0, -amount, 0.0) * (age <= 365),
        "weekend": bought & (tx["date"].dt.day_of_week.to_numpy() >= 5),
        "prior_30d": amount * ((age > 30) & (age <= 60)),
    }
    if has("channel"):
        cols["online"] = bought & tx["online"].to_numpy(dtype=bool)
    if has("promotions"):
        cols["promoted"] = bought & tx["promoted"].to_numpy(dtype=bool)
    if has("loyalty_points"):
        cols["points"] = loyalty_points(amount, data.loyalty_rules)
    for d in config.windows:
        cols[f"spend_{d}d"] = amount * (age <= d)
        cols[f"txn_count_{d}d"] = bought & (age <= d)
    frame = pd.DataFrame(
        {c: tx[c].to_numpy() for c in ["amount", "gross", "discount", "n_items"]} | cols
    )
    g = frame.groupby(customer, sort=True)  # every code has rows: results are 0..n-1
    sums = {
        c: v.to_numpy()
        for c, v in g[
            [*cols.keys() - {"age", "purchase_amount"}, "amount", "gross", "discount", "n_items"]
        ]
        .sum()
        .items()
    }
    out: dict[str, np.ndarray | float] = {}
    n_bought = np.where(sums["bought"] > 0, sums["bought"], np.nan)  # NaN: returns only
    gross = np.where(sums["gross"] > 0, sums["gross"], np.nan)

    out["days_since_last"] = g["age"].min().to_numpy()
    out["days_since_first"] = g["age"].max().to_numpy()
    # Gaps between distinct purchase days, per customer (NaN with fewer than two): each
    # customer's distinct days, oldest first.
    c, a = customer[bought], age[bought]
    order = np.lexsort((-a, c))
    c, a = c[order], a[order]
    repeat = np.zeros(len(c), dtype=bool)  # a day the customer already bought on
    repeat[1:] = (c[1:] == c[:-1]) & (a[1:] == a[:-1])
    c, a = c[~repeat], a[~repeat]
    gap = np.full(len(c), np.nan)
    later = np.flatnonzero(c[1:] == c[:-1]) + 1  # not the customer's first day
    gap[later] = a[later - 1] - a[later]
    gaps = pd.Series(gap).groupby(c)
    out["gap_mean_days"] = _by_customer(gaps.mean(), n)
    out["gap_std_days"] = _by_customer(gaps.std(), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["overdue_ratio"] = out["days_since_last"] / out["gap_mean_days"]
    out["txn_count_lifetime"] = sums["bought"]
    for d in config.windows:
        out[f"txn_count_{d}d"] = sums[f"txn_count_{d}d"]
    out["spend_lifetime"] = sums["amount"]
    for d in config.windows:
        out[f"spend_{d}d"] = sums[f"spend_{d}d"]
    out["spend_trend_30d"] = sums["spend_30d"] - sums["prior_30d"]
    basket = g["purchase_amount"]
    out["basket_mean"] = basket.mean().to_numpy()
    out["basket_max"] = basket.max().to_numpy()
    out["basket_min"] = basket.min().to_numpy()
    out["basket_std"] = basket.std().to_numpy()
    span = np.maximum(out["days_since_first"], config.horizon)
    out["daily_spend_rate"] = out["spend_lifetime"] / span
    out["returns_365d"] = sums["returned"]
    if has("products"):
        product, products = pd.factorize(lines["product_id"])
        out["n_products"] = _distinct(line_customer, n, product, len(products))
    if has("stores"):
        store, stores = pd.factorize(tx["store_id"])
        out["n_stores"] = _distinct(customer, n, store, len(stores))

    if has("categories"):  # always with config.categories (FeatureConfig checks)
        category, cats = pd.factorize(lines["category"])
        out["n_categories"] = _distinct(line_customer, n, category, len(cats))
    if config.categories:
        line_age = (cutoff - lines["date"]).dt.days.to_numpy()
        line_amount = lines["amount"].to_numpy()
        by_cat = pd.DataFrame(
            {
                "amount": line_amount,
                "w30": line_amount * (line_age <= 30),
                "w365": line_amount * (line_age <= 365),
                "n365": (line_age <= 365) & (line_amount > 0),
            }
        )
        k = max(len(cats), 1)
        ok = (line_customer >= 0) & (category >= 0)
        pair = line_customer.astype(np.int64) * k + category  # (customer, category) codes
        cat_sums = (by_cat if ok.all() else by_cat[ok]).groupby(pair[ok]).sum()
        pair_customer, pair_category = np.divmod(cat_sums.index.to_numpy(), k)
    for c in config.categories:
        j = cats.get_loc(c) if c in cats else None
        if j is None:
            for d in config.category_windows:
                out[f"spend_{c}_{d}d"] = 0.0
            out[f"lines_{c}_365d"] = 0.0
            out[f"share_{c}"] = 0.0
            continue
        this, at = cat_sums[pair_category == j], pair_customer[pair_category == j]
        for d in config.category_windows:
            out[f"spend_{c}_{d}d"] = _by_customer(this[f"w{d}"], n, at)
        out[f"lines_{c}_365d"] = _by_customer(this["n365"], n, at)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"share_{c}"] = np.clip(_by_customer(this["amount"], n, at) / gross, 0.0, 1.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        if has("promotions"):
            out["promo_share"] = sums["promoted"] / n_bought
            out["discount_share"] = sums["discount"] / gross
        out["weekend_share"] = sums["weekend"] / n_bought
        if has("quantity"):
            out["items_per_basket"] = sums["n_items"] / n_bought
        if has("channel"):
            out["online_share"] = sums["online"] / n_bought
        out["return_share"] = sums["returned"] / gross

    index = pd.Index(ids, name="customer_id")
    if has("attributes"):
        attrs = customer_attributes(data.customers, index, cutoff, config)
        out |= {c: attrs[c].to_numpy() for c in attrs.columns}
    if has("loyalty_points"):
        out["loyalty_points"] = sums["points"]
    if has("regions") and config.regions:
        physical = ~tx["online"].to_numpy(dtype=bool)
        region = _mode_region(customer, n, tx["region"], physical, config.regions[-1])
        for r in config.regions:
            out[f"region_{r}"] = (region == r).astype(float)
    out |= calendar_features(data, cutoff, config)

    x = pd.DataFrame({name: out[name] for name in config.feature_names}, index=index)
    x = x.astype("float64")
    fill_zero = [c for c in x if c.startswith(("txn_count", "spend_", "lines_", "share_"))]
    x[fill_zero] = x[fill_zero].fillna(0.0)
    return x


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
    out = pd.DataFrame(index=customers)
    out["total"] = lines.groupby("customer_id")["amount"].sum()
    if config.categories:
        per_cat = lines.pivot_table(
            index="customer_id", columns="category", values="amount", aggfunc="sum"
        )
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
    stop = data.last_date + pd.Timedelta(days=1) if end is None else as_day(end, name="end")
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


def check_compatible(config: FeatureConfig, data: RetailData) -> None:
    """Raise ValueError if a model built on `config` cannot score `data` faithfully.

    The data must not hold categories the model does not know (their spend would be
    predicted by nobody), must hold categories if the model predicts some, and must hold
    the data of every feature group the model uses. Categories of the model that the data
    lacks are fine: their features are zero, as for a customer who never bought them.
    """
    cats = set(data.categories)
    unknown = sorted(cats - set(config.categories))
    if unknown or (config.categories and not cats):
        raise ValueError(
            "the model was trained on categories "
            f"{list(config.categories) or '(none: total spend only)'} but the data has "
            f"{sorted(cats) or '(no category column)'}"
            + (f" (unknown to the model: {unknown})" if unknown and config.categories else "")
            + ". Score data with the same categories, or retrain on this data."
        )
    lacking = [g for g in config.groups if g not in available_groups(data)]
    if lacking:
        needs = "; ".join(f"{g}: {FEATURE_GROUPS[g][0]}" for g in lacking)
        raise ValueError(
            f"the model uses feature group(s) the data lacks ({needs}). Score it with data "
            "from the same kind of source it was trained on, or retrain on this data."
        )
