"""The audit log: who did what, when, from where. Writes never include secrets.

Imports no SQLAlchemy itself (``Origin`` is on every request's path): statements are built when they run."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stockscreen.db.engine import text

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


@dataclass(frozen=True)
class Origin:
    """Where a request came from (for the audit log)."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


_INSERT = (
    "INSERT INTO audit_log (actor_id, action, target, ip, user_agent, request_id, details) "
    "VALUES (:actor, :action, :target, :ip, :ua, :rid, CAST(:details AS jsonb))"
)


def record(
    conn: Connection,
    action: str,
    *,
    actor_id: str | None,
    origin: Origin,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        text(_INSERT),
        {
            "actor": actor_id,
            "action": action,
            "target": target,
            "ip": origin.ip,
            "ua": (origin.user_agent or "")[:512] or None,
            "rid": origin.request_id,
            "details": json.dumps(details or {}),
        },
    )


def list_entries(
    engine: Engine,
    *,
    limit: int,
    offset: int,
    action: str | None = None,
    actor_id: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    where = [
        "(CAST(:action AS text) IS NULL OR action = :action)",
        "(CAST(:actor AS uuid) IS NULL OR actor_id = :actor)",
    ]
    params: dict[str, Any] = {"action": action, "actor": actor_id, "limit": limit, "offset": offset}
    cond = " AND ".join(where)
    with engine.connect() as conn:
        total = conn.execute(text(f"SELECT count(*) FROM audit_log WHERE {cond}"), params).scalar_one()
        rows = conn.execute(
            text(
                "SELECT id, at, actor_id, action, target, ip, user_agent, request_id, details FROM audit_log "
                f"WHERE {cond} ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset"
            ),
            params,
        ).mappings()
        data = [_row(r) for r in rows]
    return data, int(total)


def _row(r: Any) -> dict[str, Any]:
    at: dt.datetime = r["at"]
    return {
        "id": int(r["id"]),
        "at": at.isoformat(),
        "actor_id": str(r["actor_id"]) if r["actor_id"] else None,
        "action": r["action"],
        "target": r["target"],
        "ip": r["ip"],
        "user_agent": r["user_agent"],
        "request_id": r["request_id"],
        "details": r["details"],
    }
