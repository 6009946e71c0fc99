"""Quotes: the symbols query and the quote list."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from chalicelib.models import ApiModel
from stockscreen.core.symbols import parse_symbol

MAX_SYMBOLS = 200


class QuotesQuery(ApiModel):
    model_config = ConfigDict(extra="forbid")
    symbols: Annotated[str, StringConstraints(min_length=1, max_length=4000)] = Field(
        description=f"Comma-separated symbols, at most {MAX_SYMBOLS}"
    )

    @field_validator("symbols")
    @classmethod
    def _check(cls, v: str) -> str:
        syms = [s for s in v.split(",") if s.strip()]
        if not syms:
            raise ValueError("give at least one symbol")
        if len(syms) > MAX_SYMBOLS:
            raise ValueError(f"at most {MAX_SYMBOLS} symbols per request")
        return ",".join(parse_symbol(s) for s in syms)


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
