"""Portfolios: CRUD, transactions, holdings (FIFO), performance against the universe."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from chalice.app import Blueprint, Response
from pydantic import ConfigDict, Field, StringConstraints, model_validator

from chalicelib.common import Page, portfolios
from chalicelib.http import json_body, query, route
from chalicelib.models import ApiModel
from chalicelib.paths import uuid_path
from chalicelib.security import principal
from stockscreen.portfolios import Txn

bp = Blueprint(__name__)

Name = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.\-]{1,16}$", to_upper=True)]
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


def _pf(pf_id: str) -> str:
    return uuid_path(pf_id, "portfolio")


@route(
    bp, "/portfolios", methods=["GET"], auth="required", feature="portfolios", params=Page, response=PortfoliosPublic
)
def list_portfolios() -> dict[str, Any]:
    """The caller's portfolios, oldest first."""
    q = query(bp.current_request, Page)
    data, total = portfolios().list_mine(principal().user_id, q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/portfolios",
    methods=["POST"],
    auth="required",
    feature="portfolios",
    body=PortfolioCreate,
    response=PortfolioSummary,
    status=201,
)
def create_portfolio() -> dict[str, Any]:
    """Create a portfolio (the plan limits how many)."""
    b = json_body(bp.current_request, PortfolioCreate)
    p = principal()
    return portfolios().create(p.user_id, p.role, b.name)


@route(
    bp,
    "/portfolios/{pf_id}",
    methods=["GET"],
    auth="required",
    feature="portfolios",
    response=PortfolioPublic,
    owned=True,
)
def get_portfolio(pf_id: str) -> dict[str, Any]:
    """A portfolio with its holdings (FIFO cost basis) and P&L."""
    return portfolios().get(principal().user_id, _pf(pf_id))


@route(
    bp,
    "/portfolios/{pf_id}",
    methods=["PATCH"],
    auth="required",
    feature="portfolios",
    body=PortfolioUpdate,
    response=PortfolioSummary,
    owned=True,
)
def rename_portfolio(pf_id: str) -> dict[str, Any]:
    """Rename a portfolio."""
    b = json_body(bp.current_request, PortfolioUpdate)
    return portfolios().rename(principal().user_id, _pf(pf_id), b.name)


@route(bp, "/portfolios/{pf_id}", methods=["DELETE"], auth="required", feature="portfolios", status=204, owned=True)
def delete_portfolio(pf_id: str) -> Response:
    """Delete a portfolio and its transactions."""
    portfolios().delete(principal().user_id, _pf(pf_id))
    return Response(body="", status_code=204)


@route(
    bp,
    "/portfolios/{pf_id}/transactions",
    methods=["GET"],
    auth="required",
    feature="portfolios",
    params=Page,
    response=TransactionsPublic,
    owned=True,
)
def list_transactions(pf_id: str) -> dict[str, Any]:
    """Transactions in date order."""
    q = query(bp.current_request, Page)
    data, total = portfolios().transactions(principal().user_id, _pf(pf_id), q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/portfolios/{pf_id}/transactions",
    methods=["POST"],
    auth="required",
    feature="portfolios",
    body=TransactionCreate,
    response=TransactionPublic,
    status=201,
    owned=True,
)
def add_transaction(pf_id: str) -> dict[str, Any]:
    """Record a buy, sell, dividend or split; a sell of more than is held is refused."""
    b = json_body(bp.current_request, TransactionCreate)
    t = Txn(kind=b.kind, symbol=b.symbol, date=b.date, quantity=b.quantity, price=b.price, fees=b.fees)
    return portfolios().add_transaction(principal().user_id, _pf(pf_id), t)


@route(
    bp,
    "/portfolios/{pf_id}/transactions/{txn_id}",
    methods=["DELETE"],
    auth="required",
    feature="portfolios",
    status=204,
    owned=True,
)
def delete_transaction(pf_id: str, txn_id: str) -> Response:
    """Delete a transaction (refused if the remaining history would sell more than it holds)."""
    portfolios().delete_transaction(principal().user_id, _pf(pf_id), uuid_path(txn_id, "transaction"))
    return Response(body="", status_code=204)


@route(
    bp,
    "/portfolios/{pf_id}/performance",
    methods=["GET"],
    auth="required",
    feature="portfolios",
    params=PerformanceQuery,
    response=PerformancePublic,
    owned=True,
)
def performance(pf_id: str) -> dict[str, Any]:
    """Daily value and time-weighted index against the equal-weighted universe index."""
    q = query(bp.current_request, PerformanceQuery)
    return portfolios().performance(principal().user_id, _pf(pf_id), q.start, q.end)
