"""Administration: users, roles, disabling, sign-in throttles, ingest runs and quality reports, the audit log,
the operations overview."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from chalicelib.authn import origin_of, principal
from chalicelib.common import admin
from chalicelib.http import json_body, query, route
from chalicelib.lazy import LazyModule
from chalicelib.paths import uuid_path

if TYPE_CHECKING:
    from chalicelib.schemas import admin as schema
    from chalicelib.schemas import operations as ops_schema
    from stockscreen.pipeline.review import QualityReview
else:
    schema = LazyModule("chalicelib.schemas.admin")
    ops_schema = LazyModule("chalicelib.schemas.operations")

bp = Blueprint(__name__)


@route(
    bp,
    "/admin/users",
    methods=["GET"],
    auth="required",
    feature="admin.users",
    params=lambda: schema.UsersQuery,
    response=lambda: schema.UsersPublic,
)
def list_users() -> dict[str, Any]:
    """Users, oldest first; search by email or name prefix, filter by role or disabled."""
    q = query(bp.current_request, schema.UsersQuery)
    data, total = admin().users(q.request(), q.q, q.role, q.disabled)
    return {"data": data, "count": total}


@route(
    bp,
    "/admin/users/{user_id}",
    methods=["PATCH"],
    auth="required",
    feature="admin.users",
    body=lambda: schema.UserAdminUpdate,
    response=lambda: schema.UserPublic,
)
def update_user(user_id: str) -> dict[str, Any]:
    """Change a user's role or disable/enable the account (audited)."""
    b = json_body(bp.current_request, schema.UserAdminUpdate)
    return admin().update_user(
        principal(), uuid_path(user_id, "user"), role=b.role, disabled=b.disabled, origin=origin_of(bp.current_request)
    )


@route(
    bp,
    "/admin/throttles",
    methods=["GET"],
    auth="required",
    feature="admin.users",
    params=lambda: schema.ThrottlesQuery,
    response=lambda: schema.ThrottlesPublic,
)
def list_throttles() -> dict[str, Any]:
    """Counters of failed password attempts (per account and address, per address, per user), longest wait first."""
    q = query(bp.current_request, schema.ThrottlesQuery)
    data, total = admin().throttles(q.request())
    return {"data": data, "count": total}


@route(bp, "/admin/throttles/{throttle_id}", methods=["DELETE"], auth="required", feature="admin.users", status=204)
def clear_throttle(throttle_id: str) -> Response:
    """Forget one counter, lifting its delay at once (audited)."""
    admin().clear_throttle(principal(), throttle_id, origin_of(bp.current_request))
    return Response(body="", status_code=204)


@route(
    bp,
    "/admin/ingest-runs",
    methods=["GET"],
    auth="required",
    feature="admin.ingest",
    params=lambda: schema.RunsQuery,
    response=lambda: schema.RunsPublic,
)
def list_runs() -> dict[str, Any]:
    """Ingest pipeline runs, newest first."""
    q = query(bp.current_request, schema.RunsQuery)
    data, total = admin().ingest_runs(q.request(), q.status)
    return {"data": data, "count": total}


@route(
    bp,
    "/admin/ingest-runs/{run_id}",
    methods=["GET"],
    auth="required",
    feature="admin.ingest",
    response=lambda: schema.RunReport,
)
def get_run(run_id: str) -> dict[str, Any]:
    """One run with its data-quality report."""
    from stockscreen.pipeline.service import run_report  # lazy: the pipeline pulls in numpy

    return run_report(uuid_path(run_id, "ingest run"))


@route(
    bp,
    "/admin/audit",
    methods=["GET"],
    auth="required",
    feature="admin.audit",
    params=lambda: schema.AuditQuery,
    response=lambda: schema.AuditPublic,
)
def audit_log() -> dict[str, Any]:
    """The audit log, newest first; filter by action or actor."""
    from stockscreen.core import audit
    from stockscreen.db.engine import get_engine

    q = query(bp.current_request, schema.AuditQuery)
    data, total = audit.list_entries(get_engine(), limit=q.limit, offset=q.offset, action=q.action, actor_id=q.actor_id)
    return {"data": data, "count": total}


def _review() -> QualityReview:
    from stockscreen.pipeline.review import QualityReview  # lazy: the pipeline pulls in numpy

    return QualityReview.default()


@route(
    bp,
    "/admin/findings",
    methods=["GET"],
    auth="required",
    feature="admin.ingest",
    params=lambda: schema.FindingsQuery,
    response=lambda: schema.FindingsPublic,
)
def list_findings() -> dict[str, Any]:
    """Data-quality findings row by row (oldest first); filter by run, rule, symbol, severity or action."""
    from stockscreen.pipeline.review import FindingFilter

    q = query(bp.current_request, schema.FindingsQuery)
    which = FindingFilter(q.run_id, q.rule, q.symbol, q.severity, q.action)
    data, total = _review().findings(which, q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/admin/alerts/dlq",
    methods=["GET"],
    auth="required",
    feature="admin.alerts",
    response=lambda: schema.AlertsDlqPublic,
)
def alerts_dlq() -> dict[str, Any]:
    """Fired alerts whose delivery failed 5 times: how many, and up to 10 of them (audited)."""
    from stockscreen.alerts.events import dead_letters

    return dead_letters().audited_look(actor_id=principal().user_id, origin=origin_of(bp.current_request))


@route(
    bp,
    "/admin/findings/trend",
    methods=["GET"],
    auth="required",
    feature="admin.ingest",
    params=lambda: schema.TrendQuery,
    response=lambda: schema.TrendPublic,
)
def findings_trend() -> dict[str, Any]:
    """Findings per rule per day (the day their run started) over the last ``days`` days."""
    q = query(bp.current_request, schema.TrendQuery)
    return {"data": _review().trend(q.days)}


@route(
    bp,
    "/admin/findings/{finding_id}/release",
    methods=["POST"],
    auth="required",
    feature="admin.ingest",
    body=lambda: schema.ReleaseBody,
    response=lambda: schema.ReleasePublic,
    status=201,
    errors=(409,),
)
def release_finding(finding_id: str) -> dict[str, Any]:
    """Release a quarantined row after review (audited): the next run loads it, and re-runs keep it loaded."""
    b = json_body(bp.current_request, schema.ReleaseBody)
    if not (finding_id.isascii() and finding_id.isdigit() and len(finding_id) < 19):
        from stockscreen.core.errors import NotFound

        raise NotFound(f"no finding {finding_id[:64]!r}")
    issue_id = int(finding_id)
    return _review().release(principal().user_id, issue_id, b.note, origin_of(bp.current_request))


@route(
    bp,
    "/admin/uploads",
    methods=["POST"],
    auth="required",
    feature="admin.ingest",
    body=lambda: schema.UploadBody,
    response=lambda: schema.UploadPublic,
    status=201,
)
def create_upload() -> dict[str, Any]:
    """A presigned POST for one data file into the drop folder (incoming/): its arrival starts an ingest run."""
    b = json_body(bp.current_request, schema.UploadBody)
    return _review().create_upload(b.filename, b.size)


@route(
    bp,
    "/admin/uploads/{upload_id}",
    methods=["GET"],
    auth="required",
    feature="admin.ingest",
    response=lambda: schema.UploadStatus,
)
def upload_status(upload_id: str) -> dict[str, Any]:
    """The ingest run an upload started, with the progress of its states (poll it)."""
    return _review().upload_status(uuid_path(upload_id, "upload"))


@route(
    bp,
    "/admin/alerts/dlq/redrive",
    methods=["POST"],
    auth="required",
    feature="admin.alerts",
    response=lambda: schema.AlertsDlqRedrive,
)
def alerts_dlq_redrive() -> dict[str, Any]:
    """Move the dead fired alerts back to the delivery queue; only their failed channels run again (audited)."""
    from stockscreen.alerts.events import dead_letters

    moved = dead_letters().redrive(actor_id=principal().user_id, origin=origin_of(bp.current_request))
    return {"moved": moved}


@route(
    bp,
    "/admin/operations",
    methods=["GET"],
    auth="required",
    feature="admin.operations",
    params=lambda: ops_schema.OperationsQuery,
    response=lambda: ops_schema.OperationsPublic,
)
def operations() -> dict[str, Any]:
    """The platform's health per minute over the last hour: requests, errors, latency, cache, rate limits, ingest,
    queues, WebSocket connections, alert deliveries and the SLOs (CloudWatch deployed, make dev's own history)."""
    from stockscreen.core.operations import operations_service

    q = query(bp.current_request, ops_schema.OperationsQuery)
    figures = operations_service().overview(q.minutes)
    return ops_schema.OperationsPublic.model_validate(figures).model_dump(mode="json")
