"""The DynamoDB connection registry (moto's server, the table ``localstack/bootstrap.py`` creates) and the
fan-out through the local gateway with it: Query-only reads, TTLs, limits and ``GoneException`` pruning."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
import websockets

from stockscreen.core import policy
from stockscreen.core.errors import Invalid
from stockscreen.realtime import Quote, put_quotes
from stockscreen.realtime.connections import connection_registry
from stockscreen.realtime.dynamo import CONNECTION_MAX_SECONDS, TTL_MARGIN_SECONDS, DynamoConnectionRegistry
from tests.integration.wskit import Server, only_connection, recv_json, reset_ws_clients

TS = datetime(2024, 1, 2, 15, 30, tzinfo=UTC)


@pytest.fixture
def dynamo_env(monkeypatch: pytest.MonkeyPatch, stack_env: dict[str, str], server: Server) -> Iterator[dict[str, str]]:
    """The local stack's environment (moto, its connections table) with the test gateway's @connections URL."""
    monkeypatch.setenv("WS_MANAGEMENT_URL", server.url)
    for key, value in stack_env.items():
        monkeypatch.setenv(key, value)
    reset_ws_clients()
    yield stack_env
    reset_ws_clients()
    _empty_table(stack_env)  # leave no subscriptions behind: other tests read the registry's demand


def _empty_table(env: dict[str, str]) -> None:
    client = _ddb(env)
    for page in client.get_paginator("scan").paginate(
        TableName=env["CONNECTIONS_TABLE"], ProjectionExpression="pk, sk"
    ):
        for item in page["Items"]:
            client.delete_item(TableName=env["CONNECTIONS_TABLE"], Key={"pk": item["pk"], "sk": item["sk"]})


def _ddb(env: dict[str, str]) -> Any:
    return boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1")


def _recording_registry(env: dict[str, str]) -> tuple[DynamoConnectionRegistry, list[str]]:
    """A registry whose client records every DynamoDB operation it sends."""
    client = _ddb(env)
    ops: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: ops.append(model.name))
    return DynamoConnectionRegistry(env["CONNECTIONS_TABLE"], client), ops


def _ids(n: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"{tag}-{i}" for i in range(n)]


def _sym() -> str:
    return f"Z{uuid.uuid4().hex[:6].upper()}"


def test_the_factory_picks_dynamodb_when_the_table_is_configured(dynamo_env: dict[str, str]) -> None:
    assert isinstance(connection_registry(), DynamoConnectionRegistry)


def test_register_subscribe_lookup_and_cleanup_are_queries_never_scans(dynamo_env: dict[str, str]) -> None:
    registry, ops = _recording_registry(dynamo_env)
    a, b, c = _ids(3)
    s1, s2, s3 = _sym(), _sym(), _sym()
    before = int(time.time())
    registry.register(a, "user-a", "free")
    registry.register(b, "user-a", "premium")
    registry.register(c)
    assert registry.subscribe(a, [s1.lower(), s2]) == [s1, s2]
    registry.subscribe(b, [s1])
    registry.subscribe(c, [s3])
    registry.subscribe(a, [s1])  # again: no double count

    assert registry.subscribers(s1) == {a, b} and registry.subscribers(s2) == {a}
    assert registry.subscribers_of([s1, s2, s3]) == {s1: {a, b}, s2: {a}, s3: {c}}
    assert registry.subscriptions(a) == {s1, s2}
    assert registry.connections_of("user-a") == {a, b}
    assert {s1, s2, s3} <= registry.subscribed_symbols()
    conn = registry.connection(a)
    assert conn is not None and conn["user_id"] == "user-a" and conn["role"] == "free"
    assert registry.user_id(c) is None

    # every item carries the TTL: the connection's start + API Gateway's 2 hours + the margin
    items = _ddb(dynamo_env).query(
        TableName=dynamo_env["CONNECTIONS_TABLE"],
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"SYM#{s1}"}},
    )["Items"]
    ttl = CONNECTION_MAX_SECONDS + TTL_MARGIN_SECONDS
    assert items and all(before + ttl <= int(i["expires_at"]["N"]) <= int(time.time()) + ttl for i in items)
    ttl_desc = _ddb(dynamo_env).describe_time_to_live(TableName=dynamo_env["CONNECTIONS_TABLE"])
    assert ttl_desc["TimeToLiveDescription"]["AttributeName"] == "expires_at"

    assert registry.unsubscribe(a, [s2, "NOT.FOLLOWED"]) == [s2, "NOT.FOLLOWED"]
    assert registry.subscribers(s2) == set() and s2 not in registry.subscribed_symbols()
    assert registry.unregister(a) == [s1]
    assert registry.subscribers(s1) == {b} and registry.connection(a) is None
    assert registry.connections_of("user-a") == {b}
    assert s1 in registry.subscribed_symbols()  # b still follows it
    registry.unregister(b)
    registry.unregister(c)
    assert not {s1, s2, s3} & registry.subscribed_symbols()
    assert "Scan" not in ops and "Query" in ops


def test_open_connections_follow_register_and_unregister_with_a_counter_not_a_scan(
    dynamo_env: dict[str, str],
) -> None:
    registry, ops = _recording_registry(dynamo_env)
    start = registry.open_connections()
    a, b = _ids(2)
    registry.register(a, "user-a", "free")
    registry.register(b)
    assert registry.open_connections() == start + 2
    registry.unregister(a)
    registry.unregister(a)  # a second $disconnect (or a prune after one) counts once
    assert registry.open_connections() == start + 1
    registry.unregister(b)
    assert registry.open_connections() == start
    assert "Scan" not in ops and "GetItem" in ops


def test_limits_per_role_hold_on_dynamodb(dynamo_env: dict[str, str]) -> None:
    registry, _ = _recording_registry(dynamo_env)
    (anon,) = _ids(1)
    registry.register(anon, None, policy.ANONYMOUS)
    limit = policy.WS_SUBSCRIPTIONS[policy.ANONYMOUS]
    registry.subscribe(anon, [f"L{i}" for i in range(limit)])
    with pytest.raises(Invalid, match=f"at most {limit} symbols"):
        registry.subscribe(anon, ["ONE.MORE"])
    assert len(registry.subscriptions(anon)) == limit
    registry.unregister(anon)


def test_expired_items_are_not_read_before_the_ttl_sweep(dynamo_env: dict[str, str]) -> None:
    """DynamoDB deletes expired items up to days late: the registry skips them itself."""
    clock = [time.time()]
    table = dynamo_env["CONNECTIONS_TABLE"]
    registry = DynamoConnectionRegistry(table, _ddb(dynamo_env), clock=lambda: clock[0])
    (old,) = _ids(1)
    sym = _sym()
    registry.register(old, "user-old")
    registry.subscribe(old, [sym])
    assert registry.subscribers(sym) == {old}
    clock[0] += CONNECTION_MAX_SECONDS + TTL_MARGIN_SECONDS + 1  # its $disconnect never ran
    assert registry.subscribers(sym) == set()
    assert registry.connection(old) is None and registry.connections_of("user-old") == set()


def test_gone_connections_are_removed_when_a_post_answers_410(
    dynamo_env: dict[str, str], server: Server, ws_handlers: ModuleType
) -> None:
    """A connection the registry still lists but the gateway no longer has (its $disconnect was lost): the post
    answers 410 GoneException and the broadcast forgets it, subscriptions and user channel included."""
    registry = connection_registry()
    sym = _sym()
    phantom = "L0SM9cOFvHcCIhw="
    registry.register(phantom, "ghost-user")
    registry.subscribe(phantom, [sym])
    put_quotes([Quote(symbol=sym, price=42.5, ts=TS)])

    async def scenario() -> str:
        async with websockets.connect(server.ws_url) as ws:
            cid = await only_connection(server)
            await ws.send(json.dumps({"action": "subscribe", "symbols": [sym]}))
            assert await recv_json(ws) == {"type": "subscribed", "symbols": [sym]}
            assert (await recv_json(ws))["price"] == 42.5  # the stored quote
            put_quotes([Quote(symbol=sym, price=43.0, ts=TS)])
            result = await asyncio.to_thread(ws_handlers.broadcast, {"detail": {"symbols": [sym]}}, None)
            assert result == {"symbols": 1, "quotes": 1, "delivered": 1}
            assert (await recv_json(ws))["price"] == 43.0
            assert registry.subscribers(sym) == {cid}  # the phantom is gone
            assert registry.connection(phantom) is None
            assert registry.connections_of("ghost-user") == set()
            return cid

    cid = asyncio.run(scenario())
    deadline = time.monotonic() + 5
    while registry.connection(cid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert registry.connection(cid) is None and sym not in registry.subscribed_symbols()  # $disconnect cleaned up
