"""Authenticated WebSocket sessions: the token battery at ``$connect``, anonymous connections and per-role limits.

The handlers run as the local gateway runs them (and as API Gateway invokes ``$connect``): a refused
``$connect`` closes the socket before it opens.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import jwt
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from stockscreen.accounts import settings as account_settings
from stockscreen.accounts import tokens
from stockscreen.accounts.revocations import RedisSessionDenylist
from stockscreen.core import policy
from stockscreen.core.errors import Invalid
from stockscreen.realtime.broadcaster import Broadcaster
from stockscreen.realtime.connections import ConnectionRegistry
from stockscreen.realtime.messages import AlertMessage
from stockscreen.realtime.sessions import close_sessions
from tests.integration.wskit import (
    Server,
    management_client,
    only_connection,
    recv_json,
    reset_ws_clients,
    wait_for,
)

KEY = secrets.token_bytes(32)


@pytest.fixture
def ring(monkeypatch: pytest.MonkeyPatch, ws_env: str) -> Iterator[None]:
    monkeypatch.setenv("JWT_SECRET_ARN", "arn:test")
    account_settings.api_settings.cache_clear()
    tokens.verified_tokens.clear()
    monkeypatch.setattr(tokens.keyring, "get", lambda **_: tokens.KeyRing(current_kid="k1", keys={"k1": KEY}))
    yield
    account_settings.api_settings.cache_clear()
    tokens.verified_tokens.clear()


def _claims(**over: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    base = {
        "iss": "stockscreen",
        "aud": "stockscreen-api",
        "sub": "u-42",
        "role": "premium",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": secrets.token_hex(8),
    }
    base.update(over)
    return base


def _event(connection_id: str, token: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {"requestContext": {"connectionId": connection_id, "routeKey": "$connect"}}
    if token is not None:
        event["queryStringParameters"] = {"access_token": token}
    return event


def test_no_token_is_an_anonymous_connection_with_the_anonymous_limit(ring: None, ws_handlers: ModuleType) -> None:
    assert ws_handlers.connect(_event("anon-1", None), None) == {"statusCode": 200}
    registry = ConnectionRegistry()
    conn = registry.connection("anon-1")
    assert conn is not None and conn["user_id"] == "" and conn["role"] == policy.ANONYMOUS
    limit = policy.WS_SUBSCRIPTIONS[policy.ANONYMOUS]
    registry.subscribe("anon-1", [f"S{i}" for i in range(limit)])
    with pytest.raises(Invalid, match=f"at most {limit} symbols"):
        registry.subscribe("anon-1", ["ONE.MORE"])


@pytest.mark.parametrize("role", ["free", "premium", "admin"])
def test_a_valid_token_names_the_user_and_sets_the_role_limit(ring: None, ws_handlers: ModuleType, role: str) -> None:
    token, _ = tokens.issue_access_token(f"user-{role}", role)
    cid = f"c-{role}"
    assert ws_handlers.connect(_event(cid, token), None) == {"statusCode": 200}
    registry = ConnectionRegistry()
    assert registry.user_id(cid) == f"user-{role}" and registry.connections_of(f"user-{role}") == {cid}
    limit = policy.WS_SUBSCRIPTIONS[role]
    assert limit > policy.WS_SUBSCRIPTIONS[policy.ANONYMOUS]  # signed-in connections may follow more
    registry.subscribe(cid, [f"S{i}" for i in range(limit)])
    with pytest.raises(Invalid, match=f"at most {limit} symbols"):
        registry.subscribe(cid, ["ONE.MORE"])


def _forged() -> list[tuple[str, str]]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    other = secrets.token_bytes(32)
    return [
        ("expired", jwt.encode(_claims(exp=now - 60, iat=now - 400, nbf=now - 400), KEY, headers={"kid": "k1"})),
        ("not yet valid", jwt.encode(_claims(nbf=now + 600), KEY, headers={"kid": "k1"})),
        ("signed with another key", jwt.encode(_claims(), other, headers={"kid": "k1"})),
        ("unknown kid", jwt.encode(_claims(), KEY, headers={"kid": "k9"})),
        ("no kid", jwt.encode(_claims(), KEY)),
        ("alg none", jwt.encode(_claims(), None, algorithm="none", headers={"kid": "k1"})),
        ("another audience", jwt.encode(_claims(aud="someone-else"), KEY, headers={"kid": "k1"})),
        ("another issuer", jwt.encode(_claims(iss="evil"), KEY, headers={"kid": "k1"})),
        ("no subject", jwt.encode({k: v for k, v in _claims().items() if k != "sub"}, KEY, headers={"kid": "k1"})),
        ("unknown role", jwt.encode(_claims(role="root"), KEY, headers={"kid": "k1"})),
        ("garbage", "not.a.token"),
        ("a refresh token (opaque, never an access token)", secrets.token_urlsafe(32)),
        ("an API key", "ssk_" + secrets.token_urlsafe(24)),
        ("tampered payload", _tampered()),
    ]


def _tampered() -> str:
    head, _, sig = jwt.encode(_claims(role="free"), KEY, headers={"kid": "k1"}).split(".")
    payload = jwt.utils.base64url_encode(json.dumps(_claims(role="admin")).encode()).decode()
    return f"{head}.{payload}.{sig}"


@pytest.mark.parametrize(("case", "token"), _forged(), ids=[c for c, _ in _forged()])
def test_bad_tokens_are_refused_at_connect_and_never_registered(
    ring: None, ws_handlers: ModuleType, case: str, token: str
) -> None:
    resp = ws_handlers.connect(_event("bad-1", token), None)
    assert resp["statusCode"] == 401, case
    assert json.loads(resp["body"])["error"]["code"] == "unauthorized"
    assert ConnectionRegistry().connection("bad-1") is None


def test_through_the_local_gateway_a_bad_token_never_opens_and_a_good_one_gets_the_user_channel(
    ring: None, server: Server
) -> None:
    token, _ = tokens.issue_access_token("u-7", "free")
    expired = jwt.encode(_claims(sub="u-7", exp=1, iat=0, nbf=0), KEY, headers={"kid": "k1"})

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(f"{server.ws_url}?access_token={expired}"):
                pass
        # API Gateway answers 401 when the REQUEST authorizer raises "Unauthorized"; so does the local gateway
        assert refused.value.response.status_code == 401
        assert server.gateway.connections == {}

        async with websockets.connect(f"{server.ws_url}?access_token={token}") as ws:
            cid = await only_connection(server)
            registry = ConnectionRegistry()
            assert registry.connections_of("u-7") == {cid}
            pushed = AlertMessage(
                alert_id="a-1", symbol="AAPL", message="AAPL above 200", triggered_at=dt.datetime.now(dt.UTC)
            )
            reached = await asyncio.to_thread(
                lambda: Broadcaster(management_client(server), registry).push_to_user("u-7", pushed)
            )
            assert reached == 1
            got = await recv_json(ws)
            assert got["type"] == "alert" and got["alert_id"] == "a-1"

    asyncio.run(scenario())


METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/ws/$connect"


def _authorizer_event(token: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "headers": {"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "auth-1"},
    }
    if token is not None:
        event["queryStringParameters"] = {"access_token": token}
    return event


def test_the_request_authorizer_allows_users_and_anonymous_and_passes_who_on(
    ring: None, ws_handlers: ModuleType
) -> None:
    token, _ = tokens.issue_access_token("u-9", "premium")
    allowed = ws_handlers.authorize(_authorizer_event(token), None)
    (statement,) = allowed["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}
    assert allowed["principalId"] == "u-9"
    assert allowed["context"] == {"userId": "u-9", "role": "premium", "sessionId": ""}
    anonymous = ws_handlers.authorize(_authorizer_event(None), None)
    assert anonymous["principalId"] == "anonymous"
    assert anonymous["context"] == {"userId": "", "role": "anonymous", "sessionId": ""}

    # $connect then trusts what API Gateway put in requestContext.authorizer (no second verification)
    for ctx, cid, user, role in (
        (allowed["context"], "via-auth-1", "u-9", "premium"),
        (anonymous["context"], "via-auth-2", None, "anonymous"),
    ):
        event = _event(cid, None)
        event["requestContext"]["authorizer"] = {**ctx, "principalId": allowed["principalId"]}
        assert ws_handlers.connect(event, None) == {"statusCode": 200}
        conn = ConnectionRegistry().connection(cid)
        assert conn is not None and (conn["user_id"] or None) == user and conn["role"] == role


@pytest.mark.parametrize(("case", "token"), _forged(), ids=[c for c, _ in _forged()])
def test_the_request_authorizer_denies_bad_tokens_with_unauthorized(
    ring: None, ws_handlers: ModuleType, case: str, token: str
) -> None:
    with pytest.raises(ws_handlers.AuthorizerDenied, match=r"^Unauthorized$"):
        ws_handlers.authorize(_authorizer_event(token), None)


# -- signed-out sessions ------------------------------------------------------------------------------


def test_a_signed_out_session_is_refused_by_the_authorizer_and_at_connect(ring: None, ws_handlers: ModuleType) -> None:
    signed_out, still_in = str(uuid.uuid4()), str(uuid.uuid4())
    revoked, _ = tokens.issue_access_token("u-5", "free", session_id=signed_out)
    other, _ = tokens.issue_access_token("u-5", "free", session_id=still_in)
    # before the sign-out the session connects, and the registry knows which session each connection is
    allowed = ws_handlers.authorize(_authorizer_event(revoked), None)
    assert allowed["context"] == {"userId": "u-5", "role": "free", "sessionId": signed_out}
    event = _event("via-auth-5", None)
    event["requestContext"]["authorizer"] = {**allowed["context"], "principalId": "u-5"}
    assert ws_handlers.connect(event, None) == {"statusCode": 200}
    assert ConnectionRegistry().connections_of_session(signed_out) == {"via-auth-5"}

    RedisSessionDenylist().revoke([signed_out])  # what signing out writes (accounts.revocations)
    with pytest.raises(ws_handlers.AuthorizerDenied, match=r"^Unauthorized$"):
        ws_handlers.authorize(_authorizer_event(revoked), None)
    resp = ws_handlers.connect(_event("revoked-1", revoked), None)  # the handler's own check (no authorizer)
    assert resp["statusCode"] == 401 and json.loads(resp["body"])["error"]["code"] == "unauthorized"
    assert ConnectionRegistry().connection("revoked-1") is None
    # another session of the same user is not affected
    assert ws_handlers.authorize(_authorizer_event(other), None)["context"]["sessionId"] == still_in
    assert ws_handlers.connect(_event("other-1", other), None) == {"statusCode": 200}


def test_through_the_local_gateway_a_signed_out_session_is_refused_and_its_open_sockets_closed(
    ring: None, server: Server
) -> None:
    sid, kept = str(uuid.uuid4()), str(uuid.uuid4())
    token, _ = tokens.issue_access_token("u-8", "premium", session_id=sid)
    other, _ = tokens.issue_access_token("u-8", "premium", session_id=kept)

    async def scenario() -> None:
        async with (
            websockets.connect(f"{server.ws_url}?access_token={token}") as ws,
            websockets.connect(f"{server.ws_url}?access_token={other}") as ws_other,
        ):
            await wait_for(lambda: len(server.gateway.connections) == 2)
            registry = ConnectionRegistry()
            (cid,) = registry.connections_of_session(sid)
            broadcaster = Broadcaster(management_client(server), registry)
            # the session is signed out: the denylist, then its sockets closed (what the API does)
            RedisSessionDenylist().revoke([sid])
            closed = await asyncio.to_thread(close_sessions, [sid], broadcaster)
            assert closed == 1
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1000
            await wait_for(lambda: cid not in server.gateway.connections)
            assert registry.connection(cid) is None and registry.connections_of_session(sid) == set()
            # pushes to the user reach the other session only
            pushed = AlertMessage(
                alert_id="a-2", symbol="MSFT", message="MSFT up", triggered_at=dt.datetime.now(dt.UTC)
            )
            assert await asyncio.to_thread(broadcaster.push_to_user, "u-8", pushed) == 1
            assert (await recv_json(ws_other))["alert_id"] == "a-2"
            # and the signed-out token never opens a socket again (the authorizer's 401)
            with pytest.raises(InvalidStatus) as refused:
                async with websockets.connect(f"{server.ws_url}?access_token={token}"):
                    pass
            assert refused.value.response.status_code == 401

    asyncio.run(scenario())


def test_closing_a_session_without_open_sockets_or_without_a_websocket_api_is_a_no_op(
    ring: None, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    broadcaster = Broadcaster(management_client(server), ConnectionRegistry())
    assert close_sessions([str(uuid.uuid4())], broadcaster) == 0
    assert close_sessions([], broadcaster) == 0
    monkeypatch.delenv("WS_MANAGEMENT_URL")
    reset_ws_clients()
    assert close_sessions([str(uuid.uuid4())]) == 0


def test_a_token_is_refused_with_503_when_neither_redis_nor_the_database_can_check_its_session(
    ring: None, ws_handlers: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = tokens.issue_access_token("u-6", "free", session_id=str(uuid.uuid4()))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    reset_ws_clients()
    resp = ws_handlers.connect(_event("unsure-1", token), None)
    assert resp["statusCode"] == 503 and json.loads(resp["body"])["error"]["code"] == "unavailable"
    with pytest.raises(Exception) as denied:  # the authorizer fails: API Gateway answers 500, never lets it in
        ws_handlers.authorize(_authorizer_event(token), None)
    assert not isinstance(denied.value, ws_handlers.AuthorizerDenied)
