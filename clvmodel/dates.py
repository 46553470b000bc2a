"""Dates as clvmodel reads them: one parser for a single day, one for a column of them.

Every as-of date, cutoff and date column goes through here, so that "2026-09-01",
"2026-09-01T15:00+02:00" and a ``pd.Timestamp`` all mean the same day everywhere (time
zones dropped, time of day floored), and a bad value gets the same message wherever it is
typed.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["as_day", "check_as_of", "day_after", "parse_days"]

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


def day_after(last_date: pd.Timestamp) -> pd.Timestamp:
    """The default as-of day: the day after the last transaction, so the forecast uses all
    history. The one place "last date + 1 day" is written."""
    return pd.Timestamp(last_date).normalize() + pd.Timedelta(days=1)


def check_as_of(as_of: object, latest: pd.Timestamp) -> pd.Timestamp:
    """The as-of day asked for: empty means `latest` (the day after the data's last
    transaction); a later day is refused, since nothing is known of it.

    Raises
    ------
    ValueError
        If `as_of` is not a date, or is after `latest`.
    """
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return latest
    day = as_day(as_of)
    if day > latest:
        raise ValueError(
            f"as_of {day:%Y-%m-%d} is after the data, which ends on "
            f"{latest - pd.Timedelta(days=1):%Y-%m-%d}: the latest as-of date "
            f"is {latest:%Y-%m-%d}."
        )
    return day
