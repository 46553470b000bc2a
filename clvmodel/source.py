"""Where the app's answers come from: the whole data in memory, or a partitioned base.

The app asks the same few questions of any customer base: who the customers are, a few
examples, one customer's monthly spend, everyone's profiles and the monthly revenue of a
group, and a scorer (:mod:`clvmodel.prediction`) for the predictions. :class:`MemorySource`
answers them from :class:`~clvmodel.dataset.RetailData` at any as-of date, as the app
always did. :class:`PartitionedSource` answers them for a base too big for memory
(:mod:`clvmodel.partitions`) without reading it whole: what concerns everyone comes from
what the batch job saved beside the model as of the day after the data (the scores, and
the summary :func:`score_and_summarize` makes), and what concerns one customer from that
customer's rows. Both call the same feature, profile and scoring functions.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from clvmodel.aggregate import PROFILE_COLUMNS, available_profiles, customer_profiles
from clvmodel.aggregate import monthly_revenue as _monthly_revenue
from clvmodel.dataset import (
    RetailData,
    example_customers,
    examples_by_spend,
    load_data,
    monthly_spend,
)
from clvmodel.engine import map_parts
from clvmodel.features import build_features
from clvmodel.lists import list_features
from clvmodel.model import CLVModel
from clvmodel.partitions import PartitionedData, is_partitioned, open_partitioned
from clvmodel.parts import combine_part_scores, predict_part
from clvmodel.persistence import (
    folder_fingerprint,
    load_scores,
    load_summary,
    tree_fingerprint,
)
from clvmodel.prediction import (
    CustomerScorer,
    PartitionedScorer,
    check_as_of,
    default_as_of,
    everyone_unavailable,
)

__all__ = [
    "MemorySource",
    "PartitionedSource",
    "combine_summaries",
    "open_source",
    "score_and_summarize",
    "score_and_summarize_part",
    "summary_of",
]

#: Months of revenue history a forecast chart shows.
HISTORY_MONTHS = 12


def _where_rows(table: pd.DataFrame, where: dict | None) -> pd.DataFrame:
    """The revenue rows of the customers `where` names (one column = value), or of all."""
    if not where:
        return table[table["column"] == ""]
    ((column, value),) = where.items()
    return table[(table["column"] == column) & (table["value"] == str(value))]


class MemorySource:
    """The whole data in memory: every answer computed from it, at any as-of date."""

    def __init__(self, data: RetailData, folder: str | os.PathLike[str]) -> None:
        self.data = data
        self.folder = Path(folder)
        self.customer_ids: pd.Index = data.customers.index
        self.default_as_of = default_as_of(data)
        self.breakdowns = available_profiles(data)
        self.scorer: CustomerScorer | None = None
        self._profiles: dict[pd.Timestamp, pd.DataFrame] = {}
        self._lock = threading.RLock()

    def serve(self, model: CLVModel) -> CustomerScorer:
        """The scorer of this data (not warm yet: see :meth:`warm`)."""
        self.scorer = CustomerScorer(model, self.data)
        return self.scorer

    def warm(self, artifacts: str | os.PathLike[str]) -> bool:
        """Score everyone as of the default date, from train.py's saved scores when they
        were made from this very data (it saves ~2 s); whether they were used."""
        saved = load_scores(
            artifacts,
            as_of=f"{self.default_as_of:%Y-%m-%d}",
            data_fingerprint=folder_fingerprint(self.folder),
        )
        return self.scorer.warm(precomputed=saved)

    def examples(self) -> list[str]:
        """IDs from big to occasional spenders (:func:`example_customers`)."""
        return example_customers(self.data)

    def profiles(self, day: pd.Timestamp) -> pd.DataFrame:
        """Every customer's profile as of `day` (cached, like the scores)."""
        with self._lock:
            if day not in self._profiles:
                self._profiles[day] = customer_profiles(self.data, day)
            return self._profiles[day]

    def list_features(self, day: pd.Timestamp) -> pd.DataFrame:
        """The features the customer lists read, of every customer with history."""
        return self.scorer.features(day)

    def revenue(self, day: pd.Timestamp, where: dict | None = None) -> pd.DataFrame:
        """Net revenue per month and category before `day` (``month, category, amount``)
        of the customers whose profile matches `where` (one column = value), or of all."""
        if not where:
            return _monthly_revenue(self.data, day)
        ((column, value),) = where.items()
        table = _monthly_revenue(self.data, day, self.profiles(day), by=column)
        return table.loc[table[column] == str(value)].drop(columns=column)

    def monthly_spend(self, customer_id: str, day: pd.Timestamp) -> pd.DataFrame:
        """One customer's net spend per month before `day` (:func:`monthly_spend`)."""
        return monthly_spend(self.data, customer_id, before=day)


class PartitionedSource:
    """A partitioned base served without reading it whole.

    Opening reads the scores and the summary that ``train.py`` saved beside the model
    for this very data (checked by fingerprint): every customer's ID is in the profiles.
    As of the day after the data, profiles, lists and
    revenue come from that summary; at another date only single-customer questions are
    answered (from the customer's rows), and the others raise a ValueError that says how
    to score everyone in batch.
    """

    def __init__(self, data: PartitionedData, artifacts: str | os.PathLike[str]) -> None:
        self.data = data
        self.artifacts = Path(artifacts)
        self.default_as_of = default_as_of(data)
        stamp = {
            "as_of": f"{self.default_as_of:%Y-%m-%d}",
            "data_fingerprint": tree_fingerprint(data.path),
        }
        self._scores = load_scores(self.artifacts, **stamp)
        self._summary = load_summary(self.artifacts, **stamp)
        if self._scores is None or self._summary is None:
            missing = "scores" if self._scores is None else "profiles and revenue"
            raise ValueError(
                f"{self.artifacts} holds no saved {missing} for the partitioned data "
                f"{data.path} as of {stamp['as_of']} (the app does not score a whole base "
                "at start): run train.py --data "
                f"{data.path} --out {self.artifacts} to train on this data and save them "
                "(without --as-of: the app serves the day after the data)."
            )
        profiles = self._summary["profiles"]
        # Every customer has a profile: the saved profiles' index is the customer table's
        # IDs (sorted), so the IDs are not read again, nor looked up in a second table.
        self.customer_ids: pd.Index = profiles.index
        self.breakdowns = [c for c in PROFILE_COLUMNS if c in profiles]
        spend = self._summary["list_features"]["spend_365d"]
        self._examples = examples_by_spend(spend[spend != 0])
        self.scorer: PartitionedScorer | None = None

    def serve(self, model: CLVModel) -> PartitionedScorer:
        """The scorer: saved scores as of the default date, one customer at others."""
        self.scorer = PartitionedScorer(
            model,
            self.data,
            self._scores,
            customer_ids=self.customer_ids,
            default_as_of=self.default_as_of,
        )
        return self.scorer

    def warm(self, artifacts: str | os.PathLike[str] | None = None) -> bool:
        """Build the ID lookups once, so that the first request is as fast as any."""
        for index in (self._scores.index, self.customer_ids):  # the IDs: profiles' index
            index.get_indexer(index[:1])
        return True

    def examples(self) -> list[str]:
        """IDs from big to occasional spenders: :func:`example_customers` of the saved
        spend of the last year (customers whose spend nets to zero left out)."""
        return list(self._examples)

    def _saved(self, name: str, day: pd.Timestamp) -> pd.DataFrame:
        if day != self.default_as_of:
            raise ValueError(everyone_unavailable(day, self.default_as_of))
        return self._summary[name]

    def profiles(self, day: pd.Timestamp) -> pd.DataFrame:
        """Every customer's profile as of the default date (saved by the batch job)."""
        return self._saved("profiles", day)

    def list_features(self, day: pd.Timestamp) -> pd.DataFrame:
        """The features the customer lists read, as of the default date (saved)."""
        return self._saved("list_features", day)

    def revenue(self, day: pd.Timestamp, where: dict | None = None) -> pd.DataFrame:
        """:meth:`MemorySource.revenue` as of the default date, from the saved table."""
        rows = _where_rows(self._saved("revenue", day), where)
        return rows[["month", "category", "amount"]].reset_index(drop=True)

    def monthly_spend(self, customer_id: str, day: pd.Timestamp) -> pd.DataFrame:
        """One customer's net spend per month before `day`, from their rows only."""
        rows = self.scorer.customers([customer_id]).data
        return monthly_spend(rows, customer_id, before=day)


def open_source(
    folder: str | os.PathLike[str], artifacts: str | os.PathLike[str]
) -> MemorySource | PartitionedSource:
    """The source of a data folder: partitioned layout or the seven tables in memory."""
    if is_partitioned(folder):
        return PartitionedSource(open_partitioned(folder), artifacts)
    return MemorySource(load_data(folder), folder)


def summary_of(
    rows: RetailData, model: CLVModel, day: pd.Timestamp, features: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """What the app needs about some customers besides their scores, as of `day`.

    ``profiles`` (:func:`customer_profiles`), ``list_features`` (the features of
    :func:`clvmodel.lists.list_features`, customers with history) and ``revenue``
    (``column, value, month, category, amount``: net revenue per month and category of
    everyone, ``column`` "", and of each value of each profile column).

    `features`, the rows' :func:`build_features` as of `day` when the caller has them
    already (:func:`score_and_summarize_part`), are not built again.
    """
    profiles = customer_profiles(rows, day)
    if not (rows.transactions["date"] < day).any():
        features = pd.DataFrame(columns=model.feature_names_, dtype="float64")
    elif features is None:
        features = build_features(rows, day, model.feature_config_)
    revenue = [_monthly_revenue(rows, day).assign(column="", value="")]
    for column in [c for c in PROFILE_COLUMNS if c in profiles]:
        table = _monthly_revenue(rows, day, profiles, by=column)
        revenue.append(table.rename(columns={column: "value"}).assign(column=column))
    return {
        "profiles": profiles,
        "list_features": features[list_features(model.categories)],
        "revenue": pd.concat(revenue, ignore_index=True),
    }


def score_and_summarize_part(
    data: PartitionedData, part: int, model: CLVModel, day: pd.Timestamp, reasons: bool
) -> tuple[pd.DataFrame | None, dict[str, pd.DataFrame]]:
    """:func:`~clvmodel.parts.score_part` and :func:`summary_of` of one part from one
    read of it, the summary reusing the features the scoring built."""
    rows = data.part(part)
    scores, features = predict_part(data, part, rows, model, day, reasons)
    return scores, summary_of(rows, model, day, features)


def combine_summaries(pieces: Sequence[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The summary of the whole data from its parts' (:func:`summary_of`)."""
    revenue = pd.concat([p["revenue"] for p in pieces], ignore_index=True)
    revenue = (
        revenue.groupby(["column", "value", "month", "category"], sort=True)["amount"]
        .sum()
        .reset_index()
    )
    profiles = pd.concat([p["profiles"] for p in pieces]).sort_index()
    features = pd.concat([p["list_features"] for p in pieces]).sort_index()
    return {
        "profiles": profiles,
        "list_features": features.astype("float64"),
        "revenue": revenue.astype({"amount": "float64"}).assign(
            month=lambda t: pd.to_datetime(t["month"])
        ),
    }


def score_and_summarize(
    data: PartitionedData, model: CLVModel, day: pd.Timestamp
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """``model.predict(data, as_of=day)`` and the combined :func:`summary_of` of every
    part, with one read of each part instead of two (on the model's engine, like ``predict``):
    at a million customers the second pass took minutes."""
    day = check_as_of(day, default_as_of(data))
    pieces = map_parts(score_and_summarize_part, data, model, day, True, engine=model.engine,
                       scheduler=model.scheduler, n_workers=model.n_jobs)  # fmt: skip
    return combine_part_scores([p[0] for p in pieces]), combine_summaries([p[1] for p in pieces])
