"""The local WebSocket gateway driving the real ``functions/ws/handlers.py`` over real sockets.

A uvicorn server runs in a background thread; the handlers (called by the gateway in worker
threads) answer through boto3's ``apigatewaymanagementapi`` client, i.e. over HTTP back into
the same server, which exercises the no-deadlock property.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
import websockets
from botocore.exceptions import ClientError
from starlette.applications import Starlette
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame, Opcode

from devstack.wsgateway import (
    UVICORN_WS_OPTIONS,
    LocalManagementClient,
    WebSocketGateway,
    encode_frame,
    frame_of,
)
from stockscreen.realtime import ConnectionRegistry, Quote, put_quotes
from stockscreen.realtime.broadcaster import Broadcaster
from stockscreen.realtime.connections import connection_registry
from tests.integration.wskit import Server, management_client, only_connection, recv_json, wait_for

TS = datetime(2024, 1, 2, 15, 30, tzinfo=UTC)


def test_subscribe_quote_error_broadcast_disconnect(ws_env: str, server: Server, ws_handlers: ModuleType) -> None:
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
                ws_handlers.broadcast, {"detail-type": "prices.updated", "detail": {"symbols": ["AAPL"]}}, None
            )
            assert result == {"symbols": 1, "quotes": 1, "delivered": 1}
            pushed = await recv_json(ws)
            assert pushed["type"] == "quote" and pushed["symbol"] == "AAPL" and pushed["price"] == 190.25

            # empty symbols = every subscribed symbol that has a quote
            put_quotes([Quote(symbol="MSFT", price=400.0, ts=TS)])
            result = await asyncio.to_thread(ws_handlers.broadcast, {"detail": {"symbols": []}}, None)
            assert result == {"symbols": 2, "quotes": 2, "delivered": 1}  # one frame holds both
            both = await recv_json(ws)
            assert both["type"] == "quotes"
            assert {m["symbol"]: m["price"] for m in both["quotes"]} == {"AAPL": 190.25, "MSFT": 400.0}

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


def test_hostile_json_messages_answer_an_error_and_keep_the_socket_open(ws_env: str, server: Server) -> None:
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


def test_post_to_unknown_connection_is_gone(ws_env: str, server: Server) -> None:
    client = management_client(server)
    with pytest.raises(client.exceptions.GoneException) as exc_info:
        client.post_to_connection(ConnectionId="L0SM9cOFvHcCIhw=", Data=b"{}")
    assert exc_info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId="nope")
    with pytest.raises(client.exceptions.GoneException):
        client.delete_connection(ConnectionId="nope")


def test_management_api_post_and_delete(ws_env: str, server: Server) -> None:
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


def test_connect_event_shape_and_rejection(ws_env: str) -> None:
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


def test_many_concurrent_subscribers_do_not_deadlock(ws_env: str, server: Server, ws_handlers: ModuleType) -> None:
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


def _never_reading_client(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then reads nothing (a tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


#: the gateway's two ways of writing: frames straight to the socket (its own uvicorn protocol), or through
#: each connection's writer task (any other server)
WRITE_PATHS = {
    "direct": UVICORN_WS_OPTIONS,
    "writer-task": {"ws": "websockets-sansio", "ws_per_message_deflate": False},
}


@pytest.mark.parametrize("path", sorted(WRITE_PATHS))
def test_a_slow_client_never_holds_up_the_others_and_is_dropped_when_it_falls_too_far_behind(
    ws_env: str, ws_handlers: ModuleType, path: str
) -> None:
    """One client stops reading; what the gateway holds for it grows past ``outbox_bytes`` and it is closed
    (its posts then answer 410, which unregisters it), while the reading clients get every frame, in order.
    Written directly, the stuck socket (which cannot even take the close frame) is then aborted: nothing of
    it stays buffered."""
    gateway = WebSocketGateway(ws_handlers, outbox_bytes=32 * 100_000, close_timeout_s=1.0)
    srv = Server(Starlette(routes=gateway.routes()), gateway, WRITE_PATHS[path])
    srv.start()
    sym = "SLOW.TEST"
    frames = 150
    try:

        async def scenario() -> None:
            slow = await asyncio.to_thread(_never_reading_client, srv.port)
            fast = [await websockets.connect(srv.ws_url, max_size=2**20) for _ in range(5)]
            await wait_for(lambda: len(gateway.connections) == 6)
            ids = list(gateway.connections)
            (slow_id,) = [cid for cid, conn in gateway.connections.items() if not conn.user_agent]  # the raw one
            slow_conn = gateway.connections[slow_id]
            assert all((conn.direct is not None) == (path == "direct") for conn in gateway.connections.values())
            registry = connection_registry()
            for cid in ids:
                registry.subscribe(cid, [sym])
            broadcaster = Broadcaster(LocalManagementClient(gateway), registry)
            pad = "x" * 100_000  # 100 KB frames (the local gateway takes up to 128 KB): 15 MB outrun any buffer

            received = [0] * len(fast)  # frames each reading client has had so far

            def publish() -> int:
                # paced by the readers (at most 8 frames, 0.8 MB, ahead of the slowest of them), so only the
                # client that never reads can fall 3.2 MB behind, however busy the machine is
                sent = 0
                for i in range(frames):
                    deadline = time.monotonic() + 30
                    while min(received) < i - 8 and time.monotonic() < deadline:
                        time.sleep(0.002)
                    q = Quote(symbol=sym, price=float(i), ts=TS)
                    data = q.to_bytes()[:-1] + f',"pad":"{pad}"}}'.encode()
                    sent += broadcaster.post_all([(cid, data) for cid in registry.subscribers(sym)]).delivered
                return sent

            async def drain(k: int, ws: Any) -> list[float]:
                prices = []
                for _ in range(frames):
                    prices.append(json.loads(await asyncio.wait_for(ws.recv(), 30))["price"])
                    received[k] += 1
                return prices

            publishing = asyncio.create_task(asyncio.to_thread(publish))
            got = await asyncio.gather(*(drain(k, ws) for k, ws in enumerate(fast)))
            await publishing
            assert all(prices == [float(i) for i in range(frames)] for prices in got)  # all, in order
            await wait_for(lambda: slow_id not in gateway.connections, timeout=30)
            await wait_for(lambda: registry.connection(slow_id) is None, timeout=10)
            assert registry.subscribers(sym) == set(ids[1:])
            if slow_conn.direct is not None:
                direct = slow_conn.direct
                await wait_for(lambda: direct.transport.is_closing() and direct.buffered() == 0, timeout=15)
            slow.close()
            for ws in fast:
                await ws.close()

        asyncio.run(scenario())
    finally:
        srv.stop()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 131_072])
@pytest.mark.parametrize("text", [True, False])
def test_frames_the_gateway_encodes_itself_are_what_websockets_would_send(size: int, text: bool) -> None:
    """The direct path's frames (built once per distinct payload) are byte for byte websockets' own: FIN,
    opcode, unmasked, each of the three length forms."""
    payload = (b"\xc3\xa9" * size)[:size] if text and size % 2 == 0 else b"x" * size
    ours = encode_frame(payload, text=text)
    theirs = Frame(Opcode.TEXT if text else Opcode.BINARY, payload).serialize(mask=False, extensions=[])
    assert ours == theirs
    assert frame_of(payload.decode() if text else payload) == theirs


def test_the_gateway_sends_frames_straight_to_the_socket_in_order_with_the_handlers_answers(
    ws_env: str, server: Server
) -> None:
    """Under its own uvicorn protocol the gateway writes frames itself; a fan-out (one ``bytes`` object shared
    by two connections, a binary frame, a text one) and the handlers' answers (posted over HTTP) arrive as
    sent, in order, and a post to a connection that closed answers gone."""

    async def scenario() -> None:
        async with websockets.connect(server.ws_url) as a, websockets.connect(server.ws_url) as b:
            await wait_for(lambda: len(server.gateway.connections) == 2)
            ids = list(server.gateway.connections)
            assert all(conn.direct is not None for conn in server.gateway.connections.values())
            shared, binary = b'{"type":"quotes","n":1}', b"\xff\x00"
            client = LocalManagementClient(server.gateway)
            oks = await asyncio.to_thread(client.post_many, [(ids[0], shared), (ids[1], shared), (ids[0], binary)])
            assert oks == [True, True, True]
            await a.send(json.dumps({"action": "subscribe", "symbols": ["AAPL"]}))  # its ack comes over HTTP
            assert await asyncio.wait_for(a.recv(), 5) == shared.decode()
            assert await asyncio.wait_for(a.recv(), 5) == binary
            assert (await recv_json(a))["type"] == "subscribed"
            assert await asyncio.wait_for(b.recv(), 5) == shared.decode()
            await b.close()
            await wait_for(lambda: ids[1] not in server.gateway.connections)
            assert await asyncio.to_thread(client.post_many, [(ids[1], shared)]) == [False]

    asyncio.run(scenario())


@pytest.mark.parametrize("path", sorted(WRITE_PATHS))
def test_a_frame_larger_than_the_slow_consumer_limit_still_reaches_a_client_that_keeps_up(
    ws_env: str, ws_handlers: ModuleType, path: str
) -> None:
    """The limit counts what waits behind a frame: with nothing waiting, a frame over ``outbox_bytes`` goes."""
    gateway = WebSocketGateway(ws_handlers, outbox_bytes=16)
    srv = Server(Starlette(routes=gateway.routes()), gateway, WRITE_PATHS[path])
    srv.start()
    try:

        async def scenario() -> None:
            async with websockets.connect(srv.ws_url, max_size=2**20) as ws:
                await wait_for(lambda: len(gateway.connections) == 1)
                (cid,) = gateway.connections
                client = LocalManagementClient(gateway)
                for i in range(3):
                    data = json.dumps({"type": "big", "i": i, "pad": "x" * 100_000}).encode()
                    assert await asyncio.to_thread(client.post_many, [(cid, data)]) == [True]
                    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["i"] == i
                assert cid in gateway.connections

        asyncio.run(scenario())
    finally:
        srv.stop()
