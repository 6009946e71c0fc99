"""AWS adapters of reports: the private document bucket (S3, server-side encryption, presigned links),
the workflow (Step Functions) for on-demand reports. Email goes through the alerts feature's SES mailer."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from stockscreen.core.clients import AWS_CONNECT_TIMEOUT_S, AWS_MAX_ATTEMPTS, aws_client


@cache
def s3_client() -> Any:
    """S3 with Signature Version 4: its presigned links carry ``X-Amz-Expires`` and may live up to 7 days
    (the shared client's default signing would give a legacy link)."""
    import boto3
    from botocore.config import Config

    from stockscreen.core.config import core_settings

    s = core_settings()
    return boto3.client(
        "s3",
        region_name=s.aws_region,
        endpoint_url=s.aws_endpoint_url,
        config=Config(
            signature_version="s3v4",
            connect_timeout=AWS_CONNECT_TIMEOUT_S,
            retries={"max_attempts": AWS_MAX_ATTEMPTS, "mode": "standard"},
        ),
    )


class S3Store:
    """Report documents in a private bucket; every object written with server-side encryption."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self.client = client if client is not None else s3_client()

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
        )

    def get(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def presign(self, key: str, seconds: int, filename: str) -> str:
        """A GET link valid ``seconds`` (S3 allows at most 7 days), downloading as ``filename``."""
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                },
                ExpiresIn=seconds,
            )
        )


class Workflow:
    """Starts the reports state machine for explicit items (on-demand reports)."""

    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self.arn = state_machine_arn
        self.client = client if client is not None else aws_client("stepfunctions")

    def start(self, items: list[dict[str, Any]], name: str) -> str:
        from stockscreen.core import correlation

        payload = {"items": items, correlation.KEY: correlation.current() or correlation.new_id()}
        resp = self.client.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(payload))
        return str(resp["executionArn"])
