"""Dependency checks for GET /api/health."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from typing import Any

from stockscreen.core.clients import get_redis
from stockscreen.db.engine import reader_for


def _timed(check: Callable[[], Any]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        detail = check()
        result: dict[str, Any] = {"status": "ok"}
        if detail is not None:
            result["detail"] = detail
    except Exception as exc:
        result = {"status": "down", "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def _db() -> Any:
    # psycopg alone (no SQLAlchemy engine): a cold container's first request is often this one
    row = reader_for().one("SELECT version FROM snapshot_versions WHERE is_current", ())
    return row[0] if row is not None else None


def _aws() -> None:
    """STS GetCallerIdentity: signed with the standard library when the credentials are in the environment
    (Lambda; no boto3 on a cold container's first request), else through the boto3 client."""
    from stockscreen.core import awsrequest

    credentials = awsrequest.light_credentials()
    if credentials is not None:
        awsrequest.get_caller_identity(credentials)
    else:
        from stockscreen.core.clients import aws_client

        aws_client("sts").get_caller_identity()


def check_all() -> dict[str, Any]:
    """Each dependency's status; ``failing`` names the ones down (the API answers 503 when any is).

    ``status``: "ok"; "degraded" when Redis or the AWS endpoint is down (public reads still work,
    uncached); "down" when the database is."""
    # The AWS call (an HTTP round trip of its own) runs on a thread beside the database and Redis checks,
    # in this request's context (its correlation id and log keys): the answer waits for the slower of
    # the two, not for their sum (README, "Cold start").
    aws: dict[str, Any] = {}
    worker = threading.Thread(target=contextvars.copy_context().run, args=(lambda: aws.update(_timed(_aws)),))
    worker.start()
    try:
        database = _timed(_db)
        redis = _timed(lambda: bool(get_redis().ping()) and None)
    finally:
        worker.join()
    checks = {"database": database, "redis": redis, "aws": aws}
    snapshot = checks["database"].pop("detail", None)
    failing = [name for name, c in checks.items() if c["status"] != "ok"]
    if "database" in failing:
        status = "down"
    elif failing:
        status = "degraded"
    else:
        status = "ok"
    return {"status": status, "checks": checks, "failing": failing, "snapshot_version": snapshot}
