"""A live feed for ``make dev``: replays the last sessions' closes so prices move on screen."""

from __future__ import annotations

import datetime as dt
import random
import threading
from typing import Any

from sqlalchemy import text

from stockscreen.db.engine import get_engine
from stockscreen.observability import logger
from stockscreen.realtime import Broadcaster, ConnectionRegistry, Quote, put_quotes


class ReplayFeed:
    """Every ``interval`` seconds, moves each subscribed symbol one step along its recent closes.

    Between two daily closes the price walks in small steps with a little noise, so the
    page shows a plausible intraday tape built from real bars.
    """

    STEPS_PER_DAY = 30

    def __init__(self, interval: float = 2.0, sessions: int = 20) -> None:
        self.interval = interval
        self.sessions = sessions
        self._stop = threading.Event()
        self._paths: dict[str, list[tuple[float, int]]] = {}
        self._tick = 0
        self._rng = random.Random(7)

    def stop(self) -> None:
        self._stop.set()

    def _path(self, symbol: str) -> list[tuple[float, int]]:
        if symbol not in self._paths:
            with get_engine().connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT b.close, b.volume FROM daily_bars b JOIN securities s ON s.id = b.security_id "
                        "WHERE s.symbol = :s ORDER BY b.date DESC LIMIT :n"
                    ),
                    {"s": symbol, "n": self.sessions},
                ).all()
            self._paths[symbol] = [(float(r[0]), int(r[1])) for r in reversed(rows)]
        return self._paths[symbol]

    def quote(self, symbol: str, tick: int) -> Quote | None:
        path = self._path(symbol)
        if len(path) < 2:
            return None
        day, step = divmod(tick, self.STEPS_PER_DAY)
        i = day % (len(path) - 1)
        prev_close, _ = path[i]
        close, volume = path[i + 1]
        frac = (step + 1) / self.STEPS_PER_DAY
        noise = 1.0 + self._rng.gauss(0, 0.0015) * (1 - frac)
        price = round((prev_close + (close - prev_close) * frac) * noise, 2)
        return Quote(
            symbol=symbol,
            price=price,
            change_pct=round((price / prev_close - 1) * 100, 2),
            volume=int(volume * frac),
            ts=dt.datetime.now(dt.UTC),
        )

    def step(self) -> int:
        registry = ConnectionRegistry()
        symbols = sorted(registry.subscribed_symbols())
        quotes = [q for q in (self.quote(s, self._tick) for s in symbols) if q is not None]
        self._tick += 1
        if not quotes:
            return 0
        put_quotes(quotes)
        return Broadcaster.from_settings().broadcast_quotes(quotes)

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except Exception as exc:
                logger.warning("replay feed step failed", extra={"error": str(exc)})

    def snapshot(self) -> dict[str, Any]:
        return {"tick": self._tick, "symbols": len(self._paths)}
