"""Watchlists: create, rename and reorder bodies, items, the watchlist with its quotes."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.models import ApiModel
from chalicelib.schemas.common import Page
from stockscreen.core.symbols import Symbol

__all__ = [
    "ItemCreate",
    "ItemOrder",
    "Page",
    "WatchlistCreate",
    "WatchlistItemPublic",
    "WatchlistOrder",
    "WatchlistPublic",
    "WatchlistSummary",
    "WatchlistUpdate",
    "WatchlistsPublic",
]


Name = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


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
