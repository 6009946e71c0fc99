"""Fatigue controls as pure functions of a clock: quiet hours in the user's time zone, the local day a
daily cap counts, and when held messages are released. Every function takes ``now`` (aware, any zone)
and returns aware UTC datetimes, so tests inject the clock (DST included)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from stockscreen.alerts.models import NotificationPreferences


def _hhmm(text: str) -> dt.time:
    h, m = text.split(":")
    return dt.time(int(h), int(m))


def _at(day: dt.date, t: dt.time, tz: ZoneInfo) -> dt.datetime:
    """``day`` at local time ``t`` in UTC. A local time skipped by a DST change (02:30 on the spring-forward
    night) is read with the offset before the change, i.e. the hour after the gap begins; a repeated time
    (the fall-back hour) is its first occurrence."""
    return dt.datetime.combine(day, t, tzinfo=tz).astimezone(dt.UTC)


def quiet_until(now: dt.datetime, prefs: NotificationPreferences) -> dt.datetime | None:
    """The end of the quiet hours ``now`` falls in (UTC), or None when it is not in quiet hours."""
    q = prefs.quiet_hours
    if q is None:
        return None
    tz = ZoneInfo(prefs.timezone)
    local = now.astimezone(tz)
    start, end, t, day = _hhmm(q.start), _hhmm(q.end), local.time(), local.date()
    if start < end:  # within one day, e.g. 12:00-13:00
        return _at(day, end, tz) if start <= t < end else None
    if t >= start:  # wraps midnight, e.g. 22:00-07:00: the evening part ends tomorrow
        return _at(day + dt.timedelta(days=1), end, tz)
    if t < end:  # the morning part ends today
        return _at(day, end, tz)
    return None


def local_day(now: dt.datetime, prefs: NotificationPreferences) -> dt.date:
    """The user's calendar day at ``now`` (what a daily cap counts)."""
    return now.astimezone(ZoneInfo(prefs.timezone)).date()


def cap_release(now: dt.datetime, prefs: NotificationPreferences) -> dt.datetime:
    """When the day's overflow is sent as one summary: the user's next local midnight, or the end of the
    quiet hours when midnight falls in them."""
    tz = ZoneInfo(prefs.timezone)
    midnight = _at(now.astimezone(tz).date() + dt.timedelta(days=1), dt.time(0, 0), tz)
    return quiet_until(midnight, prefs) or midnight
