"""Watchlists and their items in PostgreSQL (parameterised SQL only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from stockscreen.core.errors import Conflict, NotFound
from stockscreen.db.repository import Repository, UserRowsTx
from stockscreen.watchlists.models import ItemRow

_SELECT = (
    "SELECT w.id, w.name, w.position, w.created_at, w.updated_at, "
    "(SELECT count(*) FROM watchlist_items i WHERE i.watchlist_id = w.id) AS item_count FROM watchlists w "
)


def _public(r: Any) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "name": r["name"],
        "position": int(r["position"]),
        "item_count": int(r["item_count"]),
        "created_at": r["created_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(),
    }


def _duplicate_name(name: str) -> Conflict:
    return Conflict(f"you already have a watchlist named {name!r}")


class WatchlistTx(UserRowsTx):
    """The statements of one write transaction (see :meth:`WatchlistRepository.transaction`)."""

    table = "watchlists"

    def insert(self, user_id: str, name: str) -> str:
        """A new watchlist at the end of the user's order (Conflict when the name is taken)."""
        try:
            wl_id = self.conn.execute(
                text(
                    "INSERT INTO watchlists (user_id, name, position) VALUES (:u, :n, "
                    "(SELECT coalesce(max(position) + 1, 0) FROM watchlists WHERE user_id = :u)) RETURNING id"
                ),
                {"u": user_id, "n": name},
            ).scalar_one()
        except IntegrityError:
            raise _duplicate_name(name) from None
        return str(wl_id)

    def ids(self, user_id: str) -> set[str]:
        return {
            str(r[0]) for r in self.conn.execute(text("SELECT id FROM watchlists WHERE user_id = :u"), {"u": user_id})
        }

    def set_position(self, wl_id: str, position: int) -> None:
        self.conn.execute(text("UPDATE watchlists SET position = :p WHERE id = :id"), {"p": position, "id": wl_id})

    def lock_owned(self, user_id: str, wl_id: str, *, lock: bool = False) -> None:
        """NotFound unless the watchlist is the user's (and lock its row when ``lock``)."""
        found = self.conn.execute(
            text("SELECT 1 FROM watchlists WHERE id = :id AND user_id = :u" + (" FOR UPDATE" if lock else "")),
            {"id": wl_id, "u": user_id},
        ).first()
        if found is None:
            raise NotFound(f"no watchlist {wl_id}")

    def symbol_exists(self, symbol: str) -> bool:
        return self.conn.execute(text("SELECT 1 FROM securities WHERE symbol = :s"), {"s": symbol}).first() is not None

    def count_items(self, wl_id: str) -> int:
        return int(
            self.conn.execute(
                text("SELECT count(*) FROM watchlist_items WHERE watchlist_id = :id"), {"id": wl_id}
            ).scalar_one()
        )

    def insert_item(self, wl_id: str, symbol: str, note: str | None) -> bool:
        """Append the symbol to the watchlist; False when it is already on it."""
        inserted = self.conn.execute(
            text(
                "INSERT INTO watchlist_items (watchlist_id, symbol, position, note) VALUES (:id, :s, "
                "(SELECT coalesce(max(position) + 1, 0) FROM watchlist_items WHERE watchlist_id = :id), :n) "
                "ON CONFLICT DO NOTHING RETURNING symbol"
            ),
            {"id": wl_id, "s": symbol, "n": note},
        ).first()
        return inserted is not None

    def touch(self, wl_id: str) -> None:
        self.conn.execute(text("UPDATE watchlists SET updated_at = now() WHERE id = :id"), {"id": wl_id})

    def delete_item(self, wl_id: str, symbol: str) -> bool:
        n = self.conn.execute(
            text("DELETE FROM watchlist_items WHERE watchlist_id = :id AND symbol = :s"),
            {"id": wl_id, "s": symbol},
        ).rowcount
        return n > 0

    def item_symbols(self, wl_id: str) -> set[str]:
        return {
            r[0]
            for r in self.conn.execute(
                text("SELECT symbol FROM watchlist_items WHERE watchlist_id = :id"), {"id": wl_id}
            )
        }

    def set_item_position(self, wl_id: str, symbol: str, position: int) -> None:
        self.conn.execute(
            text("UPDATE watchlist_items SET position = :p WHERE watchlist_id = :id AND symbol = :s"),
            {"p": position, "id": wl_id, "s": symbol},
        )


class WatchlistRepository(Repository[WatchlistTx]):
    tx_class = WatchlistTx

    def list_mine(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            total = conn.execute(
                text("SELECT count(*) FROM watchlists WHERE user_id = :u"), {"u": user_id}
            ).scalar_one()
            rows = conn.execute(
                text(_SELECT + "WHERE w.user_id = :u ORDER BY w.position, w.created_at, w.id LIMIT :l OFFSET :o"),
                {"u": user_id, "l": limit, "o": offset},
            ).mappings()
            return [_public(r) for r in rows], int(total)

    def get(self, user_id: str, wl_id: str) -> tuple[dict[str, Any], list[ItemRow]]:
        """The user's watchlist and its items in order (NotFound when it isn't theirs)."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(text(_SELECT + "WHERE w.id = :id AND w.user_id = :u"), {"id": wl_id, "u": user_id})
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"no watchlist {wl_id}")
            items = conn.execute(
                text(
                    "SELECT i.symbol, i.position, i.note, i.added_at, s.name, r.close, r.change_pct, r.as_of "
                    "FROM watchlist_items i LEFT JOIN securities s ON s.symbol = i.symbol "
                    "LEFT JOIN snapshot_versions v ON v.is_current "
                    "LEFT JOIN snapshot_rows r ON r.version = v.version AND r.security_id = s.id "
                    "WHERE i.watchlist_id = :id ORDER BY i.position, i.symbol"
                ),
                {"id": wl_id},
            ).all()
        return _public(row), [
            ItemRow(
                symbol=i[0],
                position=int(i[1]),
                note=i[2],
                added_at=i[3],
                name=i[4],
                close=i[5],
                change_pct=i[6],
                as_of=i[7],
            )
            for i in items
        ]

    def members(self, wl_ids: list[str]) -> dict[str, list[str]]:
        """The symbols of each watchlist (any owner), in list order; for the alert evaluator."""
        out: dict[str, list[str]] = {w: [] for w in wl_ids}
        if not wl_ids:
            return out
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT watchlist_id::text, symbol FROM watchlist_items "
                    "WHERE watchlist_id = ANY(CAST(:ids AS uuid[])) ORDER BY watchlist_id, position, symbol"
                ),
                {"ids": wl_ids},
            ).all()
        for wl_id, symbol in rows:
            out[str(wl_id)].append(str(symbol))
        return out

    def members_fingerprint(self) -> str:
        """Changes whenever an item is added to or removed from any watchlist, or a list is deleted."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT count(*), max(added_at) FROM watchlist_items")).one()
            lists = conn.execute(text("SELECT count(*) FROM watchlists")).scalar_one()
        return f"{row[0]}:{row[1]}:{lists}"

    def rename(self, user_id: str, wl_id: str, name: str) -> bool:
        """False when the user has no such watchlist (Conflict when the name is taken)."""
        try:
            with self.engine.begin() as conn:
                n = conn.execute(
                    text("UPDATE watchlists SET name = :n, updated_at = now() WHERE id = :id AND user_id = :u"),
                    {"n": name, "id": wl_id, "u": user_id},
                ).rowcount
        except IntegrityError:
            raise _duplicate_name(name) from None
        return n > 0

    def delete(self, user_id: str, wl_id: str) -> bool:
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM watchlists WHERE id = :id AND user_id = :u"), {"id": wl_id, "u": user_id}
            ).rowcount
        return n > 0

    def symbols_of_active_users(self, days: int) -> set[str]:
        """Every symbol on a watchlist of an enabled user active (signed in, or a session refreshed)
        within the last ``days`` days."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT DISTINCT i.symbol FROM watchlist_items i "
                    "JOIN watchlists w ON w.id = i.watchlist_id JOIN users u ON u.id = w.user_id "
                    "WHERE NOT u.disabled AND (u.last_login_at >= now() - make_interval(days => :days) "
                    "OR EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.user_id = u.id "
                    "AND t.created_at >= now() - make_interval(days => :days)))"
                ),
                {"days": days},
            ).scalars()
            return {str(s) for s in rows}
