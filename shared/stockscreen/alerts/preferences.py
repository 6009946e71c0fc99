"""Notification preferences: channels, time zone and quiet hours, daily caps, the SNS target and the
webhook (premium: its URL, signing secret and status). ``GET``/``PUT /api/me/notification-preferences``
and the secret's rotation; the delivery function reads them through :meth:`PreferencesService.for_delivery`."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import Engine

from stockscreen.alerts import webhook
from stockscreen.alerts.models import NotificationPreferences, NotificationPreferencesUpdate, QuietHours
from stockscreen.alerts.repository import PreferencesRepository
from stockscreen.core import policy
from stockscreen.core.errors import Invalid

WEBHOOK_FEATURE = "alerts.webhook"


def _hhmm(t: dt.time | None) -> str | None:
    return None if t is None else t.strftime("%H:%M")


def prefs_of(row: dict[str, Any] | None) -> NotificationPreferences:
    """The preferences of a stored row (the defaults without one)."""
    if row is None:
        return NotificationPreferences()
    start, end = _hhmm(row["quiet_start"]), _hhmm(row["quiet_end"])
    secret = row["webhook_secret"]
    return NotificationPreferences.model_validate(
        {
            "timezone": row["timezone"],
            "quiet_hours": QuietHours(start=start, end=end) if start and end else None,
            "channels": row["channels"],
            "daily_caps": row["daily_caps"],
            "sns_target": row["sns_target"],
            "webhook_url": row["webhook_url"],
            "webhook_status": row["webhook_status"],
            "webhook_disabled_reason": row["webhook_disabled_reason"],
            "webhook_secret_hint": secret[-4:] if secret else None,
        }
    )


class PreferencesService:
    def __init__(self, repo: PreferencesRepository, *, allow_private_webhooks: bool) -> None:
        self.repo = repo
        self.allow_private_webhooks = allow_private_webhooks

    @classmethod
    def from_engine(cls, engine: Engine) -> PreferencesService:
        from stockscreen.core.config import webhook_settings

        return cls(
            PreferencesRepository(engine), allow_private_webhooks=webhook_settings().alerts_webhook_allow_private
        )

    def get(self, user_id: str) -> dict[str, Any]:
        return prefs_of(self.repo.get(user_id)).model_dump()

    def for_delivery(self, user_id: str) -> tuple[NotificationPreferences, str | None]:
        """The preferences and the webhook's signing secret."""
        row = self.repo.get(user_id)
        return prefs_of(row), (row["webhook_secret"] if row else None)

    def put(self, user_id: str, role: str, doc: NotificationPreferencesUpdate) -> dict[str, Any]:
        """Replace the preferences. Webhook fields need the plan's ``alerts.webhook`` feature (403); the URL
        must be https and not name a private or loopback address (400). The webhook (re)activates when its
        URL changes or its channel is switched on again; otherwise a disabled webhook stays disabled."""
        if doc.webhook_url is not None or doc.channels.webhook:
            policy.require(role, WEBHOOK_FEATURE)
        if doc.webhook_url is not None:
            try:
                webhook.check_url(doc.webhook_url, self.allow_private_webhooks)
            except webhook.Refused as exc:
                raise Invalid(str(exc), {"field": "webhook_url"}) from exc
        cur = self.repo.get(user_id)
        old = prefs_of(cur)
        status, reason, failures = (
            old.webhook_status,
            old.webhook_disabled_reason,
            int(cur["webhook_failures"]) if cur else 0,
        )
        if doc.webhook_url is None:
            status, reason, failures = "none", None, 0
        elif (
            status == "none"
            or doc.webhook_url != old.webhook_url
            or (doc.channels.webhook and not old.channels.webhook)
        ):
            status, reason, failures = "active", None, 0
        self.repo.save(
            user_id,
            {
                "timezone": doc.timezone,
                "quiet_start": doc.quiet_hours.start if doc.quiet_hours else None,
                "quiet_end": doc.quiet_hours.end if doc.quiet_hours else None,
                "channels": doc.channels.model_dump(),
                "daily_caps": doc.daily_caps.model_dump(),
                "sns_target": doc.sns_target,
                "webhook_url": doc.webhook_url,
                "webhook_status": status,
                "webhook_disabled_reason": reason,
                "webhook_failures": failures,
            },
        )
        return self.get(user_id)

    def rotate_secret(self, user_id: str, role: str) -> dict[str, str]:
        """A new webhook signing secret, returned this once (only its last 4 characters are shown later)."""
        policy.require(role, WEBHOOK_FEATURE)
        secret = "whsec_" + secrets.token_urlsafe(32)
        d = NotificationPreferences()
        self.repo.set_secret(
            user_id, secret, {"channels": d.channels.model_dump(), "daily_caps": d.daily_caps.model_dump()}
        )
        return {"secret": secret}

    def webhook_result(self, user_id: str, ok: bool, detail: str) -> tuple[str, bool]:
        """Record one webhook delivery; (status now, whether this failure disabled it)."""
        reason = f"disabled after {webhook.DISABLE_AFTER} failed deliveries in a row; the last: {detail}"[:500]
        return self.repo.webhook_result(user_id, ok, reason if not ok else "", webhook.DISABLE_AFTER)
