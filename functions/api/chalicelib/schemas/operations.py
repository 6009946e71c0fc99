"""The admin Operations page: the platform's figures per minute over the last hour (stockscreen.core.operations)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from chalicelib.models import ApiModel

__all__ = [
    "OperationsChart",
    "OperationsHealth",
    "OperationsProblem",
    "OperationsPublic",
    "OperationsQuery",
    "OperationsRoute",
    "OperationsSeries",
    "OperationsSlo",
    "OperationsTotals",
]


class OperationsQuery(ApiModel):
    model_config = ConfigDict(extra="forbid")
    minutes: Annotated[int, Field(ge=5, le=180, description="how many 1-minute buckets, ending now")] = 60


class OperationsProblem(ApiModel):
    code: str = Field(description="errors_5xx, latency, dead_letters, alert_delivery, ingest, slo_availability, ...")
    message: str = Field(description="what is wrong and since when, e.g. '5xx above 1% of requests since 12:41 UTC'")
    since: dt.datetime | None = Field(description="the first minute of the current bad run (UTC), when it has one")
    value: float = Field(description="the latest value of the figure")
    threshold: float


class OperationsHealth(ApiModel):
    status: Literal["healthy", "degraded"]
    problems: list[OperationsProblem]


class OperationsSlo(ApiModel):
    name: Literal["availability", "latency"]
    objective: float = Field(description="e.g. 0.999: the share of good requests over 30 days")
    requests: int
    bad: float = Field(description="requests answered 5xx (availability) or slower than 1 s (latency) in the window")
    sli: float | None = Field(description="the window's share of good requests (null without requests)")
    burn_rate: float = Field(
        description="the window's error ratio over the budget's (1 - objective); 1 spends it in 30 days"
    )
    budget_burned_pct: float = Field(description="percent of the 30-day error budget the window spent")
    met: bool


class OperationsTotals(ApiModel):
    requests: int
    errors_5xx: int
    errors_4xx: int
    rate_limited: int
    cache_hit_ratio: float | None
    ingest_runs: int
    ingest_failures: int
    alert_deliveries: int
    alert_delivery_errors: int
    ws_connections: float | None = Field(description="open WebSocket connections, the latest sample")


class OperationsRoute(ApiModel):
    route: str = Field(description="'METHOD /path/{param}', as the Latency metric's route dimension")
    requests: int
    errors_5xx: int
    p50_ms: float | None = Field(description="the latest minute's median latency")
    p99_ms: float | None
    p99_max_ms: float | None = Field(description="the worst minute's p99 in the window")


class OperationsSeries(ApiModel):
    label: str
    values: list[float | None] = Field(description="one value per entry of times (null: no data that minute)")


class OperationsChart(ApiModel):
    id: Literal["requests", "latency", "cache", "rate_limited", "queues", "ws", "alerts", "ingest"]
    title: str
    unit: Literal["count", "ms", "ratio"]
    series: list[OperationsSeries]


class OperationsPublic(ApiModel):
    source: Literal["cloudwatch", "local"] = Field(description="CloudWatch (deployed) or make dev's in-process history")
    start: dt.datetime
    end: dt.datetime
    minutes: int
    times: list[dt.datetime] = Field(description="the start of each 1-minute bucket (UTC), oldest first")
    health: OperationsHealth
    notes: list[str] = Field(description="figures the source could not give this time, and why")
    slos: list[OperationsSlo]
    totals: OperationsTotals
    routes: list[OperationsRoute] = Field(description="the busiest routes, most requests first")
    charts: list[OperationsChart]
