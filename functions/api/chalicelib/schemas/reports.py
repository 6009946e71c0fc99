"""Reports: the list, a download link, the schedule settings, an on-demand screen report."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from chalicelib.models import ApiModel
from chalicelib.schemas.common import Page
from stockscreen.reports.models import ScheduleSettings

__all__ = [
    "DownloadQuery",
    "Page",
    "ReportDownload",
    "ReportPublic",
    "ReportSchedule",
    "ReportUnsubscribePublic",
    "ReportUnsubscribeQuery",
    "ReportsPublic",
    "ScreenReportCreate",
    "ScreenReportStarted",
]


class ReportPublic(ApiModel):
    id: str
    kind: Literal["daily", "weekly", "screen"]
    period: str
    title: str
    status: str
    has_csv: bool
    pdf_bytes: int | None
    created_at: str
    sent_at: str | None


class ReportsPublic(ApiModel):
    data: list[ReportPublic]
    count: int


class DownloadQuery(ApiModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["pdf", "csv"] = "pdf"


class ReportDownload(ApiModel):
    url: str
    expires_at: str


class ReportSchedule(ScheduleSettings, ApiModel):
    """Which scheduled reports you get and when: a local time (HH:MM) in an IANA time zone; the weekly
    report on ``weekly_day``. The daily digest follows each market session, at that time."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class ScreenReportCreate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    screen_id: uuid.UUID


class ScreenReportStarted(ApiModel):
    period: str
    status: Literal["started"]


class ReportUnsubscribeQuery(ApiModel):
    model_config = ConfigDict(extra="ignore")
    token: Annotated[str, StringConstraints(min_length=10, max_length=400)]


class ReportUnsubscribePublic(ApiModel):
    unsubscribed: bool
    kind: str
