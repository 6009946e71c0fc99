"""Alert functions. ``on_prices_updated`` consumes the EventBridge "prices.updated" event and
evaluates every armed alert against the snapshot it published."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.alerts import events
from stockscreen.core.observability import logger


@logger.inject_lambda_context(clear_state=True)
def on_prices_updated(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = events.on_prices_updated(event)
    return {k: result[k] for k in ("event_id", "recorded", "fired")}
