"""Step Functions task handlers for the ingest state machine (thin: one service call each)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.observability import logger
from stockscreen.pipeline import service


@logger.inject_lambda_context(clear_state=True)
def fetch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.fetch(event)


@logger.inject_lambda_context(clear_state=True)
def validate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.validate(event)


@logger.inject_lambda_context(clear_state=True)
def load(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.load_task(event)


@logger.inject_lambda_context(clear_state=True)
def aggregate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.aggregate(event)


@logger.inject_lambda_context(clear_state=True)
def publish(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.publish(event)


@logger.inject_lambda_context(clear_state=True)
def record_failure(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.record_failure(event)
