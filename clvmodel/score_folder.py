"""Scores of a big base as a folder of Parquet parts, each written by whoever scored it.

A million customers' scores in one table is what makes scoring memory grow with the base;
a folder of parts keeps it bounded by one part, and lets Dask workers write their own
parts instead of sending them back (the way past one machine). The folder holds:

======================== ===========================================================
``part-00000.parquet``    the :meth:`clvmodel.CLVModel.predict` rows of the customers of
...                       data part 0, at full precision, ordered as ``predict`` orders
                          one data set (customers with history by ID, then cold-start
                          customers by ID); a part without customers has no file
``_scores.json``          ``{"layout": "clvmodel-scores", "as_of": ..., "n_parts": N,
                          "rows": ...}``, written last: without it the folder is
                          incomplete
======================== ===========================================================

``pandas.read_parquet(folder)`` (or ``dask.dataframe.read_parquet``) reads every part;
files starting with ``_`` are ignored by both. Paths may be local folders or any URL
fsspec understands.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clvmodel.partitions import is_url, join_path, part_name

__all__ = ["SCORES_FILE", "SCORES_LAYOUT", "finish_folder", "is_folder_output", "prepare_folder",
           "write_folder", "write_part"]  # fmt: skip

SCORES_LAYOUT = "clvmodel-scores"
SCORES_FILE = "_scores.json"


def is_folder_output(path: str | os.PathLike[str]) -> bool:
    """An output path names a folder of parts when it has no file extension, ends in a
    slash or is an existing folder."""
    text = str(path)
    return text.endswith(("/", os.sep)) or Path(text).is_dir() or not Path(text).suffix


def _local(path: str) -> Path | None:
    return None if is_url(path) else Path(path)


def prepare_folder(path: str | os.PathLike[str]) -> str:
    """Make `path` ready for new parts: create it, or empty an earlier scores folder.

    A folder holding anything but an earlier run's parts and manifest is refused, not
    emptied. URLs are used as given (object stores need no folder).
    """
    text = str(path).rstrip("/").rstrip(os.sep) or str(path)
    local = _local(text)
    if local is None:
        return text
    if local.exists() and not local.is_dir():
        raise ValueError(f"{local} is a file: give a folder for the scores' parts.")
    local.mkdir(parents=True, exist_ok=True)
    found = [p for p in local.iterdir() if not p.name.startswith(".")]
    other = sorted(p.name for p in found if p.name != SCORES_FILE and not _is_part_file(p.name))
    if other:
        raise ValueError(
            f"{local} already holds files that are not scores ({', '.join(other[:3])}): give "
            "an empty or new folder."
        )
    for p in found:  # an earlier run's parts: replaced, never mixed with the new ones
        p.unlink()
    return text


def _is_part_file(name: str) -> bool:
    return name.startswith("part-") and name.endswith(".parquet")


def write_part(folder: str, part: int, rows: pd.DataFrame) -> int:
    """Write one part's scores (run where the part was scored); returns its row count.

    Locally the file appears whole or not at all (written beside, then renamed).
    """
    table = pa.Table.from_pandas(rows, preserve_index=False)
    name = part_name(part)
    local = _local(folder)
    if local is None:
        import fsspec  # installed with the dask extra

        with fsspec.open(join_path(folder, name), "wb") as f:
            pq.write_table(table, f)
        return len(rows)
    tmp = local / f".{name}.tmp"
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, local / name)
    finally:
        tmp.unlink(missing_ok=True)
    return len(rows)


def finish_folder(folder: str, *, as_of: str, n_parts: int, rows: int) -> None:
    """Write ``_scores.json``, the mark of a complete folder."""
    manifest = {"layout": SCORES_LAYOUT, "version": 1, "as_of": as_of, "n_parts": n_parts,
                "rows": rows}  # fmt: skip
    text = json.dumps(manifest, indent=2) + "\n"
    local = _local(folder)
    if local is None:
        import fsspec

        with fsspec.open(join_path(folder, SCORES_FILE), "w") as f:
            f.write(text)
        return
    (local / SCORES_FILE).write_text(text)


def write_folder(rows: pd.DataFrame, folder: str | os.PathLike[str]) -> None:
    """Scores held whole (data read whole) as a folder of one part, ``part-00000``."""
    target = prepare_folder(folder)
    as_of = str(rows["as_of"].iloc[0]) if len(rows) else ""
    finish_folder(target, as_of=as_of, n_parts=1, rows=write_part(target, 0, rows))
