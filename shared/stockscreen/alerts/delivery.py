"""Alert delivery: each fired alert reaches its owner on the channels of the alert that the owner's
preferences keep on, in order: in-app notification, WebSocket push to every open session, email (SES),
SNS (SMS or a topic), webhook (premium).

Each channel's effect runs under an idempotency key (alert, trigger instant, symbol, channel): a
redelivered message re-runs only the channels that did not succeed, so nothing is sent twice and
one failing channel neither blocks nor repeats the others. When a channel fails, ``deliver`` raises
:class:`DeliveryFailed` after trying the rest: the queue redelivers the message (and, after its
``maxReceiveCount``, moves it to the dead-letter queue). (The symbol is part of the key because a
watchlist alert fires for several symbols at one instant.) A webhook that fails after its own retries
is recorded as failed (and counts towards disabling it) rather than redelivered: a user's broken
endpoint must not fill the dead-letter queue.

Fatigue controls (decided inside the idempotent effect, so a redelivery sees the same decision):

* in-app is always recorded (the history and the bell are the record of every firing);
* **cooldown** (per alert, per symbol): a firing within ``cooldown_minutes`` of an earlier firing that
  notified reaches only the history and the in-app list (status ``cooldown``);
* **quiet hours** (the user's time zone) hold email, SNS and webhook messages until they end; the
  WebSocket push is not held (it reaches only sessions the user has open, i.e. the user is looking);
* **daily caps** (email, SNS, webhook; per local day): the overflow is held and sent as ONE summary
  message per channel at the user's next midnight (or when the quiet hours then end).

:meth:`DeliveryService.release_due` (a scheduled function; ``make dev``'s worker) sends what is due: per
user and channel one message, the firing itself or one summary of several. Released messages do not
count against the cap (the summary is the cap's promise).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from itertools import groupby
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from stockscreen.alerts import email as mail
from stockscreen.alerts import fatigue
from stockscreen.alerts.models import CHANNELS, NotificationPreferences
from stockscreen.alerts.notifications import NotificationService
from stockscreen.alerts.preferences import WEBHOOK_FEATURE, PreferencesService, prefs_of
from stockscreen.alerts.repository import DeliveryRepository
from stockscreen.core import policy
from stockscreen.core.observability import NAMESPACE, SERVICE, logger, metrics
from stockscreen.realtime.messages import AlertMessage

__all__ = ["CHANNELS", "DeliveryFailed", "DeliveryService", "FiredAlert"]


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
    def publish(self, firing: dict[str, Any], target: str | None = None) -> str: ...


class WebhookPoster(Protocol):
    def post(self, url: str, secret: str, payload: dict[str, Any]) -> Any: ...


#: Runs ``fn`` at most once per key (successful runs are remembered; a failed run leaves no record).
Once = Callable[[dict[str, str], Callable[[], dict[str, Any]]], dict[str, Any]]

_SUMMARY_REASON = {
    "quiet": "during your quiet hours",
    "cap": "beyond your daily limit",
}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def summary(firings: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    """One message standing for several held firings (same shape as a firing)."""
    reasons = sorted({str(f.get("reason") or "") for f in firings} & set(_SUMMARY_REASON))
    why = " and ".join(_SUMMARY_REASON[r] for r in reasons) or "while you were not notified"
    return {
        "id": firings[0]["id"],
        "alert_id": firings[0]["alert_id"],
        "user_id": firings[0]["user_id"],
        "symbol": None,
        "fired_at": now.isoformat(),
        "source": "summary",
        "message": f"{len(firings)} alerts fired {why}",
        "value": None,
        "level": None,
        "details": {
            "name": "Alert summary",
            "summary": [f"{_iso(f['fired_at'])}  {f['message']}" for f in firings],
        },
    }


def _iso(v: Any) -> str:
    return v.isoformat() if isinstance(v, dt.datetime) else str(v)


def _webhook_payload(firings: list[dict[str, Any]], reason: str | None) -> dict[str, Any]:
    def one(f: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f["id"],
            "alert_id": f["alert_id"],
            "alert_name": (f.get("details") or {}).get("name"),
            "symbol": f.get("symbol"),
            "fired_at": _iso(f["fired_at"]),
            "message": f["message"],
            "value": f.get("value"),
            "level": f.get("level"),
            "details": f.get("details") or {},
        }

    if reason is None:
        return {"type": "alert.fired", **one(firings[0])}
    return {"type": "alert.summary", "reason": reason, "firings": [one(f) for f in firings]}


class DeliveryService:
    def __init__(
        self,
        repo: DeliveryRepository,
        notifications: NotificationService,
        preferences: PreferencesService,
        *,
        push: Callable[[], Push],
        mailer: Callable[[], Mailer],
        topic: Callable[[], Topic],
        webhook: Callable[[], WebhookPoster],
        once: Once,
        unsubscribe_token: Callable[[str, str], str],
        app_url: str,
        sender: str,
        now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.repo = repo
        self.notifications = notifications
        self.preferences = preferences
        self.push = push
        self.mailer = mailer
        self.topic = topic
        self.webhook = webhook
        self.once = once
        self.unsubscribe_token = unsubscribe_token
        self.app_url = app_url.rstrip("/")
        self.sender = sender
        self.now = now

    # -- one firing -----------------------------------------------------------------------------------------
    def deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        """Deliver one fired alert on its channels; returns each channel's status."""
        f = FiredAlert.model_validate(body)
        target = self.repo.target(f.alert_id)
        if target is None:
            logger.info("alert %s is gone; its firing is dropped", f.alert_id)
            return {}
        row = target.pop("prefs")
        prefs, secret = prefs_of(row), (row["webhook_secret"] if row else None)
        cooling = int(target.get("cooldown_minutes") or 0)
        cooled = cooling > 0 and self.repo.notified_within(f.alert_id, f.symbol, f.id, f.fired_at, cooling)
        statuses: dict[str, Any] = {"cooldown": True} if cooled else {}
        failures: dict[str, str] = {}
        firing = f.model_dump(mode="json")
        for channel in CHANNELS:
            if channel not in target["channels"] or not getattr(prefs.channels, channel):
                statuses[channel] = "off"
                continue
            if cooled and channel != "in_app":
                statuses[channel] = "cooldown"
                continue
            key = {
                "alert_id": f.alert_id,
                "fired_at": f.fired_at.isoformat(),
                "symbol": f.symbol or "",
                "channel": channel,
            }
            try:
                result = self.once(key, lambda ch=channel: self._channel(ch, firing, target, prefs, secret))  # type: ignore[misc]
                statuses[channel] = str(result.get("status", "sent"))
            except Exception as exc:
                logger.exception("alert delivery failed", extra={"channel": channel, "alert_id": f.alert_id})
                statuses[channel] = failures[channel] = f"failed: {type(exc).__name__}"
        self.repo.record(f.id, statuses)
        logger.info("alert delivered", extra={"alert_id": f.alert_id, "fired_id": f.id, "statuses": statuses})
        count_deliveries({ch: str(s) for ch, s in statuses.items() if ch in CHANNELS})
        # emitted on every delivery (0 included), so the alarm's metric always has data
        metrics.add_metric(name="AlertDeliveryErrors", unit="Count", value=len(failures))
        if failures:
            raise DeliveryFailed(failures)
        return statuses

    def _blocked(
        self, channel: str, target: dict[str, Any], prefs: NotificationPreferences, secret: str | None
    ) -> str | None:
        """Why ``channel`` cannot carry anything to this user now (None when it can)."""
        if channel == "email":
            if not target.get("email"):
                return "no address"
            suppressed = target.get("suppressed")
            if suppressed if suppressed is not None else self.repo.suppressed(str(target["email"])):
                return "suppressed"
        if channel == "webhook":
            if not policy.allowed(str(target["role"]), WEBHOOK_FEATURE):
                return "not on your plan"
            if prefs.webhook_status != "active" or not prefs.webhook_url or not secret:
                return f"webhook {prefs.webhook_status if prefs.webhook_url else 'none'}"
        return None

    def _channel(
        self,
        channel: str,
        firing: dict[str, Any],
        target: dict[str, Any],
        prefs: NotificationPreferences,
        secret: str | None,
    ) -> dict[str, Any]:
        user_id = str(firing["user_id"])
        if channel == "in_app":
            n = self.notifications.notify(
                user_id,
                "alert",
                firing["message"],
                None,
                {
                    "alert_id": firing["alert_id"],
                    "event_id": firing["id"],
                    "symbol": firing.get("symbol"),
                    "fired_at": firing["fired_at"],
                },
            )
            return {"status": "sent", "notification_id": n["id"]}
        if channel == "websocket":
            msg = AlertMessage(
                alert_id=firing["alert_id"],
                symbol=firing.get("symbol") or "",
                message=firing["message"],
                price=firing.get("value"),
                triggered_at=firing["fired_at"],
            )
            reached = self.push().push_to_user(user_id, msg)  # the frame carries the correlation id (cid)
            logger.info("alert pushed", extra={"alert_id": firing["alert_id"], "connections": reached})
            return {"status": f"sent to {reached}" if reached else "no open session"}
        blocked = self._blocked(channel, target, prefs, secret)
        if blocked is not None:
            return {"status": blocked}
        now = self.now()
        until = fatigue.quiet_until(now, prefs)
        if until is not None:
            self.repo.hold(user_id, channel, int(firing["id"]), "quiet", until)
            return {"status": f"held until {until.isoformat()} (quiet hours)"}
        day = fatigue.local_day(now, prefs)
        if not self.repo.take_slot(user_id, channel, day, int(getattr(prefs.daily_caps, channel))):
            release = fatigue.cap_release(now, prefs)
            self.repo.hold(user_id, channel, int(firing["id"]), "cap", release)
            return {"status": f"over the daily limit: in the summary at {release.isoformat()}"}
        try:
            result = self._send(channel, [firing], None, target, prefs, secret)
        except Exception:
            self.repo.give_back_slot(user_id, channel, day)
            raise
        if str(result.get("status", "")).startswith("failed"):
            self.repo.give_back_slot(user_id, channel, day)
        return result

    def _send(
        self,
        channel: str,
        firings: list[dict[str, Any]],
        reason: str | None,
        target: dict[str, Any],
        prefs: NotificationPreferences,
        secret: str | None,
    ) -> dict[str, Any]:
        """Send one message on email, SNS or webhook: the firing, or one summary of several (``reason``:
        why they were held)."""
        message = firings[0] if reason is None and len(firings) == 1 else summary(firings, self.now())
        user_id = str(message["user_id"])
        if channel == "email":
            token = self.unsubscribe_token(user_id, str(message["alert_id"]))
            content = mail.render(
                message,
                app_url=self.app_url,
                unsubscribe_url=f"{self.app_url}/api/alerts/unsubscribe?token={token}",
                manage_url=f"{self.app_url}/unsubscribe?token={token}",
            )
            to = str(target["email"])
            message_id = self.mailer().send(mail.mime(content, sender=self.sender, to=to), sender=self.sender, to=to)
            return {"status": "sent", "message_id": message_id}
        if channel == "sns":
            return {"status": "sent", "message_id": self.topic().publish(message, prefs.sns_target)}
        result = self.webhook().post(str(prefs.webhook_url), str(secret), _webhook_payload(firings, reason))
        status, disabled_now = self.preferences.webhook_result(user_id, bool(result.ok), str(result.detail))
        if disabled_now:
            self.notifications.notify(
                user_id,
                "webhook_disabled",
                "Your alert webhook was disabled",
                f"It failed repeatedly (the last time: {result.detail}). Fix it and save your notification "
                "preferences with a new URL, or switch the webhook channel off and on again.",
                {"webhook_url": prefs.webhook_url},
            )
        if not result.ok:
            metrics.add_metric(name="AlertWebhookFailures", unit="Count", value=1)
            return {"status": f"failed: {result.detail}" + (" (webhook disabled)" if status == "disabled" else "")}
        return {"status": f"sent ({result.detail})"}

    # -- held messages -----------------------------------------------------------------------------------------
    def release_due(self) -> int:
        """Send the held messages that are due (quiet hours over, a day's overflow): per user and channel
        one message. Returns how many messages went out; a group that fails stays held for the next run."""
        rows = self.repo.due(self.now())
        sent = 0
        for (user_id, channel), group in groupby(rows, key=lambda r: (r["user_id"], r["channel"])):
            items = [{**r, "user_id": user_id} for r in group]
            held_ids = [int(r["held_id"]) for r in items]
            event_ids = [int(r["id"]) for r in items]
            user = self.repo.user(user_id)
            prefs, secret = self.preferences.for_delivery(user_id)
            blocked = "user gone" if user is None else self._blocked(channel, user, prefs, secret)
            if blocked is None and not getattr(prefs.channels, channel):
                blocked = "off"
            if blocked is not None:
                self.repo.released(held_ids, event_ids, channel, f"not sent: {blocked}")
                continue
            assert user is not None
            reason = None if len(items) == 1 else ",".join(sorted({str(r["reason"]) for r in items}))
            key = {
                "alert_id": f"held:{user_id}",
                "fired_at": f"{held_ids[0]}-{held_ids[-1]}",
                "symbol": "",
                "channel": channel,
            }
            try:
                send = functools.partial(self._send, channel, items, reason, user, prefs, secret)
                result = self.once(key, send)
            except Exception as exc:
                logger.exception("releasing held alerts failed", extra={"channel": channel, "user_id": user_id})
                metrics.add_metric(name="AlertDeliveryErrors", unit="Count", value=1)
                count_deliveries({channel: f"failed: {type(exc).__name__}"})
                continue
            status = str(result.get("status", "sent"))
            count_deliveries({channel: status})
            how = "after quiet hours" if reason is None else f"in a summary of {len(items)}"
            self.repo.released(held_ids, event_ids, channel, f"{status} {how}")
            sent += 1
        return sent


#: How a channel's delivery status counts in the AlertDeliveries metric (dimension ``outcome``).
OUTCOMES = ("sent", "failed", "held", "skipped")


def delivery_outcome(status: str) -> str:
    """``sent (200)`` -> sent, ``failed: ...`` -> failed, ``held until ...`` and the daily limit's summary ->
    held, anything else (cooldown, no open session, no address...) -> skipped."""
    if status.startswith("sent"):
        return "sent"
    if status.startswith("failed"):
        return "failed"
    if status.startswith(("held", "over the daily limit")):
        return "held"
    return "skipped"


def count_deliveries(statuses: dict[str, str]) -> None:
    """One ``AlertDeliveries`` count per channel tried (channels the user has off are not), by channel and
    outcome: each in its own EMF document, since the function's other metrics have other dimensions."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    for channel, status in statuses.items():
        if status == "off":
            continue
        m = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        m.add_dimension(name="channel", value=channel)
        m.add_dimension(name="outcome", value=delivery_outcome(status))
        m.add_metric(name="AlertDeliveries", unit=MetricUnit.Count, value=1)
        m.flush_metrics()
