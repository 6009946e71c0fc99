"""Alert functions. ``on_prices_updated`` consumes the EventBridge "prices.updated" event."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.alerts.events import PriceEventService
from stockscreen.core.observability import logger
from stockscreen.db.engine import get_engine


@cache
def price_events() -> PriceEventService:
    return PriceEventService.from_engine(get_engine())


@logger.inject_lambda_context(clear_state=True)
def on_prices_updated(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return price_events().record_prices_updated(event)
