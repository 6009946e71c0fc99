"""Every SQL statement of accounts: users, refresh-token families, API keys, the administrators' queries.

``AccountsRepository.begin()`` opens a transaction and hands out an :class:`AccountsSql` bound to its
connection, so a service's steps (a row, its audit entry, a new session) commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from stockscreen.accounts.models import Account, ApiKey, ApiKeyOwner, IngestRun, RefreshToken, User
from stockscreen.core import audit
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Conflict
from stockscreen.db.engine import get_engine, reader_for, text

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

_USER_COLS = "id, email, display_name, role, disabled, created_at, last_login_at"
_KEY_COLS = "id, name, prefix, created_at, last_used_at, revoked_at"
_TOKEN_COLS = "id, family_id, user_id, expires_at, rotated_at, revoked_at"  # noqa: S105 (column names)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _user(r: Any) -> User:
    return User(
        id=str(r["id"]),
        email=r["email"],
        display_name=r["display_name"],
        role=r["role"],
        disabled=bool(r["disabled"]),
        created_at=r["created_at"],
        last_login_at=r["last_login_at"],
    )


def _key(r: Any) -> ApiKey:
    return ApiKey(
        id=str(r["id"]),
        name=r["name"],
        prefix=r["prefix"],
        created_at=r["created_at"],
        last_used_at=r["last_used_at"],
        revoked_at=r["revoked_at"],
    )


def _token(r: Any) -> RefreshToken:
    return RefreshToken(
        id=str(r["id"]),
        family_id=str(r["family_id"]),
        user_id=str(r["user_id"]),
        expires_at=r["expires_at"],
        rotated_at=r["rotated_at"],
        revoked_at=r["revoked_at"],
    )


def _integrity_error() -> type[Exception]:
    from sqlalchemy.exc import IntegrityError  # (imported already: a statement has just run)

    return IntegrityError


class AccountsSql:
    """The statements, on one connection (see :class:`stockscreen.accounts.models.AccountsUnit`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def audit(
        self,
        action: str,
        *,
        actor_id: str | None,
        origin: Origin,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        audit.record(self.conn, action, actor_id=actor_id, origin=origin, target=target, details=details)

    # -- users ----------------------------------------------------------------------------------------
    def insert_user(self, email: str, password_hash: str, display_name: str | None) -> User:
        try:
            row = (
                self.conn.execute(
                    text(
                        "INSERT INTO users (email, password_hash, display_name) VALUES (:e, :h, :n) "
                        f"RETURNING {_USER_COLS}"
                    ),
                    {"e": email, "h": password_hash, "n": display_name},
                )
                .mappings()
                .one()
            )
        except _integrity_error():  # the transaction is rolled back as the error leaves it
            raise Conflict("an account with this email already exists") from None
        return _user(row)

    def user(self, user_id: str) -> User | None:
        row = (
            self.conn.execute(text(f"SELECT {_USER_COLS} FROM users WHERE id = :id"), {"id": user_id})
            .mappings()
            .first()
        )
        return _user(row) if row is not None else None

    def user_by_email(self, email: str) -> tuple[User, str] | None:
        row = (
            self.conn.execute(text(f"SELECT {_USER_COLS}, password_hash FROM users WHERE email = :e"), {"e": email})
            .mappings()
            .first()
        )
        return (_user(row), row["password_hash"]) if row is not None else None

    def password_hash_for_update(self, user_id: str) -> str | None:
        value = self.conn.execute(
            text("SELECT password_hash FROM users WHERE id = :id FOR UPDATE"), {"id": user_id}
        ).scalar()
        return str(value) if value is not None else None

    def rehash_password(self, user_id: str, password_hash: str) -> None:
        self.conn.execute(
            text("UPDATE users SET password_hash = :h WHERE id = :id"), {"h": password_hash, "id": user_id}
        )

    def change_password(self, user_id: str, password_hash: str) -> None:
        self.conn.execute(
            text("UPDATE users SET password_hash = :h, password_changed_at = now(), updated_at = now() WHERE id = :id"),
            {"h": password_hash, "id": user_id},
        )

    def touch_login(self, user_id: str) -> None:
        self.conn.execute(text("UPDATE users SET last_login_at = now() WHERE id = :id"), {"id": user_id})

    def update_display_name(self, user_id: str, display_name: str | None) -> User:
        row = (
            self.conn.execute(
                text(f"UPDATE users SET display_name = :n, updated_at = now() WHERE id = :id RETURNING {_USER_COLS}"),
                {"n": display_name, "id": user_id},
            )
            .mappings()
            .one()
        )
        return _user(row)

    # -- refresh tokens ---------------------------------------------------------------------------------
    def insert_refresh_token(
        self, family_id: str, user_id: str, token_hash: str, ttl_s: int, ip: str | None, user_agent: str | None
    ) -> None:
        self.conn.execute(
            text(
                "INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at, ip, user_agent) "
                "VALUES (:f, :u, :h, now() + make_interval(secs => :ttl), :ip, :ua)"
            ),
            {"f": family_id, "u": user_id, "h": token_hash, "ttl": ttl_s, "ip": ip, "ua": user_agent},
        )

    def refresh_token(self, token_hash: str, *, for_update: bool = False) -> RefreshToken | None:
        lock = " FOR UPDATE" if for_update else ""
        row = (
            self.conn.execute(
                text(f"SELECT {_TOKEN_COLS} FROM refresh_tokens WHERE token_hash = :h{lock}"), {"h": token_hash}
            )
            .mappings()
            .first()
        )
        return _token(row) if row is not None else None

    def mark_rotated(self, token_id: str) -> None:
        self.conn.execute(text("UPDATE refresh_tokens SET rotated_at = now() WHERE id = :id"), {"id": token_id})

    def revoke_family(self, family_id: str, user_id: str | None = None) -> int:
        """Revoke the family's live tokens (only the user's, when ``user_id`` is given); how many."""
        return int(
            self.conn.execute(
                text(
                    "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = :f AND revoked_at IS NULL "
                    "AND (CAST(:u AS uuid) IS NULL OR user_id = CAST(:u AS uuid))"
                ),
                {"f": family_id, "u": user_id},
            ).rowcount
        )

    def revoke_user_tokens(self, user_id: str) -> list[str]:
        rows = self.conn.execute(
            text(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = :id AND revoked_at IS NULL "
                "RETURNING family_id"
            ),
            {"id": user_id},
        )
        return sorted({str(r[0]) for r in rows})

    # -- API keys --------------------------------------------------------------------------------------
    def lock_user(self, user_id: str) -> None:
        self.conn.execute(text("SELECT id FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})

    def active_api_keys(self, user_id: str) -> int:
        return int(
            self.conn.execute(
                text("SELECT count(*) FROM api_keys WHERE user_id = :u AND revoked_at IS NULL"), {"u": user_id}
            ).scalar_one()
        )

    def insert_api_key(self, user_id: str, name: str, prefix: str, key_hash: str) -> ApiKey:
        row = (
            self.conn.execute(
                text(
                    "INSERT INTO api_keys (user_id, name, prefix, key_hash) VALUES (:u, :n, :p, :h) "
                    f"RETURNING {_KEY_COLS}"
                ),
                {"u": user_id, "n": name, "p": prefix, "h": key_hash},
            )
            .mappings()
            .one()
        )
        return _key(row)

    def api_keys(self, user_id: str, limit: int, offset: int) -> tuple[list[ApiKey], int]:
        total = self.conn.execute(text("SELECT count(*) FROM api_keys WHERE user_id = :u"), {"u": user_id}).scalar_one()
        rows = self.conn.execute(
            text(
                f"SELECT {_KEY_COLS} FROM api_keys WHERE user_id = :u ORDER BY created_at DESC, id LIMIT :l OFFSET :o"
            ),
            {"u": user_id, "l": limit, "o": offset},
        ).mappings()
        return [_key(r) for r in rows], int(total)

    def revoke_api_key(self, key_id: str, user_id: str) -> str | None:
        row = self.conn.execute(
            text(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = :id AND user_id = :u "
                "RETURNING prefix"
            ),
            {"id": key_id, "u": user_id},
        ).first()
        return str(row[0]) if row is not None else None

    def use_api_key(self, key_hash: str) -> ApiKeyOwner | None:
        row = self.conn.execute(
            text(
                "UPDATE api_keys k SET last_used_at = now() FROM users u WHERE k.key_hash = :h "
                "AND k.revoked_at IS NULL AND u.id = k.user_id AND NOT u.disabled "
                "RETURNING k.id, u.id, u.email, u.role"
            ),
            {"h": key_hash},
        ).first()
        if row is None:
            return None
        return ApiKeyOwner(key_id=str(row[0]), user_id=str(row[1]), email=row[2], role=row[3])

    # -- administration -----------------------------------------------------------------------------------
    def search_users(
        self, pattern: str | None, role: str | None, disabled: bool | None, limit: int, offset: int
    ) -> tuple[list[User], int]:
        cond = (
            "(CAST(:p AS text) IS NULL OR email LIKE :p OR lower(coalesce(display_name, '')) LIKE :p) "
            "AND (CAST(:r AS text) IS NULL OR role = :r) AND (CAST(:d AS boolean) IS NULL OR disabled = :d)"
        )
        params = {"p": pattern, "r": role, "d": disabled, "l": limit, "o": offset}
        total = self.conn.execute(text(f"SELECT count(*) FROM users WHERE {cond}"), params).scalar_one()
        rows = self.conn.execute(
            text(f"SELECT {_USER_COLS} FROM users WHERE {cond} ORDER BY created_at, id LIMIT :l OFFSET :o"), params
        ).mappings()
        return [_user(r) for r in rows], int(total)

    def role_and_disabled_for_update(self, user_id: str) -> tuple[str, bool] | None:
        row = self.conn.execute(
            text("SELECT role, disabled FROM users WHERE id = :id FOR UPDATE"), {"id": user_id}
        ).first()
        return (str(row[0]), bool(row[1])) if row is not None else None

    def update_user(self, user_id: str, role: str | None, disabled: bool | None) -> User:
        row = (
            self.conn.execute(
                text(
                    "UPDATE users SET role = coalesce(:r, role), disabled = coalesce(:d, disabled), "
                    f"updated_at = now() WHERE id = :id RETURNING {_USER_COLS}"
                ),
                {"r": role, "d": disabled, "id": user_id},
            )
            .mappings()
            .one()
        )
        return _user(row)

    def ingest_runs(self, status: str | None, limit: int, offset: int) -> tuple[list[IngestRun], int]:
        params = {"s": status, "l": limit, "o": offset}
        cond = "(CAST(:s AS text) IS NULL OR status = :s)"
        total = self.conn.execute(text(f"SELECT count(*) FROM ingest_runs WHERE {cond}"), params).scalar_one()
        rows = self.conn.execute(
            text(
                "SELECT id, status, started_at, finished_at, stats, error FROM ingest_runs "
                f"WHERE {cond} ORDER BY started_at DESC, id LIMIT :l OFFSET :o"
            ),
            params,
        ).all()
        runs = [
            IngestRun(run_id=str(r[0]), status=r[1], started_at=r[2], finished_at=r[3], stats=r[4], error=r[5])
            for r in rows
        ]
        return runs, int(total)


class AccountsRepository:
    """Built once per process (see ``chalicelib.authn.auth_service``), over an engine or, without one, the
    process's database: its SQLAlchemy engine is then built by the first transaction, so verifying a
    caller (:meth:`account`, psycopg alone) imports no SQLAlchemy (README, "Cold start")."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = get_engine()
        return self._engine

    @contextmanager
    def begin(self) -> Iterator[AccountsSql]:
        with self.engine.begin() as conn:
            yield AccountsSql(conn)

    @contextmanager
    def read(self) -> Iterator[AccountsSql]:
        with self.engine.connect() as conn:
            yield AccountsSql(conn)

    def account(self, user_id: str, session_id: str | None = None) -> Account | None:
        # every authenticated request reads the account and its session's revocation: one round trip (see
        # RowReader); a revoked family has every token revoked_at (revoke_family, revoke_user_tokens)
        row = reader_for(self._engine).one(
            "SELECT email, role, disabled, password_changed_at, "
            "EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = CAST(%s AS uuid) AND revoked_at IS NOT NULL) "
            "FROM users WHERE id = CAST(%s AS uuid)",
            (session_id, user_id),
        )
        if row is None:
            return None
        changed: dt.datetime = row[3]
        return Account(
            email=row[0], role=row[1], disabled=bool(row[2]), password_changed_at=changed, session_revoked=bool(row[4])
        )

    def session_revoked(self, session_id: str) -> bool:
        """Is the refresh-token family revoked? (the denylist's fallback: :mod:`stockscreen.accounts.revocations`)"""
        if not _is_uuid(session_id):
            return False
        row = reader_for(self._engine).one(
            "SELECT EXISTS (SELECT 1 FROM refresh_tokens "
            "WHERE family_id = CAST(%s AS uuid) AND revoked_at IS NOT NULL)",
            (session_id,),
        )
        return bool(row and row[0])
