"""The stock page's intraday chart: candles from the poller's one-minute bars, and the market session.

:class:`IntradayService` answers ``GET /api/securities/{symbol}/intraday``: 1- or 5-minute candles
(aggregated in SQL by :meth:`~stockscreen.realtime.repository.IntradayRepository.candles`) and the
:class:`MarketSession` the SPA shows beside them: open or closed (the exchange calendar's regular
hours, as the poller obeys them; ``make dev``'s replay feed polls at any hour, so there it is always
open), why it is closed, when it next opens, and the last price with its time (the live quote, else
the last minute bar, else the last daily close).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from stockscreen.market.calendar import market_closed_reason, next_open, session_close
from stockscreen.realtime.repository import RETENTION_DAYS, IntradayRepository

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from stockscreen.market.service import MarketService

IntradayInterval = Literal["1m", "5m"]
MINUTES: dict[IntradayInterval, int] = {"1m": 1, "5m": 5}


@dataclass(frozen=True)
class MarketSession:
    is_open: bool
    #: why the session is not running ("weekend", "after the close", a holiday's name), None while open
    reason: str | None
    #: the start of the next regular session (None while open)
    next_open: dt.datetime | None
    last_price: float | None
    last_price_at: dt.datetime | None
    #: the live feed's provider ("stooq", "replay")
    feed: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "is_open": self.is_open,
            "reason": self.reason,
            "next_open": self.next_open.isoformat() if self.next_open else None,
            "last_price": self.last_price,
            "last_price_at": self.last_price_at.isoformat() if self.last_price_at else None,
            "feed": self.feed,
        }


class IntradayService:
    def __init__(
        self,
        repo: IntradayRepository,
        market: MarketService,
        *,
        feed: str = "stooq",
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.repo = repo
        self.market = market
        self.feed = feed
        #: the poller obeys market hours except with the replay feed (realtime.poller.build_poller)
        self.market_hours = feed != "replay"
        self._now = now

    @classmethod
    def from_engine(cls, engine: Engine) -> IntradayService:
        from stockscreen.core.config import chart_settings
        from stockscreen.market.service import MarketService

        return cls(IntradayRepository(engine), MarketService.from_engine(engine), feed=chart_settings().quote_provider)

    def session(self, symbol: str, last_bar: dict[str, Any] | None = None) -> MarketSession:
        """The market session and ``symbol``'s last price; ``last_bar`` is its latest minute bar, if known."""
        now = self._now()
        reason = market_closed_reason(now) if self.market_hours else None
        price, at = self._last_price(symbol, last_bar)
        return MarketSession(
            is_open=reason is None,
            reason=reason,
            next_open=next_open(now) if reason is not None else None,
            last_price=price,
            last_price_at=at,
            feed=self.feed,
        )

    def _last_price(self, symbol: str, last_bar: dict[str, Any] | None) -> tuple[float | None, dt.datetime | None]:
        live = self.market.live_quotes([symbol]).get(symbol.upper())
        if live is not None:
            return live.price, live.ts
        if last_bar is None:
            bars = self.repo.candles(symbol, 1, self._now() - dt.timedelta(days=RETENTION_DAYS), 1)
            last_bar = bars[-1] if bars else None
        if last_bar is not None:
            return float(last_bar["close"]), last_bar["updated"]
        daily = self.market.last_sessions([symbol]).get(symbol.upper())
        if daily is not None:
            return daily.close, session_close(daily.date)
        return None, None

    def candles(
        self, symbol: str, interval: IntradayInterval, since: dt.datetime | None = None, limit: int = 1000
    ) -> dict[str, Any]:
        """The last ``limit`` candles from the one holding ``since`` (default: as far back as bars are kept),
        and the market session. An unknown symbol is NotFound."""
        sym = symbol.upper()
        self.market.security(sym)  # NotFound for an unknown symbol
        if since is None:
            since = self._now() - dt.timedelta(days=RETENTION_DAYS)
        elif since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        data = self.repo.candles(sym, MINUTES[interval], since, limit)
        session = self.session(sym, data[-1] if data else None)
        return {
            "symbol": sym,
            "interval": interval,
            "data": [
                {"time": c["time"].isoformat(), **{k: c[k] for k in ("open", "high", "low", "close", "volume")}}
                for c in data
            ],
            "session": session.to_dict(),
        }
