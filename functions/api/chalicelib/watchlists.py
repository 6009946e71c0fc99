"""Watchlists: CRUD, reorder, items with live quote fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from chalicelib.authn import principal
from chalicelib.common import watchlists
from chalicelib.http import json_body, query, route
from chalicelib.lazy import LazyModule
from chalicelib.paths import uuid_path

if TYPE_CHECKING:
    from chalicelib.schemas import watchlists as schema
else:
    schema = LazyModule("chalicelib.schemas.watchlists")

bp = Blueprint(__name__)


def _wl(wl_id: str) -> str:
    return uuid_path(wl_id, "watchlist")


@route(
    bp,
    "/watchlists",
    methods=["GET"],
    auth="required",
    feature="watchlists",
    params=lambda: schema.Page,
    response=lambda: schema.WatchlistsPublic,
)
def list_watchlists() -> dict[str, Any]:
    """The caller's watchlists, in their order."""
    q = query(bp.current_request, schema.Page)
    data, total = watchlists().list_mine(principal().user_id, q.request())
    return {"data": data, "count": total}


@route(
    bp,
    "/watchlists",
    methods=["POST"],
    auth="required",
    feature="watchlists",
    body=lambda: schema.WatchlistCreate,
    response=lambda: schema.WatchlistPublic,
    status=201,
)
def create_watchlist() -> dict[str, Any]:
    """Create a watchlist."""
    b = json_body(bp.current_request, schema.WatchlistCreate)
    p = principal()
    return watchlists().create(p.user_id, p.role, b.name)


@route(
    bp,
    "/watchlists/order",
    methods=["PUT"],
    auth="required",
    feature="watchlists",
    body=lambda: schema.WatchlistOrder,
    response=lambda: schema.WatchlistsPublic,
)
def reorder_watchlists() -> dict[str, Any]:
    """Set the order of all the caller's watchlists."""
    b = json_body(bp.current_request, schema.WatchlistOrder)
    data = watchlists().reorder(principal().user_id, [_wl(i) for i in b.ids])
    return {"data": data, "count": len(data)}


@route(
    bp,
    "/watchlists/{wl_id}",
    methods=["GET"],
    auth="required",
    feature="watchlists",
    response=lambda: schema.WatchlistPublic,
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
    body=lambda: schema.WatchlistUpdate,
    response=lambda: schema.WatchlistPublic,
    owned=True,
)
def rename_watchlist(wl_id: str) -> dict[str, Any]:
    """Rename a watchlist."""
    b = json_body(bp.current_request, schema.WatchlistUpdate)
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
    body=lambda: schema.ItemCreate,
    response=lambda: schema.WatchlistPublic,
    status=201,
    owned=True,
)
def add_item(wl_id: str) -> dict[str, Any]:
    """Add a symbol to the end of a watchlist."""
    b = json_body(bp.current_request, schema.ItemCreate)
    p = principal()
    return watchlists().add_item(p.user_id, p.role, _wl(wl_id), b.symbol, b.note)


@route(
    bp,
    "/watchlists/{wl_id}/items/order",
    methods=["PUT"],
    auth="required",
    feature="watchlists",
    body=lambda: schema.ItemOrder,
    response=lambda: schema.WatchlistPublic,
    owned=True,
)
def reorder_items(wl_id: str) -> dict[str, Any]:
    """Set the order of a watchlist's items."""
    b = json_body(bp.current_request, schema.ItemOrder)
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
