"""Alert definitions: CRUD (evaluation lives in functions/alerts)."""

from __future__ import annotations

from typing import Annotated, Any

from chalice.app import Blueprint, Response
from pydantic import ConfigDict, StringConstraints

from chalicelib.common import Page, alert_rules
from chalicelib.http import json_body, query, route
from chalicelib.models import ApiModel
from chalicelib.paths import uuid_path
from chalicelib.security import principal
from stockscreen.alert_rules import AlertRule

bp = Blueprint(__name__)

Name = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class AlertCreate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    rule: AlertRule
    active: bool = True


class AlertUpdate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    rule: AlertRule | None = None
    active: bool | None = None


class AlertsQuery(Page):
    active: bool | None = None


class AlertPublic(ApiModel):
    id: str
    name: str | None
    active: bool
    rule: dict[str, Any]
    created_at: str
    updated_at: str


class AlertsPublic(ApiModel):
    data: list[AlertPublic]
    count: int


def _id(alert_id: str) -> str:
    return uuid_path(alert_id, "alert")


@route(bp, "/alerts", methods=["GET"], auth="required", feature="alerts", params=AlertsQuery, response=AlertsPublic)
def list_alerts() -> dict[str, Any]:
    """The caller's alerts, oldest first."""
    q = query(bp.current_request, AlertsQuery)
    data, total = alert_rules().list_mine(principal().user_id, q.request(), q.active)
    return {"data": data, "count": total}


@route(
    bp,
    "/alerts",
    methods=["POST"],
    auth="required",
    feature="alerts",
    body=AlertCreate,
    response=AlertPublic,
    status=201,
)
def create_alert() -> dict[str, Any]:
    """Create an alert; active alerts count against the plan's quota."""
    b = json_body(bp.current_request, AlertCreate)
    p = principal()
    return alert_rules().create(p.user_id, p.role, b.name, b.rule, b.active)


@route(bp, "/alerts/{alert_id}", methods=["GET"], auth="required", feature="alerts", response=AlertPublic, owned=True)
def get_alert(alert_id: str) -> dict[str, Any]:
    """One alert."""
    return alert_rules().get(principal().user_id, _id(alert_id))


@route(
    bp,
    "/alerts/{alert_id}",
    methods=["PATCH"],
    auth="required",
    feature="alerts",
    body=AlertUpdate,
    response=AlertPublic,
    owned=True,
)
def update_alert(alert_id: str) -> dict[str, Any]:
    """Rename, change the rule, pause or resume an alert."""
    b = json_body(bp.current_request, AlertUpdate)
    p = principal()
    kw: dict[str, Any] = {"rule": b.rule, "active": b.active}
    if "name" in b.model_fields_set:
        kw["name"] = b.name
    return alert_rules().update(p.user_id, p.role, _id(alert_id), **kw)


@route(bp, "/alerts/{alert_id}", methods=["DELETE"], auth="required", feature="alerts", status=204, owned=True)
def delete_alert(alert_id: str) -> Response:
    """Delete an alert."""
    alert_rules().delete(principal().user_id, _id(alert_id))
    return Response(body="", status_code=204)
