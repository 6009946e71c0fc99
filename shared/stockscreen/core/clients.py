"""Clients built once per process behind getters that tests can reset (cache_clear)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from stockscreen.core import resp
from stockscreen.core.config import core_settings

if TYPE_CHECKING:
    import redis

#: Redis: a stopped server is a refused connection (no wait), an unreachable one costs a 1 s connect
#: timeout per attempt (the API treats Redis as optional: rate limits fail open, caches are bypassed);
#: a connection the server dropped (a restart) is replaced and the command sent once more, at once,
#: instead of failing the request.
REDIS_CONNECT_TIMEOUT_S = 1.0
REDIS_SOCKET_TIMEOUT_S = 2.0
REDIS_RETRIES = 1
#: AWS: a short connect timeout and two attempts in all, so an unreachable endpoint is a quick 503
#: rather than a request hanging through botocore's default 60 s connect timeout and its retries. The
#: read timeout stays botocore's 60 s: a reachable service may take its time (moto's EventBridge runs
#: the ``prices.updated`` targets inside ``put_events`` in ``make dev``), and a read timed out early
#: would be retried, publishing the same event twice.
AWS_CONNECT_TIMEOUT_S = 2.0
AWS_MAX_ATTEMPTS = 2


@cache
def get_redis() -> resp.Redis:
    """The request path's client (:mod:`stockscreen.core.resp`: no redis-py import on a cold start)."""
    return resp.Redis.from_url(
        core_settings().redis_url,
        connect_timeout_s=REDIS_CONNECT_TIMEOUT_S,
        socket_timeout_s=REDIS_SOCKET_TIMEOUT_S,
        max_idle_s=30.0,  # a connection idle this long is replaced before use
    )


@cache
def get_redis_py() -> redis.Redis:
    """redis-py, for what the lean client does not do: the WebSocket connection registry's WATCH
    transactions and pub/sub. Same timeouts and retry as :func:`get_redis`."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        core_settings().redis_url,
        decode_responses=True,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
        socket_keepalive=True,
        health_check_interval=30,  # a connection idle this long is pinged before use
        retry=Retry(NoBackoff(), REDIS_RETRIES),  # at once: the retry is for a fresh connection
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


@cache
def aws_client(
    service: str, endpoint_url: str | None = None, max_pool_connections: int = 10, read_timeout: float | None = None
) -> Any:
    """A boto3 client for ``service``; the endpoint comes from settings (LocalStack/moto) or AWS.

    boto3 is imported here, on the first call: the API's public reads reach Redis through this module
    but no AWS service, and need not pay for boto3 in a cold Lambda's first request."""
    import boto3
    from botocore.config import Config

    s = core_settings()
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=s.aws_region,
        endpoint_url=endpoint_url or s.aws_endpoint_url,
        config=Config(
            connect_timeout=AWS_CONNECT_TIMEOUT_S,
            retries={"max_attempts": AWS_MAX_ATTEMPTS, "mode": "standard"},
            max_pool_connections=max_pool_connections,
            read_timeout=read_timeout if read_timeout is not None else 60,
        ),
    )


def reset_clients() -> None:
    """Forget every cached client (tests, or after settings change)."""
    from stockscreen.core import config
    from stockscreen.db import engine, url

    get_redis.cache_clear()
    get_redis_py.cache_clear()
    aws_client.cache_clear()
    config.core_settings.cache_clear()
    config.event_settings.cache_clear()
    config.ws_settings.cache_clear()
    config.ingest_settings.cache_clear()
    config.upload_settings.cache_clear()
    config.quote_settings.cache_clear()
    config.alerts_settings.cache_clear()
    config.alert_delivery_settings.cache_clear()
    config.unsubscribe_settings.cache_clear()
    config.chart_settings.cache_clear()
    engine.get_engine.cache_clear()
    engine.close_readers()
    url.reset_database_url()
