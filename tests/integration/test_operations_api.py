"""The admin Operations figures against real parts: CloudWatch (moto's server, fed by PutMetricData with the
EMF metrics' names and dimensions) and the local stack (the gateway with make dev's EMF bridge)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from starlette.testclient import TestClient

from devstack.gateway import create_app
from devstack.lambdas import load_api, load_module
from stockscreen.core import operations as ops
from tests.integration.authkit import PASSWORD, clear_rate_limits, set_role


def _cloudwatch(stack_env: dict[str, str]) -> Any:
    return boto3.client("cloudwatch", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")


def test_cloudwatch_source_reads_what_the_emf_metrics_become(stack_env: dict[str, str]) -> None:
    """PutMetricData as CloudWatch stores EMF values: per minute sums and counts by route, over ListMetrics'
    dimension sets (moto answers Sum/SampleCount/Maximum; percentiles are covered by the unit tests)."""
    cw = _cloudwatch(stack_env)
    route = f"GET /ops-test/{uuid.uuid4().hex[:8]}"
    dims = [{"Name": "service", "Value": ops.API_SERVICE}, {"Name": "route", "Value": route}]
    now = dt.datetime.now(dt.UTC).replace(second=30, microsecond=0)
    for ago, n in ((2, 3), (1, 5)):
        at = now - dt.timedelta(minutes=ago)
        cw.put_metric_data(
            Namespace=ops.NAMESPACE,
            MetricData=[
                {
                    "MetricName": "Latency",
                    "Dimensions": dims,
                    "Timestamp": at,
                    "Value": 10.0 * (k + 1),
                    "Unit": "Milliseconds",
                }
                for k in range(n)
            ]
            + [{"MetricName": "Status5xx", "Dimensions": dims, "Timestamp": at, "Value": 1.0, "Unit": "Count"}],
        )
    end = int(now.timestamp() // 60) + 1
    source = ops.CloudWatchSource(_cloudwatch(stack_env))
    where = (("service", ops.API_SERVICE), ("route", route))
    count = ops.Query(ops.NAMESPACE, "Latency", "SampleCount", where)
    worst = ops.Query(ops.NAMESPACE, "Latency", "Maximum", where)
    errors = ops.Query(ops.NAMESPACE, "Status5xx", "Sum", where)
    got = source.fetch([count, worst, errors], end - 60, end)
    assert [s.dims for s in got[count]] == [{"route": route, "service": ops.API_SERVICE}]
    assert got[count][0].points == {end - 3: 3.0, end - 2: 5.0}
    assert got[worst][0].points == {end - 3: 30.0, end - 2: 50.0}
    assert got[errors][0].points == {end - 3: 1.0, end - 2: 1.0}


@pytest.fixture
def local_stack(stack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The local origin with make dev's EMF bridge as the Operations page's source (what devstack/dev.py wires)."""
    from devstack import metrics

    bridge = metrics.install()
    monkeypatch.setenv("OPERATIONS_METRICS_SOURCE", "local")
    ops.use_local_window(bridge.history)
    clear_rate_limits(stack_env["REDIS_URL"])
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    asgi = create_app(load_api(), ws, tmp_path, metrics=bridge)
    bridge.gauges[:] = [metrics.gauge("Stockscreen", "WsConnections", lambda: len(asgi.state.ws_gateway.connections))]
    bridge.sample()
    try:
        with TestClient(asgi) as client:
            yield client
    finally:
        bridge.gauges.clear()
        ops.use_local_window(None)


def _user(client: TestClient, stack_env: dict[str, str], role: str) -> dict[str, str]:
    resp = client.post(
        "/api/auth/register", json={"email": f"ops-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    )
    assert resp.status_code == 201, resp.text
    if role != "free":
        set_role(stack_env["DATABASE_URL"], resp.json()["user"]["id"], role)
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def test_the_local_stack_reports_the_requests_just_made_to_admins_only(
    local_stack: TestClient, stack_env: dict[str, str]
) -> None:
    client = local_stack
    admin = _user(client, stack_env, "admin")
    for _ in range(3):
        assert client.get("/api/screener/fields").status_code == 200
    assert client.get("/api/securities/NOPE-NOT-A-SYMBOL").status_code == 400
    resp = client.get("/api/admin/operations?minutes=15", headers=admin)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["source"] == "local" and got["minutes"] == 15 and len(got["times"]) == 15
    routes = {r["route"]: r for r in got["routes"]}
    assert routes["GET /screener/fields"]["requests"] >= 3
    assert routes["GET /screener/fields"]["p99_ms"] is not None and routes["GET /screener/fields"]["p99_ms"] > 0
    assert got["totals"]["requests"] >= 4 and got["totals"]["errors_4xx"] >= 1
    requests = next(c for c in got["charts"] if c["id"] == "requests")["series"][0]
    assert requests["label"] == "requests" and (requests["values"][-1] or 0) >= 4
    assert got["totals"]["ws_connections"] is not None  # sampled (the bridge is the process's: other tests' too)
    assert {s["name"] for s in got["slos"]} == {"availability", "latency"}

    # refused to everyone else, with the uniform error body
    for headers, status in (
        ({}, 401),
        (_user(client, stack_env, "free"), 403),
        (_user(client, stack_env, "premium"), 403),
    ):
        resp = client.get("/api/admin/operations", headers=headers)
        assert resp.status_code == status and set(resp.json()["error"]) == {"code", "message", "details", "request_id"}

    # bad input: a 400 naming the parameter, never a 500
    resp = client.get("/api/admin/operations?minutes=100000", headers=admin)
    assert resp.status_code == 400 and "minutes" in resp.text


def test_without_a_local_history_the_page_says_so(stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from chalice.test import Client

    from tests.integration.authkit import make_user

    monkeypatch.setenv("OPERATIONS_METRICS_SOURCE", "local")
    ops.use_local_window(None)
    with Client(load_api()) as client:
        admin = make_user(client, stack_env["DATABASE_URL"], "admin")
        resp = client.http.get("/admin/operations", headers=admin.auth)
    assert resp.status_code == 503 and b"make dev" in resp.body
