"""Portfolios: create and rename bodies, holdings, transactions, performance."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from chalicelib.models import ApiModel
from chalicelib.schemas.common import Page
from stockscreen.core.symbols import Symbol

__all__ = [
    "Holding",
    "Page",
    "PerformancePoint",
    "PerformancePublic",
    "PerformanceQuery",
    "PortfolioCreate",
    "PortfolioPublic",
    "PortfolioSummary",
    "PortfolioUpdate",
    "PortfoliosPublic",
    "Totals",
    "TransactionCreate",
    "TransactionPublic",
    "TransactionsPublic",
]


Name = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


Amount = Annotated[Decimal, Field(ge=0, le=Decimal("1e12"), max_digits=20, decimal_places=8)]


class PortfolioCreate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class PortfolioUpdate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class PortfolioSummary(ApiModel):
    id: str
    name: str
    created_at: str
    transaction_count: int


class PortfoliosPublic(ApiModel):
    data: list[PortfolioSummary]
    count: int


class Holding(ApiModel):
    symbol: str
    quantity: float
    cost_basis: float
    average_cost: float | None
    price: float | None
    price_as_of: str | None
    market_value: float | None
    unrealised_pnl: float | None
    unrealised_pct: float | None
    realised_pnl: float
    dividends: float
    fees: float


class Totals(ApiModel):
    cost_basis: float
    market_value: float
    unrealised_pnl: float
    realised_pnl: float
    dividends: float


class PortfolioPublic(PortfolioSummary):
    holdings: list[Holding]
    totals: Totals


class TransactionCreate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["buy", "sell", "dividend", "split"]
    symbol: Symbol
    date: dt.date
    quantity: Annotated[Decimal, Field(gt=0, le=Decimal("1e12"), max_digits=20, decimal_places=8)] = Field(
        description="shares; for a split, the ratio (2 for a 2-for-1 split)"
    )
    price: Amount = Field(default=Decimal(0), description="per share; dividend: amount per share; split: 0")
    fees: Amount = Decimal(0)

    @model_validator(mode="after")
    def _rules(self) -> TransactionCreate:
        if self.kind in ("buy", "sell", "dividend") and self.price <= 0:
            raise ValueError(f"a {self.kind} needs a positive price")
        if self.kind == "split" and (self.price != 0 or self.fees != 0):
            raise ValueError("a split has no price or fees; give the ratio as quantity")
        if self.date > dt.date.today():
            raise ValueError("the date is in the future")
        return self


class TransactionPublic(ApiModel):
    id: str
    kind: str
    symbol: str
    date: str
    quantity: float
    price: float
    fees: float


class TransactionsPublic(ApiModel):
    data: list[TransactionPublic]
    count: int


class PerformanceQuery(ApiModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: dt.date | None = Field(default=None, alias="from")
    end: dt.date | None = Field(default=None, alias="to")


class PerformancePoint(ApiModel):
    date: str
    value: float
    net_flow: float
    portfolio_index: float
    universe_index: float


class PerformancePublic(ApiModel):
    data: list[PerformancePoint]
    count: int
    portfolio_return_pct: float | None
    universe_return_pct: float | None
