"""When a scheduled report is due, in the user's time zone, across daylight-saving changes.

The fan-out (EventBridge Scheduler, every ``TICK_MINUTES``) asks, for each user with a schedule, which
of their reports are due *now*; the (user, kind, period) key in ``report_runs`` makes a report go out
once however many ticks see it due. Rules:

* A local time that does not exist on a day (the spring-forward gap, e.g. 02:30 in New York on the
  second Sunday of March) happens when the gap ends (03:00 local); a local time that happens twice
  (the autumn fall-back) happens the first time. Either way once per day.
* Daily digest of the market session ``S`` (period ``S``): due at the user's first local send time at
  or after the session's close (16:00 New York), so a digest never describes a session that has not
  closed, and a session's digest goes out once (a weekend has no new session: nothing is due).
* Weekly report (period ``YYYY-Www``, the ISO week of the local send date): due at the send time on
  the chosen weekday.
* Never late at night: a report whose due time passed more than ``LATE_AFTER`` ago (the scheduler was
  down) is not sent; the next one is.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from stockscreen.reports.models import ScheduleSettings, zone

UTC = dt.UTC
MARKET_TZ = ZoneInfo("America/New_York")
MARKET_CLOSE = dt.time(16, 0)
TICK_MINUTES = 15
LATE_AFTER = dt.timedelta(hours=6)


def _local(u: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return u.astimezone(tz).replace(tzinfo=None)


def occurrence(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of local ``day`` ``at`` in ``tz``: the first instant whose local clock reads at
    least that (so a time in a DST gap is the end of the gap; a repeated time is its first occurrence)."""
    naive = dt.datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _local(first, tz) == naive:
        return first  # exists (the first of two when repeated)
    # in a gap: fold=1 reads the wall clock with the offset after the transition (earlier in UTC)
    lo = int(min(first, naive.replace(tzinfo=tz, fold=1).astimezone(UTC)).timestamp())
    hi = int(first.timestamp())
    while hi - lo > 1:  # whole seconds: local(lo) < naive <= local(hi)
        mid = (lo + hi) // 2
        if _local(dt.datetime.fromtimestamp(mid, UTC), tz) >= naive:
            hi = mid
        else:
            lo = mid
    return dt.datetime.fromtimestamp(hi, UTC)


def session_close(session: dt.date) -> dt.datetime:
    return occurrence(session, MARKET_CLOSE, MARKET_TZ)


def daily_due_at(session: dt.date, settings: ScheduleSettings) -> dt.datetime:
    """When the digest of ``session`` is due: the first local send time at or after its close."""
    tz = zone(settings.time_zone)
    close = session_close(session)
    day = close.astimezone(tz).date()
    at = occurrence(day, settings.send_time, tz)
    if at < close:
        at = occurrence(day + dt.timedelta(days=1), settings.send_time, tz)
    return at


def week_period(day: dt.date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def weekly_due(settings: ScheduleSettings, now: dt.datetime) -> tuple[str, dt.datetime]:
    """(period, due instant) of the latest weekly occurrence at or before ``now``."""
    tz = zone(settings.time_zone)
    today = now.astimezone(tz).date()
    day = today - dt.timedelta(days=(today.weekday() - settings.weekday_index) % 7)
    at = occurrence(day, settings.send_time, tz)
    if at > now:
        day -= dt.timedelta(days=7)
        at = occurrence(day, settings.send_time, tz)
    return week_period(day), at


def due(settings: ScheduleSettings, now: dt.datetime, last_session: dt.date | None) -> list[tuple[str, str]]:
    """(kind, period) of the user's reports due at ``now`` (UTC, aware)."""
    out: list[tuple[str, str]] = []
    if settings.daily_enabled and last_session is not None:
        at = daily_due_at(last_session, settings)
        if at <= now < at + LATE_AFTER:
            out.append(("daily", last_session.isoformat()))
    if settings.weekly_enabled and last_session is not None:
        period, at = weekly_due(settings, now)
        if at <= now < at + LATE_AFTER:
            out.append(("weekly", period))
    return out
