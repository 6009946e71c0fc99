#!/usr/bin/env python3
"""Create the platform's AWS resources on a LocalStack-compatible endpoint (idempotent).

Both local modes run this one script: ``make dev`` against moto's server (or LocalStack
when it already listens on :4566), and LocalStack's own ``ready.d`` init hook. It prints
the resource names and ARNs as ``KEY=value`` lines (the environment the functions need).

    python localstack/bootstrap.py --endpoint-url http://127.0.0.1:4566
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
from typing import Any

import boto3

PREFIX = "stockscreen"
EVENT_BUS = f"{PREFIX}-events"
ALERTS_TOPIC = f"{PREFIX}-alerts"
ADMIN_TOPIC = f"{PREFIX}-admin"
ALERTS_QUEUE = f"{PREFIX}-alerts"
ALERTS_DLQ = f"{PREFIX}-alerts-dlq"
DELIVERY_QUEUE = f"{PREFIX}-alert-delivery"
DELIVERY_DLQ = f"{PREFIX}-alert-delivery-dlq"
ALERT_NOTIFICATIONS_TOPIC = f"{PREFIX}-alert-notifications"
#: The delivery function's timeout; the queue's visibility timeout is 6x it (AWS's advice for Lambda sources).
DELIVERY_TIMEOUT_SECONDS = 30
IDEMPOTENCY_TABLE = f"{PREFIX}-idempotency"
CONNECTIONS_TABLE = f"{PREFIX}-ws-connections"
JWT_SECRET = f"{PREFIX}/jwt-signing-key"
#: Signs alert emails' one-click unsubscribe links (its own key: the delivery function never holds the JWT key).
UNSUBSCRIBE_SECRET = f"{PREFIX}/alerts-unsubscribe-key"
SES_SENDER = "noreply@stockscreen.local"
SNAPSHOT_BUCKET = f"{PREFIX}-snapshots"
PRICES_RULE = f"{PREFIX}-prices-updated"
#: The raw bucket: files dropped under incoming/ (or uploaded by an admin) start an ingest run.
RAW_BUCKET = f"{PREFIX}-raw"
DROP_PREFIX = "incoming/"
#: EventBridge rule (default bus) on the raw bucket's "Object Created" events under incoming/: the same
#: pattern as CDK's (stockscreen.pipeline.definition.drop_event_pattern; a test compares them). Its
#: target here is a queue the dev stack reads (moto's rules cannot start a state machine): it applies
#: the rule's input transformer (definition.drop_input) and starts the local state machine.
DROP_RULE = f"{PREFIX}-drop-folder"
DROP_QUEUE = f"{PREFIX}-drop-folder"
#: The largest upload the presigned POST allows (bytes); the API's and CDK's limit too.
UPLOAD_MAX_BYTES = 200 * 1024 * 1024
#: Report documents (PDF, CSV): private, encrypted at rest, reached by presigned links.
REPORTS_BUCKET = f"{PREFIX}-reports"


def bootstrap(endpoint_url: str, region: str = "us-east-1") -> dict[str, str]:
    def client(name: str) -> Any:
        return boto3.client(
            name,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - dummy credentials for a local endpoint
        )

    sns, sqs, ses, events, ddb, sm = (client(n) for n in ("sns", "sqs", "ses", "events", "dynamodb", "secretsmanager"))
    s3 = client("s3")
    if not any(b["Name"] == SNAPSHOT_BUCKET for b in s3.list_buckets().get("Buckets", [])):
        s3.create_bucket(Bucket=SNAPSHOT_BUCKET)  # snapshot artifacts (stockscreen.screening.artifact)
    alerts_topic = sns.create_topic(Name=ALERTS_TOPIC)["TopicArn"]
    admin_topic = sns.create_topic(Name=ADMIN_TOPIC)["TopicArn"]

    dlq_url = sqs.create_queue(QueueName=ALERTS_DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=ALERTS_QUEUE,
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
            "VisibilityTimeout": "60",
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=alerts_topic, Protocol="sqs", Endpoint=queue_arn)

    # fired alerts: the delivery queue (5 receives, then its dead-letter queue) and their SNS topic
    delivery_dlq_url = sqs.create_queue(QueueName=DELIVERY_DLQ)["QueueUrl"]
    delivery_dlq_arn = sqs.get_queue_attributes(QueueUrl=delivery_dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    delivery_url = sqs.create_queue(
        QueueName=DELIVERY_QUEUE,
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": delivery_dlq_arn, "maxReceiveCount": "5"}),
            "VisibilityTimeout": str(6 * DELIVERY_TIMEOUT_SECONDS),
        },
    )["QueueUrl"]
    notifications_topic = sns.create_topic(Name=ALERT_NOTIFICATIONS_TOPIC)["TopicArn"]

    ses.verify_email_identity(EmailAddress=SES_SENDER)

    try:
        bus_arn = events.create_event_bus(Name=EVENT_BUS)["EventBusArn"]
    except events.exceptions.ResourceAlreadyExistsException:
        bus_arn = events.describe_event_bus(Name=EVENT_BUS)["Arn"]
    events.put_rule(
        Name=PRICES_RULE,
        EventBusName=EVENT_BUS,
        EventPattern=json.dumps({"source": ["stockscreen.ingest"], "detail-type": ["prices.updated"]}),
        State="ENABLED",
    )
    events.put_targets(Rule=PRICES_RULE, EventBusName=EVENT_BUS, Targets=[{"Id": "alerts-queue", "Arn": queue_arn}])

    s3 = client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        if region == "us-east-1":
            s3.create_bucket(Bucket=RAW_BUCKET)
        else:
            s3.create_bucket(Bucket=RAW_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_notification_configuration(
        Bucket=RAW_BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    # the SPA posts uploads straight to the bucket (a presigned POST)
    s3.put_bucket_cors(
        Bucket=RAW_BUCKET,
        CORSConfiguration={
            "CORSRules": [
                {"AllowedMethods": ["POST"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 600}
            ]
        },
    )
    drop_queue_url = sqs.create_queue(QueueName=DROP_QUEUE)["QueueUrl"]
    drop_queue_arn = sqs.get_queue_attributes(QueueUrl=drop_queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=DROP_RULE,
        EventPattern=json.dumps(drop_pattern(RAW_BUCKET)),
        State="ENABLED",
        Description="a file under incoming/ of the raw bucket starts an ingest run",
    )
    events.put_targets(Rule=DROP_RULE, Targets=[{"Id": "drop-folder-queue", "Arn": drop_queue_arn}])

    with contextlib.suppress(ddb.exceptions.ResourceInUseException):
        ddb.create_table(
            TableName=IDEMPOTENCY_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
    # the WebSocket connection registry (stockscreen.realtime.dynamo): pk/sk strings, TTL on expires_at
    with contextlib.suppress(ddb.exceptions.ResourceInUseException):
        ddb.create_table(
            TableName=CONNECTIONS_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
    ddb.update_time_to_live(
        TableName=CONNECTIONS_TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )

    try:
        secret_arn = sm.describe_secret(SecretId=JWT_SECRET)["ARN"]
    except sm.exceptions.ResourceNotFoundException:
        secret_arn = sm.create_secret(
            Name=JWT_SECRET,
            SecretString=json.dumps({"kid": "local-1", "key": secrets.token_urlsafe(48)}),
        )["ARN"]

    try:
        unsubscribe_arn = sm.describe_secret(SecretId=UNSUBSCRIBE_SECRET)["ARN"]
    except sm.exceptions.ResourceNotFoundException:
        unsubscribe_arn = sm.create_secret(
            Name=UNSUBSCRIBE_SECRET,
            SecretString=json.dumps({"kid": "local-1", "key": secrets.token_urlsafe(48)}),
        )["ARN"]

    s3 = client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=REPORTS_BUCKET)
    s3.put_public_access_block(
        Bucket=REPORTS_BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=REPORTS_BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )

    return {
        "REPORTS_BUCKET": REPORTS_BUCKET,
        "EVENT_BUS_NAME": EVENT_BUS,
        "EVENT_BUS_ARN": bus_arn,
        "ALERTS_TOPIC_ARN": alerts_topic,
        "ADMIN_TOPIC_ARN": admin_topic,
        "ALERTS_QUEUE_URL": queue_url,
        "ALERTS_DLQ_URL": dlq_url,
        "ALERTS_DELIVERY_QUEUE_URL": delivery_url,
        "ALERTS_DELIVERY_DLQ_URL": delivery_dlq_url,
        "ALERT_NOTIFICATIONS_TOPIC_ARN": notifications_topic,
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        "CONNECTIONS_TABLE": CONNECTIONS_TABLE,
        "JWT_SECRET_ARN": secret_arn,
        "ALERTS_UNSUBSCRIBE_SECRET_ARN": unsubscribe_arn,
        "SES_SENDER": SES_SENDER,
        "RAW_BUCKET_NAME": RAW_BUCKET,
        "DROP_QUEUE_URL": drop_queue_url,
        "SNAPSHOT_BUCKET": SNAPSHOT_BUCKET,
    }


def drop_pattern(bucket: str) -> dict[str, Any]:
    """The drop folder's event pattern (as ``stockscreen.pipeline.definition.drop_event_pattern``)."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": DROP_PREFIX}]}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:4566")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    for key, value in bootstrap(args.endpoint_url, args.region).items():
        print(f"{key}={value}")


if __name__ == "__main__":
    main()
