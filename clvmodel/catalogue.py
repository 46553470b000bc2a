"""What each feature means to a person: label, unit, phrase and direction of effect.

One place for the plain words, so that tables (:func:`feature_label`) and reason codes
(:mod:`clvmodel.reasons`) never show an internal column name. The words are declared
with each feature in :mod:`clvmodel.features.registry` (fixed names, and families whose
names carry a vocabulary value or a window); a name without an entry gets a humanised
label and no direction, so it is never offered as a reason.

The direction is the known sign of a feature's effect on future spend: ``+1`` when more
of it means more spend (recent spend, purchase counts, basket size), ``-1`` when more
means less (days since the last purchase, overdue ratio, share returned), ``None`` when
the effect depends on the customer or the feature describes the calendar or a label
(month, segment, region, tier, shares of mix). Reason codes only use features with a
direction, so their arrow can be checked against the numbers they quote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from clvmodel.features import registry
from clvmodel.features.registry import Feature


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


def _info(found: tuple[Feature, dict[str, str]]) -> FeatureInfo:
    feature, values = found
    words = feature.words(values)
    return FeatureInfo(
        words["label"], feature.unit, words["phrase"], feature.direction, words["own_window"]
    )


def _humanise(text: str) -> str:
    return " ".join(text.replace("_", " ").split())


@lru_cache(maxsize=4096)
def feature_info(name: str) -> FeatureInfo:
    """The catalogue entry of any feature name (an unknown name gets no direction)."""
    found = registry.find(name)
    if found is not None:
        return _info(found)
    words = _humanise(str(name)) or "Unnamed feature"
    return FeatureInfo(words[:1].upper() + words[1:], "number", words + " {v}", None)


def feature_label(name: str) -> str:
    """Plain label of a feature for tables, e.g. ``"Spend on grocery, last 30 days"``."""
    return feature_info(name).label


#: Feature groups for tables a person edits or reads, in display order, each with a
#: pattern that full-matches its features' names (the registry's groups); anything
#: without an entry is "Other".
GROUPS: tuple[tuple[str, str], ...] = tuple(
    (g, "|".join(f.pattern.pattern for f in registry.entries() if f.group == g))
    for g in registry.DISPLAY_GROUPS
)
OTHER = "Other"


def feature_group(name: str) -> str:
    """The group a feature is shown in (see :data:`GROUPS`)."""
    found = registry.find(name)
    return OTHER if found is None else found[0].group


def group_features(names: Sequence[str]) -> dict[str, list[str]]:
    """`names` by group, groups in display order (:data:`GROUPS`, then "Other"), names in
    their given order within a group."""
    grouped: dict[str, list[str]] = {g: [] for g in [*registry.DISPLAY_GROUPS, OTHER]}
    for name in names:
        grouped[feature_group(name)].append(name)
    return {g: members for g, members in grouped.items() if members}


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
