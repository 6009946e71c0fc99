"""Latest quotes for many symbols at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.deps import market
from chalicelib.http import query, route
from chalicelib.lazy import LazyModule

if TYPE_CHECKING:
    from chalicelib.schemas import quotes as schema
else:
    schema = LazyModule("chalicelib.schemas.quotes")

bp = Blueprint(__name__)


@route(
    bp,
    "/quotes",
    methods=["GET"],
    feature="market.read",
    params=lambda: schema.QuotesQuery,
    response=lambda: schema.QuotesPublic,
)
def quotes() -> dict[str, Any]:
    """Latest quote of each symbol (live when streaming, else the last snapshot close)."""
    q = query(bp.current_request, schema.QuotesQuery)
    symbols = q.symbols.split(",")
    data = market().latest_quotes(symbols)
    found = {d["symbol"] for d in data}
    return {"data": data, "count": len(data), "missing": [s.upper() for s in symbols if s.upper() not in found]}
