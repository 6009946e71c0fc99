"""The state machine definition: one source, the shape CDK and moto both run."""

from __future__ import annotations

import json

from stockscreen.pipeline.definition import HANDLERS, PIPELINE, TASKS, build_definition, definition_json


def test_pipeline_order_and_failure_branch() -> None:
    d = build_definition()
    states = d["States"]
    order = [d["StartAt"]]
    while "Next" in states[order[-1]]:
        order.append(states[order[-1]]["Next"])
    assert order == PIPELINE
    assert states["Report"]["End"] is True
    for name in order:
        assert states[name]["Catch"][0]["Next"] == "RecordFailure"
    tasks = [states[n] for n in order if states[n]["Type"] == "Task"]
    tasks += [states[n]["ItemProcessor"]["States"][t] for n, t in (("FetchBatches", "Fetch"), ("LoadBatches", "Load"))]
    for task in tasks:
        retry = task["Retry"][0]
        assert retry["BackoffRate"] > 1 and retry["JitterStrategy"] == "FULL"
        assert "TransientError" in retry["ErrorEquals"]
        assert "States.ALL" not in retry["ErrorEquals"]  # only transient errors are retried
    assert states["RecordFailure"]["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"


def test_maps_fan_out_over_batch_references_with_bounded_concurrency() -> None:
    states = build_definition()["States"]
    for name, items in (("FetchBatches", "$.plan.batches"), ("LoadBatches", "$.validate.batches")):
        m = states[name]
        assert m["Type"] == "Map" and m["ItemsPath"] == items
        assert 1 <= m["MaxConcurrency"] <= 10
        # each iteration gets the run id, the run's correlation id (settled by Plan) and its batch descriptor
        assert m["ItemSelector"] == {
            "run_id.$": "$.run_id",
            "correlation_id.$": "$.plan.correlation_id",
            "source.$": "$.source",
            "batch.$": "$$.Map.Item.Value",
        }


def test_placeholders_and_substitution() -> None:
    text = definition_json()
    for placeholder in TASKS.values():
        assert "${" + placeholder + "}" in text
    arns = {p: f"arn:aws:lambda:us-east-1:1:function:{p}" for p in TASKS.values()}
    d = json.loads(definition_json(arns))
    assert d["States"]["Plan"]["Resource"] == arns["PlanFunctionArn"]
    assert d["States"]["FetchBatches"]["ItemProcessor"]["States"]["Fetch"]["Resource"] == arns["FetchFunctionArn"]
    assert set(HANDLERS) == set(TASKS)
