"""Per-process singletons for the views (built lazily, replaceable in tests)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stockscreen.market.repository import MarketRepository


@cache
def market() -> MarketRepository:
    from stockscreen.db.engine import get_engine
    from stockscreen.market.repository import MarketRepository

    return MarketRepository(get_engine())
