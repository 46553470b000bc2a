"""What train and score share: the data-source options and reading them."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from clvmodel.dates import as_day
from clvmodel.loading import Source, read_source
from clvmodel.transactions import MAX_BAD_SHARE, describe_rejected, parse_mapping

__all__ = ["add_source_options", "read_source_options"]


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """``--map``, ``--max-bad-share``, ``--as-of`` and ``--date-format``, shared by train
    and score."""
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
    parser.add_argument(
        "--date-format",
        metavar="FORMAT",
        help="how --as-of and the log's transaction_date are written when not YYYY-MM-DD, "
        "as a strptime format (e.g. '%%d/%%m/%%Y' or '%%m/%%d/%%Y %%H:%%M'); dates are never "
        "guessed",
    )


def read_source_options(args: argparse.Namespace, log: logging.Logger, *, left_out: str) -> Source:
    """:func:`clvmodel.loading.read_source` of ``--data`` or ``--transactions`` and the
    options above; logs what a log's reading left out (`left_out`: "not modelled").
    ``args.as_of`` is rewritten ``YYYY-MM-DD`` (read by ``--date-format``), the form the
    library takes."""
    date_format = getattr(args, "date_format", None)
    if args.as_of:  # refused here, before the data is read, if not a date of that form
        as_day(args.as_of, date_format=date_format)
    source = read_source(
        None if args.transactions else args.data,
        transactions=args.transactions,
        columns=parse_mapping(args.map),
        max_bad_share=args.max_bad_share,
        as_of=args.as_of,
        date_format=date_format,
    )
    if args.as_of:
        args.as_of = source.info["as_of"]
    reading = source.reading
    if reading is not None and reading.anonymous:
        log.info(
            "%d of %d rows of %s have no customer_id (anonymous purchases): %s",
            reading.anonymous, reading.n_rows, Path(source.path).name, left_out,
        )  # fmt: skip
    if reading is not None and len(reading.rejected):
        log.warning(
            "%d of %d rows of %s cannot be read and were left out; first: %s",
            len(reading.rejected), reading.n_rows, Path(source.path).name,
            describe_rejected(reading.rejected),
        )  # fmt: skip
    return source
