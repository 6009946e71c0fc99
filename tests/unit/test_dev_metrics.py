"""The local /metrics: every EMF metric the functions emit becomes a Prometheus series with the documented
name and the EMF dimensions as labels; the committed Grafana dashboard uses only names that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from prometheus_client.parser import text_string_to_metric_families

from devstack import metrics as devmetrics

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bridge() -> devmetrics.EmfBridge:
    return devmetrics.install()


def _families(bridge: devmetrics.EmfBridge) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    out: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(bridge.exposition().decode()):
        out[fam.name] = [(s.name, dict(s.labels), s.value) for s in fam.samples]
    return out


def test_names_follow_the_emf_namespace_metric_and_unit() -> None:
    assert devmetrics.prom_name("Stockscreen", "Latency", "Milliseconds") == "stockscreen_latency_milliseconds"
    assert devmetrics.prom_name("Stockscreen", "CacheHit", "Count") == "stockscreen_cache_hit"
    assert devmetrics.prom_name("Stockscreen", "Status2xx", "Count") == "stockscreen_status2xx"
    assert (
        devmetrics.prom_name("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Count")
        == "aws_sqs_approximate_number_of_messages_visible"
    )
    assert devmetrics.kind_of("Count") == "counter" and devmetrics.kind_of("Milliseconds") == "histogram"
    assert devmetrics.kind_of("Percent") == "gauge"


def test_powertools_emf_documents_reach_prometheus_with_their_dimensions(
    bridge: devmetrics.EmfBridge, capsys: pytest.CaptureFixture[str]
) -> None:
    route = "GET /test-bridge/{id}"
    for ms in (3.0, 40.0, 700.0):
        m = EphemeralMetrics(namespace="Stockscreen", service="stockscreen-api")
        m.add_dimension(name="route", value=route)
        m.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=ms)
        m.add_metric(name="Status2xx", unit=MetricUnit.Count, value=1)
        m.flush_metrics()
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(emf) == 3 and emf[0]["route"] == route  # what CloudWatch would get, unchanged
    fams = _families(bridge)
    labels = {"route": route, "service": "stockscreen-api"}
    latency = {
        (name, s.get("le")): v for name, s, v in fams["stockscreen_latency_milliseconds"] if s.get("route") == route
    }
    assert latency[("stockscreen_latency_milliseconds_count", None)] == 3
    assert latency[("stockscreen_latency_milliseconds_sum", None)] == pytest.approx(743.0)
    assert latency[("stockscreen_latency_milliseconds_bucket", "5.0")] == 1
    assert latency[("stockscreen_latency_milliseconds_bucket", "50.0")] == 2
    assert latency[("stockscreen_latency_milliseconds_bucket", "+Inf")] == 3
    total = [v for name, s, v in fams["stockscreen_status2xx"] if s == labels and name.endswith("_total")]
    assert total == [3]


def _emitted_metric_names() -> set[str]:
    """Every Prometheus family the code can produce: the EMF metrics it names (scanned from the source,
    Status{n}xx expanded) and the scrape-time series of devstack/metrics.py."""
    pattern = re.compile(r'add_metric\(\s*name=(f?)"([^"]+)",\s*unit=(?:MetricUnit\.)?"?(\w+)"?')
    either = re.compile(r'add_metric\(\s*name="(\w+)" if [^,]+ else "(\w+)",\s*unit=(?:MetricUnit\.)?"?(\w+)"?')
    names: set[str] = set()
    for path in [*ROOT.joinpath("shared").rglob("*.py"), *ROOT.joinpath("functions").rglob("*.py")]:
        for a, b, unit in either.findall(path.read_text()):
            names |= {devmetrics.prom_name("Stockscreen", a, unit), devmetrics.prom_name("Stockscreen", b, unit)}
        for is_f, name, unit in pattern.findall(path.read_text()):
            expanded = [name.replace("{response.status_code // 100}", str(n)) for n in (2, 3, 4, 5)] if is_f else [name]
            for n in expanded:
                if "{" not in n:
                    names.add(devmetrics.prom_name("Stockscreen", n, unit))
    names |= {
        "aws_sqs_approximate_number_of_messages_visible",
        "aws_sqs_approximate_number_of_messages_not_visible",
        "stockscreen_ws_connections",
    }
    return names


def test_the_grafana_dashboard_uses_only_series_that_exist() -> None:
    dashboard = json.loads((ROOT / "devstack" / "grafana" / "stockscreen.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    known = _emitted_metric_names()
    assert {"stockscreen_latency_milliseconds", "stockscreen_task_duration_milliseconds"} <= known
    used = set()
    for expr in exprs:
        for token in re.findall(r"\b(stockscreen_\w+|aws_\w+)\b", expr):
            used.add(re.sub(r"_(bucket|count|sum|total)$", "", token))
    assert used and used <= known, used - known


def test_prometheus_config_scrapes_the_app_port(tmp_path: Path) -> None:
    server = devmetrics.Prometheus(tmp_path, app_port=8123, port=9999)
    server.write_config()
    assert '"127.0.0.1:8123"' in server.config_path.read_text()
    cmd = server.command("/usr/bin/prometheus")
    assert f"--config.file={server.config_path}" in cmd and "--web.listen-address=127.0.0.1:9999" in cmd


def test_without_prometheus_make_dev_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    said: list[str] = []
    monkeypatch.setattr(devmetrics.shutil, "which", lambda _name: None)
    assert devmetrics.start_prometheus(tmp_path, 8000, said.append) is None
    assert said and "apt install prometheus" in said[0]


def test_the_bridge_keeps_the_last_hour_per_minute_under_the_cloudwatch_names(
    bridge: devmetrics.EmfBridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the Operations page reads under make dev: every EMF value in its minute, by namespace, metric and
    dimensions, and the gauges sampled; the /metrics names stay those of the Prometheus families."""
    from stockscreen.core import operations as ops

    route = "GET /test-history"
    m = EphemeralMetrics(namespace="Stockscreen", service="stockscreen-api")
    m.add_dimension(name="route", value=route)
    m.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=12.0)
    m.flush_metrics()
    capsys.readouterr()
    source = ops.LocalSource(bridge.history)
    now = int(__import__("time").time() // 60)
    q = ops.Query("Stockscreen", "Latency", "SampleCount", (("route", route),))
    (series,) = source.fetch([q], now - 60, now + 1)[q]
    assert series.dims == {"route": route, "service": "stockscreen-api"} and sum(series.points.values()) == 1

    bridge.gauges[:] = [
        devmetrics.gauge("Stockscreen", "WsConnections", lambda: 3),
        lambda: [("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "q-dlq"}, 2.0)],
        lambda: 1 / 0,  # a source that fails: no readings, nothing else lost
    ]
    try:
        bridge.sample()
        fams = _families(bridge)
        assert fams["stockscreen_ws_connections"] == [("stockscreen_ws_connections", {}, 3.0)]
        assert fams["aws_sqs_approximate_number_of_messages_visible"] == [
            ("aws_sqs_approximate_number_of_messages_visible", {"queue_name": "q-dlq"}, 2.0)
        ]
        got = source.fetch([ops.WS, ops.QUEUES], now - 60, now + 1)
        assert list(got[ops.WS][0].points.values()) == [3.0]
        assert got[ops.QUEUES][0].dims == {"QueueName": "q-dlq"}
    finally:
        bridge.gauges.clear()


def test_alert_deliveries_reach_the_bridge_by_channel_and_outcome(
    bridge: devmetrics.EmfBridge, capsys: pytest.CaptureFixture[str]
) -> None:
    from stockscreen.alerts.delivery import count_deliveries

    count_deliveries({"email": "sent", "webhook": "failed: Timeout", "sns": "off"})
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(d["channel"], d["outcome"]) for d in emf] == [("email", "sent"), ("webhook", "failed")]
    totals = {
        (s["channel"], s["outcome"]): v
        for _, s, v in _families(bridge)["stockscreen_alert_deliveries"]
        if "channel" in s
    }
    assert totals[("email", "sent")] >= 1 and totals[("webhook", "failed")] >= 1
