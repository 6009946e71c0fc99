"""Step Functions task handlers for the ingest state machine (thin: one service call each).

Each handler logs with the Lambda context and flushes its metrics (EMF); the service task is
idempotent (Powertools, DynamoDB) on the run and batch it is given.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.core.observability import logger, metrics
from stockscreen.pipeline import service


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def plan(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.plan_task(event, context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def fetch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.fetch_task(event, context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def validate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.validate_task(event, context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def load_reference(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.load_reference_task(event, context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def load(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.load_task(event, context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def aggregate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.aggregate_task(event, context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def publish(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.publish_task(event, context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def report(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.report_task(event, context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def record_failure(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.record_failure_task(event)
