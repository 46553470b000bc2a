"""What the app serves, from its environment (a Space sets variables) or its command line.

``CLV_DATA`` (a folder of the retail tables or a partitioned data set), ``CLV_ARTIFACTS``
(the model), or ``CLV_TRANSACTIONS`` (a transaction log, with ``CLV_MAP`` and
``CLV_CURRENCY``): a log without artifacts is trained on at the first start and its model
kept in a temporary folder named after the log for the next starts. ``python app.py
--transactions LOG --artifacts DIR --map a=b --currency GBP`` sets the same variables.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from clvapp.state import LogOptions
from clvmodel.transactions import parse_mapping

__all__ = ["apply_argv", "served_paths"]


def apply_argv(argv: list[str]) -> None:
    """The command line's options as the environment variables they stand for."""
    parser = argparse.ArgumentParser(description="Serve clvmodel in the browser and by API.")
    parser.add_argument("--transactions", help="a transaction log to serve (CLV_TRANSACTIONS)")
    parser.add_argument("--artifacts", help="the model's folder (CLV_ARTIFACTS); a log "
                        "without one is trained on first")  # fmt: skip
    parser.add_argument("--data", help="a folder of the retail tables (CLV_DATA)")
    parser.add_argument("--map", action="append", default=[], help="a log column, "
                        "your_column=log_column (CLV_MAP, comma-separated)")  # fmt: skip
    parser.add_argument("--currency", help="the log's currency, e.g. GBP (CLV_CURRENCY)")
    args = parser.parse_args(argv)
    values = {"CLV_TRANSACTIONS": args.transactions, "CLV_ARTIFACTS": args.artifacts,
              "CLV_DATA": args.data, "CLV_MAP": ",".join(args.map),
              "CLV_CURRENCY": args.currency}  # fmt: skip
    os.environ.update({k: v for k, v in values.items() if v})


def served_paths(here: Path) -> tuple[Path, Path, LogOptions | None]:
    """(data folder, artifacts folder, log) to serve; the defaults are the demo's, beside
    ``app.py`` (`here`)."""
    log = None
    if path := os.environ.get("CLV_TRANSACTIONS"):
        pairs = [p for p in os.environ.get("CLV_MAP", "").split(",") if p.strip()]
        log = LogOptions(Path(path), parse_mapping(pairs) or None,
                         os.environ.get("CLV_CURRENCY", "").strip())  # fmt: skip
    default = here / "artifacts"
    if log is not None:  # the log's own model, not the demo's
        size = log.path.stat().st_size if log.path.is_file() else 0
        default = Path(tempfile.gettempdir()) / f"clvmodel_{log.path.stem}_{size}"
    artifacts = Path(os.environ.get("CLV_ARTIFACTS") or default)
    return Path(os.environ.get("CLV_DATA") or here / "data"), artifacts, log
