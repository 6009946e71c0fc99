"""The state machine definition: one source, the shape CDK and moto both run."""

from __future__ import annotations

import json

from stockscreen.pipeline.definition import HANDLERS, TASKS, build_definition, definition_json


def test_pipeline_order_and_failure_branch() -> None:
    d = build_definition()
    states = d["States"]
    order = [d["StartAt"]]
    while "Next" in states[order[-1]]:
        order.append(states[order[-1]]["Next"])
    assert order == ["Fetch", "Validate", "Load", "Aggregate", "Publish"]
    assert states["Publish"]["End"] is True
    for name in order:
        assert states[name]["Catch"][0]["Next"] == "RecordFailure"
        retry = states[name]["Retry"][0]
        assert retry["BackoffRate"] > 1 and retry["JitterStrategy"] == "FULL"
        assert "States.ALL" not in retry["ErrorEquals"]  # only transient errors are retried
    assert states["RecordFailure"]["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"


def test_placeholders_and_substitution() -> None:
    text = definition_json()
    for placeholder in TASKS.values():
        assert "${" + placeholder + "}" in text
    arns = {p: f"arn:aws:lambda:us-east-1:1:function:{p}" for p in TASKS.values()}
    d = json.loads(definition_json(arns))
    assert d["States"]["Fetch"]["Resource"] == arns["FetchFunctionArn"]
    assert set(HANDLERS) == set(TASKS)
