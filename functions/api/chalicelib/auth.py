"""Accounts: register, login, refresh (rotating cookie), logout, /me, password change, API keys."""

from __future__ import annotations

from typing import Annotated, Any

from chalice.app import Blueprint, Response
from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.http import json_body, query, route
from chalicelib.models import ApiModel
from chalicelib.security import auth_service, header, origin_of, principal
from stockscreen.auth.service import Session
from stockscreen.auth.settings import api_settings
from stockscreen.errors import Unauthorized

bp = Blueprint(__name__)

REFRESH_COOKIE = "refresh_token"
COOKIE_PATH = "/api/auth"

Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$", max_length=254, strip_whitespace=True)
]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class RegisterBody(ApiModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    password: Password
    display_name: DisplayName | None = None


class LoginBody(ApiModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, StringConstraints(min_length=3, max_length=254, strip_whitespace=True)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class UserPublic(ApiModel):
    id: str
    email: str
    display_name: str | None
    role: str
    disabled: bool
    created_at: str
    last_login_at: str | None


class TokenPublic(ApiModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the scheme name)
    expires_in: int
    user: UserPublic


class MeUpdate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    display_name: DisplayName | None


class PasswordChange(ApiModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class ApiKeyCreate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class ApiKeyPublic(ApiModel):
    id: str
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret; shown once, stored only as a hash")


class ApiKeysPublic(ApiModel):
    data: list[ApiKeyPublic]
    count: int


class Page(ApiModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    offset: Annotated[int, Field(ge=0, le=100_000)] = 0


def _cookie(value: str, max_age: int) -> str:
    return f"{REFRESH_COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"


def _session_response(session: Session, status: int = 200) -> Response:
    body = TokenPublic(access_token=session.access_token, expires_in=session.expires_in, user=session.user)  # type: ignore[arg-type]
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


@route(bp, "/auth/register", methods=["POST"], auth="none", body=RegisterBody, response=TokenPublic, status=201)
def register() -> Response:
    """Create an account (free plan) and sign in."""
    b = json_body(bp.current_request, RegisterBody)
    session = auth_service().register(str(b.email), b.password, b.display_name, origin_of(bp.current_request))
    return _session_response(session, 201)


@route(bp, "/auth/login", methods=["POST"], auth="none", body=LoginBody, response=TokenPublic, errors=(401,))
def login() -> Response:
    """Sign in with email and password; sets the refresh-token cookie."""
    b = json_body(bp.current_request, LoginBody)
    return _session_response(auth_service().login(b.email, b.password, origin_of(bp.current_request)))


@route(bp, "/auth/refresh", methods=["POST"], auth="none", response=TokenPublic, errors=(401,))
def refresh() -> Response:
    """Exchange the refresh-token cookie for a new access token; the cookie is rotated."""
    token = _refresh_cookie()
    if token is None:
        raise Unauthorized("no refresh token cookie")
    return _session_response(auth_service().refresh(token, origin_of(bp.current_request)))


@route(bp, "/auth/logout", methods=["POST"], auth="optional", status=204)
def logout() -> Response:
    """Revoke this session's refresh tokens and clear the cookie."""
    from chalicelib.security import current

    auth_service().logout(_refresh_cookie(), current(), origin_of(bp.current_request))
    return Response(body="", status_code=204, headers={"Set-Cookie": _cookie("", 0)})


@route(bp, "/me", methods=["GET"], auth="required", feature="account", response=UserPublic)
def me() -> dict[str, Any]:
    """The signed-in user."""
    return auth_service().me(principal().user_id)


@route(bp, "/me", methods=["PATCH"], auth="required", feature="account", body=MeUpdate, response=UserPublic)
def update_me() -> dict[str, Any]:
    """Update the signed-in user's profile."""
    b = json_body(bp.current_request, MeUpdate)
    return auth_service().update_me(principal().user_id, b.display_name)


@route(bp, "/me/password", methods=["POST"], auth="required", feature="account", body=PasswordChange, status=204)
def change_password() -> Response:
    """Change the password; every refresh token of the account is revoked."""
    b = json_body(bp.current_request, PasswordChange)
    p = principal()
    if p.via != "jwt":
        raise Unauthorized("sign in with your password to change it")
    auth_service().change_password(p, b.current_password, b.new_password, origin_of(bp.current_request))
    return Response(body="", status_code=204, headers={"Set-Cookie": _cookie("", 0)})


@route(bp, "/me/api-keys", methods=["GET"], auth="required", feature="api_keys", params=Page, response=ApiKeysPublic)
def list_api_keys() -> dict[str, Any]:
    """The caller's API keys (prefix only; the secret is never shown again)."""
    q = query(bp.current_request, Page)
    data, total = auth_service().list_api_keys(principal().user_id, q.limit, q.offset)
    return {"data": data, "count": total}


@route(
    bp,
    "/me/api-keys",
    methods=["POST"],
    auth="required",
    feature="api_keys",
    body=ApiKeyCreate,
    response=ApiKeyCreated,
    status=201,
)
def create_api_key() -> dict[str, Any]:
    """Create an API key (premium); the full key is returned once."""
    b = json_body(bp.current_request, ApiKeyCreate)
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
