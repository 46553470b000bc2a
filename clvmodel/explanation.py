"""Why a fitted model predicts what it does: reason codes and per-feature contributions,
the bodies of :meth:`clvmodel.CLVModel.reasons`, ``explain_features``, ``explain_served``
and ``explain``.

Two scales. :func:`explain_features` gives the model's raw output (log spend for a Tweedie
booster, log-odds for the purchase model), as SHAP defines it, and only the booster's part
of a hybrid. :func:`explain_served` gives what a person reads: amounts of the served value
(currency for spend, probability for buying) that add up, with the base, to exactly what
is served, the whole blend explained:

- the booster's contributions, rescaled in proportion so that they add up to its amount
  (:func:`clvmodel.contributions.rescaled`);
- BG/NBD's part split over the features it reads (purchases, first and last purchase,
  average basket, the category's share): exact Shapley values against the typical
  customer (:attr:`CLVModel.typical_`), its base;
- both weighted as the blend is, times the level factor; a category's amounts are then
  scaled as its estimate is when the categories are split to add up to the total.

The functions receive the fitted model (they do not import it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np
import pandas as pd

from clvmodel import bgnbd_ml
from clvmodel.columns import PROBABILITY, REASONS
from clvmodel.contributions import contributions, output_scale, rescaled, unwrap
from clvmodel.dataset import RetailData
from clvmodel.dates import check_as_of, day_after
from clvmodel.features import build_features
from clvmodel.reasons import reason_codes
from clvmodel.training import predict_spend

__all__ = ["BGNBD_INPUTS", "bgnbd_shapley", "explain", "explain_features", "explain_served",
           "reasons_of"]  # fmt: skip

#: The features BG/NBD's expected spend reads (a category's share is added per category).
BGNBD_INPUTS = ("txn_count_lifetime", "days_since_first", "days_since_last", "basket_mean")


def reasons_of(
    model: Any, x: pd.DataFrame, given: Any = None, *, with_features: bool = False
) -> pd.DataFrame:
    """The three strongest drivers of each row's total in plain words, from its served
    contributions in currency (:func:`explain_served`'s, with the booster's path
    contributions: fast for 100,000 rows); `x` is the model's float block
    (:func:`clvmodel.estimates.matrix`)."""
    if not model.explainable("total") or x.empty:
        features = [f"feature_{k + 1}" for k in range(len(REASONS))] if with_features else []
        return pd.DataFrame("", index=x.index, columns=[*REASONS, *features])
    raw = contributions(model.bundles_["total"]["model"], x.to_numpy(), exact=False)
    # In currency, the whole blend (as explain_served, with path contributions): the same
    # drivers the explanation tables show.
    amounts, _, _ = _spend_amounts(model, x, "total", raw[:, : len(model.feature_names_) + 1])
    contrib = pd.DataFrame(amounts, index=x.index, columns=model.feature_names_)
    return reason_codes(contrib, x, model.typical_, top=len(REASONS), given=given,
                        with_features=with_features)  # fmt: skip


def _check_explainable(model: Any, target: str) -> None:
    targets = model.feature_config_.targets
    if target not in targets:
        raise ValueError(f"unknown target {target!r}; choose one of {targets}.")
    if not model.explainable(target):
        fitted = unwrap(model.bundles_[target]["model"])
        raise ValueError(
            f"explanations are not available for the {type(fitted).__name__} model of "
            f"target {target!r}."
        )


def explain_features(model: Any, x: pd.DataFrame, target: str, *, exact: bool) -> pd.DataFrame:
    """Each feature's additive contribution to `target`'s model output, per row of the
    float block `x`, with ``base_value``."""
    _check_explainable(model, target)
    raw = contributions(model.bundles_[target]["model"], x.to_numpy(), exact=exact)
    cols = [*model.feature_names_, "base_value"]
    return pd.DataFrame(np.asarray(raw)[:, : len(cols)], index=x.index, columns=cols)


def explain(
    model: Any,
    data: RetailData,
    customer_ids: Iterable[object],
    *,
    target: str,
    as_of: str | pd.Timestamp | None,
    exact: bool,
) -> pd.DataFrame:
    """:func:`explain_features` of these customers' features as of a day."""
    day = check_as_of(as_of, day_after(data.last_date))
    ids = [str(c) for c in customer_ids]
    x = build_features(data, day, model.feature_config_, customer_ids=ids)
    unknown = [c for c in ids if c not in x.index]
    if unknown:
        raise ValueError(
            f"no purchase history before {day:%Y-%m-%d} for customer(s) {unknown[:5]}."
        )
    return model.explain_features(x.loc[ids], target, exact=exact)


def bgnbd_shapley(
    params: list[float], x: pd.DataFrame, typical: pd.Series, target: str, horizon: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """BG/NBD's expected spend of each row split over its inputs: exact Shapley values
    against the typical customer. Returns ``(contributions, base)``: rows × inputs, and
    the typical customer's expected spend; ``base + contributions.sum(axis=1)`` is each
    row's expected spend.

    Every subset of the four or five inputs is evaluated once for all rows (32 calls).
    """
    inputs = [*BGNBD_INPUTS, *([] if target == "total" else [f"share_{target}"])]
    k, n = len(inputs), len(x)
    subsets = [s for size in range(k + 1) for s in combinations(range(k), size)]
    mask = np.zeros((len(subsets), 1, k), dtype=bool)
    for i, subset in enumerate(subsets):
        mask[i, 0, list(subset)] = True
    reference = typical.reindex(inputs).to_numpy(dtype=float)
    rows = np.where(mask, x[inputs].to_numpy(dtype=float)[None], reference)  # subsets × n × k
    frame = pd.DataFrame(rows.reshape(-1, k), columns=inputs)
    spend = bgnbd_ml.expected_spend(params, frame, target, horizon).reshape(len(subsets), n)
    values = dict(zip(subsets, spend, strict=True))  # every subset evaluated in one call
    phi = np.zeros((n, k))
    for subset, base in values.items():
        if len(subset) == k:
            continue
        weight = factorial(len(subset)) * factorial(k - len(subset) - 1) / factorial(k)
        for i in set(range(k)) - set(subset):
            phi[:, i] += weight * (values[tuple(sorted((*subset, i)))] - base)
    return pd.DataFrame(phi, index=x.index, columns=inputs), values[()]


def _spend_amounts(
    model: Any, x: pd.DataFrame, target: str, raw: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(contributions, base, estimate)`` of a spend target's blend, in currency, from the
    booster's raw contributions (rows × (features + base))."""
    bundle = model.bundles_[target]
    booster = predict_spend(bundle["model"], x.to_numpy())
    amounts, base = rescaled(raw, booster, output_scale(bundle["model"]))
    weight, level = bundle.get("blend", 0.0), bundle.get("level", 1.0)
    amounts, base = (1 - weight) * amounts, (1 - weight) * base
    estimate = (1 - weight) * booster
    if weight:
        horizon = model.feature_config_.horizon
        bg, bg_base = bgnbd_shapley(bundle["bgnbd"], x, model.typical_, target, horizon)
        position = [model.feature_names_.index(f) for f in bg.columns]
        amounts[:, position] += weight * bg.to_numpy()
        base = base + weight * bg_base
        estimate = estimate + weight * bgnbd_ml.expected_spend(bundle["bgnbd"], x, target, horizon)
    return level * amounts, level * base, level * estimate


def explain_served(
    model: Any,
    x: pd.DataFrame,
    targets: Sequence[str],
    *,
    exact: bool,
    raw: dict[str, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """Per target, each feature's contribution to its served value (currency for a spend
    target, probability for ``"purchase"``), per row of the float block `x`, with
    ``base_value`` and ``served_value``: base and contributions add up to the served value.
    See the module docstring for how. The rows are served once for all targets; `raw`:
    :func:`explain_features` of these rows per target, if the caller has them already."""
    raw = {} if raw is None else raw
    given = {t: raw[t] if t in raw else explain_features(model, x, t, exact=exact)
             for t in targets}  # fmt: skip
    served = model.predict_features(x, reasons=False)
    return {t: _served_target(model, x, t, served, given[t].to_numpy()) for t in targets}


def _served_target(
    model: Any, x: pd.DataFrame, target: str, served: pd.DataFrame, raw: np.ndarray
) -> pd.DataFrame:
    if target == "purchase":
        value = served[PROBABILITY].to_numpy(dtype=float)
        amounts, base = rescaled(raw, value, output_scale(model.bundles_[target]["model"]))
    else:
        value = served[f"predicted_{target}"].to_numpy(dtype=float)
        amounts, base, estimate = _spend_amounts(model, x, target, raw)
        with np.errstate(divide="ignore", invalid="ignore"):  # the split into categories
            split = np.where(estimate > 0, value / estimate, 1.0)
        amounts, base = amounts * split[:, None], base * split
    out = pd.DataFrame(amounts, index=x.index, columns=model.feature_names_)
    return out.assign(base_value=base, served_value=value)
