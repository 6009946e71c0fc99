"""Accounts: register, login with throttling, refresh-token rotation with reuse detection, API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from stockscreen.accounts.passwords import hash_password, needs_rehash, verify_password
from stockscreen.accounts.settings import api_settings
from stockscreen.accounts.tokens import decode_access_token, issue_access_token
from stockscreen.core import audit, policy
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited, Unauthorized
from stockscreen.db.engine import reader_for

LOCK_AFTER_FAILURES = 5
BASE_LOCK_S = 30
MAX_LOCK_S = 15 * 60
API_KEY_PREFIX = "ssk_"
INVALID_LOGIN = "invalid email or password"
INVALID_REFRESH = "invalid or expired refresh token"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: str
    role: str
    email: str
    via: str  # "jwt" or "api_key"
    api_key_id: str | None = None


@dataclass(frozen=True)
class Session:
    access_token: str
    expires_in: int
    refresh_token: str
    user: dict[str, Any]


_USER_COLS = "id, email, display_name, role, disabled, created_at, last_login_at"


def user_public(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "display_name": row["display_name"],
        "role": row["role"],
        "disabled": bool(row["disabled"]),
        "created_at": row["created_at"].isoformat(),
        "last_login_at": row["last_login_at"].isoformat() if row["last_login_at"] else None,
    }


class AuthService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- accounts ---------------------------------------------------------------------------
    def register(self, email: str, password: str, display_name: str | None, origin: Origin) -> Session:
        pw_hash = hash_password(password)
        try:
            with self.engine.begin() as conn:
                row = (
                    conn.execute(
                        text(
                            "INSERT INTO users (email, password_hash, display_name) VALUES (:e, :h, :n) "
                            f"RETURNING {_USER_COLS}"
                        ),
                        {"e": email.lower(), "h": pw_hash, "n": display_name},
                    )
                    .mappings()
                    .one()
                )
                audit.record(conn, "user.register", actor_id=str(row["id"]), origin=origin, target=str(row["id"]))
                return self._new_session(conn, row, None, origin)
        except IntegrityError:
            raise Conflict("an account with this email already exists") from None

    def login(self, email: str, password: str, origin: Origin) -> Session:
        email = email.lower()
        throttle_key = _sha256("login:" + email)
        failure: Exception | None = None
        with self.engine.begin() as conn:
            session = self._login(conn, email, password, throttle_key, origin)
            if isinstance(session, Exception):
                failure = session  # commit the failure count and the audit row, then refuse
        if failure is not None:
            raise failure
        assert isinstance(session, Session)
        return session

    def _login(
        self, conn: Connection, email: str, password: str, throttle_key: str, origin: Origin
    ) -> Session | Exception:
        locked = conn.execute(
            text("SELECT locked_until FROM login_throttle WHERE key = :k AND locked_until > now()"),
            {"k": throttle_key},
        ).scalar()
        if locked is not None:
            retry = max(1, int((locked - _now()).total_seconds()) + 1)
            audit.record(conn, "auth.login_locked", actor_id=None, origin=origin, details={"email": email})
            return RateLimited("too many failed sign-in attempts; try again later", {"retry_after": retry})
        row = (
            conn.execute(text(f"SELECT {_USER_COLS}, password_hash FROM users WHERE email = :e"), {"e": email})
            .mappings()
            .first()
        )
        ok = verify_password(row["password_hash"] if row else None, password)
        if not ok or row is None or row["disabled"]:
            failures = conn.execute(
                text(
                    "INSERT INTO login_throttle (key, failures) VALUES (:k, 1) ON CONFLICT (key) DO UPDATE "
                    "SET failures = login_throttle.failures + 1, updated_at = now() RETURNING failures"
                ),
                {"k": throttle_key},
            ).scalar_one()
            if failures >= LOCK_AFTER_FAILURES:
                lock_s = min(MAX_LOCK_S, BASE_LOCK_S * 2 ** (failures - LOCK_AFTER_FAILURES))
                conn.execute(
                    text("UPDATE login_throttle SET locked_until = now() + make_interval(secs => :s) WHERE key = :k"),
                    {"k": throttle_key, "s": lock_s},
                )
            reason = "disabled" if (ok and row is not None) else "bad_credentials"
            audit.record(
                conn,
                "auth.login_failed",
                actor_id=str(row["id"]) if row else None,
                origin=origin,
                details={"email": email, "reason": reason, "failures": failures},
            )
            return Unauthorized(INVALID_LOGIN)
        conn.execute(text("DELETE FROM login_throttle WHERE key = :k"), {"k": throttle_key})
        if needs_rehash(row["password_hash"]):
            conn.execute(
                text("UPDATE users SET password_hash = :h WHERE id = :id"),
                {"h": hash_password(password), "id": row["id"]},
            )
        conn.execute(text("UPDATE users SET last_login_at = now() WHERE id = :id"), {"id": row["id"]})
        audit.record(conn, "auth.login", actor_id=str(row["id"]), origin=origin)
        return self._new_session(conn, row, None, origin)

    def _new_session(self, conn: Connection, user: Any, family: str | None, origin: Origin) -> Session:
        s = api_settings()
        refresh = secrets.token_urlsafe(32)
        conn.execute(
            text(
                "INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at, ip, user_agent) "
                "VALUES (:f, :u, :h, now() + make_interval(secs => :ttl), :ip, :ua)"
            ),
            {
                "f": family or str(uuid.uuid4()),
                "u": user["id"],
                "h": _sha256(refresh),
                "ttl": s.refresh_token_ttl_s,
                "ip": origin.ip,
                "ua": (origin.user_agent or "")[:512] or None,
            },
        )
        token, ttl = issue_access_token(str(user["id"]), user["role"])
        return Session(access_token=token, expires_in=ttl, refresh_token=refresh, user=user_public(user))

    def refresh(self, refresh_token: str, origin: Origin) -> Session:
        """Rotate: the presented token is spent and a new one of the same family is issued.

        Presenting an already-rotated (or revoked) token means it was stolen or replayed: the whole
        family is revoked, so neither the thief nor the victim can continue, and it is audited.
        """
        failure: Exception | None = None
        with self.engine.begin() as conn:
            result = self._refresh(conn, refresh_token, origin)
            if isinstance(result, Exception):
                failure = result
        if failure is not None:
            raise failure
        assert isinstance(result, Session)
        return result

    def _refresh(self, conn: Connection, refresh_token: str, origin: Origin) -> Session | Exception:
        tok = (
            conn.execute(
                text(
                    "SELECT id, family_id, user_id, expires_at, rotated_at, revoked_at FROM refresh_tokens "
                    "WHERE token_hash = :h FOR UPDATE"
                ),
                {"h": _sha256(refresh_token)},
            )
            .mappings()
            .first()
        )
        if tok is None:
            raise Unauthorized(INVALID_REFRESH)
        if tok["rotated_at"] is not None or tok["revoked_at"] is not None:
            revoked = conn.execute(
                text("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = :f AND revoked_at IS NULL"),
                {"f": tok["family_id"]},
            ).rowcount
            if tok["rotated_at"] is not None:
                audit.record(
                    conn,
                    "auth.refresh_reuse",
                    actor_id=str(tok["user_id"]),
                    origin=origin,
                    target=str(tok["family_id"]),
                    details={"revoked_tokens": revoked},
                )
            return Unauthorized(INVALID_REFRESH)
        if tok["expires_at"] <= _now():
            raise Unauthorized(INVALID_REFRESH)
        user = (
            conn.execute(text(f"SELECT {_USER_COLS} FROM users WHERE id = :id"), {"id": tok["user_id"]})
            .mappings()
            .first()
        )
        if user is None or user["disabled"]:
            raise Unauthorized(INVALID_REFRESH)
        conn.execute(text("UPDATE refresh_tokens SET rotated_at = now() WHERE id = :id"), {"id": tok["id"]})
        return self._new_session(conn, user, str(tok["family_id"]), origin)

    def logout(self, refresh_token: str | None, principal: Principal | None, origin: Origin) -> None:
        """Revoke the refresh token's family (this device's session)."""
        with self.engine.begin() as conn:
            fam = None
            if refresh_token:
                fam = conn.execute(
                    text("SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = :h"),
                    {"h": _sha256(refresh_token)},
                ).first()
            if fam is not None:
                conn.execute(
                    text("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = :f AND revoked_at IS NULL"),
                    {"f": fam[0]},
                )
            actor = str(fam[1]) if fam is not None else (principal.user_id if principal else None)
            if actor:
                audit.record(conn, "auth.logout", actor_id=actor, origin=origin)

    # -- the caller ---------------------------------------------------------------------------
    def principal_from_token(self, token: str) -> Principal:
        claims = decode_access_token(token)
        # every authenticated request reads the account: one round trip (see RowReader)
        row = reader_for(self.engine).one(
            "SELECT email, role, disabled, password_changed_at FROM users WHERE id = CAST(%s AS uuid)",
            (_uuid_or_none(claims.user_id),),
        )
        # Disabled accounts, and tokens issued before the last password change, are refused.
        if row is None or row[2] or claims.issued_at < int(row[3].timestamp()):
            raise Unauthorized("invalid or expired access token")
        return Principal(user_id=claims.user_id, role=row[1], email=row[0], via="jwt")

    def principal_from_api_key(self, key: str) -> Principal:
        if not key.startswith(API_KEY_PREFIX) or len(key) > 128:
            raise Unauthorized("invalid API key")
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "UPDATE api_keys k SET last_used_at = now() FROM users u WHERE k.key_hash = :h "
                    "AND k.revoked_at IS NULL AND u.id = k.user_id AND NOT u.disabled "
                    "RETURNING k.id, u.id, u.email, u.role"
                ),
                {"h": _sha256(key)},
            ).first()
        if row is None or not policy.allowed(row[3], "api_keys"):
            raise Unauthorized("invalid API key")
        return Principal(user_id=str(row[1]), role=row[3], email=row[2], via="api_key", api_key_id=str(row[0]))

    def me(self, user_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = (
                conn.execute(text(f"SELECT {_USER_COLS} FROM users WHERE id = :id"), {"id": user_id}).mappings().first()
            )
        if row is None:
            raise NotFound("no such user")
        return user_public(row)

    def update_me(self, user_id: str, display_name: str | None) -> dict[str, Any]:
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    text(
                        f"UPDATE users SET display_name = :n, updated_at = now() WHERE id = :id RETURNING {_USER_COLS}"
                    ),
                    {"n": display_name, "id": user_id},
                )
                .mappings()
                .one()
            )
        return user_public(row)

    def change_password(self, principal: Principal, current: str, new: str, origin: Origin) -> None:
        """Change the password and revoke every refresh-token family (sign out other devices)."""
        wrong = False
        with self.engine.begin() as conn:
            stored = conn.execute(
                text("SELECT password_hash FROM users WHERE id = :id FOR UPDATE"), {"id": principal.user_id}
            ).scalar()
            if not verify_password(stored, current):
                audit.record(conn, "auth.password_change_failed", actor_id=principal.user_id, origin=origin)
                wrong = True
            elif current == new:
                raise Invalid("the new password must differ from the current one")
            else:
                self._set_password(conn, principal, new, origin)
        if wrong:
            raise Forbidden("the current password is wrong")

    def _set_password(self, conn: Connection, principal: Principal, new: str, origin: Origin) -> None:
        conn.execute(
            text("UPDATE users SET password_hash = :h, password_changed_at = now(), updated_at = now() WHERE id = :id"),
            {"h": hash_password(new), "id": principal.user_id},
        )
        conn.execute(
            text("UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = :id AND revoked_at IS NULL"),
            {"id": principal.user_id},
        )
        audit.record(conn, "auth.password_changed", actor_id=principal.user_id, origin=origin)

    # -- API keys -------------------------------------------------------------------------------
    def create_api_key(self, principal: Principal, name: str, origin: Origin) -> dict[str, Any]:
        policy.require(principal.role, "api_keys")
        prefix = secrets.token_hex(4)
        key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        with self.engine.begin() as conn:
            conn.execute(text("SELECT id FROM users WHERE id = :u FOR UPDATE"), {"u": principal.user_id})
            used = conn.execute(
                text("SELECT count(*) FROM api_keys WHERE user_id = :u AND revoked_at IS NULL"),
                {"u": principal.user_id},
            ).scalar_one()
            policy.check_quota(principal.role, "api_keys", int(used))
            row = (
                conn.execute(
                    text(
                        "INSERT INTO api_keys (user_id, name, prefix, key_hash) VALUES (:u, :n, :p, :h) "
                        "RETURNING id, name, prefix, created_at, last_used_at, revoked_at"
                    ),
                    {"u": principal.user_id, "n": name, "p": API_KEY_PREFIX + prefix, "h": _sha256(key)},
                )
                .mappings()
                .one()
            )
            audit.record(
                conn,
                "api_key.create",
                actor_id=principal.user_id,
                origin=origin,
                target=str(row["id"]),
                details={"prefix": row["prefix"], "name": name},
            )
        return {**_key_public(row), "key": key}

    def list_api_keys(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM api_keys WHERE user_id = :u"), {"u": user_id}).scalar_one()
            rows = conn.execute(
                text(
                    "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys WHERE user_id = :u "
                    "ORDER BY created_at DESC, id LIMIT :l OFFSET :o"
                ),
                {"u": user_id, "l": limit, "o": offset},
            ).mappings()
            return [_key_public(r) for r in rows], int(total)

    def revoke_api_key(self, principal: Principal, key_id: str, origin: Origin) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = :id AND user_id = :u "
                    "RETURNING prefix"
                ),
                {"id": key_id, "u": principal.user_id},
            ).first()
            if row is None:
                raise NotFound(f"no API key {key_id}")
            audit.record(
                conn,
                "api_key.revoke",
                actor_id=principal.user_id,
                origin=origin,
                target=key_id,
                details={"prefix": row[0]},
            )


def _key_public(r: Any) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "name": r["name"],
        "prefix": r["prefix"],
        "created_at": r["created_at"].isoformat(),
        "last_used_at": r["last_used_at"].isoformat() if r["last_used_at"] else None,
        "revoked_at": r["revoked_at"].isoformat() if r["revoked_at"] else None,
    }


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
