"""Notifications: the list query, a notification, the mark-read count; notification preferences."""

from __future__ import annotations

from typing import Any

from chalicelib.models import ApiModel
from chalicelib.schemas.common import Page
from stockscreen.alerts.models import NotificationPreferences as _Prefs
from stockscreen.alerts.models import NotificationPreferencesUpdate as _PrefsUpdate


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


# -- notification preferences (the documents are the domain's models: one definition) -------------------------
class NotificationPreferencesUpdate(_PrefsUpdate):
    """``PUT /me/notification-preferences``: the whole document (read-only fields may be sent back; ignored)."""


class NotificationPreferencesPublic(_Prefs):
    """The caller's notification preferences (defaults until first saved)."""


class WebhookSecretPublic(ApiModel):
    secret: str
