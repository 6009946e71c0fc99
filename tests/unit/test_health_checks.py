"""``/health``'s checks (:func:`stockscreen.core.health.check_all`): the AWS call runs beside the database and
Redis checks, in the request's context, and the report is the same as when they ran one after another."""

from __future__ import annotations

import contextvars
import time
from typing import Any

import pytest

from stockscreen.core import health

_REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="none")


class _Redis:
    def __init__(self, up: bool) -> None:
        self.up = up

    def ping(self) -> bool:
        if not self.up:
            raise ConnectionError("down")
        return True


@pytest.mark.parametrize(
    ("db_up", "redis_up", "aws_up"), [(True, True, True), (True, False, False), (False, True, False)]
)
def test_the_checks_run_side_by_side_with_the_same_report(
    monkeypatch: pytest.MonkeyPatch, db_up: bool, redis_up: bool, aws_up: bool
) -> None:
    seen: list[str] = []

    def db() -> Any:
        time.sleep(0.2)
        if not db_up:
            raise OSError("down")
        return 7

    def aws() -> None:
        seen.append(_REQUEST.get())
        time.sleep(0.2)
        if not aws_up:
            raise TimeoutError("down")

    monkeypatch.setattr(health, "_db", db)
    monkeypatch.setattr(health, "_aws", aws)
    monkeypatch.setattr(health, "get_redis", lambda: _Redis(redis_up))
    _REQUEST.set("req-1")
    started = time.perf_counter()
    report = health.check_all()
    assert time.perf_counter() - started < 0.35  # not 0.4: the two waits overlapped
    assert seen == ["req-1"]  # the AWS check saw the request's context
    assert list(report["checks"]) == ["database", "redis", "aws"]
    statuses = {name: check["status"] for name, check in report["checks"].items()}
    assert statuses == {
        "database": "ok" if db_up else "down",
        "redis": "ok" if redis_up else "down",
        "aws": "ok" if aws_up else "down",
    }
    assert report["failing"] == [name for name, status in statuses.items() if status == "down"]
    assert report["status"] == ("ok" if db_up and redis_up and aws_up else "down" if not db_up else "degraded")
    assert report["snapshot_version"] == (7 if db_up else None)
    assert all(check["latency_ms"] >= 0 for check in report["checks"].values())
