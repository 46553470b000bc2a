"""Train clvmodel on a folder of retail tables and write artifacts and the model card.

python train.py                       # data/ -> artifacts/ and model_card.md
python train.py --quick --out /tmp/a  # a fast run (fewer trees), e.g. for tests
python train.py --transactions log.csv --map cust=customer_id   # any transaction log
python train.py --as-of 2025-06-01    # only data before that day, as if trained then

(or ``clvmodel-train ...``, ``python -m clvmodel.cli.train ...``). The data are read by
:func:`clvmodel.loading.read_source`, the model fitted by :class:`clvmodel.CLVModel`, and
what the run publishes written by :func:`clvmodel.publish.publish_run`.
"""

from __future__ import annotations

import os

# LightGBM's OpenMP threads spin while waiting; on a busy 2-core machine that made one fit
# ~8x slower. Passive waiting must be set before lightgbm is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import logging
import sys
from pathlib import Path

from clvmodel.cli import one_line
from clvmodel.cli.common import add_source_options, read_source_options
from clvmodel.features import OTHER
from clvmodel.loading import PARTITIONED, read_category_map
from clvmodel.model import CLVModel
from clvmodel.oracle import oracles_at_test_cutoff
from clvmodel.persistence import load_json
from clvmodel.publish import publish_run
from clvmodel.report import FitReport
from clvmodel.synthetic import SyntheticConfig
from clvmodel.training import PROBABILITY_MODELS, SPEND_MODELS

__all__ = ["format_parser", "main", "run"]

log = logging.getLogger("train")
DEFAULTS = CLVModel().get_params()
#: The currency of the seven tables when --currency is not given: the synthetic data's.
TABLES_CURRENCY = SyntheticConfig.currency


def format_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add this command's arguments to `parser` (a new one if None) and return it."""
    parser = parser or argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data",
        help="folder of the seven tables, CSV or the partitioned Parquet layout (default: data)",
    )
    source.add_argument(
        "--transactions",
        metavar="FILE",
        help="a transaction log instead: CSV, gzip CSV, .xlsx or Parquet with customer_id, "
        "transaction_date, amount [, category, quantity, store_id, channel, transaction_id]",
    )
    add_source_options(parser)
    parser.add_argument(
        "--currency",
        metavar="NAME",
        help="currency of the amounts, kept in the metadata and shown by the card and the app "
        f"(default: {TABLES_CURRENCY} for --data, the synthetic data's; none for --transactions)",
    )
    _add_output_options(parser)
    _add_model_options(parser)
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="artifacts", help="artifacts folder (default: artifacts)")
    parser.add_argument("--card", default="model_card.md", help="model card path")
    parser.add_argument(
        "--backtest",
        default="benchmarks/results/accuracy.json",
        help="results of benchmarks/accuracy.py to put in the card, if the file exists",
    )
    parser.add_argument(
        "--real-data",
        default="benchmarks/results/real_data.json",
        help="results of benchmarks/real_data.py to put in the card, if the file exists",
    )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--horizon", type=int, default=DEFAULTS["horizon"], help="days ahead")
    parser.add_argument(
        "--cutoffs", type=int, default=DEFAULTS["n_cutoffs"], help="monthly cutoffs to stack"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULTS["spend_models"]),
        metavar="MODEL",
        help=f"spend models to compare, from {', '.join(SPEND_MODELS)} (default: "
        f"{' '.join(DEFAULTS['spend_models'])})",
    )
    parser.add_argument(
        "--probability-models",
        nargs="+",
        default=list(DEFAULTS["probability_models"]),
        metavar="MODEL",
        help=f"purchase models to compare, from {', '.join(PROBABILITY_MODELS)}",
    )
    parser.add_argument(
        "--max-customers",
        type=int,
        default=DEFAULTS["max_customers"],
        metavar="N",
        help="train on a reproducible sample of this many customers when the data has more "
        f"(everyone is scored; default: {DEFAULTS['max_customers']:,}; 0 for no limit)",
    )
    parser.add_argument(
        "--max-categories",
        type=int,
        default=DEFAULTS["max_categories"],
        metavar="N",
        help="most category targets: the largest N-1 categories by spend keep their own, the "
        f"rest are pooled as 'other' (default: {DEFAULTS['max_categories']}; 0 for no limit)",
    )
    parser.add_argument(
        "--categories",
        metavar="FILE",
        help="CSV of source,category rows that rename or merge categories first (e.g. "
        "subcategory to department)",
    )
    parser.add_argument("--quick", action="store_true", help="10x fewer trees, for smoke tests")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> FitReport:
    """Read, fit, publish; returns the fit's report."""
    model = CLVModel(
        horizon=args.horizon,
        n_cutoffs=args.cutoffs,
        spend_models=tuple(args.models),
        probability_models=tuple(args.probability_models),
        quick=args.quick,
        random_state=args.seed,
        max_customers=args.max_customers or None,
        max_categories=args.max_categories or None,
        category_map=read_category_map(args.categories) if args.categories else None,
    )
    model.check_params()  # refuse bad options before reading the data
    if not args.transactions:
        log.info("reading %s", args.data)
    else:
        log.info("reading the transaction log %s", args.transactions)
    source = read_source_options(args, log, left_out="not modelled")
    if args.as_of and source.format != PARTITIONED:  # a partitioned set is cut as it is read
        log.info("as of %s: %d transactions before it", source.info["as_of"],
                 len(source.data.transactions))  # fmt: skip
    oracles = oracles_at_test_cutoff(
        source, horizon=model.horizon, n_cutoffs=model.n_cutoffs, as_of=args.as_of
    )
    model.fit(source.data, as_of=args.as_of, oracles=oracles)
    if model.feature_config_.pooled:
        log.info("categories pooled as %r: %s", OTHER, ", ".join(model.feature_config_.pooled))
    if model.feature_config_.absent_groups:
        log.info(
            "features absent for lack of data: %s", ", ".join(model.feature_config_.absent_groups)
        )
    published = publish_run(
        model,
        source,
        args.out,
        args.card,
        currency=_currency(args),
        backtest=_results(args.backtest),
        real_data=_results(args.real_data),
    )
    log.info("wrote %s and %s in %.0f s", published.artifacts, published.card,
             model.report_.train_seconds)  # fmt: skip
    return model.report_


def _currency(args: argparse.Namespace) -> str:
    if args.currency is not None:
        return args.currency.strip()
    return "" if args.transactions else TABLES_CURRENCY


def _results(path: str | None) -> dict | None:
    """A benchmark's results for the card, if its file exists."""
    return load_json(path) if path and Path(path).is_file() else None


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 on success, 1 (with one line, no traceback) on a user error."""
    args = format_parser().parse_args(argv)
    if args.data is None and args.transactions is None:
        args.data = "data"
    level = logging.DEBUG if args.verbose > 1 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        report = run(args)
    except (ValueError, OSError) as exc:  # SchemaError is a ValueError, FileNotFound an OSError
        log.error("error: %s", one_line(exc))
        return 1
    total = report.targets["total"]
    log.info("total spend, test: %s %s", total.deployed, total.served)
    return 0


if __name__ == "__main__":
    sys.exit(main())
