"""The local WebSocket gateway in tests: a uvicorn server on a thread and the helpers the ws tests share.

The fixtures over it (``ws_handlers``'s module, ``server``, ``ws_env``) are in ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import uvicorn
from starlette.applications import Starlette

from devstack.wsgateway import UVICORN_WS_OPTIONS, WebSocketGateway
from stockscreen.core import clients, config

ROOT = Path(__file__).resolve().parents[2]
HANDLERS_PATH = ROOT / "functions" / "ws" / "handlers.py"


def load_handlers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stockscreen_ws_handlers", HANDLERS_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reset_ws_clients() -> None:
    try:
        clients.reset_clients()
    except ImportError:  # stockscreen.db not written yet: clear what exists
        clients.get_redis.cache_clear()
        clients.aws_client.cache_clear()
        for getter in (config.core_settings, config.event_settings, config.ws_settings):
            getter.cache_clear()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(
        self, app: Starlette, gateway: WebSocketGateway, ws_options: Mapping[str, Any] = UVICORN_WS_OPTIONS
    ) -> None:
        self.port = _free_port()
        self.gateway = gateway
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", **ws_options)
        )
        self._thread = threading.Thread(target=self._server.run, name="ws-gateway", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def management_client(server: Server) -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=server.url, region_name="us-east-1")


async def recv_json(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str), "server messages are text frames"
    data: dict[str, Any] = json.loads(raw)
    return data


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def only_connection(server: Server) -> str:
    """The id of the one open socket (the gateway records it just after the handshake)."""
    await wait_for(lambda: len(server.gateway.connections) == 1)
    return next(iter(server.gateway.connections))
