"""What each feature means to a person: label, unit, phrase and direction of effect.

One place for the plain words, so that tables (:func:`feature_label`) and reason codes
(:mod:`clvmodel.reasons`) never show an internal column name. The catalogue is data:
:data:`FEATURES` lists the fixed names and :data:`PATTERNS` the families whose names
carry a vocabulary value (category, segment, region) or a configurable window; anything
else gets a humanised name and no direction, so it is never offered as a reason.

The direction is the known sign of a feature's effect on future spend: ``+1`` when more
of it means more spend (recent spend, purchase counts, basket size), ``-1`` when more
means less (days since the last purchase, overdue ratio, share returned), ``None`` when
the effect depends on the customer or the feature describes the calendar or a label
(month, segment, region, tier, shares of mix). Reason codes only use features with a
direction, so their arrow can be checked against the numbers they quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Unit:
    """How a value is printed: ``scale`` × value, ``decimals`` digits, then ``suffix``."""

    decimals: int = 0
    scale: float = 1.0
    suffix: str = ""
    signed: bool = False  # print "+" on positive values (changes, not levels)


#: Units by name. ``decimals`` is the default precision; reason codes add digits when two
#: quoted numbers would otherwise print alike.
UNITS: dict[str, Unit] = {
    "days": Unit(0),
    "count": Unit(0),
    "money": Unit(0),
    "money_change": Unit(0, signed=True),
    "ratio": Unit(1, suffix="×"),
    "share": Unit(0, scale=100.0, suffix="%"),
    "number": Unit(1),
    "flag": Unit(0),
}


@dataclass(frozen=True)
class FeatureInfo:
    """A feature in plain words.

    Attributes
    ----------
    label : str
        Short name for tables, e.g. ``"Days since last purchase"``.
    unit : str
        Key of :data:`UNITS`.
    phrase : str
        Reason text with ``{v}`` where the formatted value goes, e.g.
        ``"last purchase {v} days ago"``.
    direction : int or None
        +1: more means more future spend; -1: more means less; None: unknown (never a
        reason).
    own_window : int or None
        For spend windows: compare with the customer's own usual spend over this many
        days (``spend_365d / 365 * own_window``) rather than with the typical customer.
    """

    label: str
    unit: str
    phrase: str
    direction: int | None
    own_window: int | None = None


def _fixed(label: str, unit: str, phrase: str, direction: int | None, own: int | None = None):
    return FeatureInfo(label, unit, phrase, direction, own)


#: Features with a fixed name (see :attr:`clvmodel.features.FeatureConfig.feature_names`).
FEATURES: dict[str, FeatureInfo] = {
    "days_since_last": _fixed("Days since last purchase", "days", "last purchase {v} days ago", -1),
    "days_since_first": _fixed(
        "Days since first purchase", "days", "first purchase {v} days ago", None
    ),
    "gap_mean_days": _fixed(
        "Average days between purchases", "days", "buys every {v} days on average", -1
    ),
    "gap_std_days": _fixed(
        "Spread of days between purchases", "days", "days between purchases vary by {v}", None
    ),
    "overdue_ratio": _fixed(
        "Days since last purchase, in usual gaps",
        "ratio",
        "{v} their usual gap since the last purchase",
        -1,
    ),
    "txn_count_lifetime": _fixed("Purchases, all time", "count", "{v} purchases in all", 1),
    "txn_count_7d": _fixed(
        "Purchases, last 7 days", "count", "{v} purchases in the last 7 days", 1
    ),
    "txn_count_30d": _fixed(
        "Purchases, last 30 days", "count", "{v} purchases in the last 30 days", 1
    ),
    "txn_count_90d": _fixed(
        "Purchases, last 90 days", "count", "{v} purchases in the last 90 days", 1
    ),
    "txn_count_365d": _fixed(
        "Purchases, last 365 days", "count", "{v} purchases in the last year", 1
    ),
    "spend_lifetime": _fixed("Spend, all time", "money", "spent {v} in all", 1),
    "spend_7d": _fixed("Spend, last 7 days", "money", "spent {v} in the last 7 days", 1, 7),
    "spend_30d": _fixed("Spend, last 30 days", "money", "spent {v} in the last 30 days", 1, 30),
    "spend_90d": _fixed("Spend, last 90 days", "money", "spent {v} in the last 90 days", 1, 90),
    "spend_365d": _fixed("Spend, last 365 days", "money", "spent {v} in the last year", 1),
    "spend_trend_30d": _fixed(
        "Spend change, last 30 days vs the 30 before",
        "money_change",
        "spent {v} vs the 30 days before",
        1,
    ),
    "basket_mean": _fixed("Average basket", "money", "average basket {v}", 1),
    "basket_max": _fixed("Largest basket", "money", "largest basket {v}", 1),
    "basket_min": _fixed("Smallest basket", "money", "smallest basket {v}", 1),
    "basket_std": _fixed("Spread of basket sizes", "money", "basket sizes vary by {v}", None),
    "daily_spend_rate": _fixed("Average spend per day", "money", "spends {v} a day on average", 1),
    "returns_365d": _fixed(
        "Returns, last 365 days", "money", "returned {v} in the last year", None
    ),
    "n_products": _fixed("Different products bought", "count", "bought {v} different products", 1),
    "n_categories": _fixed("Different categories bought", "count", "bought from {v} categories", 1),
    "n_stores": _fixed("Different stores visited", "count", "bought in {v} stores", 1),
    "promo_share": _fixed(
        "Share of purchases on promotion", "share", "{v} of purchases on promotion", None
    ),
    "discount_share": _fixed(
        "Discount as share of spend", "share", "{v} of spend discounted", None
    ),
    "weekend_share": _fixed(
        "Share of purchases at weekends", "share", "{v} of purchases at weekends", None
    ),
    "items_per_basket": _fixed(
        "Average items per purchase", "number", "{v} items per purchase on average", 1
    ),
    "online_share": _fixed("Share of purchases online", "share", "{v} of purchases online", None),
    "return_share": _fixed(
        "Returns as share of spend", "share", "returned {v} of what they bought", -1
    ),
    "loyalty_tier": _fixed(
        "Loyalty tier (0 = bronze … 3 = platinum)", "number", "loyalty tier {v}", None
    ),
    "loyalty_points": _fixed("Loyalty points", "count", "{v} loyalty points", 1),
    "account_age_days": _fixed("Days since sign-up", "days", "signed up {v} days ago", None),
    "cutoff_month": _fixed("Month of the prediction date", "number", "month {v}", None),
    "days_to_peak": _fixed(
        "Days to the next holiday peak", "days", "{v} days to the next holiday peak", None
    ),
    "promo_days_ahead": _fixed(
        "Promotion days already announced ahead",
        "days",
        "{v} promotion days ahead",
        None,
    ),
}

#: Feature families by name pattern, tried in order after :data:`FEATURES`. Named groups
#: fill ``{...}`` in the label and phrase (underscores in them become spaces).
PATTERNS: tuple[tuple[str, FeatureInfo], ...] = (
    (
        r"txn_count_(?P<w>\d+)d",
        _fixed("Purchases, last {w} days", "count", "{v} purchases in the last {w} days", 1),
    ),
    (
        r"spend_(?P<w>\d+)d",
        _fixed("Spend, last {w} days", "money", "spent {v} in the last {w} days", 1),
    ),
    (
        r"spend_(?P<c>.+)_(?P<w>\d+)d",
        _fixed("Spend on {c}, last {w} days", "money", "spent {v} on {c} in the last {w} days", 1),
    ),
    (
        r"lines_(?P<c>.+)_(?P<w>\d+)d",
        _fixed(
            "Items bought in {c}, last {w} days",
            "count",
            "bought {v} items in {c} in the last {w} days",
            1,
        ),
    ),
    (
        r"share_(?P<c>.+)",
        _fixed("Share of spend on {c}", "share", "{v} of spend on {c}", None),
    ),
    (
        r"segment_(?P<s>.+)",
        _fixed("Segment: {s} (1 = yes)", "flag", "segment {s}: {v}", None),
    ),
    (
        r"region_(?P<r>.+)",
        _fixed("Main region: {r} (1 = yes)", "flag", "main region {r}: {v}", None),
    ),
)

_COMPILED = tuple((re.compile(p), info) for p, info in PATTERNS)


def _humanise(text: str) -> str:
    return " ".join(text.replace("_", " ").split())


@lru_cache(maxsize=4096)
def feature_info(name: str) -> FeatureInfo:
    """The catalogue entry of any feature name (an unknown name gets no direction)."""
    if name in FEATURES:
        return FEATURES[name]
    for pattern, info in _COMPILED:
        match = pattern.fullmatch(name)
        if match:
            groups = {k: _humanise(v) for k, v in match.groupdict().items()}
            return replace(
                info,
                label=info.label.format(**groups),
                phrase=info.phrase.format(v="{v}", **groups),
            )
    words = _humanise(str(name)) or "Unnamed feature"
    return FeatureInfo(words[:1].upper() + words[1:], "number", words + " {v}", None)


def feature_label(name: str) -> str:
    """Plain label of a feature for tables, e.g. ``"Spend on grocery, last 30 days"``."""
    return feature_info(name).label


#: Feature groups for tables a person edits or reads, in display order: the first pattern
#: that matches a name wins; anything else is "Other".
GROUPS: tuple[tuple[str, str], ...] = (
    ("Recency and frequency", r"days_since_.*|gap_.*|overdue_ratio|txn_count_.*"),
    ("Spend", r"spend_(lifetime|\d+d|trend_30d)|daily_spend_rate|returns_365d|return_share"),
    ("Baskets", r"basket_.*|items_per_basket|n_products|n_stores"),
    ("Categories", r"spend_.+_\d+d|lines_.*|share_.*|n_categories"),
    ("Habits", r"promo_share|discount_share|weekend_share|online_share"),
    ("Profile", r"loyalty_.*|account_age_days|segment_.*|region_.*"),
    ("Calendar", r"cutoff_month|days_to_peak|promo_days_ahead"),
)
_GROUPS_COMPILED = tuple((g, re.compile(p)) for g, p in GROUPS)


def feature_group(name: str) -> str:
    """The group a feature is shown in (see :data:`GROUPS`)."""
    return next((g for g, p in _GROUPS_COMPILED if p.fullmatch(name)), "Other")


_POWERS_OF_TEN = 10.0 ** np.arange(16)


def round_to(x: np.ndarray, decimals: np.ndarray | int) -> np.ndarray:
    """`x` rounded to `decimals` (0 to 15) digits, one for all or per value, as printed by
    :func:`format_values`: two values print alike exactly when these are equal."""
    scale = _POWERS_OF_TEN[np.asarray(decimals)]
    return np.rint(np.asarray(x, dtype=float) * scale) / scale + 0.0  # + 0.0: no "-0"


def format_values(values: np.ndarray, unit: str | Unit, decimals: np.ndarray | int) -> np.ndarray:
    """`values` printed in `unit` (scaled, suffixed) with `decimals` digits each.

    `decimals` is one for all or one per value. Returns an object array of str.
    """
    spec = UNITS[unit] if isinstance(unit, str) else unit
    x = np.asarray(values, dtype=float) * spec.scale
    digits = np.broadcast_to(np.asarray(decimals, dtype=int), x.shape)
    out = np.empty(x.shape, dtype=object)
    sign = "+" if spec.signed else ""
    for d in np.unique(digits).tolist():  # a few precisions; each formats its values at once
        rows = digits == d
        # Each distinct value printed once (references repeat: one typical per feature).
        distinct, at = np.unique(round_to(x[rows], d), return_inverse=True)
        text = [f"{v:{sign},.{d}f}{spec.suffix}" for v in distinct.tolist()]
        out[rows] = np.array(text, dtype=object)[at]
    return out
