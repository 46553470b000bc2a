"""Score every customer from the command line, for jobs and pipelines.

python -m clvmodel.score --artifacts artifacts --data data --output scores.csv
python -m clvmodel.score --artifacts artifacts --transactions log.csv.gz \\
    --map cust=customer_id --as-of 2025-06-01 --output scores.xlsx

One row per customer with history before the as-of date (and, when the model has a
cold-start part, per customer who signed up but never bought): ``customer_id`` (text,
exactly as in the data), ``as_of``, then every column the app's scorer returns
(:meth:`clvmodel.prediction.CustomerScorer.scores`: the
:func:`~clvmodel.prediction.prediction_columns` and any flags). Files are written by
:func:`clvmodel.batch.write_results`, as the app's batch results are: spend rounded to
cents, the probability to 4 decimals, text cells guarded against spreadsheet formulas.

User errors (a missing file or column, a bad date, a model trained on other categories)
end with exit code 1 and a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from clvmodel.batch import write_results
from clvmodel.dataset import RetailData, load_data
from clvmodel.features import as_of_data, check_compatible
from clvmodel.prediction import CustomerScorer, Predictor, prediction_columns
from clvmodel.transactions import (
    MAX_BAD_SHARE,
    describe_rejected,
    parse_mapping,
    read_transactions,
)

__all__ = ["add_source_options", "format_parser", "main", "score_customers", "write_scores"]

log = logging.getLogger("clvmodel.score")
#: Output formats, by file extension.
FORMATS = (".csv", ".xlsx")


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """``--map``, ``--max-bad-share`` and ``--as-of``; ``train.py`` shares them."""
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SRC=DST",
        help="read the log's column SRC as DST (e.g. --map cust=customer_id); repeatable",
    )
    parser.add_argument(
        "--max-bad-share",
        type=float,
        default=MAX_BAD_SHARE,
        metavar="SHARE",
        help="largest share of unreadable log rows left out before the file is refused "
        f"(default: {MAX_BAD_SHARE})",
    )
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help="use only data dated before this day (YYYY-MM-DD), as if it were that day",
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 1 with one line, like every other user error
        self.exit(1, f"{self.prog}: error: {message}\n")


def format_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or _Parser(
        prog="python -m clvmodel.score",
        description="Write each customer's predicted spend and purchase probability.",
    )
    parser.add_argument("--artifacts", required=True, metavar="DIR", help="from train.py")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="DIR", help="folder of the seven tables")
    source.add_argument(
        "--transactions",
        metavar="FILE",
        help="a transaction log: CSV, gzip CSV, .xlsx or Parquet (see clvmodel.transactions)",
    )
    add_source_options(parser)
    parser.add_argument(
        "--output", required=True, metavar="FILE", help="results, .csv or .xlsx by extension"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def _day(as_of: str | pd.Timestamp) -> pd.Timestamp:
    day = pd.Timestamp(as_of)
    return (day.tz_localize(None) if day.tzinfo else day).normalize()


def score_customers(
    predictor: Predictor, data: RetailData, *, as_of: str | pd.Timestamp | None = None
) -> pd.DataFrame:
    """Every customer's scores as of a day, with the app's own scorer.

    Parameters
    ----------
    predictor : Predictor
        Loaded artifacts.
    data : RetailData
        The history; only what is dated before `as_of` is used.
    as_of : date, optional
        Default: the day after the last transaction.

    Returns
    -------
    DataFrame
        One row per customer, ordered as :meth:`CustomerScorer.scores` returns them:
        ``customer_id``, ``as_of`` (YYYY-MM-DD), then every column of
        :meth:`CustomerScorer.scores` (at least :func:`prediction_columns`).

    Raises
    ------
    ValueError
        If `as_of` is not a date or no transaction precedes it, or the model cannot score
        this data (other categories, or feature groups the data lacks).
    """
    check_compatible(predictor.config, data)
    scorer = CustomerScorer(predictor, data)
    scores = scorer.scores(as_of)  # validates as_of
    day = scorer.default_as_of if as_of is None else _day(as_of)
    missing = [c for c in prediction_columns(predictor.categories) if c not in scores]
    if missing:  # a programming error, not a user's: say so plainly
        raise RuntimeError(f"CustomerScorer.scores returned no column(s) {missing}.")
    out = scores.rename_axis("customer_id").reset_index()
    out.insert(1, "as_of", f"{day:%Y-%m-%d}")
    return out


def _check_output(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"the output file must end in {' or '.join(FORMATS)}; got {path.name!r}. The "
            "format follows the extension."
        )
    return suffix


def write_scores(results: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write `results` to `path` (.csv or .xlsx) with :func:`clvmodel.batch.write_results`.

    The file appears whole or not at all (written next to it, then moved in place).
    """
    path = Path(path)
    suffix = _check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".scores-", dir=path.parent))
    try:
        csv_path, xlsx_path = write_results(results, tmp, stem="scores")
        os.replace(csv_path if suffix == ".csv" else xlsx_path, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _load(args: argparse.Namespace) -> RetailData:
    if args.transactions:
        data, rejected, n_rows = read_transactions(
            args.transactions, columns=parse_mapping(args.map), max_bad_share=args.max_bad_share
        )
        if len(rejected):
            log.warning(
                "%d of %d rows of %s cannot be read and were left out; first: %s",
                len(rejected), n_rows, Path(args.transactions).name, describe_rejected(rejected),
            )  # fmt: skip
        return data
    if args.map:
        raise ValueError("--map applies to --transactions only.")
    return load_data(args.data)


def run(args: argparse.Namespace) -> Path:
    """Load, score, write; returns the output path."""
    output = Path(args.output)
    _check_output(output)  # fail before the slow part
    predictor = Predictor.load(args.artifacts)
    data = _load(args)
    if args.as_of:
        data = as_of_data(data, args.as_of)
    results = score_customers(predictor, data, as_of=args.as_of)
    write_scores(results, output)
    log.info("wrote %d customers to %s", len(results), output)
    return output


def main(argv: list[str] | None = None) -> int:
    args = format_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    try:
        run(args)
    except (ValueError, FileNotFoundError, OSError) as exc:  # SchemaError is a ValueError
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
