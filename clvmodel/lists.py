"""Ranked lists of customers for a retailer to act on: whom to call, mail or win back.

A forecast of every customer's next-30-day spend (:meth:`clvmodel.CLVModel.predict`) is
more than a retailer can read. What they act on is a short list: the best customers of a
store, those drifting away, those who could buy a category they never buy, the new sign-ups
worth a welcome offer. Each kind of list is one rule (which customers qualify) and one
ranking key, both documented in :data:`LIST_KINDS` and here:

- ``"top"``: customers with history (``cold_start`` False), by
  ``expected_<target>`` descending.
- ``"lapse"``: customers with history whose past 365-day spend on `target` is
  positive and whose P(buy) is below :data:`LAPSE_MAX_PROBABILITY`, by past spend
  × (1 − P(buy)) descending: the yearly spend most likely to stop. A big spender
  at P(buy) 0.4 outranks a small one at 0.1; a customer at P(buy) ≥ 0.5 is
  expected to come back and is not listed.
- ``"cross_sell"``: customers with history whose lifetime share of spend on
  category `target` is below :data:`CROSS_SELL_MAX_SHARE` and who spend on some
  other category, by ``expected_total`` descending: they spend, just not here.
  ``main_category`` is their largest other category (ties: first in
  `categories`).
- ``"new"``: customers who signed up but never bought (``cold_start`` True), by
  ``expected_<target>`` descending. They are in no other list: their forecast
  comes from attributes only and "past spend" says nothing about them.
- ``"category_loyal"``: customers with history who made over
  :data:`LOYAL_MIN_SHARE` of their lifetime spend in one category (that category
  if `target` is one, any if ``"total"``), by expected spend in that category
  descending; ``loyal_category`` names it and ``loyal_share`` is the share.
- ``"multi_category"``: customers with history who bought in at least
  :data:`MULTI_MIN_CATEGORIES` categories in the last 365 days, by
  ``expected_<target>`` descending; ``categories_365d`` is how many.

``"top"`` takes a minimum expected spend on `target` (``min_expected``: the high-value
customers above a threshold). :data:`KINDS` is the one table of kinds: each one's words,
rule, selection and the options it takes; :data:`LIST_KINDS` is its rules by name.

The functions here only select and rank what the model already served; they fit nothing,
so a list is consistent with the numbers the app and the CLI show for the same customers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from clvmodel.aggregate import PROFILE_COLUMNS
from clvmodel.features.registry import share_column, spend_column
from clvmodel.forecast import profile_mask

__all__ = [
    "CROSS_SELL_MAX_SHARE",
    "KINDS",
    "LAPSE_MAX_PROBABILITY",
    "LIST_KINDS",
    "LOYAL_MIN_SHARE",
    "MAX_LIST_SIZE",
    "MULTI_MIN_CATEGORIES",
    "ListKind",
    "customer_list",
    "describe",
    "list_features",
    "score_categories",
]

#: A customer with P(buy) below this is a lapse candidate: more likely not to buy than to buy.
LAPSE_MAX_PROBABILITY = 0.5

#: Below this lifetime share of spend a category is "not (yet) bought" for cross-selling.
CROSS_SELL_MAX_SHARE = 0.05

#: Over this lifetime share of spend in one category a customer is loyal to it.
LOYAL_MIN_SHARE = 0.7

#: At least this many categories bought in the last 365 days make a multi-category shopper.
MULTI_MIN_CATEGORIES = 3

#: Longest list served: a list is for people to act on; the whole base is the scores.
MAX_LIST_SIZE = 10_000

#: Profile columns a list shows next to each customer (those the profiles have).
_SHOWN_PROFILE = (*PROFILE_COLUMNS, "days_since_last")


def _lines_column(category: str) -> str:
    """The feature counting the items of `category` bought in the last 365 days."""
    return f"lines_{category}_365d"


def list_features(categories: Sequence[str]) -> list[str]:
    """The features the lists read: past 365-day spend (``"lapse"``), lifetime shares
    (``"cross_sell"``, ``"category_loyal"``) and items bought per category in the last
    365 days (``"multi_category"``); what a big base saves beside its scores for them."""
    return [
        spend_column("total", 365),
        *[spend_column(c, 365) for c in categories],
        *[share_column(c) for c in categories],
        *[_lines_column(c) for c in categories],
    ]


def score_categories(scores: pd.DataFrame) -> list[str]:
    """The categories `scores` has forecasts for, in column order.

    A category is a name ``c`` other than ``total`` with ``predicted_c``,
    ``predicted_c_low`` and ``predicted_c_high`` all present (the form of
    :func:`clvmodel.prediction_columns`), so ``predicted_total_median`` is not one.
    """
    columns = set(scores.columns)
    return [
        col.removeprefix("predicted_")
        for col in scores.columns
        if col.startswith("predicted_")
        and col != "predicted_total"
        and {f"{col}_low", f"{col}_high"} <= columns
    ]


def customer_list(
    scores: pd.DataFrame,
    profiles: pd.DataFrame,
    features: pd.DataFrame | None,
    *,
    kind: str,
    n: int = 100,
    target: str = "total",
    where: Mapping[str, object] | None = None,
    categories: Sequence[str] = (),
    min_expected: float | None = None,
) -> pd.DataFrame:
    """The `n` customers a retailer should act on first, for one kind of list.

    Parameters
    ----------
    scores : DataFrame
        :meth:`clvmodel.CLVModel.predict` output indexed by ``customer_id``, one row per
        customer. Rows whose ranking value is missing (an unknown ID) are left out.
    profiles : DataFrame
        :func:`clvmodel.aggregate.customer_profiles`, indexed by ``customer_id``.
    features : DataFrame or None
        :func:`clvmodel.features.build_features` as of the same day (customers missing
        from it have no past spend and no category shares): the columns of
        :func:`list_features` a kind reads; ignored (may be None) for ``"top"`` and ``"new"``.
    kind : str
        One of :data:`KINDS` (each rule in full in the module docstring).
    n : int, default=100
        Longest list, 1 to :data:`MAX_LIST_SIZE`; fewer rows if fewer customers qualify.
    target : str, default="total"
        ``"total"`` or a category: what most kinds rank by, whose past spend ``"lapse"``
        puts at risk, what ``"cross_sell"`` sells, whom ``"category_loyal"`` is loyal to.
    where : mapping, optional
        Profile column -> value(s), as :func:`clvmodel.forecast.profile_mask` compares them
        (any case, ``"unknown"`` for no value); before ranking, so ``n`` counts the kept.
    categories : sequence of str, default=()
        The model's categories; empty: those of `scores` (:func:`score_categories`).
    min_expected : float, optional
        ``"top"`` only: the least expected spend on `target` (high value above a threshold).

    Returns
    -------
    DataFrame
        One row per listed customer, ``rank`` 1 first, with columns ``rank, customer_id``,
        the profile columns present (``segment, loyalty_tier, region, channel, store,
        days_since_last``), ``expected_total``, ``expected_<category>`` per category,
        ``purchase_probability``, ``reason`` (``reason_1..3`` joined with "; ", empty if
        none), then the kind's own columns (module docstring). Ties are ranked by
        ``customer_id`` ascending, so the same inputs give the same list.

    Raises
    ------
    ValueError
        Unknown `kind`, `target` or `where` column; `n` not an integer in 1 to
        :data:`MAX_LIST_SIZE`; ``"cross_sell"`` with target ``"total"``; `min_expected`
        not a number >= 0 or given to a kind without it; fewer categories than
        ``"multi_category"`` needs; `scores`, `features` or `categories` lacking a column.

    Examples
    --------
    >>> scores = pd.DataFrame(
    ...     {"predicted_total": [50.0, 80.0], "purchase_probability": [0.9, 0.7],
    ...      "cold_start": [False, False]},
    ...     index=pd.Index(["C1", "C2"], name="customer_id"),
    ... )
    >>> profiles = pd.DataFrame({"segment": ["a", "b"]}, index=scores.index)
    >>> customer_list(scores, profiles, None, kind="top", n=1)[["rank", "customer_id"]]
       rank customer_id
    0     1          C2
    """
    cats = _check_arguments(scores, kind=kind, n=n, target=target, categories=categories)
    options = _check_options(kind, {"min_expected": min_expected}, cats)
    profiles = profiles.reindex(scores.index)
    keep = profile_mask(profiles, where)
    cold = scores["cold_start"].eq(True) if "cold_start" in scores else _absent(scores, features)
    select = KINDS[kind].select
    chosen, key, extra = select(scores, features, cold.to_numpy(dtype=bool), target, cats, options)
    ranked = _rank(key[keep & chosen & key.notna().to_numpy()], n)
    extra = {k: v.loc[ranked] for k, v in extra.items()}
    return _rows(scores.loc[ranked], profiles.loc[ranked], cats, extra)


# What a kind of list selects: (which customers qualify, the ranking key, extra columns).
_Selection = tuple[np.ndarray, pd.Series, dict[str, pd.Series]]


def _expected(scores: pd.DataFrame, target: str) -> pd.Series:
    return scores[f"predicted_{target}"].astype("float64")


def _top(
    scores: pd.DataFrame, features, cold: np.ndarray, target: str, cats: list, options: dict
) -> _Selection:
    """By expected spend on `target`, at least ``min_expected`` of it when given."""
    expected = _expected(scores, target)
    chosen = ~cold
    if options.get("min_expected") is not None:
        chosen = chosen & (expected >= float(options["min_expected"])).to_numpy()
    return chosen, expected, {}


def _new(
    scores: pd.DataFrame, features, cold: np.ndarray, target: str, cats: list, options: dict
) -> _Selection:
    return cold, _expected(scores, target), {}


def _lapse(
    scores: pd.DataFrame, features, cold: np.ndarray, target: str, cats: list, options: dict
) -> _Selection:
    """Past yearly spend on `target` at risk: that spend × (1 − P(buy)), below P 0.5."""
    past = _feature(features, spend_column(target, 365)).reindex(scores.index).fillna(0.0)
    p = scores["purchase_probability"].astype("float64")
    chosen = ~cold & (past > 0).to_numpy() & (p < LAPSE_MAX_PROBABILITY).to_numpy()
    return chosen, past * (1.0 - p), {"past_spend_365d": past}


def _per_category(features, column, cats: list, index: pd.Index) -> pd.DataFrame:
    """One feature per category (`column` of a category names it), 0 for the absent."""
    frame = pd.DataFrame({c: _feature(features, column(c)) for c in cats})
    return frame.reindex(index).fillna(0.0)


def _cross_sell(
    scores: pd.DataFrame, features, cold: np.ndarray, target: str, cats: list, options: dict
) -> _Selection:
    """Customers who buy other categories but hardly `target`, by expected total spend."""
    shares = _per_category(features, share_column, cats, scores.index)
    others = shares.drop(columns=target)
    has_other = (others > 0).any(axis=1).to_numpy()
    names = np.asarray(others.columns, dtype=object)
    main = names[others.to_numpy().argmax(axis=1)] if len(names) else np.full(len(others), None)
    chosen = ~cold & has_other & (shares[target] < CROSS_SELL_MAX_SHARE).to_numpy()
    main_category = pd.Series(np.where(has_other, main, None), index=scores.index)
    return chosen, _expected(scores, "total"), {"main_category": main_category}


def _category_loyal(
    scores: pd.DataFrame, features, cold: np.ndarray, target: str, cats: list, options: dict
) -> _Selection:
    """Over 70% of lifetime spend in one category (`target` if a category), ranked by the
    expected spend in that category."""
    shares = _per_category(features, share_column, cats, scores.index).to_numpy()
    best = shares.argmax(axis=1)
    share = shares[np.arange(len(shares)), best]
    chosen = ~cold & (share > LOYAL_MIN_SHARE)
    if target != "total":
        chosen &= best == cats.index(target)
    expected = scores[[f"predicted_{c}" for c in cats]].to_numpy(dtype="float64")
    key = pd.Series(expected[np.arange(len(expected)), best], index=scores.index)
    loyal = pd.Series(np.asarray(cats, dtype=object)[best], index=scores.index)
    return chosen, key, {"loyal_category": loyal, "loyal_share": pd.Series(share, scores.index)}


def _multi_category(
    scores: pd.DataFrame, features, cold: np.ndarray, target: str, cats: list, options: dict
) -> _Selection:
    """Bought in 3 or more categories in the last 365 days, by expected spend on `target`."""
    bought = (_per_category(features, _lines_column, cats, scores.index) > 0).sum(axis=1)
    chosen = ~cold & (bought >= MULTI_MIN_CATEGORIES).to_numpy()
    return chosen, _expected(scores, target), {"categories_365d": bought.astype("int64")}


@dataclass(frozen=True)
class ListKind:
    """One kind of list: the words a person reads, its rule (`target` where the target is
    named), the function that selects and ranks, and what it takes."""

    label: str
    rule: str
    select: Callable[..., _Selection]
    #: The optional arguments of :func:`customer_list` this kind takes.
    options: tuple[str, ...] = ()
    #: Whether `target` must be a category (``"total"`` refused).
    category_target: bool = False
    #: The fewest categories the model must have.
    min_categories: int = 0
    #: Added to the rule when `target` is a category (``{target}``: its name).
    on_category: str = ""


#: Every kind of list, in the order a person is offered them.
KINDS: dict[str, ListKind] = {
    "top": ListKind(
        "Top spenders",
        "customers with purchase history, ranked by expected 30-day spend on `target`",
        _top,
        options=("min_expected",),
    ),
    "lapse": ListKind(
        "Likely to lapse",
        f"customers likely to lapse: past 365-day spend on `target` > 0 and P(buy) < "
        f"{LAPSE_MAX_PROBABILITY}, ranked by that past spend × (1 − P(buy)), the spend at risk",
        _lapse,
    ),
    "cross_sell": ListKind(
        "Cross-sell",
        f"customers who spend elsewhere but hardly on category `target` (lifetime share "
        f"< {CROSS_SELL_MAX_SHARE}), ranked by expected 30-day total spend",
        _cross_sell,
        category_target=True,
    ),
    "new": ListKind(
        "New customers",
        "customers who signed up but never bought, ranked by expected 30-day spend on `target`",
        _new,
    ),
    "category_loyal": ListKind(
        "Category-loyal",
        f"customers who made over {LOYAL_MIN_SHARE:.0%} of their lifetime spend in one "
        "category, ranked by expected 30-day spend in that category",
        _category_loyal,
        on_category="; only those loyal to {target}",
    ),
    "multi_category": ListKind(
        "Multi-category",
        f"customers who bought in {MULTI_MIN_CATEGORIES} or more categories in the last 365 "
        "days, ranked by expected 30-day spend on `target`",
        _multi_category,
        min_categories=MULTI_MIN_CATEGORIES,
    ),
}

#: Each kind of list and the rule behind it (the rules of :data:`KINDS`).
LIST_KINDS: dict[str, str] = {name: kind.rule for name, kind in KINDS.items()}


def describe(kind: str, target: str, min_expected: float | None = None) -> str:
    """The rule of a list in words, its target named (and its minimum, when given)."""
    rule = LIST_KINDS.get(kind, "").replace("`target`", repr(target))
    if kind in KINDS and target != "total":
        rule += KINDS[kind].on_category.format(target=repr(target))
    if min_expected is not None and kind in KINDS:
        rule += f", at least {float(min_expected):,.2f} of it"
    return rule


def _check_arguments(
    scores: pd.DataFrame, *, kind: str, n: int, target: str, categories: Sequence[str]
) -> list[str]:
    """Validate everything before any work; return the categories."""
    if kind not in KINDS:
        raise ValueError(f"unknown list kind {kind!r}; choose one of {list(KINDS)}.")
    if isinstance(n, bool) or not isinstance(n, Integral) or not 1 <= n <= MAX_LIST_SIZE:
        raise ValueError(
            f"n must be an integer from 1 to {MAX_LIST_SIZE}; got {n!r}. For every customer, "
            "use the scores themselves."
        )
    if isinstance(categories, str):
        raise ValueError(f"categories must be a list of names, not the string {categories!r}.")
    cats = list(categories) if len(categories) else score_categories(scores)
    needed = ["predicted_total", "purchase_probability"] + [f"predicted_{c}" for c in cats]
    missing = [c for c in needed if c not in scores]
    if missing:
        raise ValueError(
            f"scores lack {missing}; pass CLVModel.predict(...).set_index('customer_id')."
        )
    if target not in ["total", *cats]:
        raise ValueError(f"unknown target {target!r}; choose one of {['total', *cats]}.")
    if KINDS[kind].category_target and target == "total":
        raise ValueError(
            f"kind {kind!r} needs target to be the category to sell, one of {cats}; got 'total'."
        )
    if scores.index.has_duplicates:
        dup = scores.index[scores.index.duplicated()][0]
        raise ValueError(f"scores must have one row per customer; {dup!r} appears twice.")
    return cats


def _check_options(kind: str, options: dict[str, object], cats: list[str]) -> dict:
    """The kind's own options, checked: given only to a kind that takes them, and valid."""
    spec = KINDS[kind]
    for name, value in options.items():
        if value is not None and name not in spec.options:
            takers = [k for k, v in KINDS.items() if name in v.options]
            raise ValueError(f"{name} applies to the lists {takers} only; got kind {kind!r}.")
    minimum = options.get("min_expected")
    if minimum is not None and (
        isinstance(minimum, bool) or not isinstance(minimum, Real) or not math.isfinite(minimum)
        or minimum < 0
    ):  # fmt: skip
        raise ValueError(f"min_expected must be a number >= 0, or None; got {minimum!r}.")
    if len(cats) < spec.min_categories:
        raise ValueError(
            f"kind {kind!r} needs a model with at least {spec.min_categories} categories; "
            f"this one has {len(cats)}: {cats}."
        )
    return options


def _absent(scores: pd.DataFrame, features: pd.DataFrame | None) -> pd.Series:
    """Without a ``cold_start`` column: cold is having no features (no history)."""
    if features is None:
        return pd.Series(False, index=scores.index)
    return pd.Series(~scores.index.isin(features.index), index=scores.index)


def _feature(features: pd.DataFrame | None, column: str) -> pd.Series:
    if features is None:
        raise ValueError(
            f"this list needs features ({column!r}); got None. Pass build_features(data, "
            "as_of, model.feature_config_) for the same day as the scores."
        )
    if column not in features:
        raise ValueError(
            f"features lack {column!r}; pass build_features(data, as_of, "
            "model.feature_config_) for the same day as the scores."
        )
    return features[column].astype("float64")


def _rank(key: pd.Series, n: int) -> pd.Index:
    """The IDs of the `n` highest `key` values; ties by customer ID ascending."""
    order = pd.DataFrame({"key": key.to_numpy(), "id": key.index}, index=key.index)
    order = order.sort_values(["key", "id"], ascending=[False, True], kind="mergesort")
    return order.index[:n]


def _rows(
    scores: pd.DataFrame,
    profiles: pd.DataFrame,
    categories: list[str],
    extra: dict[str, pd.Series],
) -> pd.DataFrame:
    out = pd.DataFrame(
        {"rank": np.arange(1, len(scores) + 1), "customer_id": scores.index.to_numpy()}
    )
    for column in _SHOWN_PROFILE:
        if column in profiles:
            out[column] = profiles[column].to_numpy()
    for t in ["total", *categories]:
        out[f"expected_{t}"] = scores[f"predicted_{t}"].to_numpy(dtype="float64")
    out["purchase_probability"] = scores["purchase_probability"].to_numpy(dtype="float64")
    out["reason"] = _join_reasons(scores)
    for column, values in extra.items():
        out[column] = values.to_numpy()
    return out


def _join_reasons(scores: pd.DataFrame) -> np.ndarray:
    """``reason_1..3`` joined with "; ", skipping empty and missing ones."""
    columns = sorted(
        (c for c in scores.columns if c.startswith("reason_") and c[7:].isdigit()),
        key=lambda c: int(c[7:]),
    )
    joined = np.full(len(scores), "", dtype=object)
    for column in columns:
        text = scores[column].fillna("").astype("str").str.strip().to_numpy(dtype=object)
        both = (joined != "") & (text != "")
        joined = np.where(both, joined + "; " + text, np.where(joined != "", joined, text))
    return joined
