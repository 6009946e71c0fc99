"""Alert functions. ``on_prices_updated`` consumes the EventBridge "prices.updated" event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.alerts import events as alerts
from stockscreen.core.observability import logger


@logger.inject_lambda_context(clear_state=True)
def on_prices_updated(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return alerts.record_prices_updated(event)
