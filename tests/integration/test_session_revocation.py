"""Signing out ends the session everywhere: the HTTP API refuses its access token, the WebSocket ``$connect``
refuses it (the Redis denylist, the database when Redis is down), and its open sockets are closed.

The real API (``chalice.test.Client``) on the local stack, and the local WebSocket gateway over the real
``functions/ws`` handlers, in one process: the API's sign-out closes the gateway's sockets through the
``@connections`` API, as on AWS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import websockets
from chalice.test import Client
from websockets.exceptions import InvalidStatus

from stockscreen.accounts.revocations import RedisSessionDenylist, denylist_key, session_revoked
from stockscreen.accounts.tokens import decode_access_token
from stockscreen.core import resp
from tests.integration.authkit import PASSWORD, User, assert_error, body, make_user, post
from tests.integration.wskit import Server, recv_json, reset_ws_clients, wait_for

pytestmark = pytest.mark.usefixtures("fresh_limits")


@pytest.fixture
def live(stack_env: dict[str, str], server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The API and the WebSocket functions share the stack's environment, with the gateway's @connections URL."""
    monkeypatch.setenv("WS_MANAGEMENT_URL", server.url)
    reset_ws_clients()
    yield server
    reset_ws_clients()


def _sid(token: str) -> str:
    sid = decode_access_token(token).session_id
    assert sid is not None
    return sid


def _user_with_two_sessions(client: Client, stack_env: dict[str, str]) -> tuple[User, str]:
    """A user signed in twice (two devices): the user and the second session's access token."""
    u = make_user(client, stack_env["DATABASE_URL"])
    return u, body(post(client, "/auth/login", {"email": u.email, "password": PASSWORD}))["access_token"]


async def _connect(server: Server, token: str) -> Any:
    return await websockets.connect(f"{server.ws_url}?access_token={token}")


def test_signing_out_closes_the_sessions_sockets_and_refuses_its_token_at_connect(
    client: Client, stack_env: dict[str, str], live: Server
) -> None:
    u, other_token = _user_with_two_sessions(client, stack_env)

    async def scenario() -> None:
        before = set(live.gateway.connections)
        ws = await _connect(live, u.token)
        ws_other = await _connect(live, other_token)
        try:
            await wait_for(lambda: len(set(live.gateway.connections) - before) == 2)
            resp = await asyncio.to_thread(post, client, "/auth/logout", b"", {"Cookie": u.cookie, **u.auth})
            assert resp.status_code == 204
            # the signed-out session's socket is closed by the sign-out itself: its pushes stop
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1000
            # the other device's socket stays open and answers
            await ws_other.send('{"action": "ping"}')
            assert (await recv_json(ws_other))["type"] == "pong"
            # a new socket with the signed-out token is refused by the authorizer
            with pytest.raises(InvalidStatus) as refused:
                await _connect(live, u.token)
            assert refused.value.response.status_code == 401
        finally:
            await ws.close()
            await ws_other.close()

    asyncio.run(scenario())
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    ttl = r.ttl(denylist_key(_sid(u.token)))
    assert 0 < ttl <= 3600 + 5  # until the session's last access token has expired
    assert_error(client.http.get("/me", headers=u.auth), 401, "unauthorized")


def test_a_password_change_closes_every_socket_of_the_user(
    client: Client, stack_env: dict[str, str], live: Server
) -> None:
    u, other_token = _user_with_two_sessions(client, stack_env)

    async def scenario() -> None:
        before = set(live.gateway.connections)
        sockets = [await _connect(live, u.token), await _connect(live, other_token)]
        try:
            await wait_for(lambda: len(set(live.gateway.connections) - before) == 2)
            change = {"current_password": PASSWORD, "new_password": "a much better passphrase"}
            resp = await asyncio.to_thread(post, client, "/me/password", change, u.auth)
            assert resp.status_code == 204, resp.body
            for ws in sockets:
                await asyncio.wait_for(ws.wait_closed(), 5)
            for token in (u.token, other_token):
                with pytest.raises(InvalidStatus):
                    await _connect(live, token)
        finally:
            for ws in sockets:
                await ws.close()

    asyncio.run(scenario())


def test_with_redis_down_the_connect_check_asks_the_database(client: Client, stack_env: dict[str, str]) -> None:
    u, other_token = _user_with_two_sessions(client, stack_env)
    assert post(client, "/auth/logout", b"", {"Cookie": u.cookie, **u.auth}).status_code == 204
    down = RedisSessionDenylist(
        resp.Redis.from_url("redis://127.0.0.1:1", connect_timeout_s=0.5)
    )  # nothing listens there
    with pytest.raises(resp.RedisError):
        down.revoked(_sid(u.token))
    assert session_revoked(_sid(u.token), down) is True  # answered by refresh_tokens.revoked_at
    assert session_revoked(_sid(other_token), down) is False
    assert session_revoked("not-a-session-id", down) is False
    assert session_revoked(None, down) is False
    # a denylist write while Redis is down is logged, and the sign-out still succeeds
    down.revoke([_sid(other_token)])
