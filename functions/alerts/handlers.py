"""Alert functions.

* ``on_prices_updated``: the EventBridge "prices.updated" event; evaluates every armed alert against
  the snapshot it published and queues the firings for delivery.
* ``deliver``: the delivery queue (SQS event source with ``ReportBatchItemFailures``); each record is
  one fired alert, delivered on its channels (Powertools batch processor: a record whose channels
  failed is reported and redelivered, the others are deleted).
* ``release_held``: scheduled (every 5 minutes); sends the messages quiet hours held and the daily caps'
  summaries that are due.
* ``on_ses_notification``: SES bounces and complaints through SNS; suppresses the addresses.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.alerts import events
from stockscreen.alerts.adapters import idempotency_config
from stockscreen.alerts.delivery import DeliveryService
from stockscreen.core.observability import logger, metrics
from stockscreen.db.engine import get_engine

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def delivery() -> DeliveryService:
    return events.delivery_service(get_engine())


@logger.inject_lambda_context(clear_state=True)
def on_prices_updated(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = events.on_prices_updated(event)
    return {k: result[k] for k in ("event_id", "recorded", "fired")}


def _deliver_record(record: SQSRecord) -> dict[str, str]:
    return delivery().deliver(record.json_body)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def deliver(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config().register_lambda_context(context)
    response = process_partial_response(
        event=event, record_handler=_deliver_record, processor=processor, context=context
    )
    return dict(response)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def release_held(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config().register_lambda_context(context)
    return {"released": delivery().release_due()}


@logger.inject_lambda_context(clear_state=True)
def on_ses_notification(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from stockscreen.alerts.suppression import SuppressionService

    return SuppressionService.from_engine(get_engine()).on_sns_event(event)
