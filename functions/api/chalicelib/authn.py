"""Who is calling: bearer tokens and API keys resolved to a Principal, held for the current request."""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any

from chalice.app import Request

from stockscreen.core.errors import Unauthorized
from stockscreen.core.policy import ANONYMOUS

if TYPE_CHECKING:
    from stockscreen.accounts.service import AuthService, Principal
    from stockscreen.core.audit import Origin

_current: ContextVar[Principal | None] = ContextVar("stockscreen_principal", default=None)


@cache
def auth_service() -> AuthService:
    from stockscreen.accounts.service import AuthService

    # no engine: verifying a caller reads its account with psycopg alone; SQLAlchemy waits for a transaction
    return AuthService.from_engine(notify=_notify_owner, on_revoked=close_sockets)


def close_sockets(session_ids: list[str]) -> object:
    """How accounts reach live prices (features do not drive each other): a revoked session's open WebSockets
    are closed, so its pushes stop (``stockscreen.realtime.sessions.close_sessions``)."""
    from stockscreen.realtime.sessions import close_sessions

    return close_sessions(session_ids)


def _notify_owner(user_id: str, kind: str, title: str, body: str | None, data: dict[str, Any]) -> object:
    """How accounts reach the notifications feature (features do not import each other): one in-app notice."""
    from chalicelib.common import notifications

    return notifications().notify(user_id, kind, title, body, data)


def header(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    return str(value) if value is not None else None


def source_ip(request: Request | None) -> str | None:
    if request is None:
        return None
    identity: dict[str, Any] = request.context.get("identity") or {}
    ip = identity.get("sourceIp")
    return str(ip) if ip else None


def origin_of(request: Request | None) -> Origin:
    from stockscreen.core.audit import Origin

    if request is None:
        return Origin()
    return Origin(
        ip=source_ip(request),
        user_agent=header(request, "user-agent"),
        request_id=str(request.context.get("requestId") or "") or None,
    )


def authenticate(request: Request, *, read_only: bool) -> Principal | None:
    """The caller, from ``Authorization: Bearer`` or ``X-API-Key``; None when neither is sent.

    Credentials that are sent but invalid are always a 401, even on routes open to anonymous callers.
    """
    authz = header(request, "authorization")
    api_key = header(request, "x-api-key")
    if authz is not None:
        scheme, _, token = authz.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <access token>'")
        return auth_service().principal_from_token(token.strip())
    if api_key is not None:
        if not read_only:
            raise Unauthorized("API keys are accepted on read (GET) routes only; sign in for this route")
        return auth_service().principal_from_api_key(api_key.strip())
    return None


def set_principal(p: Principal | None) -> None:
    _current.set(p)


def current() -> Principal | None:
    return _current.get()


def principal() -> Principal:
    """The signed-in caller (routes declared ``auth="required"`` always have one)."""
    p = _current.get()
    if p is None:
        raise Unauthorized("sign in to use this route")
    return p


def role_of(p: Principal | None) -> str:
    return p.role if p is not None else ANONYMOUS
