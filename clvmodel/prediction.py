"""Scoring with saved artifacts: from feature tables, from customer IDs, with explanations.

Load once (:meth:`Predictor.load`), then every call is vectorised over rows. Scoring by
customer ID builds the as-of features of *all* customers once per as-of date and then
only looks rows up, so 100,000 IDs cost about as much as one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clvmodel import bgnbd_ml
from clvmodel.coldstart import build_cold_features, predict_cold
from clvmodel.contributions import contributions, explainable, unwrap
from clvmodel.dataset import RetailData
from clvmodel.distribution import QUANTILES, hurdle_quantiles
from clvmodel.features import FeatureConfig, build_features, check_compatible
from clvmodel.persistence import read_artifacts
from clvmodel.reasons import reason_codes
from clvmodel.reconciliation import reconcile, reconcile_columns
from clvmodel.training import (
    interval_bounds,
    predict_probability,
    predict_spend,
    predict_values,
)

PROBABILITY = "purchase_probability"
REASONS = ["reason_1", "reason_2", "reason_3"]
COLD_START_REASON = "no purchase yet: predicted from segment, loyalty tier and account age"


def prediction_columns(categories: Iterable[str]) -> list[str]:
    """Output columns, shared by the app's batch results and the scoring CLI.

    Per spend target the point prediction and its 80% interval (``_low``, ``_high``);
    then the purchase probability and the P10/P50/P90 of total spend.
    """
    cols = []
    for t in ["total", *categories]:
        cols += [f"predicted_{t}", f"predicted_{t}_low", f"predicted_{t}_high"]
    cols += [PROBABILITY, *[f"predicted_total_p{round(q * 100)}" for q in QUANTILES]]
    return [*cols, *REASONS]


class Predictor:
    """The trained models of every target, with the feature contract they were trained on.

    Parameters
    ----------
    bundles : dict
        Target name -> ``{"model", "lower", "upper", "interval_offset"}``.
    metadata : dict
        The ``metadata.json`` written by ``train.py``.

    Raises
    ------
    ValueError
        If the metadata's feature list differs from what this version of clvmodel builds
        (the artifacts are stale: retrain), or a target's model is missing.
    """

    def __init__(self, bundles: dict[str, dict], metadata: dict) -> None:
        self.metadata = metadata
        self.config = FeatureConfig.from_dict(metadata["feature_config"])
        self.feature_names: list[str] = list(metadata["feature_names"])
        expected = self.config.feature_names
        if self.feature_names != expected:
            added = sorted(set(expected) - set(self.feature_names))
            dropped = sorted(set(self.feature_names) - set(expected))
            raise ValueError(
                "The artifacts were trained on a different feature list than this version of "
                f"clvmodel builds (new: {added or 'none'}; gone: {dropped or 'none'}; or a "
                "different order). Retrain with `python train.py`."
            )
        missing = sorted(set(self.config.targets) - set(bundles))
        if missing:
            raise ValueError(f"The artifacts have no model for target(s) {missing}.")
        self.bundles = bundles
        self.cold = bundles.get("cold_start")
        self.typical = pd.Series(metadata.get("typical_features", {}), dtype="float64")

    @classmethod
    def load(cls, folder: str | Path) -> Predictor:
        """Load artifacts written by ``train.py`` (skops, reviewed trusted types only)."""
        bundles, metadata = read_artifacts(folder)
        return cls(bundles, metadata)

    @property
    def categories(self) -> tuple[str, ...]:
        return self.config.categories

    @property
    def columns(self) -> list[str]:
        return prediction_columns(self.categories)

    def _matrix(self, features: pd.DataFrame) -> pd.DataFrame:
        missing = [f for f in self.feature_names if f not in features.columns]
        if missing:
            raise ValueError(
                f"missing feature column(s): {missing[:10]}"
                + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            )
        # One float block, built once: column-wise astype costs more than predicting a row.
        arr = features[self.feature_names].to_numpy(dtype="float64")
        return pd.DataFrame(arr, index=features.index, columns=self.feature_names)

    def predict(self, features: pd.DataFrame, *, reasons: bool = True) -> pd.DataFrame:
        """Predictions for each row of a feature table (extra columns are ignored).

        Returns
        -------
        DataFrame
            Same index, columns :func:`prediction_columns`: point prediction and 80%
            interval per spend target (categories reconciled to add up to the total), the
            purchase probability, P10/P50/P90 of total spend, and the three strongest
            reasons for the total (``reasons=False`` leaves them empty, and is faster).
        """
        x = self._matrix(features)
        arr = x.to_numpy()  # columns checked once here: every model reads the array
        out = {}
        for t in self.config.spend_targets:
            bundle = self.bundles[t]
            out[f"predicted_{t}"] = point_prediction(bundle, x, t, self.config.horizon, arr)
            out[f"predicted_{t}_low"], out[f"predicted_{t}_high"] = interval_bounds(bundle, arr)
        p = predict_probability(self.bundles["purchase"]["model"], arr)
        out[PROBABILITY] = p
        total = self.bundles["total"]
        q = hurdle_quantiles(p, predict_values(total["spend_if_buy"], arr), total["log_sigma"])
        for i, tau in enumerate(QUANTILES):
            out[f"predicted_total_p{round(tau * 100)}"] = q[:, i]
        shares = x[[f"share_{c}" for c in self.categories]].to_numpy()
        out = reconcile_columns(out, self.categories, shares=shares)
        if reasons:
            codes = self._reasons(x, arr)
            out |= {r: codes[r].to_numpy() for r in REASONS}
        else:
            out |= dict.fromkeys(REASONS, "")
        return pd.DataFrame(out, index=features.index, columns=self.columns)

    def reasons(self, features: pd.DataFrame) -> pd.DataFrame:
        """The three strongest drivers of each row's total prediction, in plain words.

        From path contributions (fast enough for 100,000 rows); empty strings where the
        total model cannot be explained.
        """
        x = self._matrix(features)
        return self._reasons(x, x.to_numpy())

    def _reasons(self, x: pd.DataFrame, arr: np.ndarray) -> pd.DataFrame:
        """:meth:`reasons` of a checked float matrix `x` (and `x` as an array)."""
        if not self.explainable("total") or x.empty:
            return pd.DataFrame("", index=x.index, columns=REASONS)
        raw = contributions(self.bundles["total"]["model"], arr, exact=False)
        contrib = pd.DataFrame(raw[:, : len(self.feature_names)], index=x.index)
        contrib.columns = self.feature_names
        return reason_codes(contrib, x, self.typical, top=len(REASONS))

    def predict_cold(self, features: pd.DataFrame) -> pd.DataFrame:
        """Predictions for customers without purchases, from their attributes only."""
        if self.cold is None:
            raise ValueError("these artifacts have no cold-start model; retrain with train.py.")
        out = reconcile(predict_cold(self.cold, features, self.config), self.categories)
        out[REASONS[0]] = COLD_START_REASON
        out[REASONS[1:]] = ""
        return out[self.columns]

    def explainable(self, target: str) -> bool:
        """Whether :meth:`explain` supports the model of `target` (boosters and linear do)."""
        return explainable(self.bundles[target]["model"])

    def explain(self, features: pd.DataFrame, target: str, *, exact: bool = True) -> pd.DataFrame:
        """Each feature's additive contribution to `target` for each row.

        Contributions add up, with the ``base_value`` column, to the model's raw output:
        spend for squared-error models, log spend for Tweedie models, log-odds for the
        purchase model (before calibration). ``exact`` gives TreeSHAP; otherwise path
        contributions, a hundred times faster (see :mod:`clvmodel.contributions`).
        """
        if target not in self.config.targets:
            raise ValueError(f"unknown target {target!r}; choose one of {self.config.targets}.")
        if not self.explainable(target):
            model = unwrap(self.bundles[target]["model"])
            raise ValueError(
                f"explanations are not available for the {type(model).__name__} model of "
                f"target {target!r}."
            )
        x = self._matrix(features).to_numpy()
        raw = contributions(self.bundles[target]["model"], x, exact=exact)
        cols = [*self.feature_names, "base_value"]
        return pd.DataFrame(np.asarray(raw)[:, : len(cols)], index=features.index, columns=cols)


def point_prediction(
    bundle: dict, x: pd.DataFrame, target: str, horizon: int, arr: np.ndarray | None = None
) -> np.ndarray:
    """Expected spend: the model's, blended with BG/NBD for a hybrid, times the level factor.

    `arr` is `x` as a float array in the model's column order, for speed
    (:func:`clvmodel.training.predict_values`).
    """
    point = predict_spend(bundle["model"], x if arr is None else arr)
    weight = bundle.get("blend", 0.0)
    if weight:
        bg = bgnbd_ml.expected_spend(bundle["bgnbd"], x, target, horizon)
        point = (1 - weight) * point + weight * bg
    return point * bundle.get("level", 1.0)


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

    def __init__(self, predictor: Predictor, data: RetailData) -> None:
        check_compatible(predictor.config, data)
        self.predictor = predictor
        self.data = data
        self.default_as_of = default_as_of(data)
        self._cache: dict[pd.Timestamp, _Scored] = {}
        self._lock = threading.RLock()

    def _as_of(self, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
        if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
            return self.default_as_of
        try:
            day = pd.Timestamp(as_of)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"as_of must be a date like 2026-10-01; got {as_of!r}.") from exc
        if pd.isna(day):
            raise ValueError(f"as_of must be a date like 2026-10-01; got {as_of!r}.")
        day = (day.tz_localize(None) if day.tzinfo else day).normalize()
        if day > self.default_as_of:
            raise ValueError(
                f"as_of {day:%Y-%m-%d} is after the data, which ends on "
                f"{self.default_as_of - pd.Timedelta(days=1):%Y-%m-%d}: the latest as-of date "
                f"is {self.default_as_of:%Y-%m-%d}."
            )
        return day

    def features(self, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """As-of features of every customer with history (cached)."""
        return self._scored(self._as_of(as_of)).features

    def scores(
        self, as_of: str | pd.Timestamp | None = None, *, reasons: bool = True
    ) -> pd.DataFrame:
        """Predictions for every customer as of the date (cached).

        Customers with history first, then (with a cold-start model) those without.
        ``reasons=False`` skips filling the reason codes not yet asked for (they stay
        empty strings): reason codes are made on first request, per customer.
        """
        scored = self._scored(self._as_of(as_of))
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
        day = self._as_of(as_of)
        with self._lock:
            if precomputed is not None and day not in self._cache:
                x = build_features(self.data, day, self.predictor.config)
                if _matches(precomputed, x, [*self.predictor.columns, "cold_start"]):
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
        scored = self._scored(self._as_of(as_of))
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
        x = build_features(self.data, day, self.predictor.config)
        scores = self.predictor.predict(x, reasons=False).assign(cold_start=False)
        if self.predictor.cold is not None:
            cold = build_cold_features(self.data, day, self.predictor.config)
            if len(cold):
                cold_scores = self.predictor.predict_cold(cold).assign(cold_start=True)
                scores = pd.concat([scores, cold_scores])
        return _Scored(x, scores, np.zeros(len(x), dtype=bool))

    def _explain(self, scored: _Scored, rows: np.ndarray) -> None:
        """Fill the reason codes of these rows of ``scored.features`` (once each)."""
        with self._lock:
            rows = np.unique(rows)
            rows = rows[~scored.explained[rows]]
            if len(rows):
                codes = self.predictor.reasons(scored.features.iloc[rows])
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
        day = self._as_of(as_of)
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
