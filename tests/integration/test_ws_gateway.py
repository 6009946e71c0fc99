"""The local WebSocket gateway driving the real ``functions/ws/handlers.py`` over real sockets.

A uvicorn server runs in a background thread; the handlers (called by the gateway in worker
threads) answer through boto3's ``apigatewaymanagementapi`` client, i.e. over HTTP back into
the same server, which exercises the no-deadlock property.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import redis
import uvicorn
import websockets
from botocore.exceptions import ClientError
from starlette.applications import Starlette
from websockets.exceptions import InvalidStatus

from devstack.wsgateway import WebSocketGateway
from stockscreen.core import clients, config
from stockscreen.realtime import ConnectionRegistry, Quote, put_quotes

ROOT = Path(__file__).resolve().parents[2]
HANDLERS_PATH = ROOT / "functions" / "ws" / "handlers.py"
TS = datetime(2024, 1, 2, 15, 30, tzinfo=UTC)


def load_handlers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stockscreen_ws_handlers", HANDLERS_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reset_clients() -> None:
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
    def __init__(self, app: Starlette, gateway: WebSocketGateway) -> None:
        self.port = _free_port()
        self.gateway = gateway
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
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


@pytest.fixture(scope="module")
def handlers() -> ModuleType:
    return load_handlers()


@pytest.fixture(scope="module")
def server(handlers: ModuleType) -> Iterator[Server]:
    gateway = WebSocketGateway(handlers)
    srv = Server(Starlette(routes=gateway.routes()), gateway)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def _ws_redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    r = redis.Redis.from_url(url)
    r.flushdb()
    yield url
    r.flushdb()
    r.close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, _ws_redis_url: str, server: Server) -> Iterator[None]:
    monkeypatch.setenv("REDIS_URL", _ws_redis_url)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://unused/unused")
    monkeypatch.setenv("WS_MANAGEMENT_URL", server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    _reset_clients()
    yield
    _reset_clients()


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


def test_subscribe_quote_error_broadcast_disconnect(env: None, server: Server, handlers: ModuleType) -> None:
    put_quotes([Quote(symbol="AAPL", price=187.5, change_pct=0.4, volume=1000, ts=TS)])
    registry = ConnectionRegistry()

    async def scenario() -> str:
        async with websockets.connect(server.ws_url, user_agent_header="pytest-ws") as ws:
            cid = await only_connection(server)
            assert registry.connection(cid) is not None

            await ws.send(json.dumps({"action": "subscribe", "symbols": ["aapl", "msft"]}))
            assert await recv_json(ws) == {"type": "subscribed", "symbols": ["AAPL", "MSFT"]}
            first = await recv_json(ws)  # only AAPL has a stored quote
            assert first["type"] == "quote" and first["symbol"] == "AAPL" and first["price"] == 187.5
            assert registry.subscriptions(cid) == {"AAPL", "MSFT"}

            await ws.send("{this is not json")
            err = await recv_json(ws)
            assert err["type"] == "error"
            assert err["error"]["code"] == "invalid_request"
            assert "JSON" in err["error"]["message"]

            await ws.send(json.dumps({"action": "buy", "symbols": ["AAPL"]}))  # -> $default route
            err = await recv_json(ws)
            assert err["type"] == "error" and "unknown action 'buy'" in err["error"]["message"]

            await ws.send(json.dumps({"action": "subscribe", "symbols": ["BAD SYMBOL"]}))
            err = await recv_json(ws)
            assert err["type"] == "error" and "invalid symbol" in err["error"]["message"]

            # prices.updated -> broadcast (called from a thread: it blocks on HTTP to the server)
            put_quotes([Quote(symbol="AAPL", price=190.25, ts=TS)])
            result = await asyncio.to_thread(
                handlers.broadcast, {"detail-type": "prices.updated", "detail": {"symbols": ["AAPL"]}}, None
            )
            assert result == {"symbols": 1, "quotes": 1, "delivered": 1}
            pushed = await recv_json(ws)
            assert pushed["type"] == "quote" and pushed["symbol"] == "AAPL" and pushed["price"] == 190.25

            # empty symbols = every subscribed symbol that has a quote
            put_quotes([Quote(symbol="MSFT", price=400.0, ts=TS)])
            result = await asyncio.to_thread(handlers.broadcast, {"detail": {"symbols": []}}, None)
            assert result == {"symbols": 2, "quotes": 2, "delivered": 2}
            got = {m["symbol"]: m["price"] for m in [await recv_json(ws), await recv_json(ws)]}
            assert got == {"AAPL": 190.25, "MSFT": 400.0}

            await ws.send(json.dumps({"action": "unsubscribe", "symbols": ["MSFT"]}))
            assert await recv_json(ws) == {"type": "unsubscribed", "symbols": ["MSFT"]}
            assert registry.subscriptions(cid) == {"AAPL"}

            info = management_client(server).get_connection(ConnectionId=cid)
            assert info["Identity"]["UserAgent"] == "pytest-ws"
            assert info["Identity"]["SourceIp"] == "127.0.0.1"
            assert info["ConnectedAt"] <= info["LastActiveAt"]
            return cid

    cid = asyncio.run(scenario())
    # $disconnect runs after the socket closed
    deadline = time.monotonic() + 5
    while registry.connection(cid) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert registry.connection(cid) is None
    assert registry.subscriptions(cid) == set()
    assert registry.subscribers("AAPL") == set()
    assert cid not in server.gateway.connections


def test_hostile_json_messages_answer_an_error_and_keep_the_socket_open(env: None, server: Server) -> None:
    """Nesting 1,000 levels deep (route selection and the handler both read the body) and a 5,000-digit
    number: each is an error message naming the limit, and the same socket then subscribes as usual."""
    deep = '{"action": ' + "[" * 1000 + "]" * 1000 + ', "symbols": ["AAPL"]}'
    deep_action = '{"symbols": ["AAPL"], "action": "subscribe", "x": ' + "[" * 1000 + "]" * 1000 + "}"
    long_number = '{"action": "subscribe", "symbols": [' + "9" * 5000 + "]}"

    async def scenario() -> None:
        async with websockets.connect(server.ws_url) as ws:
            cid = await only_connection(server)
            for message in (deep, deep_action):
                await ws.send(message)
                err = await recv_json(ws)
                assert err == {
                    "type": "error",
                    "error": {
                        "code": "invalid_request",
                        "message": "message is nested too deeply: at most 32 levels of arrays and objects",
                    },
                }
            await ws.send(long_number)
            err = await recv_json(ws)
            assert err["type"] == "error" and err["error"]["code"] == "invalid_request"
            assert err["error"]["message"] == "number at symbols.0 has 5000 digits; at most 100 are allowed"
            assert cid in server.gateway.connections  # still open: no 1006, no 1011
            await ws.send(json.dumps({"action": "subscribe", "symbols": ["msft"]}))
            assert await recv_json(ws) == {"type": "subscribed", "symbols": ["MSFT"]}

    asyncio.run(scenario())


def test_post_to_unknown_connection_is_gone(env: None, server: Server) -> None:
    client = management_client(server)
    with pytest.raises(client.exceptions.GoneException) as exc_info:
        client.post_to_connection(ConnectionId="L0SM9cOFvHcCIhw=", Data=b"{}")
    assert exc_info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId="nope")
    with pytest.raises(client.exceptions.GoneException):
        client.delete_connection(ConnectionId="nope")


def test_management_api_post_and_delete(env: None, server: Server) -> None:
    client = management_client(server)

    async def scenario() -> None:
        async with websockets.connect(server.ws_url) as ws:
            cid = await only_connection(server)
            assert "/" not in cid and len(cid) == 16
            await asyncio.to_thread(client.post_to_connection, ConnectionId=cid, Data=b'{"hello": 1}')
            assert await recv_json(ws) == {"hello": 1}
            await asyncio.to_thread(client.delete_connection, ConnectionId=cid)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            await wait_for(lambda: cid not in server.gateway.connections)
            with pytest.raises(ClientError) as exc_info:
                await asyncio.to_thread(client.post_to_connection, ConnectionId=cid, Data=b"x")
            assert exc_info.value.response["Error"]["Code"] == "GoneException"

    asyncio.run(scenario())


def test_connect_event_shape_and_rejection(env: None) -> None:
    """A recording handler set: event shapes, route selection and a rejecting $connect."""
    events: list[dict[str, Any]] = []

    class Recorder:
        reject = False

        def connect(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
            events.append(event)
            return {"statusCode": 403 if self.reject else 200}

        def disconnect(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
            events.append(event)
            return {"statusCode": 200}

        def message(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
            events.append(event)
            if event["body"] == "boom":
                raise RuntimeError("handler failure")
            return {"statusCode": 200}

    recorder = Recorder()
    gateway = WebSocketGateway(recorder, stage="dev")
    srv = Server(Starlette(routes=gateway.routes()), gateway)
    srv.start()
    try:

        async def scenario() -> None:
            async with websockets.connect(srv.ws_url + "?token=abc&x=1&x=2") as ws:
                await ws.send(json.dumps({"action": "subscribe", "symbols": ["A"]}))
                await ws.send(json.dumps({"action": "unsubscribe", "symbols": ["A"]}))
                await ws.send(json.dumps({"action": "$connect"}))
                await ws.send("not json")
                await ws.send("boom")
                failure = await recv_json(ws)
                assert failure["message"] == "Internal server error"
                assert failure["connectionId"] == events[0]["requestContext"]["connectionId"]
            await wait_for(lambda: len(events) == 7)

            recorder.reject = True
            with pytest.raises(InvalidStatus) as exc_info:
                async with websockets.connect(srv.ws_url):
                    pass
            assert exc_info.value.response.status_code == 403
            assert gateway.connections == {}

        asyncio.run(scenario())
    finally:
        srv.stop()

    connect, *messages, disconnect = events[:7]
    ctx = connect["requestContext"]
    assert ctx["routeKey"] == "$connect" and ctx["eventType"] == "CONNECT"
    assert ctx["stage"] == "dev" and ctx["domainName"] == f"127.0.0.1:{srv.port}"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert isinstance(ctx["connectedAt"], int) and ctx["requestId"]
    assert connect["queryStringParameters"] == {"token": "abc", "x": "2"}
    assert connect["multiValueQueryStringParameters"]["x"] == ["1", "2"]
    assert connect["headers"]["Host"] == f"127.0.0.1:{srv.port}"
    assert connect["isBase64Encoded"] is False
    assert [m["requestContext"]["routeKey"] for m in messages] == [
        "subscribe",
        "unsubscribe",
        "$default",
        "$default",
        "$default",
    ]
    assert all(m["requestContext"]["eventType"] == "MESSAGE" for m in messages)
    assert messages[3]["body"] == "not json"
    assert {m["requestContext"]["connectionId"] for m in [connect, *messages, disconnect]} == {ctx["connectionId"]}
    dctx = disconnect["requestContext"]
    assert dctx["routeKey"] == "$disconnect" and dctx["eventType"] == "DISCONNECT"
    assert dctx["disconnectStatusCode"] == 1000
    assert events[7]["requestContext"]["routeKey"] == "$connect"  # the rejected one
    assert len(events) == 8  # no $disconnect for a rejected connection


def test_many_concurrent_subscribers_do_not_deadlock(env: None, server: Server, handlers: ModuleType) -> None:
    """Handler threads block on HTTP calls into the same server while others connect."""
    put_quotes([Quote(symbol="IBM", price=150.0, ts=TS)])

    async def client(i: int) -> dict[str, Any]:
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"action": "subscribe", "symbols": ["IBM", f"S{i}"]}))
            ack = await recv_json(ws, timeout=10)
            assert ack["type"] == "subscribed"
            return await recv_json(ws, timeout=10)

    async def scenario() -> list[dict[str, Any]]:
        got = list(await asyncio.gather(*(client(i) for i in range(25))))
        registry = ConnectionRegistry()
        await wait_for(lambda: not server.gateway.connections and not registry.subscribers("IBM"))
        return got

    quotes = asyncio.run(scenario())
    assert all(q["type"] == "quote" and q["price"] == 150.0 for q in quotes)
