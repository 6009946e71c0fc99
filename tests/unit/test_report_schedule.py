"""When scheduled reports go out: the fan-out's 15-minute ticks simulated over days that cross a
daylight-saving change in both directions; each report goes out once, at the user's local time."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from stockscreen.reports import schedule
from stockscreen.reports.models import ScheduleSettings

UTC = dt.UTC
NY = ZoneInfo("America/New_York")


def _last_session(now: dt.datetime) -> dt.date:
    """The last weekday session whose close has passed (the loaded data at ``now``)."""
    day = now.astimezone(NY).date()
    while True:
        if day.weekday() < 5 and schedule.session_close(day) <= now:
            return day
        day -= dt.timedelta(days=1)


def _simulate(s: ScheduleSettings, start: dt.datetime, days: int) -> dict[tuple[str, str], list[dt.datetime]]:
    """Every tick from ``start`` for ``days``: (kind, period) -> the ticks that found it due. The first one
    sends it (report_runs keeps the rest from sending again)."""
    sent: dict[tuple[str, str], list[dt.datetime]] = {}
    now = start
    while now < start + dt.timedelta(days=days):
        for key in schedule.due(s, now, _last_session(now)):
            sent.setdefault(key, []).append(now)
        now += dt.timedelta(minutes=schedule.TICK_MINUTES)
    for ticks in sent.values():  # due over one contiguous window, never again later (no second send)
        assert all(b - a == dt.timedelta(minutes=schedule.TICK_MINUTES) for a, b in pairwise(ticks))
        assert ticks[-1] - ticks[0] < schedule.LATE_AFTER
    return {k: v[:1] for k, v in sent.items()}


@pytest.mark.parametrize(
    ("zone", "start", "utc_before", "utc_after"),
    [
        ("America/New_York", dt.datetime(2026, 3, 4, tzinfo=UTC), 13, 12),  # spring forward, 8 March
        ("America/New_York", dt.datetime(2026, 10, 28, tzinfo=UTC), 12, 13),  # fall back, 1 November
        ("Europe/London", dt.datetime(2026, 3, 25, tzinfo=UTC), 8, 7),  # spring forward, 29 March
        ("Europe/London", dt.datetime(2026, 10, 21, tzinfo=UTC), 7, 8),  # fall back, 25 October
    ],
)
def test_daily_digest_at_local_time_across_dst(zone: str, start: dt.datetime, utc_before: int, utc_after: int) -> None:
    s = ScheduleSettings(daily_enabled=True, send_time=dt.time(8, 0), time_zone=zone)
    sent = _simulate(s, start, 10)
    # one digest per session, each exactly once, and always at 08:00 local
    assert all(len(v) == 1 for v in sent.values())
    times = sorted(v[0] for v in sent.values())
    assert len(times) >= 6
    assert {t.astimezone(ZoneInfo(zone)).time() for t in times} == {dt.time(8, 0)}
    hours = [t.hour for t in times]
    assert hours[0] == utc_before and hours[-1] == utc_after  # the UTC instant moved with the clocks
    # a session's digest follows its close: the digest of Friday goes out Saturday 08:00 local (after the close)
    for (kind, period), (at,) in sent.items():
        assert kind == "daily" and at > schedule.session_close(dt.date.fromisoformat(period))


def test_weekly_report_in_the_spring_forward_gap() -> None:
    """02:30 does not exist in New York on 8 March 2026: the report goes out when the gap ends (03:00
    EDT = 07:00 UTC), once; the week before and after at 02:30 local."""
    s = ScheduleSettings(
        weekly_enabled=True, weekly_day="sunday", send_time=dt.time(2, 30), time_zone="America/New_York"
    )
    sent = _simulate(s, dt.datetime(2026, 2, 28, tzinfo=UTC), 16)
    assert {k: [t.isoformat() for t in v] for k, v in sent.items()} == {
        ("weekly", "2026-W09"): ["2026-03-01T07:30:00+00:00"],  # EST: 02:30 local
        ("weekly", "2026-W10"): ["2026-03-08T07:00:00+00:00"],  # the gap: 03:00 EDT
        ("weekly", "2026-W11"): ["2026-03-15T06:30:00+00:00"],  # EDT: 02:30 local
    }


def test_weekly_report_in_the_fall_back_repeat() -> None:
    """01:30 happens twice in New York on 1 November 2026: the report goes out the first time only."""
    s = ScheduleSettings(
        weekly_enabled=True, weekly_day="sunday", send_time=dt.time(1, 30), time_zone="America/New_York"
    )
    sent = _simulate(s, dt.datetime(2026, 10, 24, tzinfo=UTC), 16)
    assert {k: [t.isoformat() for t in v] for k, v in sent.items()} == {
        ("weekly", "2026-W43"): ["2026-10-25T05:30:00+00:00"],
        ("weekly", "2026-W44"): ["2026-11-01T05:30:00+00:00"],  # the first 01:30 (EDT), not 06:30 UTC
        ("weekly", "2026-W45"): ["2026-11-08T06:30:00+00:00"],
    }


def test_occurrence_in_gap_and_repeat() -> None:
    assert schedule.occurrence(dt.date(2026, 3, 8), dt.time(2, 30), NY) == dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert schedule.occurrence(dt.date(2026, 11, 1), dt.time(1, 30), NY) == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # a half-hour DST shift: 02:00 -> 02:30 on 4 October 2026
    got = schedule.occurrence(dt.date(2026, 10, 4), dt.time(2, 15), lord_howe)
    assert got.astimezone(lord_howe).time() == dt.time(2, 30)


def test_late_reports_are_not_sent_at_night() -> None:
    """A scheduler down for a day does not send yesterday's digest at 3 a.m.: past LATE_AFTER it is dropped."""
    s = ScheduleSettings(daily_enabled=True, send_time=dt.time(8, 0), time_zone="America/New_York")
    session = dt.date(2026, 3, 10)
    at = schedule.daily_due_at(session, s)
    assert schedule.due(s, at, session) == [("daily", "2026-03-10")]
    assert schedule.due(s, at - dt.timedelta(minutes=1), session) == []
    assert schedule.due(s, at + schedule.LATE_AFTER, session) == []


def test_settings_validation() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        ScheduleSettings(time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="whole minutes"):
        ScheduleSettings(send_time=dt.time(8, 0, 30))
    with pytest.raises(ValidationError):
        ScheduleSettings.model_validate({"weekly_day": "someday"})
