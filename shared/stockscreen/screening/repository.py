"""Saved screens in PostgreSQL (parameterised SQL only)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from stockscreen.db.repository import Repository, UserRowsTx
from stockscreen.screening.models import SavedScreenFields

_COLS = "id, name, description, query, ast, sort, sort_order, columns, share_token, shared_at, created_at, updated_at"


def _public(r: Any) -> dict[str, Any]:
    """The owner's view of a saved screen row."""
    return {
        "id": str(r["id"]),
        "name": r["name"],
        "description": r["description"],
        "query": r["query"],
        "ast": r["ast"],
        "sort": r["sort"],
        "order": r["sort_order"],
        "columns": r["columns"],
        "created_at": r["created_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(),
        "share_token": r["share_token"],
        "shared_at": r["shared_at"].isoformat() if r["shared_at"] else None,
    }


def _params(f: SavedScreenFields) -> dict[str, Any]:
    return {
        "n": f.name,
        "d": f.description,
        "q": f.query,
        "ast": json.dumps(f.ast) if f.ast is not None else None,
        "s": f.sort,
        "o": f.order,
        "c": json.dumps(f.columns) if f.columns is not None else None,
    }


class SavedScreenTx(UserRowsTx):
    """The statements of one write transaction (see :meth:`SavedScreenRepository.transaction`)."""

    table = "saved_screens"

    def get(self, user_id: str, screen_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        """The user's screen (its row locked when ``lock``), or None when it isn't theirs."""
        row = (
            self.conn.execute(
                text(
                    f"SELECT {_COLS} FROM saved_screens WHERE id = :id AND user_id = :u"
                    + (" FOR UPDATE" if lock else "")
                ),
                {"id": screen_id, "u": user_id},
            )
            .mappings()
            .first()
        )
        return _public(row) if row is not None else None

    def insert(self, user_id: str, fields: SavedScreenFields) -> dict[str, Any]:
        row = (
            self.conn.execute(
                text(
                    "INSERT INTO saved_screens (user_id, name, description, query, ast, sort, sort_order, columns) "
                    "VALUES (:u, :n, :d, :q, CAST(:ast AS jsonb), :s, :o, CAST(:c AS jsonb)) "
                    f"RETURNING {_COLS}"
                ),
                {"u": user_id, **_params(fields)},
            )
            .mappings()
            .one()
        )
        return _public(row)

    def update(self, screen_id: str, fields: SavedScreenFields) -> dict[str, Any]:
        row = (
            self.conn.execute(
                text(
                    "UPDATE saved_screens SET name = :n, description = :d, query = :q, ast = CAST(:ast AS jsonb), "
                    "sort = :s, sort_order = :o, columns = CAST(:c AS jsonb), updated_at = now() "
                    f"WHERE id = :id RETURNING {_COLS}"
                ),
                {"id": screen_id, **_params(fields)},
            )
            .mappings()
            .one()
        )
        return _public(row)

    def set_share_token(self, screen_id: str, token: str | None) -> dict[str, Any]:
        """Publish the screen under ``token`` (shared now), or revoke its link (None); returns the screen."""
        if token is None:
            sql = f"UPDATE saved_screens SET share_token = NULL, shared_at = NULL WHERE id = :id RETURNING {_COLS}"
        else:
            sql = f"UPDATE saved_screens SET share_token = :t, shared_at = now() WHERE id = :id RETURNING {_COLS}"
        row = self.conn.execute(text(sql), {"t": token, "id": screen_id}).mappings().one()
        return _public(row)


class SavedScreenRepository(Repository[SavedScreenTx]):
    tx_class = SavedScreenTx

    def list_mine(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            total = conn.execute(
                text("SELECT count(*) FROM saved_screens WHERE user_id = :u"), {"u": user_id}
            ).scalar_one()
            rows = conn.execute(
                text(
                    f"SELECT {_COLS} FROM saved_screens WHERE user_id = :u ORDER BY created_at, id LIMIT :l OFFSET :o"
                ),
                {"u": user_id, "l": limit, "o": offset},
            ).mappings()
            return [_public(r) for r in rows], int(total)

    def get(self, user_id: str, screen_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return SavedScreenTx(conn).get(user_id, screen_id)

    def owns(self, user_id: str, screen_id: str) -> bool:
        """Whether ``screen_id`` (a UUID) is one of the user's screens."""
        with self.engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM saved_screens WHERE id = CAST(:id AS uuid) AND user_id = :u"),
                {"id": screen_id, "u": user_id},
            ).first()
        return found is not None

    def delete(self, user_id: str, screen_id: str) -> bool:
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM saved_screens WHERE id = :id AND user_id = :u"), {"id": screen_id, "u": user_id}
            ).rowcount
        return n > 0

    def by_token(self, token: str) -> dict[str, Any] | None:
        """The screen shared under ``token`` (the owner's view), or None."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(text(f"SELECT {_COLS} FROM saved_screens WHERE share_token = :t"), {"t": token})
                .mappings()
                .first()
            )
        return _public(row) if row is not None else None
