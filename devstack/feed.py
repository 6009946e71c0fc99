"""A live feed for ``make dev``: the replay quote source (stockscreen.realtime.sources.ReplayQuotes) on a timer."""

from __future__ import annotations

import threading

from stockscreen.core.observability import logger
from stockscreen.db.engine import get_engine
from stockscreen.market.service import MarketService
from stockscreen.realtime import Broadcaster, ConnectionRegistry, put_quotes
from stockscreen.realtime.sources import ReplayQuotes


class ReplayFeed:
    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self.source = ReplayQuotes(lambda symbols: MarketService.from_engine(get_engine()).last_sessions(symbols))

    def stop(self) -> None:
        self._stop.set()

    def step(self) -> int:
        symbols = sorted(ConnectionRegistry().subscribed_symbols())
        quotes = [q.to_quote() for q in self.source.fetch(symbols).quotes]
        if not quotes:
            return 0
        put_quotes(quotes)
        return Broadcaster.from_settings().broadcast_quotes(quotes)

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except Exception as exc:  # the feed is a dev convenience; never take the server down
                logger.warning("replay feed step failed", extra={"error": str(exc)})
