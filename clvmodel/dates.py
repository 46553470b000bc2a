"""Dates as clvmodel reads them: one parser for a single day, one for a column of them.

Every as-of date, cutoff and date column goes through here, so that "2026-09-01",
"2026-09-01T15:00+02:00" and a ``pd.Timestamp`` all mean the same day everywhere (time
zones dropped, time of day floored), and a bad value gets the same message wherever it is
typed.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["as_day", "parse_days"]

#: A trailing UTC offset after a time of day ("...T10:00:00Z", "... 10:00+0530"): dropped,
#: so that the local calendar day is kept.
_TZ_SUFFIX = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$")


def as_day(value: object, *, name: str = "as_of") -> pd.Timestamp:
    """`value` as a day (midnight, no time zone).

    Raises
    ------
    ValueError
        Naming `name` and the value, if it is empty or not a date.
    """
    if isinstance(value, str):
        value = _TZ_SUFFIX.sub(r"\1", value.strip())
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError):
        day = pd.NaT
    if pd.isna(day):
        raise ValueError(f"{name} must be a date like 2026-09-01; got {value!r}.")
    return (day.tz_localize(None) if day.tzinfo else day).normalize()


def parse_days(text: pd.Series) -> pd.Series:
    """A column of date strings as days; NaT where empty or not a date (callers report them)."""
    stamp = text.astype("str").str.strip().str.replace(_TZ_SUFFIX, r"\1", regex=True)
    parsed = pd.to_datetime(stamp.where(stamp != ""), errors="coerce", format="ISO8601")
    return parsed.dt.floor("D")
