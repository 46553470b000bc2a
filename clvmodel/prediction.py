"""Scoring customers by ID from their history, with a cache per as-of date.

Scoring by customer ID builds the as-of features of *all* customers once per as-of date
and then only looks rows up, so 100,000 IDs cost about as much as one. The numbers come
from :meth:`clvmodel.CLVModel.predict_features`; this module only caches and looks up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clvmodel.coldstart import build_cold_features
from clvmodel.dataset import RetailData
from clvmodel.dates import as_day
from clvmodel.features import build_features
from clvmodel.model import PROBABILITY, REASONS, CLVModel


def default_as_of(data: RetailData) -> pd.Timestamp:
    """The day after the last transaction: predict the next horizon from all history."""
    return data.last_date + pd.Timedelta(days=1)


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
    """Scores customers by ID from their history, caching features per as-of date."""

    def __init__(self, model: CLVModel, data: RetailData) -> None:
        model.check_data(data)
        self.model = model
        self.data = data
        self.default_as_of = default_as_of(data)
        self._cache: dict[pd.Timestamp, _Scored] = {}
        self._lock = threading.RLock()

    def as_of(self, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
        """The as-of day: empty means the day after the data's last transaction."""
        if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
            return self.default_as_of
        day = as_day(as_of)
        if day > self.default_as_of:
            raise ValueError(
                f"as_of {day:%Y-%m-%d} is after the data, which ends on "
                f"{self.default_as_of - pd.Timedelta(days=1):%Y-%m-%d}: the latest as-of date "
                f"is {self.default_as_of:%Y-%m-%d}."
            )
        return day

    def has(self, as_of: str | pd.Timestamp | None = None) -> bool:
        """Whether the date's scores are ready: a new date takes seconds, so the app says so."""
        return self.as_of(as_of) in self._cache

    def features(self, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """As-of features of every customer with history (cached)."""
        return self._scored(self.as_of(as_of)).features

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
        x = build_features(self.data, day, self.model.feature_config_)
        scores = self.model.predict_features(x, reasons=False).assign(cold_start=False)
        if self.model.cold_ is not None:
            cold = build_cold_features(self.data, day, self.model.feature_config_)
            if len(cold):
                cold_scores = self.model.predict_cold_features(cold).assign(cold_start=True)
                scores = pd.concat([scores, cold_scores])
        return _Scored(x, scores, np.zeros(len(x), dtype=bool))

    def _explain(self, scored: _Scored, rows: np.ndarray) -> None:
        """Fill the reason codes of these rows of ``scored.features`` (once each)."""
        with self._lock:
            rows = np.unique(rows)
            rows = rows[~scored.explained[rows]]
            if len(rows):
                codes = self.model.reasons(scored.features.iloc[rows])
                scored.scores.iloc[rows, scored.scores.columns.get_indexer(REASONS)] = codes[
                    REASONS
                ].to_numpy()
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
        text = pd.Series(list(customer_ids), dtype="object").astype("string").fillna("")
        scored = self._scored(day)
        wanted = text.str.strip().to_numpy()
        pos = scored.features.index.get_indexer(wanted)
        self._explain(scored, pos[pos >= 0])
        out = scored.scores.reindex(wanted)
        out.insert(0, "customer_id", text.to_numpy())
        out.insert(1, "as_of", f"{day:%Y-%m-%d}")
        known = self.data.customers.index.get_indexer(text.str.strip()) >= 0
        has_history = out[PROBABILITY].notna().to_numpy()
        error = np.where(
            has_history,
            "",
            np.where(
                text.str.strip().eq("").to_numpy(),
                "empty customer_id",
                np.where(
                    known,
                    f"no purchase history before {day:%Y-%m-%d}",
                    "unknown customer_id: not in the customer table",
                ),
            ),
        )
        out["error"] = error
        return out.reset_index(drop=True)
