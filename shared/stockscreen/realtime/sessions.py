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

Signed-out sessions: a token whose session (claim ``sid``) has been revoked (sign-out, password change,
account disabled, a replayed refresh token) is refused too, by one Redis ``EXISTS`` on the denylist
(:func:`stockscreen.accounts.revocations.session_revoked`; the database answers when Redis cannot). The
registry records each connection's session, and revoking a session closes its open connections
(:func:`close_sessions`, called by the API once the revocation is committed): its pushes stop at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stockscreen.core import policy
from stockscreen.core.errors import Unauthorized

if TYPE_CHECKING:
    from stockscreen.realtime.broadcaster import Broadcaster

log = logging.getLogger(__name__)

TOKEN_PARAM = "access_token"  # noqa: S105 (a parameter name)


@dataclass(frozen=True)
class ConnectPrincipal:
    user_id: str | None
    role: str
    #: the access token's session (``sid``): the registry closes the connection when it is signed out
    session_id: str | None = None

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
    """Anonymous without a token; the token's user and role when it verifies and its session has not been
    signed out; else ``Unauthorized``."""
    if token is None:
        return ANONYMOUS
    from stockscreen.accounts.revocations import session_revoked
    from stockscreen.accounts.tokens import INVALID_TOKEN, decode_access_token

    claims = decode_access_token(token)
    if claims.role not in policy.ROLES or session_revoked(claims.session_id):
        raise Unauthorized(INVALID_TOKEN)
    return ConnectPrincipal(claims.user_id, claims.role, claims.session_id)


def principal_of_connect(event: dict[str, Any]) -> ConnectPrincipal:
    """Who opens this connection: what the REQUEST authorizer decided (``requestContext.authorizer``, which only
    API Gateway fills in), else the token checked here; raises ``Unauthorized`` for a bad token."""
    decided = (event.get("requestContext") or {}).get("authorizer") or {}
    role = decided.get("role")
    if isinstance(role, str) and (role in policy.ROLES or role == policy.ANONYMOUS):
        user = decided.get("userId") if role != policy.ANONYMOUS else None
        session = decided.get("sessionId") if user else None
        return ConnectPrincipal(str(user) if user else None, role, str(session) if session else None)
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
        "context": {"userId": principal.user_id or "", "role": principal.role, "sessionId": principal.session_id or ""},
    }


def close_sessions(session_ids: Iterable[str], broadcaster: Broadcaster | None = None) -> int:
    """Close every open connection of these (just revoked) sessions; returns how many were open. Without a
    WebSocket API configured (``WS_MANAGEMENT_URL`` unset: an API without live prices) there is nothing to do."""
    sids = sorted(set(session_ids))
    if not sids:
        return 0
    if broadcaster is None:
        from pydantic import ValidationError

        from stockscreen.realtime.broadcaster import Broadcaster

        try:
            broadcaster = Broadcaster.from_settings()
        except ValidationError:
            log.info("no WebSocket API configured: no connections to close")
            return 0
    registry = broadcaster.registry
    ids = {cid for sid in sids for cid in registry.connections_of_session(sid)}
    closed = broadcaster.close(ids)
    log.info("closed %d connection(s) of %d revoked session(s)", closed, len(sids))
    return closed
