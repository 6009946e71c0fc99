"""The health report's shape (stockscreen.core.health builds it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.models import ApiModel


class HealthCheck(ApiModel):
    """One dependency's check."""

    status: Literal["ok", "down"]
    error: str | None = Field(default=None, description="the exception's type, when the check failed")
    latency_ms: float


class HealthPublic(ApiModel):
    status: Literal["ok", "degraded", "down"] = Field(
        description="ok on a 200; when a dependency fails, the uniform 503 error body carries this report in details"
    )
    checks: dict[str, HealthCheck] = Field(description="by dependency: database, redis, aws")
    failing: list[str] = Field(description="the dependencies whose check failed (empty on a 200)")
    snapshot_version: int | None = Field(description="the current snapshot's version (null before the first ingest)")
