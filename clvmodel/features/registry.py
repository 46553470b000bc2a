"""The feature registry: every feature declared once.

An entry (:class:`Feature`) says everything the package knows about a feature: its name
(or a name pattern, ``{w}`` a window in days, ``{c}`` a category, ``{s}`` a segment,
``{r}`` a region, each filled from the :class:`~clvmodel.features.FeatureConfig` field
that :attr:`Feature.each` names), the group it is shown in, its unit and plausible range,
the words a person reads (label, reason phrase, direction of effect), the optional data
it needs and the function that computes it. A computing function takes the customers'
:class:`~clvmodel.features.history.History` and returns the columns of its entries.

:data:`REGISTRY` lists the entries in the order models expect the columns; features
repeated per category sit in a :class:`Block`. Everything else reads it: the name list
(:meth:`FeatureConfig.feature_names`), :func:`clvmodel.features.build_features`, the
catalogue's labels and groups, the model card's groups, the what-if ranges and the
baselines (:func:`spend_column`). Adding a feature is one entry here plus its column in
the computing function.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from clvmodel.features import attributes as _attributes
from clvmodel.features import breadth, calendar, categories, habits, recency_frequency, spend
from clvmodel.features.history import History, Vocabularies

#: Optional feature groups -> (what data they need, the features they add). A group is
#: present when :func:`clvmodel.features.available_groups` finds its data; the entries
#: that need it (:attr:`Feature.needs`) are not built without it.
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

#: Groups a person sees features in (tables, the what-if editor, the model card), in order.
DISPLAY_GROUPS: tuple[str, ...] = (
    "Recency and frequency",
    "Spend",
    "Baskets",
    "Categories",
    "Habits",
    "Profile",
    "Calendar",
)
RECENCY, SPEND, BASKETS, CATEGORIES, HABITS, PROFILE, CALENDAR = DISPLAY_GROUPS


@dataclass(frozen=True)
class Range:
    """Plausible values of a feature, checked on what a person types (what-if, uploads).

    `whole` names a whole-number quantity ("month number"): values must be whole then.
    `codes`: the values are codes (a tier, a 0/1 flag), so only those the training data
    holds are plausible (:class:`clvmodel.plausible.Limits`).
    """

    low: float = -math.inf
    high: float = math.inf
    whole: str | None = None
    codes: bool = False

    @property
    def bounded(self) -> bool:
        return self.whole is not None or math.isfinite(self.low) or math.isfinite(self.high)

    def outside(self, values: Any) -> Any:
        """True where `values` (an array or Series; NaN never) fall outside the range."""
        out = (values < self.low) | (values > self.high)
        if self.whole is not None:
            out |= (values == values) & (values % 1 != 0)  # values == values: not NaN
        return out

    def message(self, name: str) -> str:
        """The start of the error for `name`, to be followed by the bad value."""
        if self.whole is not None:
            return f"{name} must be a whole {self.whole} {self.low:g}..{self.high:g}; got "
        if math.isinf(self.high):
            return f"{name} must be >= {self.low:g}; got "
        if math.isinf(self.low):
            return f"{name} must be <= {self.high:g}; got "
        return f"{name} must be between {self.low:g} and {self.high:g}; got "


ANY = Range()
NON_NEGATIVE = Range(0.0)
UNIT_INTERVAL = Range(0.0, 1.0)
#: A 0/1 indicator (a segment, a main region).
FLAG = Range(0.0, 1.0, codes=True)
#: A code such as the loyalty tier: a whole number >= 0, one the training data holds.
CODE = Range(0.0, codes=True)
#: Days between distinct purchase days: at least one.
GAP = Range(1.0)

Compute = Callable[[History], Mapping[str, Any]]


@dataclass(frozen=True)
class Feature:
    """One feature, or one family of features sharing a name pattern.

    Attributes
    ----------
    name : str
        The column name, or a pattern with placeholders (``"spend_{c}_{w}d"``).
    group : str
        One of :data:`DISPLAY_GROUPS`.
    unit : str
        Key of :data:`clvmodel.catalogue.UNITS`.
    label, phrase : str
        Short name for tables, and reason text with ``{v}`` for the value; both may use
        the placeholders (underscores in values become spaces) and ``{span}``: "year" for
        a 365-day window, else "<w> days".
    direction : int or None
        +1: more means more future spend; -1: more means less; None: unknown (never a
        reason).
    compute : callable
        ``compute(history) -> {column: values}``, the function that computes the entry's
        columns (and, often, those of its neighbours).
    valid : Range
        Plausible values (:data:`ANY` when a value may be anything, e.g. net spend).
    needs : str or None
        The optional group of :data:`FEATURE_GROUPS` whose data it needs.
    each : mapping
        Placeholder -> the FeatureConfig field whose values fill it, or fixed values.
    own_windows : tuple of int
        Windows ``{w}`` whose reason compares the customer with their own usual spend over
        that many days (see :class:`clvmodel.catalogue.FeatureInfo`).
    """

    name: str
    group: str
    unit: str
    label: str
    phrase: str
    direction: int | None
    compute: Compute
    valid: Range = ANY
    needs: str | None = None
    each: Mapping[str, str | tuple[int, ...]] = field(default_factory=dict)
    own_windows: tuple[int, ...] = ()

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """A regular expression that full-matches the names of this entry, for any window
        or vocabulary value."""
        parts = re.split(r"\{(\w+)\}", self.name)
        value = {"w": r"\d+"}  # a window is a number of days; vocabulary values are any text
        regex = "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>{value.get(p, '.+')})"
            for i, p in enumerate(parts)
        )
        return re.compile(regex)

    def names(self, config: Vocabularies, fixed: Mapping[str, object] | None = None) -> list[str]:
        """The columns this entry gives under `config` (none without its data)."""
        if self.needs is not None and self.needs not in config.groups:
            return []
        filled: list[dict[str, object]] = [dict(fixed or {})]
        for key, source in self.each.items():
            if key not in filled[0]:
                values = getattr(config, source) if isinstance(source, str) else source
                filled = [f | {key: v} for f in filled for v in values]
        return [self.name.format(**f) for f in filled]

    def column(self, **values: object) -> str:
        """The column of given placeholder values, e.g. ``column(c="home", w=30)``."""
        return self.name.format(**values)

    def words(self, values: Mapping[str, str]) -> dict[str, object]:
        """Label, phrase and own window of the column with placeholder `values` (as
        matched in its name; underscores become spaces)."""
        fill = {k: " ".join(v.replace("_", " ").split()) for k, v in values.items()}
        if "w" in fill:
            fill["span"] = "year" if fill["w"] == "365" else f"{fill['w']} days"
        own = int(values["w"]) if "w" in values else None
        return {
            "label": self.label.format(**fill),
            "phrase": self.phrase.format(v="{v}", **fill),
            "own_window": own if own in self.own_windows else None,
        }


@dataclass(frozen=True)
class Block:
    """Features repeated together per value of one placeholder (``{c}``, per category):
    all columns of the first category, then the next's."""

    key: str
    over: str
    members: tuple[Feature, ...]

    def names(self, config: Vocabularies) -> list[str]:
        return [
            name
            for value in getattr(config, self.over)
            for member in self.members
            for name in member.names(config, {self.key: value})
        ]


# --------------------------------------------------------------------------- the entries

_R, _S = recency_frequency, spend
_CATEGORY = {"c": "categories"}

SPEND_WINDOW = Feature(
    "spend_{w}d", SPEND, "money", "Spend, last {w} days", "spent {v} in the last {span}", 1,
    _S.spend, each={"w": "windows"}, own_windows=(7, 30, 90),
)  # fmt: skip
CATEGORY_SPEND = Feature(
    "spend_{c}_{w}d", CATEGORIES, "money", "Spend on {c}, last {w} days",
    "spent {v} on {c} in the last {w} days", 1, categories.categories,
    needs="categories", each=_CATEGORY | {"w": "category_windows"},
)  # fmt: skip
CATEGORY_SHARE = Feature(
    "share_{c}", CATEGORIES, "share", "Share of spend on {c}", "{v} of spend on {c}", None,
    categories.categories, UNIT_INTERVAL, "categories", _CATEGORY,
)  # fmt: skip
DAILY_SPEND_RATE = Feature(
    "daily_spend_rate", SPEND, "money", "Average spend per day", "spends {v} a day on average",
    1, _S.spend,
)  # fmt: skip

REGISTRY: tuple[Feature | Block, ...] = (
    Feature("days_since_last", RECENCY, "days", "Days since last purchase",
            "last purchase {v} days ago", -1, _R.recency, NON_NEGATIVE),
    Feature("days_since_first", RECENCY, "days", "Days since first purchase",
            "first purchase {v} days ago", None, _R.recency, NON_NEGATIVE),
    Feature("gap_mean_days", RECENCY, "days", "Average days between purchases",
            "buys every {v} days on average", -1, _R.recency, GAP),
    Feature("gap_std_days", RECENCY, "days", "Spread of days between purchases",
            "days between purchases vary by {v}", None, _R.recency, NON_NEGATIVE),
    Feature("overdue_ratio", RECENCY, "ratio", "Days since last purchase, in usual gaps",
            "{v} their usual gap since the last purchase", -1, _R.recency, NON_NEGATIVE),
    Feature("txn_count_lifetime", RECENCY, "count", "Purchases, all time",
            "{v} purchases in all", 1, _R.purchase_counts, NON_NEGATIVE),
    Feature("txn_count_{w}d", RECENCY, "count", "Purchases, last {w} days",
            "{v} purchases in the last {span}", 1, _R.purchase_counts, NON_NEGATIVE,
            each={"w": "windows"}),
    Feature("spend_lifetime", SPEND, "money", "Spend, all time", "spent {v} in all", 1,
            _S.spend),
    SPEND_WINDOW,
    Feature("spend_trend_30d", SPEND, "money_change",
            "Spend change, last 30 days vs the 30 before", "spent {v} vs the 30 days before", 1,
            _S.spend),
    Feature("basket_mean", BASKETS, "money", "Average basket", "average basket {v}", 1,
            _S.baskets, NON_NEGATIVE),
    Feature("basket_max", BASKETS, "money", "Largest basket", "largest basket {v}", 1,
            _S.baskets, NON_NEGATIVE),
    Feature("basket_min", BASKETS, "money", "Smallest basket", "smallest basket {v}", 1,
            _S.baskets, NON_NEGATIVE),
    Feature("basket_std", BASKETS, "money", "Spread of basket sizes",
            "basket sizes vary by {v}", None, _S.baskets, NON_NEGATIVE),
    DAILY_SPEND_RATE,
    Feature("returns_365d", SPEND, "money", "Returns, last 365 days",
            "returned {v} in the last year", None, _S.spend, NON_NEGATIVE),
    Feature("n_products", BASKETS, "count", "Different products bought",
            "bought {v} different products", 1, breadth.product_count, NON_NEGATIVE,
            "products"),
    Feature("n_categories", CATEGORIES, "count", "Different categories bought",
            "bought from {v} categories", 1, categories.categories, NON_NEGATIVE, "categories"),
    Feature("n_stores", BASKETS, "count", "Different stores visited", "bought in {v} stores",
            1, breadth.store_count, NON_NEGATIVE, "stores"),
    Block("c", "categories", (
        CATEGORY_SPEND,
        Feature("lines_{c}_{w}d", CATEGORIES, "count", "Items bought in {c}, last {w} days",
                "bought {v} items in {c} in the last {w} days", 1, categories.categories,
                NON_NEGATIVE, "categories", _CATEGORY | {"w": (365,)}),
        CATEGORY_SHARE,
    )),
    Feature("promo_share", HABITS, "share", "Share of purchases on promotion",
            "{v} of purchases on promotion", None, habits.promotion_shares, UNIT_INTERVAL,
            "promotions"),
    Feature("discount_share", HABITS, "share", "Discount as share of spend",
            "{v} of spend discounted", None, habits.promotion_shares, UNIT_INTERVAL,
            "promotions"),
    Feature("weekend_share", HABITS, "share", "Share of purchases at weekends",
            "{v} of purchases at weekends", None, habits.weekend_share, UNIT_INTERVAL),
    Feature("items_per_basket", BASKETS, "number", "Average items per purchase",
            "{v} items per purchase on average", 1, _S.items_per_basket, NON_NEGATIVE,
            "quantity"),
    Feature("online_share", HABITS, "share", "Share of purchases online",
            "{v} of purchases online", None, habits.online_share, UNIT_INTERVAL, "channel"),
    # Not capped at 1: returns of what was bought before the last 365 days count too.
    Feature("return_share", SPEND, "share", "Returns as share of spend",
            "returned {v} of what they bought", -1, _S.spend, NON_NEGATIVE),
    Feature("loyalty_tier", PROFILE, "number", "Loyalty tier (0 = bronze … 3 = platinum)",
            "loyalty tier {v}", None, _attributes.attributes, CODE, "attributes"),
    Feature("loyalty_points", PROFILE, "count", "Loyalty points", "{v} loyalty points", 1,
            _attributes.points, NON_NEGATIVE, "loyalty_points"),
    Feature("account_age_days", PROFILE, "days", "Days since sign-up",
            "signed up {v} days ago", None, _attributes.attributes, NON_NEGATIVE, "attributes"),
    Feature("segment_{s}", PROFILE, "flag", "Segment: {s} (1 = yes)", "segment {s}: {v}",
            None, _attributes.attributes, FLAG, "attributes", {"s": "segments"}),
    Feature("region_{r}", PROFILE, "flag", "Main region: {r} (1 = yes)",
            "main region {r}: {v}", None, _attributes.main_region, FLAG, "regions",
            {"r": "regions"}),
    Feature("cutoff_month", CALENDAR, "number", "Month of the prediction date", "month {v}",
            None, calendar.calendar, Range(1, 12, "month number")),
    Feature("days_to_peak", CALENDAR, "days", "Days to the next holiday peak",
            "{v} days to the next holiday peak", None, calendar.calendar, NON_NEGATIVE),
    Feature("promo_days_ahead", CALENDAR, "days", "Promotion days already announced ahead",
            "{v} promotion days ahead", None, calendar.promotions, NON_NEGATIVE, "promotions"),
)  # fmt: skip


def entries() -> Iterator[Feature]:
    """Every entry, blocks opened, in :data:`REGISTRY` order."""
    for item in REGISTRY:
        yield from item.members if isinstance(item, Block) else (item,)


def feature_names(config: Vocabularies) -> list[str]:
    """Every feature column of `config`, in the order models expect them."""
    return [name for item in REGISTRY for name in item.names(config)]


def computations(config: Vocabularies) -> list[Compute]:
    """The functions that compute the columns of `config`, each once, in registry order."""
    found: dict[Compute, None] = {}
    for item in REGISTRY:
        members = item.members if isinstance(item, Block) else (item,)
        if item.names(config):
            found |= dict.fromkeys(m.compute for m in members)
    return list(found)


# Names without a placeholder are looked up first, then the patterns in order.
_EXACT = {f.name: f for f in entries() if "{" not in f.name}
_PATTERNS = tuple(f for f in entries() if "{" in f.name)


def find(name: str) -> tuple[Feature, dict[str, str]] | None:
    """The entry of a column name and its placeholder values, None if it has none."""
    if name in _EXACT:
        return _EXACT[name], {}
    for feature in _PATTERNS:
        match = feature.pattern.fullmatch(name)
        if match:
            return feature, match.groupdict()
    return None


def feature_range(name: str) -> Range:
    """The plausible values of a column (:data:`ANY` for a name without an entry)."""
    found = find(name)
    return ANY if found is None else found[0].valid


def spend_column(target: str, window: int) -> str:
    """The feature holding `target`'s net spend (``"total"`` or a category) over the last
    `window` days, e.g. ``spend_30d`` or ``spend_grocery_30d``."""
    if target == "total":
        return SPEND_WINDOW.column(w=window)
    return CATEGORY_SPEND.column(c=target, w=window)


def share_column(category: str) -> str:
    """The feature holding the share of a customer's spend on `category`."""
    return CATEGORY_SHARE.column(c=category)
