"""The ingest state machine, as Amazon States Language, from one Python source.

The same definition is deployed by CDK (with ``definition_substitutions`` filling the
``${...FunctionArn}`` placeholders), executed by moto's Step Functions interpreter in
tests, and by ``make dev``.

Shape::

    Plan -> FetchBatches (Map: Fetch per symbol batch / file) -> Validate -> LoadReference
         -> LoadBatches (Map: Load, one transaction per batch) -> Aggregate -> Publish -> Report
    any state --Catch--> RecordFailure (run marked failed, SNS to the admins) -> Failed

Tasks pass references (the run id, batch descriptors), never rows. The run's correlation id is
the input's ``correlation_id``, settled by Plan (``$.plan.correlation_id``, which the Map items carry).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

STATE_MACHINE_NAME = "stockscreen-ingest"

#: Bounded fan-out of the two Map states (provider politeness, database connections).
MAX_CONCURRENCY = 4

#: Task state name -> placeholder name of the Lambda function that runs it.
TASKS: dict[str, str] = {
    "Plan": "PlanFunctionArn",
    "Fetch": "FetchFunctionArn",
    "Validate": "ValidateFunctionArn",
    "LoadReference": "LoadReferenceFunctionArn",
    "Load": "LoadFunctionArn",
    "Aggregate": "AggregateFunctionArn",
    "Publish": "PublishFunctionArn",
    "Report": "ReportFunctionArn",
    "RecordFailure": "RecordFailureFunctionArn",
}

#: Task state name -> the handler (``module.function`` inside ``functions/ingest``).
HANDLERS: dict[str, str] = {
    "Plan": "handlers.plan",
    "Fetch": "handlers.fetch",
    "Validate": "handlers.validate",
    "LoadReference": "handlers.load_reference",
    "Load": "handlers.load",
    "Aggregate": "handlers.aggregate",
    "Publish": "handlers.publish",
    "Report": "handlers.report",
    "RecordFailure": "handlers.record_failure",
}

#: Errors worth retrying: Lambda service hiccups, our ``TransientError`` (provider 5xx/timeouts,
#: the database going away) and a concurrent duplicate invocation still in progress.
TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
    "IdempotencyAlreadyInProgressError",
]

#: State names in execution order (Map states named for their batches).
PIPELINE = ["Plan", "FetchBatches", "Validate", "LoadReference", "LoadBatches", "Aggregate", "Publish", "Report"]

_RETRY: dict[str, Any] = {
    "ErrorEquals": TRANSIENT_ERRORS,
    "IntervalSeconds": 1,
    "MaxAttempts": 2,
    "BackoffRate": 2.0,
    "MaxDelaySeconds": 30,
    "JitterStrategy": "FULL",
}
_CATCH = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]


def _task(arn: str, result_path: str | None, next_state: str | None, *, catch: bool = True) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": arn,
        "TimeoutSeconds": 900,
        "Retry": [dict(_RETRY)],
    }
    if result_path is not None:
        state["ResultPath"] = result_path
    if catch:
        state["Catch"] = [dict(c) for c in _CATCH]
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def _map(items_path: str, task_name: str, arn: str, result_path: str, next_state: str) -> dict[str, Any]:
    """A Map state running one task per batch; each iteration gets only references."""
    return {
        "Type": "Map",
        "ItemsPath": items_path,
        "MaxConcurrency": MAX_CONCURRENCY,
        "ItemSelector": {
            "run_id.$": "$.run_id",
            "correlation_id.$": "$.plan.correlation_id",
            "source.$": "$.source",
            "batch.$": "$$.Map.Item.Value",
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": task_name,
            "States": {task_name: _task(arn, None, None, catch=False)},
        },
        "ResultPath": result_path,
        "Next": next_state,
        "Catch": [dict(c) for c in _CATCH],
    }


def build_definition(function_arns: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ASL document. Without ``function_arns`` the Lambda ARNs are ``${Placeholder}``s."""

    def arn(state: str) -> str:
        key = TASKS[state]
        if function_arns is None:
            return "${" + key + "}"
        return function_arns[key]

    states: dict[str, Any] = {
        "Plan": _task(arn("Plan"), "$.plan", "FetchBatches"),
        "FetchBatches": _map("$.plan.batches", "Fetch", arn("Fetch"), "$.fetch", "Validate"),
        "Validate": _task(arn("Validate"), "$.validate", "LoadReference"),
        "LoadReference": _task(arn("LoadReference"), "$.reference", "LoadBatches"),
        "LoadBatches": _map("$.validate.batches", "Load", arn("Load"), "$.load", "Aggregate"),
        "Aggregate": _task(arn("Aggregate"), "$.aggregate", "Publish"),
        "Publish": _task(arn("Publish"), "$.publish", "Report"),
        "Report": _task(arn("Report"), "$.report", None),
        "RecordFailure": {
            "Type": "Task",
            "Resource": arn("RecordFailure"),
            "ResultPath": "$.failure",
            "TimeoutSeconds": 300,
            "Retry": [dict(_RETRY)],
            "Next": "Failed",
        },
        "Failed": {"Type": "Fail", "Error": "IngestFailed", "CausePath": "$.failure.error"},
    }
    return {
        "Comment": (
            "Stockscreen market-data ingest: plan -> fetch (per batch) -> validate -> load (per batch) "
            "-> aggregate -> publish -> report"
        ),
        "StartAt": PIPELINE[0],
        "States": states,
    }


def definition_json(function_arns: Mapping[str, str] | None = None) -> str:
    return json.dumps(build_definition(function_arns), indent=2, sort_keys=False)


# --- the drop folder: S3 -> EventBridge -> this state machine ------------------------------------

#: New objects under this prefix of the raw bucket start an ingest run (the SPA's uploads land there too).
DROP_PREFIX = "incoming/"

#: An object's metadata key (``x-amz-meta-correlation-id``) holding the correlation id of the API request
#: that presigned its upload: Plan continues the run under it instead of the S3 event's id.
CORRELATION_METADATA = "correlation-id"

#: The EventBridge rule's input transformer: a path of the S3 "Object Created" event per part of the
#: execution input. CDK deploys it (``EventField.from_path``); the dev stack applies :func:`drop_input`.
#: The event's id is both the run id and the correlation id (the S3 event is the edge).
DROP_INPUT_PATHS: dict[str, str] = {
    "run_id": "$.id",
    "correlation_id": "$.id",
    "bucket": "$.detail.bucket.name",
    "key": "$.detail.object.key",
}


def drop_event_pattern(bucket_name: str) -> dict[str, Any]:
    """The rule's pattern: an object created in ``bucket_name`` under :data:`DROP_PREFIX`."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket_name]}, "object": {"key": [{"prefix": DROP_PREFIX}]}},
    }


def drop_input_template(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The execution input built from the transformer's fields (``run_id``, ``correlation_id``, ``bucket``,
    ``key``)."""
    return {
        "run_id": fields["run_id"],
        "correlation_id": fields["correlation_id"],
        "source": {"s3": {"bucket": fields["bucket"], "key": fields["key"]}},
    }


def _path(event: Mapping[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def drop_input(event: Mapping[str, Any]) -> dict[str, Any]:
    """What the rule's input transformer makes of an S3 event (the dev stack delivers it the same way)."""
    return drop_input_template({name: _path(event, path) for name, path in DROP_INPUT_PATHS.items()})
