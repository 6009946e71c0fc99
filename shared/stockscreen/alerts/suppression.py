"""SES bounces and complaints -> the suppression list. SES publishes them to an SNS topic (the
configuration set's event destination, or the identity's notification topic); the handler in
``functions/alerts`` receives the SNS event and suppresses the addresses: a suppressed address gets no
alert email (the delivery records ``suppressed``).

Suppressed: every recipient of a complaint, and of a *permanent* bounce (a transient bounce, e.g. a full
mailbox, is not: SES retries those itself). Both SES formats are read: notifications
(``notificationType``) and configuration-set events (``eventType``)."""

from __future__ import annotations

import json
from email.utils import parseaddr
from typing import Any

from sqlalchemy import Engine

from stockscreen.alerts.repository import DeliveryRepository
from stockscreen.core.errors import Invalid
from stockscreen.core.observability import logger


def addresses(message: dict[str, Any]) -> tuple[str | None, list[str], dict[str, Any]]:
    """(reason, addresses to suppress, details kept with them) of one SES notification."""
    kind = message.get("notificationType") or message.get("eventType")
    if kind == "Bounce":
        b = message.get("bounce") or {}
        if b.get("bounceType") != "Permanent":
            return None, [], {}
        people = [r.get("emailAddress", "") for r in b.get("bouncedRecipients") or []]
        details = {"type": b.get("bounceType"), "subtype": b.get("bounceSubType"), "feedback_id": b.get("feedbackId")}
        reason = "bounce"
    elif kind == "Complaint":
        c = message.get("complaint") or {}
        people = [r.get("emailAddress", "") for r in c.get("complainedRecipients") or []]
        details = {"type": c.get("complaintFeedbackType"), "feedback_id": c.get("feedbackId")}
        reason = "complaint"
    else:
        return None, [], {}
    found = [parseaddr(p)[1].lower() for p in people]
    return reason, [a for a in found if "@" in a], {k: v for k, v in details.items() if v is not None}


class SuppressionService:
    def __init__(self, repo: DeliveryRepository) -> None:
        self.repo = repo

    @classmethod
    def from_engine(cls, engine: Engine) -> SuppressionService:
        return cls(DeliveryRepository(engine))

    def on_sns_event(self, event: dict[str, Any]) -> dict[str, int]:
        """Handle a Lambda SNS event of SES notifications; counts of addresses newly suppressed and of
        notifications that suppress nothing (deliveries, transient bounces)."""
        records = event.get("Records")
        if not isinstance(records, list):
            raise Invalid("expected an SNS event with Records")
        suppressed = ignored = 0
        for record in records:
            try:
                message = json.loads(record["Sns"]["Message"])
            except (KeyError, TypeError, ValueError) as exc:
                raise Invalid("an SNS record without a JSON SES notification") from exc
            reason, found, details = addresses(message)
            if reason is None or not found:
                ignored += 1
                continue
            for a in found:
                if self.repo.suppress(a, reason, details):
                    suppressed += 1
                    logger.info("email address suppressed", extra={"reason": reason})
        return {"suppressed": suppressed, "ignored": ignored}
