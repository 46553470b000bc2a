"""The vocabularies, windows and optional groups that fix a model's feature columns.

Some features need data that not every source holds: a bare transaction log has no
products, promotions, loyalty rules or customer attributes. Those features form the
optional groups of :data:`FEATURE_GROUPS`; :meth:`FeatureConfig.from_data` records which
groups the training data supports, and absent groups are simply not built. With every
group present (the seven retail tables), the features are those of a config without
``groups``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.features import registry
from clvmodel.features.registry import ALL_GROUPS, FEATURE_GROUPS
from clvmodel.schema import HOLIDAY_PEAKS

__all__ = [
    "ALL_GROUPS",
    "FEATURE_GROUPS",
    "OTHER",
    "FeatureConfig",
    "available_groups",
    "check_compatible",
    "map_categories",
]

#: The category the smaller categories are pooled into past ``max_categories``.
OTHER = "other"


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
    #: (source, category) pairs: the data's categories renamed, merged or pooled into
    #: :data:`OTHER` (:func:`map_categories`); a source not listed keeps its name.
    category_map: tuple[tuple[str, str], ...] = ()

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
    def from_data(
        cls,
        data: RetailData,
        *,
        horizon: int = 30,
        max_categories: int | None = None,
        category_map: Mapping[str, str] | None = None,
    ) -> FeatureConfig:
        """The vocabularies and feature groups that `data` supports.

        Without a category, there is one spend target (``total``); without regions or
        customer attributes, the region and segment vocabularies are empty. The data's
        categories are first renamed or merged by `category_map` (source -> category);
        past `max_categories` of them, the largest ``max_categories - 1`` by net spend keep
        their own targets and the rest are pooled as :data:`OTHER`.
        """
        if horizon < 1:
            raise ValueError(f"horizon must be a positive number of days; got {horizon}.")
        groups = available_groups(data)
        categories, pairs = _category_vocabulary(data, max_categories, category_map or {})
        return cls(
            categories,
            data.regions if "regions" in groups else (),
            data.segments if "attributes" in groups else (),
            horizon=horizon,
            groups=groups,
            category_map=pairs,
        )

    @property
    def pooled(self) -> list[str]:
        """The source categories pooled into :data:`OTHER` (empty if none were)."""
        return [s for s, c in self.category_map if c == OTHER]

    @property
    def renamed(self) -> dict[str, str]:
        """Source categories renamed or merged into another name than :data:`OTHER`."""
        return {s: c for s, c in self.category_map if c != OTHER}

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
        """Every feature column, in the order models expect them (see
        :data:`clvmodel.features.registry.REGISTRY`).

        Features of absent groups are left out; with every group present the list is the
        one this version has always built (committed artifacts are checked against it).
        """
        return registry.feature_names(self)

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
            "category_map": [list(p) for p in self.category_map],
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeatureConfig:
        """Inverse of :meth:`to_dict`; metadata without ``groups`` (older artifacts) has
        all, without ``category_map`` no category renamed."""
        return cls(
            categories=tuple(d["categories"]),
            regions=tuple(d["regions"]),
            segments=tuple(d["segments"]),
            horizon=int(d["horizon"]),
            windows=tuple(d["windows"]),
            category_windows=tuple(d["category_windows"]),
            holiday_peaks=tuple(tuple(p) for p in d["holiday_peaks"]),
            groups=tuple(d.get("groups", ALL_GROUPS)),
            category_map=tuple(tuple(p) for p in d.get("category_map", ())),
        )


def _category_vocabulary(
    data: RetailData, max_categories: int | None, category_map: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The category targets of `data` and the (source, category) pairs that change a name."""
    if max_categories is not None and max_categories < 2:
        raise ValueError(f"max_categories must be at least 2 (or None); got {max_categories}.")
    codes, sources = pd.factorize(data.lines["category"])
    has = codes >= 0
    amount = data.lines["amount"].to_numpy(dtype=float)
    per_source = np.bincount(codes[has], weights=amount[has], minlength=len(sources))
    spend = pd.Series(per_source).groupby([category_map.get(s, s) for s in sources]).sum()
    # Largest net spend first, ties by name; OTHER, if a source is so named, is pooled anyway.
    ranked = sorted(spend.index, key=lambda c: (-spend[c], c))
    if max_categories is None or len(ranked) <= max_categories:
        kept, pool = sorted(c for c in ranked if c != OTHER), set()
    else:
        kept = sorted([c for c in ranked if c != OTHER][: max_categories - 1])
        pool = set(ranked) - set(kept)
    categories = (*kept, *[OTHER] * bool(pool or OTHER in spend.index))
    final = {s: OTHER if category_map.get(s, s) in pool else category_map.get(s, s)
             for s in sources}  # fmt: skip
    return categories, tuple(sorted((s, c) for s, c in final.items() if s != c))


def map_categories(data: RetailData, config: FeatureConfig) -> RetailData:
    """`data` with its line categories as the model's targets name them.

    Each source category becomes what ``config.category_map`` says; one the map does not
    know keeps its name, or joins :data:`OTHER` when the model pooled categories there (a
    small category new in later data). The same data is returned when nothing changes, so
    mapping data already mapped costs one look at its categories.
    """
    if not config.category_map or "category" not in data.lines:
        return data
    known = set(config.categories)
    mapping = dict(config.category_map)
    codes, sources = pd.factorize(data.lines["category"])
    if all(s in known and mapping.get(s, s) == s for s in sources):
        return data
    other = OTHER in known and bool(config.pooled)
    names = [mapping.get(s, OTHER if other and s not in known else s) for s in sources]
    category = pd.Series(pd.Index(names, dtype="str").take(codes), index=data.lines.index)
    lines = data.lines.assign(category=category.where(codes >= 0))
    return replace(data, lines=lines)


def check_compatible(config: FeatureConfig, data: RetailData) -> None:
    """Raise ValueError if a model built on `config` cannot score `data` faithfully.

    The data must not hold categories the model does not know (their spend would be
    predicted by nobody), must hold categories if the model predicts some, and must hold
    the data of every feature group the model uses. Categories of the model that the data
    lacks are fine: their features are zero, as for a customer who never bought them.
    """
    cats = set(map_categories(data, config).categories)
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
