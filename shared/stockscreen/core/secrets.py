"""Reading a Secrets Manager secret once per container: the JWT signing keys, the database credentials.

Signed with the standard library (:mod:`stockscreen.core.awsrequest`) when the credentials are in the
environment (Lambda: no boto3 on a cold container's first request), else through the boto3 client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def secret_reader(secret_id: str) -> Callable[[str], dict[str, Any] | None]:
    """GetSecretValue of one version stage (``AWSCURRENT``, ``AWSPREVIOUS``): the answer's fields
    (``SecretString``, ``VersionId``, ...), or None when the secret has no such version or does not exist."""
    from stockscreen.core import awsrequest

    credentials = awsrequest.light_credentials()
    if credentials is not None:
        creds = credentials

        def light(stage: str) -> dict[str, Any] | None:
            try:
                return awsrequest.get_secret_value(secret_id, stage, creds)
            except awsrequest.AwsError as exc:
                if exc.code == "ResourceNotFoundException":
                    return None
                raise

        return light
    from stockscreen.core.clients import aws_client

    sm = aws_client("secretsmanager")

    def boto(stage: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = sm.get_secret_value(SecretId=secret_id, VersionStage=stage)
        except sm.exceptions.ResourceNotFoundException:
            return None
        return result

    return boto
