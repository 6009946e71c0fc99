"""Watchlists: named, ordered lists of symbols per user, with live quote fields on the items."""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from stockscreen.core import policy
from stockscreen.core.errors import Conflict, Invalid, NotFound
from stockscreen.core.observability import logger
from stockscreen.core.paging import PageRequest
from stockscreen.realtime.quotes import get_quotes


def _public(r: Any) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "name": r["name"],
        "position": int(r["position"]),
        "item_count": int(r["item_count"]),
        "created_at": r["created_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(),
    }


_SELECT = (
    "SELECT w.id, w.name, w.position, w.created_at, w.updated_at, "
    "(SELECT count(*) FROM watchlist_items i WHERE i.watchlist_id = w.id) AS item_count FROM watchlists w "
)


class WatchlistService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _owned(self, conn: Connection, user_id: str, wl_id: str, *, lock: bool = False) -> None:
        found = conn.execute(
            text("SELECT 1 FROM watchlists WHERE id = :id AND user_id = :u" + (" FOR UPDATE" if lock else "")),
            {"id": wl_id, "u": user_id},
        ).first()
        if found is None:
            raise NotFound(f"no watchlist {wl_id}")

    def list_mine(self, user_id: str, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            total = conn.execute(
                text("SELECT count(*) FROM watchlists WHERE user_id = :u"), {"u": user_id}
            ).scalar_one()
            rows = conn.execute(
                text(_SELECT + "WHERE w.user_id = :u ORDER BY w.position, w.created_at, w.id LIMIT :l OFFSET :o"),
                {"u": user_id, "l": page.limit, "o": page.offset},
            ).mappings()
            return [_public(r) for r in rows], int(total)

    def create(self, user_id: str, role: str, name: str) -> dict[str, Any]:
        try:
            with self.engine.begin() as conn:
                conn.execute(text("SELECT 1 FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})
                used = conn.execute(
                    text("SELECT count(*) FROM watchlists WHERE user_id = :u"), {"u": user_id}
                ).scalar_one()
                policy.check_quota(role, "watchlists", int(used))
                wl_id = conn.execute(
                    text(
                        "INSERT INTO watchlists (user_id, name, position) VALUES (:u, :n, "
                        "(SELECT coalesce(max(position) + 1, 0) FROM watchlists WHERE user_id = :u)) RETURNING id"
                    ),
                    {"u": user_id, "n": name},
                ).scalar_one()
        except IntegrityError:
            raise Conflict(f"you already have a watchlist named {name!r}") from None
        return self.get(user_id, str(wl_id))

    def get(self, user_id: str, wl_id: str) -> dict[str, Any]:
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
        quotes: dict[str, Any] = {}
        try:
            quotes = get_quotes([i[0] for i in items])
        except redis.RedisError as exc:
            logger.warning("live quotes unavailable", extra={"error": type(exc).__name__})
        out_items = []
        for sym, pos, note, added, name, close, chg, as_of in items:
            q = quotes.get(sym)
            out_items.append(
                {
                    "symbol": sym,
                    "name": name,
                    "position": int(pos),
                    "note": note,
                    "added_at": added.isoformat(),
                    "price": q.price if q else close,
                    "change_pct": q.change_pct if q else chg,
                    "volume": q.volume if q else None,
                    "quote_ts": q.ts.isoformat() if q else (as_of.isoformat() if as_of else None),
                    "quote_source": "live" if q else ("snapshot" if close is not None else None),
                }
            )
        return {**_public(row), "items": out_items}

    def rename(self, user_id: str, wl_id: str, name: str) -> dict[str, Any]:
        try:
            with self.engine.begin() as conn:
                n = conn.execute(
                    text("UPDATE watchlists SET name = :n, updated_at = now() WHERE id = :id AND user_id = :u"),
                    {"n": name, "id": wl_id, "u": user_id},
                ).rowcount
        except IntegrityError:
            raise Conflict(f"you already have a watchlist named {name!r}") from None
        if n == 0:
            raise NotFound(f"no watchlist {wl_id}")
        return self.get(user_id, wl_id)

    def delete(self, user_id: str, wl_id: str) -> None:
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM watchlists WHERE id = :id AND user_id = :u"), {"id": wl_id, "u": user_id}
            ).rowcount
        if n == 0:
            raise NotFound(f"no watchlist {wl_id}")

    def reorder(self, user_id: str, ids: list[str]) -> list[dict[str, Any]]:
        """Set the order of all the user's watchlists; ``ids`` must be exactly their ids."""
        with self.engine.begin() as conn:
            conn.execute(text("SELECT 1 FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})
            have = {
                str(r[0]) for r in conn.execute(text("SELECT id FROM watchlists WHERE user_id = :u"), {"u": user_id})
            }
            if len(ids) != len(set(ids)) or set(ids) != have:
                raise Invalid("ids must list each of your watchlists exactly once", {"expected": len(have)})
            for pos, wl_id in enumerate(ids):
                conn.execute(text("UPDATE watchlists SET position = :p WHERE id = :id"), {"p": pos, "id": wl_id})
        return self.list_mine(user_id, PageRequest(limit=100))[0]

    def add_item(self, user_id: str, role: str, wl_id: str, symbol: str, note: str | None) -> dict[str, Any]:
        symbol = symbol.upper()
        with self.engine.begin() as conn:
            self._owned(conn, user_id, wl_id, lock=True)
            if conn.execute(text("SELECT 1 FROM securities WHERE symbol = :s"), {"s": symbol}).first() is None:
                raise Invalid(f"unknown symbol {symbol!r}", {"symbol": symbol})
            used = conn.execute(
                text("SELECT count(*) FROM watchlist_items WHERE watchlist_id = :id"), {"id": wl_id}
            ).scalar_one()
            policy.check_quota(role, "watchlist_items", int(used))
            inserted = conn.execute(
                text(
                    "INSERT INTO watchlist_items (watchlist_id, symbol, position, note) VALUES (:id, :s, "
                    "(SELECT coalesce(max(position) + 1, 0) FROM watchlist_items WHERE watchlist_id = :id), :n) "
                    "ON CONFLICT DO NOTHING RETURNING symbol"
                ),
                {"id": wl_id, "s": symbol, "n": note},
            ).first()
            if inserted is None:
                raise Conflict(f"{symbol} is already on this watchlist")
            conn.execute(text("UPDATE watchlists SET updated_at = now() WHERE id = :id"), {"id": wl_id})
        return self.get(user_id, wl_id)

    def remove_item(self, user_id: str, wl_id: str, symbol: str) -> None:
        with self.engine.begin() as conn:
            self._owned(conn, user_id, wl_id)
            n = conn.execute(
                text("DELETE FROM watchlist_items WHERE watchlist_id = :id AND symbol = :s"),
                {"id": wl_id, "s": symbol.upper()},
            ).rowcount
            if n == 0:
                raise NotFound(f"{symbol.upper()} is not on this watchlist")

    def reorder_items(self, user_id: str, wl_id: str, symbols: list[str]) -> dict[str, Any]:
        wanted = [s.upper() for s in symbols]
        with self.engine.begin() as conn:
            self._owned(conn, user_id, wl_id, lock=True)
            have = {
                r[0]
                for r in conn.execute(
                    text("SELECT symbol FROM watchlist_items WHERE watchlist_id = :id"), {"id": wl_id}
                )
            }
            if len(wanted) != len(set(wanted)) or set(wanted) != have:
                raise Invalid("symbols must list each item of the watchlist exactly once", {"expected": len(have)})
            for pos, sym in enumerate(wanted):
                conn.execute(
                    text("UPDATE watchlist_items SET position = :p WHERE watchlist_id = :id AND symbol = :s"),
                    {"p": pos, "id": wl_id, "s": sym},
                )
        return self.get(user_id, wl_id)
