"""Reason codes: each customer's top drivers of the prediction, in plain words.

The drivers are the features with the largest contributions (SHAP or path contributions
of the total spend model) for that customer. Each is phrased from the feature's value and
compared with a reference: the customer's own usual for recent spend ("spent 12,400 in
the last 30 days (3.1× their usual)"), else the typical customer ("last purchase 212
days ago (typical: 41)"). Words and units come from :mod:`clvmodel.catalogue`, so no
internal column name reaches the user.

A reason must not contradict itself: its arrow is the sign of the contribution (↑ raises,
↓ lowers the prediction), and the comparison it quotes must point the same way given the
feature's known direction of effect. So only features with a known direction are
candidates, and a candidate is kept only when
``sign(contribution) == direction * sign(value - reference)`` and the two quoted numbers
print differently. Features the user did not give (``given``, e.g. filled with typical
values in a what-if) are never cited, nor used as a reference.

Plain words: a count of one is singular ("last purchase 1 day ago"), net spend below zero
is returns ("returned 103 more than they bought in the last year"), none is "nothing",
and a change says "more" or "less" instead of a sign.

Vectorised over customers: the checks run on the whole customers × features block at
once, and only the chosen cells are put into words, one reason slot at a time.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from clvmodel.catalogue import UNITS, feature_info, feature_label, format_values, round_to
from clvmodel.features.registry import spend_column

__all__ = ["EXTRA_DECIMALS", "YEARLY", "feature_label", "reason_codes"]

#: Digits a reason may add to its unit's precision so that the value and its reference
#: print differently ("spends 35.4 a day (typical: 35.1)"); beyond that it is left out.
EXTRA_DECIMALS = 2

#: The customer's own yearly spend, the base of "their usual" for recent spend windows.
YEARLY = spend_column("total", 365)

#: Plural words a phrase puts after its value, and their singular for a value of 1.
SINGULAR = {
    "days": "day",
    "purchases": "purchase",
    "products": "product",
    "categories": "category",
    "stores": "store",
    "items": "item",
    "points": "point",
}
_PLURAL_AFTER = re.compile(r"^(\s+(?:different |loyalty )?)(\w+)(.*)$", re.S)


def _singular(after: str) -> str:
    """The text after a value of 1: its first plural word made singular."""
    match = _PLURAL_AFTER.match(after)
    if match is None or match.group(2) not in SINGULAR:
        return after
    return match.group(1) + SINGULAR[match.group(2)] + match.group(3)


# What a reason's note quotes.
_TYPICAL, _RATIO, _USUAL = 0, 1, 2
_NOTES = {
    _TYPICAL: (" (typical: ", ")"),
    _RATIO: (" (", " their usual)"),
    _USUAL: (" (their usual: ", ")"),
}


def _given_matrix(
    given: pd.DataFrame | pd.Series | np.ndarray | None, features: pd.DataFrame
) -> np.ndarray:
    """Rows × ``features.columns`` booleans: True where the user gave the value.

    A DataFrame is matched by column name (a column it lacks counts as not given); an
    array must have the shape of `features`; a Series (by name) or a 1-d array (one per
    column) applies to every row.
    """
    shape = features.shape
    if given is None:
        return np.ones(shape, dtype=bool)
    if isinstance(given, pd.DataFrame):
        if len(given) != shape[0]:
            raise ValueError(f"given has {len(given)} rows; the features have {shape[0]}.")
        return given.reindex(columns=features.columns, fill_value=False).to_numpy(
            dtype=bool, na_value=False
        )
    if isinstance(given, pd.Series):
        given = given.reindex(features.columns, fill_value=False).to_numpy(
            dtype=bool, na_value=False
        )
    arr = np.asarray(given, dtype=bool)
    if arr.shape not in (shape, shape[1:]):
        raise ValueError(
            f"given must be shaped like the features {shape} (or one flag per column); "
            f"got {arr.shape}."
        )
    return np.broadcast_to(arr, shape)


class _Candidates:
    """The features that may give reasons (known direction), as per-feature arrays."""

    def __init__(self, names: list[str], typical: pd.Series) -> None:
        infos = [feature_info(n) for n in names]
        units = [UNITS[i.unit] for i in infos]
        self.unit = np.array([i.unit for i in infos], dtype=object)
        self.direction = np.array([i.direction for i in infos], dtype=float)
        self.own_window = np.array([i.own_window or np.nan for i in infos], dtype=float)
        self.typical = typical.reindex(names).to_numpy(dtype=float, na_value=np.nan)
        self.decimals = np.array([u.decimals for u in units], dtype=int)
        self.scale = np.array([u.scale for u in units], dtype=float)
        parts = [i.phrase.split("{v}", 1) for i in infos]
        self.before = np.array([p[0] for p in parts], dtype=object)
        self.after = np.array([p[1] for p in parts], dtype=object)
        self.after_one = np.array([_singular(p[1]) for p in parts], dtype=object)

    def quotes(
        self, value: np.ndarray, contrib: np.ndarray, yearly: np.ndarray, j: np.ndarray | slice
    ) -> dict[str, np.ndarray]:
        """How each cell of `value` (of candidates `j`) would be quoted, and whether it may.

        Elementwise, so the same for a rows × candidates block (``j`` a slice, `yearly` a
        column) and for one chosen cell per row (``j`` the candidate of each row). Returns
        ``ok`` (a consistent reason whose numbers print differently), ``kind`` (what the
        note quotes), ``ref``, ``ratio`` (value / own usual), ``digits`` (of the value) and
        ``note_digits`` (of the note's number).
        """
        usual = yearly / 365 * self.own_window[j]  # NaN without an own usual
        own = np.isfinite(usual)
        as_ratio = own & (value > 0)  # "nothing" is not a multiple of anything
        ref = np.where(own, usual, self.typical[j])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = value / ref
            side = np.sign(value - ref)
        ok = np.isfinite(value) & np.isfinite(ref) & np.isfinite(contrib) & (side != 0)
        ok &= np.sign(contrib) == self.direction[j] * side
        # The two numbers the text compares: "3.1× their usual" against 1, else the value
        # against the reference, in the feature's unit.
        scale = self.scale[j]
        a = np.where(as_ratio, ratio, value * scale)
        b = np.where(as_ratio, 1.0, ref * scale)
        low = np.where(as_ratio, UNITS["ratio"].decimals, self.decimals[j])
        note_digits = np.full(np.shape(a), -1)
        for extra in range(EXTRA_DECIMALS, -1, -1):  # downwards: the fewest digits win
            d = low + extra
            note_digits = np.where(round_to(a, d) != round_to(b, d), d, note_digits)
        return {
            "ok": ok & (note_digits >= 0),
            "kind": np.where(as_ratio, _RATIO, np.where(own, _USUAL, _TYPICAL)),
            "ref": ref,
            "ratio": ratio,
            "digits": np.where(as_ratio, self.decimals[j], note_digits),
            "note_digits": note_digits,
        }

    def text(self, value: np.ndarray, contrib: np.ndarray, j: np.ndarray, q: dict) -> np.ndarray:
        """The reasons of cells whose quotes `q` are ok, e.g. ``"↓ last purchase 89 days
        ago (typical: 30)"``."""
        unit = self.unit[j]
        shown = np.empty(len(value), dtype=object)
        note = np.empty(len(value), dtype=object)
        for u in pd.unique(unit):  # a few units, each formatted at once
            at = unit == u
            shown[at] = format_values(value[at], u, q["digits"][at])
            at_ratio = at & (q["kind"] == _RATIO)
            note[at_ratio] = format_values(
                q["ratio"][at_ratio], "ratio", q["note_digits"][at_ratio]
            )
            plain = at & ~at_ratio
            note[plain] = format_values(q["ref"][plain], u, q["note_digits"][plain])
        lead, tail = np.empty_like(note), np.empty_like(note)
        for kind, (start, end) in _NOTES.items():
            lead[q["kind"] == kind], tail[q["kind"] == kind] = start, end
        arrow = np.where(contrib > 0, "↑ ", "↓ ").astype(object)
        before, shown, after = self._plain(value, j, shown, q["digits"])
        return arrow + before + shown + after + lead + note + tail

    def _plain(
        self, value: np.ndarray, j: np.ndarray, shown: np.ndarray, digits: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The phrase around each shown value in plain words: a singular after 1, returns
        for net spend below 0, "nothing" for 0, "more"/"less" for a change."""
        before, after = self.before[j].copy(), np.where(shown == "1", self.after_one[j],
                                                         self.after[j])  # fmt: skip
        unit, spent = self.unit[j], self.before[j] == "spent "
        magnitude = format_values(np.abs(value), "money", digits)
        returns = spent & (unit == "money") & (value < 0)
        before[returns] = "returned "
        after[returns] = " more than they bought" + after[returns]
        change = (
            spent
            & (unit == "money_change")
            & (value != 0)
            & np.char.startswith(after.astype(str), " vs ")
        )
        more = np.where(value > 0, " more than in ", " less than in ")
        after[change] = more[change] + np.array([a[4:] for a in after[change]], dtype=object)
        shown = np.where(returns | change, magnitude, shown)
        nothing = spent & (unit == "money") & (value == 0)
        return before, np.where(nothing, "nothing", shown).astype(object), after


def _texts(
    cand: _Candidates, names: list[str], cells: tuple, order: np.ndarray, shown: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The text of the chosen cells only, slot by slot, and the feature of each (rows ×
    slots); `cells` is ``(value, weight, yearly)``."""
    value, weight, yearly = cells
    out = np.full(order.shape, "", dtype=object)
    cited = np.full(order.shape, "", dtype=object)
    for k in range(order.shape[1]):
        rows = np.flatnonzero(shown[:, k])
        j = order[rows, k]
        v, c = value[rows, j], weight[rows, j]
        out[rows, k] = cand.text(v, c, j, cand.quotes(v, c, yearly[rows], j))
        cited[rows, k] = np.array(names, dtype=object)[j]
    return out, cited


def reason_codes(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    typical: pd.Series,
    *,
    top: int = 3,
    given: pd.DataFrame | pd.Series | np.ndarray | None = None,
    with_features: bool = False,
) -> pd.DataFrame:
    """The `top` consistent drivers per row: ``reason_1`` .. ``reason_<top>`` as sentences.

    Parameters
    ----------
    contributions : DataFrame
        Per-feature contributions (e.g. :meth:`Predictor.explain`), ``base_value`` ignored.
    features : DataFrame
        The feature values of the same rows, in the same order.
    typical : Series
        Typical (median) value per feature, quoted for comparison; a feature without one
        is only quoted against the customer's own usual, if it has one.
    top : int
        How many reasons per row.
    given : DataFrame, Series or array of bool, optional
        True where the user gave the value (shaped like `features`, or one flag per
        column); other values, e.g. filled with typical ones, are neither cited nor used
        as a reference. None: all given.
    with_features : bool, default False
        Also return ``feature_1`` .. ``feature_<top>``: the feature each reason is about
        (``""`` where none), so that a table of contributions can show the same drivers.

    Returns
    -------
    DataFrame
        Same index; each cell like ``"↑ spent 12,400 in the last 30 days (3.1× their
        usual)"`` where ↑ raises and ↓ lowers the prediction, strongest first, ``""`` where
        fewer than `top` features make a consistent reason.
    """
    contrib = contributions.drop(columns=["base_value"], errors="ignore")
    if len(contrib) != len(features):
        raise ValueError(
            f"contributions have {len(contrib)} rows and features {len(features)}; "
            "pass the same rows in the same order."
        )
    n = len(contrib)
    given_at = _given_matrix(given, features)
    position = {name: i for i, name in enumerate(features.columns)}
    names = [
        name
        for name in pd.unique(np.asarray(contrib.columns))
        if name in position and feature_info(name).direction is not None
    ]
    cand = _Candidates(names, typical)
    value = features[names].to_numpy(dtype="float64", na_value=np.nan)
    weight = contrib[names].to_numpy(dtype="float64", na_value=np.nan)
    if YEARLY in position:  # the customer's own yearly spend, if given and positive
        yearly = features[YEARLY].to_numpy(dtype="float64", na_value=np.nan)
        yearly = np.where(given_at[:, position[YEARLY]] & (yearly > 0), yearly, np.nan)
    else:
        yearly = np.full(n, np.nan)

    # Every candidate cell at once; the strongest `top` consistent ones per row.
    ok = cand.quotes(value, weight, yearly[:, None], slice(None))["ok"]
    ok &= given_at[:, [position[name] for name in names]]
    score = np.full((n, max(len(names), top)), -np.inf)
    score[:, : len(names)] = np.where(ok, np.abs(weight), -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")[:, :top]
    shown = np.take_along_axis(score, order, axis=1) > -np.inf

    out, cited = _texts(cand, names, (value, weight, yearly), order, shown)
    columns = [f"reason_{k + 1}" for k in range(top)]
    frame = pd.DataFrame(out, index=contrib.index, columns=columns)
    if with_features:
        frame[[f"feature_{k + 1}" for k in range(top)]] = cited
    return frame
