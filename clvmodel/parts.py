"""Running a fitted model over a partitioned data set, part by part, here or on Dask.

Each part is scored as a whole data set is (:mod:`clvmodel.scoring`): a customer's scores
read only their own rows and the shared tables, so the numbers are those of the whole
data. Where the parts are read and scored is the model's ``engine``
(:mod:`clvmodel.engine`). The functions receive the fitted model (they do not import it);
:class:`clvmodel.CLVModel`'s ``predict``, ``predict_parts`` and ``write_predictions`` are
one-line calls of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.dates import check_as_of, day_after
from clvmodel.engine import iter_parts
from clvmodel.partitions import PartitionedData
from clvmodel.score_folder import finish_folder, prepare_folder, write_part
from clvmodel.scoring import as_rows, fill_reasons, score_everyone

__all__ = [
    "combine_part_scores",
    "parts_day",
    "predict",
    "predict_part",
    "predict_parts",
    "score_part",
    "write_part_scores",
    "write_predictions",
]


def parts_day(model: Any, data: PartitionedData, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
    """The as-of day of a partitioned data set, checked (with the model's parameters)
    before any part is read."""
    model.check_params()
    day = check_as_of(as_of, day_after(data.last_date))
    if day <= data.first_date:
        raise ValueError(
            f"no transactions before the as-of date {day:%Y-%m-%d}; the data starts on "
            f"{data.first_date:%Y-%m-%d}. Pick a later date."
        )
    return day


def _run(model: Any, fn, data: PartitionedData, *args: Any) -> Iterator:
    """:func:`clvmodel.engine.iter_parts` on the model's engine."""
    return iter_parts(fn, data, *args, engine=model.engine, scheduler=model.scheduler,
                      n_workers=model.n_jobs)  # fmt: skip


def predict_parts(
    model: Any,
    data: PartitionedData,
    *,
    as_of: str | pd.Timestamp | None = None,
    reasons: bool = True,
) -> Iterator[pd.DataFrame | None]:
    """:meth:`clvmodel.CLVModel.predict_parts`: each part's rows in part order."""
    day = parts_day(model, data, as_of)
    yield from _run(model, score_part, data, model, day, reasons)


def predict(
    model: Any,
    data: PartitionedData,
    *,
    as_of: str | pd.Timestamp | None = None,
    customer_ids: Iterable[object] | None = None,
    reasons: bool = True,
) -> pd.DataFrame:
    """:meth:`clvmodel.CLVModel.predict` of every part, in the order of the whole."""
    if customer_ids is not None:
        raise ValueError(
            "scoring chosen customer IDs reads the whole data: use clvmodel.load_data "
            "on the partitioned folder, or score every customer and select."
        )
    return combine_part_scores(predict_parts(model, data, as_of=as_of, reasons=reasons))


def write_predictions(
    model: Any,
    data: PartitionedData,
    folder: str | os.PathLike[str],
    *,
    as_of: str | pd.Timestamp | None = None,
    reasons: bool = True,
) -> int:
    """:meth:`clvmodel.CLVModel.write_predictions`: every part written where it was
    scored; the number of rows."""
    day = parts_day(model, data, as_of)
    target = prepare_folder(folder)
    rows = sum(_run(model, write_part_scores, data, model, day, reasons, target))
    finish_folder(target, as_of=f"{day:%Y-%m-%d}", n_parts=data.n_parts, rows=rows)
    return rows


def score_part(
    data: PartitionedData, part: int, model: Any, day: pd.Timestamp, reasons: bool
) -> pd.DataFrame | None:
    """:meth:`clvmodel.CLVModel.predict` of one part, read here (on a Dask worker: by the
    worker); None for a part without customers.

    The same call as for a whole data set: scores of a customer read only their rows.
    Errors name the part.
    """
    return predict_part(data, part, data.part(part), model, day, reasons)[0]


def predict_part(
    data: PartitionedData,
    part: int,
    rows: RetailData,
    model: Any,
    day: pd.Timestamp,
    reasons: bool,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """:func:`score_part` of a part's rows already read, and the features of `day` it
    built, which a caller summarizing the part reuses instead of building them again.
    ``(None, None)`` for a part without customers."""
    if rows.customers.empty and rows.transactions.empty:
        return None, None
    try:
        model.check_data(rows)
        # The base's day, not the part's: a small part may end before the others.
        features, scores = score_everyone(model, rows, day, subset=True)
        if reasons:
            fill_reasons(model, features, scores, np.arange(len(features)))
        return as_rows(scores, day), features
    except ValueError as exc:
        raise ValueError(f"part {part} of {data.path}: {exc}") from exc


def write_part_scores(
    data: PartitionedData,
    part: int,
    model: Any,
    day: pd.Timestamp,
    reasons: bool,
    folder: str,
) -> int:
    """:func:`score_part`, written to the scores folder where it ran; its row count."""
    rows = score_part(data, part, model, day, reasons)
    return 0 if rows is None else write_part(folder, part, rows)


def combine_part_scores(parts: Iterable[pd.DataFrame | None]) -> pd.DataFrame:
    """The parts' :func:`score_part` rows as :meth:`clvmodel.CLVModel.predict` returns the
    whole data's: customers with history by ID, then cold-start customers by ID."""
    out = pd.concat([p for p in parts if p is not None], ignore_index=True)
    order = np.lexsort((out["customer_id"].to_numpy(), out["cold_start"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)
