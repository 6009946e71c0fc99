"""Helpers of the alert delivery tests: the delivery environment on the real local stack (moto SQS, SES,
SNS, DynamoDB; PostgreSQL; a local @connections endpoint), one Lambda-like poll of a queue, and counts of
what each channel delivered."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import psycopg
import pytest

from devstack.alerts_worker import sqs_record
from devstack.lambdas import LocalContext, load_module
from stockscreen.core.clients import reset_clients


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
    for q in ("ALERTS_DELIVERY_QUEUE_URL", "ALERTS_DELIVERY_DLQ_URL"):  # drain (a purge is once a minute)
        while msgs := aws["sqs"].receive_message(QueueUrl=stack_env[q], MaxNumberOfMessages=10).get("Messages"):
            for m in msgs:
                aws["sqs"].delete_message(QueueUrl=stack_env[q], ReceiptHandle=m["ReceiptHandle"])
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
