"""Administration: users, roles, disabling, ingest runs and quality reports, the audit log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from chalice.app import Blueprint
from pydantic import ConfigDict, StringConstraints, model_validator

from chalicelib.auth import UserPublic
from chalicelib.common import Page, admin
from chalicelib.http import json_body, query, route
from chalicelib.models import ApiModel
from chalicelib.paths import uuid_path
from chalicelib.security import origin_of, principal
from stockscreen import audit
from stockscreen.db.engine import get_engine

bp = Blueprint(__name__)


class UsersQuery(Page):
    q: Annotated[str, StringConstraints(min_length=1, max_length=254, strip_whitespace=True)] | None = None
    role: Literal["free", "premium", "admin"] | None = None
    disabled: bool | None = None


class UsersPublic(ApiModel):
    data: list[UserPublic]
    count: int


class UserAdminUpdate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["free", "premium", "admin"] | None = None
    disabled: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> UserAdminUpdate:
        if self.role is None and self.disabled is None:
            raise ValueError("give role and/or disabled")
        return self


class RunsQuery(Page):
    status: Annotated[str, StringConstraints(max_length=16)] | None = None


class RunPublic(ApiModel):
    run_id: str
    status: str
    started_at: str
    finished_at: str | None
    stats: dict[str, Any]
    error: str | None


class RunsPublic(ApiModel):
    data: list[RunPublic]
    count: int


class QualityRule(ApiModel):
    rule: str
    severity: str
    action: str
    count: int


class RunReport(RunPublic):
    quality: list[QualityRule]


class AuditQuery(Page):
    action: Annotated[str, StringConstraints(max_length=64)] | None = None
    actor_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F-]{36}$")] | None = None


class AuditEntry(ApiModel):
    id: int
    at: str
    actor_id: str | None
    action: str
    target: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, Any]


class AuditPublic(ApiModel):
    data: list[AuditEntry]
    count: int


@route(
    bp, "/admin/users", methods=["GET"], auth="required", feature="admin.users", params=UsersQuery, response=UsersPublic
)
def list_users() -> dict[str, Any]:
    """Users, oldest first; search by email or name prefix, filter by role or disabled."""
    q = query(bp.current_request, UsersQuery)
    data, total = admin().users(q.request(), q.q, q.role, q.disabled)
    return {"data": data, "count": total}


@route(
    bp,
    "/admin/users/{user_id}",
    methods=["PATCH"],
    auth="required",
    feature="admin.users",
    body=UserAdminUpdate,
    response=UserPublic,
)
def update_user(user_id: str) -> dict[str, Any]:
    """Change a user's role or disable/enable the account (audited)."""
    b = json_body(bp.current_request, UserAdminUpdate)
    return admin().update_user(
        principal(), uuid_path(user_id, "user"), role=b.role, disabled=b.disabled, origin=origin_of(bp.current_request)
    )


@route(
    bp,
    "/admin/ingest-runs",
    methods=["GET"],
    auth="required",
    feature="admin.ingest",
    params=RunsQuery,
    response=RunsPublic,
)
def list_runs() -> dict[str, Any]:
    """Ingest pipeline runs, newest first."""
    q = query(bp.current_request, RunsQuery)
    data, total = admin().ingest_runs(q.request(), q.status)
    return {"data": data, "count": total}


@route(bp, "/admin/ingest-runs/{run_id}", methods=["GET"], auth="required", feature="admin.ingest", response=RunReport)
def get_run(run_id: str) -> dict[str, Any]:
    """One run with its data-quality report."""
    from stockscreen.pipeline.service import run_report  # lazy: the pipeline pulls in numpy

    return run_report(uuid_path(run_id, "ingest run"))


@route(
    bp, "/admin/audit", methods=["GET"], auth="required", feature="admin.audit", params=AuditQuery, response=AuditPublic
)
def audit_log() -> dict[str, Any]:
    """The audit log, newest first; filter by action or actor."""
    q = query(bp.current_request, AuditQuery)
    data, total = audit.list_entries(get_engine(), limit=q.limit, offset=q.offset, action=q.action, actor_id=q.actor_id)
    return {"data": data, "count": total}
