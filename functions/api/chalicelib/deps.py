"""Per-process singletons for the views (built lazily, replaceable in tests)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stockscreen.market.service import MarketService
    from stockscreen.realtime.intraday import IntradayService


@cache
def market() -> MarketService:
    from stockscreen.db.engine import get_engine
    from stockscreen.market.service import MarketService

    return MarketService.from_engine(get_engine())


@cache
def intraday() -> IntradayService:
    from stockscreen.db.engine import get_engine
    from stockscreen.realtime.intraday import IntradayService

    return IntradayService.from_engine(get_engine())
