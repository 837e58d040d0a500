"""Scenario times: date-times, clock times on election day, and ``H-1 08:00`` offsets, read from
scenario text and shown as people write them (``27 November 2024 10:52``).

All model time is minutes (float) from the scenario epoch, a local date-time in the scenario's
time zone (WITA, Asia/Makassar, for Kutim). Local times are used throughout, so no conversion is
needed; the time zone is recorded for outputs that show wall-clock times.
"""

from __future__ import annotations

import datetime as dt
import re

from babel.dates import format_date, format_time

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_HDAY = re.compile(r"^H([+-]\d+)?(?:\s+(\d{1,2}:\d{2}))?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]|$)")

MAX_WINDOW_DAYS = 400  # the longest scenario window; Operasi Mantap Praja Mahakam 2024 ran 126 days


def parse_clock(text: str) -> dt.time:
    """``"07:00"`` -> ``time(7, 0)``; raises ValueError naming what is valid."""
    m = _CLOCK.match(text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"'{text}' is not a clock time; use HH:MM from 00:00 to 23:59")
    return dt.time(int(m.group(1)), int(m.group(2)))


def parse_date(text: str) -> dt.date:
    """``"2024-11-27"`` -> ``date(2024, 11, 27)``; raises ValueError naming what is valid.

    Only ``YYYY-MM-DD``: a date that does not exist (``2024-02-30``) is refused, not rolled over.
    """
    s = text.strip()
    if not _DATE.match(s):
        raise ValueError(f"'{text}' is not a date; write YYYY-MM-DD, e.g. 2024-11-27")
    try:
        return dt.date.fromisoformat(s)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a date that exists ({exc}); write YYYY-MM-DD, e.g. 2024-11-27") from None


def parse_when(value: object, election_day: dt.date) -> dt.datetime:
    """A scenario time as a naive local date-time.

    Accepts a date-time (``2024-11-28T08:00`` or ``2024-11-28 08:00``), a date (midnight), a clock
    time on election day (``07:00``) or an offset in days from election day (``H-1 08:00``, ``H+6``),
    at most :data:`MAX_WINDOW_DAYS` either way (so no offset runs off the calendar). Times are local:
    a UTC offset (``+08:00``) is refused rather than silently dropped.
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    text = str(value).strip()
    if _CLOCK.match(text):
        return dt.datetime.combine(election_day, parse_clock(text))
    m = _HDAY.match(text)
    if m:
        days = int(m.group(1) or 0)
        if abs(days) > MAX_WINDOW_DAYS:
            raise ValueError(
                f"'{text}' is {abs(days):,} days from election day; scenario times lie within "
                f"{MAX_WINDOW_DAYS} days of it (H-{MAX_WINDOW_DAYS} to H+{MAX_WINDOW_DAYS})"
            )
        clock = parse_clock(m.group(2)) if m.group(2) else dt.time()
        return dt.datetime.combine(election_day + dt.timedelta(days=days), clock)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        if _DATE_LIKE.match(text):
            raise ValueError(f"'{text}' is not a date-time that exists ({exc}); e.g. 2024-11-28T08:00") from None
        raise ValueError(
            f"'{text}' is not a time; use a date-time (2024-11-28T08:00), "
            "a clock time on election day (07:00) or an offset (H-1 08:00)"
        ) from None
    if when.tzinfo is not None:
        raise ValueError(f"'{text}' has a UTC offset; write local time without one (e.g. 2024-11-28T08:00)")
    return when


def minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    """Minutes from ``start`` to ``end`` [min]."""
    return (end - start).total_seconds() / 60.0


def date(d: dt.date, lang: str) -> str:
    """'27 November 2024' in both languages (day first, as Indonesian readers and Kutim's English readers write it)."""
    return format_date(d, format="d MMMM y", locale=lang)


def clock(d: dt.datetime, lang: str) -> str:
    """'10:52' (24-hour clock)."""
    return format_time(d, format="HH:mm", locale=lang)


def moment(epoch: dt.datetime, minutes: float) -> dt.datetime:
    """The local date-time ``minutes`` model minutes after ``epoch`` (the one conversion)."""
    return epoch + dt.timedelta(minutes=float(minutes))


def when(epoch: dt.datetime, minutes: float, lang: str) -> str:
    """Model minutes from the epoch as a local date and clock time ('27 November 2024 10:52')."""
    d = moment(epoch, minutes)
    return f"{date(d.date(), lang)} {clock(d, lang)}"
