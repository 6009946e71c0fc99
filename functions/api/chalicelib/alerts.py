"""Alert definitions: CRUD (evaluation lives in functions/alerts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from chalicelib.authn import principal
from chalicelib.common import alert_rules
from chalicelib.http import json_body, query, route
from chalicelib.lazy import LazyModule
from chalicelib.paths import uuid_path

if TYPE_CHECKING:
    from chalicelib.schemas import alerts as schema
else:
    schema = LazyModule("chalicelib.schemas.alerts")

bp = Blueprint(__name__)


def _id(alert_id: str) -> str:
    return uuid_path(alert_id, "alert")


@route(
    bp,
    "/alerts",
    methods=["GET"],
    auth="required",
    feature="alerts",
    params=lambda: schema.AlertsQuery,
    response=lambda: schema.AlertsPublic,
)
def list_alerts() -> dict[str, Any]:
    """The caller's alerts, oldest first."""
    q = query(bp.current_request, schema.AlertsQuery)
    data, total = alert_rules().list_mine(principal().user_id, q.request(), q.active)
    return {"data": data, "count": total}


@route(
    bp,
    "/alerts",
    methods=["POST"],
    auth="required",
    feature="alerts",
    body=lambda: schema.AlertCreate,
    response=lambda: schema.AlertPublic,
    status=201,
)
def create_alert() -> dict[str, Any]:
    """Create an alert; active alerts count against the plan's quota."""
    b = json_body(bp.current_request, schema.AlertCreate)
    p = principal()
    return alert_rules().create(p.user_id, p.role, b.name, b.rule, b.active, b.options)


@route(
    bp,
    "/alerts/history",
    methods=["GET"],
    auth="required",
    feature="alerts",
    params=lambda: schema.AlertHistoryQuery,
    response=lambda: schema.AlertEventsPublic,
)
def alerts_history() -> dict[str, Any]:
    """When the caller's alerts fired (newest first): the values, the explanation, each channel's status."""
    q = query(bp.current_request, schema.AlertHistoryQuery)
    data, total = alert_rules().history(principal().user_id, None, q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/alerts/{alert_id}/history",
    methods=["GET"],
    auth="required",
    feature="alerts",
    params=lambda: schema.AlertHistoryQuery,
    response=lambda: schema.AlertEventsPublic,
    owned=True,
)
def alert_history(alert_id: str) -> dict[str, Any]:
    """When one alert fired (newest first)."""
    q = query(bp.current_request, schema.AlertHistoryQuery)
    data, total = alert_rules().history(principal().user_id, _id(alert_id), q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/alerts/unsubscribe",
    methods=["POST"],
    auth="none",
    content_types=["application/x-www-form-urlencoded", "application/json", "text/plain"],
    params=lambda: schema.UnsubscribeQuery,
    response=lambda: schema.UnsubscribePublic,
)
def unsubscribe_alert_email() -> dict[str, Any]:
    """One-click unsubscribe from an alert's emails (RFC 8058): the signed link works without signing in."""
    q = query(bp.current_request, schema.UnsubscribeQuery)
    return alert_rules().unsubscribe_email(q.token)


@route(
    bp,
    "/alerts/{alert_id}",
    methods=["GET"],
    auth="required",
    feature="alerts",
    response=lambda: schema.AlertPublic,
    owned=True,
)
def get_alert(alert_id: str) -> dict[str, Any]:
    """One alert."""
    return alert_rules().get(principal().user_id, _id(alert_id))


@route(
    bp,
    "/alerts/{alert_id}",
    methods=["PATCH"],
    auth="required",
    feature="alerts",
    body=lambda: schema.AlertUpdate,
    response=lambda: schema.AlertPublic,
    owned=True,
)
def update_alert(alert_id: str) -> dict[str, Any]:
    """Rename, change the rule or options, pause or resume, snooze an alert."""
    b = json_body(bp.current_request, schema.AlertUpdate)
    p = principal()
    kw: dict[str, Any] = {"rule": b.rule, "active": b.active}
    if b.options is not None:
        kw["options"] = b.options.model_dump(exclude_unset=True)
    if "name" in b.model_fields_set:
        kw["name"] = b.name
    return alert_rules().update(p.user_id, p.role, _id(alert_id), **kw)


@route(bp, "/alerts/{alert_id}", methods=["DELETE"], auth="required", feature="alerts", status=204, owned=True)
def delete_alert(alert_id: str) -> Response:
    """Delete an alert."""
    alert_rules().delete(principal().user_id, _id(alert_id))
    return Response(body="", status_code=204)
