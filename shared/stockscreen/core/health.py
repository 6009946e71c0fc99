"""Dependency checks for GET /api/health."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from stockscreen.core.clients import aws_client, get_redis
from stockscreen.db.engine import get_engine


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
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT version FROM snapshot_versions WHERE is_current")).scalar()


def check_all() -> dict[str, Any]:
    """Each dependency's status; ``failing`` names the ones down (the API answers 503 when any is).

    ``status``: "ok"; "degraded" when Redis or the AWS endpoint is down (public reads still work,
    uncached); "down" when the database is."""
    checks = {
        "database": _timed(_db),
        "redis": _timed(lambda: bool(get_redis().ping()) and None),
        "aws": _timed(lambda: aws_client("sts").get_caller_identity() and None),
    }
    snapshot = checks["database"].pop("detail", None)
    failing = [name for name, c in checks.items() if c["status"] != "ok"]
    if "database" in failing:
        status = "down"
    elif failing:
        status = "degraded"
    else:
        status = "ok"
    return {"status": status, "checks": checks, "failing": failing, "snapshot_version": snapshot}
