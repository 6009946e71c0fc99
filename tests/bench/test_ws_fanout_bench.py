"""WebSocket fan-out through the local gateway: 1,000 and 10,000 clients, each following 20 of 500 symbols.

The gateway runs in its own process (``tests/bench/ws_fanout_server.py``: the real ``functions/ws`` handlers,
the Redis registry, the production :class:`~stockscreen.realtime.broadcaster.Broadcaster` posting through the
gateway's in-process ``@connections`` client, as ``make dev``'s poller does); the clients run here, in this
process, each over its own real TCP socket. Every client subscribes through the gateway (the ``subscribe``
route), then ``TICKS`` ticks are published, each a quote for every one of the 500 symbols (each client: one
frame holding its 20 quotes); the clients then wait (up to 5 minutes) for every frame still in flight.

What is measured, per frame: latency = the wall-clock time at which the frame is complete in this process
(read from its socket by the event loop and parsed in full by :class:`FrameReader`: header, reserved bits,
mask bit, length, fragments; pings and the close answered; the handshake is checked by websockets' sans-I/O
``ClientProtocol``; the reader's own tests compare it with websockets' encoder) - the tick's timestamp (the
quotes' ``ts``, taken in the gateway process before the quotes are built and the registry looked up). So it
covers building the quotes, the registry lookup, frame building, the posts, the kernel's socket and this
process's reading of every frame before it (one event loop reads all the clients' sockets: harsher than
browsers, each reading its own). Every frame counts; none is sampled. The frames' JSON is decoded after the run
(off the timed path): ``lost`` counts the (tick, symbol) quotes a client follows and did not get, and frames that
are not quotes are printed. Figures, not pass/fail timing (except ``lost``, which must be 0). Also printed:
each tick's last frame, the gateway's time per stage and CPU per tick (all threads, GC included), this process's
CPU per tick.
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
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

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


OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 2**20


class FrameReader:
    """The frames a server sends, parsed in full (RFC 6455 5.2-5.5): FIN, reserved bits (no extension was
    negotiated: they must be 0), opcode (data, continuation or control, anything else refused), the mask bit
    (a server never masks), the three length forms, control frames (final, at most 125 bytes, allowed between
    the fragments of a message) and fragmented messages put back together. :meth:`feed` takes bytes as they
    come off the socket and returns every message and control frame they complete, as (opcode, payload)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.opcode: int | None = None  # of the fragmented message under way
        self.parts: list[bytes] = []

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self.buffer + data if self.buffer else data
        size, pos = len(buf), 0
        out: list[tuple[int, bytes]] = []
        while size - pos >= 2:
            first, second = buf[pos], buf[pos + 1]
            if first & 0x70:
                raise ValueError("reserved bits set (no extension was negotiated)")
            if second & 0x80:
                raise ValueError("a masked frame from the server")
            length, head = second & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if length > MAX_MESSAGE:
                raise ValueError(f"a frame of {length} bytes")
            end = pos + head + length
            if end > size:
                break
            payload, pos = buf[pos + head : end], end
            fin, opcode = first & 0x80, first & 0x0F
            if opcode >= OP_CLOSE:
                if opcode not in (OP_CLOSE, OP_PING, OP_PONG) or not fin or length > 125:
                    raise ValueError(f"a bad control frame (opcode {opcode}, fin {bool(fin)}, {length} bytes)")
                out.append((opcode, payload))
            elif opcode == OP_CONT:
                if self.opcode is None:
                    raise ValueError("a continuation frame outside a message")
                self.parts.append(payload)
                if fin:
                    out.append((self.opcode, b"".join(self.parts)))
                    self.opcode, self.parts = None, []
            elif opcode in (OP_TEXT, OP_BINARY):
                if self.opcode is not None:
                    raise ValueError("a new message inside a fragmented one")
                if fin:
                    out.append((opcode, payload))
                else:
                    self.opcode, self.parts = opcode, [payload]
            else:
                raise ValueError(f"reserved opcode {opcode}")
        self.buffer = buf[pos:]
        return out


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final frame from the client: masked, as RFC 6455 requires of every client frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + mask + masked


class Client(asyncio.Protocol):
    """One browser, over a real socket. websockets' sans-I/O :class:`~websockets.client.ClientProtocol` sends the
    handshake and checks the answer (status 101, ``Sec-WebSocket-Accept``, no extension); from then on
    :class:`FrameReader` parses every frame the gateway sends, pings are answered and the close handshake done,
    and what the client sends is masked (:func:`client_frame`). Each complete message is kept with the
    wall-clock time it was complete here (``arrived``); its JSON is read after the run."""

    def __init__(self, symbols: list[str], uri: str) -> None:
        self.symbols = symbols
        self.handshake: ClientProtocol | None = ClientProtocol(parse_uri(uri), max_size=MAX_MESSAGE)
        self.reader = FrameReader()
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.subscribed: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.close_sent = False
        #: every message after the subscription's ack: (arrival time, payload)
        self.messages: list[tuple[float, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport) and self.handshake is not None
        self.transport = transport
        self.handshake.send_request(self.handshake.connect())
        for chunk in self.handshake.data_to_send():
            transport.write(chunk)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        if self.handshake is not None:
            self._handshake(data)
            return
        try:
            messages = self.reader.feed(data)
        except ValueError as exc:
            self._fail(exc)
            return
        for opcode, payload in messages:
            if opcode in (OP_TEXT, OP_BINARY):
                arrived = time.time()
                if self.subscribed.done():
                    self.messages.append((arrived, payload))
                elif json.loads(payload).get("type") == "subscribed":
                    self.subscribed.set_result(None)
                else:
                    self._fail(AssertionError(f"not an ack: {payload[:200]!r}"))
            elif opcode == OP_PING:
                self.transport.write(client_frame(OP_PONG, payload))
            elif opcode == OP_CLOSE and not self.close_sent:  # the gateway closes: answer with its code
                self.close_sent = True
                self.transport.write(client_frame(OP_CLOSE, payload[:2]))

    def _handshake(self, data: bytes) -> None:
        assert self.handshake is not None and self.transport is not None
        self.handshake.receive_data(data)
        if not any(isinstance(event, Response) for event in self.handshake.events_received()):
            return
        if self.handshake.handshake_exc is not None or self.handshake.state is not State.OPEN:
            self._fail(self.handshake.handshake_exc or ConnectionError("handshake failed"))
            return
        rest = bytes(self.handshake.reader.buffer)  # whatever followed the 101 answer: frames
        self.handshake = None
        subscribe = json.dumps({"action": "subscribe", "symbols": self.symbols}).encode()
        self.transport.write(client_frame(OP_TEXT, subscribe))
        if rest:
            self.data_received(rest)

    def _fail(self, exc: BaseException) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError("closed before the subscription was acknowledged"))
        if not self.closed.done():
            self.closed.set_result(None)

    async def close(self) -> None:
        """The closing handshake (1000), then the socket."""
        assert self.transport is not None
        if not self.transport.is_closing():
            if not self.close_sent:
                self.close_sent = True
                self.transport.write(client_frame(OP_CLOSE, (1000).to_bytes(2, "big")))
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
    for key in ("lookup_and_frames_ms", "post_ms", "written_ms", "gc_ms"):
        print(f"# gateway, per tick: {key} {[round(t[key], 1) for t in ticks]}", flush=True)
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


def test_the_clients_frame_reader_parses_what_websockets_sends() -> None:
    """The bench's reader against websockets' own encoder: every length form, a fragmented message with a ping
    between its fragments, the close; fed in chunks of every size; protocol errors refused."""
    messages = [(OP_TEXT, b"x" * n) for n in (0, 5, 125, 126, 2_300, 65_535, 65_536, 200_000)]
    messages.append((OP_BINARY, bytes(range(256)) * 3))
    frames = [Frame(Opcode(op), data) for op, data in messages]
    frames += [
        Frame(Opcode.TEXT, b"frag-1 ", fin=False),
        Frame(Opcode.PING, b"hi"),
        Frame(Opcode.CONT, b"frag-2 ", fin=False),
        Frame(Opcode.CONT, b"frag-3", fin=True),
        Frame(Opcode.CLOSE, (1000).to_bytes(2, "big")),
    ]
    expected = [*messages, (OP_PING, b"hi"), (OP_TEXT, b"frag-1 frag-2 frag-3"), (OP_CLOSE, b"\x03\xe8")]
    stream = b"".join(frame.serialize(mask=False, extensions=[]) for frame in frames)
    rng = random.Random(7)
    for max_chunk in (1, 7, 1_000, 70_000, len(stream)):
        reader, got, pos = FrameReader(), [], 0
        while pos < len(stream):
            step = rng.randint(1, max_chunk)
            got += reader.feed(stream[pos : pos + step])
            pos += step
        assert got == expected and reader.buffer == b""
    bad = {
        "masked": Frame(Opcode.TEXT, b"x").serialize(mask=True, extensions=[]),
        "reserved bit": bytes((0x80 | 0x40 | OP_TEXT, 1)) + b"x",
        "stray continuation": bytes((0x80 | OP_CONT, 1)) + b"x",
        "long ping": bytes((0x80 | OP_PING, 126)) + (126).to_bytes(2, "big") + b"p" * 126,
        "reserved opcode": bytes((0x80 | 0x3, 0)),
    }
    for name, data in bad.items():
        with pytest.raises(ValueError):
            FrameReader().feed(data)
            pytest.fail(name)


def test_the_clients_frames_are_what_a_websocket_server_reads() -> None:
    """What the bench's clients send (masked, every length form) parses in websockets' server protocol."""
    client, server = ClientProtocol(parse_uri("ws://127.0.0.1/ws")), ServerProtocol()
    client.send_request(client.connect())
    for chunk in client.data_to_send():
        server.receive_data(chunk)
    (request,) = server.events_received()
    server.send_response(server.accept(request))
    for n in (0, 10, 125, 126, 70_000):
        payload = bytes(i % 251 for i in range(n))
        server.receive_data(client_frame(OP_BINARY, payload))
        (frame,) = server.events_received()
        assert frame.opcode is Opcode.BINARY and frame.fin and frame.data == payload


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
