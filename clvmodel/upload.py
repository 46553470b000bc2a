"""Checks on an uploaded log before any of it is parsed: size, kind, unpacked size, lines.

A shared Space reads files strangers send. Everything here looks at a file's bytes as a
stream and stops at the first limit passed, so a 10 GB file, a gzip or Excel zip bomb, an
image renamed ``.csv`` or an empty file costs milliseconds and gets one message naming the
file and the limit, before pandas or openpyxl would have read it whole.
"""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UploadLimits", "check_log_file"]

_CHUNK = 1 << 20
#: First bytes of files that are not tables, and what they are.
_NOT_TABLES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"BM": "a bitmap image",
    b"RIFF": "a media file",
}


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may hold; the defaults suit a 2-core Space with 16 GB."""

    max_bytes: int = 200 * 1024 * 1024
    max_lines: int = 3_000_000
    max_unpacked_bytes: int = 1024 * 1024 * 1024
    #: An Excel file (a zip) that unpacks to more than this many times its size is refused.
    max_zip_ratio: float = 200.0


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:,.0f} MB" if n >= 1024 * 1024 else f"{n:,.0f} bytes"


def check_log_file(path: str | os.PathLike[str], limits: UploadLimits | None = None) -> str:
    """The kind of the log at `path` (``csv``, ``gzip``, ``xlsx``, ``parquet``) if it is
    within `limits`; otherwise ValueError saying what is wrong, naming the file."""
    limits = limits or UploadLimits()
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError(f"{name}: no such file.")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{name} is empty.")
    if size > limits.max_bytes:
        raise ValueError(f"{name} is {_mb(size)}; the limit is {_mb(limits.max_bytes)}.")
    with path.open("rb") as f:
        head = f.read(8)
    for magic, what in _NOT_TABLES.items():
        if head.startswith(magic):
            raise ValueError(
                f"{name} is {what}, not a table: upload a CSV, gzip CSV, Excel or Parquet file."
            )
    if head.startswith(b"PAR1"):
        return _check_parquet(path, limits)
    if head.startswith(b"PK\x03\x04"):
        _check_zip(path, size, limits)
        return "xlsx"
    if head.startswith(b"\x1f\x8b"):
        _check_text(path, limits, compressed=True)
        return "gzip"
    _check_text(path, limits, compressed=False)
    return "csv"


def _check_zip(path: Path, size: int, limits: UploadLimits) -> None:
    """An Excel file's members, from the zip directory (nothing is unpacked)."""
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(info.file_size for info in z.infolist())
            names = z.namelist()
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path.name} is not a readable Excel file ({exc}).") from exc
    if "[Content_Types].xml" not in names:
        raise ValueError(f"{path.name} is a zip archive, not an Excel (.xlsx) workbook.")
    if unpacked > limits.max_unpacked_bytes or unpacked > limits.max_zip_ratio * size:
        raise ValueError(
            f"{path.name} unpacks to {_mb(unpacked)} from {_mb(size)}; the limit is "
            f"{_mb(limits.max_unpacked_bytes)} and {limits.max_zip_ratio:.0f} times the file."
        )


def _check_parquet(path: Path, limits: UploadLimits) -> str:
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        raise ValueError(f"{path.name} is not a readable Parquet file ({exc}).") from exc
    if rows > limits.max_lines:
        raise ValueError(f"{path.name} has {rows:,} rows; the limit is {limits.max_lines:,}.")
    return "parquet"


def _check_text(path: Path, limits: UploadLimits, *, compressed: bool) -> None:
    """Stream the (unpacked) text: refuse binary content, too many lines or bytes."""
    lines = unpacked = 0
    blank = True
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                if unpacked == 0 and b"\x00" in chunk[:4096]:
                    raise ValueError(
                        f"{path.name} is not text: upload a CSV, gzip CSV, Excel or Parquet file."
                    )
                unpacked += len(chunk)
                blank = blank and not chunk.strip()
                lines += chunk.count(b"\n")
                if lines > limits.max_lines:
                    raise ValueError(
                        f"{path.name} has more than {limits.max_lines:,} lines; that is the limit."
                    )
                if unpacked > limits.max_unpacked_bytes:
                    raise ValueError(
                        f"{path.name} unpacks to more than {_mb(limits.max_unpacked_bytes)}; "
                        "that is the limit."
                    )
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path.name} cannot be read ({exc}).") from exc
    if blank:
        raise ValueError(f"{path.name} is empty.")
