"""Notifications: the list query, a notification, the mark-read count."""

from __future__ import annotations

from typing import Any

from chalicelib.models import ApiModel
from chalicelib.schemas.common import Page


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
