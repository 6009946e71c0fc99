"""In-memory fakes of the accounts service's ports: the repository (with transactions that roll back),
access tokens and a clock. No database, no network."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from stockscreen.accounts.models import (
    AccessClaims,
    Account,
    ApiKey,
    ApiKeyOwner,
    IngestRun,
    RefreshToken,
    User,
)
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Conflict, Unauthorized

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class _Row:
    user: User
    password_hash: str
    password_changed_at: dt.datetime


@dataclass
class _Key:
    key: ApiKey
    user_id: str
    key_hash: str


@dataclass
class _Token:
    token: RefreshToken
    token_hash: str


@dataclass
class State:
    users: dict[str, _Row] = field(default_factory=dict)
    tokens: list[_Token] = field(default_factory=list)
    keys: list[_Key] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    login_throttle: dict[str, tuple[int, dt.datetime | None]] = field(default_factory=dict)


class FakeUnit:
    def __init__(self, state: State, clock: Clock) -> None:
        self.s = state
        self.clock = clock

    def audit(
        self,
        action: str,
        *,
        actor_id: str | None,
        origin: Origin,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.s.audit.append(
            {"action": action, "actor_id": actor_id, "ip": origin.ip, "target": target, "details": details or {}}
        )

    # users
    def insert_user(self, email: str, password_hash: str, display_name: str | None) -> User:
        if any(r.user.email == email for r in self.s.users.values()):
            raise Conflict("an account with this email already exists")
        user = User(str(uuid.uuid4()), email, display_name, "free", False, self.clock(), None)
        self.s.users[user.id] = _Row(user, password_hash, self.clock())
        return user

    def user(self, user_id: str) -> User | None:
        row = self.s.users.get(user_id)
        return row.user if row else None

    def user_by_email(self, email: str) -> tuple[User, str] | None:
        for r in self.s.users.values():
            if r.user.email == email:
                return r.user, r.password_hash
        return None

    def password_hash_for_update(self, user_id: str) -> str | None:
        row = self.s.users.get(user_id)
        return row.password_hash if row else None

    def rehash_password(self, user_id: str, password_hash: str) -> None:
        self.s.users[user_id].password_hash = password_hash

    def change_password(self, user_id: str, password_hash: str) -> None:
        row = self.s.users[user_id]
        row.password_hash, row.password_changed_at = password_hash, self.clock()

    def login_locked_until(self, throttle_key: str) -> dt.datetime | None:
        _, until = self.s.login_throttle.get(throttle_key, (0, None))
        return until if until is not None and until > self.clock() else None

    def login_failed(self, throttle_key: str, lock_after: int, base_lock_s: int, max_lock_s: int) -> int:
        failures, until = self.s.login_throttle.get(throttle_key, (0, None))
        failures += 1
        if failures >= lock_after:
            until = self.clock() + dt.timedelta(seconds=min(max_lock_s, base_lock_s * 2 ** (failures - lock_after)))
        self.s.login_throttle[throttle_key] = (failures, until)
        return failures

    def login_succeeded(self, throttle_key: str) -> None:
        self.s.login_throttle.pop(throttle_key, None)

    def touch_login(self, user_id: str) -> None:
        row = self.s.users[user_id]
        row.user = replace(row.user, last_login_at=self.clock())

    def update_display_name(self, user_id: str, display_name: str | None) -> User:
        row = self.s.users[user_id]
        row.user = replace(row.user, display_name=display_name)
        return row.user

    # refresh tokens
    def insert_refresh_token(
        self, family_id: str, user_id: str, token_hash: str, ttl_s: int, ip: str | None, user_agent: str | None
    ) -> None:
        tok = RefreshToken(
            str(uuid.uuid4()), family_id, user_id, self.clock() + dt.timedelta(seconds=ttl_s), None, None
        )
        self.s.tokens.append(_Token(tok, token_hash))

    def refresh_token(self, token_hash: str, *, for_update: bool = False) -> RefreshToken | None:
        return next((t.token for t in self.s.tokens if t.token_hash == token_hash), None)

    def mark_rotated(self, token_id: str) -> None:
        for t in self.s.tokens:
            if t.token.id == token_id:
                t.token = replace(t.token, rotated_at=self.clock())

    def revoke_family(self, family_id: str, user_id: str | None = None) -> int:
        n = 0
        for t in self.s.tokens:
            tok = t.token
            if tok.family_id == family_id and tok.revoked_at is None and user_id in (None, tok.user_id):
                t.token = replace(tok, revoked_at=self.clock())
                n += 1
        return n

    def revoke_user_tokens(self, user_id: str) -> int:
        n = 0
        for t in self.s.tokens:
            if t.token.user_id == user_id and t.token.revoked_at is None:
                t.token = replace(t.token, revoked_at=self.clock())
                n += 1
        return n

    # API keys
    def lock_user(self, user_id: str) -> None:
        pass

    def active_api_keys(self, user_id: str) -> int:
        return sum(1 for k in self.s.keys if k.user_id == user_id and k.key.revoked_at is None)

    def insert_api_key(self, user_id: str, name: str, prefix: str, key_hash: str) -> ApiKey:
        key = ApiKey(str(uuid.uuid4()), name, prefix, self.clock(), None, None)
        self.s.keys.append(_Key(key, user_id, key_hash))
        return key

    def api_keys(self, user_id: str, limit: int, offset: int) -> tuple[list[ApiKey], int]:
        mine = [k.key for k in self.s.keys if k.user_id == user_id]
        return mine[offset : offset + limit], len(mine)

    def revoke_api_key(self, key_id: str, user_id: str) -> str | None:
        for k in self.s.keys:
            if k.key.id == key_id and k.user_id == user_id:
                k.key = replace(k.key, revoked_at=k.key.revoked_at or self.clock())
                return k.key.prefix
        return None

    def use_api_key(self, key_hash: str) -> ApiKeyOwner | None:
        for k in self.s.keys:
            row = self.s.users[k.user_id]
            if k.key_hash == key_hash and k.key.revoked_at is None and not row.user.disabled:
                k.key = replace(k.key, last_used_at=self.clock())
                return ApiKeyOwner(k.key.id, k.user_id, row.user.email, row.user.role)
        return None

    # administration (not exercised by these fakes' tests)
    def search_users(
        self, pattern: str | None, role: str | None, disabled: bool | None, limit: int, offset: int
    ) -> tuple[list[User], int]:
        raise NotImplementedError

    def role_and_disabled_for_update(self, user_id: str) -> tuple[str, bool] | None:
        raise NotImplementedError

    def update_user(self, user_id: str, role: str | None, disabled: bool | None) -> User:
        raise NotImplementedError

    def ingest_runs(self, status: str | None, limit: int, offset: int) -> tuple[list[IngestRun], int]:
        raise NotImplementedError


class FakeStore:
    """Transactions work on a copy of the state that replaces it only when the block ends normally."""

    def __init__(self, clock: Clock) -> None:
        self.state = State()
        self.clock = clock

    @contextmanager
    def begin(self) -> Iterator[FakeUnit]:
        work = copy.deepcopy(self.state)
        yield FakeUnit(work, self.clock)
        self.state = work

    @contextmanager
    def read(self) -> Iterator[FakeUnit]:
        yield FakeUnit(copy.deepcopy(self.state), self.clock)

    def account(self, user_id: str) -> Account | None:
        row = self.state.users.get(user_id)
        if row is None:
            return None
        return Account(row.user.email, row.user.role, row.user.disabled, row.password_changed_at)

    # test helpers
    def set_user(self, user_id: str, **changes: Any) -> None:
        row = self.state.users[user_id]
        row.user = replace(row.user, **changes)

    def actions(self) -> list[str]:
        return [a["action"] for a in self.state.audit]


class FakeTokens:
    """Access tokens as readable strings: ``user|role|issued_at|n``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.issued = 0

    def issue(self, user_id: str, role: str) -> tuple[str, int]:
        self.issued += 1
        return f"{user_id}|{role}|{int(self.clock().timestamp())}|{self.issued}", 3600

    def decode(self, token: str) -> AccessClaims:
        parts = token.split("|")
        if len(parts) != 4:
            raise Unauthorized("invalid or expired access token")
        user_id, role, issued, n = parts
        return AccessClaims(user_id, role, n, int(issued) + 3600, int(issued))
