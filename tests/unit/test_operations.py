"""The Operations figures (stockscreen.core.operations): per-minute series, the health summary, the SLOs, and both
sources, the local history (fed as make dev's EMF bridge feeds it) and CloudWatch (query building and parsing)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from stockscreen.alerts.delivery import delivery_outcome
from stockscreen.core import operations as ops

NOW = dt.datetime(2026, 12, 3, 12, 59, 30, tzinfo=dt.UTC)
T0 = NOW.timestamp()


def _at(minutes_ago: int) -> float:
    return T0 - minutes_ago * 60


def _api(window: ops.MinuteWindow, minutes_ago: int, route: str, ms: list[float], status: int = 200) -> None:
    dims = {"service": ops.API_SERVICE, "route": route}
    window.add(ops.NAMESPACE, "Latency", dims, ms, _at(minutes_ago))
    window.add(ops.NAMESPACE, f"Status{status // 100}xx", dims, [1.0] * len(ms), _at(minutes_ago))


@pytest.fixture
def window() -> ops.MinuteWindow:
    return ops.MinuteWindow(clock=lambda: T0)


def _overview(window: ops.MinuteWindow, **kw: Any) -> dict[str, Any]:
    return ops.OperationsService(ops.LocalSource(window), ops.OperationsSettings()).overview(now=NOW, **kw)


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert ops.percentile(values, 50) == 50 and ops.percentile(values, 99) == 99 and ops.percentile([7.0], 99) == 7
    assert ops.percentile([], 50) is None


def test_a_quiet_hour_is_healthy_with_empty_series(window: ops.MinuteWindow) -> None:
    got = _overview(window)
    assert got["health"] == {"status": "healthy", "problems": []}
    assert len(got["times"]) == 60 and got["times"][-1] == dt.datetime(2026, 12, 3, 12, 59, tzinfo=dt.UTC)
    assert got["totals"]["requests"] == 0 and got["routes"] == []
    assert all(v is None for c in got["charts"] for s in c["series"] for v in s["values"])
    assert [s["burn_rate"] for s in got["slos"]] == [0, 0]


def test_requests_errors_and_latency_per_minute_and_route(window: ops.MinuteWindow) -> None:
    for ago in range(10, 0, -1):
        _api(window, ago, "GET /screener/fields", [5.0] * 9 + [40.0])
    _api(window, 3, "POST /screens/run", [100.0, 1500.0])
    got = _overview(window)
    requests = next(c for c in got["charts"] if c["id"] == "requests")["series"]
    per_minute = dict(zip(got["times"], requests[0]["values"], strict=True))
    assert per_minute[dt.datetime(2026, 12, 3, 12, 56, tzinfo=dt.UTC)] == 12  # 10 + 2 three minutes ago
    assert per_minute[dt.datetime(2026, 12, 3, 12, 49, tzinfo=dt.UTC)] == 10
    assert per_minute[dt.datetime(2026, 12, 3, 12, 48, tzinfo=dt.UTC)] is None  # no requests: no data
    assert requests[1]["label"] == "5xx" and requests[1]["values"][-2] == 0  # requests, no 5xx: zero
    assert [r["route"] for r in got["routes"]] == ["GET /screener/fields", "POST /screens/run"]
    fields = got["routes"][0]
    assert fields["requests"] == 100 and fields["p50_ms"] == 5 and fields["p99_ms"] == 40
    latency = {s["label"]: s["values"] for s in next(c for c in got["charts"] if c["id"] == "latency")["series"]}
    assert latency["POST /screens/run p99"][-4] == 1500
    # one request in 102 slower than 1 s: the latency SLO (99%) is met, its budget partly spent
    slo = {s["name"]: s for s in got["slos"]}
    assert slo["latency"]["bad"] == pytest.approx(1) and slo["latency"]["met"]
    assert slo["latency"]["burn_rate"] == pytest.approx((1 / 102) / 0.01, rel=1e-3)
    assert slo["availability"]["sli"] == 1
    # the slow route's p99 is over the SLO's threshold: degraded, saying where and since when
    (problem,) = got["health"]["problems"]
    assert problem["code"] == "latency" and problem["message"] == "POST /screens/run: p99 above 1000 ms since 12:56 UTC"


def test_a_condition_whose_last_data_is_old_is_not_current(window: ops.MinuteWindow) -> None:
    _api(window, 20, "POST /screens/run", [1500.0])
    _api(window, 20, "GET /quotes", [3.0], status=500)
    _api(window, 2, "GET /quotes", [3.0] * 200)  # enough good requests for the hour's SLOs
    assert _overview(window)["health"]["status"] == "healthy"


def test_5xx_above_one_percent_degrades_since_the_first_bad_minute(window: ops.MinuteWindow) -> None:
    for ago in range(20, 0, -1):
        _api(window, ago, "GET /quotes", [3.0] * 50)
        if ago <= 4:  # the last four minutes: 5 of 55 fail
            _api(window, ago, "GET /quotes", [3.0] * 5, status=503)
    got = _overview(window)
    assert got["health"]["status"] == "degraded"
    problem = next(p for p in got["health"]["problems"] if p["code"] == "errors_5xx")
    assert problem["since"] == dt.datetime(2026, 12, 3, 12, 55, tzinfo=dt.UTC)
    assert problem["message"] == "5xx above 1% of requests since 12:55 UTC"
    assert problem["value"] == pytest.approx(5 / 55)
    availability = got["slos"][0]
    assert availability["bad"] == 20 and not availability["met"]
    assert availability["burn_rate"] == pytest.approx((20 / 1020) / 0.001, rel=1e-3)
    assert availability["budget_burned_pct"] == pytest.approx(100 * availability["burn_rate"] / 720, rel=1e-3)
    assert "slo_availability" in {p["code"] for p in got["health"]["problems"]}


def test_a_recovered_error_burst_is_healthy_again(window: ops.MinuteWindow) -> None:
    _api(window, 10, "GET /quotes", [3.0] * 5, status=500)
    for ago in range(9, 0, -1):
        _api(window, ago, "GET /quotes", [3.0] * 500)
    codes = [p["code"] for p in _overview(window)["health"]["problems"]]
    assert "errors_5xx" not in codes


def test_queues_dead_letters_ws_deliveries_and_ingest(window: ops.MinuteWindow) -> None:
    for ago, depth in ((5, 0), (4, 2), (1, 3)):
        window.add(
            "AWS/SQS", ops.QUEUE_DEPTH_METRIC, {"QueueName": "stockscreen-alert-delivery-dlq"}, [depth], _at(ago)
        )
        window.add("AWS/SQS", ops.QUEUE_DEPTH_METRIC, {"QueueName": "stockscreen-alert-delivery"}, [1], _at(ago))
    window.add("AWS/SQS", ops.QUEUE_DEPTH_METRIC, {"QueueName": "other-app"}, [9], _at(1))
    window.add(ops.NAMESPACE, "WsConnections", {}, [4, 6], _at(2))
    for channel, outcome in (("email", "sent"), ("email", "sent"), ("webhook", "failed"), ("in_app", "sent")):
        window.add(
            ops.NAMESPACE,
            "AlertDeliveries",
            {"service": "stockscreen", "channel": channel, "outcome": outcome},
            [1],
            _at(3),
        )
    window.add(ops.NAMESPACE, "AlertDeliveryErrors", {"service": "stockscreen"}, [1], _at(3))
    for task, ms in (("Plan", 40.0), ("Fetch", 900.0), ("Load", 1200.0)):
        window.add(ops.NAMESPACE, "TaskDuration", {"service": "stockscreen", "task": task}, [ms], _at(30))
    window.add(ops.NAMESPACE, "TaskDuration", {"service": "stockscreen", "task": "RecordFailure"}, [5.0], _at(29))
    svc = ops.OperationsService(ops.LocalSource(window), ops.OperationsSettings(operations_queue_prefix="stockscreen-"))
    got = svc.overview(now=NOW)
    charts = {c["id"]: {s["label"]: s["values"] for s in c["series"]} for c in got["charts"]}
    assert set(charts["queues"]) == {"stockscreen-alert-delivery", "stockscreen-alert-delivery-dlq"}
    assert charts["ws"]["connections"][-3] == 6 and got["totals"]["ws_connections"] == 6
    assert charts["alerts"]["email sent"][-4] == 2 and charts["alerts"]["webhook failed"][-4] == 1
    assert got["totals"]["alert_deliveries"] == 4 and got["totals"]["alert_delivery_errors"] == 1
    assert got["totals"]["ingest_runs"] == 1 and got["totals"]["ingest_failures"] == 1
    assert charts["ingest"]["Load"][-31] == 1200
    problems = {p["code"]: p for p in got["health"]["problems"]}
    assert problems["dead_letters"]["since"] == dt.datetime(2026, 12, 3, 12, 55, tzinfo=dt.UTC)
    assert (
        "3 message(s) in the dead-letter queue stockscreen-alert-delivery-dlq since 12:55 UTC"
        in (problems["dead_letters"]["message"])
    )
    assert problems["ingest"]["message"] == "1 ingest run(s) failed at 12:30 UTC"
    assert problems["alert_delivery"]["value"] == 1


def test_the_window_forgets_minutes_older_than_it_keeps() -> None:
    now = [T0]
    window = ops.MinuteWindow(minutes=60, clock=lambda: now[0])
    window.add(ops.NAMESPACE, "WsConnections", {}, [1.0])
    now[0] += 61 * 60
    window.add(ops.NAMESPACE, "WsConnections", {}, [2.0])
    minutes = [m for _, m, _ in window.aggregates(0, 10**9)]
    assert minutes == [int(now[0] // 60)]


def test_the_sample_of_values_is_bounded() -> None:
    window = ops.MinuteWindow(clock=lambda: T0)
    window.add(ops.NAMESPACE, "Latency", {}, [float(v) for v in range(10_000)])
    ((_, _, agg),) = list(window.aggregates(0, 10**9))
    assert agg.count == 10_000 and len(agg.values) == ops.SAMPLE_CAP and agg.maximum == 9999


def test_delivery_statuses_count_as_four_outcomes() -> None:
    assert delivery_outcome("sent") == delivery_outcome("sent (200)") == "sent"
    assert delivery_outcome("failed: Timeout") == "failed"
    assert delivery_outcome("held until 2026-12-03T07:00:00+00:00 (quiet hours)") == "held"
    assert delivery_outcome("over the daily limit: in the summary at 2026-12-04T00:00:00+00:00") == "held"
    assert delivery_outcome("cooldown") == delivery_outcome("no open session") == "skipped"


# --- CloudWatch: the requests it sends and how it reads the answers ------------------------------------


def test_cloudwatch_lists_the_dimension_sets_then_asks_for_one_minute_stats() -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    route = [{"Name": "service", "Value": ops.API_SERVICE}, {"Name": "route", "Value": "GET /quotes"}]
    stub.add_response(
        "list_metrics",
        {
            "Metrics": [
                {"Namespace": ops.NAMESPACE, "MetricName": "Latency", "Dimensions": route},
                # another service's metric of the same name: not the query's (where service=stockscreen-api)
                {
                    "Namespace": ops.NAMESPACE,
                    "MetricName": "Latency",
                    "Dimensions": [{"Name": "service", "Value": "x"}],
                },
            ]
        },
        {"Namespace": ops.NAMESPACE, "MetricName": "Latency", "RecentlyActive": "PT3H"},
    )
    start = int(T0 // 60) - 60
    t1 = dt.datetime.fromtimestamp((start + 58) * 60, dt.UTC)
    t2 = dt.datetime.fromtimestamp((start + 59) * 60, dt.UTC)
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": "m0", "Label": "p99", "Timestamps": [t1, t2], "Values": [812.5, 95.0]}]},
        {
            "MetricDataQueries": [
                {
                    "Id": "m0",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": ops.NAMESPACE,
                            "MetricName": "Latency",
                            "Dimensions": sorted(route, key=lambda d: d["Name"]),
                        },
                        "Period": 60,
                        "Stat": "p99",
                    },
                    "ReturnData": True,
                }
            ],
            "StartTime": dt.datetime.fromtimestamp(start * 60, dt.UTC),
            "EndTime": dt.datetime.fromtimestamp((start + 60) * 60, dt.UTC),
            "ScanBy": "TimestampAscending",
        },
    )
    q = ops.Query(ops.NAMESPACE, "Latency", "p99", (("service", ops.API_SERVICE),))
    source = ops.CloudWatchSource(client)
    with stub:
        got = source.fetch([q], start, start + 60)
        stub.assert_no_pending_responses()
        (series,) = got[q]
        assert series.dims == {"route": "GET /quotes", "service": ops.API_SERVICE}
        assert series.points == {start + 58: 812.5, start + 59: 95.0}
        # within a minute the listed dimension sets are reused: GetMetricData only (ListMetrics: 25 calls/s a account)
        stub.add_response("get_metric_data", {"MetricDataResults": []}, None)
        assert [s.points for s in source.fetch([q], start, start + 60)[q]] == [{}]
        stub.assert_no_pending_responses()


def test_cloudwatch_splits_more_than_500_series_into_several_calls() -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    metrics = [
        {
            "Namespace": "AWS/SQS",
            "MetricName": ops.QUEUE_DEPTH_METRIC,
            "Dimensions": [{"Name": "QueueName", "Value": f"q{i:03}"}],
        }
        for i in range(501)
    ]
    stub.add_response("list_metrics", {"Metrics": metrics}, None)
    stub.add_response(
        "get_metric_data", {"MetricDataResults": [{"Id": "m0", "Timestamps": [NOW], "Values": [1.0]}]}, None
    )
    stub.add_response(
        "get_metric_data", {"MetricDataResults": [{"Id": "m500", "Timestamps": [NOW], "Values": [7.0]}]}, None
    )
    with stub:
        got = ops.CloudWatchSource(client).fetch([ops.QUEUES], 0, int(T0 // 60) + 1)
    stub.assert_no_pending_responses()
    by_name = {s.dims["QueueName"]: s.points for s in got[ops.QUEUES]}
    assert len(by_name) == 501 and by_name["q500"] == {int(T0 // 60): 7.0} and by_name["q001"] == {}


def test_the_source_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATIONS_METRICS_SOURCE", "local")
    ops.use_local_window(None)
    from stockscreen.core.errors import Unavailable

    with pytest.raises(Unavailable):
        ops.metrics_source()
    window = ops.MinuteWindow()
    ops.use_local_window(window)
    try:
        source = ops.metrics_source()
        assert isinstance(source, ops.LocalSource) and source.window is window
    finally:
        ops.use_local_window(None)


def test_a_source_that_cannot_give_percentiles_leaves_the_rest_with_a_note(window: ops.MinuteWindow) -> None:
    from stockscreen.core.errors import Unavailable

    class NoPercentiles(ops.LocalSource):
        def fetch(self, queries: Any, start: int, end: int) -> dict[ops.Query, list[ops.Series]]:
            if any(q.stat.startswith(("p", "PR")) for q in queries):
                raise Unavailable("CloudWatch refused the query: InternalFailure", dependency="cloudwatch")
            return super().fetch(queries, start, end)

    _api(window, 1, "GET /quotes", [3.0] * 10)
    got = ops.OperationsService(NoPercentiles(window), ops.OperationsSettings()).overview(now=NOW)
    assert got["totals"]["requests"] == 10 and got["routes"][0]["p99_ms"] is None
    assert got["notes"] == ["latency percentiles are missing: CloudWatch refused the query: InternalFailure"]
