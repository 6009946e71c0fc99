"""A live feed for ``make dev``: replays the last session's bars as an intraday tape.

Each subscribed symbol walks from the previous close through the last session's open,
high and low to its close (with a little noise), then starts the session again; so the
page shows prices moving within the real last day's range.
"""

from __future__ import annotations

import datetime as dt
import random
import threading

from sqlalchemy import text

from stockscreen.core.observability import logger
from stockscreen.db.engine import get_engine
from stockscreen.realtime import Broadcaster, ConnectionRegistry, Quote, put_quotes


class ReplayFeed:
    STEPS_PER_SESSION = 60

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._sessions: dict[str, tuple[float, float, float, float, float, int] | None] = {}
        self._tick = 0
        self._rng = random.Random(7)

    def stop(self) -> None:
        self._stop.set()

    def _session(self, symbol: str) -> tuple[float, float, float, float, float, int] | None:
        """(previous close, open, high, low, close, volume) of the symbol's last session."""
        if symbol not in self._sessions:
            with get_engine().connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT b.open, b.high, b.low, b.close, b.volume FROM daily_bars b "
                        "JOIN securities s ON s.id = b.security_id WHERE s.symbol = :s ORDER BY b.date DESC LIMIT 2"
                    ),
                    {"s": symbol},
                ).all()
            if len(rows) < 2:
                self._sessions[symbol] = None
            else:
                last, prev = rows[0], rows[1]
                self._sessions[symbol] = (
                    float(prev[3]),
                    float(last[0]),
                    float(last[1]),
                    float(last[2]),
                    float(last[3]),
                    int(last[4]),
                )
        return self._sessions[symbol]

    def quote(self, symbol: str, tick: int) -> Quote | None:
        session = self._session(symbol)
        if session is None:
            return None
        prev_close, open_, high, low, close, volume = session
        # waypoints of the session: open, the nearer extreme, the other extreme, close
        first, second = (low, high) if abs(open_ - low) < abs(open_ - high) else (high, low)
        waypoints = [open_, first, second, close]
        frac = (tick % self.STEPS_PER_SESSION) / (self.STEPS_PER_SESSION - 1)
        pos = frac * (len(waypoints) - 1)
        i = min(int(pos), len(waypoints) - 2)
        base = waypoints[i] + (waypoints[i + 1] - waypoints[i]) * (pos - i)
        noise = self._rng.gauss(0, (high - low) * 0.02) if high > low else 0.0
        price = round(min(high, max(low, base + noise)), 2)
        return Quote(
            symbol=symbol,
            price=price,
            change_pct=round((price / prev_close - 1) * 100, 2) if prev_close else None,
            volume=int(volume * max(frac, 1 / self.STEPS_PER_SESSION)),
            ts=dt.datetime.now(dt.UTC),
        )

    def step(self) -> int:
        symbols = sorted(ConnectionRegistry().subscribed_symbols())
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
            except Exception as exc:  # the feed is a dev convenience; never take the server down
                logger.warning("replay feed step failed", extra={"error": str(exc)})
