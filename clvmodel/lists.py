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

The functions here only select and rank what the model already served; they fit nothing,
so a list is consistent with the numbers the app and the CLI show for the same customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral

import numpy as np
import pandas as pd

from clvmodel.aggregate import PROFILE_COLUMNS
from clvmodel.features.registry import share_column, spend_column

__all__ = [
    "CROSS_SELL_MAX_SHARE",
    "LAPSE_MAX_PROBABILITY",
    "LIST_KINDS",
    "MAX_LIST_SIZE",
    "customer_list",
    "list_features",
    "score_categories",
]

#: Each kind of list and the rule behind it.
LIST_KINDS: dict[str, str] = {
    "top": "customers with purchase history, ranked by expected 30-day spend on `target`",
    "lapse": (
        "customers likely to lapse: past 365-day spend on `target` > 0 and P(buy) < 0.5, "
        "ranked by that past spend × (1 − P(buy)), the spend at risk"
    ),
    "cross_sell": (
        "customers who spend elsewhere but hardly on category `target` (lifetime share "
        "< 0.05), ranked by expected 30-day total spend"
    ),
    "new": "customers who signed up but never bought, ranked by expected 30-day spend on `target`",
}

#: A customer with P(buy) below this is a lapse candidate: more likely not to buy than to buy.
LAPSE_MAX_PROBABILITY = 0.5

#: Below this lifetime share of spend a category is "not (yet) bought" for cross-selling.
CROSS_SELL_MAX_SHARE = 0.05

#: Longest list served: a list is for people to act on; the whole base is the scores.
MAX_LIST_SIZE = 10_000

#: Profile columns a list shows next to each customer (those the profiles have).
_SHOWN_PROFILE = (*PROFILE_COLUMNS, "days_since_last")


def list_features(categories: Sequence[str]) -> list[str]:
    """The features the lists read: past 365-day spend (``"lapse"``) and lifetime shares
    (``"cross_sell"``); what a big base saves beside its scores for them."""
    return [
        spend_column("total", 365),
        *[spend_column(c, 365) for c in categories],
        *[share_column(c) for c in categories],
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
) -> pd.DataFrame:
    """The `n` customers a retailer should act on first, for one kind of list.

    Parameters
    ----------
    scores : DataFrame
        :meth:`clvmodel.CLVModel.predict` output indexed by ``customer_id`` (one row per
        customer): ``predicted_total``, ``predicted_<category>``, ``purchase_probability``,
        ``cold_start`` and, where filled, ``reason_1..3``. Rows whose ranking value is
        missing (e.g. an unknown ID) are left out of every list.
    profiles : DataFrame
        :func:`clvmodel.aggregate.customer_profiles`, indexed by ``customer_id``.
        Customers missing from it have empty profile columns.
    features : DataFrame or None
        :func:`clvmodel.features.build_features` as of the same day (customers missing
        from it have no past spend and no category shares). Needed for ``"lapse"``
        (``spend_365d`` or ``spend_<target>_365d``) and ``"cross_sell"``
        (``share_<category>``); ignored (may be None) for ``"top"`` and ``"new"``.
    kind : str
        One of :data:`LIST_KINDS` (each rule in full in the module docstring).
    n : int, default=100
        Longest list, 1 to :data:`MAX_LIST_SIZE`; fewer rows if fewer customers qualify.
    target : str, default="total"
        ``"total"`` or a category: what ``"top"`` and ``"new"`` rank by, whose past spend
        ``"lapse"`` puts at risk, and (a category only) what ``"cross_sell"`` sells.
    where : mapping, optional
        Profile column -> value or list of values: keep the customers whose profile equals
        one of them, compared as strings (as :meth:`clvmodel.CLVModel.forecast_scores`).
        Applied before ranking, so ``n`` counts filtered customers.
    categories : sequence of str, default=()
        The model's categories; empty: those `scores` has (:func:`score_categories`).

    Returns
    -------
    DataFrame
        One row per listed customer, ``rank`` 1 first, with columns ``rank, customer_id``,
        the profile columns present (``segment, loyalty_tier, region, channel, store,
        days_since_last``), ``expected_total``, ``expected_<category>`` per category,
        ``purchase_probability``, ``reason`` (``reason_1..3`` joined with "; ", empty if
        none) and, for ``"lapse"``, ``past_spend_365d`` (on `target`), for
        ``"cross_sell"``, ``main_category``. Ties are ranked by ``customer_id`` ascending,
        so the same inputs give the same list.

    Raises
    ------
    ValueError
        Unknown `kind`, `target` or `where` column; `n` not an integer in 1 to
        :data:`MAX_LIST_SIZE`; ``"cross_sell"`` with target ``"total"``; `scores`,
        `features` or `categories` missing what the list needs.

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
    profiles = profiles.reindex(scores.index)
    keep = _where_mask(profiles, where)
    cold = scores["cold_start"].eq(True) if "cold_start" in scores else _absent(scores, features)
    chosen, key, extra = _SELECT[kind](scores, features, cold.to_numpy(dtype=bool), target, cats)
    ranked = _rank(key[keep & chosen & key.notna().to_numpy()], n)
    extra = {k: v.loc[ranked] for k, v in extra.items()}
    return _rows(scores.loc[ranked], profiles.loc[ranked], cats, extra)


# What a kind of list selects: (which customers qualify, the ranking key, extra columns).
_Selection = tuple[np.ndarray, pd.Series, dict[str, pd.Series]]


def _top(
    scores: pd.DataFrame, features: pd.DataFrame | None, cold: np.ndarray, target: str, cats: list
) -> _Selection:
    return ~cold, scores[f"predicted_{target}"].astype("float64"), {}


def _new(
    scores: pd.DataFrame, features: pd.DataFrame | None, cold: np.ndarray, target: str, cats: list
) -> _Selection:
    return cold, scores[f"predicted_{target}"].astype("float64"), {}


def _lapse(
    scores: pd.DataFrame, features: pd.DataFrame | None, cold: np.ndarray, target: str, cats: list
) -> _Selection:
    """Past yearly spend on `target` at risk: that spend × (1 − P(buy)), below P 0.5."""
    past = _feature(features, spend_column(target, 365)).reindex(scores.index).fillna(0.0)
    p = scores["purchase_probability"].astype("float64")
    chosen = ~cold & (past > 0).to_numpy() & (p < LAPSE_MAX_PROBABILITY).to_numpy()
    return chosen, past * (1.0 - p), {"past_spend_365d": past}


def _cross_sell(
    scores: pd.DataFrame, features: pd.DataFrame | None, cold: np.ndarray, target: str, cats: list
) -> _Selection:
    """Customers who buy other categories but hardly `target`, by expected total spend."""
    shares = pd.DataFrame({c: _feature(features, share_column(c)) for c in cats})
    shares = shares.reindex(scores.index).fillna(0.0)
    others = shares.drop(columns=target)
    has_other = (others > 0).any(axis=1).to_numpy()
    names = np.asarray(others.columns, dtype=object)
    main = names[others.to_numpy().argmax(axis=1)] if len(names) else np.full(len(others), None)
    chosen = ~cold & has_other & (shares[target] < CROSS_SELL_MAX_SHARE).to_numpy()
    main_category = pd.Series(np.where(has_other, main, None), index=scores.index)
    return chosen, scores["predicted_total"].astype("float64"), {"main_category": main_category}


_SELECT = {"top": _top, "lapse": _lapse, "cross_sell": _cross_sell, "new": _new}


def _check_arguments(
    scores: pd.DataFrame, *, kind: str, n: int, target: str, categories: Sequence[str]
) -> list[str]:
    """Validate everything before any work; return the categories."""
    if kind not in LIST_KINDS:
        raise ValueError(f"unknown list kind {kind!r}; choose one of {list(LIST_KINDS)}.")
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
    if kind == "cross_sell" and target == "total":
        raise ValueError(
            f"kind 'cross_sell' needs target to be the category to sell, one of {cats}; "
            "got 'total'."
        )
    if scores.index.has_duplicates:
        dup = scores.index[scores.index.duplicated()][0]
        raise ValueError(f"scores must have one row per customer; {dup!r} appears twice.")
    return cats


def _where_mask(profiles: pd.DataFrame, where: Mapping[str, object] | None) -> np.ndarray:
    """Customers whose profile matches every filter (string comparison)."""
    keep = np.ones(len(profiles), dtype=bool)
    allowed = [c for c in profiles.columns if c in PROFILE_COLUMNS]
    for column, value in (where or {}).items():
        if column not in allowed:
            raise ValueError(f"cannot filter on {column!r}: the profiles have {allowed}.")
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        keep &= profiles[column].astype("str").isin([str(v) for v in values]).to_numpy()
    return keep


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
