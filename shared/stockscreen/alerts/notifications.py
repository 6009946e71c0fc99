"""In-app notifications: written by alert delivery and the system (sign-in alarms) through ``notify``;
listed newest first, marked read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from stockscreen.alerts.repository import NotificationRepository
from stockscreen.core.errors import NotFound
from stockscreen.core.paging import PageRequest


class NotificationService:
    def __init__(self, repo: NotificationRepository) -> None:
        self.repo = repo

    @classmethod
    def from_engine(cls, engine: Engine) -> NotificationService:
        return cls(NotificationRepository(engine))

    def list_mine(self, user_id: str, page: PageRequest, unread_only: bool) -> dict[str, Any]:
        data, total, unread = self.repo.list_mine(user_id, unread_only, page.limit, page.offset)
        return {"data": data, "count": total, "unread": unread}

    def mark_read(self, user_id: str, notification_id: int) -> dict[str, Any]:
        found = self.repo.mark_read(user_id, notification_id)
        if found is None:
            raise NotFound(f"no notification {notification_id}")
        return found

    def notify(self, user_id: str, kind: str, title: str, body: str | None, data: dict[str, Any]) -> dict[str, Any]:
        """Add a notification to the user's list (the bell)."""
        return self.repo.insert(user_id, kind, title, body, data)

    def mark_all_read(self, user_id: str) -> int:
        return self.repo.mark_all_read(user_id)
