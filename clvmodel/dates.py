"""Dates as clvmodel reads them: one rule, one parser for a single day, one for a column.

The rule: a date is written ISO ``YYYY-MM-DD``, optionally followed by a time of day
(``2026-09-01``, ``2026-09-01 15:00``, ``2026-09-01T15:00+02:00``). Another form is read
only under an explicit format (``date_format="%d/%m/%Y"``, the command lines'
``--date-format``); without one it is refused with a message naming the value. A date is
never guessed value by value: ``01/06/2026`` could be 1 June or 6 January.

Every as-of date, cutoff and date column goes through here, so that "2026-09-01",
"2026-09-01T15:00+02:00" and a ``pd.Timestamp`` all mean the same day everywhere (time
zones dropped, time of day floored), and a bad value gets the same message wherever it is
typed.
"""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd

__all__ = ["ISO_DAY", "as_day", "check_as_of", "day_after", "parse_days"]

#: How the one rule is written in messages.
ISO_DAY = "YYYY-MM-DD"
#: A trailing UTC offset after a time of day ("...T10:00:00Z", "... 10:00+0530"): dropped,
#: so that the local calendar day is kept.
_TZ_SUFFIX = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$")
#: What the rule admits before pandas' ISO 8601 parser reads it: a whole day first.
_ISO_START = r"^\d{4}-\d{2}-\d{2}(?:[T ]|$)"


def _how(date_format: str | None) -> str:
    """The form a date must have, and what to do about another, for messages."""
    if date_format is None:
        return (
            f"a date written {ISO_DAY}, like 2026-09-01; got {{value}}. A date in another form "
            "is never guessed (01/06/2026 could be 1 June or 6 January): write it "
            f"{ISO_DAY}, or give its format (date_format, --date-format, e.g. %d/%m/%Y)"
        )
    return f"a date in the format {date_format!r} (the date format given); got {{value}}"


def as_day(value: object, *, name: str = "as_of", date_format: str | None = None) -> pd.Timestamp:
    """`value` as a day (midnight, no time zone).

    Text follows the module's rule: ISO ``YYYY-MM-DD`` (a time of day may follow), or
    `date_format` (a :func:`~datetime.datetime.strptime` format) when given. Timestamps
    and dates are taken as they are; numbers are not dates.

    Raises
    ------
    ValueError
        Naming `name` and the value, if it is empty or not a date of that form.
    """
    day = pd.NaT
    if isinstance(value, str):
        day = parse_days(pd.Series([value], dtype="str"), date_format=date_format).iloc[0]
    elif isinstance(value, datetime.date | np.datetime64):  # pd.Timestamp is a datetime
        day = pd.Timestamp(value)
    if pd.isna(day):
        raise ValueError(f"{name} must be {_how(date_format).format(value=repr(value))}.")
    return (day.tz_localize(None) if day.tzinfo else day).normalize()


def parse_days(text: pd.Series, *, date_format: str | None = None) -> pd.Series:
    """A column of date strings as days, by the module's rule (`date_format`, when given,
    instead of ISO); NaT where empty or not a date of that form (callers report them)."""
    stamp = text.astype("str").str.strip()
    if date_format is None:
        stamp = stamp.str.replace(_TZ_SUFFIX, r"\1", regex=True)
        stamp = stamp.where(stamp.str.match(_ISO_START), "")
    fmt = "ISO8601" if date_format is None else date_format
    parsed = pd.to_datetime(stamp.where(stamp != ""), errors="coerce", format=fmt)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
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
