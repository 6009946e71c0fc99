"""Portfolios: CRUD, transactions, holdings (FIFO), performance against the universe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from chalicelib.authn import principal
from chalicelib.common import portfolios
from chalicelib.http import json_body, query, route
from chalicelib.lazy import LazyModule
from chalicelib.paths import uuid_path

if TYPE_CHECKING:
    from chalicelib.schemas import portfolios as schema
else:
    schema = LazyModule("chalicelib.schemas.portfolios")

bp = Blueprint(__name__)


def _pf(pf_id: str) -> str:
    return uuid_path(pf_id, "portfolio")


@route(
    bp,
    "/portfolios",
    methods=["GET"],
    auth="required",
    feature="portfolios",
    params=lambda: schema.Page,
    response=lambda: schema.PortfoliosPublic,
)
def list_portfolios() -> dict[str, Any]:
    """The caller's portfolios, oldest first."""
    q = query(bp.current_request, schema.Page)
    data, total = portfolios().list_mine(principal().user_id, q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/portfolios",
    methods=["POST"],
    auth="required",
    feature="portfolios",
    body=lambda: schema.PortfolioCreate,
    response=lambda: schema.PortfolioSummary,
    status=201,
)
def create_portfolio() -> dict[str, Any]:
    """Create a portfolio (the plan limits how many)."""
    b = json_body(bp.current_request, schema.PortfolioCreate)
    p = principal()
    return portfolios().create(p.user_id, p.role, b.name)


@route(
    bp,
    "/portfolios/{pf_id}",
    methods=["GET"],
    auth="required",
    feature="portfolios",
    response=lambda: schema.PortfolioPublic,
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
    body=lambda: schema.PortfolioUpdate,
    response=lambda: schema.PortfolioSummary,
    owned=True,
)
def rename_portfolio(pf_id: str) -> dict[str, Any]:
    """Rename a portfolio."""
    b = json_body(bp.current_request, schema.PortfolioUpdate)
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
    params=lambda: schema.Page,
    response=lambda: schema.TransactionsPublic,
    owned=True,
)
def list_transactions(pf_id: str) -> dict[str, Any]:
    """Transactions in date order."""
    q = query(bp.current_request, schema.Page)
    data, total = portfolios().transactions(principal().user_id, _pf(pf_id), q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/portfolios/{pf_id}/transactions",
    methods=["POST"],
    auth="required",
    feature="portfolios",
    body=lambda: schema.TransactionCreate,
    response=lambda: schema.TransactionPublic,
    status=201,
    owned=True,
)
def add_transaction(pf_id: str) -> dict[str, Any]:
    """Record a buy, sell, dividend or split; a sell of more than is held is refused."""
    from stockscreen.portfolios.models import Txn

    b = json_body(bp.current_request, schema.TransactionCreate)
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
    params=lambda: schema.PerformanceQuery,
    response=lambda: schema.PerformancePublic,
    owned=True,
)
def performance(pf_id: str) -> dict[str, Any]:
    """Daily value and time-weighted index against the equal-weighted universe index."""
    q = query(bp.current_request, schema.PerformanceQuery)
    return portfolios().performance(principal().user_id, _pf(pf_id), q.start, q.end)
