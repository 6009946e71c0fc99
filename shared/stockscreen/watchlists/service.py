"""Watchlists: named, ordered lists of symbols per user, with live quote fields on the items."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine

from stockscreen.core import policy
from stockscreen.core.errors import Conflict, Invalid, NotFound
from stockscreen.core.paging import PageRequest
from stockscreen.market.service import MarketService
from stockscreen.watchlists.repository import WatchlistRepository


class WatchlistService:
    def __init__(self, repo: WatchlistRepository, market: MarketService) -> None:
        self.repo = repo
        self.market = market

    @classmethod
    def from_engine(cls, engine: Engine) -> WatchlistService:
        return cls(WatchlistRepository(engine), MarketService.from_engine(engine))

    def list_mine(self, user_id: str, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        return self.repo.list_mine(user_id, page.limit, page.offset)

    def create(self, user_id: str, role: str, name: str) -> dict[str, Any]:
        with self.repo.transaction() as tx:
            tx.lock_user(user_id)
            policy.check_quota(role, "watchlists", tx.count(user_id))
            wl_id = tx.insert(user_id, name)
        return self.get(user_id, wl_id)

    def get(self, user_id: str, wl_id: str) -> dict[str, Any]:
        """The watchlist with its items: the live quote of each item, else its last snapshot close."""
        watchlist, items = self.repo.get(user_id, wl_id)
        quotes = self.market.live_quotes([i.symbol for i in items])
        out_items = []
        for i in items:
            q = quotes.get(i.symbol)
            out_items.append(
                {
                    "symbol": i.symbol,
                    "name": i.name,
                    "position": i.position,
                    "note": i.note,
                    "added_at": i.added_at.isoformat(),
                    "price": q.price if q else i.close,
                    "change_pct": q.change_pct if q else i.change_pct,
                    "volume": q.volume if q else None,
                    "quote_ts": q.ts.isoformat() if q else (i.as_of.isoformat() if i.as_of else None),
                    "quote_source": "live" if q else ("snapshot" if i.close is not None else None),
                }
            )
        return {**watchlist, "items": out_items}

    def members(self, wl_ids: list[str]) -> dict[str, list[str]]:
        """The symbols of each watchlist (the alert evaluator follows lists through this)."""
        return self.repo.members(wl_ids)

    def members_fingerprint(self) -> str:
        """A value that changes whenever any watchlist's membership changes."""
        return self.repo.members_fingerprint()

    def require_owned(self, user_id: str, wl_id: str) -> None:
        """NotFound unless ``wl_id`` is one of the user's watchlists (used by watchlist alerts)."""
        try:
            uuid.UUID(wl_id)
        except ValueError:
            raise NotFound(f"no watchlist {wl_id}", {"watchlist_id": wl_id}) from None
        self.repo.get(user_id, wl_id)

    def rename(self, user_id: str, wl_id: str, name: str) -> dict[str, Any]:
        if not self.repo.rename(user_id, wl_id, name):
            raise NotFound(f"no watchlist {wl_id}")
        return self.get(user_id, wl_id)

    def delete(self, user_id: str, wl_id: str) -> None:
        if not self.repo.delete(user_id, wl_id):
            raise NotFound(f"no watchlist {wl_id}")

    def reorder(self, user_id: str, ids: list[str]) -> list[dict[str, Any]]:
        """Set the order of all the user's watchlists; ``ids`` must be exactly their ids."""
        with self.repo.transaction() as tx:
            tx.lock_user(user_id)
            have = tx.ids(user_id)
            if len(ids) != len(set(ids)) or set(ids) != have:
                raise Invalid("ids must list each of your watchlists exactly once", {"expected": len(have)})
            for pos, wl_id in enumerate(ids):
                tx.set_position(wl_id, pos)
        return self.list_mine(user_id, PageRequest(limit=100))[0]

    def add_item(self, user_id: str, role: str, wl_id: str, symbol: str, note: str | None) -> dict[str, Any]:
        symbol = symbol.upper()
        with self.repo.transaction() as tx:
            tx.lock_owned(user_id, wl_id, lock=True)
            if not tx.symbol_exists(symbol):
                raise Invalid(f"unknown symbol {symbol!r}", {"symbol": symbol})
            policy.check_quota(role, "watchlist_items", tx.count_items(wl_id))
            if not tx.insert_item(wl_id, symbol, note):
                raise Conflict(f"{symbol} is already on this watchlist")
            tx.touch(wl_id)
        return self.get(user_id, wl_id)

    def remove_item(self, user_id: str, wl_id: str, symbol: str) -> None:
        with self.repo.transaction() as tx:
            tx.lock_owned(user_id, wl_id)
            if not tx.delete_item(wl_id, symbol.upper()):
                raise NotFound(f"{symbol.upper()} is not on this watchlist")

    def reorder_items(self, user_id: str, wl_id: str, symbols: list[str]) -> dict[str, Any]:
        wanted = [s.upper() for s in symbols]
        with self.repo.transaction() as tx:
            tx.lock_owned(user_id, wl_id, lock=True)
            have = tx.item_symbols(wl_id)
            if len(wanted) != len(set(wanted)) or set(wanted) != have:
                raise Invalid("symbols must list each item of the watchlist exactly once", {"expected": len(have)})
            for pos, sym in enumerate(wanted):
                tx.set_item_position(wl_id, sym, pos)
        return self.get(user_id, wl_id)

    def symbols_of_active_users(self, days: int) -> set[str]:
        """The symbols the live quote poller keeps fresh for watchlists: those of users active lately."""
        return self.repo.symbols_of_active_users(days)
