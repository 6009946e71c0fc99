"""Watchlist domain types."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class ItemRow:
    """A watchlist item as stored, with the security's name and its current snapshot close (if any)."""

    symbol: str
    position: int
    note: str | None
    added_at: dt.datetime
    name: str | None
    close: float | None
    change_pct: float | None
    as_of: dt.date | None
