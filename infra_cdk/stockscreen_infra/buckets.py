"""The stack's private buckets share one set of properties: no public access, S3-managed encryption, TLS only,
objects owned by the bucket owner. Each construct adds only what is its own (lifecycle, versioning, CORS)."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct


def private_bucket(
    scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy = RemovalPolicy.RETAIN, **props: Any
) -> s3.Bucket:
    """An ``s3.Bucket`` that is private, encrypted and TLS only; ``props`` are the bucket's own properties."""
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=removal_policy,
        **props,
    )
