"""Report types: the schedule settings a user keeps, and what the workflow passes between its tasks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["daily", "weekly", "screen"]
SCHEDULED: tuple[Kind, ...] = ("daily", "weekly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (ValueError when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, KeyError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


class ScheduleSettings(BaseModel):
    """Which scheduled reports a user gets, and when (local time in their IANA time zone)."""

    model_config = ConfigDict(extra="forbid")

    daily_enabled: bool = False
    weekly_enabled: bool = False
    weekly_day: Weekday = "saturday"
    send_time: dt.time = Field(default=dt.time(8, 0), description="local time, HH:MM (minutes only)")
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        if v not in _zones():
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as Europe/Paris)")
        return v

    @field_validator("send_time")
    @classmethod
    def _minutes(cls, v: dt.time) -> dt.time:
        if v.second or v.microsecond or v.tzinfo is not None:
            raise ValueError("send_time is a local time in whole minutes, HH:MM")
        return v

    @property
    def weekday_index(self) -> int:
        return WEEKDAYS.index(self.weekly_day)


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


class Due(BaseModel):
    """One report to build and send: the workflow's Map item (references only)."""

    model_config = ConfigDict(extra="ignore")

    user_id: str
    kind: Kind
    period: str
    session: dt.date | None = None  # the last market session the report covers
    screen_id: str | None = None
    send: bool = True
    #: False for a report asked for now (CLI, make dev's first digest): the schedule's opt-out does not apply
    scheduled: bool = True
