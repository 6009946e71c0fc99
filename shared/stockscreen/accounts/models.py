"""Domain types of accounts: users, sessions, refresh tokens, API keys, throttles, and the ports the services
need (the repository's unit of work, access tokens, the password-guess throttle, the owner's notifications).

API bodies live in ``chalicelib/schemas``; these are what the repository returns and the services reason on.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from stockscreen.core.audit import Origin


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: str
    role: str
    email: str
    via: str  # "jwt" or "api_key"
    api_key_id: str | None = None
    #: the refresh-token family the access token was issued for (its ``sid`` claim), when known
    session_id: str | None = None


@dataclass(frozen=True)
class Session:
    access_token: str
    expires_in: int
    refresh_token: str
    user: dict[str, Any]


@dataclass(frozen=True)
class User:
    id: str
    email: str
    display_name: str | None
    role: str
    disabled: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "display_name": self.display_name,
            "role": self.role,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }


@dataclass(frozen=True)
class Account:
    """Who reads the caller's access token: the current state of the account behind it."""

    email: str
    role: str
    disabled: bool
    password_changed_at: dt.datetime
    #: the token's session (its ``sid``) has been revoked: signed out, or its refresh token replayed
    session_revoked: bool = False


@dataclass(frozen=True)
class RefreshToken:
    id: str
    family_id: str
    user_id: str
    expires_at: dt.datetime
    rotated_at: dt.datetime | None
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class ApiKeyOwner:
    key_id: str
    user_id: str
    email: str
    role: str


@dataclass(frozen=True)
class IngestRun:
    run_id: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    stats: dict[str, Any]
    error: str | None

    def public(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_seconds": (
                round((self.finished_at - self.started_at).total_seconds(), 3) if self.finished_at else None
            ),
            "stats": self.stats,
            "error": self.error,
        }


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    jti: str
    expires_at: int
    issued_at: int
    #: the refresh-token family (session) the token belongs to; absent in tokens issued before it existed
    session_id: str | None = None


# -- throttling of password guesses ---------------------------------------------------------------------


@dataclass(frozen=True)
class ThrottleRule:
    """``free`` failures go unpunished; each one after waits ``base_s`` doubled per failure, at most ``max_s``.
    The count is forgotten ``window_s`` after the last failure."""

    free: int
    base_s: int
    max_s: int
    window_s: int


@dataclass(frozen=True)
class ThrottleKey:
    """One counter of failed password attempts: ``kind`` is ``login`` (an account from one address),
    ``address`` (every account from one address) or ``password`` (the current password of a signed-in
    user). ``id`` is opaque and stable (a digest of kind and subject); email and user id are kept for
    the administrators' list when an account is behind the key."""

    kind: str
    id: str
    rule: ThrottleRule
    ip: str | None = None
    email: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class ThrottleEntry:
    id: str
    kind: str
    email: str | None
    ip: str | None
    failures: int
    retry_after_s: int

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "email": self.email,
            "ip": self.ip,
            "failures": self.failures,
            "retry_after": self.retry_after_s,
        }


class Throttle(Protocol):
    """Counts failed password attempts per key and says how long a key must wait before the next one."""

    def wait_s(self, keys: list[ThrottleKey]) -> int:
        """Seconds until every key accepts an attempt again (0: go ahead)."""
        ...

    def fail(self, keys: list[ThrottleKey]) -> int:
        """Count one failure on each key; the first key's failure count."""
        ...

    def clear(self, key: ThrottleKey) -> None: ...

    def account_failure(self, user_id: str) -> int:
        """Count a failed sign-in on the account from any address; the count within the hour."""
        ...

    def entries(self) -> list[ThrottleEntry]: ...

    def delete(self, throttle_id: str) -> ThrottleEntry | None:
        """Forget the key; what it was (None when there is no such key)."""
        ...


class Notify(Protocol):
    """Leave the account's owner an in-app notification (wired at the edge to the notifications feature)."""

    def __call__(self, user_id: str, kind: str, title: str, body: str | None, data: dict[str, Any]) -> object: ...


class SessionsRevoked(Protocol):
    """Told, once the revocation is committed, which sessions (refresh-token families) were revoked: the
    denylist of :mod:`stockscreen.accounts.revocations`, and at the edge the open WebSockets to close."""

    def __call__(self, session_ids: list[str]) -> object: ...


class AccessTokens(Protocol):
    def issue(self, user_id: str, role: str, session_id: str) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        ...

    def decode(self, token: str) -> AccessClaims:
        """The verified claims; Unauthorized when anything is wrong."""
        ...


# -- the repository's ports -----------------------------------------------------------------------------


class AccountsUnit(Protocol):
    """The statements of one transaction (``AccountsStore.begin``) or one read (``AccountsStore.read``)."""

    def audit(
        self,
        action: str,
        *,
        actor_id: str | None,
        origin: Origin,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None: ...

    # users
    def insert_user(self, email: str, password_hash: str, display_name: str | None) -> User:
        """Raises Conflict when the email is taken."""
        ...

    def user(self, user_id: str) -> User | None: ...
    def user_by_email(self, email: str) -> tuple[User, str] | None: ...
    def password_hash_for_update(self, user_id: str) -> str | None: ...
    def rehash_password(self, user_id: str, password_hash: str) -> None: ...
    def change_password(self, user_id: str, password_hash: str) -> None: ...
    def touch_login(self, user_id: str) -> None: ...
    def update_display_name(self, user_id: str, display_name: str | None) -> User: ...

    # refresh tokens
    def insert_refresh_token(
        self, family_id: str, user_id: str, token_hash: str, ttl_s: int, ip: str | None, user_agent: str | None
    ) -> None: ...
    def refresh_token(self, token_hash: str, *, for_update: bool = False) -> RefreshToken | None: ...
    def mark_rotated(self, token_id: str) -> None: ...
    def revoke_family(self, family_id: str, user_id: str | None = None) -> int: ...
    def revoke_user_tokens(self, user_id: str) -> list[str]:
        """Revoke every live refresh token of the user; returns the families (sessions) revoked."""
        ...

    # API keys
    def lock_user(self, user_id: str) -> None: ...
    def active_api_keys(self, user_id: str) -> int: ...
    def insert_api_key(self, user_id: str, name: str, prefix: str, key_hash: str) -> ApiKey: ...
    def api_keys(self, user_id: str, limit: int, offset: int) -> tuple[list[ApiKey], int]: ...
    def revoke_api_key(self, key_id: str, user_id: str) -> str | None:
        """The revoked key's prefix; None when the user has no such key."""
        ...

    def use_api_key(self, key_hash: str) -> ApiKeyOwner | None: ...

    # administration
    def search_users(
        self, pattern: str | None, role: str | None, disabled: bool | None, limit: int, offset: int
    ) -> tuple[list[User], int]: ...
    def role_and_disabled_for_update(self, user_id: str) -> tuple[str, bool] | None: ...
    def update_user(self, user_id: str, role: str | None, disabled: bool | None) -> User: ...
    def ingest_runs(self, status: str | None, limit: int, offset: int) -> tuple[list[IngestRun], int]: ...


class AccountsStore(Protocol):
    def begin(self) -> AbstractContextManager[AccountsUnit]:
        """A transaction: committed when the block ends, rolled back when it raises."""
        ...

    def read(self) -> AbstractContextManager[AccountsUnit]: ...

    def account(self, user_id: str, session_id: str | None = None) -> Account | None:
        """The account behind an access token and whether its session was revoked, on the hot path (one
        round trip)."""
        ...
