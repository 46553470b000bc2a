"""Score every customer from the command line, for jobs and pipelines.

python -m clvmodel.cli.score --artifacts artifacts --data data --output scores.csv
python -m clvmodel.cli.score --artifacts artifacts --transactions log.csv.gz \\
    --map cust=customer_id --as-of 2025-06-01 --output scores.xlsx
python -m clvmodel.cli.score --artifacts artifacts --data /big/parquet --output scores/ \\
    --engine dask --scheduler tcp://10.0.0.5:8786

A folder in the partitioned Parquet layout (:mod:`clvmodel.partitions`) is scored part by
part, in this process or on Dask (``--engine``), with the same numbers as the whole data.
An output folder (a path without extension) receives one Parquet file per part, written
by whoever scored it, at full precision (:mod:`clvmodel.score_folder`): memory stays that
of one part whatever the base's size. A CSV output of partitioned data is written part by
part too, its rows ordered by part (each part's as :meth:`clvmodel.CLVModel.predict`
orders them); an Excel sheet holds at most 1,048,575 rows.

One row per customer with history before the as-of date (and, when the model has a
cold-start part, per customer who signed up but never bought): ``customer_id`` (text,
exactly as in the data), ``as_of``, then every column the app's scorer returns
(:meth:`clvmodel.CLVModel.predict`). Files are written by
:func:`clvmodel.batch.write_scores`, as the app's batch results are: spend rounded to
cents, the probability to 4 decimals, text cells guarded against spreadsheet formulas.

User errors (a missing file or column, a bad date, a model trained on other categories)
end with exit code 1 and a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from clvmodel.batch import FORMATS, write_scores
from clvmodel.cli import one_line
from clvmodel.cli.common import add_source_options, read_source_options
from clvmodel.dataset import RetailData
from clvmodel.engine import ENGINES
from clvmodel.model import CLVModel
from clvmodel.partitions import PartitionedData, is_partitioned
from clvmodel.score_folder import is_folder_output, write_folder

__all__ = ["add_engine_options", "add_source_options", "format_parser", "main"]

log = logging.getLogger("clvmodel.score")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 1 with one line, like every other user error
        self.exit(1, f"{self.prog}: error: {message}\n")


def format_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or _Parser(
        prog="clvmodel-score",
        description="Write each customer's predicted spend and purchase probability.",
    )
    parser.add_argument("--artifacts", required=True, metavar="DIR", help="from train.py")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data",
        metavar="DIR",
        help="folder of the seven tables: CSV, or the partitioned Parquet layout (scored part "
        "by part; a local folder or any URL fsspec reads)",
    )
    source.add_argument(
        "--transactions",
        metavar="FILE",
        help="a transaction log: CSV, gzip CSV, .xlsx or Parquet (see clvmodel.transactions)",
    )
    add_source_options(parser)
    parser.add_argument(
        "--output",
        required=True,
        metavar="PATH",
        help="results: a .csv or .xlsx file, or a folder (no extension) of Parquet parts, "
        "one per data part, written by whoever scored it (flat memory at any size)",
    )
    add_engine_options(parser)
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine``, ``--scheduler`` and ``--workers`` (see :mod:`clvmodel.engine`)."""
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="where partitioned data is scored: local (this process, part by part; the "
        "default) or dask",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address (tcp://host:8786); without it --engine dask starts a "
        "local cluster",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="workers of the local Dask cluster (default: 2)",
    )


def _load(args: argparse.Namespace) -> RetailData | PartitionedData:
    """The data to score, cut before ``--as-of`` (partitioned data: as each part is read)."""
    if args.engine != "local" and not (args.data and is_partitioned(args.data)):
        raise ValueError(
            f"--engine {args.engine} scores partitioned data; {args.data or args.transactions} "
            "is read whole. Write it in the partitioned layout (clvmodel.partitions) or use "
            "--engine local."
        )
    return read_source_options(args, log, left_out="not scored").data


def run(args: argparse.Namespace) -> Path:
    """Load, score, write; returns the output path."""
    output = Path(args.output)
    folder = is_folder_output(args.output)
    if not folder and output.suffix.lower() not in FORMATS:  # fail before the slow part
        raise ValueError(
            f"the output must be a file ending in {' or '.join(FORMATS)}, or a folder (no "
            f"extension) for Parquet parts; got {output.name!r}. The format follows the "
            "extension."
        )
    model = CLVModel.load(args.artifacts)
    model.set_params(engine=args.engine, scheduler=args.scheduler)
    if args.engine == "dask":
        model.set_params(n_jobs=args.workers)
    data = _load(args)
    if isinstance(data, PartitionedData):
        if folder:  # each part written where it was scored
            rows = model.write_predictions(data, args.output, as_of=args.as_of)
        else:  # one part in memory at a time; rows ordered by part, then as predict orders
            counted = _Counted(model.predict_parts(data, as_of=args.as_of))
            write_scores(counted, output)
            rows = counted.rows
    else:
        results = model.predict(data, as_of=args.as_of)
        if folder:
            write_folder(results, args.output)
        else:
            write_scores(results, output)
        rows = len(results)
    log.info("wrote %d customers to %s", rows, args.output)
    return output


class _Counted:
    """Pieces of scores passed through, their rows counted."""

    def __init__(self, pieces: Iterator[pd.DataFrame | None]) -> None:
        self.pieces, self.rows = pieces, 0

    def __iter__(self) -> Iterator[pd.DataFrame | None]:
        for piece in self.pieces:
            self.rows += 0 if piece is None else len(piece)
            yield piece


def main(argv: list[str] | None = None) -> int:
    args = format_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    try:
        run(args)
    except (ValueError, FileNotFoundError, OSError) as exc:  # SchemaError is a ValueError
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
