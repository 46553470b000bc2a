"""The app's serving cache: customers scored by ID, every customer's scores kept per as-of date.

Scoring by customer ID builds the as-of features of *all* customers once per as-of date
and then only looks rows up, so 100,000 IDs cost about as much as one. The numbers are
:mod:`clvmodel.scoring`'s (what :meth:`clvmodel.CLVModel.predict` computes, without a
cache); this module only caches and looks up, above the model.
:class:`PartitionedScorer` answers the same questions for a base too big for memory, from
the scores the batch job saved and, at other dates, from one customer's own rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clvmodel.columns import REASONS
from clvmodel.dataset import RetailData
from clvmodel.dates import check_as_of, day_after
from clvmodel.features import build_features
from clvmodel.ids import match_ids
from clvmodel.model import CLVModel
from clvmodel.partitions import PartitionedData
from clvmodel.scoring import (
    as_rows,
    fill_reasons,
    id_text,
    rows_for_ids,
    score_everyone,
)


def default_as_of(data: RetailData | PartitionedData) -> pd.Timestamp:
    """The day after the last transaction (:func:`clvmodel.dates.day_after`)."""
    return day_after(data.last_date)


_day_after = default_as_of  # the parameter of CustomerScorer of that name hides it


@dataclass
class _Scored:
    """One as-of date's cache: features and scores of every customer; which rows of the
    features have their reason codes filled in already."""

    features: pd.DataFrame
    scores: pd.DataFrame
    explained: np.ndarray


def _matches(scores: pd.DataFrame, features: pd.DataFrame, columns: list[str]) -> bool:
    """Whether saved scores are for these customers (history first), with these columns."""
    return (
        list(scores.columns) == columns
        and len(scores) >= len(features)
        and scores.index[: len(features)].equals(features.index)
        and not scores["cold_start"].iloc[: len(features)].any()
    )


class CustomerScorer:
    """Scores customers by ID from their history, caching features per as-of date.

    `default_as_of` given means `data` holds a few customers of a bigger base whose data
    ends the day before (:meth:`PartitionedScorer.lookup` scores one customer so): the
    data is not checked against the model (the base was), and a date before all of their
    purchases leaves them without features instead of failing.
    """

    def __init__(
        self, model: CLVModel, data: RetailData, *, default_as_of: pd.Timestamp | None = None
    ) -> None:
        self._subset = default_as_of is not None
        if not self._subset:
            model.check_data(data)
        self.model = model
        self.data = data
        self.default_as_of = default_as_of if self._subset else _day_after(data)
        self._cache: dict[pd.Timestamp, _Scored] = {}
        self._lock = threading.RLock()

    def as_of(self, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
        """The as-of day: empty means the day after the data's last transaction."""
        return check_as_of(as_of, self.default_as_of)

    def has(self, as_of: str | pd.Timestamp | None = None) -> bool:
        """Whether the date's scores are ready: a new date takes seconds, so the app says so."""
        return self.as_of(as_of) in self._cache

    def features(self, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """As-of features of every customer with history (cached)."""
        return self._scored(self.as_of(as_of)).features

    def customer_features(
        self, customer_id: str, as_of: str | pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """One customer's features as of the date (no row: no history before it)."""
        features = self.features(as_of)
        return features.loc[features.index.intersection([customer_id])]

    def scores(
        self, as_of: str | pd.Timestamp | None = None, *, reasons: bool = True
    ) -> pd.DataFrame:
        """Predictions for every customer as of the date (cached).

        Customers with history first, then (with a cold-start model) those without.
        ``reasons=False`` skips filling the reason codes not yet asked for (they stay
        empty strings): reason codes are made on first request, per customer.
        """
        scored = self._scored(self.as_of(as_of))
        if reasons:
            self._explain(scored, np.arange(len(scored.features)))
        return scored.scores

    def predictions(
        self, as_of: str | pd.Timestamp | None = None, *, reasons: bool = True
    ) -> pd.DataFrame:
        """:meth:`scores` as :meth:`CLVModel.predict` returns them: ``customer_id`` and
        ``as_of`` columns first. The date's features stay cached (:meth:`features`)."""
        day = self.as_of(as_of)
        return as_rows(self.scores(day, reasons=reasons), day)

    def warm(
        self, as_of: str | pd.Timestamp | None = None, *, precomputed: pd.DataFrame | None = None
    ) -> bool:
        """Score every customer as of the date now, so that the first request is fast.

        `precomputed` scores of the same customers (saved by ``train.py`` with these
        artifacts, see :func:`clvmodel.persistence.load_scores`) replace the predictions,
        and their reason codes the ones made on request, when their customers and columns
        match the features built from the data; the return value says whether they were
        used.
        """
        day = self.as_of(as_of)
        with self._lock:
            if precomputed is not None and day not in self._cache:
                x = build_features(self.data, day, self.model.feature_config_)
                if _matches(precomputed, x, [*self.model.columns, "cold_start"]):
                    explained = precomputed[REASONS[0]].iloc[: len(x)].ne("").to_numpy()
                    self._cache[day] = _Scored(x, precomputed, explained)
                    return True
            self._scored(day)
            return False

    def lookup(self, customer_id: str, as_of: str | pd.Timestamp | None = None) -> pd.Series:
        """One customer's scores with reason codes, by exact ID (KeyError if not scored).

        The app's single lookup: a direct index lookup, unlike :meth:`score`, which is
        built for many IDs at once.
        """
        scored = self._scored(self.as_of(as_of))
        pos = scored.features.index.get_indexer([customer_id])
        self._explain(scored, pos[pos >= 0])
        return scored.scores.loc[customer_id]

    def _scored(self, day: pd.Timestamp) -> _Scored:
        with self._lock:  # the app calls from several threads
            if day not in self._cache:
                if len(self._cache) >= 8:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[day] = self._score_all(day)
            return self._cache[day]

    def _score_all(self, day: pd.Timestamp) -> _Scored:
        x, scores = score_everyone(self.model, self.data, day, subset=self._subset)
        return _Scored(x, scores, np.zeros(len(x), dtype=bool))

    def _explain(self, scored: _Scored, rows: np.ndarray) -> None:
        """Fill the reason codes of these rows of ``scored.features`` (once each)."""
        with self._lock:
            rows = np.unique(rows)
            rows = rows[~scored.explained[rows]]
            if len(rows):
                fill_reasons(self.model, scored.features, scored.scores, rows)
                scored.explained[rows] = True

    def score(
        self, customer_ids: Iterable[object], *, as_of: str | pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """One row per requested ID, in the order given, with an ``error`` per bad row.

        IDs are compared as text, exactly as given (no trimming of leading zeros). A
        customer who signed up but has no purchase before the as-of date is scored from
        their attributes (``cold_start`` is True). A row whose ID is empty or unknown (or,
        without a cold-start model, has no history) gets NaN predictions and a message in
        ``error``; the other rows are scored.
        """
        day = self.as_of(as_of)
        text = id_text(match_ids(customer_ids, self.data.customers.index))
        scored = self._scored(day)
        pos = scored.features.index.get_indexer(text.str.strip().to_numpy())
        self._explain(scored, pos[pos >= 0])
        return rows_for_ids(scored.scores, self.data.customers.index, text, day)


#: Single-customer scorers a :class:`PartitionedScorer` keeps (each holds a few rows).
_RECENT_CUSTOMERS = 32


def everyone_unavailable(day: pd.Timestamp, latest: pd.Timestamp) -> str:
    """Why a question about every customer cannot be answered at `day` on a partitioned
    base, and how to get it."""
    return (
        f"as of {day:%Y-%m-%d}, this partitioned customer base is served for single-customer "
        f"lookups only: questions about every customer are answered as of {latest:%Y-%m-%d}, "
        "from the scores saved by the batch job. To score everyone as of "
        f"{day:%Y-%m-%d}, run clvmodel-score --data <the data> --as-of {day:%Y-%m-%d}."
    )


class PartitionedScorer:
    """:class:`CustomerScorer`'s interface for a base too big to hold in memory.

    As of the day after the data, every answer comes from the scores saved by the batch
    job (``train.py``, :func:`clvmodel.persistence.load_scores`): looking up a million
    customers costs an index lookup, not a re-scoring. At another date one customer is
    scored from their own rows only (read by :meth:`PartitionedData.customers_data`),
    by a :class:`CustomerScorer` over those rows: the features of a customer depend only
    on their rows and the shared tables, so the numbers are those of the whole data.
    Everyone at another date (:meth:`scores`) is refused: that is a batch job.
    """

    def __init__(
        self,
        model: CLVModel,
        data: PartitionedData,
        scores: pd.DataFrame,
        *,
        customer_ids: pd.Index,
        default_as_of: pd.Timestamp,
    ) -> None:
        columns = [*model.columns, "cold_start"]
        if list(scores.columns) != columns:
            raise ValueError(
                f"the saved scores have columns {list(scores.columns)}, not those of this "
                f"model ({columns}): run train.py on this data again."
            )
        self.model = model
        self.data = data
        self.default_as_of = default_as_of
        self.customer_ids = customer_ids
        self._saved = scores
        self._recent: OrderedDict[tuple[str, ...], CustomerScorer] = OrderedDict()
        self._lock = threading.Lock()

    def as_of(self, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
        """The as-of day: empty means the day after the data's last transaction."""
        return check_as_of(as_of, self.default_as_of)

    def has(self, as_of: str | pd.Timestamp | None = None) -> bool:
        """Always: nothing is prepared per date (one customer takes a fraction of a second)."""
        self.as_of(as_of)
        return True

    def warm(self, as_of: str | pd.Timestamp | None = None, **_) -> bool:
        """Nothing to warm: the saved scores are loaded already."""
        self.as_of(as_of)
        return True

    def scores(
        self, as_of: str | pd.Timestamp | None = None, *, reasons: bool = True
    ) -> pd.DataFrame:
        """Every customer's saved scores (with reason codes); only as of the default day."""
        day = self.as_of(as_of)
        if day != self.default_as_of:
            raise ValueError(everyone_unavailable(day, self.default_as_of))
        return self._saved

    def customers(self, customer_ids: Iterable[object]) -> CustomerScorer:
        """A scorer over these customers' rows only (unknown IDs have none).

        The last few are kept: a lookup in the app asks for the scores, the explanation
        and the chart of the same customer in turn.
        """
        ids = tuple(sorted({i for i in map(str, customer_ids) if i in self.customer_ids}))
        with self._lock:
            if ids in self._recent:
                self._recent.move_to_end(ids)
                return self._recent[ids]
        rows = self.data.customers_data(list(ids))
        scorer = CustomerScorer(self.model, rows, default_as_of=self.default_as_of)
        with self._lock:
            self._recent[ids] = scorer
            while len(self._recent) > _RECENT_CUSTOMERS:
                self._recent.popitem(last=False)
        return scorer

    def customer_features(
        self, customer_id: str, as_of: str | pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """One customer's features as of the date (no row: no history before it)."""
        return self.customers([customer_id]).customer_features(customer_id, as_of)

    def lookup(self, customer_id: str, as_of: str | pd.Timestamp | None = None) -> pd.Series:
        """One customer's scores with reason codes (KeyError if not scored)."""
        day = self.as_of(as_of)
        if day == self.default_as_of:
            return self._saved.loc[customer_id]
        if customer_id not in self.customer_ids:
            raise KeyError(customer_id)
        return self.customers([customer_id]).lookup(customer_id, day)

    def score(
        self, customer_ids: Iterable[object], *, as_of: str | pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """:meth:`CustomerScorer.score`: from the saved scores as of the default day, from
        the rows of the customers asked for at another date."""
        day = self.as_of(as_of)
        text = id_text(match_ids(customer_ids, self.customer_ids))
        if day == self.default_as_of:
            return rows_for_ids(self._saved, self.customer_ids, text, day)
        return self.customers(text.str.strip()).score(text, as_of=day)
