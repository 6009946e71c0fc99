"""One-minute bars of the live quotes in PostgreSQL (``intraday_bars``; parameterised SQL only).

Each poll upserts one row per symbol for the minute of its quote: the first quote of a minute
opens the bar, later ones move its high, low and close. ``volume`` is what traded within the
minute: the growth of the day's cumulative volume since the symbol's previous bar of the same
UTC day (so the first bar a poller writes on a day carries the volume traded before it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from stockscreen.realtime.sources import IntradayQuote

#: How long one-minute bars are kept (the migration's retention; charts read at most this far back).
RETENTION_DAYS = 30

_UPSERT = text(
    """
    INSERT INTO intraday_bars AS b (symbol, minute, open, high, low, close, volume, day_volume)
    SELECT q.symbol, q.minute, q.price, q.price, q.price, q.price,
           CASE WHEN q.day_volume IS NULL THEN 0
                ELSE greatest(q.day_volume - coalesce(prev.day_volume, 0), 0) END,
           q.day_volume
    FROM unnest(CAST(:symbols AS text[]), CAST(:minutes AS timestamptz[]), CAST(:prices AS float8[]),
                CAST(:volumes AS bigint[])) AS q(symbol, minute, price, day_volume)
    LEFT JOIN LATERAL (
        SELECT p.day_volume FROM intraday_bars p
        WHERE p.symbol = q.symbol AND p.minute < q.minute
          AND p.minute >= date_trunc('day', q.minute AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        ORDER BY p.minute DESC LIMIT 1
    ) prev ON true
    ON CONFLICT (symbol, minute) DO UPDATE SET
        high = greatest(b.high, excluded.high),
        low = least(b.low, excluded.low),
        close = excluded.close,
        volume = b.volume + greatest(coalesce(excluded.day_volume - b.day_volume, 0), 0),
        day_volume = coalesce(excluded.day_volume, b.day_volume),
        updated_at = now()
    """
)

_NO_PARTITION = "23514"  # check_violation: "no partition of relation ... found for row"


def minute_of(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(dt.UTC).replace(second=0, microsecond=0)


class IntradayRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def prepare(self, days: int = 2) -> int:
        """Create the coming days' partitions (none on TimescaleDB); returns how many were created."""
        with self.engine.begin() as conn:
            return int(conn.execute(text("SELECT intraday_bars_prepare(:d)"), {"d": days}).scalar_one())

    def apply_retention(self, keep_days: int = RETENTION_DAYS) -> int:
        """Drop the partitions (chunks) wholly older than ``keep_days``; returns how many."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    text("SELECT intraday_bars_retention(make_interval(days => :d))"), {"d": keep_days}
                ).scalar_one()
            )

    def write(self, quotes: Sequence[IntradayQuote]) -> int:
        """Upsert the minute bar of each quote (at most one quote per symbol); returns how many."""
        if not quotes:
            return 0
        params = {
            "symbols": [q.symbol for q in quotes],
            "minutes": [minute_of(q.ts) for q in quotes],
            "prices": [q.price for q in quotes],
            "volumes": [q.volume for q in quotes],
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(_UPSERT, params)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != _NO_PARTITION:
                raise
            self.prepare()  # a day without its partition yet (the poller's prepare runs once a run)
            with self.engine.begin() as conn:
                conn.execute(_UPSERT, params)
        return len(quotes)

    def minute_bars(self, symbol: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """The symbol's one-minute bars in [start, end), ascending."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    text(
                        "SELECT minute, open, high, low, close, volume FROM intraday_bars "
                        "WHERE symbol = :s AND minute >= :start AND minute < :end ORDER BY minute"
                    ),
                    {"s": symbol.upper(), "start": start, "end": end},
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def candles(self, symbol: str, minutes: int, since: dt.datetime, limit: int) -> list[dict[str, Any]]:
        """The symbol's last ``limit`` candles of ``minutes`` minutes from the one holding ``since``, ascending.

        Candles are aggregated here, in SQL, from the one-minute bars: buckets aligned on the hour
        (``date_bin``, so 09:30 New York opens a five-minute candle), open of the first minute, close
        of the last, the extremes, the volume traded in the bucket and when its last quote was written.
        Only the latest ``limit * minutes`` bars can make the latest ``limit`` candles: they are found
        first (backwards along the primary key), so a query reads what it returns, not 30 days of bars."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "WITH lo AS (SELECT min(minute) AS minute FROM ("
                    "  SELECT minute FROM intraday_bars WHERE symbol = :s AND minute >= date_bin("
                    "    make_interval(mins => :m), CAST(:since AS timestamptz), TIMESTAMPTZ '2000-01-03 00:00+00')"
                    "  ORDER BY minute DESC LIMIT :rows) latest) "
                    "SELECT date_bin(make_interval(mins => :m), b.minute, TIMESTAMPTZ '2000-01-03 00:00+00') AS t, "
                    "(array_agg(b.open ORDER BY b.minute))[1], max(b.high), min(b.low), "
                    "(array_agg(b.close ORDER BY b.minute DESC))[1], sum(b.volume)::bigint, max(b.updated_at) "
                    "FROM intraday_bars b, lo WHERE b.symbol = :s "
                    "AND b.minute >= date_bin(make_interval(mins => :m), lo.minute, TIMESTAMPTZ '2000-01-03 00:00+00') "
                    "GROUP BY t ORDER BY t DESC LIMIT :limit"
                ),
                {"s": symbol.upper(), "m": minutes, "since": since, "limit": limit, "rows": limit * minutes},
            ).all()
        return [
            {"time": r[0], "open": r[1], "high": r[2], "low": r[3], "close": r[4], "volume": int(r[5]), "updated": r[6]}
            for r in reversed(rows)
        ]
