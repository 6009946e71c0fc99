"""Alerts. For now: record each "prices.updated" event received (evaluation comes later)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from stockscreen.core.errors import Invalid
from stockscreen.core.observability import logger
from stockscreen.db.engine import get_engine


def record_prices_updated(event: dict[str, Any]) -> dict[str, Any]:
    """Record an EventBridge "prices.updated" event once (a redelivery is not recorded twice)."""
    if event.get("detail-type") != "prices.updated" or not isinstance(event.get("detail"), dict):
        raise Invalid("expected an EventBridge 'prices.updated' event")
    event_id = str(event.get("id") or "")
    if not event_id:
        raise Invalid("the event has no id")
    detail = event["detail"]
    with get_engine().begin() as conn:
        inserted = conn.execute(
            text(
                "INSERT INTO alert_invocations (event_id, run_id, snapshot_version, symbols) "
                "VALUES (:e, :r, :v, :n) ON CONFLICT (event_id) DO NOTHING RETURNING id"
            ),
            {
                "e": event_id,
                "r": detail.get("run_id"),
                "v": detail.get("snapshot_version"),
                "n": len(detail.get("symbols") or []),
            },
        ).first()
    logger.info("prices.updated received", extra={"event_id": event_id, "duplicate": inserted is None})
    return {"event_id": event_id, "recorded": inserted is not None}
