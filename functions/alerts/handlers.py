"""Alert functions.

* ``on_prices_updated``: the EventBridge "prices.updated" event; evaluates every armed alert against
  the snapshot it published and queues the firings for delivery.
* ``deliver``: the delivery queue (SQS event source with ``ReportBatchItemFailures``); each record is
  one fired alert, delivered on its channels (Powertools batch processor: a record whose channels
  failed is reported and redelivered, the others are deleted).
* ``release_held``: scheduled (every 5 minutes); sends the messages quiet hours held and the daily caps'
  summaries that are due.
* ``on_ses_notification``: SES bounces and complaints through SNS; suppresses the addresses.

Each runs under its event's correlation id (``detail.correlation_id`` of the project's events, else the
event's id; per delivery record, the queue message's ``correlation_id`` attribute).
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
from stockscreen.core import correlation
from stockscreen.core.observability import entry, subsegment
from stockscreen.db.engine import get_engine

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def delivery() -> DeliveryService:
    return events.delivery_service(get_engine())


@entry(correlation.from_event, flush_metrics=False)
def on_prices_updated(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = events.on_prices_updated(event)
    return {k: result[k] for k in ("event_id", "recorded", "fired")}


def _deliver_record(record: SQSRecord) -> dict[str, str]:
    # each fired alert goes on under the id of what fired it (the queue's correlation_id attribute)
    with (
        correlation.bound(correlation.from_sqs_record(record.raw_event)) as cid,
        subsegment("deliver", correlation_id=cid, task="alert-delivery"),
    ):
        return delivery().deliver(record.json_body)


@entry(correlation.from_sqs_event)
def deliver(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config().register_lambda_context(context)
    response = process_partial_response(
        event=event, record_handler=_deliver_record, processor=processor, context=context
    )
    return dict(response)


@entry(correlation.from_event)
def release_held(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config().register_lambda_context(context)
    return {"released": delivery().release_due()}


@entry(correlation.from_event, flush_metrics=False)
def on_ses_notification(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from stockscreen.alerts.suppression import SuppressionService

    return SuppressionService.from_engine(get_engine()).on_sns_event(event)
