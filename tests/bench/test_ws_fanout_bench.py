"""WebSocket fan-out through the local gateway: 1,000 and 10,000 clients, each following 20 of 500 symbols.

The gateway runs in its own process (``tests/bench/ws_fanout_server.py``: the real ``functions/ws`` handlers,
the Redis registry, the production :class:`~stockscreen.realtime.broadcaster.Broadcaster` posting through the
gateway's in-process ``@connections`` client, as ``make dev``'s poller does); the clients run here, in this
process, each over its own real TCP socket. Every client subscribes through the gateway (the ``subscribe``
route), then ``TICKS`` ticks are published, each a quote for every one of the 500 symbols (each client: one
frame holding its 20 quotes); the clients then wait (up to 5 minutes) for every frame still in flight.

What is measured, per frame: latency = the wall-clock time at which the frame is complete in this process
(read from its socket by the event loop and parsed as a WebSocket frame by websockets' sans-I/O
``ClientProtocol``: header, length, fragments; pings and the close answered) - the tick's timestamp (the
quotes' ``ts``, taken in the gateway process before the quotes are built and the registry looked up). So it
covers building the quotes, the registry lookup, frame building, the posts, the kernel's socket and this
process's reading of every frame before it (one event loop for all the clients, as a browser has one per
page). Every frame counts; none is sampled. The frames' JSON is decoded after the run (off the timed path):
``lost`` counts the (tick, symbol) quotes a client follows and did not get, and frames that are not quotes are
printed. Figures, not pass/fail timing (except ``lost``, which must be 0). Also printed: each tick's last
frame, the gateway's time per stage and CPU per tick (all threads, GC included), this process's CPU per tick.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
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
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

ROOT = Path(__file__).resolve().parents[2]
N_SYMBOLS = 500
PER_CLIENT = 20
TICKS = {1000: 10, 10_000: 5}
TICK_GAP_S = {1000: 0.5, 10_000: 2.0}
DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


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


class Client(asyncio.Protocol):
    """One browser, over a real socket: websockets' sans-I/O :class:`~websockets.client.ClientProtocol` sends the
    handshake and checks the answer (``Sec-WebSocket-Accept``), masks what the client sends, parses every frame
    the gateway sends (header, length, fragments) and answers pings and the close. Each complete data frame is
    kept with the wall-clock time it was complete here (``arrived``); its JSON is read after the run."""

    def __init__(self, symbols: list[str], uri: str) -> None:
        self.symbols = symbols
        self.proto = ClientProtocol(parse_uri(uri), max_size=2**20)
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.subscribed: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        #: every data frame after the subscription's ack: (arrival time, payload)
        self.messages: list[tuple[float, bytes]] = []
        self._parts: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.proto.send_request(self.proto.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Response):
                if self.proto.handshake_exc is not None:
                    self._fail(self.proto.handshake_exc)
                    return
                self.proto.send_text(json.dumps({"action": "subscribe", "symbols": self.symbols}).encode())
            elif event.opcode in DATA_OPCODES:  # ping, pong and close: the protocol answers them itself
                self._parts.append(event.data)
                if not event.fin:
                    continue
                arrived = time.time()
                payload = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
                self._parts = []
                if self.subscribed.done():
                    self.messages.append((arrived, payload))
                elif json.loads(payload).get("type") == "subscribed":
                    self.subscribed.set_result(None)
                else:
                    self._fail(AssertionError(f"not an ack: {payload[:200]!r}"))
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.proto.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def _fail(self, exc: BaseException) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.proto.receive_eof()
        self._fail(ConnectionError("closed before the subscription was acknowledged"))
        if not self.closed.done():
            self.closed.set_result(None)

    async def close(self) -> None:
        """The closing handshake (1000), then the socket."""
        assert self.transport is not None
        if not self.transport.is_closing():
            self.proto.send_close(1000)
            self._flush()
            await asyncio.wait({self.closed}, timeout=30)  # the gateway's close answer and its FIN
        self.transport.close()


def _frames(client: Client) -> tuple[list[tuple[str, float, set[str]]], list[bytes]]:
    """The client's quote frames as (tick timestamp, latency in ms, symbols), and any other frames."""
    frames: list[tuple[str, float, set[str]]] = []
    other: list[bytes] = []
    for arrived, payload in client.messages:
        msg = json.loads(payload)  # UTF-8 and JSON checked here, after the run
        quotes = msg.get("quotes") if msg.get("type") == "quotes" else [msg] if msg.get("type") == "quote" else None
        if not quotes:
            other.append(payload[:200])
            continue
        (ts,) = {q["ts"] for q in quotes}  # one tick per frame
        sent = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        frames.append((ts, (arrived - sent) * 1000, {q["symbol"] for q in quotes}))
    return frames, other


async def _run(n_clients: int, gateway: str) -> dict[str, float]:
    ws_url = gateway.replace("http://", "ws://") + "/ws"
    host, port = "127.0.0.1", int(gateway.rsplit(":", 1)[1])
    rng = random.Random(n_clients)
    universe = [f"S{i:03d}" for i in range(N_SYMBOLS)]
    clients = [Client(sorted(rng.sample(universe, PER_CLIENT)), ws_url) for _ in range(n_clients)]
    gate = asyncio.Semaphore(200)
    loop = asyncio.get_running_loop()

    async def open_one(c: Client) -> None:
        async with gate:
            await loop.create_connection(lambda: c, host, port)
            await asyncio.wait_for(c.subscribed, 120)

    t0 = time.monotonic()
    await asyncio.gather(*(open_one(c) for c in clients))
    print(f"# {n_clients} clients connected and subscribed in {time.monotonic() - t0:.1f}s", flush=True)
    gc.freeze()  # the clients' long-lived state: out of the collector's way while frames are timed
    expected = TICKS[n_clients] * PER_CLIENT * n_clients
    cpu0 = time.process_time()
    ticks = []
    for _ in range(TICKS[n_clients]):
        ticks.append(await asyncio.to_thread(_post, f"{gateway}/bench/tick"))
        await asyncio.sleep(TICK_GAP_S[n_clients])
    deadline = time.monotonic() + 300  # frames still queued are late, not lost: wait for them (bounded)
    while sum(len(c.messages) for c in clients) < TICKS[n_clients] * n_clients and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    client_cpu_ms = (time.process_time() - cpu0) * 1000 / TICKS[n_clients]
    await asyncio.gather(*(c.close() for c in clients))
    gc.unfreeze()

    latencies: list[float] = []
    per_tick: dict[str, float] = {}  # a tick's delivery time: from its timestamp to its last frame here
    received = 0
    other: list[bytes] = []
    for c in clients:
        frames, not_quotes = _frames(c)
        other += not_quotes
        wanted = set(c.symbols)
        got: dict[str, set[str]] = {}
        for ts, lat, symbols in frames:
            latencies.append(lat)
            per_tick[ts] = max(per_tick.get(ts, 0.0), lat)
            got.setdefault(ts, set()).update(symbols & wanted)
        received += sum(len(symbols) for symbols in got.values())
    latencies.sort()
    busy_s = sum(per_tick.values()) / 1000
    print(f"# {len(other)} frames other than quotes, e.g. {other[:2]}", flush=True)
    print(f"# per tick, last frame (ms): {[round(v, 1) for _, v in sorted(per_tick.items())]}", flush=True)
    print(f"# gateway, per tick: gc_ms {[round(t['gc_ms'], 1) for t in ticks]}", flush=True)
    for key in ("quotes_ms", "lookup_and_frames_ms", "post_ms", "written_ms", "cpu_ms"):
        print(f"# gateway, median per tick: {key} {statistics.median(t[key] for t in ticks):.1f}", flush=True)
    print(f"# clients' process CPU per tick: {client_cpu_ms:.1f} ms", flush=True)
    print(f"# load average (2 cores shared): {os.getloadavg()}", flush=True)
    return {
        "cpu_ms": statistics.median(t["cpu_ms"] for t in ticks),
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "msgs_per_s": len(latencies) / busy_s if busy_s else 0.0,
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
