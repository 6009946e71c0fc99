"""In-app notifications: list (newest first), mark read. Written by the alert evaluator and the system."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, text

from stockscreen.core.errors import NotFound
from stockscreen.core.paging import PageRequest

_COLS = "id, kind, title, body, data, created_at, read_at"


def _public(r: Any) -> dict[str, Any]:
    return {
        "id": int(r["id"]),
        "kind": r["kind"],
        "title": r["title"],
        "body": r["body"],
        "data": r["data"],
        "created_at": r["created_at"].isoformat(),
        "read_at": r["read_at"].isoformat() if r["read_at"] else None,
    }


class NotificationService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def notify(
        self, user_id: str, kind: str, title: str, body: str | None = None, data: dict[str, Any] | None = None
    ) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    text(
                        "INSERT INTO notifications (user_id, kind, title, body, data) "
                        "VALUES (:u, :k, :t, :b, CAST(:d AS jsonb)) RETURNING id"
                    ),
                    {"u": user_id, "k": kind, "t": title, "b": body, "d": json.dumps(data or {})},
                ).scalar_one()
            )

    def list_mine(self, user_id: str, page: PageRequest, unread_only: bool) -> dict[str, Any]:
        params = {"u": user_id, "unread": unread_only, "l": page.limit, "o": page.offset}
        cond = "user_id = :u AND (NOT :unread OR read_at IS NULL)"
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM notifications WHERE {cond}"), params).scalar_one()
            unread = conn.execute(
                text("SELECT count(*) FROM notifications WHERE user_id = :u AND read_at IS NULL"), params
            ).scalar_one()
            rows = conn.execute(
                text(f"SELECT {_COLS} FROM notifications WHERE {cond} ORDER BY id DESC LIMIT :l OFFSET :o"), params
            ).mappings()
            return {"data": [_public(r) for r in rows], "count": int(total), "unread": int(unread)}

    def mark_read(self, user_id: str, notification_id: int) -> dict[str, Any]:
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    text(
                        "UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = :id AND user_id = :u "
                        f"RETURNING {_COLS}"
                    ),
                    {"id": notification_id, "u": user_id},
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"no notification {notification_id}")
        return _public(row)

    def mark_all_read(self, user_id: str) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    text("UPDATE notifications SET read_at = now() WHERE user_id = :u AND read_at IS NULL"),
                    {"u": user_id},
                ).rowcount
            )
