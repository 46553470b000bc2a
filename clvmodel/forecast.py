"""Base forecasts: the expected spend of groups of customers and the interval of each sum.

From a fitted model's scores (:meth:`clvmodel.CLVModel.predict`) and the customers'
profiles (:func:`clvmodel.aggregate.customer_profiles`), through
:func:`clvmodel.aggregate.forecast_groups` with the model's spreads and the error
customers share in a month. The functions receive the fitted model (they do not import it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from clvmodel.aggregate import PROFILE_COLUMNS, customer_profiles, forecast_groups, group_cells
from clvmodel.dataset import RetailData

__all__ = [
    "UNKNOWN_GROUP",
    "forecast",
    "forecast_scores",
    "group_labels",
    "model_group_cells",
    "profile_mask",
]

#: The group of customers without a value (e.g. no purchase yet, so no region or channel):
#: shown in breakdowns under this name, and filtered by it.
UNKNOWN_GROUP = "unknown"


def _profile_names(profiles: pd.DataFrame) -> list[str]:
    return [c for c in profiles.columns if c in PROFILE_COLUMNS]


def group_labels(profiles: pd.DataFrame, column: str) -> pd.Series:
    """Each customer's group in `column` as a breakdown shows it: the value as text, or
    :data:`UNKNOWN_GROUP` where there is none. What is shown is what can be filtered."""
    values = profiles[column]
    return values.astype("str").where(values.notna(), UNKNOWN_GROUP)


def profile_mask(profiles: pd.DataFrame, where: Mapping[str, object] | None) -> np.ndarray:
    """The customers whose profile matches every filter of `where` (column -> value or list
    of values), compared with :func:`group_labels` as text, case-insensitively and without
    surrounding spaces: ``"North"`` keeps ``north``, ``"unknown"`` those without a value.

    Raises ValueError for a column that is not a profile column of `profiles`.
    """
    keep = np.ones(len(profiles), dtype=bool)
    for column, value in (where or {}).items():
        if column not in _profile_names(profiles):
            raise ValueError(
                f"cannot filter on {column!r}: the data has {_profile_names(profiles)}."
            )
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        wanted = [str(v).strip().casefold() for v in values]
        keep &= group_labels(profiles, column).str.casefold().isin(wanted).to_numpy()
    return keep


def forecast_scores(
    model: Any,
    scores: pd.DataFrame,
    profiles: pd.DataFrame,
    *,
    by: str | None = None,
    where: dict[str, object] | None = None,
) -> pd.DataFrame:
    """Expected spend of groups of customers and the interval of each sum.

    `scores` are :meth:`clvmodel.CLVModel.predict` rows indexed by customer, `profiles`
    their :func:`clvmodel.aggregate.customer_profiles`. `by` names a profile column to
    break down by (None: the whole base); `where` keeps the customers whose profile column
    equals the value (or is in the list), as :func:`profile_mask` compares them, so every
    group a breakdown shows, :data:`UNKNOWN_GROUP` included, can be filtered. Returns
    ``group, target, customers, expected, low, high`` for the total and every category.
    """
    profiles = profiles.reindex(scores.index)
    keep = profile_mask(profiles, where)
    if by is not None and by not in profiles:
        raise ValueError(f"cannot break down by {by!r}: the data has {_profile_names(profiles)}.")
    scores, profiles = scores[keep], profiles[keep]
    cold = scores["cold_start"].to_numpy(dtype=bool) if "cold_start" in scores else False
    sigma = np.where(cold, model.cold_sigma_ or model.sigma_, model.sigma_)
    groups = group_labels(profiles, by) if by else None
    return forecast_groups(
        scores,
        targets=["total", *model.categories],
        sigma=sigma,
        shared=model.shared_error_,
        level=model.interval,
        by=groups,
    )


def forecast(
    model: Any,
    data: RetailData,
    *,
    as_of: str | pd.Timestamp | None = None,
    by: str | None = None,
    where: dict[str, object] | None = None,
) -> pd.DataFrame:
    """:func:`forecast_scores` of every customer of `data` as of a day."""
    scores = model.predict(data, as_of=as_of, reasons=False)
    day = scores["as_of"].iloc[0] if len(scores) else as_of
    scores = scores.set_index("customer_id")
    return forecast_scores(model, scores, customer_profiles(data, day), by=by, where=where)


def model_group_cells(model: Any, rows: pd.DataFrame, served: pd.DataFrame) -> pd.DataFrame:
    """Actual, expected and independent variance of every spend target's total, for
    everyone and per segment (where the data has segments), on panel `rows` that
    :meth:`clvmodel.CLVModel.predict_features` served as `served`
    (:func:`clvmodel.aggregate.group_cells`)."""
    config = model.feature_config_
    targets = config.spend_targets
    frames = [group_cells(rows, served, model.sigma_, targets)]
    segments = [f"segment_{s}" for s in config.segments]
    if segments and set(segments) <= set(rows.columns):
        flags = rows[segments].to_numpy()
        labels = np.asarray(config.segments, dtype=object)[flags.argmax(axis=1)]
        groups = pd.Series(np.where(flags.max(axis=1) > 0, labels, "unknown"), index=rows.index)
        frames.append(group_cells(rows, served, model.sigma_, targets, groups))
    return pd.concat(frames, ignore_index=True)
