"""Notifications: list (newest first), mark one or all read."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.common import Page, notifications
from chalicelib.http import query, route
from chalicelib.models import ApiModel
from chalicelib.security import principal
from stockscreen.errors import NotFound

bp = Blueprint(__name__)


class NotificationsQuery(Page):
    unread: bool = False


class NotificationPublic(ApiModel):
    id: int
    kind: str
    title: str
    body: str | None
    data: dict[str, Any]
    created_at: str
    read_at: str | None


class NotificationsPublic(ApiModel):
    data: list[NotificationPublic]
    count: int
    unread: int


class MarkedRead(ApiModel):
    marked: int


@route(
    bp,
    "/notifications",
    methods=["GET"],
    auth="required",
    feature="notifications",
    params=NotificationsQuery,
    response=NotificationsPublic,
)
def list_notifications() -> dict[str, Any]:
    """The caller's notifications, newest first, with the unread count."""
    q = query(bp.current_request, NotificationsQuery)
    return notifications().list_mine(principal().user_id, q.request(), q.unread)


@route(bp, "/notifications/read", methods=["POST"], auth="required", feature="notifications", response=MarkedRead)
def mark_all_read() -> dict[str, Any]:
    """Mark every notification read."""
    return {"marked": notifications().mark_all_read(principal().user_id)}


@route(
    bp,
    "/notifications/{notification_id}/read",
    methods=["POST"],
    auth="required",
    feature="notifications",
    response=NotificationPublic,
    owned=True,
)
def mark_read(notification_id: str) -> dict[str, Any]:
    """Mark one notification read."""
    if not notification_id.isdigit() or len(notification_id) > 18:
        raise NotFound(f"no notification {notification_id[:32]!r}")
    return notifications().mark_read(principal().user_id, int(notification_id))
