"""Notifications: list (newest first), mark one or all read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.authn import principal
from chalicelib.common import notification_preferences, notifications
from chalicelib.http import json_body, query, route
from chalicelib.lazy import LazyModule
from stockscreen.core.errors import NotFound

if TYPE_CHECKING:
    from chalicelib.schemas import notifications as schema
else:
    schema = LazyModule("chalicelib.schemas.notifications")

bp = Blueprint(__name__)


@route(
    bp,
    "/notifications",
    methods=["GET"],
    auth="required",
    feature="notifications",
    params=lambda: schema.NotificationsQuery,
    response=lambda: schema.NotificationsPublic,
)
def list_notifications() -> dict[str, Any]:
    """The caller's notifications, newest first, with the unread count."""
    q = query(bp.current_request, schema.NotificationsQuery)
    return notifications().list_mine(principal().user_id, q.request(), q.unread)


@route(
    bp,
    "/notifications/read",
    methods=["POST"],
    auth="required",
    feature="notifications",
    response=lambda: schema.MarkedRead,
)
def mark_all_read() -> dict[str, Any]:
    """Mark every notification read."""
    return {"marked": notifications().mark_all_read(principal().user_id)}


@route(
    bp,
    "/notifications/{notification_id}/read",
    methods=["POST"],
    auth="required",
    feature="notifications",
    response=lambda: schema.NotificationPublic,
    owned=True,
)
def mark_read(notification_id: str) -> dict[str, Any]:
    """Mark one notification read."""
    if not notification_id.isdigit() or len(notification_id) > 18:
        raise NotFound(f"no notification {notification_id[:32]!r}")
    return notifications().mark_read(principal().user_id, int(notification_id))


@route(
    bp,
    "/me/notification-preferences",
    methods=["GET"],
    auth="required",
    feature="notifications",
    response=lambda: schema.NotificationPreferencesPublic,
)
def get_notification_preferences() -> dict[str, Any]:
    """The caller's notification preferences: channels, time zone and quiet hours, daily caps, SNS, webhook."""
    return notification_preferences().get(principal().user_id)


@route(
    bp,
    "/me/notification-preferences",
    methods=["PUT"],
    auth="required",
    feature="notifications",
    body=lambda: schema.NotificationPreferencesUpdate,
    response=lambda: schema.NotificationPreferencesPublic,
)
def put_notification_preferences() -> dict[str, Any]:
    """Replace the caller's notification preferences (the whole document); webhook fields need a paid plan."""
    b = json_body(bp.current_request, schema.NotificationPreferencesUpdate)
    p = principal()
    return notification_preferences().put(p.user_id, p.role, b)


@route(
    bp,
    "/me/notification-preferences/webhook-secret",
    methods=["POST"],
    auth="required",
    feature="alerts.webhook",
    response=lambda: schema.WebhookSecretPublic,
)
def rotate_webhook_secret() -> dict[str, Any]:
    """A new signing secret for the caller's webhook, shown this once (the old one stops working)."""
    p = principal()
    return notification_preferences().rotate_secret(p.user_id, p.role)
