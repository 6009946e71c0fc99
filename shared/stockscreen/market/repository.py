"""Read access to securities, bars and snapshot quotes (parameterised SQL only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, text

from stockscreen.core.errors import NotFound
from stockscreen.screening.fields import METRIC_FIELDS

Interval = Literal["1d", "1w", "1mo"]
_ROLLUP = {"1w": "bars_weekly", "1mo": "bars_monthly"}


@dataclass(frozen=True)
class LastSession:
    """A symbol's latest daily bar and the close of the bar before it (what the replay feed walks)."""

    symbol: str
    date: dt.date
    prev_close: float | None
    open: float
    high: float
    low: float
    close: float
    volume: int


class MarketRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def search(self, q: str, limit: int) -> list[dict[str, Any]]:
        """Symbol or name prefix search; exact symbol first, then symbol prefix, then name prefix."""
        pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    text(
                        "SELECT symbol, name, sector, industry FROM securities "
                        "WHERE symbol LIKE upper(:p) OR lower(name) LIKE lower(:p) "
                        "OR lower(name) LIKE '% ' || lower(:p) "
                        "ORDER BY (symbol = upper(:q)) DESC, (symbol LIKE upper(:p)) DESC, "
                        "(lower(name) LIKE lower(:p)) DESC, symbol LIMIT :limit"
                    ),
                    {"p": pattern, "q": q, "limit": limit},
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def security(self, symbol: str) -> dict[str, Any]:
        cols = ", ".join(f"r.{c}" for c in METRIC_FIELDS)
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text(
                        "SELECT s.id, s.symbol, s.name, s.sector, s.industry, s.headquarters, s.hq_state, "
                        "s.hq_country, "
                        f"s.date_added, r.as_of AS snapshot_as_of, {cols} FROM securities s "
                        "LEFT JOIN snapshot_versions v ON v.is_current "
                        "LEFT JOIN snapshot_rows r ON r.version = v.version AND r.security_id = s.id "
                        "WHERE s.symbol = :s"
                    ),
                    {"s": symbol.upper()},
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"unknown symbol {symbol.upper()!r}")
        profile = {
            k: row[k] for k in ("symbol", "name", "sector", "industry", "headquarters", "hq_state", "hq_country")
        }
        profile["date_added"] = row["date_added"].isoformat() if row["date_added"] else None
        snap = None
        if row["snapshot_as_of"] is not None:
            snap = {"as_of": row["snapshot_as_of"].isoformat(), **{c: row[c] for c in METRIC_FIELDS}}
        return {**profile, "snapshot": snap}

    def bars(
        self, symbol: str, interval: Interval, start: dt.date | None, end: dt.date | None, limit: int
    ) -> list[dict[str, Any]]:
        """The last ``limit`` bars in [start, end], ascending. Weekly/monthly bars are rolled up (from the raw
        prices: their ``adj_close`` is None); a daily bar has the adjusted close its file gave, or None."""
        with self.engine.connect() as conn:
            sid = conn.execute(text("SELECT id FROM securities WHERE symbol = :s"), {"s": symbol.upper()}).scalar()
            if sid is None:
                raise NotFound(f"unknown symbol {symbol.upper()!r}")
            params = {
                "sid": sid,
                "start": start or dt.date(1900, 1, 1),
                "end": end or dt.date(9999, 12, 31),
                "limit": limit,
            }
            if interval == "1d":
                sql = (
                    "SELECT date, open, high, low, close, volume, adj_close FROM daily_bars WHERE security_id = :sid "
                    "AND date BETWEEN :start AND :end ORDER BY date DESC LIMIT :limit"
                )
            else:
                # weekly/monthly bars come from the rollups the pipeline maintains (continuous
                # aggregates on TimescaleDB): whole periods overlapping [start, end]
                table = _ROLLUP[interval]  # whitelisted: bars_weekly or bars_monthly
                sql = (  # (the rollups are of the raw prices: no adjusted close)
                    f"SELECT first_date, open, high, low, close, volume, NULL FROM {table} WHERE security_id = :sid "
                    "AND last_date >= :start AND first_date <= :end ORDER BY period_start DESC LIMIT :limit"
                )
            rows = conn.execute(text(sql), params).all()
        return [
            {
                "date": r[0].isoformat(),
                "open": r[1],
                "high": r[2],
                "low": r[3],
                "close": r[4],
                "volume": int(r[5]),
                "adj_close": r[6],
            }
            for r in reversed(rows)
        ]

    def snapshot_quotes(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """The last close of the current snapshot for each of ``symbols`` that has one, by symbol."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.symbol, r.close, r.change_pct, r.volume, r.as_of FROM securities s "
                    "JOIN snapshot_versions v ON v.is_current "
                    "JOIN snapshot_rows r ON r.version = v.version AND r.security_id = s.id "
                    "WHERE s.symbol = ANY(:syms)"
                ),
                {"syms": symbols},
            ).all()
        return {
            r[0]: {
                "symbol": r[0],
                "price": r[1],
                "change_pct": r[2],
                "volume": int(r[3]) if r[3] is not None else None,
                "ts": r[4].isoformat(),
                "source": "snapshot",
            }
            for r in rows
        }

    def last_sessions(self, symbols: list[str]) -> dict[str, LastSession]:
        """The latest daily bar of each known symbol with the previous bar's close (one query)."""
        if not symbols:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.symbol, b.date, b.open, b.high, b.low, b.close, b.volume FROM securities s "
                    "CROSS JOIN LATERAL (SELECT date, open, high, low, close, volume FROM daily_bars d "
                    "WHERE d.security_id = s.id ORDER BY d.date DESC LIMIT 2) b "
                    "WHERE s.symbol = ANY(:symbols) ORDER BY s.symbol, b.date DESC"
                ),
                {"symbols": [s.upper() for s in symbols]},
            ).all()
        out: dict[str, LastSession] = {}
        for symbol, date, open_, high, low, close, volume in rows:
            last = out.get(symbol)
            if last is None:
                out[symbol] = LastSession(
                    symbol, date, None, float(open_), float(high), float(low), float(close), int(volume)
                )
            elif last.prev_close is None:
                out[symbol] = LastSession(
                    symbol, last.date, float(close), last.open, last.high, last.low, last.close, last.volume
                )
        return out
