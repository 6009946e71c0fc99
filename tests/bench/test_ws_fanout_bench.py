"""WebSocket fan-out through the local gateway: 1,000 and 10,000 clients, each following 20 of 500 symbols.

The gateway runs in its own process (``tests/bench/ws_fanout_server.py``: the real ``functions/ws`` handlers,
the Redis registry, the production :class:`~stockscreen.realtime.broadcaster.Broadcaster` posting through the
gateway's in-process ``@connections`` client, as ``make dev``'s poller does); the clients run here, in this
process, over real sockets. Every client subscribes through the gateway (the ``subscribe`` route), then
``TICKS`` ticks are published, each a quote for every one of the 500 symbols (each client: one frame holding
its 20 quotes); the clients then wait (up to 5 minutes) for every frame still in flight. Per frame,
latency = arrival here - the tick's timestamp (taken before the registry lookup),
so it covers lookup, frame building, queueing and the socket. ``lost`` counts the quotes a client should have
got and did not. Figures, not pass/fail timing (except ``lost``, which must be 0).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import websockets

ROOT = Path(__file__).resolve().parents[2]
N_SYMBOLS = 500
PER_CLIENT = 20
TICKS = {1000: 10, 10_000: 5}
TICK_GAP_S = {1000: 0.5, 10_000: 2.0}


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.1f} {unit}" if unit != "count" else f"BENCH {name} {int(value)} {unit}", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def gateway(redis_url: str) -> Iterator[str]:
    """The gateway process on a fresh Redis database; yields its base URL."""
    r = redis.Redis.from_url(redis_url)
    for key in r.scan_iter(match="ws:*", count=1000):
        r.delete(key)
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT), str(ROOT / "functions" / "api")]),
        "REDIS_URL": redis_url,
        "DATABASE_URL": "postgresql+psycopg://unused/unused",
        "WS_MANAGEMENT_URL": f"http://127.0.0.1:{port}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "LOG_LEVEL": "WARNING",
    }
    for key in ("CONNECTIONS_TABLE", "AWS_ENDPOINT_URL"):
        env.pop(key, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.ws_fanout_server", str(port), str(N_SYMBOLS)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/bench/stats", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the gateway process did not start") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _post(url: str) -> dict[str, Any]:
    req = urllib.request.Request(url, method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=120) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


class Client:
    """One browser: its subscription, and per tick (the quotes' timestamp) the quotes and latest arrival."""

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = symbols
        self.ws: Any = None
        #: per frame: the tick (its quotes' timestamp), the latency in ms, the quotes in it
        self.frames: list[tuple[str, float, int]] = []
        self.other: list[bytes] = []

    async def open(self, ws_url: str) -> None:
        self.ws = await websockets.connect(ws_url, max_size=2**20, ping_interval=None, open_timeout=120)
        await self.ws.send(json.dumps({"action": "subscribe", "symbols": self.symbols}))
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), 120))
        assert ack["type"] == "subscribed", ack

    async def listen(self) -> None:
        marker = b'"ts":"'
        try:
            async for raw in self.ws:
                arrived = time.time()
                data = raw.encode() if isinstance(raw, str) else raw
                if marker not in data:  # not a quote frame (an error the gateway answered under load)
                    self.other.append(data[:200])
                    continue
                i = data.index(marker) + len(marker)
                ts = data[i : data.index(b'"', i)].decode()
                sent = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
                self.frames.append((ts, (arrived - sent) * 1000, data.count(b'"type":"quote"')))
        except websockets.ConnectionClosed:
            return


async def _run(n_clients: int, gateway: str) -> dict[str, float]:
    ws_url = gateway.replace("http://", "ws://") + "/ws"
    rng = random.Random(n_clients)
    universe = [f"S{i:03d}" for i in range(N_SYMBOLS)]
    clients = [Client(sorted(rng.sample(universe, PER_CLIENT))) for _ in range(n_clients)]
    gate = asyncio.Semaphore(200)

    async def open_one(c: Client) -> None:
        async with gate:
            await c.open(ws_url)

    t0 = time.monotonic()
    await asyncio.gather(*(open_one(c) for c in clients))
    print(f"# {n_clients} clients connected and subscribed in {time.monotonic() - t0:.1f}s", flush=True)
    listeners = [asyncio.create_task(c.listen()) for c in clients]
    ticks = []
    for _ in range(TICKS[n_clients]):
        ticks.append(await asyncio.to_thread(_post, f"{gateway}/bench/tick"))
        await asyncio.sleep(TICK_GAP_S[n_clients])
    expected = TICKS[n_clients] * PER_CLIENT * n_clients
    deadline = time.monotonic() + 300  # frames still queued are late, not lost: wait for them (bounded)
    while sum(n for c in clients for _, _, n in c.frames) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    for c in clients:
        await c.ws.close()
    await asyncio.gather(*listeners)

    latencies = sorted(lat for c in clients for _, lat, _ in c.frames)
    received = sum(n for c in clients for _, _, n in c.frames)
    frames = len(latencies)
    # a tick's delivery time: from its timestamp to its last frame here (the per-tick maximum latency)
    per_tick: dict[str, float] = {}
    for c in clients:
        for ts, lat, _ in c.frames:
            per_tick[ts] = max(per_tick.get(ts, 0.0), lat)
    busy_s = sum(per_tick.values()) / 1000
    other = [m for c in clients for m in c.other]
    print(f"# {len(other)} frames other than quotes, e.g. {other[:2]}", flush=True)
    for key in ("quotes_ms", "lookup_and_frames_ms", "post_ms", "written_ms", "cpu_ms"):
        print(f"# gateway, median per tick: {key} {statistics.median(t[key] for t in ticks):.1f}", flush=True)
    print(f"# load average (2 cores shared): {os.getloadavg()}", flush=True)
    return {
        "cpu_ms": statistics.median(t["cpu_ms"] for t in ticks),
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "msgs_per_s": frames / busy_s if busy_s else 0.0,
        "lost": expected - received,
    }


@pytest.mark.parametrize("n_clients", [1000, 10_000])
def test_ws_fanout(gateway: str, n_clients: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n_clients + 1000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    got = asyncio.run(_run(n_clients, gateway))
    bench(f"ws_fanout_{n_clients}_p50", got["p50"], "ms")
    bench(f"ws_fanout_{n_clients}_p99", got["p99"], "ms")
    bench(f"ws_fanout_{n_clients}_msgs_per_s", got["msgs_per_s"], "msg/s")
    bench(f"ws_fanout_{n_clients}_lost", got["lost"], "count")
    bench(f"ws_fanout_{n_clients}_gateway_cpu_per_tick", got["cpu_ms"], "ms")
    assert got["lost"] == 0
