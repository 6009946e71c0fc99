"""The reports construct in the synthesised template: the fan-out schedule, the state machine from the
shared definition, the private encrypted bucket, least-privilege grants per task."""

from __future__ import annotations

import json
from typing import Any

from stockscreen_infra import constants as c

from stockscreen.reports.definition import HANDLERS, STATE_MACHINE_NAME, TASKS, build_definition

from .conftest import Synth
from .test_stack import _as_list, _logical_id, _policy_statements, _render_fn_sub


def _role_actions(synth: Synth, fn: Any) -> set[str]:
    role = synth.stack.get_logical_id(fn.role.node.default_child)
    out: set[str] = set()
    for logical_id, res in synth.resources("AWS::IAM::Policy").items():
        if any(r.get("Ref") == role for r in res["Properties"]["Roles"]):
            for st in res["Properties"]["PolicyDocument"]["Statement"]:
                out.update(_as_list(st["Action"]))
    return out


def test_reports_state_machine_uses_the_shared_definition(synth: Synth) -> None:
    machines = synth.resources("AWS::StepFunctions::StateMachine")
    (res,) = [r for r in machines.values() if r["Properties"].get("StateMachineName") == STATE_MACHINE_NAME]
    definition = json.loads(_render_fn_sub(res["Properties"]["DefinitionString"]))
    deliver = definition["States"]["Deliver"]
    assert deliver["Type"] == "Map" and deliver["MaxConcurrency"] == 10
    states = deliver["ItemProcessor"]["States"]
    for name in ("Build", "Render", "Store", "Send"):
        assert states[name]["Retry"] and states[name]["Catch"][0]["Next"] == "RecordFailure"
    assert definition == build_definition()  # the shared source verbatim, placeholders kept
    fn_ids = {state: _logical_id(synth, fn) for state, fn in synth.stack.reports.functions.items()}
    assert res["Properties"]["DefinitionSubstitutions"] == {
        TASKS[state]: {"Fn::GetAtt": [fn_ids[state], "Arn"]} for state in TASKS
    }


def test_fan_out_schedule_starts_the_state_machine(synth: Synth) -> None:
    (sched,) = synth.resources("AWS::Scheduler::Schedule").values()
    p = sched["Properties"]
    assert p["ScheduleExpression"] == "rate(15 minutes)" and p["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert json.loads(p["Target"]["Input"]) == {
        "now": "<aws.scheduler.scheduled-time>",
        "correlation_id": "<aws.scheduler.execution-id>",  # the tick is the run's edge
    }
    machine = _logical_id(synth, synth.stack.reports.state_machine)
    assert p["Target"]["Arn"] == {"Ref": machine}


def test_reports_bucket_private_encrypted_tls_only(synth: Synth) -> None:
    bucket = synth.resources("AWS::S3::Bucket")[_logical_id(synth, synth.stack.reports.bucket)]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] == "AES256"
    bucket_id = _logical_id(synth, synth.stack.reports.bucket)
    denies = [
        st
        for _, res in synth.resources("AWS::S3::BucketPolicy").items()
        if res["Properties"]["Bucket"] == {"Ref": bucket_id}
        for st in res["Properties"]["PolicyDocument"]["Statement"]
        if st["Effect"] == "Deny"
    ]
    assert any(st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in denies)


def test_reports_tasks_least_privilege(synth: Synth) -> None:
    fns = synth.stack.reports.functions
    assert set(fns) == set(HANDLERS)
    render = _role_actions(synth, fns["Render"])
    assert not any(a.startswith(("ses:", "secretsmanager:")) for a in render)  # no mail, no database
    assert {"s3:PutObject", "s3:GetObject"} <= render and not any("*" in a for a in render if a.startswith("s3:"))
    send = _role_actions(synth, fns["Send"])
    assert "ses:SendRawEmail" in send and not any(a.startswith("s3:Put") for a in send)
    for name in ("Select", "Store", "RecordFailure"):
        acts = _role_actions(synth, fns[name])
        assert not any(a.startswith(("s3:", "ses:")) for a in acts), (name, acts)
    assert not any(a.startswith("s3:Get") for a in _role_actions(synth, fns["Build"]))
    ses = [st for _, st in _policy_statements(synth) if "ses:SendRawEmail" in _as_list(st["Action"])]
    assert all("*" not in json.dumps(st["Resource"]) for st in ses)


def test_render_function_has_its_own_layer(synth: Synth) -> None:
    fns = synth.resources("AWS::Lambda::Function")
    render = fns[_logical_id(synth, synth.stack.reports.functions["Render"])]["Properties"]
    build = fns[_logical_id(synth, synth.stack.reports.functions["Build"])]["Properties"]
    assert len(render["Layers"]) == 2 and len(build["Layers"]) == 1
    assert render["Environment"]["Variables"][c.ENV_REPORTS_BUCKET]
    assert "DATABASE_SECRET_ARN" in render["Environment"]["Variables"]  # common env, but no grant to read it
