"""Latest quotes for many symbols at once."""

from __future__ import annotations

from typing import Annotated, Any

from chalice.app import Blueprint
from pydantic import ConfigDict, Field, StringConstraints, field_validator

from chalicelib.http import query, route
from chalicelib.models import ApiModel
from stockscreen.db.engine import get_engine
from stockscreen.market.latest import latest_quotes

bp = Blueprint(__name__)
MAX_SYMBOLS = 200


class QuotesQuery(ApiModel):
    model_config = ConfigDict(extra="forbid")
    symbols: Annotated[str, StringConstraints(min_length=1, max_length=4000)] = Field(
        description=f"Comma-separated symbols, at most {MAX_SYMBOLS}"
    )

    @field_validator("symbols")
    @classmethod
    def _check(cls, v: str) -> str:
        import re

        syms = [s.strip() for s in v.split(",") if s.strip()]
        if not syms:
            raise ValueError("give at least one symbol")
        if len(syms) > MAX_SYMBOLS:
            raise ValueError(f"at most {MAX_SYMBOLS} symbols per request")
        bad = [s for s in syms if not re.fullmatch(r"[A-Za-z0-9.\-]{1,16}", s)]
        if bad:
            raise ValueError(f"invalid symbol {bad[0][:20]!r}")
        return ",".join(syms)


class QuotePublic(ApiModel):
    symbol: str
    price: float | None
    change_pct: float | None
    volume: int | None
    ts: str
    source: str = Field(description="'live' (streamed quote) or 'snapshot' (last close)")


class QuotesPublic(ApiModel):
    data: list[QuotePublic]
    count: int
    missing: list[str]


@route(bp, "/quotes", methods=["GET"], feature="market.read", params=QuotesQuery, response=QuotesPublic)
def quotes() -> dict[str, Any]:
    """Latest quote of each symbol (live when streaming, else the last snapshot close)."""
    q = query(bp.current_request, QuotesQuery)
    symbols = q.symbols.split(",")
    data = latest_quotes(get_engine(), symbols)
    found = {d["symbol"] for d in data}
    return {"data": data, "count": len(data), "missing": [s.upper() for s in symbols if s.upper() not in found]}
