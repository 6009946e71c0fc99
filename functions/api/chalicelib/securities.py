"""Securities: search, profile, bars, intraday candles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.deps import intraday, market
from chalicelib.http import query, route
from chalicelib.lazy import LazyModule

if TYPE_CHECKING:
    from chalicelib.schemas import securities as schema
else:
    schema = LazyModule("chalicelib.schemas.securities")

bp = Blueprint(__name__)


@route(
    bp,
    "/securities",
    methods=["GET"],
    feature="market.read",
    cache_ttl=60,
    params=lambda: schema.SearchQuery,
    response=lambda: schema.SecuritiesPublic,
)
def search() -> dict[str, Any]:
    """Search securities by symbol or name prefix."""
    q = query(bp.current_request, schema.SearchQuery)
    data = market().search(q.q, q.limit)
    return {"data": data, "count": len(data)}


@route(
    bp,
    "/securities/{symbol}",
    methods=["GET"],
    feature="market.read",
    cache_ttl=300,
    response=lambda: schema.SecurityPublic,
)
def security(symbol: str) -> dict[str, Any]:
    """Profile, fundamentals and the latest snapshot of one security."""
    sym = schema.SymbolPath(symbol=symbol).symbol
    return market().security(sym)


@route(
    bp,
    "/securities/{symbol}/bars",
    methods=["GET"],
    feature="market.read",
    cache_ttl=300,
    params=lambda: schema.BarsQuery,
    response=lambda: schema.BarsPublic,
)
def bars(symbol: str) -> dict[str, Any]:
    """Daily, weekly or monthly bars, ascending."""
    sym = schema.SymbolPath(symbol=symbol).symbol
    q = query(bp.current_request, schema.BarsQuery)
    data = market().bars(sym, q.interval, q.start, q.end, q.limit)
    return {"symbol": sym.upper(), "interval": q.interval, "data": data}


@route(
    bp,
    "/securities/{symbol}/intraday",
    methods=["GET"],
    feature="market.read",
    cache_ttl=5,
    params=lambda: schema.IntradayQuery,
    response=lambda: schema.IntradayPublic,
)
def intraday_candles(symbol: str) -> dict[str, Any]:
    """One- or five-minute candles of the live feed, and the market session (open, last price, next open)."""
    sym = schema.SymbolPath(symbol=symbol).symbol
    q = query(bp.current_request, schema.IntradayQuery)
    return intraday().candles(sym, q.interval, q.since, q.limit)
