"""Features of the cutoff day itself, the same for every customer."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.features.history import History, Vocabularies


def _days_to_peak(cutoff: pd.Timestamp, peaks: Sequence[tuple[int, int]]) -> int:
    """Days from the cutoff to the next yearly peak (0 on the peak day)."""
    ahead = []
    for month, day in peaks:
        for year in (cutoff.year, cutoff.year + 1):
            peak = pd.Timestamp(year, month, day)
            if peak >= cutoff:
                ahead.append((peak - cutoff).days)
                break
    return min(ahead)


def _promo_days_ahead(promotions: pd.DataFrame, cutoff: pd.Timestamp, horizon: int) -> int:
    """Days of the coming horizon covered by promotions already running before the cutoff."""
    known = promotions[promotions["start_date"] < cutoff]
    days = pd.date_range(cutoff, periods=horizon, freq="D").to_numpy()
    covered = (days[:, None] >= known["start_date"].to_numpy()[None, :]) & (
        days[:, None] <= known["end_date"].to_numpy()[None, :]
    )
    return int(covered.any(axis=1).sum())


def season(cutoff: pd.Timestamp, config: Vocabularies) -> dict[str, int]:
    """The cutoff's month and the days to the next holiday peak."""
    return {
        "cutoff_month": cutoff.month,
        "days_to_peak": _days_to_peak(cutoff, config.holiday_peaks),
    }


def promotions_ahead(data: RetailData, cutoff: pd.Timestamp, config: Vocabularies) -> dict:
    """Promotion days already announced in the coming horizon."""
    return {"promo_days_ahead": _promo_days_ahead(data.promotions, cutoff, config.horizon)}


def calendar_features(data: RetailData, cutoff: pd.Timestamp, config: Vocabularies) -> dict:
    """Features of the cutoff day itself, the same for every customer (those of the
    config's groups)."""
    out = season(cutoff, config)
    if "promotions" in config.groups:
        out |= promotions_ahead(data, cutoff, config)
    return out


def calendar(h: History) -> dict[str, int]:
    return season(h.cutoff, h.config)


def promotions(h: History) -> dict[str, int]:
    return promotions_ahead(h.data, h.cutoff, h.config)
