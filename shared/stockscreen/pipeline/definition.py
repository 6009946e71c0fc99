"""The ingest state machine, as Amazon States Language, from one Python source.

The same definition is deployed by CDK (with ``definition_substitutions`` filling the
``${...FunctionArn}`` placeholders), executed by moto's Step Functions interpreter in
tests, and by ``make dev``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

STATE_MACHINE_NAME = "stockscreen-ingest"

#: Task state name -> placeholder name of the Lambda function that runs it.
TASKS: dict[str, str] = {
    "Fetch": "FetchFunctionArn",
    "Validate": "ValidateFunctionArn",
    "Load": "LoadFunctionArn",
    "Aggregate": "AggregateFunctionArn",
    "Publish": "PublishFunctionArn",
    "RecordFailure": "RecordFailureFunctionArn",
}

#: Task state name -> the handler (``module.function`` inside ``functions/ingest``).
HANDLERS: dict[str, str] = {
    "Fetch": "handlers.fetch",
    "Validate": "handlers.validate",
    "Load": "handlers.load",
    "Aggregate": "handlers.aggregate",
    "Publish": "handlers.publish",
    "RecordFailure": "handlers.record_failure",
}

TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
]

_PIPELINE = ["Fetch", "Validate", "Load", "Aggregate", "Publish"]


def _task(name: str, arn: str, next_state: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": arn,
        "ResultPath": f"$.{name.lower()}",
        "TimeoutSeconds": 900,
        "Retry": [
            {
                "ErrorEquals": TRANSIENT_ERRORS,
                "IntervalSeconds": 2,
                "MaxAttempts": 3,
                "BackoffRate": 2.0,
                "JitterStrategy": "FULL",
            }
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}],
    }
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def build_definition(function_arns: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ASL document. Without ``function_arns`` the Lambda ARNs are ``${Placeholder}``s."""

    def arn(state: str) -> str:
        key = TASKS[state]
        if function_arns is None:
            return "${" + key + "}"
        return function_arns[key]

    states: dict[str, Any] = {}
    for i, name in enumerate(_PIPELINE):
        nxt = _PIPELINE[i + 1] if i + 1 < len(_PIPELINE) else None
        states[name] = _task(name, arn(name), nxt)
    states["RecordFailure"] = {
        "Type": "Task",
        "Resource": arn("RecordFailure"),
        "ResultPath": "$.failure",
        "Next": "Failed",
    }
    states["Failed"] = {"Type": "Fail", "Error": "IngestFailed", "CausePath": "$.failure.error"}
    return {
        "Comment": "Stockscreen market-data ingest: fetch -> validate -> load -> aggregate -> publish",
        "StartAt": _PIPELINE[0],
        "States": states,
    }


def definition_json(function_arns: Mapping[str, str] | None = None) -> str:
    return json.dumps(build_definition(function_arns), indent=2, sort_keys=False)
