"""A person's own log, from a file to a served model: its columns, its overview, its training.

What the app's "Your data" tab and its ``/inspect_log`` and ``/train_log`` endpoints do, as
library functions: :func:`column_roles` (which column of the file is which log column, as
:func:`clvmodel.transactions.read_transactions` will read it), :func:`inspect_log` (read it
and describe it, :mod:`clvmodel.overview`) and :func:`train_log` (fit a
:class:`~clvmodel.CLVModel` and publish it with :func:`clvmodel.publish.publish_run`, the
very calls ``train.py --transactions`` makes). Files are checked (:mod:`clvmodel.upload`)
before they are parsed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clvmodel.loading import Source, read_source
from clvmodel.model import CLVModel
from clvmodel.overview import LogOverview, describe_log
from clvmodel.publish import Publication, publish_run
from clvmodel.transactions import _apply_mapping
from clvmodel.upload import UploadLimits, check_log_file

__all__ = ["TrainedLog", "column_roles", "estimate_seconds", "inspect_log", "train_log"]


def _header(path: Path, kind: str) -> list[str]:
    """The file's column names, from its first rows only."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if kind == "xlsx":
        return [str(c) for c in pd.read_excel(path, nrows=0).columns]
    frame = pd.read_csv(path, nrows=5, sep=None, engine="python", encoding_errors="replace")
    return [str(c) for c in frame.columns]


def column_roles(
    path: str | os.PathLike[str], columns: dict[str, str] | None = None,
    limits: UploadLimits | None = None,
) -> dict[str, str]:  # fmt: skip
    """Log column -> the file's column read as it (with `columns`, source -> log column,
    applied first), e.g. ``{"customer_id": "CustomerID", "amount": "Sales"}``.

    Raises ValueError (naming the file) for a file that fails the upload checks or lacks a
    required column, as reading it would."""
    path = Path(path)
    kind = check_log_file(path, limits)
    header = _header(path, kind)
    # One row whose values are the source names: after the mapping, each log column holds
    # the name of the column it was read from.
    named = _apply_mapping(pd.DataFrame([header], columns=header), columns, path.name)
    return {log: str(named[log].iloc[0]) for log in named.columns}


def inspect_log(
    path: str | os.PathLike[str], columns: dict[str, str] | None = None,
    limits: UploadLimits | None = None,
) -> tuple[Source, LogOverview]:  # fmt: skip
    """The log read as training would read it, and its overview."""
    check_log_file(path, limits)
    source = read_source(transactions=path, columns=columns)
    reading = source.reading
    overview = describe_log(source.data, n_rows=reading.n_rows, rejected=len(reading.rejected),
                            anonymous=reading.anonymous)  # fmt: skip
    return source, overview


def estimate_seconds(n_lines: int, n_customers: int) -> float:
    """A rough training time on a 2-core machine, for the progress bar's "time left" only
    (Online Retail, 0.4 M lines of 4,372 customers, gives ~42 s; Complete Journey, 1.5 M
    lines of 2,469 households, ~71 s); ``benchmarks/upload_speed.py`` measures the real one."""
    return 10.0 + 35e-6 * n_lines + 4e-3 * min(n_customers, 50_000)


@dataclass(frozen=True)
class TrainedLog:
    """A model trained on a log, what it published, and its summary."""

    model: CLVModel
    source: Source
    publication: Publication
    summary: dict


def train_log(
    source: Source, out: str | os.PathLike[str], *, currency: str = "",
    model: CLVModel | None = None, on_stage: Callable[[str], None] | None = None,
) -> TrainedLog:  # fmt: skip
    """Fit `model` (default: ``CLVModel()``) on a log's `source` and publish it to `out`
    (``out/artifacts`` and ``out/model_card.md``), as ``train.py --transactions`` does.

    `on_stage` hears "fitting" and "publishing" as they start."""
    out = Path(out)
    model = model if model is not None else CLVModel()
    model.check_params()
    started = time.perf_counter()
    (on_stage or (lambda _: None))("fitting")
    model.fit(source.data)
    (on_stage or (lambda _: None))("publishing")
    publication = publish_run(model, source, out / "artifacts", out / "model_card.md",
                              currency=currency)  # fmt: skip
    return TrainedLog(model, source, publication, summarize(model, source,
                      time.perf_counter() - started))  # fmt: skip


def summarize(model: CLVModel, source: Source, seconds: float) -> dict:
    """What ``/train_log`` answers: rows read and refused, customers, categories, what was
    trained per target, its test figures, and the seconds it took."""
    report, reading = model.report_, source.reading
    targets = {
        name: {"model": target.deployed, **{k: target.served[k] for k in
               ("r2", "gini", "sum_ratio", "auc", "brier") if target.served.get(k) is not None}}
        for name, target in report.targets.items()
    }  # fmt: skip
    return {
        "rows": reading.n_rows if reading else None,
        "rows_refused": len(reading.rejected) if reading else 0,
        "anonymous_rows": reading.anonymous if reading else 0,
        "customers": len(source.data.customers),
        "categories": list(model.categories),
        "as_of": model.info_.get("default_as_of"),
        "targets": targets,
        "seconds": round(seconds, 1),
    }
