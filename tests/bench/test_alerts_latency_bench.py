"""Quote tick -> WebSocket push and -> in-app notification latency on the local stack (``BENCH`` lines).

The real chain, in one process: PostgreSQL, Redis, moto (SQS, SES, SNS, DynamoDB), a local
@connections endpoint. 1,000 armed alerts (one user, crossings of levels within 20% of the 8 sample symbols'
closes); each quote batch is evaluated (``on_quote_batch``'s service), its firings queued, and the
delivery queue polled straight away as Lambda's SQS poller would (10 records per invocation). Measured
per firing from the moment the batch is handed to the evaluator: the WebSocket post reaching the
endpoint, and the in-app notification's commit (``notifications.created_at``).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import numpy as np
import psycopg

from devstack.alerts_worker import AlertsWorker
from stockscreen.alerts.events import evaluation_service
from stockscreen.core.clients import reset_clients
from stockscreen.db.engine import get_engine
from stockscreen.realtime.connections import connection_registry
from stockscreen.realtime.messages import Quote, QuoteBatch
from stockscreen.screening import universe
from tests.integration.authkit import load_sample

ALERTS = 1_000
BATCHES = 6


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.1f} {unit}", file=sys.__stdout__, flush=True)


class _Connections(BaseHTTPRequestHandler):
    arrivals: list[tuple[float, dict[str, Any]]] = []

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).arrivals.append((time.time(), json.loads(data)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def test_tick_to_push_and_in_app_latency(stack_env: dict[str, str], monkeypatch: Any) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Connections)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("WS_MANAGEMENT_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("APP_BASE_URL", "http://localhost:5173")
    reset_clients()
    load_sample(stack_env)
    u = universe.get_universe(get_engine())
    t = u.date_index(None)
    close = {str(s): float(c) for s, c in zip(u.symbols.tolist(), u.numeric("close")[:, t].tolist(), strict=True)}
    dsn = stack_env["DATABASE_URL"].replace("+psycopg", "")
    rng = np.random.default_rng(3)
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE alert_rules SET active = false")
        conn.execute("DELETE FROM alert_prices")
        user_id = conn.execute(
            "INSERT INTO users (email, password_hash, role) VALUES ('latency@example.com', 'x', 'premium') "
            "RETURNING id::text"
        ).fetchone()[0]  # type: ignore[index]
        symbols = sorted(close)
        rows = []
        for k in range(ALERTS):
            s = symbols[k % len(symbols)]
            level = round(close[s] * float(rng.uniform(0.8, 1.2)), 2)
            rows.append((user_id, s, json.dumps({"field": "close", "level": level})))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alert_rules (user_id, type, symbol, params, trigger, hysteresis_pct) "
                "VALUES (%s, 'crossing', %s, %s::jsonb, 'every_time', 0.1)",
                rows,
            )
    connection_registry().register("latency-conn", user_id)
    svc = evaluation_service(get_engine())
    worker = AlertsWorker(wait_seconds=0)
    while worker.poll_delivery()[0]:  # whatever earlier tests left
        pass
    _Connections.arrivals = []
    at = dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)
    ticks: dict[str, float] = {}
    fired = 0
    price = dict(close)
    for k in range(BATCHES):
        for s in symbols:  # swing between -0.5% and +0.5%: a few levels crossed per symbol and batch
            price[s] = close[s] * (1.005 if k % 2 else 0.995)
        batch = QuoteBatch(
            batch_id=f"lat-{k}",
            source="bench",
            asof=at + dt.timedelta(seconds=k),
            quotes=[Quote(symbol=s, price=p, ts=at) for s, p in price.items()],
        )
        t0 = time.time()
        result = svc.evaluate_quotes(batch)
        for f in result["firings"]:
            ticks[f"{f['alert_id']}|{f['fired_at'].isoformat()}"] = t0
        fired += result["fired"]
        while worker.poll_delivery()[0]:
            pass
    ws = [
        arrival - ticks[f"{m['alert_id']}|{m['triggered_at'].replace('Z', '+00:00')}"]
        for arrival, m in _Connections.arrivals
        if f"{m['alert_id']}|{m['triggered_at'].replace('Z', '+00:00')}" in ticks
    ]
    with psycopg.connect(dsn) as conn:
        notes = conn.execute(
            "SELECT data->>'alert_id', data->>'fired_at', extract(epoch FROM created_at) FROM notifications "
            "WHERE user_id = %s",
            (user_id,),
        ).fetchall()
    in_app = [
        float(created) - ticks[f"{a}|{dt.datetime.fromisoformat(f).isoformat()}"]
        for a, f, created in notes
        if f"{a}|{dt.datetime.fromisoformat(f).isoformat()}" in ticks
    ]
    server.shutdown()
    assert fired > 0 and len(ws) == fired and len(in_app) == fired  # every firing reached both channels
    bench("alerts_latency_firings", fired, "firings")
    bench("alerts_tick_to_ws_p50", _pct(ws, 50) * 1000, "ms")
    bench("alerts_tick_to_ws_p99", _pct(ws, 99) * 1000, "ms")
    bench("alerts_tick_to_in_app_p50", _pct(in_app, 50) * 1000, "ms")
    bench("alerts_tick_to_in_app_p99", _pct(in_app, 99) * 1000, "ms")
    # a batch's firings are delivered one after another: mean latency over firings per batch, roughly
    bench("alerts_delivery_per_firing_est", statistics.mean(ws) * 1000 / max(1, fired / BATCHES), "ms")
