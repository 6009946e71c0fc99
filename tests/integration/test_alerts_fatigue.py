"""Delivery with the fatigue controls on the real local stack (PostgreSQL, moto SES/SNS/SQS/DynamoDB, a
real local webhook receiver), the clock injected: quiet hours hold email and SNS until they end, the
daily cap rolls the overflow into one summary, the per-alert cooldown, SES bounces and complaints
suppressing the address, the webhook signed, retried, and disabled after repeated failures."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import psycopg
import pytest
from chalice.test import Client

from devstack import mailbox
from devstack.lambdas import LocalContext
from stockscreen.alerts import webhook
from stockscreen.alerts.delivery import DeliveryService
from stockscreen.realtime.connections import connection_registry
from tests.integration.alertkit import counts, delivery_env
from tests.integration.authkit import User, body, make_user, post, send

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits", "no_other_alerts")]
__all__ = ["delivery_env"]
UTC = dt.UTC
PREFS = "/me/notification-preferences"


def _dsn(stack_env: dict[str, str]) -> str:
    return stack_env["DATABASE_URL"].replace("+psycopg", "")


def _service(env: dict[str, Any], now: dt.datetime) -> DeliveryService:
    svc: DeliveryService = env["handlers"].delivery()
    svc.now = lambda: now
    return svc


def _alert(client: Client, user: User, **options: Any) -> str:
    rule = {"type": "price_above", "symbol": "JPM", "price": 1}
    resp = post(client, "/alerts", {"name": "JPM watch", "rule": rule, "options": options}, user.auth)
    assert resp.status_code == 201, resp.body
    return str(body(resp)["id"])


def _fire(stack_env: dict[str, str], alert_id: str, user: User, at: dt.datetime, n: int = 0) -> dict[str, Any]:
    """A firing as the evaluator stores it in the history (the message the delivery queue carries)."""
    message = f"JPM price {100 + n} rose above 1"
    with psycopg.connect(_dsn(stack_env), autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO alert_events (alert_id, user_id, symbol, fired_at, source, source_id, value, level, message, "
            "details) VALUES (%s, %s, 'JPM', %s, 'live', %s, %s, 1, %s, %s) RETURNING id",
            (alert_id, user.id, at, f"b-{uuid.uuid4().hex}", 100 + n, message, json.dumps({"name": "JPM watch"})),
        ).fetchone()
    assert row is not None
    return {
        "id": row[0],
        "alert_id": alert_id,
        "user_id": user.id,
        "symbol": "JPM",
        "fired_at": at.isoformat(),
        "source": "live",
        "message": message,
        "value": 100 + n,
        "level": 1,
        "details": {"name": "JPM watch"},
    }


def _delivery(stack_env: dict[str, str], event_id: int) -> dict[str, Any]:
    with psycopg.connect(_dsn(stack_env)) as conn:
        row = conn.execute("SELECT delivery FROM alert_events WHERE id = %s", (event_id,)).fetchone()
    assert row is not None
    return dict(row[0])


def _mails(stack_env: dict[str, str], user: User) -> list[dict[str, Any]]:
    return [m for m in mailbox.messages(stack_env["AWS_ENDPOINT_URL"]) if m["to"] == user.email]


def _prefs(client: Client, user: User, **doc: Any) -> dict[str, Any]:
    resp = send(client, "PUT", PREFS, doc, user.auth)
    assert resp.status_code == 200, resp.body
    return dict(body(resp))


def test_quiet_hours_hold_email_and_sns_until_they_end_in_the_users_time_zone(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any]
) -> None:
    user = make_user(client, stack_env["DATABASE_URL"], "premium")
    connection_registry().register(f"conn-quiet-{user.id}", user.id)  # the registry delivery looks in
    _prefs(client, user, timezone="America/New_York", quiet_hours={"start": "22:00", "end": "07:00"})
    alert = _alert(client, user)
    night = dt.datetime(2026, 12, 3, 4, 30, tzinfo=UTC)  # 23:30 in New York
    svc = _service(delivery_env, night)
    before = counts(stack_env, delivery_env, user.id)
    firings = [_fire(stack_env, alert, user, night - dt.timedelta(minutes=m), n) for n, m in enumerate((20, 10))]
    for f in firings:
        statuses = svc.deliver(f)
        assert statuses["in_app"] == "sent" and statuses["websocket"] == "sent to 1"  # the user is looking: pushed
        assert statuses["email"] == statuses["sns"] == "held until 2026-12-03T12:00:00+00:00 (quiet hours)"
    held = counts(stack_env, delivery_env, user.id)
    assert {k: held[k] - before[k] for k in held} == {"in_app": 2, "websocket": 2, "email": 0, "sns": 0}

    assert _service(delivery_env, dt.datetime(2026, 12, 3, 11, 59, tzinfo=UTC)).release_due() == 0  # 06:59
    _service(delivery_env, dt.datetime(2026, 12, 3, 12, 1, tzinfo=UTC))
    release = delivery_env["handlers"].release_held  # the scheduled function
    assert release({}, LocalContext("release")) == {"released": 2}  # one email, one SNS message: both in each
    assert release({}, LocalContext("release")) == {"released": 0}
    after = counts(stack_env, delivery_env, user.id)
    assert {k: after[k] - held[k] for k in after} == {"in_app": 0, "websocket": 0, "email": 1, "sns": 1}
    [mail] = _mails(stack_env, user)
    assert mail["subject"] == "Alert: 2 alerts fired during your quiet hours"
    assert "JPM price 100 rose above 1" in mail["text"] and "JPM price 101 rose above 1" in mail["text"]
    assert dict(mail["headers"])["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for f in firings:
        d = _delivery(stack_env, f["id"])
        assert d["email"] == "sent in a summary of 2" and d["sns"] == "sent in a summary of 2"


def test_the_daily_cap_rolls_the_overflow_into_one_summary(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any]
) -> None:
    user = make_user(client, stack_env["DATABASE_URL"], "free")
    _prefs(
        client,
        user,
        channels={"in_app": True, "websocket": True, "email": True, "sns": False, "webhook": False},
        daily_caps={"email": 2, "sns": 10, "webhook": 100},
    )
    alert = _alert(client, user, trigger="every_time")
    day = dt.datetime(2026, 12, 3, 15, tzinfo=UTC)
    svc = _service(delivery_env, day)
    firings = [_fire(stack_env, alert, user, day - dt.timedelta(minutes=10 - n), n) for n in range(5)]
    statuses = [svc.deliver(f) for f in firings]
    assert [s["email"] for s in statuses[:2]] == ["sent", "sent"]
    assert {s["email"] for s in statuses[2:]} == {"over the daily limit: in the summary at 2026-12-04T00:00:00+00:00"}
    assert all(s["in_app"] == "sent" and s["sns"] == "off" for s in statuses)
    assert len(_mails(stack_env, user)) == 2
    # a redelivered overflow message counts nothing twice and holds nothing twice
    assert svc.deliver(firings[3])["email"].startswith("over the daily limit")
    assert _service(delivery_env, dt.datetime(2026, 12, 3, 23, 59, tzinfo=UTC)).release_due() == 0
    assert _service(delivery_env, dt.datetime(2026, 12, 4, 0, 1, tzinfo=UTC)).release_due() == 1
    mails = _mails(stack_env, user)
    assert len(mails) == 3 and mails[0]["subject"] == "Alert: 3 alerts fired beyond your daily limit"
    assert all(f"JPM price {100 + n} rose above 1" in mails[0]["text"] for n in (2, 3, 4))
    # the next day has its own cap
    next_day = _service(delivery_env, dt.datetime(2026, 12, 4, 9, tzinfo=UTC))
    assert (
        next_day.deliver(_fire(stack_env, alert, user, dt.datetime(2026, 12, 4, 9, tzinfo=UTC), 9))["email"] == "sent"
    )


def test_a_cooldown_keeps_an_alert_to_the_history_and_the_bell(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any]
) -> None:
    user = make_user(client, stack_env["DATABASE_URL"], "premium")
    alert = _alert(client, user, trigger="every_time", cooldown_minutes=30)
    t0 = dt.datetime(2026, 12, 3, 15, tzinfo=UTC)
    svc = _service(delivery_env, t0)
    before = counts(stack_env, delivery_env, user.id)
    first, second, third = (_fire(stack_env, alert, user, t0 + dt.timedelta(minutes=m), m) for m in (0, 10, 35))
    assert svc.deliver(first)["email"] == "sent"
    cooled = svc.deliver(second)
    assert cooled["in_app"] == "sent" and cooled["cooldown"] is True
    assert cooled["email"] == cooled["sns"] == cooled["websocket"] == "cooldown"
    # 35 minutes after the first notification (the cooled-down firing does not extend the cooldown)
    assert svc.deliver(third)["email"] == "sent"
    after = counts(stack_env, delivery_env, user.id)
    assert {k: after[k] - before[k] for k in after} == {"in_app": 3, "websocket": 0, "email": 2, "sns": 2}
    assert _delivery(stack_env, second["id"])["cooldown"] is True


def test_ses_bounces_and_complaints_suppress_the_address(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any]
) -> None:
    user = make_user(client, stack_env["DATABASE_URL"], "free")
    other = f"transient-{uuid.uuid4().hex[:8]}@example.com"
    angry = f"angry-{uuid.uuid4().hex[:8]}@example.com"
    sqs, sns = delivery_env["aws"]["sqs"], delivery_env["aws"]["sns"]
    # SES -> SNS: published to a topic on the local endpoint; the handler gets SNS's envelope
    topic = sns.create_topic(Name=f"ses-events-{uuid.uuid4().hex[:8]}")["TopicArn"]
    sink = sqs.create_queue(QueueName=f"ses-sink-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sink_arn)
    mail = {"timestamp": "2026-12-03T15:00:00.000Z", "source": stack_env["SES_SENDER"], "messageId": "m-1"}
    notifications = [
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": f"Ann <{user.email.upper()}>", "status": "5.1.1"}],
                "timestamp": "2026-12-03T15:00:01.000Z",
                "feedbackId": "fb-1",
            },
            "mail": mail,
        },
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Transient",
                "bounceSubType": "MailboxFull",
                "bouncedRecipients": [{"emailAddress": other}],
                "feedbackId": "fb-2",
            },
            "mail": mail,
        },
        {
            "eventType": "Complaint",  # the configuration set's event format
            "complaint": {"complainedRecipients": [{"emailAddress": angry}], "complaintFeedbackType": "abuse"},
            "mail": mail,
        },
        {"notificationType": "Delivery", "delivery": {"recipients": [other]}, "mail": mail},
    ]
    for n in notifications:
        sns.publish(TopicArn=topic, Message=json.dumps(n))
    envelopes = []
    while len(envelopes) < len(notifications):
        got = sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        assert got, "SNS delivered fewer notifications than published"
        envelopes += [json.loads(m["Body"]) for m in got]
    event = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": e} for e in envelopes]}
    result = delivery_env["handlers"].on_ses_notification(event, LocalContext("stockscreen-ses-events"))
    assert result == {"suppressed": 2, "ignored": 2}
    again = delivery_env["handlers"].on_ses_notification(event, LocalContext("stockscreen-ses-events"))
    assert again == {"suppressed": 0, "ignored": 2}  # already suppressed
    with psycopg.connect(_dsn(stack_env)) as conn:
        rows = conn.execute(
            "SELECT email, reason FROM email_suppressions WHERE email = ANY(%s) ORDER BY reason",
            ([user.email, other, angry],),
        ).fetchall()
    assert rows == [(user.email, "bounce"), (angry, "complaint")]

    alert = _alert(client, user)
    now = dt.datetime(2026, 12, 3, 16, tzinfo=UTC)
    statuses = _service(delivery_env, now).deliver(_fire(stack_env, alert, user, now))
    assert statuses["email"] == "suppressed" and statuses["in_app"] == "sent" and statuses["sns"] == "sent"
    assert _mails(stack_env, user) == []


class _Hook(BaseHTTPRequestHandler):
    secret = ""
    status = 200
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ok = webhook.verify(type(self).secret, self.headers.get(webhook.SIGNATURE_HEADER) or "", raw, time.time())
        type(self).seen.append({"verified": ok, "body": json.loads(raw)})
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def dev_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``make dev``'s mode (http and loopback allowed) and a real receiver on 127.0.0.1."""
    from chalicelib import common
    from stockscreen.core.config import alert_delivery_settings, webhook_settings

    monkeypatch.setenv("ALERTS_WEBHOOK_ALLOW_PRIVATE", "true")
    for c in (webhook_settings, alert_delivery_settings, common.notification_preferences):
        c.cache_clear()
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.seen, _Hook.status = [], 200
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    monkeypatch.delenv("ALERTS_WEBHOOK_ALLOW_PRIVATE")
    for c in (webhook_settings, alert_delivery_settings, common.notification_preferences):
        c.cache_clear()


def test_the_webhook_is_signed_retried_and_disabled_after_repeated_failures(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any], dev_webhooks: str
) -> None:
    user = make_user(client, stack_env["DATABASE_URL"], "premium")
    _Hook.secret = body(post(client, f"{PREFS}/webhook-secret", {}, user.auth))["secret"]
    channels = {"in_app": True, "websocket": False, "email": False, "sns": False, "webhook": True}
    assert _prefs(client, user, channels=channels, webhook_url=dev_webhooks)["webhook_status"] == "active"
    alert = _alert(client, user, trigger="every_time")
    now = dt.datetime(2026, 12, 3, 15, tzinfo=UTC)
    svc = _service(delivery_env, now)
    sleeps: list[float] = []
    svc.webhook = lambda: webhook.WebhookSender(True, sleep=sleeps.append)

    first = _fire(stack_env, alert, user, now)
    assert svc.deliver(first)["webhook"] == "sent (HTTP 200)"
    [req] = _Hook.seen
    assert req["verified"] and req["body"]["type"] == "alert.fired" and req["body"]["id"] == first["id"]
    assert (
        req["body"]["alert_id"] == alert and req["body"]["symbol"] == "JPM" and req["body"]["alert_name"] == "JPM watch"
    )

    _Hook.status, _Hook.seen = 500, []
    for n in range(1, webhook.DISABLE_AFTER + 1):
        # a failing webhook does not fail the message (no redelivery, no DLQ): it is recorded
        status = svc.deliver(_fire(stack_env, alert, user, now + dt.timedelta(minutes=n), n))["webhook"]
        assert status.startswith("failed: HTTP 500")
        assert status.endswith("(webhook disabled)") == (n == webhook.DISABLE_AFTER)
    assert len(_Hook.seen) == webhook.ATTEMPTS * webhook.DISABLE_AFTER and all(r["verified"] for r in _Hook.seen)
    assert sleeps == [0.5, 1.0] * webhook.DISABLE_AFTER
    prefs = body(client.http.get(PREFS, headers=user.auth))
    assert prefs["webhook_status"] == "disabled" and "HTTP 500" in prefs["webhook_disabled_reason"]
    notes = body(client.http.get("/notifications", headers=user.auth))["data"]
    assert [n["title"] for n in notes if n["kind"] == "webhook_disabled"] == ["Your alert webhook was disabled"]
    _Hook.seen = []
    later = svc.deliver(_fire(stack_env, alert, user, now + dt.timedelta(hours=1), 99))
    assert later["webhook"] == "webhook disabled" and _Hook.seen == []

    # switched off and on again (the user fixed the endpoint): active, and delivering
    _Hook.status = 200
    _prefs(client, user, channels={**channels, "webhook": False}, webhook_url=dev_webhooks)
    assert _prefs(client, user, channels=channels, webhook_url=dev_webhooks)["webhook_status"] == "active"
    assert svc.deliver(_fire(stack_env, alert, user, now + dt.timedelta(hours=2), 7))["webhook"] == "sent (HTTP 200)"
    # a premium user who is downgraded keeps the URL but the channel stops
    with psycopg.connect(_dsn(stack_env), autocommit=True) as conn:
        conn.execute("UPDATE users SET role = 'free' WHERE id = %s", (user.id,))
    assert svc.deliver(_fire(stack_env, alert, user, now + dt.timedelta(hours=3), 8))["webhook"] == "not on your plan"
