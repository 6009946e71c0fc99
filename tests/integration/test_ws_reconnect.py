"""The SPA's LiveSocket (the real TypeScript, run by Node) against the local gateway: API Gateway's 2-hour
connection limit (shortened to 4 s here) and a connection dropped by the server. The heartbeat (every 0.5 s)
goes through the gateway, whose idle timeout (10 minutes, 2.5 s here) counts only the client's frames. The
browser-side socket must reconnect and resubscribe each time, prices flowing on, its status never "closed"."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.applications import Starlette

from devstack.wsgateway import Connection, LocalManagementClient, WebSocketGateway
from stockscreen.realtime import Quote
from stockscreen.realtime.broadcaster import Broadcaster
from stockscreen.realtime.connections import connection_registry
from tests.integration.wskit import Server

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
SECONDS = 10


class RecordingGateway(WebSocketGateway):
    """Records why the gateway ended each connection it ended itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drops: list[tuple[str, int, str]] = []
        self.seen: set[str] = set()
        self.pings = 0

    def select_route(self, body: str | None) -> str:
        if body and '"ping"' in body:
            self.pings += 1
        return super().select_route(body)

    def _drop(self, conn: Connection, code: int, reason: str) -> None:
        if not conn.dropped:
            self.drops.append((conn.connection_id, code, reason))
        super()._drop(conn, code, reason)


def test_live_socket_reconnects_and_resubscribes_after_the_connection_limit_and_a_drop(
    ws_env: str, ws_handlers: ModuleType
) -> None:
    node = shutil.which("node")
    assert node, "node is needed to run the SPA's LiveSocket"
    gateway = RecordingGateway(ws_handlers, max_connection_s=4.0, idle_timeout_s=2.5)
    srv = Server(Starlette(routes=gateway.routes()), gateway)
    srv.start()
    os.environ["WS_MANAGEMENT_URL"] = srv.url  # the handlers' acks and pongs (ws_env restores it)
    lines: list[dict[str, Any]] = []
    proc = subprocess.Popen(
        [
            node,
            "--experimental-websocket",
            "node_modules/vite-node/vite-node.mjs",
            "src/features/live/gateway-probe.ts",
            srv.ws_url,
            "AAPL,MSFT",
            str(SECONDS),
        ],
        cwd=FRONTEND,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                lines.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        registry = connection_registry()
        broadcaster = Broadcaster(LocalManagementClient(gateway), registry)
        published: list[tuple[float, float]] = []
        dropped_once = False
        started = time.monotonic()
        price = 100.0
        while proc.poll() is None and time.monotonic() - started < SECONDS + 20:
            gateway.seen |= set(gateway.connections)
            price += 1.0
            now = datetime.now(UTC)
            broadcaster.fan_out([Quote(symbol="AAPL", price=price, ts=now), Quote(symbol="MSFT", price=-price, ts=now)])
            published.append((time.monotonic(), price))
            settled = [c for c, x in gateway.connections.items() if x.connected_at < time.time() * 1000 - 1000]
            if not dropped_once and time.monotonic() - started > 5.0 and settled:
                cid = settled[0]  # the server drops a socket that has served a while (a deploy, a network change)
                assert gateway.loop is not None
                asyncio.run_coroutine_threadsafe(
                    gateway.delete_connection(cid, 1011, "test drop"), gateway.loop
                ).result(5)
                dropped_once = True
            time.sleep(0.1)
        proc.wait(timeout=30)
        reader.join(timeout=5)
        deadline = time.monotonic() + 5
        while (gateway.connections or connection_registry().subscribers("AAPL")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        srv.stop()

    ends = [i for i, line in enumerate(lines) if line.get("done")]
    assert ends, lines[-3:]
    done = lines[ends[0]]
    reasons = [reason for _, _, reason in gateway.drops]
    assert "Maximum connection duration" in reasons and "test drop" in reasons
    # the heartbeat went through the gateway all along (about 2 a second; the $default route answers pong)
    assert gateway.pings >= SECONDS
    # every socket the gateway ended was followed by a new one, which the LiveSocket opened itself
    assert len(gateway.seen) >= len(gateway.drops) + 1 >= 3 and done["reconnects"] >= 2
    states = [line for line in lines[: ends[0]] if "status" in line]  # (then the probe closes it: "idle")
    assert "closed" not in {s["status"] for s in states}  # nothing for the user to notice
    # after every reconnect the socket resubscribed: prices kept arriving to the end, for both symbols
    last = states[-1]["prices"]
    assert last["AAPL"] is not None and last["MSFT"] == -last["AAPL"]
    assert last["AAPL"] >= published[-1][1] - 30  # within the last few seconds of quotes
    assert registry.subscribers("AAPL") == set()  # every socket's $disconnect cleaned up
