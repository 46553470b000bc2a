"""Scoring every customer of a data set as of a day, straight from a fitted model.

Features as of the day, then :meth:`clvmodel.CLVModel.predict_features` for customers with
history and the cold-start model for those who signed up but never bought. This is what
:meth:`clvmodel.CLVModel.predict` runs; :mod:`clvmodel.prediction` keeps the same frames
in a cache for the app, and :mod:`clvmodel.parts` runs them part by part. The functions
receive the fitted model (they do not import it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from clvmodel.coldstart import build_cold_features
from clvmodel.columns import PROBABILITY, REASONS
from clvmodel.dataset import RetailData
from clvmodel.dates import check_as_of, day_after
from clvmodel.features import build_features
from clvmodel.ids import match_ids

__all__ = ["as_rows", "fill_reasons", "id_text", "predict", "rows_for_ids", "score_everyone"]


def score_everyone(
    model: Any, data: RetailData, day: pd.Timestamp, *, subset: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(features, scores)`` of every customer of `data` as of `day`, reasons left empty.

    `features` has a row per customer with history; `scores` those rows first, then (with a
    cold-start model) the customers without, flagged in ``cold_start``. `subset`: `data`
    holds a few customers of a bigger base, so a day before all of their purchases leaves
    them without features instead of failing.
    """
    config = model.feature_config_
    frames = []
    if subset and not (data.transactions["date"] < day).any():
        x = pd.DataFrame(  # nobody here has history before the day
            columns=model.feature_names_,
            index=pd.Index([], dtype="str", name="customer_id"),
            dtype="float64",
        )
    else:
        x = build_features(data, day, config)
        frames.append(model.predict_features(x, reasons=False).assign(cold_start=False))
    if model.cold_ is not None:
        cold = build_cold_features(data, day, config)
        if len(cold):
            frames.append(model.predict_cold_features(cold).assign(cold_start=True))
    scores = (
        pd.concat(frames)
        if frames
        else pd.DataFrame(columns=[*model.columns, "cold_start"], index=x.index)
    )
    return x, scores


def fill_reasons(
    model: Any, features: pd.DataFrame, scores: pd.DataFrame, rows: np.ndarray
) -> None:
    """Write the reason codes of these rows of `features` into the same rows of `scores`
    (:func:`score_everyone`'s pair), in place."""
    if len(rows):
        codes = model.reasons(features.iloc[rows])
        scores.iloc[rows, scores.columns.get_indexer(REASONS)] = codes[REASONS].to_numpy()


def as_rows(scores: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Scores indexed by customer as :meth:`clvmodel.CLVModel.predict` returns them:
    ``customer_id`` and ``as_of`` columns first."""
    out = scores.rename_axis("customer_id").reset_index()
    out.insert(1, "as_of", f"{day:%Y-%m-%d}")
    return out


def id_text(customer_ids: Iterable[object]) -> pd.Series:
    """Customer IDs as given, as text (missing ones as "")."""
    return pd.Series(list(customer_ids), dtype="object").astype("string").fillna("")


def rows_for_ids(
    scores: pd.DataFrame, known: pd.Index, text: pd.Series, day: pd.Timestamp
) -> pd.DataFrame:
    """One row per ID of `text`, in order, from a day's scores; NaN predictions and a
    message in ``error`` for an empty, unknown or (without cold start) history-less ID."""
    wanted = text.str.strip().to_numpy()
    out = scores.reindex(wanted)
    out.insert(0, "customer_id", text.to_numpy())
    out.insert(1, "as_of", f"{day:%Y-%m-%d}")
    is_known = known.get_indexer(text.str.strip()) >= 0
    has_history = out[PROBABILITY].notna().to_numpy()
    error = np.where(
        has_history,
        "",
        np.where(
            text.str.strip().eq("").to_numpy(),
            "empty customer_id",
            np.where(
                is_known,
                f"no purchase history before {day:%Y-%m-%d}",
                "unknown customer_id: not in the customer table",
            ),
        ),
    )
    out["error"] = error
    return out.reset_index(drop=True)


def predict(
    model: Any,
    data: RetailData,
    *,
    as_of: str | pd.Timestamp | None = None,
    customer_ids: Iterable[object] | None = None,
    reasons: bool = True,
) -> pd.DataFrame:
    """:meth:`clvmodel.CLVModel.predict` of data in memory, computed afresh."""
    model.check_data(data)
    day = check_as_of(as_of, day_after(data.last_date))
    features, scores = score_everyone(model, data, day)
    if customer_ids is None:
        if reasons:
            fill_reasons(model, features, scores, np.arange(len(features)))
        return as_rows(scores, day)
    text = id_text(match_ids(customer_ids, data.customers.index))
    if reasons:
        pos = features.index.get_indexer(text.str.strip().to_numpy())
        fill_reasons(model, features, scores, np.unique(pos[pos >= 0]))
    out = rows_for_ids(scores, data.customers.index, text, day)
    if not reasons:
        out[REASONS] = out[REASONS].where(out[PROBABILITY].isna(), "")
    return out
