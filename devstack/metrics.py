"""``/metrics`` for ``make dev``: the functions' EMF metrics in Prometheus' text format, same names and labels.

In AWS every function prints its metrics as CloudWatch Embedded Metric Format (EMF) documents, and
CloudWatch turns them into metrics (namespace ``Stockscreen``, dimensions such as ``route`` and
``service``). Locally one process hosts every function, so this module taps the one place every EMF
document passes through (Powertools' ``serialize_metric_set``) and keeps the same figures for Prometheus.
Nothing is renamed by hand: each Prometheus series follows from its EMF metric by :func:`prom_name`

    <namespace>_<metric in snake case>[_<unit>]   e.g.  Stockscreen / Latency (Milliseconds)
                                                          -> stockscreen_latency_milliseconds
    Count metrics are counters (``..._total``); time units are histograms (buckets in that unit);
    other units are gauges (the last value).

and its labels are the EMF dimensions, names unchanged (``route``, ``service``, ``task``...).

At scrape time it adds what CloudWatch measures itself rather than the functions: SQS queue depths
(``aws_sqs_approximate_number_of_messages_visible{queue_name}``, the CloudWatch metric and dimension in
the same spelling) and the local WebSocket gateway's open connections (``stockscreen_ws_connections``).

It also keeps a rolling window of per-minute aggregates of the same figures, under their CloudWatch names
(``history``, a :class:`stockscreen.core.operations.MinuteWindow`): every EMF value as it is emitted, and the
gauges (queue depths, connections) sampled every ``SAMPLE_S`` seconds. The admin Operations page reads it
(``OPERATIONS_METRICS_SOURCE=local``) as it reads CloudWatch when deployed.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from stockscreen.core.operations import MinuteWindow

#: Histogram buckets per time unit (upper bounds, in that unit).
BUCKETS: dict[str, tuple[float, ...]] = {
    "Milliseconds": (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000),
    "Seconds": (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    "Microseconds": (100, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000),
}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    """``ApproximateNumberOfMessagesVisible`` -> ``approximate_number_of_messages_visible``; ``AWS/SQS`` ->
    ``aws_sqs``."""
    return re.sub(r"[^a-z0-9]+", "_", _CAMEL.sub("_", name).lower()).strip("_")


def kind_of(unit: str) -> str:
    if unit == "Count":
        return "counter"
    if unit in BUCKETS:
        return "histogram"
    return "gauge"


def prom_name(namespace: str, metric: str, unit: str) -> str:
    """The Prometheus family name of an EMF metric (see the module's docstring)."""
    base = f"{snake(namespace)}_{snake(metric)}"
    if unit in BUCKETS:
        return f"{base}_{unit.lower()}"
    return base


@dataclass
class _Series:
    kind: str
    unit: str
    value: float = 0.0  # counter total, gauge value, histogram sum
    count: int = 0
    buckets: list[int] = field(default_factory=list)


#: One gauge reading under its CloudWatch identity: (namespace, metric, dimensions, value).
Reading = tuple[str, str, dict[str, str], float]
#: How often the gauges are sampled into the history.
SAMPLE_S = 15.0


class EmfBridge(Collector):
    """Aggregates EMF documents into Prometheus series (thread-safe; requests run concurrently)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # family -> labels (sorted items) -> series
        self._families: dict[str, dict[tuple[tuple[str, str], ...], _Series]] = {}
        self._kinds: dict[str, tuple[str, str]] = {}
        self.scrape_time: list[Callable[[], Iterable[Metric]]] = []
        #: gauges read at scrape time and sampled into the history (queue depths, connections)
        self.gauges: list[Callable[[], Iterable[Reading]]] = []
        self.history = MinuteWindow()
        self._sampler: threading.Thread | None = None
        self._stop = threading.Event()

    def observe(self, doc: dict[str, Any]) -> None:
        """Take one EMF document (the dict Powertools serialises)."""
        aws = doc.get("_aws") or {}
        for directive in aws.get("CloudWatchMetrics", []):
            namespace = directive.get("Namespace", "")
            dim_sets = directive.get("Dimensions") or [[]]
            for definition in directive.get("Metrics", []):
                name, unit = definition.get("Name"), definition.get("Unit", "None")
                if name not in doc:
                    continue
                raw = doc[name]
                values = [float(v) for v in (raw if isinstance(raw, list) else [raw])]
                at = aws["Timestamp"] / 1000 if isinstance(aws.get("Timestamp"), int | float) else None
                for dims in dim_sets:
                    labels = tuple(sorted((d, str(doc.get(d, ""))) for d in dims))
                    self._add(prom_name(namespace, name, unit), unit, labels, values)
                    self.history.add(namespace, name, dict(labels), values, at)

    def _add(self, family: str, unit: str, labels: tuple[tuple[str, str], ...], values: list[float]) -> None:
        kind = kind_of(unit)
        with self._lock:
            self._kinds.setdefault(family, (kind, unit))
            series = self._families.setdefault(family, {}).get(labels)
            if series is None:
                series = _Series(kind, unit, buckets=[0] * len(BUCKETS.get(unit, ())))
                self._families[family][labels] = series
            for v in values:
                if kind == "gauge":
                    series.value = v
                    continue
                series.value += v
                series.count += 1
                for i, bound in enumerate(BUCKETS.get(unit, ())):
                    if v <= bound:
                        series.buckets[i] += 1

    def snapshot(self) -> dict[str, dict[tuple[tuple[str, str], ...], _Series]]:
        with self._lock:
            return {
                f: {k: _Series(s.kind, s.unit, s.value, s.count, list(s.buckets)) for k, s in v.items()}
                for f, v in self._families.items()
            }

    def collect(self) -> Iterator[Metric]:
        for family, series in sorted(self.snapshot().items()):
            kind, unit = self._kinds[family]
            metric = Metric(family, f"EMF metric ({unit})", kind)
            for labels, s in series.items():
                lbl = dict(labels)
                if kind == "counter":
                    metric.add_sample(f"{family}_total", lbl, s.value)
                elif kind == "gauge":
                    metric.add_sample(family, lbl, s.value)
                else:
                    # observe() counts each value in every bucket at or above it: already cumulative
                    for bound, n in zip(BUCKETS[unit], s.buckets, strict=True):
                        metric.add_sample(f"{family}_bucket", {**lbl, "le": _le(bound)}, n)
                    metric.add_sample(f"{family}_bucket", {**lbl, "le": "+Inf"}, s.count)
                    metric.add_sample(f"{family}_count", lbl, s.count)
                    metric.add_sample(f"{family}_sum", lbl, s.value)
            yield metric
        for source in self.scrape_time:
            yield from source()
        yield from gauge_families(r for read in self.gauges for r in _safe(read))

    def sample(self) -> None:
        """Record the gauges' current values in the history (the sampler thread calls it)."""
        for namespace, metric, dims, value in [r for read in self.gauges for r in _safe(read)]:
            self.history.add(namespace, metric, dims, [value])

    def start_sampling(self, every_s: float = SAMPLE_S) -> None:
        def loop() -> None:
            while not self._stop.wait(every_s):
                self.sample()

        if self._sampler is None:
            self.sample()
            self._sampler = threading.Thread(target=loop, name="metrics-sampler", daemon=True)
            self._sampler.start()

    def stop_sampling(self) -> None:
        self._stop.set()

    def exposition(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return generate_latest(registry)


def _le(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(bound))  # type: ignore[no-untyped-call]  # "5.0", as client libraries write bounds


_installed: EmfBridge | None = None
_install_lock = threading.Lock()


def install() -> EmfBridge:
    """Tap Powertools' EMF serialisation in this process (idempotent); returns the bridge."""
    global _installed
    with _install_lock:
        if _installed is not None:
            return _installed
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

        bridge = EmfBridge()
        original = AmazonCloudWatchEMFProvider.serialize_metric_set

        def serialize_metric_set(self: Any, *args: Any, **kwargs: Any) -> Any:
            doc = original(self, *args, **kwargs)
            with contextlib.suppress(Exception):  # a metric must never break a function
                bridge.observe(dict(doc))
            return doc

        AmazonCloudWatchEMFProvider.serialize_metric_set = serialize_metric_set  # type: ignore[method-assign]
        _installed = bridge
        return bridge


def _safe(read: Callable[[], Iterable[Reading]]) -> list[Reading]:
    try:
        return list(read())
    except Exception:  # a source that is down: no series rather than a failed scrape or sample
        return []


def gauge_families(readings: Iterable[Reading]) -> Iterator[Metric]:
    """Readings as Prometheus gauges: the family by :func:`prom_name`, dimensions as snake-case labels."""
    families: dict[str, Metric] = {}
    for namespace, metric, dims, value in readings:
        name = prom_name(namespace, metric, "None")
        family = families.setdefault(name, Metric(name, f"{namespace} {metric}", "gauge"))
        family.add_sample(name, {snake(k): v for k, v in dims.items()}, value)
    yield from families.values()


#: SQS queue attributes -> the CloudWatch metrics of the same figures (AWS/SQS, dimension QueueName).
SQS_ATTRIBUTES = {
    "ApproximateNumberOfMessages": "ApproximateNumberOfMessagesVisible",
    "ApproximateNumberOfMessagesNotVisible": "ApproximateNumberOfMessagesNotVisible",
}


def sqs_depths(endpoint_url: str, region: str) -> Callable[[], Iterable[Reading]]:
    """Queue depths from the local SQS endpoint, as CloudWatch names them (``AWS/SQS``, ``QueueName``)."""

    def read() -> Iterable[Reading]:
        import boto3

        sqs: Any = boto3.client("sqs", endpoint_url=endpoint_url, region_name=region)
        out: list[Reading] = []
        for url in sqs.list_queues().get("QueueUrls", []):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(SQS_ATTRIBUTES))["Attributes"]
            for attr, cw in SQS_ATTRIBUTES.items():
                out.append(("AWS/SQS", cw, {"QueueName": url.rsplit("/", 1)[-1]}, float(attrs[attr])))
        return out

    return read


def gauge(namespace: str, metric: str, read: Callable[[], float]) -> Callable[[], Iterable[Reading]]:
    """A gauge with no dimensions, e.g. ``gauge("Stockscreen", "WsConnections", ...)`` ->
    ``stockscreen_ws_connections``."""

    def readings() -> Iterable[Reading]:
        return [(namespace, metric, {}, float(read()))]

    return readings


PROMETHEUS_CONFIG = """\
# written by make dev (devstack/metrics.py): scrape the local stack's /metrics
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: stockscreen
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:{app_port}"]
"""


class Prometheus:
    """Debian's Prometheus, started by ``make dev`` when installed, its data under ``.local/``."""

    def __init__(self, state: Path, app_port: int, port: int) -> None:
        self.state, self.app_port, self.port = state, app_port, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.state / "prometheus.yml"

    def command(self, binary: str) -> list[str]:
        return [
            binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.state / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]

    def write_config(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(PROMETHEUS_CONFIG.format(app_port=self.app_port))

    def start(self, binary: str) -> None:
        self.write_config()
        log = (self.state / "prometheus.log").open("ab")
        self.proc = subprocess.Popen(self.command(binary), stdout=log, stderr=log, start_new_session=True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


INSTALL_HINT = (
    "Prometheus: not installed (optional; /metrics is served either way). To get its UI and history: "
    "sudo apt install prometheus, then make dev starts it; Grafana: import devstack/grafana/stockscreen.json"
)


def start_prometheus(state: Path, app_port: int, log: Callable[[str], None]) -> Prometheus | None:
    """Start Prometheus scraping ``app_port`` when the binary is on PATH; say how to install it when not."""
    binary = shutil.which("prometheus")
    if binary is None:
        log(INSTALL_HINT)
        return None
    from devstack.services import free_port, port_open

    port = 9090 if not port_open("127.0.0.1", 9090) else free_port()
    server = Prometheus(state, app_port, port)
    server.start(binary)
    log(f"Prometheus: scraping /metrics every 5 s, UI on http://127.0.0.1:{port}/ (data in {state})")
    return server
