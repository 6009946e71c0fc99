"""In-memory fakes of the accounts service's ports: the repository (with transactions that roll back),
access tokens, the password-guess throttle, the owner's notices and a clock. No database, no network."""

from __future__ import annotations

import copy
import datetime as dt
import math
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
    ThrottleEntry,
    ThrottleKey,
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

    def revoke_user_tokens(self, user_id: str) -> list[str]:
        families: set[str] = set()
        for t in self.s.tokens:
            if t.token.user_id == user_id and t.token.revoked_at is None:
                t.token = replace(t.token, revoked_at=self.clock())
                families.add(t.token.family_id)
        return sorted(families)

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

    def account(self, user_id: str, session_id: str | None = None) -> Account | None:
        row = self.state.users.get(user_id)
        if row is None:
            return None
        revoked = any(t.token.family_id == session_id and t.token.revoked_at is not None for t in self.state.tokens)
        return Account(row.user.email, row.user.role, row.user.disabled, row.password_changed_at, revoked)

    # test helpers
    def set_user(self, user_id: str, **changes: Any) -> None:
        row = self.state.users[user_id]
        row.user = replace(row.user, **changes)

    def actions(self) -> list[str]:
        return [a["action"] for a in self.state.audit]


class FakeTokens:
    """Access tokens as readable strings: ``user|role|issued_at|session|n``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.issued = 0

    def issue(self, user_id: str, role: str, session_id: str) -> tuple[str, int]:
        self.issued += 1
        return f"{user_id}|{role}|{int(self.clock().timestamp())}|{session_id}|{self.issued}", 3600

    def decode(self, token: str) -> AccessClaims:
        parts = token.split("|")
        if len(parts) != 5:
            raise Unauthorized("invalid or expired access token")
        user_id, role, issued, session_id, n = parts
        return AccessClaims(user_id, role, n, int(issued) + 3600, int(issued), session_id)


class FakeThrottle:
    """The throttle's rules on the fake clock (the Redis adapter runs the same arithmetic in Lua)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.keys: dict[str, tuple[ThrottleKey, int, dt.datetime | None, dt.datetime]] = {}
        self.accounts: dict[str, list[dt.datetime]] = {}

    def _live(self, key_id: str) -> tuple[ThrottleKey, int, dt.datetime | None, dt.datetime] | None:
        hit = self.keys.get(key_id)
        if hit is not None and hit[3] <= self.clock():
            del self.keys[key_id]
            return None
        return hit

    def wait_s(self, keys: list[ThrottleKey]) -> int:
        waits = [0.0]
        for k in keys:
            hit = self._live(k.id)
            if hit is not None and hit[2] is not None:
                waits.append((hit[2] - self.clock()).total_seconds())
        return max(0, math.ceil(max(waits)))

    def fail(self, keys: list[ThrottleKey]) -> int:
        counts = []
        for k in keys:
            hit = self._live(k.id)
            n = (hit[1] if hit else 0) + 1
            until = hit[2] if hit else None
            delay = 0
            if n > k.rule.free:
                delay = min(k.rule.max_s, k.rule.base_s * 2 ** (n - k.rule.free - 1))
                until = self.clock() + dt.timedelta(seconds=delay)
            expires = self.clock() + dt.timedelta(seconds=max(k.rule.window_s, delay))
            self.keys[k.id] = (k, n, until, expires)
            counts.append(n)
        return counts[0]

    def clear(self, key: ThrottleKey) -> None:
        self.keys.pop(key.id, None)

    def account_failure(self, user_id: str) -> int:
        hour_ago = self.clock() - dt.timedelta(hours=1)
        times = [t for t in self.accounts.get(user_id, []) if t > hour_ago] + [self.clock()]
        self.accounts[user_id] = times
        return len(times)

    def entries(self) -> list[ThrottleEntry]:
        out = []
        for key_id in list(self.keys):
            hit = self._live(key_id)
            if hit is None:
                continue
            k, n, until, _ = hit
            wait = max(0, math.ceil((until - self.clock()).total_seconds())) if until else 0
            out.append(ThrottleEntry(k.id, k.kind, k.email, k.ip, n, wait))
        return out

    def delete(self, throttle_id: str) -> ThrottleEntry | None:
        entry = next((e for e in self.entries() if e.id == throttle_id), None)
        self.keys.pop(throttle_id, None)
        return entry


class Notices:
    """The notify callable: records what the owner would be told."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, user_id: str, kind: str, title: str, body: str | None, data: dict[str, Any]) -> object:
        self.sent.append({"user_id": user_id, "kind": kind, "title": title, "body": body, "data": data})
        return len(self.sent)
