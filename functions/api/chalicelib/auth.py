"""Accounts: register, login, refresh (rotating cookie), logout, /me, password change, API keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from chalicelib.authn import auth_service, header, origin_of, principal
from chalicelib.http import json_body, query, route
from chalicelib.lazy import LazyModule
from stockscreen.core.errors import Unauthorized

if TYPE_CHECKING:
    from chalicelib.schemas import auth as schema
    from stockscreen.accounts.service import Session
else:
    schema = LazyModule("chalicelib.schemas.auth")

bp = Blueprint(__name__)

REFRESH_COOKIE = "refresh_token"
COOKIE_PATH = "/api/auth"


def _cookie(value: str, max_age: int) -> str:
    return f"{REFRESH_COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"


def _session_response(session: Session, status: int = 200) -> Response:
    from stockscreen.accounts.settings import api_settings

    body = schema.TokenPublic(access_token=session.access_token, expires_in=session.expires_in, user=session.user)  # type: ignore[arg-type]
    return Response(
        body=body.model_dump(),
        status_code=status,
        headers={
            "Content-Type": "application/json",
            "Set-Cookie": _cookie(session.refresh_token, api_settings().refresh_token_ttl_s),
            "Cache-Control": "no-store",
        },
    )


def _refresh_cookie() -> str | None:
    raw = header(bp.current_request, "cookie") or ""
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == REFRESH_COOKIE and value:
            return value
    return None


@route(
    bp,
    "/auth/register",
    methods=["POST"],
    auth="none",
    body=lambda: schema.RegisterBody,
    response=lambda: schema.TokenPublic,
    status=201,
)
def register() -> Response:
    """Create an account (free plan) and sign in."""
    b = json_body(bp.current_request, schema.RegisterBody)
    session = auth_service().register(str(b.email), b.password, b.display_name, origin_of(bp.current_request))
    return _session_response(session, 201)


@route(
    bp,
    "/auth/login",
    methods=["POST"],
    auth="none",
    body=lambda: schema.LoginBody,
    response=lambda: schema.TokenPublic,
    errors=(401,),
)
def login() -> Response:
    """Sign in with email and password; sets the refresh-token cookie."""
    b = json_body(bp.current_request, schema.LoginBody)
    return _session_response(auth_service().login(b.email, b.password, origin_of(bp.current_request)))


@route(bp, "/auth/refresh", methods=["POST"], auth="none", response=lambda: schema.TokenPublic, errors=(401,))
def refresh() -> Response:
    """Exchange the refresh-token cookie for a new access token; the cookie is rotated."""
    token = _refresh_cookie()
    if token is None:
        raise Unauthorized("no refresh token cookie")
    return _session_response(auth_service().refresh(token, origin_of(bp.current_request)))


@route(bp, "/auth/logout", methods=["POST"], auth="optional", status=204)
def logout() -> Response:
    """Revoke this session's refresh tokens and clear the cookie."""
    from chalicelib.authn import current

    auth_service().logout(_refresh_cookie(), current(), origin_of(bp.current_request))
    return Response(body="", status_code=204, headers={"Set-Cookie": _cookie("", 0)})


@route(bp, "/me", methods=["GET"], auth="required", feature="account", response=lambda: schema.UserPublic)
def me() -> dict[str, Any]:
    """The signed-in user."""
    return auth_service().me(principal().user_id)


@route(
    bp,
    "/me",
    methods=["PATCH"],
    auth="required",
    feature="account",
    body=lambda: schema.MeUpdate,
    response=lambda: schema.UserPublic,
)
def update_me() -> dict[str, Any]:
    """Update the signed-in user's profile."""
    b = json_body(bp.current_request, schema.MeUpdate)
    return auth_service().update_me(principal().user_id, b.display_name)


@route(
    bp,
    "/me/password",
    methods=["POST"],
    auth="required",
    feature="account",
    body=lambda: schema.PasswordChange,
    status=204,
)
def change_password() -> Response:
    """Change the password; every refresh token of the account is revoked."""
    b = json_body(bp.current_request, schema.PasswordChange)
    p = principal()
    if p.via != "jwt":
        raise Unauthorized("sign in with your password to change it")
    auth_service().change_password(p, b.current_password, b.new_password, origin_of(bp.current_request))
    return Response(body="", status_code=204, headers={"Set-Cookie": _cookie("", 0)})


@route(
    bp,
    "/me/api-keys",
    methods=["GET"],
    auth="required",
    feature="api_keys",
    params=lambda: schema.Page,
    response=lambda: schema.ApiKeysPublic,
)
def list_api_keys() -> dict[str, Any]:
    """The caller's API keys (prefix only; the secret is never shown again)."""
    q = query(bp.current_request, schema.Page)
    data, total = auth_service().list_api_keys(principal().user_id, q.limit, q.offset)
    return {"data": data, "count": total}


@route(
    bp,
    "/me/api-keys",
    methods=["POST"],
    auth="required",
    feature="api_keys",
    body=lambda: schema.ApiKeyCreate,
    response=lambda: schema.ApiKeyCreated,
    status=201,
)
def create_api_key() -> dict[str, Any]:
    """Create an API key (premium); the full key is returned once."""
    b = json_body(bp.current_request, schema.ApiKeyCreate)
    p = principal()
    if p.via != "jwt":
        raise Unauthorized("API keys cannot create API keys; sign in")
    return auth_service().create_api_key(p, b.name, origin_of(bp.current_request))


@route(bp, "/me/api-keys/{key_id}", methods=["DELETE"], auth="required", feature="api_keys", status=204, owned=True)
def revoke_api_key(key_id: str) -> Response:
    """Revoke one of the caller's API keys."""
    from chalicelib.paths import uuid_path

    auth_service().revoke_api_key(principal(), uuid_path(key_id, "API key"), origin_of(bp.current_request))
    return Response(body="", status_code=204)
