"""The delivery dead-letter queue for operators: what is in it, and redriving it. One implementation
behind ``stockscreen alerts dlq [--redrive]`` and ``GET/POST /api/admin/alerts/dlq[/redrive]``; the admin
API's calls are audit-logged (the CLI runs with the operator's own AWS credentials)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Engine

from stockscreen.core import audit
from stockscreen.core.audit import Origin

#: How many dead messages a look shows (one SQS receive).
PEEK_LIMIT = 10


class DeadLetterQueue(Protocol):
    def count(self) -> int: ...
    def peek(self, limit: int = PEEK_LIMIT) -> list[dict[str, Any]]: ...
    def redrive(self, limit: int = 1000) -> int: ...


class DeadLetterService:
    def __init__(self, queue: DeadLetterQueue, engine: Engine | None = None) -> None:
        self.queue = queue
        self.engine = engine

    def look(self, limit: int = PEEK_LIMIT) -> dict[str, Any]:
        """How many fired alerts are dead, and up to ``limit`` of them (they stay on the queue)."""
        return {"count": self.queue.count(), "messages": self.queue.peek(min(limit, PEEK_LIMIT))}

    def redrive(self, *, actor_id: str | None = None, origin: Origin | None = None, limit: int = 1000) -> int:
        """Move dead fired alerts back to the delivery queue (delivery is idempotent: only the channels that
        failed run again); audited when an actor is given."""
        moved = self.queue.redrive(limit)
        if actor_id is not None and self.engine is not None:
            with self.engine.begin() as conn:
                audit.record(
                    conn,
                    "admin.alerts_dlq_redrive",
                    actor_id=actor_id,
                    origin=origin or Origin(),
                    target="alerts-delivery-dlq",
                    details={"moved": moved},
                )
        return moved

    def audited_look(self, *, actor_id: str, origin: Origin) -> dict[str, Any]:
        """:meth:`look` for an admin (recorded: dead messages name users and their alerts)."""
        result = self.look()
        if self.engine is not None:
            with self.engine.begin() as conn:
                audit.record(
                    conn,
                    "admin.alerts_dlq_view",
                    actor_id=actor_id,
                    origin=origin,
                    target="alerts-delivery-dlq",
                    details={"count": result["count"], "shown": len(result["messages"])},
                )
        return result
