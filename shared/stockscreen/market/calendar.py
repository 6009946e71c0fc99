"""The NYSE trading calendar: full-day closures (holidays and special closures).

Rules (NYSE Rule 7.2 and its history):
- New Year's Day, Independence Day, Christmas: fixed dates; a Saturday holiday is observed on the
  Friday before, a Sunday holiday on the Monday after. Exception: New Year's Day on a Saturday is
  not observed on the Friday before (that Friday closes the previous year's books).
- Martin Luther King Jr. Day (3rd Monday of January, since 1998), Washington's Birthday (3rd Monday
  of February), Memorial Day (last Monday of May), Labor Day (1st Monday of September),
  Thanksgiving (4th Thursday of November).
- Good Friday (two days before Western Easter).
- Juneteenth (19 June, observed like the fixed holidays) since 2022.
- Special closures: national days of mourning, weather and 9/11 (listed in ``SPECIAL_CLOSURES``).
Early closes (13:00) are full trading days and are not modelled.

Weeks run Monday to Sunday (ISO 8601 weeks), months are calendar months: ``week_keys`` and ``month_keys``
number them, for weekly and monthly bars.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Unscheduled full-day closures since 1990.
SPECIAL_CLOSURES: dict[dt.date, str] = {
    dt.date(1994, 4, 27): "National day of mourning: Richard Nixon",
    dt.date(2001, 9, 11): "September 11 attacks",
    dt.date(2001, 9, 12): "September 11 attacks",
    dt.date(2001, 9, 13): "September 11 attacks",
    dt.date(2001, 9, 14): "September 11 attacks",
    dt.date(2004, 6, 11): "National day of mourning: Ronald Reagan",
    dt.date(2007, 1, 2): "National day of mourning: Gerald Ford",
    dt.date(2012, 10, 29): "Hurricane Sandy",
    dt.date(2012, 10, 30): "Hurricane Sandy",
    dt.date(2018, 12, 5): "National day of mourning: George H. W. Bush",
    dt.date(2025, 1, 9): "National day of mourning: Jimmy Carter",
}


def easter(year: int) -> dt.date:
    """Western (Gregorian) Easter Sunday, by the anonymous Gregorian algorithm."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


@cache
def holidays(year: int) -> dict[dt.date, str]:
    """Full-day closures in ``year`` -> their name."""
    mon, thu = 0, 3
    days: dict[dt.date, str] = {}
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != 5:  # a Saturday New Year's Day is not observed on Friday Dec 31
        days[_observed(new_year)] = "New Year's Day"
    if year >= 1998:
        days[_nth_weekday(year, 1, mon, 3)] = "Martin Luther King Jr. Day"
    days[_nth_weekday(year, 2, mon, 3)] = "Washington's Birthday"
    days[easter(year) - dt.timedelta(days=2)] = "Good Friday"
    days[_last_weekday(year, 5, mon)] = "Memorial Day"
    if year >= 2022:
        days[_observed(dt.date(year, 6, 19))] = "Juneteenth"
    days[_observed(dt.date(year, 7, 4))] = "Independence Day"
    days[_nth_weekday(year, 9, mon, 1)] = "Labor Day"
    days[_nth_weekday(year, 11, thu, 4)] = "Thanksgiving Day"
    days[_observed(dt.date(year, 12, 25))] = "Christmas Day"
    for day, name in SPECIAL_CLOSURES.items():
        if day.year == year:
            days[day] = name
    return days


def closure(day: dt.date) -> str | None:
    """Why the exchange is closed on ``day`` (weekend, holiday), or None on a trading day."""
    if day.weekday() >= 5:
        return "weekend"
    return holidays(day.year).get(day)


def is_trading_day(day: dt.date) -> bool:
    return closure(day) is None


def trading_days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Trading days in [start, end], ascending."""
    day = start
    while day <= end:
        if is_trading_day(day):
            yield day
        day += dt.timedelta(days=1)


def previous_trading_day(day: dt.date) -> dt.date:
    """The last trading day on or before ``day``."""
    while not is_trading_day(day):
        day -= dt.timedelta(days=1)
    return day


def sessions_before(day: dt.date, n: int) -> dt.date:
    """The trading day ``n`` sessions before the last trading day on or before ``day``."""
    current = previous_trading_day(day)
    for _ in range(n):
        current = previous_trading_day(current - dt.timedelta(days=1))
    return current


def week_keys(dates: NDArray[np.datetime64]) -> NDArray[np.int64]:
    """The week (Monday to Sunday, as ISO 8601 counts them) of each date as a number, counted from the week
    of 1970-01-01 (a Thursday, so that week began on Monday 1969-12-29): equal keys, same week, and the
    next week is one more. A week across New Year is one week (2020-12-28 to 2021-01-03 is ISO 2020-W53)."""
    return np.asarray((dates.astype("datetime64[D]").astype(np.int64) + 3) // 7, dtype=np.int64)


def month_keys(dates: NDArray[np.datetime64]) -> NDArray[np.int64]:
    """The calendar month of each date as a number (months since January 1970)."""
    return np.asarray(dates.astype("datetime64[M]").astype(np.int64), dtype=np.int64)


# --- regular trading hours ----------------------------------------------------------------------

#: The exchange's time zone and its regular session (09:30-16:00 local; early closes not modelled).
EXCHANGE_TZ = "America/New_York"
SESSION_OPEN = dt.time(9, 30)
SESSION_CLOSE = dt.time(16, 0)


@cache
def _exchange_tz() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(EXCHANGE_TZ)


def market_closed_reason(at: dt.datetime) -> str | None:
    """Why the regular session is not running at ``at`` (an aware datetime), or None while it is.

    Open from 09:30 (inclusive) to 16:00 (exclusive) New York time on trading days."""
    if at.tzinfo is None:
        raise ValueError("market hours need an aware datetime")
    local = at.astimezone(_exchange_tz())
    why = closure(local.date())
    if why is not None:
        return why
    if local.time() < SESSION_OPEN:
        return "before the open"
    if local.time() >= SESSION_CLOSE:
        return "after the close"
    return None


def is_market_open(at: dt.datetime) -> bool:
    """True during the regular session (09:30-16:00 New York time) of a trading day."""
    return market_closed_reason(at) is None


def next_open(at: dt.datetime) -> dt.datetime:
    """The start (UTC) of the first regular session that opens after ``at`` (an aware datetime): today's
    09:30 New York time before the open of a trading day, else the next trading day's."""
    if at.tzinfo is None:
        raise ValueError("market hours need an aware datetime")
    tz = _exchange_tz()
    local = at.astimezone(tz)
    day = local.date()
    if local.time() >= SESSION_OPEN:
        day += dt.timedelta(days=1)
    while not is_trading_day(day):
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, SESSION_OPEN, tzinfo=tz).astimezone(dt.UTC)


def session_close(day: dt.date) -> dt.datetime:
    """The end (UTC) of ``day``'s regular session, 16:00 New York time (what a daily close is stamped with)."""
    return dt.datetime.combine(day, SESSION_CLOSE, tzinfo=_exchange_tz()).astimezone(dt.UTC)
