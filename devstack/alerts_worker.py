"""``make dev``'s stand-in for the alert functions' event sources: polls the prices.updated queue (the
EventBridge rule's target) into ``on_prices_updated`` and the delivery queue into ``deliver`` the way
Lambda's SQS poller does (records reported as failed stay on the queue and come back after their
visibility timeout; after ``maxReceiveCount`` receives SQS moves them to the dead-letter queue), and
releases held messages (quiet hours, daily-cap summaries) the way the scheduled function does."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

from devstack.lambdas import LocalContext, load_module

log = logging.getLogger("stockscreen.dev.alerts")
#: How often held alert messages are released (AWS runs the release every 5 minutes).
RELEASE_EVERY_S = 30.0


def sqs_record(m: dict[str, Any], queue_url: str) -> dict[str, Any]:
    """A received message (``receive_message``, with ``MessageAttributeNames=["All"]``) as a record of the
    Lambda SQS event: the message attributes (the correlation id) in Lambda's spelling."""
    return {
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": a.get("StringValue"), "dataType": a.get("DataType", "String")}
            for name, a in (m.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue_url.rsplit('/', 1)[-1]}",
        "awsRegion": "us-east-1",
    }


class AlertsWorker:
    def __init__(self, wait_seconds: int = 1) -> None:
        from stockscreen.core.clients import aws_client

        self.sqs = aws_client("sqs")
        self.prices_queue = os.environ["ALERTS_QUEUE_URL"]
        self.delivery_queue = os.environ["ALERTS_DELIVERY_QUEUE_URL"]
        self.handlers = load_module("functions/alerts/handlers.py", "stockscreen_alerts_handlers")
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()

    def _receive(self, queue: str) -> list[dict[str, Any]]:
        resp = self.sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=self.wait_seconds, MessageAttributeNames=["All"]
        )
        return list(resp.get("Messages", []))

    def poll_prices(self) -> int:
        """Evaluate the prices.updated events waiting; returns how many were handled."""
        done = 0
        for m in self._receive(self.prices_queue):
            event = json.loads(m["Body"])
            if event.get("detail-type") == "prices.updated":
                try:
                    self.handlers.on_prices_updated(event, LocalContext("stockscreen-alerts"))
                except Exception:
                    log.exception("alert evaluation failed; the event stays on the queue")
                    continue
            self.sqs.delete_message(QueueUrl=self.prices_queue, ReceiptHandle=m["ReceiptHandle"])
            done += 1
        return done

    def poll_delivery(self) -> tuple[int, int]:
        """Deliver the fired alerts waiting: (records handled, records that failed and stay queued)."""
        msgs = self._receive(self.delivery_queue)
        if not msgs:
            return 0, 0
        event = {"Records": [sqs_record(m, self.delivery_queue) for m in msgs]}
        try:
            result = self.handlers.deliver(event, LocalContext("stockscreen-alert-delivery"))
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        except Exception:
            log.exception("alert delivery failed for the whole batch")
            failed = {m["MessageId"] for m in msgs}
        for m in msgs:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.delivery_queue, ReceiptHandle=m["ReceiptHandle"])
        return len(msgs), len(failed)

    def release_held(self) -> int:
        """Send the messages quiet hours held and the daily caps' summaries that are due (AWS: a schedule)."""
        result = self.handlers.release_held({}, LocalContext("stockscreen-alert-release"))
        return int(result["released"])

    def run(self) -> None:
        last_release = 0.0
        while not self._stop.is_set():
            try:
                self.poll_prices()
                self.poll_delivery()
                if time.monotonic() - last_release > RELEASE_EVERY_S:
                    last_release = time.monotonic()
                    self.release_held()
            except Exception:
                log.exception("alerts worker poll failed")
                self._stop.wait(2)

    def stop(self) -> None:
        self._stop.set()
