"""stockscreen.realtime: message validation, the Redis registry, quotes and the broadcaster.

The registry and quote cache run against a real (local, throwaway-db) Redis: it is fast.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError

from stockscreen.core import clients, config, correlation
from stockscreen.core.errors import Invalid
from stockscreen.core.symbols import normalize_symbol
from stockscreen.realtime import (
    Ack,
    AlertMessage,
    Broadcaster,
    ConnectionRegistry,
    ErrorMessage,
    Quote,
    get_quotes,
    parse_client_message,
    put_quotes,
)
from stockscreen.realtime.connections import CONNECTION_TTL_SECONDS
from stockscreen.realtime.messages import MAX_FRAME_BYTES, Ping, Pong, quote_frames

TS = datetime(2024, 1, 2, 15, 30, tzinfo=UTC)


def _reset_clients() -> None:
    try:
        clients.reset_clients()
    except ImportError:  # stockscreen.db not written yet: clear what exists
        clients.get_redis.cache_clear()
        clients.aws_client.cache_clear()
        for getter in (config.core_settings, config.event_settings, config.ws_settings):
            getter.cache_clear()


@pytest.fixture
def _ws_redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    r = redis.Redis.from_url(url)
    r.flushdb()
    yield url
    r.flushdb()
    r.close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, _ws_redis_url: str) -> Iterator[None]:
    monkeypatch.setenv("REDIS_URL", _ws_redis_url)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://unused/unused")
    monkeypatch.setenv("WS_MANAGEMENT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("CONNECTIONS_TABLE", raising=False)  # the Redis registry (a stack's table is not ours)
    _reset_clients()
    yield
    _reset_clients()


@pytest.fixture
def registry(env: None) -> ConnectionRegistry:
    return ConnectionRegistry(clients.get_redis_py())


def quote(symbol: str, price: float, **kw: Any) -> Quote:
    return Quote(symbol=symbol, price=price, ts=kw.pop("ts", TS), **kw)


# -- messages --------------------------------------------------------------------------------


def test_parse_subscribe_normalises_symbols() -> None:
    msg = parse_client_message('{"action": "subscribe", "symbols": ["aapl", " BRK.B ", "AAPL", "bf-b"]}')
    assert msg.action == "subscribe"
    assert msg.symbols == ["AAPL", "BRK.B", "BF-B"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("", "empty message"),
        (None, "empty message"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"action": "buy", "symbols": ["AAPL"]}', "unknown action 'buy'"),
        ('{"symbols": ["AAPL"]}', "missing 'action'"),
        ('{"action": "subscribe"}', "missing 'symbols'"),
        ('{"action": "subscribe", "symbols": []}', "1 to 50"),
        ('{"action": "subscribe", "symbols": "AAPL"}', "1 to 50"),
        ('{"action": "subscribe", "symbols": ["AAPL"], "foo": 1}', "unexpected field 'foo'"),
        ('{"action": "subscribe", "symbols": ["AAPL$"]}', "invalid symbol 'AAPL$'"),
        ('{"action": "subscribe", "symbols": ["ABCDEFGHIJKLMNOPQ"]}', "invalid symbol"),
        ('{"action": "subscribe", "symbols": [""]}', "invalid symbol"),
        ('{"action": "subscribe", "symbols": [42]}', "symbols"),
        ('{"action": "subscribe", "symbols": ' + json.dumps(["A"] * 51) + "}", "1 to 50"),
    ],
)
def test_parse_rejects_bad_messages(body: str | None, fragment: str) -> None:
    with pytest.raises(Invalid) as exc_info:
        parse_client_message(body)
    assert fragment in exc_info.value.message
    assert exc_info.value.code == "invalid_request"


def test_normalize_symbol() -> None:
    assert normalize_symbol(" msft ") == "MSFT"
    for bad in ("", "A B", "ÄPL", "SEVENTEEN-LETTERS", "A/B", 3):
        with pytest.raises(Invalid):
            normalize_symbol(bad)


def test_server_messages_serialise() -> None:
    q = json.loads(quote("AAPL", 187.5, change_pct=1.25, volume=1000).to_bytes())
    assert q == {
        "type": "quote",
        "symbol": "AAPL",
        "price": 187.5,
        "change_pct": 1.25,
        "volume": 1000,
        "ts": "2024-01-02T15:30:00Z",
    }
    assert json.loads(ErrorMessage.of("invalid_request", "nope").to_json()) == {
        "type": "error",
        "error": {"code": "invalid_request", "message": "nope"},
    }
    assert json.loads(ErrorMessage.from_error(Invalid("bad")).to_json())["error"]["code"] == "invalid_request"
    assert json.loads(Ack(type="subscribed", symbols=["AAPL"]).to_json()) == {
        "type": "subscribed",
        "symbols": ["AAPL"],
    }
    alert = json.loads(AlertMessage(alert_id="a1", symbol="AAPL", message="x", triggered_at=TS).to_json())
    assert alert["type"] == "alert"
    with pytest.raises(ValueError):
        Ack(type="nope", symbols=[])


# -- registry --------------------------------------------------------------------------------


def test_register_subscribe_unregister(registry: ConnectionRegistry) -> None:
    r = clients.get_redis_py()
    registry.register("c1", "user-1")
    registry.register("c2", None)
    assert registry.connection("c1") is not None
    assert registry.user_id("c1") == "user-1"
    assert registry.user_id("c2") is None
    assert 0 < r.ttl("ws:conn:c1") <= CONNECTION_TTL_SECONDS

    assert registry.subscribe("c1", ["aapl", "msft", "AAPL"]) == ["AAPL", "MSFT"]
    registry.subscribe("c2", ["AAPL"])
    assert registry.subscriptions("c1") == {"AAPL", "MSFT"}
    assert registry.subscribers("AAPL") == {"c1", "c2"}
    assert registry.subscribers("aapl") == {"c1", "c2"}
    assert registry.subscribed_symbols() == {"AAPL", "MSFT"}
    assert r.ttl("ws:subs:c1") > 0

    assert registry.unsubscribe("c1", ["msft"]) == ["MSFT"]
    assert registry.subscriptions("c1") == {"AAPL"}
    assert registry.subscribers("MSFT") == set()
    assert not r.exists("ws:sym:MSFT")

    assert registry.unregister("c1") == ["AAPL"]
    assert registry.connection("c1") is None
    assert registry.subscriptions("c1") == set()
    assert registry.subscribers("AAPL") == {"c2"}
    assert not r.exists("ws:conn:c1", "ws:subs:c1")
    assert registry.unregister("never-seen") == []


def test_open_connections_count_registered_ones_until_they_leave_or_expire(registry: ConnectionRegistry) -> None:
    start = registry.open_connections()
    registry.register("oc-1", "u1", "free")
    registry.register("oc-2")
    assert registry.open_connections() == start + 2
    registry.unregister("oc-1")
    registry.unregister("oc-1")
    assert registry.open_connections() == start + 1
    short = ConnectionRegistry(clients.get_redis_py(), ttl_seconds=-1)  # registered already expired
    short.register("oc-3")
    assert registry.open_connections() == start + 1
    registry.unregister("oc-2")
    assert registry.open_connections() == start


def test_touch_refreshes_ttl(registry: ConnectionRegistry) -> None:
    r = clients.get_redis_py()
    registry.register("c1")
    registry.subscribe("c1", ["AAPL"])
    r.expire("ws:conn:c1", 5)
    r.expire("ws:subs:c1", 5)
    registry.touch("c1")
    assert r.ttl("ws:conn:c1") > 5
    assert r.ttl("ws:subs:c1") > 5


def test_subscription_limit(registry: ConnectionRegistry) -> None:
    registry.register("c1")
    symbols = [f"S{i}" for i in range(50)]
    registry.subscribe("c1", symbols)
    registry.subscribe("c1", ["S0", "s1"])  # already followed: no growth
    with pytest.raises(Invalid, match="at most 50 symbols"):
        registry.subscribe("c1", ["NEW"])
    assert len(registry.subscriptions("c1")) == 50
    assert registry.subscribers("NEW") == set()


def test_subscribe_rejects_bad_symbols(registry: ConnectionRegistry) -> None:
    registry.register("c1")
    with pytest.raises(Invalid, match="invalid symbol"):
        registry.subscribe("c1", ["AAPL", "no good"])
    assert registry.subscriptions("c1") == set()


def test_module_level_functions(env: None) -> None:
    from stockscreen.realtime import connections

    connections.register("c9", None)
    assert connections.subscribe("c9", ["ibm"]) == ["IBM"]
    assert connections.subscribers("IBM") == {"c9"}
    assert connections.subscriptions("c9") == {"IBM"}
    assert connections.unsubscribe("c9", ["IBM"]) == ["IBM"]
    connections.unregister("c9")
    assert connections.subscriptions("c9") == set()


# -- quotes ----------------------------------------------------------------------------------


def test_put_and_get_quotes(env: None) -> None:
    assert put_quotes([quote("aapl", 187.5, change_pct=-0.5, volume=12), quote("MSFT", 400.0)]) == 2
    got = get_quotes(["AAPL", "msft", "NOPE"])
    assert set(got) == {"AAPL", "MSFT"}
    assert got["AAPL"] == quote("AAPL", 187.5, change_pct=-0.5, volume=12)
    assert got["MSFT"].change_pct is None and got["MSFT"].volume is None
    # a newer quote without the optional fields replaces the old hash entirely
    put_quotes([quote("AAPL", 190.0)])
    assert get_quotes(["AAPL"])["AAPL"] == quote("AAPL", 190.0)
    assert get_quotes([]) == {}


def test_put_quotes_publishes(env: None) -> None:
    pubsub = clients.get_redis_py().pubsub()
    pubsub.subscribe("quotes")
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    put_quotes([quote("AAPL", 1.5)], publish=True)
    msg = pubsub.get_message(timeout=2)
    pubsub.close()
    assert msg is not None
    assert json.loads(msg["data"])["price"] == 1.5


# -- broadcaster -----------------------------------------------------------------------------


class GoneException(ClientError):
    def __init__(self) -> None:
        super().__init__({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")


class FakeManagementClient:
    """Records posts; ids in ``gone`` answer GoneException, ids in ``broken`` another error."""

    # mirrors boto3's client.exceptions namespace
    class exceptions:
        GoneException = GoneException

    def __init__(self, gone: set[str] = frozenset(), broken: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.gone = set(gone)
        self.broken = set(broken)
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.raw: list[bytes] = []  # the frames as posted

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        if ConnectionId in self.gone:
            raise GoneException()
        if ConnectionId in self.broken:
            raise ClientError({"Error": {"Code": "LimitExceededException", "Message": "slow"}}, "Post")
        self.raw.append(Data)
        self.sent.append((ConnectionId, json.loads(Data)))
        return {}


def test_broadcast_fans_out_and_forgets_gone_connections(registry: ConnectionRegistry) -> None:
    for cid in ("c1", "c2", "gone"):
        registry.register(cid)
    registry.subscribe("c1", ["AAPL", "MSFT"])
    registry.subscribe("c2", ["AAPL"])
    registry.subscribe("gone", ["AAPL", "MSFT"])
    client = FakeManagementClient(gone={"gone"})
    b = Broadcaster(client, registry)

    delivered = b.broadcast_quotes([quote("AAPL", 1.0), quote("MSFT", 2.0), quote("IBM", 3.0)])

    assert delivered == 2  # one frame per connection and batch: c1's two quotes travel together
    sent = dict(client.sent)
    assert sent["c2"]["type"] == "quote" and sent["c2"]["symbol"] == "AAPL"
    assert sent["c1"]["type"] == "quotes"
    assert sorted(q["symbol"] for q in sent["c1"]["quotes"]) == ["AAPL", "MSFT"]
    assert all(q["type"] == "quote" for q in sent["c1"]["quotes"])
    assert registry.connection("gone") is None
    assert registry.subscribers("AAPL") == {"c1", "c2"}
    assert registry.subscribers("MSFT") == {"c1"}


def test_broadcast_survives_other_errors(registry: ConnectionRegistry) -> None:
    for cid in ("c1", "bad"):
        registry.register(cid)
        registry.subscribe(cid, ["AAPL"])
    client = FakeManagementClient(broken={"bad"})
    assert Broadcaster(client, registry).broadcast_quotes([quote("AAPL", 1.0)]) == 1
    assert registry.subscribers("AAPL") == {"c1", "bad"}  # not gone: kept


def test_send(registry: ConnectionRegistry) -> None:
    registry.register("c1")
    registry.subscribe("c1", ["AAPL"])
    client = FakeManagementClient(gone={"c1"})
    b = Broadcaster(client, registry)
    assert b.send("c1", Ack(type="subscribed", symbols=["AAPL"])) is False
    assert registry.subscriptions("c1") == set()
    client.gone.clear()
    assert b.send("c2", ErrorMessage.of("x", "y")) is True
    assert client.sent == [("c2", {"type": "error", "error": {"code": "x", "message": "y"}})]


def test_send_treats_generic_gone_client_error_as_gone(registry: ConnectionRegistry) -> None:
    class PlainClient(FakeManagementClient):
        exceptions = None  # type: ignore[assignment]

    registry.register("c1")
    assert Broadcaster(PlainClient(gone={"c1"}), registry).send("c1", Ack(type="subscribed", symbols=[])) is False
    assert registry.connection("c1") is None


def test_from_settings_targets_the_management_url(env: None) -> None:
    b = Broadcaster.from_settings()
    assert b.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert b.client.meta.service_model.service_name == "apigatewaymanagementapi"


def test_user_channel_reaches_every_open_session_of_the_user(registry: ConnectionRegistry) -> None:
    registry.register("u1-tab1", user_id="u1")
    registry.register("u1-tab2", user_id="u1")
    registry.register("u1-gone", user_id="u1")
    registry.register("u2-tab", user_id="u2")
    registry.register("anon")
    assert registry.connections_of("u1") == {"u1-tab1", "u1-tab2", "u1-gone"}
    client = FakeManagementClient(gone={"u1-gone"})
    msg = AlertMessage(alert_id="a1", symbol="AAPL", message="AAPL crossed 150", price=150.5, triggered_at=TS)

    assert Broadcaster(client, registry).push_to_user("u1", msg) == 2

    assert sorted(cid for cid, _ in client.sent) == ["u1-tab1", "u1-tab2"]
    assert all(m["type"] == "alert" and m["alert_id"] == "a1" for _, m in client.sent)
    assert registry.connections_of("u1") == {"u1-tab1", "u1-tab2"}  # the gone one is forgotten
    registry.unregister("u1-tab1")
    assert registry.connections_of("u1") == {"u1-tab2"}
    assert registry.connections_of("u2") == {"u2-tab"}


def test_user_channel_expires_with_its_connections(registry: ConnectionRegistry) -> None:
    registry.register("c1", user_id="u1")
    r = registry._r
    r.expire("ws:user:u1", 5)
    registry.touch("c1")
    assert r.ttl("ws:user:u1") > 5


def test_quote_batch_round_trips_as_json() -> None:
    from stockscreen.realtime import QuoteBatch

    batch = QuoteBatch(batch_id="b1", source="replay", asof=TS, quotes=[quote("AAPL", 1.5)])
    again = QuoteBatch.model_validate_json(batch.model_dump_json())
    assert again == batch and again.quotes[0].symbol == "AAPL"
    with pytest.raises(ValueError, match="batch_id"):
        QuoteBatch(batch_id="", source="replay", asof=TS, quotes=[])


# -- frames within 32 KB, parallel posts -------------------------------------------------------


def test_a_connection_following_many_symbols_gets_frames_of_at_most_32_kb(registry: ConnectionRegistry) -> None:
    """250 symbols (the premium limit) of quotes do not fit one 32 KB frame: they are split, none lost."""
    symbols = [f"SYM{i:03d}.LONGER" for i in range(250)]
    registry.register("big", role="premium")
    registry.subscribe("big", symbols)
    client = FakeManagementClient()
    quotes = [quote(s, 1000.123456 + i, change_pct=-12.3456, volume=10**12) for i, s in enumerate(symbols)]
    assert len(b"".join(q.to_bytes() for q in quotes)) > MAX_FRAME_BYTES  # the case needs splitting

    result = Broadcaster(client, registry).fan_out(quotes)

    assert result.delivered == len(client.sent) >= 2
    assert all(len(r) <= MAX_FRAME_BYTES for r in client.raw)
    assert max(len(r) for r in client.raw) > MAX_FRAME_BYTES - 200  # frames are filled, not one per quote
    got = [q["symbol"] for _, m in client.sent for q in (m["quotes"] if m["type"] == "quotes" else [m])]
    assert sorted(got) == sorted(symbols)


def test_each_distinct_frame_is_built_once_and_shared_by_connections_following_the_same_symbols(
    registry: ConnectionRegistry,
) -> None:
    for cid, symbols in {"a": ["AAPL", "MSFT"], "b": ["MSFT", "AAPL"], "c": ["AAPL"], "d": ["IBM"]}.items():
        registry.register(cid)
        registry.subscribe(cid, symbols)
    # the lookup: one reply for every symbol asked, including one nobody follows
    assert registry.subscribers_of(["aapl", "MSFT", "IBM", "NOPE"]) == {
        "AAPL": {"a", "b", "c"},
        "MSFT": {"a", "b"},
        "IBM": {"d"},
        "NOPE": set(),
    }
    quotes = [quote("AAPL", 1.0), quote("MSFT", 2.0), quote("IBM", 3.0), quote("NOPE", 4.0)]
    frames = dict(Broadcaster(FakeManagementClient(), registry).frames_for(quotes))
    assert frames["a"] is frames["b"]  # the same bytes object: built (and encoded) once
    assert [q["symbol"] for q in json.loads(frames["a"])["quotes"]] == ["AAPL", "MSFT"]
    assert json.loads(frames["c"]) == json.loads(quotes[0].to_bytes())  # one quote: a plain quote message
    assert json.loads(frames["d"])["symbol"] == "IBM" and set(frames) == {"a", "b", "c", "d"}


def test_fan_out_frames_carry_the_bound_correlation_id_and_still_fit_the_limit(registry: ConnectionRegistry) -> None:
    """Under a bound correlation id every frame (each part of a split one too) carries it as ``cid`` and stays
    within the frame limit; connections following the same symbols still share one frame."""
    symbols = [f"SYM{i:03d}.LONGER" for i in range(40)]
    for cid in ("a", "b"):
        registry.register(cid)
        registry.subscribe(cid, symbols)
    quotes = [quote(s, 1000.123456 + i, change_pct=-12.3456, volume=10**12) for i, s in enumerate(symbols)]
    limit = 4096
    with correlation.bound("c-0123456789abcdef") as cid:
        posts = Broadcaster(FakeManagementClient(), registry, frame_limit=limit).frames_for(quotes)
    by_connection = {c: [frame for k, frame in posts if k == c] for c in ("a", "b")}
    assert len(by_connection["a"]) >= 2 and all(x is y for x, y in zip(*by_connection.values(), strict=True))
    assert all(len(frame) <= limit for _, frame in posts)
    messages = [json.loads(frame) for frame in by_connection["a"]]
    assert all(m["cid"] == cid for m in messages)
    assert sorted(q["symbol"] for m in messages for q in m["quotes"]) == sorted(symbols)


def test_quote_frames_split_exactly_at_the_limit() -> None:
    parts = [b'{"q":%d}' % i for i in range(10)]  # 7 bytes each
    frames = quote_frames(parts, limit=40)
    assert all(len(f) <= 40 for f in frames)
    assert b"".join(frames).count(b'{"q":') == 10
    assert quote_frames(parts[:1]) == parts[:1]  # one quote: a plain quote message


def test_an_alert_too_long_for_one_frame_is_trimmed_not_dropped() -> None:
    msg = AlertMessage(alert_id="a1", symbol="AAPL", message='"quoted" é ' * 10_000, triggered_at=TS)
    data = msg.to_bytes()
    assert len(data) <= MAX_FRAME_BYTES
    body = json.loads(data)
    assert body["alert_id"] == "a1" and body["message"].endswith("\u2026") and body["message"].startswith('"quoted"')


def test_one_slow_connection_does_not_hold_up_the_others(registry: ConnectionRegistry) -> None:
    """The slow connection's post blocks until every other post has arrived: a sequential fan-out would
    deadlock here (and fail on the timeout), a parallel one finishes."""
    fast = [f"fast{i}" for i in range(40)]
    for cid in ["slow", *fast]:
        registry.register(cid)
        registry.subscribe(cid, ["AAPL"])
    others_done = threading.Event()

    class SlowFirst(FakeManagementClient):
        def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
            if ConnectionId == "slow":
                assert others_done.wait(10), "the other posts waited for the slow one"
            out = super().post_to_connection(ConnectionId=ConnectionId, Data=Data)
            if len(self.sent) == len(fast):
                others_done.set()
            return out

    client = SlowFirst()
    result = Broadcaster(client, registry, workers=4).fan_out([quote("AAPL", 1.0)])
    assert result.delivered == 41 and result.failed == 0
    assert client.sent[-1][0] == "slow"  # it arrived last, after all the others


def test_ping_is_a_message_of_its_own() -> None:
    assert parse_client_message('{"action": "ping"}') == Ping(action="ping")
    with pytest.raises(Invalid, match="ping"):
        parse_client_message('{"action": "ping", "symbols": ["AAPL"]}')
    assert json.loads(Pong().to_bytes()) == {"type": "pong"}
