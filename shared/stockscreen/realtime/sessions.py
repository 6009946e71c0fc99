"""Who is on a WebSocket connection: the access token checked once, at ``$connect``.

The browser passes its access token as the query parameter ``access_token`` of the WebSocket URL
(``wss://host/ws?access_token=...``): a browser cannot set an ``Authorization`` header on a
WebSocket upgrade, and the alternative, smuggling the token in ``Sec-WebSocket-Protocol``, obliges
every hop (API Gateway's ``$connect`` response, the local gateway) to echo a subprotocol or the
browser drops the socket. The cost of the query string is that URLs get logged: the token is a
short-lived access token (never the refresh token), and neither CloudFront nor the WebSocket stage
has access logging on.

On AWS a Lambda REQUEST authorizer on ``$connect`` (:func:`authorizer_response`) checks the token before
the connection exists and hands ``userId``/``role`` to the ``$connect`` handler in
``requestContext.authorizer``; the local gateway has no authorizer, so there the ``$connect`` handler checks
the token itself (:func:`principal_of_connect` does whichever applies: one rule, one code path).

No token: an anonymous connection (public quotes, the lowest subscription limit in
``core.policy.WS_SUBSCRIPTIONS``). A token that is expired, forged, of another audience or
unreadable refuses the connection (``Unauthorized``, 401); the identity is fixed for the connection's
life, so a bad token is never accepted later either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stockscreen.core import policy
from stockscreen.core.errors import Unauthorized

TOKEN_PARAM = "access_token"  # noqa: S105 (a parameter name)


@dataclass(frozen=True)
class ConnectPrincipal:
    user_id: str | None
    role: str

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def subscription_limit(self) -> int:
        return policy.ws_subscription_limit(self.role)


ANONYMOUS = ConnectPrincipal(None, policy.ANONYMOUS)


def token_of(event: dict[str, Any]) -> str | None:
    """The access token of a ``$connect`` event (query parameter ``access_token``), if any."""
    params = event.get("queryStringParameters") or {}
    token = params.get(TOKEN_PARAM)
    return token if isinstance(token, str) and token else None


def authenticate(token: str | None) -> ConnectPrincipal:
    """Anonymous without a token; the token's user and role when it verifies; else ``Unauthorized``."""
    if token is None:
        return ANONYMOUS
    from stockscreen.accounts.tokens import decode_access_token

    claims = decode_access_token(token)
    if claims.role not in policy.ROLES:
        raise Unauthorized("invalid or expired access token")
    return ConnectPrincipal(claims.user_id, claims.role)


def principal_of_connect(event: dict[str, Any]) -> ConnectPrincipal:
    """Who opens this connection: what the REQUEST authorizer decided (``requestContext.authorizer``, which only
    API Gateway fills in), else the token checked here; raises ``Unauthorized`` for a bad token."""
    decided = (event.get("requestContext") or {}).get("authorizer") or {}
    role = decided.get("role")
    if isinstance(role, str) and (role in policy.ROLES or role == policy.ANONYMOUS):
        user = decided.get("userId")
        return ConnectPrincipal(str(user) if user and role != policy.ANONYMOUS else None, role)
    return authenticate(token_of(event))


def authorizer_response(event: dict[str, Any]) -> dict[str, Any]:
    """The REQUEST authorizer's answer for a ``$connect``: allow it (anonymous or the token's user, passed on as
    context ``userId``/``role``); raises ``Unauthorized`` for a bad token (the handler answers API Gateway's 401)."""
    principal = authenticate(token_of(event))
    return {
        "principalId": principal.user_id or policy.ANONYMOUS,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}],
        },
        "context": {"userId": principal.user_id or "", "role": principal.role},
    }
