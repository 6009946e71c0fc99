"""Watchlists: CRUD, reorder, items with live quote fields."""

from __future__ import annotations

from typing import Annotated, Any

from chalice.app import Blueprint, Response
from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.common import Page, watchlists
from chalicelib.http import json_body, query, route
from chalicelib.models import ApiModel
from chalicelib.paths import uuid_path
from chalicelib.security import principal

bp = Blueprint(__name__)

Name = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.\-]{1,16}$")]


class WatchlistCreate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class WatchlistUpdate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class WatchlistOrder(ApiModel):
    model_config = ConfigDict(extra="forbid")
    ids: Annotated[list[str], Field(max_length=100)]


class ItemCreate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    symbol: Symbol
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class ItemOrder(ApiModel):
    model_config = ConfigDict(extra="forbid")
    symbols: Annotated[list[Symbol], Field(max_length=1000)]


class WatchlistSummary(ApiModel):
    id: str
    name: str
    position: int
    item_count: int
    created_at: str
    updated_at: str


class WatchlistItemPublic(ApiModel):
    symbol: str
    name: str | None
    position: int
    note: str | None
    added_at: str
    price: float | None
    change_pct: float | None
    volume: int | None
    quote_ts: str | None
    quote_source: str | None


class WatchlistPublic(WatchlistSummary):
    items: list[WatchlistItemPublic]


class WatchlistsPublic(ApiModel):
    data: list[WatchlistSummary]
    count: int


def _wl(wl_id: str) -> str:
    return uuid_path(wl_id, "watchlist")


@route(
    bp, "/watchlists", methods=["GET"], auth="required", feature="watchlists", params=Page, response=WatchlistsPublic
)
def list_watchlists() -> dict[str, Any]:
    """The caller's watchlists, in their order."""
    q = query(bp.current_request, Page)
    data, total = watchlists().list_mine(principal().user_id, q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/watchlists",
    methods=["POST"],
    auth="required",
    feature="watchlists",
    body=WatchlistCreate,
    response=WatchlistPublic,
    status=201,
)
def create_watchlist() -> dict[str, Any]:
    """Create a watchlist."""
    b = json_body(bp.current_request, WatchlistCreate)
    p = principal()
    return watchlists().create(p.user_id, p.role, b.name)


@route(
    bp,
    "/watchlists/order",
    methods=["PUT"],
    auth="required",
    feature="watchlists",
    body=WatchlistOrder,
    response=WatchlistsPublic,
)
def reorder_watchlists() -> dict[str, Any]:
    """Set the order of all the caller's watchlists."""
    b = json_body(bp.current_request, WatchlistOrder)
    data = watchlists().reorder(principal().user_id, [_wl(i) for i in b.ids])
    return {"data": data, "count": len(data)}


@route(
    bp,
    "/watchlists/{wl_id}",
    methods=["GET"],
    auth="required",
    feature="watchlists",
    response=WatchlistPublic,
    owned=True,
)
def get_watchlist(wl_id: str) -> dict[str, Any]:
    """One watchlist with its items and their latest quotes."""
    return watchlists().get(principal().user_id, _wl(wl_id))


@route(
    bp,
    "/watchlists/{wl_id}",
    methods=["PATCH"],
    auth="required",
    feature="watchlists",
    body=WatchlistUpdate,
    response=WatchlistPublic,
    owned=True,
)
def rename_watchlist(wl_id: str) -> dict[str, Any]:
    """Rename a watchlist."""
    b = json_body(bp.current_request, WatchlistUpdate)
    return watchlists().rename(principal().user_id, _wl(wl_id), b.name)


@route(bp, "/watchlists/{wl_id}", methods=["DELETE"], auth="required", feature="watchlists", status=204, owned=True)
def delete_watchlist(wl_id: str) -> Response:
    """Delete a watchlist and its items."""
    watchlists().delete(principal().user_id, _wl(wl_id))
    return Response(body="", status_code=204)


@route(
    bp,
    "/watchlists/{wl_id}/items",
    methods=["POST"],
    auth="required",
    feature="watchlists",
    body=ItemCreate,
    response=WatchlistPublic,
    status=201,
    owned=True,
)
def add_item(wl_id: str) -> dict[str, Any]:
    """Add a symbol to the end of a watchlist."""
    b = json_body(bp.current_request, ItemCreate)
    p = principal()
    return watchlists().add_item(p.user_id, p.role, _wl(wl_id), b.symbol, b.note)


@route(
    bp,
    "/watchlists/{wl_id}/items/order",
    methods=["PUT"],
    auth="required",
    feature="watchlists",
    body=ItemOrder,
    response=WatchlistPublic,
    owned=True,
)
def reorder_items(wl_id: str) -> dict[str, Any]:
    """Set the order of a watchlist's items."""
    b = json_body(bp.current_request, ItemOrder)
    return watchlists().reorder_items(principal().user_id, _wl(wl_id), b.symbols)


@route(
    bp,
    "/watchlists/{wl_id}/items/{symbol}",
    methods=["DELETE"],
    auth="required",
    feature="watchlists",
    status=204,
    owned=True,
)
def remove_item(wl_id: str, symbol: str) -> Response:
    """Remove a symbol from a watchlist."""
    watchlists().remove_item(principal().user_id, _wl(wl_id), symbol[:16])
    return Response(body="", status_code=204)
