"""Write a synthetic retail data set (the seven tables, latent parameters, ground truth).

clvmodel-synthetic --customers 50000 --out /tmp/big
clvmodel-synthetic --customers 1000000 --layout parquet --out /tmp/1m   # flat memory
python -m clvmodel.cli.synthetic --out data            # the project's data set (seed 0)

See :mod:`clvmodel.synthetic` for the generator and its oracle.
"""

from __future__ import annotations

import argparse
import sys

from clvmodel.cli import one_line
from clvmodel.synthetic import SyntheticConfig, write_dataset


def format_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add this command's arguments to `parser` (a new one if None) and return it."""
    parser = parser or argparse.ArgumentParser(
        prog="clvmodel-synthetic", description="Write a synthetic retail data set."
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=SyntheticConfig.n_customers,
        help=f"number of customers (default: {SyntheticConfig.n_customers})",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=SyntheticConfig.days,
        help=f"days of history, at least 61 (default: {SyntheticConfig.days})",
    )
    parser.add_argument(
        "--start",
        default=SyntheticConfig.start,
        help=f"first day, YYYY-MM-DD (default: {SyntheticConfig.start})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", required=True, help="folder to write the tables into")
    parser.add_argument(
        "--layout",
        choices=("csv", "parquet"),
        default="csv",
        help="csv: gzip CSV files (default); parquet: the partitioned layout, written chunk "
        "by chunk with flat memory (clvmodel.partitions)",
    )
    parser.add_argument(
        "--parts", type=int, metavar="N", help="parts of the parquet layout (default: by size)"
    )
    parser.add_argument(
        "--chunk-customers",
        type=int,
        metavar="N",
        help=f"customers generated at a time, a multiple of {SyntheticConfig.block_customers} "
        "(parquet only; the data does not depend on it)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="processes computing the ground truth (parquet only; default: 1)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 on success, 1 (with one line on stderr) on a user error."""
    args = format_parser().parse_args(argv)
    cfg = SyntheticConfig(n_customers=args.customers, days=args.days, start=args.start)
    try:
        folder = write_dataset(
            args.out,
            cfg,
            random_state=args.seed,
            layout=args.layout,
            n_parts=args.parts,
            chunk_customers=args.chunk_customers,
            n_jobs=args.jobs,
        )
    except (ValueError, OSError) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    print(f"wrote {cfg.n_customers} customers over {cfg.days} days to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
