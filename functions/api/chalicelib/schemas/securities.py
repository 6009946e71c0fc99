"""Securities: search and bars queries, profiles, bars."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from chalicelib.models import ApiModel
from stockscreen.core.symbols import Symbol


class SearchQuery(ApiModel):
    model_config = ConfigDict(extra="forbid")
    q: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
    limit: Annotated[int, Field(ge=1, le=50)] = 10


class BarsQuery(ApiModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    interval: Literal["1d", "1w", "1mo"] = "1d"
    start: dt.date | None = Field(default=None, alias="from")
    end: dt.date | None = Field(default=None, alias="to")
    limit: Annotated[int, Field(ge=1, le=10_000)] = 5000

    @model_validator(mode="after")
    def _range(self) -> BarsQuery:
        if self.start and self.end and self.start > self.end:
            raise ValueError("'from' is after 'to'")
        return self


class SecuritySummary(ApiModel):
    symbol: str
    name: str
    sector: str | None
    industry: str | None


class SecuritiesPublic(ApiModel):
    data: list[SecuritySummary]
    count: int


class SecurityPublic(SecuritySummary):
    headquarters: str | None
    hq_state: str | None
    hq_country: str | None
    date_added: str | None
    snapshot: dict[str, Any] | None = Field(description="latest metrics (as_of + screener fields), null before ingest")


class Bar(ApiModel):
    date: str
    open: float
    high: float
    low: float
    close: float
    volume: int
    adj_close: float | None = Field(
        default=None,
        description="the adjusted close as the bars file gave it (daily bars only; null when it gave none): "
        "the total-return fields' input; charts and every other field use the raw prices",
    )


class BarsPublic(ApiModel):
    symbol: str
    interval: str
    data: list[Bar]


class SymbolPath(ApiModel):
    symbol: Symbol


class IntradayQuery(ApiModel):
    model_config = ConfigDict(extra="forbid")
    interval: Literal["1m", "5m"] = Field(default="1m", description="candle length: one or five minutes")
    since: dt.datetime | None = Field(
        default=None,
        description="first candle: the one holding this time (ISO 8601; UTC when no offset is given); "
        "default: as far back as minute bars are kept (30 days)",
    )
    limit: Annotated[int, Field(ge=1, le=5000)] = Field(default=1000, description="at most this many, the latest")


class Candle(ApiModel):
    time: str = Field(description="start of the candle (ISO 8601, UTC)")
    open: float
    high: float
    low: float
    close: float
    volume: int = Field(description="shares traded within the candle")


class MarketSession(ApiModel):
    is_open: bool = Field(description="the regular session is running (always true with make dev's replay feed)")
    reason: str | None = Field(description="why it is closed: 'weekend', 'before the open', a holiday's name...")
    next_open: str | None = Field(description="start of the next regular session (ISO 8601, UTC) while closed")
    last_price: float | None = Field(description="the last price known: live quote, last minute bar or daily close")
    last_price_at: str | None = Field(description="when that price was quoted (ISO 8601)")
    feed: str = Field(description="the live feed's provider")


class IntradayPublic(ApiModel):
    symbol: str
    interval: str
    data: list[Candle]
    session: MarketSession
