"""Which feature values can occur together: derived features, impossible combinations and
values far outside the training data. What the what-if editor and feature uploads check.

A customer's features come from one history, so they are tied: the days since the last
purchase in usual gaps *is* the days since the last purchase over the average gap, a
purchase in the last 30 days puts the last purchase at most 30 days back, spend in a
window needs a purchase in it. Scoring values that break these ties asks the models about
customers that cannot exist, and their answer means nothing.

- :data:`DERIVED` features are computed from others: :func:`derive` fills them from the
  values given (a what-if that edits the days since the last purchase moves the overdue
  ratio with it), and :func:`contradictions` refuses a given one that disagrees.
- :func:`contradictions` also names every other pair of values that no history gives,
  with both values.
- :class:`Limits` refuses a value far outside the training data: beyond ten times the
  largest size it has there, or a code (a loyalty tier, a 0/1 flag) it never takes.

Every check is vectorised over rows and returns ``(rows, messages)`` pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clvmodel.features.registry import CALENDAR, find, share_column

__all__ = ["DERIVED", "SHIFTED", "Derived", "Limits", "contradictions", "derive", "number_text"]

#: How far outside the training data a value may lie: this many times its largest size.
FAR = 10.0
#: Rounding a person may do when typing a derived value (absolute, relative).
_TOLERANCE = (0.01, 0.001)
_RETURNS = "returns_365d"
_LAST = "days_since_last"

Problem = tuple[pd.Series, pd.Series]


def number_text(values: pd.Series) -> pd.Series:
    """Numbers as a person reads them in a message: thousands separators, at most four
    decimals (``100,000,000,000``, ``58,068.49``, ``0.0026``)."""

    def one(v: float) -> str:
        if pd.isna(v):
            return "none"
        if float(v).is_integer():
            return f"{v:,.0f}"
        text = f"{v:,.4f}".rstrip("0").rstrip(".")
        return text if text not in {"0", "-0"} else f"{v:.2g}"

    return pd.Series(values, dtype="float64").map(one).astype(object)


@dataclass(frozen=True)
class Derived:
    """A feature computed from others (as :mod:`clvmodel.features` computes it)."""

    name: str
    inputs: tuple[str, ...]
    formula: str
    compute: Callable[[pd.DataFrame, int], pd.Series]


def _overdue(x: pd.DataFrame, horizon: int) -> pd.Series:
    return x["days_since_last"] / x["gap_mean_days"].where(x["gap_mean_days"] > 0)


def _daily_rate(x: pd.DataFrame, horizon: int) -> pd.Series:
    return x["spend_lifetime"] / np.maximum(x["days_since_first"], horizon)


DERIVED: tuple[Derived, ...] = (
    Derived("overdue_ratio", ("days_since_last", "gap_mean_days"),
            "days_since_last / gap_mean_days", _overdue),
    Derived("daily_spend_rate", ("spend_lifetime", "days_since_first"),
            "spend_lifetime / days_since_first (at least the horizon)", _daily_rate),
)  # fmt: skip
#: Features that move with the change of another: the 30-day trend is the last 30 days'
#: spend less the 30 days before, which an edit of the last 30 days leaves as they were.
SHIFTED: dict[str, str] = {"spend_trend_30d": "spend_30d"}


def derive(x: pd.DataFrame, given: Iterable[str], horizon: int) -> tuple[pd.DataFrame, list[str]]:
    """`x` with each derived feature that is not in `given` computed from the values in
    `x` (given or filled), and the names of those computed."""
    given = set(given)
    x = x.copy()
    done = []
    for d in DERIVED:
        if d.name in x.columns and d.name not in given and set(d.inputs) <= set(x.columns):
            x[d.name] = d.compute(x, horizon).to_numpy()
            done.append(d.name)
    return x, done


def recompute(
    values: pd.Series, start: pd.Series, edited: Iterable[str], horizon: int
) -> pd.Series:
    """A what-if's values with the features that follow the `edited` ones recomputed:
    derived features not edited themselves whose inputs were, and :data:`SHIFTED` ones
    moved by the change of what they follow."""
    edited = set(edited)
    out = values.astype("float64").copy()
    frame = out.to_frame().T
    for d in DERIVED:
        if d.name in out.index and d.name not in edited and edited & set(d.inputs):
            if set(d.inputs) <= set(out.index):
                out[d.name] = float(d.compute(frame, horizon).iloc[0])
    for name, follows in SHIFTED.items():
        if name in out.index and name not in edited and follows in edited:
            out[name] = start[name] + (out[follows] - start[follows])
    return out


# --------------------------------------------------------------------------- combinations


def _windows(present: Sequence[str], stem: str) -> list[tuple[int, str]]:
    """(days, name) of the windows of `stem` (``txn_count``, ``spend``) present."""
    out = []
    for name in present:
        found = find(name)
        if found and found[0].name == f"{stem}_{{w}}d" and "w" in found[1]:
            out.append((int(found[1]["w"]), name))
    return sorted(out)


def _pair(mask: pd.Series, a: str, av: pd.Series, b: str, bv: pd.Series, why: str) -> Problem:
    """Rows where `mask`, with a message naming both values and why they cannot meet."""
    mask = mask.fillna(False).astype(bool)
    if not mask.any():  # the usual case: nothing to say, no text to make
        return mask, pd.Series(dtype=object)
    text = f"{a} is " + number_text(av[mask]) + f" but {b} is " + number_text(bv[mask])
    return mask, text + f": {why}"


def _recency(x: pd.DataFrame, present: Sequence[str]) -> list[Problem]:
    """Purchases and spend in a window against the days since the last purchase."""
    out: list[Problem] = []
    if _LAST not in present:
        return out
    last = x[_LAST]
    returned = x[_RETURNS] > 0 if _RETURNS in present else pd.Series(False, index=x.index)
    told = pd.Series(False, index=x.index)  # a larger window said it already
    for w, count in reversed(_windows(present, "txn_count")):
        c = x[count]
        why = f"a purchase in the last {w} days puts the last purchase at most {w} days back"
        out.append(_pair((c >= 1) & (last > w), count, c, _LAST, last, why))
        why = (
            f"a visit in the last {w} days that is no purchase is a return, and "
            f"{_RETURNS} says nothing was returned"
            if _RETURNS in present
            else f"a visit in the last {w} days is a purchase there (or a return: give {_RETURNS})"
        )
        if w <= 365:
            never = (c == 0) & (last <= w) & ~returned & ~told
            out.append(_pair(never, count, c, _LAST, last, why))
            told |= never.fillna(False).astype(bool)
    for w, spend in _windows(present, "spend"):
        why = f"spending in the last {w} days means buying in them"
        out.append(_pair((x[spend] > 0) & (last > w), spend, x[spend], _LAST, last, why))
    return out


def _spend(x: pd.DataFrame, present: Sequence[str]) -> list[Problem]:
    """Spend in a window against the purchases and the returns in it."""
    out: list[Problem] = []
    counts = dict(_windows(present, "txn_count"))
    for w, spend in _windows(present, "spend"):
        s = x[spend]
        if w in counts:
            c = x[counts[w]]
            why = f"spend in the last {w} days needs a purchase in them (spend is net of returns)"
            out.append(_pair((s > 0.005) & (c == 0), spend, s, counts[w], c, why))
        if _RETURNS in present and w <= 365:
            r = x[_RETURNS]
            why = "a spend below zero is what was returned, at most returns_365d"
            out.append(_pair(-s > r + 0.005, spend, s, _RETURNS, r, why))
    return out


def _baskets(x: pd.DataFrame, present: Sequence[str]) -> list[Problem]:
    """The smallest basket <= the average <= the largest."""
    order = [b for b in ("basket_min", "basket_mean", "basket_max") if b in present]
    out = []
    for small, large in itertools.pairwise(order):
        why = f"{small} cannot exceed {large}"
        out.append(_pair(x[small] > x[large] + 0.005, small, x[small], large, x[large], why))
    return out


def _shares(x: pd.DataFrame, present: Sequence[str], categories: Sequence[str]) -> list[Problem]:
    """Shares of spend on the categories add up to at most 1."""
    shares = [share_column(c) for c in categories if share_column(c) in present]
    if len(shares) < 2:
        return []
    total = x[shares].fillna(0.0).sum(axis=1)
    mask = total > 1.005
    if not mask.any():
        return []
    text = "the shares of spend on " + ", ".join(shares) + " add up to " + number_text(total[mask])
    return [(mask, text + ": they cannot exceed 1")]


def _agreement(x: pd.DataFrame, present: Sequence[str], horizon: int) -> list[Problem]:
    """A derived feature given with all its inputs must be what they give."""
    out: list[Problem] = []
    for d in DERIVED:
        if d.name not in present or not set(d.inputs) <= set(present):
            continue
        want, got = d.compute(x, horizon), x[d.name]
        off = (got - want).abs() > np.maximum(_TOLERANCE[0], _TOLERANCE[1] * want.abs())
        mask = (off & got.notna() & want.notna()).fillna(False).astype(bool)
        if not mask.any():
            continue
        parts = [f"{i} " + number_text(x.loc[mask, i]) for i in d.inputs]
        inputs = parts[0]
        for part in parts[1:]:
            inputs = inputs + " and " + part
        text = (
            f"{d.name} is " + number_text(got[mask]) + f" but {d.formula} is "
            + number_text(want[mask]) + " (" + inputs + f"): leave {d.name} out, or change "
            "it with its inputs, to have it computed"
        )  # fmt: skip
        out.append((mask, text))
    return out


def contradictions(
    x: pd.DataFrame, present: Sequence[str], *, categories: Sequence[str] = (), horizon: int = 30
) -> list[Problem]:
    """Rows of `x` whose `present` values no history gives, each with a message naming
    the values (the nesting of windows and the order of first and last purchase are
    :func:`clvmodel.batch.validate_features`' own)."""
    problems = [
        *_recency(x, present),
        *_spend(x, present),
        *_baskets(x, present),
        *_shares(x, present, categories),
        *_agreement(x, present, horizon),
    ]
    return [(m, t) for m, t in problems if m.any()]


# --------------------------------------------------------------------------- the data's range


@dataclass(frozen=True)
class Limits:
    """What the training data holds, per feature: its smallest and largest value and, for
    codes (:attr:`clvmodel.features.registry.Range.codes`), the values it takes.

    Calendar features are left out: the data of one day has one month and one distance
    to the next peak, and a what-if of another month is a fair question.
    """

    low: pd.Series
    high: pd.Series
    codes: dict[str, np.ndarray]

    @classmethod
    def of(cls, features: pd.DataFrame) -> Limits:
        """The limits of a table of features (the served customers')."""
        names = [
            n for n in features.columns if (f := find(n)) is not None and f[0].group != CALENDAR
        ]
        codes = [n for n in names if find(n)[0].valid.codes]
        seen = {n: np.sort(features[n].dropna().unique()) for n in codes}
        numbers = features[[n for n in names if n not in seen]]
        return cls(numbers.min(), numbers.max(), seen)

    def problems(self, x: pd.DataFrame, present: Sequence[str]) -> list[Problem]:
        """Rows of `x` with a `present` value far outside these limits, each with the
        range in words and numbers."""
        out: list[Problem] = []
        for name in present:
            if name in self.codes:
                seen = self.codes[name]
                mask = x[name].notna() & ~x[name].isin(seen)
                if not mask.any():
                    continue
                listed = ", ".join(number_text(pd.Series(seen)))
                text = (
                    f"{name} is "
                    + number_text(x.loc[mask, name])
                    + (f", a code the training data never holds: it holds only {listed}")
                )
                out.append((mask, text))
            elif name in self.high.index:
                out.append(self._far(x, name))
        return [(m, t) for m, t in out if m.any()]

    def _far(self, x: pd.DataFrame, name: str) -> Problem:
        low, high = float(self.low[name]), float(self.high[name])
        size = FAR * max(abs(low), abs(high))
        if not np.isfinite(size) or size == 0:
            return pd.Series(False, index=x.index), pd.Series("", index=x.index)
        mask = (x[name].abs() > size).fillna(False).astype(bool)
        if not mask.any():
            return mask, pd.Series(dtype=object)
        bound = number_text(pd.Series([low, high, size]))
        allowed = f"up to {bound[2]}" if low >= 0 else f"from -{bound[2]} to {bound[2]}"
        text = (
            f"{name} is "
            + number_text(x.loc[mask, name])
            + (
                f", far outside the training data, where it lies between {bound[0]} and "
                f"{bound[1]}: values up to ten times that size are accepted ({allowed})"
            )
        )
        return mask, text
