"""Fatigue controls as functions of an injected clock: quiet hours in the user's time zone (DST
included), the local day a daily cap counts, when the day's overflow summary goes out."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from stockscreen.alerts import fatigue
from stockscreen.alerts.models import NotificationPreferences, NotificationPreferencesUpdate, QuietHours

UTC = dt.UTC


def prefs(tz: str = "America/New_York", start: str = "22:00", end: str = "07:00") -> NotificationPreferences:
    return NotificationPreferences(timezone=tz, quiet_hours=QuietHours(start=start, end=end))


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_overnight_quiet_hours_hold_until_the_local_morning() -> None:
    p = prefs()
    # 23:30 EST (04:30 UTC next day) -> 07:00 EST = 12:00 UTC
    assert fatigue.quiet_until(at(2026, 12, 3, 4, 30), p) == at(2026, 12, 3, 12)
    # 06:59 EST -> the same morning
    assert fatigue.quiet_until(at(2026, 12, 3, 11, 59), p) == at(2026, 12, 3, 12)
    # 07:00 EST sharp: quiet hours are over; 21:59 EST: not yet
    assert fatigue.quiet_until(at(2026, 12, 3, 12), p) is None
    assert fatigue.quiet_until(at(2026, 12, 4, 2, 59), p) is None
    assert fatigue.quiet_until(at(2026, 12, 4, 3), p) == at(2026, 12, 4, 12)  # 22:00 EST


def test_quiet_hours_within_one_day_and_none() -> None:
    lunch = prefs("Europe/Berlin", "12:00", "13:30")
    assert fatigue.quiet_until(at(2026, 12, 3, 11, 15), lunch) == at(2026, 12, 3, 12, 30)  # 12:15 CET
    assert fatigue.quiet_until(at(2026, 12, 3, 10, 59), lunch) is None
    assert fatigue.quiet_until(at(2026, 12, 3, 4), NotificationPreferences()) is None


def test_quiet_hours_across_the_spring_forward_night_end_at_local_seven() -> None:
    p = prefs()
    # 2026-03-08: New York springs forward at 02:00 (EST -> EDT). 22:30 EST on the 7th = 03:30 UTC on the 8th.
    # The night is an hour shorter: 07:00 EDT = 11:00 UTC (not 12:00 as in winter).
    assert fatigue.quiet_until(at(2026, 3, 8, 3, 30), p) == at(2026, 3, 8, 11)
    # fall back (2026-11-01, EDT -> EST): 23:00 EDT on Oct 31 = 03:00 UTC; 07:00 EST = 12:00 UTC
    assert fatigue.quiet_until(at(2026, 11, 1, 3), p) == at(2026, 11, 1, 12)
    # the same UTC instant is in quiet hours in New York and not in Tokyo (15:30 JST)
    assert fatigue.quiet_until(at(2026, 3, 8, 6, 30), prefs("Asia/Tokyo")) is None


def test_quiet_hours_that_end_in_the_skipped_hour() -> None:
    p = prefs(start="01:00", end="02:30")  # 02:30 does not exist on 2026-03-08 in New York
    until = fatigue.quiet_until(at(2026, 3, 8, 6, 15), p)  # 01:15 EST
    assert until == at(2026, 3, 8, 7, 30)  # read with the offset before the change: 03:30 EDT, the gap's other side


def test_the_cap_counts_the_local_day_and_its_summary_waits_for_midnight_or_the_quiet_end() -> None:
    ny = NotificationPreferences(timezone="America/New_York")
    # 23:00 EST on Dec 2 is Dec 3 in UTC, but the cap counts Dec 2
    assert fatigue.local_day(at(2026, 12, 3, 4), ny) == dt.date(2026, 12, 2)
    assert fatigue.cap_release(at(2026, 12, 3, 4), ny) == at(2026, 12, 3, 5)  # next local midnight
    # with quiet hours 22:00-07:00 midnight is quiet: the summary goes out at 07:00
    assert fatigue.cap_release(at(2026, 12, 2, 20), prefs()) == at(2026, 12, 3, 12)
    # the day Berlin falls back (CEST -> CET): its next midnight is 23:00 UTC
    berlin = NotificationPreferences(timezone="Europe/Berlin")
    assert fatigue.cap_release(at(2026, 10, 25, 12), berlin) == at(2026, 10, 25, 23)  # 00:00 CET = 23:00 UTC


@pytest.mark.parametrize(
    "doc",
    [
        {"timezone": "Mars/Olympus"},
        {"quiet_hours": {"start": "22:00", "end": "22:00"}},
        {"quiet_hours": {"start": "24:00", "end": "07:00"}},
        {"daily_caps": {"email": 0}},
        {"sns_target": "0123"},
        {"channels": {"webhook": True}},
        {"channels": {"fax": True}},
        {"webhook_url": "ftp://example.com/x"},
    ],
)
def test_bad_preferences_are_rejected(doc: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NotificationPreferencesUpdate.model_validate(doc)


def test_good_preferences_parse() -> None:
    doc = NotificationPreferencesUpdate.model_validate(
        {
            "timezone": "America/New_York",
            "quiet_hours": {"start": "22:00", "end": "07:00"},
            "sns_target": "+14155550100",
            "webhook_status": "active",  # read-only fields sent back are accepted and ignored
            "webhook_secret_hint": "ab12",
        }
    )
    assert doc.daily_caps.email == 20 and doc.channels.sns and not doc.channels.webhook
