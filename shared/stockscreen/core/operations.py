"""The platform's health over the last hour, per minute: the figures of the admin Operations page.

The same figures as the Grafana dashboard (devstack/grafana/stockscreen.json) and the CloudWatch dashboard,
read from the metrics the functions already emit (EMF, namespace ``Stockscreen``) and the ones AWS measures
itself (``AWS/SQS`` queue depths), by the same names and dimensions:

* API requests, 4xx and 5xx, latency p50/p99 of the busiest routes, the response cache's hit ratio and the
  rate-limited requests (``Latency``, ``Status{n}xx``, ``CacheHit``/``CacheMiss``, ``RateLimited``; dimensions
  ``service``, ``route``);
* ingest runs and task durations (``TaskDuration`` by ``task``; a run starts with ``Plan``, a failed one ends
  with ``RecordFailure``);
* queue depths (``AWS/SQS ApproximateNumberOfMessagesVisible`` by ``QueueName``; a name containing ``dlq``
  is a dead-letter queue), open WebSocket connections (``WsConnections``), alert deliveries by channel and
  outcome (``AlertDeliveries``) and delivery errors (``AlertDeliveryErrors``);
* the availability and latency SLOs of the public API (the objectives of the CDK burn-rate alarms): the
  hour's error ratio, its burn rate and the share of a 30-day error budget it spent.

Where the numbers come from is a :class:`MetricsSource`: :class:`CloudWatchSource` (``GetMetricData`` over
``ListMetrics``; deployed) or :class:`LocalSource` (the in-process history ``make dev`` keeps of the same EMF
documents, see devstack/metrics.py). Settings choose (``OPERATIONS_METRICS_SOURCE``).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stockscreen.core.errors import Unavailable

NAMESPACE = "Stockscreen"
API_SERVICE = "stockscreen-api"
SQS_NAMESPACE = "AWS/SQS"
QUEUE_DEPTH_METRIC = "ApproximateNumberOfMessagesVisible"
PERIOD_S = 60
MAX_MINUTES = 180

#: The public API's SLOs (the CDK burn-rate alarms read them from here): availability is the share of
#: requests not 5xx, latency the share answered within LATENCY_SLO_THRESHOLD_MS; over 30 days.
AVAILABILITY_SLO = 0.999
LATENCY_SLO = 0.99
LATENCY_SLO_THRESHOLD_MS = 1000
SLO_WINDOW_HOURS = 30 * 24
#: A page-level burn: 2% of the 30-day budget in one hour (the SRE workbook's 14.4).
PAGE_BURN_RATE = 14.4
#: A minute with more than this share of 5xx answers is a bad minute.
ERROR_RATIO_LIMIT = 0.01
TOP_ROUTES = 5
#: A condition is current when its latest minute with data is at most this old.
RECENT_MINUTES = 5

#: A statistic as CloudWatch spells it: Sum, SampleCount, Average, Maximum, pNN, PR(:X).
Stat = str


# --- the source ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One metric and statistic, over every dimension set that includes ``where`` (as ListMetrics finds them)."""

    namespace: str
    metric: str
    stat: Stat
    where: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Series:
    """One concrete dimension set of a query: value per minute (epoch minute -> value); minutes without data
    are absent."""

    dims: Mapping[str, str]
    points: Mapping[int, float]


class MetricsSource(Protocol):
    name: str

    def fetch(self, queries: Sequence[Query], start: int, end: int) -> dict[Query, list[Series]]:
        """Per query, its series over the epoch minutes ``[start, end)``."""
        ...


def _matches(dims: Mapping[str, str], where: Iterable[tuple[str, str]]) -> bool:
    return all(dims.get(k) == v for k, v in where)


def _stat_value(stat: Stat, agg: MinuteAggregate) -> float | None:
    if agg.count == 0:
        return None
    if stat == "Sum":
        return agg.total
    if stat == "SampleCount":
        return float(agg.count)
    if stat == "Average":
        return agg.total / agg.count
    if stat == "Maximum":
        return agg.maximum
    if stat == "Minimum":
        return agg.minimum
    if stat.startswith("p"):
        return percentile(agg.values, float(stat[1:]))
    if stat.startswith("PR(:") and stat.endswith(")"):
        bound = float(stat[4:-1])
        return 100.0 * sum(1 for v in agg.values if v <= bound) / len(agg.values) if agg.values else None
    raise ValueError(f"unknown statistic {stat!r}")


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (nearest rank, as CloudWatch reports it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# --- the local history (make dev) -------------------------------------------------------------------


#: Values kept per series and minute for percentiles (a uniform sample beyond that: reservoir sampling).
SAMPLE_CAP = 2048


@dataclass
class MinuteAggregate:
    """One series' minute: sum, count, min, max and a sample of the values (all of them up to SAMPLE_CAP)."""

    total: float = 0.0
    count: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    values: list[float] = field(default_factory=list)

    def add(self, value: float, rng: random.Random) -> None:
        self.total += value
        self.count += 1
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if len(self.values) < SAMPLE_CAP:
            self.values.append(value)
        else:
            j = rng.randrange(self.count)
            if j < SAMPLE_CAP:
                self.values[j] = value


SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]  # namespace, metric, sorted dimensions


class MinuteWindow:
    """A rolling window of per-minute aggregates of every metric observed (thread-safe): what a
    :class:`LocalSource` reads. ``make dev``'s EMF bridge feeds it (devstack/metrics.py)."""

    def __init__(self, minutes: int = MAX_MINUTES, clock: Callable[[], float] | None = None) -> None:
        import time

        self.minutes = minutes
        self.clock = clock or time.time
        self._lock = threading.Lock()
        self._rng = random.Random(0)
        self._buckets: dict[int, dict[SeriesKey, MinuteAggregate]] = {}

    def add(
        self,
        namespace: str,
        metric: str,
        dims: Mapping[str, str],
        values: Iterable[float],
        at: float | None = None,
    ) -> None:
        minute = int((self.clock() if at is None else at) // PERIOD_S)
        key = (namespace, metric, tuple(sorted(dims.items())))
        with self._lock:
            bucket = self._buckets.setdefault(minute, {})
            agg = bucket.setdefault(key, MinuteAggregate())
            for v in values:
                agg.add(float(v), self._rng)
            oldest = int(self.clock() // PERIOD_S) - self.minutes
            for old in [m for m in self._buckets if m < oldest]:
                del self._buckets[old]

    def aggregates(self, start: int, end: int) -> Iterator[tuple[SeriesKey, int, MinuteAggregate]]:
        with self._lock:
            items = [
                (key, minute, MinuteAggregate(a.total, a.count, a.minimum, a.maximum, list(a.values)))
                for minute, bucket in self._buckets.items()
                if start <= minute < end
                for key, a in bucket.items()
            ]
        yield from items


class LocalSource:
    """The figures from this process' :class:`MinuteWindow` (``make dev`` hosts every function in one process)."""

    name = "local"

    def __init__(self, window: MinuteWindow) -> None:
        self.window = window

    def fetch(self, queries: Sequence[Query], start: int, end: int) -> dict[Query, list[Series]]:
        rows = list(self.window.aggregates(start, end))
        out: dict[Query, list[Series]] = {}
        for q in queries:
            by_dims: dict[tuple[tuple[str, str], ...], dict[int, float]] = defaultdict(dict)
            for (namespace, metric, dims), minute, agg in rows:
                if namespace != q.namespace or metric != q.metric or not _matches(dict(dims), q.where):
                    continue
                value = _stat_value(q.stat, agg)
                if value is not None:
                    by_dims[dims][minute] = value
            out[q] = [Series(dict(d), pts) for d, pts in sorted(by_dims.items())]
        return out


# --- CloudWatch (deployed) --------------------------------------------------------------------------


#: GetMetricData takes at most 500 queries per call.
MAX_DATA_QUERIES = 500
#: How long a metric's listed dimension sets are reused (ListMetrics allows 25 calls a second per account).
LIST_TTL_S = 60.0


class CloudWatchSource:
    """``ListMetrics`` (the dimension sets active in the last 3 hours; once per metric, kept for LIST_TTL_S)
    then ``GetMetricData`` (1-minute periods, up to 500 series a call)."""

    name = "cloudwatch"

    def __init__(self, client: Any, clock: Callable[[], float] | None = None) -> None:
        import time

        self.client = client
        self.clock = clock or time.monotonic
        self._listed: dict[tuple[str, str], tuple[float, list[tuple[tuple[str, str], ...]]]] = {}

    def _dimension_sets(self, q: Query) -> list[tuple[tuple[str, str], ...]]:
        key = (q.namespace, q.metric)
        cached = self._listed.get(key)
        if cached is None or self.clock() - cached[0] > LIST_TTL_S:
            found: set[tuple[tuple[str, str], ...]] = set()
            pages = self.client.get_paginator("list_metrics").paginate(
                Namespace=q.namespace, MetricName=q.metric, RecentlyActive="PT3H"
            )
            for page in pages:
                for m in page.get("Metrics", []):
                    found.add(tuple(sorted((d["Name"], d["Value"]) for d in m.get("Dimensions", []))))
            cached = self._listed[key] = (self.clock(), sorted(found))
        return [dims for dims in cached[1] if _matches(dict(dims), q.where)]

    def fetch(self, queries: Sequence[Query], start: int, end: int) -> dict[Query, list[Series]]:
        from botocore.exceptions import ClientError

        try:
            return self._fetch(queries, start, end)
        except ClientError as exc:  # throttled, denied, a statistic it cannot answer: the dependency's fault
            error = exc.response.get("Error", {})
            raise Unavailable(
                f"CloudWatch refused the query: {error.get('Code', '?')}", dependency="cloudwatch"
            ) from exc

    def _fetch(self, queries: Sequence[Query], start: int, end: int) -> dict[Query, list[Series]]:
        wanted = [(q, dims) for q in queries for dims in self._dimension_sets(q)]
        points: dict[int, dict[int, float]] = defaultdict(dict)
        for first in range(0, len(wanted), MAX_DATA_QUERIES):
            batch = wanted[first : first + MAX_DATA_QUERIES]
            for result in self._get(batch, first, start, end):
                i = int(result["Id"][1:])
                for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    if value is not None:
                        points[i][int(ts.timestamp() // PERIOD_S)] = float(value)
        out: dict[Query, list[Series]] = {q: [] for q in queries}
        for i, (q, dims) in enumerate(wanted):
            out[q].append(Series(dict(dims), points.get(i, {})))
        return out

    def _get(
        self, batch: list[tuple[Query, tuple[tuple[str, str], ...]]], first: int, start: int, end: int
    ) -> Iterator[dict[str, Any]]:
        data_queries = [
            {
                "Id": f"m{first + k}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": q.namespace,
                        "MetricName": q.metric,
                        "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
                    },
                    "Period": PERIOD_S,
                    "Stat": q.stat,
                },
                "ReturnData": True,
            }
            for k, (q, dims) in enumerate(batch)
        ]
        for page in self.client.get_paginator("get_metric_data").paginate(
            MetricDataQueries=data_queries,
            StartTime=dt.datetime.fromtimestamp(start * PERIOD_S, dt.UTC),
            EndTime=dt.datetime.fromtimestamp(end * PERIOD_S, dt.UTC),
            ScanBy="TimestampAscending",
        ):
            yield from page.get("MetricDataResults", [])


# --- settings and the getter ----------------------------------------------------------------------


class OperationsSettings(BaseSettings):
    """Where the Operations page reads its figures."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    operations_metrics_source: Literal["cloudwatch", "local"] = Field(
        default="cloudwatch",
        description="cloudwatch: GetMetricData (deployed, or the local AWS endpoint's CloudWatch); local: the "
        "in-process history make dev keeps (devstack/metrics.py)",
    )
    operations_queue_prefix: str = Field(
        default="", description="only queues whose name starts with this (CDK: the stack's name)"
    )


_local_window: MinuteWindow | None = None


def use_local_window(window: MinuteWindow | None) -> None:
    """Make ``window`` this process' local history (``make dev`` does, at start)."""
    global _local_window
    _local_window = window


def metrics_source() -> MetricsSource:
    """The source the settings name (read per call: cheap, and the CloudWatch client is the cached one)."""
    settings = OperationsSettings()
    if settings.operations_metrics_source == "local":
        if _local_window is None:
            raise Unavailable("no local metrics history in this process (make dev keeps one)")
        return LocalSource(_local_window)
    from stockscreen.core.clients import aws_client

    return _cloudwatch(aws_client("cloudwatch"))


@cache
def _cloudwatch(client: Any) -> CloudWatchSource:
    """One source per client (the client is cached): its listed dimension sets outlive a request."""
    return CloudWatchSource(client)


# --- the figures ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    since: dt.datetime | None
    value: float
    threshold: float


def _sustained(
    code: str, series: Sequence[float | None], above: float, times: list[dt.datetime], message: str
) -> Problem | None:
    """A problem when ``series`` has stayed above ``above`` up to now: ``message`` and since when
    (:func:`_since`)."""
    since = _since([None if v is None else v > above for v in series], times)
    if since is None:
        return None
    return Problem(code, f"{message} {_clock(since)}", since, _last(series) or 0.0, above)


def _api(metric: str, stat: Stat) -> Query:
    return Query(NAMESPACE, metric, stat, (("service", API_SERVICE),))


REQUESTS = _api("Latency", "SampleCount")
ERRORS_5XX = _api("Status5xx", "Sum")
ERRORS_4XX = _api("Status4xx", "Sum")
CACHE_HIT = _api("CacheHit", "Sum")
CACHE_MISS = _api("CacheMiss", "Sum")
RATE_LIMITED = _api("RateLimited", "Sum")
FAST = _api("Latency", f"PR(:{LATENCY_SLO_THRESHOLD_MS})")
TASKS = Query(NAMESPACE, "TaskDuration", "SampleCount")
TASK_AVG = Query(NAMESPACE, "TaskDuration", "Average")
QUEUES = Query(SQS_NAMESPACE, QUEUE_DEPTH_METRIC, "Maximum")
WS = Query(NAMESPACE, "WsConnections", "Maximum")
DELIVERIES = Query(NAMESPACE, "AlertDeliveries", "Sum")
DELIVERY_ERRORS = Query(NAMESPACE, "AlertDeliveryErrors", "Sum")
FIRST_QUERIES = (
    REQUESTS,
    ERRORS_5XX,
    ERRORS_4XX,
    CACHE_HIT,
    CACHE_MISS,
    RATE_LIMITED,
    TASKS,
    TASK_AVG,
    QUEUES,
    WS,
    DELIVERIES,
    DELIVERY_ERRORS,
)


class Figures:
    """Series aligned on the window's minutes (None: no data that minute)."""

    def __init__(self, start: int, minutes: int) -> None:
        self.start, self.minutes = start, minutes

    def line(self, series: Iterable[Series], combine: Literal["sum", "max"] = "sum") -> list[float | None]:
        out: list[float | None] = [None] * self.minutes
        for s in series:
            for minute, value in s.points.items():
                i = minute - self.start
                if 0 <= i < self.minutes:
                    prev = out[i]
                    out[i] = value if prev is None else (prev + value if combine == "sum" else max(prev, value))
        return out

    def by(self, series: Iterable[Series], *dims: str) -> dict[str, list[Series]]:
        groups: dict[str, list[Series]] = defaultdict(list)
        for s in series:
            groups[" ".join(s.dims.get(d, "") for d in dims).strip() or "all"].append(s)
        return dict(sorted(groups.items()))


def _total(values: Iterable[float | None]) -> float:
    return float(sum(v for v in values if v is not None))


def _zeros(values: list[float | None], like: list[float | None]) -> list[float | None]:
    """``values`` with 0 where ``like`` has data (a minute with requests and no 5xx had 0 of them)."""
    return [v if v is not None else (0.0 if w is not None else None) for v, w in zip(values, like, strict=True)]


def _since(flags: Sequence[bool | None], times: Sequence[dt.datetime]) -> dt.datetime | None:
    """When the run of bad minutes that the latest minute with data belongs to started (None: not bad now, or
    the latest minute with data is older than RECENT_MINUTES: a route nobody called since is not "still" slow)."""
    since: dt.datetime | None = None
    for back, (flag, at) in enumerate(zip(reversed(flags), reversed(times), strict=True)):
        if flag is None:
            continue
        if since is None and back >= RECENT_MINUTES:
            return None
        if not flag:
            break
        since = at
    return since


def _clock(at: dt.datetime) -> str:
    return at.strftime("%H:%M UTC")


class OperationsService:
    def __init__(self, source: MetricsSource, settings: OperationsSettings | None = None) -> None:
        self.source = source
        self.settings = settings or OperationsSettings()

    def overview(self, minutes: int = 60, now: dt.datetime | None = None) -> dict[str, Any]:
        now = now or dt.datetime.now(dt.UTC)
        end = int(now.timestamp() // PERIOD_S) + 1  # the current (partial) minute included
        start = end - minutes
        times = [dt.datetime.fromtimestamp((start + i) * PERIOD_S, dt.UTC) for i in range(minutes)]
        f = Figures(start, minutes)
        got = self.source.fetch(FIRST_QUERIES, start, end)

        # API
        per_route_requests = f.by(got[REQUESTS], "route")
        requests = f.line(got[REQUESTS])
        errors5 = _zeros(f.line(got[ERRORS_5XX]), requests)
        errors4 = _zeros(f.line(got[ERRORS_4XX]), requests)
        route_totals = {r: _total(f.line(s)) for r, s in per_route_requests.items()}
        top = sorted(route_totals, key=lambda r: (-route_totals[r], r))[:TOP_ROUTES]
        pct = [_api("Latency", "p50"), _api("Latency", "p99")]
        per_route = [Query(q.namespace, q.metric, q.stat, (*q.where, ("route", route))) for route in top for q in pct]
        # the percentiles in a second call: with the busiest routes known, and so that a source that cannot
        # answer them (moto's CloudWatch) leaves the rest of the page standing, with a note
        notes: list[str] = []
        lat: dict[Query, list[Series]] = {}
        try:
            lat = self.source.fetch([*per_route, FAST], start, end)
        except Unavailable as exc:
            notes.append(f"latency percentiles are missing: {exc.message}")
        errors_by_route = {r: _total(f.line(s)) for r, s in f.by(got[ERRORS_5XX], "route").items()}
        routes = []
        latency_lines = []
        p99_by_route: dict[str, list[float | None]] = {}
        for k, route in enumerate(top):
            p50 = f.line(lat.get(per_route[2 * k], []), "max")
            p99 = f.line(lat.get(per_route[2 * k + 1], []), "max")
            p99_by_route[route] = p99
            latency_lines += [(f"{route} p50", p50), (f"{route} p99", p99)]
            routes.append(
                {
                    "route": route,
                    "requests": int(route_totals[route]),
                    "errors_5xx": int(errors_by_route.get(route, 0)),
                    "p50_ms": _last(p50),
                    "p99_ms": _last(p99),
                    "p99_max_ms": max((v for v in p99 if v is not None), default=None),
                }
            )
        hits, misses = f.line(got[CACHE_HIT]), f.line(got[CACHE_MISS])
        ratio = [
            (h or 0) / ((h or 0) + (m or 0)) if (h or 0) + (m or 0) > 0 else None
            for h, m in zip(hits, misses, strict=True)
        ]
        limited = _zeros(f.line(got[RATE_LIMITED]), requests)

        # slow requests: per route and minute, count x (100 - PR(:threshold)) / 100
        fast_pct = {tuple(sorted(s.dims.items())): s for s in lat.get(FAST, [])}
        slow = 0.0
        for s in got[REQUESTS]:
            pr = fast_pct.get(tuple(sorted(s.dims.items())))
            if pr is None:
                continue
            for minute, n in s.points.items():
                if minute in pr.points and start <= minute < end:
                    slow += n * (100.0 - pr.points[minute]) / 100.0

        # ingest, queues, WebSocket, alerts
        tasks = f.by(got[TASKS], "task")
        task_avg = f.by(got[TASK_AVG], "task")
        runs = f.line(tasks.get("Plan", []))
        failed_runs = f.line(tasks.get("RecordFailure", []))
        queues = {
            name: f.line(s, "max")
            for name, s in f.by(got[QUEUES], "QueueName").items()
            if name.startswith(self.settings.operations_queue_prefix)
        }
        ws = f.line(got[WS], "max")
        deliveries = {k: f.line(s) for k, s in f.by(got[DELIVERIES], "channel", "outcome").items()}
        delivery_errors = f.line(got[DELIVERY_ERRORS])

        total_requests = _total(requests)
        total_5xx = _total(errors5)
        slos = [
            _slo("availability", AVAILABILITY_SLO, total_requests, total_5xx, minutes),
            _slo("latency", LATENCY_SLO, total_requests, slow, minutes),
        ]

        # health
        problems: list[Problem] = []
        ratio5 = [None if (n or 0) == 0 else (e or 0) / (n or 1) for n, e in zip(requests, errors5, strict=True)]
        sustained = [
            _sustained(
                "errors_5xx", ratio5, ERROR_RATIO_LIMIT, times, f"5xx above {ERROR_RATIO_LIMIT:.0%} of requests since"
            ),
            *(
                _sustained(
                    "latency",
                    p99,
                    LATENCY_SLO_THRESHOLD_MS,
                    times,
                    f"{route}: p99 above {LATENCY_SLO_THRESHOLD_MS} ms since",
                )
                for route, p99 in p99_by_route.items()
            ),
            *(
                _sustained(
                    "dead_letters",
                    depth,
                    0,
                    times,
                    f"{int(_last(depth) or 0)} message(s) in the dead-letter queue {name} since",
                )
                for name, depth in queues.items()
                if "dlq" in name.lower()
            ),
        ]
        problems.extend(p for p in sustained if p is not None)
        if (n := _total(delivery_errors)) > 0:
            first = _first_at(delivery_errors, times)
            problems.append(
                Problem("alert_delivery", f"{int(n)} alert delivery error(s) since {_clock(first)}", first, n, 0)
            )
        if (n := _total(failed_runs)) > 0:
            first = _first_at(failed_runs, times)
            problems.append(Problem("ingest", f"{int(n)} ingest run(s) failed at {_clock(first)}", first, n, 0))
        for slo in slos:
            if slo["burn_rate"] > PAGE_BURN_RATE:
                problems.append(
                    Problem(
                        f"slo_{slo['name']}",
                        f"the {slo['name']} SLO's error budget is burning {slo['burn_rate']:.1f}x "
                        f"({slo['budget_burned_pct']:.1f}% of 30 days' budget in {minutes} min)",
                        None,
                        slo["burn_rate"],
                        PAGE_BURN_RATE,
                    )
                )

        return {
            "source": self.source.name,
            "start": times[0],
            "end": dt.datetime.fromtimestamp(end * PERIOD_S, dt.UTC),
            "minutes": minutes,
            "times": times,
            "health": {
                "status": "degraded" if problems else "healthy",
                "problems": [p.__dict__ for p in problems],
            },
            "notes": notes,
            "slos": slos,
            "totals": {
                "requests": int(total_requests),
                "errors_5xx": int(total_5xx),
                "errors_4xx": int(_total(errors4)),
                "rate_limited": int(_total(limited)),
                "cache_hit_ratio": (
                    _total(hits) / (_total(hits) + _total(misses)) if _total(hits) + _total(misses) > 0 else None
                ),
                "ingest_runs": int(_total(runs)),
                "ingest_failures": int(_total(failed_runs)),
                "alert_deliveries": int(sum(_total(v) for v in deliveries.values())),
                "alert_delivery_errors": int(_total(delivery_errors)),
                "ws_connections": _last(ws),
            },
            "routes": routes,
            "charts": [
                _chart(
                    "requests",
                    "Requests per minute",
                    "count",
                    [("requests", requests), ("5xx", errors5), ("4xx", errors4)],
                ),
                _chart("latency", "Latency of the busiest routes (ms)", "ms", latency_lines),
                _chart("cache", "Response cache hit ratio", "ratio", [("hit ratio", ratio)]),
                _chart("rate_limited", "Rate-limited requests per minute", "count", [("rate limited", limited)]),
                _chart("queues", "Queue depth (visible messages)", "count", sorted(queues.items())),
                _chart("ws", "Open WebSocket connections", "count", [("connections", ws)]),
                _chart(
                    "alerts",
                    "Alert deliveries per minute",
                    "count",
                    [*sorted(deliveries.items()), ("errors", delivery_errors)],
                ),
                _chart(
                    "ingest",
                    "Ingest task duration (ms, average per minute)",
                    "ms",
                    [(task, f.line(s, "max")) for task, s in task_avg.items()],
                ),
            ],
        }


def _last(values: Sequence[float | None]) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def _first_at(values: Sequence[float | None], times: Sequence[dt.datetime]) -> dt.datetime:
    return next(t for v, t in zip(values, times, strict=True) if v)


def _slo(name: str, objective: float, total: float, bad: float, minutes: int) -> dict[str, Any]:
    ratio = bad / total if total > 0 else 0.0
    burn = ratio / (1 - objective)
    return {
        "name": name,
        "objective": objective,
        "requests": int(total),
        "bad": round(bad, 3),
        "sli": 1 - ratio if total > 0 else None,
        "burn_rate": round(burn, 3),
        # a burn rate of 1 spends the budget in exactly the SLO window
        "budget_burned_pct": round(100 * burn * minutes / 60 / SLO_WINDOW_HOURS, 4),
        "met": ratio <= 1 - objective,
    }


def _chart(cid: str, title: str, unit: str, lines: Sequence[tuple[str, list[float | None]]]) -> dict[str, Any]:
    return {"id": cid, "title": title, "unit": unit, "series": [{"label": k, "values": v} for k, v in lines]}


def operations_service() -> OperationsService:
    return OperationsService(metrics_source())
