"""Train clvmodel on a folder of retail tables and write artifacts and the model card.

python train.py                       # data/ -> artifacts/ and model_card.md
python train.py --quick --out /tmp/a  # a fast run (fewer trees), e.g. for tests
python train.py --transactions log.csv --map cust=customer_id   # any transaction log
python train.py --as-of 2025-06-01    # only data before that day, as if trained then
"""

from __future__ import annotations

import os

# LightGBM's OpenMP threads spin while waiting; on a busy 2-core machine that made one fit
# ~8x slower. Passive waiting must be set before lightgbm is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import logging
import sys
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from clvmodel import plots
from clvmodel.card import write_card
from clvmodel.cli.score import add_source_options
from clvmodel.dataset import RetailData, from_tables
from clvmodel.dates import as_day
from clvmodel.features import FEATURE_GROUPS, as_of_data, cutoff_dates
from clvmodel.model import CLVModel
from clvmodel.partitions import PartitionedData, is_partitioned, open_partitioned
from clvmodel.persistence import (
    file_fingerprint,
    folder_fingerprint,
    load_json,
    save_scores,
    save_summary,
    tree_fingerprint,
)
from clvmodel.prediction import CustomerScorer, default_as_of
from clvmodel.report import FitReport
from clvmodel.schema import SchemaError, read_tables
from clvmodel.source import score_and_summarize
from clvmodel.synthetic import ground_truth, read_latent
from clvmodel.training import PROBABILITY_MODELS, SPEND_MODELS
from clvmodel.transactions import (
    describe_rejected,
    parse_mapping,
    read_transactions,
)

log = logging.getLogger("train")
CURRENCY = "INR"
DEFAULTS = CLVModel().get_params()
LIBRARIES = ("scikit-learn", "lightgbm", "xgboost", "skops", "pandas", "numpy")


def format_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
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
    parser.add_argument("--quick", action="store_true", help="10x fewer trees, for smoke tests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def load_source(
    args: argparse.Namespace,
) -> tuple[RetailData | PartitionedData, dict | None, str, dict]:
    """Read --data or --transactions, cut at --as-of right away.

    Returns the data, the seven tables (None for a log; cut at --as-of too, for the
    synthetic oracle), the fingerprint of the files read (the one the app checks saved
    scores against: :func:`tree_fingerprint` for a partitioned folder,
    :func:`folder_fingerprint` for the tables) and what the metadata says about the
    source. A partitioned --data folder is opened, not read: the model reads the parts it
    trains on and scores the rest part by part.
    """
    tables, info = None, {}
    if not args.transactions and is_partitioned(args.data):
        if args.map:
            raise ValueError("--map applies to --transactions only.")
        folder = Path(args.data)
        source = {"format": "partitioned Parquet"}
        if args.as_of:  # cut by the model as it reads each part (CLVModel.fit(as_of=))
            source["as_of"] = f"{as_day(args.as_of):%Y-%m-%d}"
        return open_partitioned(folder), None, tree_fingerprint(folder), source
    if args.transactions:
        path = Path(args.transactions)
        log.info("reading the transaction log %s", path)
        mapping = parse_mapping(args.map)
        reading = read_transactions(path, columns=mapping, max_bad_share=args.max_bad_share)
        data, rejected, n_rows = reading
        if reading.anonymous:
            log.info(
                "%d of %d rows of %s have no customer_id (anonymous purchases): not modelled",
                reading.anonymous, n_rows, path.name,
            )  # fmt: skip
        if len(rejected):
            log.warning(
                "%d of %d rows of %s cannot be read and were left out; first: %s",
                len(rejected), n_rows, path.name, describe_rejected(rejected),
            )  # fmt: skip
        fingerprint = file_fingerprint(sorted(path.rglob("*.parquet")) if path.is_dir() else path)
        info = {"format": "transaction log", "column_mapping": mapping,
                "rows": n_rows, "rejected_rows": len(rejected),
                "anonymous_rows": reading.anonymous}  # fmt: skip
    else:
        if args.map:
            raise ValueError("--map applies to --transactions only.")
        log.info("reading %s", args.data)
        tables = read_tables(args.data)
        data = from_tables(tables)
        fingerprint = folder_fingerprint(args.data)
        info = {"format": "seven tables"}
    if args.as_of:
        data = as_of_data(data, args.as_of)
        day = as_day(args.as_of)
        log.info("as of %s: %d transactions before it", f"{day:%Y-%m-%d}", len(data.transactions))
        info["as_of"] = f"{day:%Y-%m-%d}"
        if tables is not None:
            tables = _tables_before(tables, day)
    return data, tables, fingerprint, info


def _tables_before(tables: dict, day: pd.Timestamp) -> dict:
    """The seven tables without what is dated on or after `day` (for the oracle)."""
    header = tables["store_sales_header"]
    header = header[header["transaction_date"] < day]
    lines = tables["store_sales_line_items"]
    promos = tables["promotion_details"]
    customers = tables["customer_details"]
    return tables | {
        "store_sales_header": header,
        "store_sales_line_items": lines[lines["transaction_id"].isin(header["transaction_id"])],
        "promotion_details": promos[promos["start_date"] < day],
        "customer_details": customers[customers["customer_since"] < day],
    }


def _oracles(args, tables, latent, data, model: CLVModel) -> dict | None:
    """The synthetic oracles at the test cutoff, or None for data without latent truth."""
    if latent is None:
        return None
    cutoffs = cutoff_dates(data, horizon=model.horizon, n_cutoffs=model.n_cutoffs, end=args.as_of)
    log.info("synthetic data: computing the oracles for the test cutoff")
    out = {}
    for name, given in (("oracle", "history"), ("oracle_alive_known", "state")):
        truth = ground_truth(latent, tables, [cutoffs[-1]], horizon=model.horizon, given=given)
        out[name] = truth.set_index(["cutoff", "customer_id"])
    return out


def run(args: argparse.Namespace) -> FitReport:
    """Train and write everything; returns the fit's report."""
    model = CLVModel(
        horizon=args.horizon,
        n_cutoffs=args.cutoffs,
        spend_models=tuple(args.models),
        probability_models=tuple(args.probability_models),
        quick=args.quick,
        random_state=args.seed,
        max_customers=args.max_customers or None,
    )
    model.check_params()  # refuse bad options before reading the data
    data, tables, fingerprint, source = load_source(args)
    latent = read_latent(args.data) if tables is not None else None
    model.fit(data, as_of=args.as_of, oracles=_oracles(args, tables, latent, data, model))
    if model.feature_config_.absent_groups:
        log.info(
            "features absent for lack of data: %s", ", ".join(model.feature_config_.absent_groups)
        )
    out = Path(args.out)
    model.report_.currency = CURRENCY
    plot_files = write_plots(model.report_, out)
    fcfg = model.feature_config_
    metadata = {
        "model_version": f"{datetime.now():%Y.%m.%d}-{fingerprint[:8]}",
        "trained_at": datetime.now().isoformat(timespec="seconds"),
        "currency": CURRENCY,
        "absent_feature_groups": [
            {"group": g, "needs": FEATURE_GROUPS[g][0], "features": FEATURE_GROUPS[g][1]}
            for g in fcfg.absent_groups
        ],
        "data": {
            "source": str(args.transactions or args.data),
            **source,
            "fingerprint": fingerprint,
            **_extent(data, source.get("as_of")),
            "synthetic": latent is not None or _is_synthetic(data),
        },
        "library_versions": {
            lib: version(lib if lib != "xgboost" else "xgboost-cpu") for lib in LIBRARIES
        },
        "plots": plot_files,
        "train_config": {"quick": args.quick, "seed": args.seed, "n_cutoffs": args.cutoffs},
    }
    model.save(out, metadata=metadata)
    metadata = load_json(out / "metadata.json")
    # Every customer's scores and reason codes as of the day after the data (or --as-of),
    # for the app to start on. On a partitioned data set, part by part, and in the same read of each
    # part the summary the app on a big base starts from too (profiles, list features,
    # revenue).
    if isinstance(data, PartitionedData):
        day = as_day(args.as_of) if args.as_of else default_as_of(data)
        log.info("scoring and summarizing the %d parts for the app", data.n_parts)
        scores, summary = score_and_summarize(data, model, day)
        scores = scores.set_index("customer_id").drop(columns="as_of")
        save_summary(summary, out, as_of=f"{day:%Y-%m-%d}", data_fingerprint=fingerprint)
    else:
        scorer = CustomerScorer(model, data)
        scores, day = scorer.scores(), scorer.default_as_of
    save_scores(scores, out, as_of=f"{day:%Y-%m-%d}", data_fingerprint=fingerprint)
    backtest = load_json(args.backtest) if args.backtest and Path(args.backtest).is_file() else None
    real = Path(args.real_data) if args.real_data else None
    real_data = load_json(real) if real is not None and real.is_file() else None
    write_card(
        model.report_,
        metadata,
        args.card,
        artifacts_dir=_relative(out, Path(args.card).parent),
        backtest=backtest,
        real_data=real_data,
    )
    log.info("wrote %s and %s in %.0f s", out, args.card, model.report_.train_seconds)
    return model.report_


def _extent(data: RetailData | PartitionedData, as_of: str | None) -> dict:
    """First and last transaction day, customers and transactions of the data trained on.

    A partitioned data set is not read for it: Parquet footers give the counts and the
    dates. With an as-of day (partitioned data is cut by the model, part by part), the
    transactions' dates are read to count those before it, and the customers counted are
    those signed up before it.
    """
    if not isinstance(data, PartitionedData):
        first, last = data.first_date, data.last_date
        customers, transactions = len(data.customers), len(data.transactions)
    elif as_of is None:
        first, last = data.first_date, data.last_date
        customers = data.n_rows("customer_details")
        transactions = data.n_rows("store_sales_header")
    else:
        day = as_day(as_of)
        dates = data.read_table("store_sales_header", columns=["transaction_date"])
        dates = dates["transaction_date"][dates["transaction_date"] < day]
        since = data.read_table("customer_details", columns=["customer_since"])
        first, last, transactions = dates.min(), dates.max(), len(dates)
        customers = int((since["customer_since"].isna() | (since["customer_since"] < day)).sum())
    return {"first_date": f"{first:%Y-%m-%d}", "last_date": f"{last:%Y-%m-%d}",
            "n_customers": customers, "n_transactions": transactions}  # fmt: skip


def _is_synthetic(data: RetailData | PartitionedData) -> bool:
    """A partitioned synthetic data set keeps its latent parameters as parts."""
    return isinstance(data, PartitionedData) and any("latent" in p for p in data.parts)


def write_plots(report: FitReport, out: Path) -> dict[str, str]:
    """Deciles or reliability, and importance, per target: {name: path relative to out}."""
    plot_files = {}
    for target, r in report.targets.items():
        if r.kind == "spend":
            name = f"deciles_{target}"
            fig = plots.decile_plot(
                pd.DataFrame(r.deciles),
                title=f"{target}: predicted vs actual by decile (test)",
                currency=report.currency,
            )
        else:
            name = f"reliability_{target}"
            fig = plots.reliability_plot(
                pd.DataFrame(r.reliability), title="Purchase probability: reliability (test)"
            )
        plot_files[name] = f"plots/{name}.png"
        plots.save_figure(fig, out / plot_files[name])
        fig = plots.importance_plot(r.importance, title=f"{target}: feature importance")
        plot_files[f"importance_{target}"] = f"plots/importance_{target}.png"
        plots.save_figure(fig, out / plot_files[f"importance_{target}"])
    return plot_files


def _relative(folder: Path, base: Path) -> str:
    try:
        return folder.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return folder.resolve().as_posix()


def main(argv: list[str] | None = None) -> int:
    args = format_parser().parse_args(argv)
    if args.data is None and args.transactions is None:
        args.data = "data"
    level = logging.DEBUG if args.verbose > 1 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        report = run(args)
    except (SchemaError, ValueError, FileNotFoundError) as exc:
        log.error("error: %s", exc)
        return 1
    total = report.targets["total"]
    log.info("total spend, test: %s %s", total.deployed, total.served)
    return 0


if __name__ == "__main__":
    sys.exit(main())
