"""Alert delivery on the real local stack: moto (SQS, SES, SNS, DynamoDB for idempotency), PostgreSQL,
Redis, and a local @connections endpoint. Fired alerts travel evaluator -> delivery queue -> the
delivery handler (driven like Lambda's SQS poller: records it reports as failed, or all of them when it
raises, stay on the queue and come back)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import psycopg
import pytest
from chalice.test import Client

from devstack import mailbox
from devstack.lambdas import LocalContext
from stockscreen.alerts.events import evaluation_service
from stockscreen.core.clients import reset_clients
from stockscreen.db.engine import get_engine
from stockscreen.realtime.connections import connection_registry
from stockscreen.realtime.messages import Quote, QuoteBatch
from stockscreen.screening import universe
from tests.integration.alertkit import counts, delivery_env, poll
from tests.integration.authkit import body, make_user, post

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits", "no_other_alerts")]
__all__ = ["delivery_env"]  # the fixture, from the shared kit


def _alert_and_batches(client: Client, user: Any, tag: str) -> tuple[str, list[QuoteBatch]]:
    u = universe.get_universe(get_engine())
    close = float(u.numeric("close")[u.row_of("JPM"), u.date_index(None)])
    level = round(close * 1.05, 2)
    resp = post(
        client,
        "/alerts",
        {
            "name": "JPM breakout",
            "rule": {"type": "crossing_up", "symbol": "JPM", "level": level},
            "options": {"trigger": "every_time"},
        },
        user.auth,
    )
    assert resp.status_code == 201, resp.body
    at = dt.datetime(2026, 12, 2, 15, tzinfo=dt.UTC)
    batches = [
        QuoteBatch(
            batch_id=f"{tag}-{k}",
            source="test",
            asof=at + dt.timedelta(minutes=k),
            quotes=[Quote(symbol="JPM", price=p, ts=at)],
        )
        for k, p in enumerate([close, level * 1.01, close, level * 1.02])
    ]
    return str(body(resp)["id"]), batches


def test_a_redelivered_message_sends_nothing_twice_and_unsubscribe_stops_email(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any]
) -> None:
    user = make_user(client, stack_env["DATABASE_URL"], "premium")
    connection_registry().register("conn-a", user.id)
    connection_registry().register("conn-b", user.id)
    alert_id, batches = _alert_and_batches(client, user, "redeliver")
    svc = evaluation_service(get_engine())
    before = counts(stack_env, delivery_env, user.id)
    assert svc.evaluate_quotes(batches[0])["fired"] == 0
    assert svc.evaluate_quotes(batches[1])["fired"] == 1
    queue = stack_env["ALERTS_DELIVERY_QUEUE_URL"]
    sqs = delivery_env["aws"]["sqs"]
    handlers = delivery_env["handlers"]

    # the first delivery's delete is lost: the same message is delivered again
    msg = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1)[
        "Messages"
    ]
    assert len(msg) == 1
    record = {
        "messageId": msg[0]["MessageId"],
        "receiptHandle": msg[0]["ReceiptHandle"],
        "body": msg[0]["Body"],
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": msg[0]["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }
    assert handlers.deliver({"Records": [record]}, LocalContext("d"))["batchItemFailures"] == []
    assert poll(delivery_env, queue, handlers) == (1, [])  # redelivered, and now deleted
    after = counts(stack_env, delivery_env, user.id)
    assert {k: after[k] - before[k] for k in after} == {"in_app": 1, "websocket": 2, "email": 1, "sns": 1}
    assert sorted(p for p, _ in delivery_env["posts"]) == ["/@connections/conn-a", "/@connections/conn-b"]
    pushed = delivery_env["posts"][0][1]
    assert pushed["type"] == "alert" and pushed["alert_id"] == alert_id and "JPM" in pushed["message"]
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", "")) as conn:
        delivery = conn.execute("SELECT delivery FROM alert_events WHERE alert_id = %s", (alert_id,)).fetchone()
    assert delivery is not None and delivery[0]["in_app"] == "sent" and delivery[0]["email"] == "sent"
    assert delivery[0]["websocket"] == "sent to 2"

    # one-click unsubscribe (no sign-in) with the link the email carried: the next firing sends no email
    # the email, as the local SES store holds it (the dev mailbox reads the same store)
    mails = [m for m in mailbox.messages(stack_env["AWS_ENDPOINT_URL"]) if m["to"] == user.email]
    assert len(mails) == 1
    mail = mails[0]
    headers = dict(mail["headers"])
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://localhost:5173/api/alerts/unsubscribe?token=")
    assert mail["subject"].startswith("Alert: JPM price") and "rose above" in mail["text"]
    assert mail["html"] is not None and "http://localhost:5173/stocks/JPM" in mail["html"]
    token = link.split("token=", 1)[1]
    # the body's link is the web app's unsubscribe page (which calls the same API with the same token)
    assert f"http://localhost:5173/unsubscribe?token={token}" in mail["html"]
    assert f"http://localhost:5173/unsubscribe?token={token}" in mail["text"]
    resp = client.http.post(
        f"/alerts/unsubscribe?token={token}",
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 200, resp.body
    assert body(resp) == {"unsubscribed": True, "alert_id": alert_id}
    bad = client.http.post(
        f"/alerts/unsubscribe?token={token[:-3]}xyz",
        body="",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad.status_code == 400
    assert svc.evaluate_quotes(batches[2])["fired"] == 0
    assert svc.evaluate_quotes(batches[3])["fired"] == 1
    assert poll(delivery_env, queue, handlers) == (1, [])
    final = counts(stack_env, delivery_env, user.id)
    assert {k: final[k] - after[k] for k in final} == {"in_app": 1, "websocket": 2, "email": 0, "sns": 1}


def test_ses_failing_is_retried_then_dead_lettered_while_in_app_and_websocket_are_delivered_once(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SES_SENDER", "alerts@unverified.example")  # SES rejects an unverified sender
    reset_clients()
    delivery_env["handlers"].delivery.cache_clear()
    user = make_user(client, stack_env["DATABASE_URL"], "premium")
    connection_registry().register("conn-c", user.id)
    alert_id, batches = _alert_and_batches(client, user, "dlq")
    svc = evaluation_service(get_engine())
    before = counts(stack_env, delivery_env, user.id)
    svc.evaluate_quotes(batches[0])
    assert alert_id in {f["alert_id"] for f in svc.evaluate_quotes(batches[1])["firings"]}
    queue = stack_env["ALERTS_DELIVERY_QUEUE_URL"]
    attempts = 0
    for _ in range(8):
        seen, failed = poll(delivery_env, queue, delivery_env["handlers"])
        if not seen:
            break
        attempts += 1
        assert len(failed) == 1
    assert attempts == 5  # maxReceiveCount: then SQS moves it to the dead-letter queue
    dlq = delivery_env["aws"]["sqs"].receive_message(
        QueueUrl=stack_env["ALERTS_DELIVERY_DLQ_URL"], WaitTimeSeconds=1, VisibilityTimeout=0
    )
    dead = [json.loads(m["Body"]) for m in dlq.get("Messages", [])]
    assert [d["alert_id"] for d in dead] == [alert_id]
    after = counts(stack_env, delivery_env, user.id)
    assert {k: after[k] - before[k] for k in after} == {"in_app": 1, "websocket": 1, "email": 0, "sns": 1}
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", "")) as conn:
        delivery = conn.execute("SELECT delivery FROM alert_events WHERE alert_id = %s", (alert_id,)).fetchone()
    assert delivery is not None and delivery[0]["email"].startswith("failed") and delivery[0]["in_app"] == "sent"
    # the admin sees it and redrives it (stockscreen alerts dlq [--redrive]); with SES working again, only
    # the email goes out: the channels that were delivered are not repeated
    from devstack import cli

    dlq_body = json.loads(dlq["Messages"][0]["Body"])
    assert dlq_body["alert_id"] == alert_id
    from stockscreen.alerts.adapters import DeadLetters

    shown = DeadLetters(stack_env["ALERTS_DELIVERY_DLQ_URL"], queue).peek()
    assert [f["alert_id"] for f in shown] == [alert_id]  # what `stockscreen alerts dlq` lists
    monkeypatch.setenv("SES_SENDER", stack_env["SES_SENDER"])
    reset_clients()
    delivery_env["handlers"].delivery.cache_clear()
    assert cli.main(["alerts", "dlq", "--redrive"]) == 0
    assert poll(delivery_env, queue, delivery_env["handlers"]) == (1, [])
    final = counts(stack_env, delivery_env, user.id)
    assert {k: final[k] - after[k] for k in final} == {"in_app": 0, "websocket": 0, "email": 1, "sns": 0}
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", "")) as conn:
        delivery = conn.execute("SELECT delivery FROM alert_events WHERE alert_id = %s", (alert_id,)).fetchone()
    assert delivery is not None and delivery[0]["email"] == "sent"


def test_make_devs_worker_evaluates_prices_updated_and_delivers(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any]
) -> None:
    from devstack.alerts_worker import AlertsWorker

    user = make_user(client, stack_env["DATABASE_URL"], "premium")
    rule = {"type": "price_above", "symbol": "MSFT", "price": 1}
    assert post(client, "/alerts", {"name": "MSFT above 1", "rule": rule}, user.auth).status_code == 201
    sqs = delivery_env["aws"]["sqs"]
    version = universe.get_universe(get_engine()).version
    event = {
        "id": f"evt-worker-{user.id}",
        "source": "stockscreen.ingest",
        "detail-type": "prices.updated",
        "detail": {"run_id": "r", "snapshot_version": version, "symbols": ["MSFT"]},
    }
    while msgs := sqs.receive_message(QueueUrl=stack_env["ALERTS_QUEUE_URL"], MaxNumberOfMessages=10).get("Messages"):
        for m in msgs:  # earlier runs' events (the sample load's own prices.updated)
            sqs.delete_message(QueueUrl=stack_env["ALERTS_QUEUE_URL"], ReceiptHandle=m["ReceiptHandle"])
    sqs.send_message(QueueUrl=stack_env["ALERTS_QUEUE_URL"], MessageBody=json.dumps(event))
    worker = AlertsWorker(wait_seconds=1)
    assert worker.poll_prices() == 1
    assert worker.poll_delivery() == (1, 0)
    notes = body(client.http.get("/notifications", headers=user.auth))
    assert notes["count"] == 1 and notes["data"][0]["title"].startswith("MSFT price")
    mails = [m for m in mailbox.messages(stack_env["AWS_ENDPOINT_URL"]) if m["to"] == user.email]
    assert len(mails) == 1 and mails[0]["subject"].startswith("Alert: MSFT price")


def test_firings_the_queue_did_not_take_are_queued_again(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any]
) -> None:
    user = make_user(client, stack_env["DATABASE_URL"], "premium")
    alert_id, batches = _alert_and_batches(client, user, "outbox")
    svc = evaluation_service(get_engine())
    working = svc.publish

    def down(firings: list[dict[str, Any]]) -> None:
        raise ConnectionError("SQS unreachable")

    svc.publish = down
    svc.evaluate_quotes(batches[0])
    assert svc.evaluate_quotes(batches[1])["fired"] == 1  # committed, though not queued
    sqs = delivery_env["aws"]["sqs"]
    queue = stack_env["ALERTS_DELIVERY_QUEUE_URL"]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)
    dsn = stack_env["DATABASE_URL"].replace("+psycopg", "")
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT delivery FROM alert_events WHERE alert_id = %s", (alert_id,)).fetchone()
    assert row == ({},)
    svc.publish = working
    assert svc.requeue_unqueued(older_than_seconds=0) == 1
    msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert [json.loads(m["Body"])["alert_id"] for m in msgs] == [alert_id]
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT delivery FROM alert_events WHERE alert_id = %s", (alert_id,)).fetchone()
    assert row is not None and "queued_at" in row[0]
    assert svc.requeue_unqueued(older_than_seconds=0) == 0  # taken once: not again
    assert poll(delivery_env, queue, delivery_env["handlers"]) == (1, [])
