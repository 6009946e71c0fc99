"""Market data for the API and the other features: security search and profile, bars, latest quotes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine

from stockscreen.market.adapters import LiveQuotes, RedisLiveQuotes
from stockscreen.market.repository import Interval, MarketRepository
from stockscreen.market.repository import LastSession as LastSession
from stockscreen.realtime.messages import Quote


class MarketService:
    def __init__(self, repo: MarketRepository, live: LiveQuotes) -> None:
        self.repo = repo
        self.live = live

    @classmethod
    def from_engine(cls, engine: Engine) -> MarketService:
        return cls(MarketRepository(engine), RedisLiveQuotes())

    def search(self, q: str, limit: int) -> list[dict[str, Any]]:
        """Symbol or name prefix search; exact symbol first, then symbol prefix, then name prefix."""
        return self.repo.search(q, limit)

    def security(self, symbol: str) -> dict[str, Any]:
        """Profile and current snapshot of one security (NotFound for an unknown symbol)."""
        return self.repo.security(symbol)

    def bars(
        self, symbol: str, interval: Interval, start: dt.date | None, end: dt.date | None, limit: int
    ) -> list[dict[str, Any]]:
        """The last ``limit`` bars in [start, end], ascending."""
        return self.repo.bars(symbol, interval, start, end, limit)

    def last_sessions(self, symbols: list[str]) -> dict[str, LastSession]:
        """The latest daily bar of each known symbol, with the previous close (unknown symbols left out)."""
        return self.repo.last_sessions(symbols)

    def live_quotes(self, symbols: Iterable[str]) -> dict[str, Quote]:
        """The live (streamed) quote of each symbol that has one; none when the quote store is down."""
        return self.live.get(symbols)

    def latest_quotes(self, symbols: list[str]) -> list[dict[str, Any]]:
        """Latest quote of each known symbol, in the order asked (duplicates once): the live quote, else
        the last close of the current snapshot. Unknown symbols are left out."""
        wanted = list(dict.fromkeys(s.upper() for s in symbols))
        live = self.live.get(wanted)
        missing = [s for s in wanted if s not in live]
        snap = self.repo.snapshot_quotes(missing) if missing else {}
        out: list[dict[str, Any]] = []
        for s in wanted:
            if s in live:
                q = live[s]
                out.append(
                    {
                        "symbol": s,
                        "price": q.price,
                        "change_pct": q.change_pct,
                        "volume": q.volume,
                        "ts": q.ts.isoformat(),
                        "source": "live",
                    }
                )
            elif s in snap:
                out.append(snap[s])
        return out
