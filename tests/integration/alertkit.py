"""Helpers of the alert delivery tests: the delivery environment on the real local stack (moto SQS, SES,
SNS, DynamoDB; PostgreSQL; a local @connections endpoint), one Lambda-like poll of a queue, counts of
what each channel delivered, and the end-to-end tests' starting point (a user's screen alert, evaluated once
on the current snapshot)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import psycopg
import pytest
from chalice.test import Client

from devstack.alerts_worker import AlertsWorker, sqs_record
from devstack.lambdas import LocalContext, load_module
from stockscreen.core.clients import reset_clients
from stockscreen.db.engine import get_engine
from stockscreen.screening import universe
from tests.integration.authkit import User, body, make_user, post


class _Connections(BaseHTTPRequestHandler):
    posts: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).posts.append((self.path, json.loads(data)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def delivery_env(stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    server = HTTPServer(("127.0.0.1", 0), _Connections)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Connections.posts = []
    monkeypatch.setenv("WS_MANAGEMENT_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("APP_BASE_URL", "http://localhost:5173")
    reset_clients()
    handlers = load_module("functions/alerts/handlers.py", "stockscreen_alerts_handlers")
    handlers.delivery.cache_clear()
    aws = {
        n: boto3.client(n, endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
        for n in ("sqs", "ses", "sns")
    }
    for q in ("ALERTS_DELIVERY_QUEUE_URL", "ALERTS_DELIVERY_DLQ_URL"):
        drain(aws["sqs"], stack_env[q])
    # earlier tests' held messages (the session database is shared) are set aside: release_due sees only these
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("UPDATE alert_held SET released_at = now() WHERE released_at IS NULL")
    # what SNS publishes, seen through a queue subscribed to the topic
    sink = aws["sqs"].create_queue(QueueName=f"sns-sink-{id(server)}")["QueueUrl"]
    sink_arn = aws["sqs"].get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws["sns"].subscribe(TopicArn=stack_env["ALERT_NOTIFICATIONS_TOPIC_ARN"], Protocol="sqs", Endpoint=sink_arn)
    yield {"handlers": handlers, "aws": aws, "sink": sink, "posts": _Connections.posts}
    server.shutdown()
    handlers.delivery.cache_clear()
    reset_clients()


def drain(sqs: Any, queue: str) -> None:
    """Delete every message waiting in ``queue`` (SQS allows a purge only once a minute)."""
    while msgs := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for m in msgs:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def poll(env: dict[str, Any], queue: str, handlers: Any) -> tuple[int, list[str]]:
    """One Lambda poll: receive, invoke ``deliver``, delete what succeeded; (records seen, failed ids)."""
    sqs = env["aws"]["sqs"]
    msgs = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1, MessageAttributeNames=["All"]
    ).get("Messages", [])
    if not msgs:
        return 0, []
    event = {"Records": [sqs_record(m, queue) for m in msgs]}
    try:
        failed = [
            f["itemIdentifier"]
            for f in handlers.deliver(event, LocalContext("stockscreen-alert-delivery"))["batchItemFailures"]
        ]
    except Exception:
        failed = [m["MessageId"] for m in msgs]
    for m in msgs:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return len(msgs), failed


def counts(stack_env: dict[str, str], env: dict[str, Any], user_id: str) -> dict[str, int]:
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", "")) as conn:
        notes = conn.execute("SELECT count(*) FROM notifications WHERE user_id = %s", (user_id,)).fetchone()
    sns = env["aws"]["sqs"].get_queue_attributes(QueueUrl=env["sink"], AttributeNames=["ApproximateNumberOfMessages"])
    return {
        "in_app": int(notes[0]) if notes else 0,
        "websocket": len(env["posts"]),
        "email": int(env["aws"]["ses"].get_send_quota()["SentLast24Hours"]),
        "sns": int(sns["Attributes"]["ApproximateNumberOfMessages"]),
    }


@dataclass
class ScreenAlert:
    user: User
    alert_id: str
    worker: AlertsWorker


def screen_alert_at_baseline(
    client: Client, stack_env: dict[str, str], env: dict[str, Any], query: str = "close > 165"
) -> ScreenAlert:
    """The end-to-end tests' start: the alerts queue drained (the sample load's own prices.updated), a premium
    user with a saved screen ("Above 165", ``query``) and a screen_enter alert on it, and make dev's alerts
    worker having evaluated the current snapshot once, as the screen's baseline (its first membership: nobody
    entered, nothing delivered)."""
    sqs = env["aws"]["sqs"]
    drain(sqs, stack_env["ALERTS_QUEUE_URL"])
    user = make_user(client, stack_env["DATABASE_URL"], "premium")
    screen = body(post(client, "/screens/saved", {"name": "Above 165", "query": query}, user.auth))
    alert = post(
        client, "/alerts", {"name": "Into 165", "rule": {"type": "screen_enter", "screen_id": screen["id"]}}, user.auth
    )
    assert alert.status_code == 201, alert.body
    worker = AlertsWorker(wait_seconds=1)
    baseline = {
        "id": f"evt-baseline-{uuid.uuid4()}",
        "source": "stockscreen.ingest",
        "detail-type": "prices.updated",
        "detail": {
            "run_id": "baseline",
            "snapshot_version": universe.get_universe(get_engine()).version,
            "symbols": [],
        },
    }
    sqs.send_message(QueueUrl=stack_env["ALERTS_QUEUE_URL"], MessageBody=json.dumps(baseline))
    assert worker.poll_prices() == 1 and worker.poll_delivery() == (0, 0)
    return ScreenAlert(user=user, alert_id=body(alert)["id"], worker=worker)
