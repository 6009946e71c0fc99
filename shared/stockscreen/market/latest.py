"""Latest quotes for many symbols: the live quote in Redis (``quote:{SYMBOL}``), else the last close
of the current snapshot. Redis being down degrades to the snapshot, never to an error."""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy import Engine, text

from stockscreen.core.observability import logger
from stockscreen.realtime.quotes import get_quotes


def latest_quotes(engine: Engine, symbols: list[str]) -> list[dict[str, Any]]:
    wanted = list(dict.fromkeys(s.upper() for s in symbols))
    live: dict[str, Any] = {}
    try:
        live = get_quotes(wanted)
    except redis.RedisError as exc:
        logger.warning("live quotes unavailable", extra={"error": type(exc).__name__})
    missing = [s for s in wanted if s not in live]
    snap: dict[str, dict[str, Any]] = {}
    if missing:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.symbol, r.close, r.change_pct, r.volume, r.as_of FROM securities s "
                    "JOIN snapshot_versions v ON v.is_current "
                    "JOIN snapshot_rows r ON r.version = v.version AND r.security_id = s.id "
                    "WHERE s.symbol = ANY(:syms)"
                ),
                {"syms": missing},
            ).all()
        snap = {
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
