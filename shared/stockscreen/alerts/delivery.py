"""Alert delivery: each fired alert reaches its owner on every channel of the alert, in order: in-app
notification, WebSocket push to every open session, email (SES), SNS.

Each channel's effect runs under an idempotency key (alert, trigger instant, symbol, channel): a
redelivered message re-runs only the channels that did not succeed, so nothing is sent twice and
one failing channel neither blocks nor repeats the others. When a channel fails, ``deliver`` raises
:class:`DeliveryFailed` after trying the rest: the queue redelivers the message (and, after its
``maxReceiveCount``, moves it to the dead-letter queue). (The symbol is part of the key because a
watchlist alert fires for several symbols at one instant.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from stockscreen.alerts import email as mail
from stockscreen.alerts.notifications import NotificationService
from stockscreen.alerts.repository import DeliveryRepository
from stockscreen.core.observability import logger
from stockscreen.realtime.messages import AlertMessage

CHANNELS = ("in_app", "websocket", "email", "sns")


class FiredAlert(BaseModel):
    """The message on the delivery queue: one firing as stored in the alert history."""

    model_config = ConfigDict(extra="ignore")

    id: int
    alert_id: str
    user_id: str
    symbol: str | None = None
    fired_at: dt.datetime
    source: str
    message: str
    value: float | None = None
    level: float | None = None
    snapshot_version: int | None = None
    details: dict[str, Any] = {}


class DeliveryFailed(Exception):
    """Some channels failed (the others were delivered); the message must be retried."""

    def __init__(self, failures: dict[str, str]) -> None:
        super().__init__(f"alert delivery failed on {', '.join(sorted(failures))}: {failures}")
        self.failures = failures


class Push(Protocol):
    def push_to_user(self, user_id: str, message: Any) -> int: ...


class Mailer(Protocol):
    def send(self, raw: bytes, *, sender: str, to: str) -> str: ...


class Topic(Protocol):
    def publish(self, firing: dict[str, Any]) -> str: ...


#: Runs ``fn`` at most once per key (successful runs are remembered; a failed run leaves no record).
Once = Callable[[dict[str, str], Callable[[], dict[str, Any]]], dict[str, Any]]


class DeliveryService:
    def __init__(
        self,
        repo: DeliveryRepository,
        notifications: NotificationService,
        *,
        push: Callable[[], Push],
        mailer: Callable[[], Mailer],
        topic: Callable[[], Topic],
        once: Once,
        unsubscribe_url: Callable[[str, str], str],
        app_url: str,
        sender: str,
    ) -> None:
        self.repo = repo
        self.notifications = notifications
        self.push = push
        self.mailer = mailer
        self.topic = topic
        self.once = once
        self.unsubscribe_url = unsubscribe_url
        self.app_url = app_url
        self.sender = sender

    def deliver(self, body: dict[str, Any]) -> dict[str, str]:
        """Deliver one fired alert on its channels; returns each channel's status."""
        f = FiredAlert.model_validate(body)
        target = self.repo.target(f.alert_id)
        if target is None:
            logger.info("alert %s is gone; its firing is dropped", f.alert_id)
            return {}
        statuses: dict[str, str] = {}
        failures: dict[str, str] = {}
        for channel in CHANNELS:
            if channel not in target["channels"]:
                statuses[channel] = "off"
                continue
            key = {
                "alert_id": f.alert_id,
                "fired_at": f.fired_at.isoformat(),
                "symbol": f.symbol or "",
                "channel": channel,
            }
            try:
                result = self.once(key, lambda ch=channel: self._send(ch, f, target))  # type: ignore[misc]
                statuses[channel] = str(result.get("status", "sent"))
            except Exception as exc:
                logger.exception("alert delivery failed", extra={"channel": channel, "alert_id": f.alert_id})
                statuses[channel] = failures[channel] = f"failed: {type(exc).__name__}"
        self.repo.record(f.id, statuses)
        if failures:
            raise DeliveryFailed(failures)
        return statuses

    def _send(self, channel: str, f: FiredAlert, target: dict[str, Any]) -> dict[str, Any]:
        firing = f.model_dump(mode="json")
        if channel == "in_app":
            n = self.notifications.notify(
                f.user_id,
                "alert",
                f.message,
                None,
                {"alert_id": f.alert_id, "event_id": f.id, "symbol": f.symbol, "fired_at": firing["fired_at"]},
            )
            return {"status": "sent", "notification_id": n["id"]}
        if channel == "websocket":
            msg = AlertMessage(
                alert_id=f.alert_id, symbol=f.symbol or "", message=f.message, price=f.value, triggered_at=f.fired_at
            )
            reached = self.push().push_to_user(f.user_id, msg)
            return {"status": f"sent to {reached}" if reached else "no open session"}
        if channel == "email":
            if not target.get("email"):
                return {"status": "no address"}
            content = mail.render(
                firing, app_url=self.app_url, unsubscribe_url=self.unsubscribe_url(f.user_id, f.alert_id)
            )
            message_id = self.mailer().send(
                mail.mime(content, sender=self.sender, to=target["email"]), sender=self.sender, to=target["email"]
            )
            return {"status": "sent", "message_id": message_id}
        message_id = self.topic().publish(firing)
        return {"status": "sent", "message_id": message_id}
