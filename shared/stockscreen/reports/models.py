"""Report types: the schedule settings a user keeps, and what the workflow passes between its tasks."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema, field_validator

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


_HHMM = r"([01][0-9]|2[0-3]):[0-5][0-9]"
_HHMM_RE = re.compile(_HHMM)
#: what a client sends and gets back for a local time of day (the OpenAPI ``pattern``)
LOCAL_TIME_PATTERN = f"^{_HHMM}$"
_LOCAL_TIME_RULE = "send_time is a local time in whole minutes, HH:MM (00:00 to 23:59)"


def parse_local_time(v: object) -> dt.time:
    """A naive time in whole minutes from a ``dt.time`` or an ``HH:MM`` string, or ValueError saying why not."""
    if isinstance(v, dt.time):
        if v.second or v.microsecond or v.tzinfo is not None:
            raise ValueError(_LOCAL_TIME_RULE)
        return v
    if isinstance(v, str) and _HHMM_RE.fullmatch(v):
        return dt.time(int(v[:2]), int(v[3:]))
    raise ValueError(_LOCAL_TIME_RULE)


#: A local time of day in whole minutes: a ``dt.time`` in Python, ``"HH:MM"`` in JSON, documented by its pattern
#: (not ``format: time``, which is RFC 3339's full-time with seconds and an offset, a different thing).
LocalTime = Annotated[
    dt.time,
    PlainValidator(parse_local_time),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME_PATTERN, "examples": ["08:00"]}),
]


class ScheduleSettings(BaseModel):
    """Which scheduled reports a user gets, and when (local time in their IANA time zone)."""

    model_config = ConfigDict(extra="forbid")

    daily_enabled: bool = False
    weekly_enabled: bool = False
    weekly_day: Weekday = "saturday"
    send_time: LocalTime = Field(
        default=dt.time(8, 0),
        description="local time, HH:MM (minutes only)",
        json_schema_extra={"default": "08:00"},  # as it is sent, not pydantic's isoformat of dt.time
    )
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        if v not in _zones():
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as Europe/Paris)")
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
