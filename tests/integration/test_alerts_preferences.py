"""Notification preferences through the API: defaults, the whole-document PUT, validation (uniform 400),
the webhook's plan gate (uniform 403), URL refusal outside make dev, the secret shown once; the per-alert
cooldown option; the admin DLQ API (admin only, audited)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import psycopg
import pytest
from chalice.test import Client

from tests.integration.authkit import assert_error, body, make_user, post, send

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits")]
PATH = "/me/notification-preferences"

DOC: dict[str, Any] = {
    "timezone": "America/New_York",
    "quiet_hours": {"start": "22:00", "end": "07:00"},
    "channels": {"in_app": True, "websocket": True, "email": True, "sns": False, "webhook": False},
    "daily_caps": {"email": 20, "sns": 10, "webhook": 100},
    "sns_target": None,
    "webhook_url": None,
}


def test_defaults_then_the_whole_document_round_trips(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "free")
    got = body(client.http.get(PATH, headers=u.auth))
    assert got == {
        "timezone": "UTC",
        "quiet_hours": None,
        "channels": {"in_app": True, "websocket": True, "email": True, "sns": True, "webhook": False},
        "daily_caps": {"email": 20, "sns": 10, "webhook": 100},
        "sns_target": None,
        "webhook_url": None,
        "webhook_status": "none",
        "webhook_disabled_reason": None,
        "webhook_secret_hint": None,
    }
    doc = {**DOC, "sns_target": "+14155550100", "webhook_status": "none", "webhook_secret_hint": None}
    resp = send(client, "PUT", PATH, doc, u.auth)
    assert resp.status_code == 200, resp.body
    saved = body(resp)
    assert saved["timezone"] == "America/New_York" and saved["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert saved["channels"]["sns"] is False and saved["sns_target"] == "+14155550100"
    assert body(client.http.get(PATH, headers=u.auth)) == saved
    # the whole document: leaving quiet_hours out clears them
    assert body(send(client, "PUT", PATH, {"timezone": "Europe/Berlin"}, u.auth))["quiet_hours"] is None
    assert client.http.get(PATH).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"timezone": "Mars/Olympus"},
        {"quiet_hours": {"start": "7am", "end": "07:00"}},
        {"daily_caps": {"email": -1, "sns": 10, "webhook": 100}},
        {"channels": {"pager": True}},
        {"sns_target": "call me"},
        {"extra": 1},
    ],
)
def test_bad_documents_are_400_with_the_uniform_body(
    client: Client, stack_env: dict[str, str], change: dict[str, Any]
) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "free")
    assert_error(send(client, "PUT", PATH, {**DOC, **change}, u.auth), 400)
    assert_error(send(client, "PUT", PATH, b"{not json", u.auth), 400)


def test_webhooks_need_a_paid_plan_and_a_public_https_url(client: Client, stack_env: dict[str, str]) -> None:
    free = make_user(client, stack_env["DATABASE_URL"], "free")
    hook = {
        **DOC,
        "webhook_url": "https://hooks.example.com/stockscreen",
        "channels": {**DOC["channels"], "webhook": True},
    }
    err = assert_error(send(client, "PUT", PATH, hook, free.auth), 403)
    assert err["details"]["feature"] == "alerts.webhook"
    assert_error(send(client, "PUT", PATH, {**DOC, "webhook_url": "https://hooks.example.com/x"}, free.auth), 403)
    assert_error(post(client, f"{PATH}/webhook-secret", {}, free.auth), 403)

    premium = make_user(client, stack_env["DATABASE_URL"], "premium")
    for url in ("http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.0.0.8/x", "https://169.254.169.254/"):
        err = assert_error(send(client, "PUT", PATH, {**hook, "webhook_url": url}, premium.auth), 400)
        assert err["details"]["field"] == "webhook_url"
    secret = body(post(client, f"{PATH}/webhook-secret", {}, premium.auth))["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    saved = body(send(client, "PUT", PATH, hook, premium.auth))
    assert saved["webhook_status"] == "active" and saved["webhook_secret_hint"] == secret[-4:]
    assert secret not in json.dumps(body(client.http.get(PATH, headers=premium.auth)))  # shown once only
    again = body(post(client, f"{PATH}/webhook-secret", {}, premium.auth))["secret"]
    assert again != secret and body(client.http.get(PATH, headers=premium.auth))["webhook_secret_hint"] == again[-4:]
    # removing the URL: no webhook
    assert body(send(client, "PUT", PATH, DOC, premium.auth))["webhook_status"] == "none"


def test_a_disabled_webhook_is_reactivated_by_a_new_url_not_by_saving_other_changes(
    client: Client, stack_env: dict[str, str]
) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    hook = {**DOC, "webhook_url": "https://hooks.example.com/a", "channels": {**DOC["channels"], "webhook": True}}
    assert body(send(client, "PUT", PATH, hook, u.auth))["webhook_status"] == "active"
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(
            "UPDATE notification_preferences SET webhook_status = 'disabled', webhook_disabled_reason = 'HTTP 500' "
            "WHERE user_id = %s",
            (u.id,),
        )
    kept = body(send(client, "PUT", PATH, {**hook, "daily_caps": {"email": 5, "sns": 1, "webhook": 9}}, u.auth))
    assert (kept["webhook_status"], kept["webhook_disabled_reason"]) == ("disabled", "HTTP 500")
    fixed = body(send(client, "PUT", PATH, {**hook, "webhook_url": "https://hooks.example.com/b"}, u.auth))
    assert (fixed["webhook_status"], fixed["webhook_disabled_reason"]) == ("active", None)


def test_alerts_take_a_cooldown_option(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    rule = {"type": "price_above", "symbol": "AAPL", "price": 100}
    resp = post(client, "/alerts", {"rule": rule, "options": {"cooldown_minutes": 30}}, u.auth)
    assert resp.status_code == 201, resp.body
    created = body(resp)
    assert created["cooldown_minutes"] == 30
    plain = body(post(client, "/alerts", {"rule": rule}, u.auth))
    assert plain["cooldown_minutes"] == 0
    changed = send(client, "PATCH", f"/alerts/{plain['id']}", {"options": {"cooldown_minutes": 90}}, u.auth)
    assert body(changed)["cooldown_minutes"] == 90 and body(changed)["trigger"] == plain["trigger"]
    assert_error(send(client, "PATCH", f"/alerts/{plain['id']}", {"options": {"cooldown_minutes": -5}}, u.auth), 400)


def test_the_admin_dlq_api_peeks_and_redrives_and_is_audited(client: Client, stack_env: dict[str, str]) -> None:
    sqs = boto3.client("sqs", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    dlq, queue = stack_env["ALERTS_DELIVERY_DLQ_URL"], stack_env["ALERTS_DELIVERY_QUEUE_URL"]
    for q in (dlq, queue):
        while msgs := sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10).get("Messages"):
            for m in msgs:
                sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
    dead = {"id": 1, "alert_id": "a-dead", "user_id": "u", "fired_at": "2026-12-02T15:00:00+00:00", "message": "x"}
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(dead))
    premium = make_user(client, stack_env["DATABASE_URL"], "premium")
    assert_error(client.http.get("/admin/alerts/dlq", headers=premium.auth), 403)
    assert_error(post(client, "/admin/alerts/dlq/redrive", {}, premium.auth), 403)
    assert_error(client.http.get("/admin/alerts/dlq"), 401)

    admin = make_user(client, stack_env["DATABASE_URL"], "admin")
    seen = body(client.http.get("/admin/alerts/dlq", headers=admin.auth))
    assert seen["count"] == 1 and [m["alert_id"] for m in seen["messages"]] == ["a-dead"]
    assert body(post(client, "/admin/alerts/dlq/redrive", {}, admin.auth)) == {"moved": 1}
    assert body(client.http.get("/admin/alerts/dlq", headers=admin.auth))["count"] == 0
    moved = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["alert_id"] for m in moved] == ["a-dead"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=moved[0]["ReceiptHandle"])
    log = body(client.http.get(f"/admin/audit?actor_id={admin.id}", headers=admin.auth))["data"]
    actions = [(e["action"], e["details"]) for e in log]
    assert ("admin.alerts_dlq_redrive", {"moved": 1}) in actions
    assert ("admin.alerts_dlq_view", {"count": 1, "shown": 1}) in actions
