"""Why a fitted model predicts what it does: reason codes and per-feature contributions,
the bodies of :meth:`clvmodel.CLVModel.reasons`, ``explain_features`` and ``explain``.

The functions receive the fitted model (they do not import it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from clvmodel.columns import REASONS
from clvmodel.contributions import contributions, unwrap
from clvmodel.dataset import RetailData
from clvmodel.dates import check_as_of, day_after
from clvmodel.features import build_features
from clvmodel.reasons import reason_codes

__all__ = ["explain", "explain_features", "reasons_of"]


def reasons_of(model: Any, x: pd.DataFrame, given: Any = None) -> pd.DataFrame:
    """The three strongest drivers of each row's total (path contributions) in plain words;
    `x` is the model's float block (:func:`clvmodel.estimates.matrix`)."""
    if not model.explainable("total") or x.empty:
        return pd.DataFrame("", index=x.index, columns=REASONS)
    raw = contributions(model.bundles_["total"]["model"], x.to_numpy(), exact=False)
    contrib = pd.DataFrame(raw[:, : len(model.feature_names_)], index=x.index)
    contrib.columns = model.feature_names_
    return reason_codes(contrib, x, model.typical_, top=len(REASONS), given=given)


def explain_features(model: Any, x: pd.DataFrame, target: str, *, exact: bool) -> pd.DataFrame:
    """Each feature's additive contribution to `target`'s model output, per row of the
    float block `x`, with ``base_value``."""
    targets = model.feature_config_.targets
    if target not in targets:
        raise ValueError(f"unknown target {target!r}; choose one of {targets}.")
    if not model.explainable(target):
        fitted = unwrap(model.bundles_[target]["model"])
        raise ValueError(
            f"explanations are not available for the {type(fitted).__name__} model of "
            f"target {target!r}."
        )
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
