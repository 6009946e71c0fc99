"""The reports state machine, as Amazon States Language, from one Python source (CDK deploys it with
``definition_substitutions``; moto's interpreter executes it in tests and ``make dev``).

Shape::

    Select -> Deliver (Map, MaxConcurrency bounded; one item = one (user, kind, period)):
        Build -> Skip? -> Render (its own Lambda) -> Store -> Send -> Done
        any of them, after its retries --Catch--> RecordFailure -> Failed (the item; the Map goes on)

Every task is idempotent per (user, kind, period) through ``report_runs``: a retried task, a
re-executed item or a second execution for the same tick builds and sends nothing twice.
Items carry references (ids, S3 keys), never documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATE_MACHINE_NAME = "stockscreen-reports"

#: Reports built at once: bounded by the database's connections and SES's send rate (14/s by default).
MAX_CONCURRENCY = 10

TASKS: dict[str, str] = {
    "Select": "SelectFunctionArn",
    "Build": "BuildFunctionArn",
    "Render": "RenderFunctionArn",
    "Store": "StoreFunctionArn",
    "Send": "SendFunctionArn",
    "RecordFailure": "RecordFailureFunctionArn",
}

#: Task -> handler: the render task is the render Lambda's, the rest are functions/reports/handlers.py.
HANDLERS: dict[str, str] = {
    "Select": "handlers.select",
    "Build": "handlers.build",
    "Render": "handlers.render",
    "Store": "handlers.store",
    "Send": "handlers.send",
    "RecordFailure": "handlers.record_failure",
}

RETRY_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "States.TaskFailed",
]
_RETRY: dict[str, Any] = {
    "ErrorEquals": RETRY_ERRORS,
    "IntervalSeconds": 2,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
}
_CATCH = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]


def _task(arn: str, result_path: str, next_state: str, timeout: int = 300) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": arn,
        "TimeoutSeconds": timeout,
        "ResultPath": result_path,
        "Retry": [dict(_RETRY)],
        "Catch": [dict(c) for c in _CATCH],
        "Next": next_state,
    }


def build_definition(
    function_arns: Mapping[str, str] | None = None, retry_interval: int | None = None
) -> dict[str, Any]:
    """The ASL document. Without ``function_arns`` the Lambda ARNs are ``${Placeholder}``s.
    ``retry_interval`` overrides the retries' first interval (tests: 0 s)."""

    def arn(state: str) -> str:
        key = TASKS[state]
        return "${" + key + "}" if function_arns is None else function_arns[key]

    item_states: dict[str, Any] = {
        "Build": _task(arn("Build"), "$.build", "Skip?"),
        "Skip?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.build.skip", "BooleanEquals": True, "Next": "Skipped"}],
            "Default": "Render",
        },
        "Render": _task(arn("Render"), "$.render", "Store", timeout=120),
        "Store": _task(arn("Store"), "$.stored", "Send"),
        "Send": _task(arn("Send"), "$.sent", "Done"),
        "Done": {
            "Type": "Pass",
            "Parameters": {"status.$": "$.sent.status", "run_id.$": "$.build.run_id"},
            "End": True,
        },
        "Skipped": {"Type": "Pass", "Parameters": {"status": "skipped", "reason.$": "$.build.reason"}, "End": True},
        "RecordFailure": {
            "Type": "Task",
            "Resource": arn("RecordFailure"),
            "TimeoutSeconds": 60,
            "ResultPath": "$.failure",
            "Retry": [dict(_RETRY)],
            "Next": "Failed",
        },
        "Failed": {"Type": "Pass", "Parameters": {"status": "failed", "detail.$": "$.failure.detail"}, "End": True},
    }
    if retry_interval is not None:
        for state in item_states.values():
            for r in state.get("Retry", []):
                r["IntervalSeconds"] = retry_interval
    select = _task(arn("Select"), "$.select", "Deliver")
    del select["Catch"]  # nothing to record yet: the execution fails and the next tick selects again
    return {
        "Comment": "Stockscreen reports: select due (user, report, period) -> each: build, render, store, send",
        "StartAt": "Select",
        "States": {
            "Select": select,
            "Deliver": {
                "Type": "Map",
                "ItemsPath": "$.select.items",
                "MaxConcurrency": MAX_CONCURRENCY,
                "ItemSelector": {"item.$": "$$.Map.Item.Value", "correlation_id.$": "$.select.correlation_id"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Build", "States": item_states},
                "ResultPath": "$.results",
                # the execution's output is the items' small outcomes only (not the input: 256 KiB limit)
                "OutputPath": "$.results",
                "End": True,
            },
        },
    }
