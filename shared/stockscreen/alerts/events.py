"""Alerts. For now: record each "prices.updated" event received (evaluation comes later)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from stockscreen.alerts.repository import AlertInvocationRepository
from stockscreen.core.errors import Invalid
from stockscreen.core.observability import logger


class PriceEventService:
    def __init__(self, repo: AlertInvocationRepository) -> None:
        self.repo = repo

    @classmethod
    def from_engine(cls, engine: Engine) -> PriceEventService:
        return cls(AlertInvocationRepository(engine))

    def record_prices_updated(self, event: dict[str, Any]) -> dict[str, Any]:
        """Record an EventBridge "prices.updated" event once (a redelivery is not recorded twice)."""
        if event.get("detail-type") != "prices.updated" or not isinstance(event.get("detail"), dict):
            raise Invalid("expected an EventBridge 'prices.updated' event")
        event_id = str(event.get("id") or "")
        if not event_id:
            raise Invalid("the event has no id")
        detail = event["detail"]
        recorded = self.repo.record(
            event_id, detail.get("run_id"), detail.get("snapshot_version"), len(detail.get("symbols") or [])
        )
        logger.info("prices.updated received", extra={"event_id": event_id, "duplicate": not recorded})
        return {"event_id": event_id, "recorded": recorded}
