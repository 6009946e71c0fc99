"""AWS adapters of alerts: the delivery queue (SQS), email (SES), the SNS topic, and Powertools
idempotency (DynamoDB) for the delivery channels."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from stockscreen.core import correlation
from stockscreen.core.clients import aws_client

#: Delivery idempotency records outlive every redelivery of a message (5 receives, 3 minutes apart).
EXPIRES_AFTER_SECONDS = 7 * 24 * 3600


def _json(obj: Any) -> str:
    return json.dumps(obj, default=str, separators=(",", ":"))


class SqsFiringQueue:
    """Publishes fired alerts (as stored in the history) to the delivery queue, each with the
    ``correlation_id`` message attribute of what fired it (the bound id)."""

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self.client = client if client is not None else aws_client("sqs")

    def publish(self, firings: list[dict[str, Any]]) -> None:
        attributes = correlation.sqs_attributes()
        for start in range(0, len(firings), 10):
            chunk = firings[start : start + 10]
            resp = self.client.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(k), "MessageBody": _json(f), "MessageAttributes": attributes}
                    for k, f in enumerate(chunk)
                ],
            )
            if resp.get("Failed"):
                raise RuntimeError(f"SQS refused {len(resp['Failed'])} fired alerts: {resp['Failed'][:3]}")


class SesMailer:
    def __init__(self, client: Any | None = None, configuration_set: str | None = None) -> None:
        self.client = client if client is not None else aws_client("ses")
        self.configuration_set = configuration_set

    def send(self, raw: bytes, *, sender: str, to: str) -> str:
        """Send a raw message; SES takes the recipient from its ``To`` header (``to``). With a configuration
        set, SES applies its suppression list and publishes bounces and complaints to its SNS topic."""
        extra = {"ConfigurationSetName": self.configuration_set} if self.configuration_set else {}
        resp = self.client.send_raw_email(Source=sender, RawMessage={"Data": raw}, **extra)
        return str(resp["MessageId"])


class SnsTopic:
    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self.client = client if client is not None else aws_client("sns")

    def publish(self, firing: dict[str, Any], target: str | None = None) -> str:
        """Publish to the user's own target (an E.164 phone number: an SMS of the message; a topic ARN) or,
        without one, to the platform's alert topic (subscribers filter on ``user_id``)."""
        if target is not None and target.startswith("+"):
            sms = self.client.publish(PhoneNumber=target, Message=f"Stockscreen: {firing['message']}"[:140])
            return str(sms["MessageId"])
        resp = self.client.publish(
            TopicArn=target or self.topic_arn,
            Subject="Stockscreen alert",
            Message=_json(firing),
            MessageAttributes={
                "user_id": {"DataType": "String", "StringValue": str(firing["user_id"])},
                "alert_id": {"DataType": "String", "StringValue": str(firing["alert_id"])},
            },
        )
        return str(resp["MessageId"])


@cache
def _store(table: str) -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table, boto3_client=aws_client("dynamodb"))


@cache
def idempotency_config() -> Any:
    """The delivery channels' idempotency config (the handler registers its Lambda context on it, so an
    in-progress record expires with the invocation)."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[alert_id, fired_at, symbol, channel]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
    )


def powertools_once(table: str) -> Callable[[dict[str, str], Callable[[], dict[str, Any]]], dict[str, Any]]:
    """Run a channel's effect once per key (Powertools idempotency, DynamoDB): a stored success is
    returned again without running; a failure leaves no record, so a retry runs it."""
    from aws_lambda_powertools.utilities.idempotency import idempotent_function

    config = idempotency_config()

    def once(key: dict[str, str], fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        def alert_channel(key: dict[str, str]) -> dict[str, Any]:
            return fn()

        wrapped = idempotent_function(data_keyword_argument="key", persistence_store=_store(table), config=config)(
            alert_channel
        )
        result: dict[str, Any] = wrapped(key=key)
        return result

    return once


class DeadLetters:
    """The delivery dead-letter queue: what is in it, and moving it back to the delivery queue."""

    def __init__(self, dlq_url: str, queue_url: str, client: Any | None = None) -> None:
        self.dlq_url = dlq_url
        self.queue_url = queue_url
        self.client = client if client is not None else aws_client("sqs")

    def count(self) -> int:
        """Messages in the dead-letter queue (SQS's approximate count, visible and in flight)."""
        attrs = self.client.get_queue_attributes(
            QueueUrl=self.dlq_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
            attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
        )

    def peek(self, limit: int = 10) -> list[dict[str, Any]]:
        """Up to ``limit`` dead fired alerts (left on the queue: they become visible again at once)."""
        resp = self.client.receive_message(
            QueueUrl=self.dlq_url, MaxNumberOfMessages=min(limit, 10), VisibilityTimeout=0, WaitTimeSeconds=0
        )
        return [json.loads(m["Body"]) for m in resp.get("Messages", [])]

    def redrive(self, limit: int = 1000) -> int:
        """Move up to ``limit`` messages back to the delivery queue (send, then delete); how many moved.
        Delivery is idempotent, so a message moved twice after a crash is still delivered once."""
        moved = 0
        while moved < limit:
            resp = self.client.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=min(10, limit - moved),
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            )
            msgs = resp.get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                # the message keeps its correlation id (the firing's story goes on)
                attributes = correlation.sqs_attributes(correlation.from_sqs_record(m))
                self.client.send_message(QueueUrl=self.queue_url, MessageBody=m["Body"], MessageAttributes=attributes)
                self.client.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=m["ReceiptHandle"])
                moved += 1
        return moved
