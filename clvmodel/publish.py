"""What a training run publishes, from a fitted model and the source it was fitted on.

:func:`publish_run` writes, into the artifacts folder, the model with its
``metadata.json`` (where the data came from, the currency, the library versions) and
``metrics.json``, the report's plots, every customer's scores as of the day after the data
(and on partitioned data the summary the app starts from), then the model card. It prints
nothing and returns what it wrote (:class:`Publication`). ``train.py`` calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from clvmodel import plots
from clvmodel.card import write_card
from clvmodel.dataset import RetailData
from clvmodel.dates import as_day, day_after
from clvmodel.features import FEATURE_GROUPS
from clvmodel.loading import Source
from clvmodel.model import CLVModel
from clvmodel.partitions import PartitionedData
from clvmodel.persistence import load_json, save_scores, save_summary
from clvmodel.prediction import CustomerScorer
from clvmodel.report import FitReport
from clvmodel.source import score_and_summarize

__all__ = ["LIBRARIES", "Publication", "publish_run", "run_metadata", "write_plots"]

log = logging.getLogger(__name__)

#: The libraries whose versions the metadata records (the distribution names).
LIBRARIES = ("scikit-learn", "lightgbm", "xgboost-cpu", "skops", "pandas", "numpy")


@dataclass(frozen=True)
class Publication:
    """What :func:`publish_run` wrote.

    Attributes
    ----------
    artifacts : Path
        The artifacts folder (the model, ``metadata.json``, ``metrics.json``, ``plots/``).
    card : Path
        The model card.
    plots : dict
        ``{name: path relative to artifacts}`` of every plot.
    scores : Path
        Every customer's saved scores.
    summary : list of Path
        The summary's files (partitioned data only; empty otherwise).
    metadata : dict
        ``metadata.json`` as saved.
    """

    artifacts: Path
    card: Path
    plots: dict[str, str]
    scores: Path
    summary: list[Path]
    metadata: dict


def publish_run(
    model: CLVModel,
    source: Source,
    out: str | Path,
    card: str | Path,
    *,
    currency: str = "",
    backtest: Mapping | None = None,
    real_data: Mapping | None = None,
) -> Publication:
    """Write everything a training run publishes (see the module docstring).

    Parameters
    ----------
    model : CLVModel
        Fitted on `source`; its report takes `currency` (``metrics.json`` keeps it).
    source : Source
        The data it was fitted on (:func:`clvmodel.loading.read_source`).
    out, card : path
        The artifacts folder and the model card's path.
    currency : str, default ""
        Name of the currency of the amounts (e.g. "INR"); "" names none.
    backtest, real_data : mapping, optional
        Results of ``benchmarks/accuracy.py`` and ``benchmarks/real_data.py`` for the card.
    """
    out, card = Path(out), Path(card)
    model.report_.currency = currency
    fingerprint = source.fingerprint()
    plot_files = write_plots(model.report_, out)
    metadata = run_metadata(
        model, source, fingerprint=fingerprint, currency=currency, plot_files=plot_files
    )
    model.save(out, metadata=metadata)
    metadata = load_json(out / "metadata.json")
    scores, summary = save_run_scores(model, source, out, fingerprint=fingerprint)
    card = write_card(
        model.report_,
        metadata,
        card,
        artifacts_dir=_relative(out, card.parent),
        backtest=backtest,
        real_data=real_data,
    )
    return Publication(out, card, plot_files, scores, summary, metadata)


def run_metadata(
    model: CLVModel,
    source: Source,
    *,
    fingerprint: str,
    currency: str,
    plot_files: Mapping[str, str],
) -> dict:
    """What ``metadata.json`` says beside the model's own entries: the version, the
    currency, the feature groups absent for lack of data, the data trained on, the
    library versions, the plots and the training options."""
    now = datetime.now()
    return {
        "model_version": f"{now:%Y.%m.%d}-{fingerprint[:8]}",
        "trained_at": now.isoformat(timespec="seconds"),
        "currency": currency,
        "absent_feature_groups": [
            {"group": g, "needs": FEATURE_GROUPS[g][0], "features": FEATURE_GROUPS[g][1]}
            for g in model.feature_config_.absent_groups
        ],
        "data": {
            "source": source.path,
            **source.info,
            "fingerprint": fingerprint,
            **data_extent(source.data, source.info.get("as_of")),
            "synthetic": source.is_synthetic(),
        },
        "library_versions": {lib.removesuffix("-cpu"): version(lib) for lib in LIBRARIES},
        "plots": dict(plot_files),
        "train_config": {
            "quick": model.quick,
            "seed": model.random_state,
            "n_cutoffs": model.n_cutoffs,
        },
    }


def save_run_scores(
    model: CLVModel, source: Source, out: Path, *, fingerprint: str
) -> tuple[Path, list[Path]]:
    """Every customer's scores and reason codes as of the day after the data (or the
    source's as-of day), for the app to start on; on partitioned data, part by part, with
    in the same read of each part the summary the app on a big base starts from
    (profiles, list features, revenue). Returns the scores' file and the summary's."""
    data = source.data
    if not isinstance(data, PartitionedData):
        scorer = CustomerScorer(model, data)
        scores, day = scorer.scores(), scorer.default_as_of
        return save_scores(scores, out, as_of=f"{day:%Y-%m-%d}", data_fingerprint=fingerprint), []
    as_of = source.info.get("as_of")
    day = as_day(as_of) if as_of else day_after(data.last_date)
    log.info("scoring and summarizing the %d parts for the app", data.n_parts)
    scores, summary = score_and_summarize(data, model, day)
    scores = scores.set_index("customer_id").drop(columns="as_of")
    stamp = {"as_of": f"{day:%Y-%m-%d}", "data_fingerprint": fingerprint}
    return save_scores(scores, out, **stamp), save_summary(summary, out, **stamp)


def data_extent(data: RetailData | PartitionedData, as_of: str | None) -> dict:
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
    """`folder` relative to `base` if inside it (the card links the plots so), else absolute."""
    try:
        return folder.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return folder.resolve().as_posix()
