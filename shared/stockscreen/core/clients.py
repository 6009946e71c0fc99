"""Clients built once per process behind getters that tests can reset (cache_clear)."""

from __future__ import annotations

from functools import cache
from typing import Any

import redis

from stockscreen.core.config import core_settings


@cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(
        core_settings().redis_url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
    )


@cache
def aws_client(service: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client for ``service``; the endpoint comes from settings (LocalStack/moto) or AWS.

    boto3 is imported here, on the first call: the API's public reads reach Redis through this module
    but no AWS service, and need not pay for boto3 in a cold Lambda's first request."""
    import boto3

    s = core_settings()
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=s.aws_region,
        endpoint_url=endpoint_url or s.aws_endpoint_url,
    )


def reset_clients() -> None:
    """Forget every cached client (tests, or after settings change)."""
    from stockscreen.core import config
    from stockscreen.db import engine

    get_redis.cache_clear()
    aws_client.cache_clear()
    config.core_settings.cache_clear()
    config.event_settings.cache_clear()
    config.ws_settings.cache_clear()
    config.ingest_settings.cache_clear()
    config.alerts_settings.cache_clear()
    config.alert_delivery_settings.cache_clear()
    config.unsubscribe_settings.cache_clear()
    engine.get_engine.cache_clear()
    engine.close_readers()
