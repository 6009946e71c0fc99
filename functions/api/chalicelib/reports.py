"""Reports: the caller's reports and their download links, the schedule settings, an on-demand screen
report, and the one-click unsubscribe of report emails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.authn import principal
from chalicelib.common import reports
from chalicelib.http import json_body, query, route
from chalicelib.lazy import LazyModule
from chalicelib.paths import uuid_path

if TYPE_CHECKING:
    from chalicelib.schemas import reports as schema
else:
    schema = LazyModule("chalicelib.schemas.reports")

bp = Blueprint(__name__)


@route(
    bp,
    "/reports",
    methods=["GET"],
    auth="required",
    feature="reports",
    params=lambda: schema.Page,
    response=lambda: schema.ReportsPublic,
)
def list_reports() -> dict[str, Any]:
    """The caller's stored reports (digests, weekly reports, screen reports), newest first."""
    q = query(bp.current_request, schema.Page)
    data, total = reports().list_mine(principal().user_id, q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/reports/{report_id}/download",
    methods=["GET"],
    auth="required",
    feature="reports",
    params=lambda: schema.DownloadQuery,
    response=lambda: schema.ReportDownload,
    owned=True,
)
def download_report(report_id: str) -> dict[str, Any]:
    """A presigned link (valid 7 days) to the report's PDF, or a screen report's CSV."""
    q = query(bp.current_request, schema.DownloadQuery)
    return reports().download(principal().user_id, uuid_path(report_id, "report"), q.format)


@route(
    bp,
    "/reports/schedule",
    methods=["GET"],
    auth="required",
    feature="reports",
    response=lambda: schema.ReportSchedule,
)
def get_report_schedule() -> dict[str, Any]:
    """Which scheduled reports the caller gets, and when (local time and time zone)."""
    return reports().get_settings(principal().user_id).model_dump(mode="json")


@route(
    bp,
    "/reports/schedule",
    methods=["PUT"],
    auth="required",
    feature="reports",
    body=lambda: schema.ReportSchedule,
    response=lambda: schema.ReportSchedule,
)
def put_report_schedule() -> dict[str, Any]:
    """Set the schedule: daily digest and/or weekly report, the weekday, the local time, the time zone."""
    b = json_body(bp.current_request, schema.ReportSchedule)
    return reports().save_settings(principal().user_id, b).model_dump(mode="json")


@route(
    bp,
    "/reports/screen",
    methods=["POST"],
    auth="required",
    feature="reports",
    body=lambda: schema.ScreenReportCreate,
    response=lambda: schema.ScreenReportStarted,
    status=202,
)
def create_screen_report() -> dict[str, Any]:
    """Run one of the caller's saved screens into a report (PDF with small price charts, and CSV)."""
    b = json_body(bp.current_request, schema.ScreenReportCreate)
    return reports().start_screen_report(principal().user_id, str(b.screen_id))


@route(
    bp,
    "/reports/unsubscribe",
    methods=["POST"],
    auth="none",
    content_types=["application/x-www-form-urlencoded", "application/json", "text/plain"],
    params=lambda: schema.ReportUnsubscribeQuery,
    response=lambda: schema.ReportUnsubscribePublic,
)
def unsubscribe_report_email() -> dict[str, Any]:
    """One-click unsubscribe from a scheduled report (RFC 8058): the signed link works without signing in."""
    from stockscreen.reports.wiring import verify_unsubscribe

    q = query(bp.current_request, schema.ReportUnsubscribeQuery)
    user_id, kind = verify_unsubscribe(q.token)
    reports().opt_out(user_id, kind)
    return {"unsubscribed": True, "kind": kind}
