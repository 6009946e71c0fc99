"""The live quote poller's Lambda (EventBridge ``rate(1 minute)``; thin: one service call).

Each invocation polls every few seconds for the rest of its minute (``QUOTE_RUN_SECONDS``, and never
closer than 5 s to the Lambda timeout), then returns a summary of its polls. Outside market hours it
returns at once. Settings: :class:`stockscreen.core.config.QuoteSettings`.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.core.config import quote_settings
from stockscreen.core.correlation import from_event
from stockscreen.core.observability import entry, logger, metrics
from stockscreen.realtime.poller import QuotePoller, build_poller, run_scheduled

#: Seconds kept free before the Lambda timeout (the last poll's writes and fan-out).
SAFETY_SECONDS = 5.0


@cache
def poller() -> QuotePoller:
    """One poller per container: its rate limit, last quotes and previous closes survive warm starts."""
    return build_poller(quote_settings())


@entry(from_event)  # the tick's event id: every poll's batch and the alerts it fires carry it
def poll(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    budget = min(quote_settings().quote_run_seconds, context.get_remaining_time_in_millis() / 1000 - SAFETY_SECONDS)
    summary = run_scheduled(poller(), deadline=time.monotonic() + budget)
    metrics.add_metric(name="QuotesFetched", unit="Count", value=summary.get("fetched", 0))
    metrics.add_metric(name="QuoteSymbolsFailed", unit="Count", value=summary.get("failed", 0))
    logger.info("quote run done", extra=summary)
    return summary
