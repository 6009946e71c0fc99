"""Alert rules, notifications and the price events received, in PostgreSQL (parameterised SQL only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, text

_RULE_COLS = "id, name, type, symbol, params, active, created_at, updated_at"
_NOTIFICATION_COLS = "id, kind, title, body, data, created_at, read_at"


def _rule(r: Any) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "name": r["name"],
        "active": bool(r["active"]),
        "rule": {"type": r["type"], **({"symbol": r["symbol"]} if r["symbol"] else {}), **r["params"]},
        "created_at": r["created_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(),
    }


def _notification(r: Any) -> dict[str, Any]:
    return {
        "id": int(r["id"]),
        "kind": r["kind"],
        "title": r["title"],
        "body": r["body"],
        "data": r["data"],
        "created_at": r["created_at"].isoformat(),
        "read_at": r["read_at"].isoformat() if r["read_at"] else None,
    }


class AlertRuleTx:
    """The statements of one write transaction (see :meth:`AlertRuleRepository.transaction`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def symbol_exists(self, symbol: str) -> bool:
        return self.conn.execute(text("SELECT 1 FROM securities WHERE symbol = :s"), {"s": symbol}).first() is not None

    def lock_user(self, user_id: str) -> None:
        """Serialise the user's quota-checked writes."""
        self.conn.execute(text("SELECT 1 FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})

    def count_active(self, user_id: str) -> int:
        return int(
            self.conn.execute(
                text("SELECT count(*) FROM alert_rules WHERE user_id = :u AND active"), {"u": user_id}
            ).scalar_one()
        )

    def get_for_update(self, user_id: str, alert_id: str) -> dict[str, Any] | None:
        """The stored row (``type``, ``symbol``, ``params``, ``name``, ``active``, ...) locked, or None when
        the user has no such alert."""
        row = (
            self.conn.execute(
                text(f"SELECT {_RULE_COLS} FROM alert_rules WHERE id = :id AND user_id = :u FOR UPDATE"),
                {"id": alert_id, "u": user_id},
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def insert(
        self, user_id: str, name: str | None, kind: str, symbol: str | None, params: dict[str, Any], active: bool
    ) -> dict[str, Any]:
        row = (
            self.conn.execute(
                text(
                    "INSERT INTO alert_rules (user_id, name, type, symbol, params, active) "
                    f"VALUES (:u, :n, :t, :s, CAST(:params AS jsonb), :a) RETURNING {_RULE_COLS}"
                ),
                {"u": user_id, "n": name, "t": kind, "s": symbol, "params": json.dumps(params), "a": active},
            )
            .mappings()
            .one()
        )
        return _rule(row)

    def update(
        self, alert_id: str, name: str | None, kind: str, symbol: str | None, params: dict[str, Any], active: bool
    ) -> dict[str, Any]:
        row = (
            self.conn.execute(
                text(
                    "UPDATE alert_rules SET name = :n, type = :t, symbol = :s, params = CAST(:params AS jsonb), "
                    f"active = :a, updated_at = now() WHERE id = :id RETURNING {_RULE_COLS}"
                ),
                {"n": name, "t": kind, "s": symbol, "params": json.dumps(params), "a": active, "id": alert_id},
            )
            .mappings()
            .one()
        )
        return _rule(row)


class AlertRuleRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[AlertRuleTx]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self.engine.begin() as conn:
            yield AlertRuleTx(conn)

    def list_mine(self, user_id: str, active: bool | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        params = {"u": user_id, "a": active, "l": limit, "o": offset}
        cond = "user_id = :u AND (CAST(:a AS boolean) IS NULL OR active = :a)"
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM alert_rules WHERE {cond}"), params).scalar_one()
            rows = conn.execute(
                text(f"SELECT {_RULE_COLS} FROM alert_rules WHERE {cond} ORDER BY created_at, id LIMIT :l OFFSET :o"),
                params,
            ).mappings()
            return [_rule(r) for r in rows], int(total)

    def get(self, user_id: str, alert_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text(f"SELECT {_RULE_COLS} FROM alert_rules WHERE id = :id AND user_id = :u"),
                    {"id": alert_id, "u": user_id},
                )
                .mappings()
                .first()
            )
        return _rule(row) if row is not None else None

    def delete(self, user_id: str, alert_id: str) -> bool:
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM alert_rules WHERE id = :id AND user_id = :u"), {"id": alert_id, "u": user_id}
            ).rowcount
        return n > 0


class NotificationRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list_mine(
        self, user_id: str, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int, int]:
        """(notifications newest first, how many match, how many are unread)."""
        params = {"u": user_id, "unread": unread_only, "l": limit, "o": offset}
        cond = "user_id = :u AND (NOT :unread OR read_at IS NULL)"
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM notifications WHERE {cond}"), params).scalar_one()
            unread = conn.execute(
                text("SELECT count(*) FROM notifications WHERE user_id = :u AND read_at IS NULL"), params
            ).scalar_one()
            rows = conn.execute(
                text(
                    f"SELECT {_NOTIFICATION_COLS} FROM notifications WHERE {cond} ORDER BY id DESC LIMIT :l OFFSET :o"
                ),
                params,
            ).mappings()
            return [_notification(r) for r in rows], int(total), int(unread)

    def insert(self, user_id: str, kind: str, title: str, body: str | None, data: dict[str, Any]) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    text(
                        "INSERT INTO notifications (user_id, kind, title, body, data) "
                        "VALUES (:u, :k, :t, :b, CAST(:d AS jsonb)) RETURNING id"
                    ),
                    {"u": user_id, "k": kind, "t": title, "b": body, "d": json.dumps(data)},
                ).scalar_one()
            )

    def mark_read(self, user_id: str, notification_id: int) -> dict[str, Any] | None:
        """The notification, read (since its first read); None when the user has no such notification."""
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    text(
                        "UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = :id AND user_id = :u "
                        f"RETURNING {_NOTIFICATION_COLS}"
                    ),
                    {"id": notification_id, "u": user_id},
                )
                .mappings()
                .first()
            )
        return _notification(row) if row is not None else None

    def mark_all_read(self, user_id: str) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    text("UPDATE notifications SET read_at = now() WHERE user_id = :u AND read_at IS NULL"),
                    {"u": user_id},
                ).rowcount
            )


class AlertInvocationRepository:
    """The price events the alert function received (one row per event id)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, event_id: str, run_id: Any, snapshot_version: Any, symbols: int) -> bool:
        """Record the event once; False when it was already recorded."""
        with self.engine.begin() as conn:
            inserted = conn.execute(
                text(
                    "INSERT INTO alert_invocations (event_id, run_id, snapshot_version, symbols) "
                    "VALUES (:e, :r, :v, :n) ON CONFLICT (event_id) DO NOTHING RETURNING id"
                ),
                {"e": event_id, "r": run_id, "v": snapshot_version, "n": symbols},
            ).first()
        return inserted is not None
