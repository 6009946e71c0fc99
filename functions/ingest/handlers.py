"""Step Functions task handlers for the ingest state machine (thin: one service call each).

Each handler is traced, logs with the Lambda context and the run's correlation id (from its input:
:func:`stockscreen.core.correlation.from_state`) and flushes its metrics (EMF); the service task is
idempotent (Powertools, DynamoDB) on the run and batch it is given.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.core.correlation import from_state
from stockscreen.core.observability import entry
from stockscreen.pipeline import service

task = entry(from_state)


@task
def plan(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.plan_task(event, context)


@task
def fetch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.fetch_task(event, context)


@task
def validate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.validate_task(event, context)


@task
def load_reference(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.load_reference_task(event, context)


@task
def load(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.load_task(event, context)


@task
def aggregate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.aggregate_task(event, context)


@task
def publish(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.publish_task(event, context)


@task
def report(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.report_task(event, context)


@task
def record_failure(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.record_failure_task(event)
