"""The correlation id: extracted from each kind of edge event (a bad incoming value is replaced, never
trusted), bound to every log line of its context, carried by SQS attributes and WebSocket frames; and the
tracer, a no-op that imports no X-Ray SDK outside Lambda."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stockscreen.core import correlation, observability
from stockscreen.core.correlation import (
    accept,
    bound,
    from_event,
    from_headers,
    from_sqs_event,
    from_sqs_record,
    from_state,
    from_ws_event,
    sqs_attributes,
    tag_frame,
)
from tests.jsonlogs import JsonLines, json_logs

ROOT = Path(__file__).resolve().parents[2]

GOOD = ["abc", "A-b_c.9", "x" * 64, "0f8fad5b-d9cb-469f-a165-70867728950e"]
BAD: list[Any] = [
    "",
    "x" * 65,
    "has space",
    'quote"inside',
    "new\nline",
    "tab\t",
    "ünïcode",
    "semi;colon",
    "${jndi:ldap://x}",
    "a/b",
    None,
    123,
    ["abc"],
]


def _is_new_id(value: str) -> bool:
    return str(uuid.UUID(value)) == value


@pytest.mark.parametrize("value", GOOD)
def test_a_valid_id_is_kept(value: str) -> None:
    assert accept(value) == value
    assert from_headers({"X-Correlation-Id": value}) == value


@pytest.mark.parametrize("value", BAD)
def test_a_bad_or_oversized_id_is_replaced_by_a_fresh_one(value: Any) -> None:
    got = accept(value)
    assert got != value and _is_new_id(got)
    assert _is_new_id(from_headers({"X-Correlation-Id": value}))
    assert _is_new_id(from_state({"correlation_id": value}))
    assert _is_new_id(from_sqs_record({"messageAttributes": {"correlation_id": {"stringValue": value}}}))


def test_each_call_without_an_id_makes_a_different_one() -> None:
    assert from_headers({}) != from_headers({}) and _is_new_id(from_headers(None))


def test_headers_are_matched_in_any_case() -> None:
    assert from_headers({"x-correlation-id": "lower-1"}) == "lower-1"
    assert from_headers({"X-CORRELATION-ID": "upper-1", "Other": "x"}) == "upper-1"


def test_step_functions_input_prefers_the_id_plan_settled_on() -> None:
    assert from_state({"correlation_id": "edge-1", "plan": {"correlation_id": "upload-1"}}) == "upload-1"
    assert from_state({"correlation_id": "edge-1", "plan": {"batches": []}}) == "edge-1"
    assert from_state({"correlation_id": "edge-1", "plan": {"correlation_id": "bad id"}}) == "edge-1"
    assert from_state({"correlation_id": "item-1", "item": {"user_id": "u"}}) == "item-1"  # a reports Map item
    assert _is_new_id(from_state({"run_id": "r"})) and _is_new_id(from_state(None))


def test_eventbridge_detail_then_the_event_id() -> None:
    assert from_event({"id": "evt-1", "detail": {"correlation_id": "run-cid"}}) == "run-cid"
    assert from_event({"id": "evt-1", "detail": {}}) == "evt-1"  # a schedule tick, an S3 event: the edge
    assert from_event({"id": "evt-1", "detail": {"correlation_id": "x" * 65}}) == "evt-1"
    assert _is_new_id(from_event({"Records": [{"EventSource": "aws:sns"}]}))


def test_sqs_records_in_lambda_and_boto3_spelling() -> None:
    assert from_sqs_record({"messageAttributes": {"correlation_id": {"stringValue": "c-1"}}}) == "c-1"
    assert from_sqs_record({"MessageAttributes": {"correlation_id": {"StringValue": "c-2"}}}) == "c-2"
    assert _is_new_id(from_sqs_record({"messageAttributes": {}}))
    same = {"Records": [{"messageAttributes": {"correlation_id": {"stringValue": "c-1"}}}] * 3}
    assert from_sqs_event(same) == "c-1"
    mixed = {
        "Records": [
            {"messageAttributes": {"correlation_id": {"stringValue": "c-1"}}},
            {"messageAttributes": {"correlation_id": {"stringValue": "c-2"}}},
        ]
    }
    assert _is_new_id(from_sqs_event(mixed))


def test_websocket_events_use_the_request_id() -> None:
    assert from_ws_event({"requestContext": {"requestId": "Ab1=", "connectionId": "c"}}) != "Ab1="  # '=' refused
    assert from_ws_event({"requestContext": {"requestId": "KLpWnF2xIAMF0Vg"}}) == "KLpWnF2xIAMF0Vg"


def test_sqs_attributes_carry_the_bound_id() -> None:
    with bound("tick-1"):
        assert sqs_attributes() == {"correlation_id": {"DataType": "String", "StringValue": "tick-1"}}
        assert sqs_attributes("other-1")["correlation_id"]["StringValue"] == "other-1"
    assert _is_new_id(sqs_attributes()["correlation_id"]["StringValue"])


def test_pushed_frames_carry_the_bound_id_as_cid() -> None:
    frame = b'{"type":"alert","alert_id":"a","message":"m"}'
    assert tag_frame(frame) == frame  # nothing bound: unchanged
    with bound("run-7"):
        tagged = json.loads(tag_frame(frame))
    assert tagged == {"cid": "run-7", "type": "alert", "alert_id": "a", "message": "m"}


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"level"' in line]


@pytest.fixture
def logs() -> Iterator[JsonLines]:
    with json_logs(observability.logger) as captured:
        yield captured


def test_bound_puts_the_id_on_every_line_of_its_context_and_removes_it_after(logs: JsonLines) -> None:
    log = observability.logger
    seen: dict[str, Any] = {}
    with bound("outer-1") as cid:
        log.info("one")
        with bound("inner-1"):
            log.info("two")
        log.info("three")

        def other_thread() -> None:
            seen["current"] = correlation.current()
            log.info("elsewhere")

        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    log.info("after")
    lines = {line["message"]: line for line in logs.lines()}
    assert cid == "outer-1" and seen["current"] is None
    assert lines["one"]["correlation_id"] == "outer-1" and lines["three"]["correlation_id"] == "outer-1"
    assert lines["two"]["correlation_id"] == "inner-1"
    assert "correlation_id" not in lines["elsewhere"]  # another thread is another story
    assert "correlation_id" not in lines["after"]
    assert correlation.current() is None


def test_adopt_switches_for_the_rest_of_the_block(logs: JsonLines) -> None:
    with bound("s3-event-1"):
        correlation.adopt("upload-1")
        observability.logger.info("adopted")
    assert correlation.current() is None
    [line] = [x for x in logs.lines() if x["message"] == "adopted"]
    assert line["correlation_id"] == "upload-1"


class _Context:
    function_name = "stockscreen-test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:stockscreen-test"
    aws_request_id = "req-1"


def test_an_entry_point_runs_under_its_event_id(logs: JsonLines) -> None:
    @observability.entry(from_event, flush_metrics=False)
    def handler(event: dict[str, Any], context: Any) -> str | None:
        observability.logger.info("handling")
        return correlation.current()

    assert handler({"id": "tick-42", "detail": {}}, _Context()) == "tick-42"
    assert correlation.current() is None
    [line] = [x for x in logs.lines() if x["message"] == "handling"]
    assert line["correlation_id"] == "tick-42" and line["function_name"] == "stockscreen-test"


def test_tracing_is_on_only_in_lambda_and_not_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    assert not observability.tracing_enabled()

    def fn(event: Any, context: Any) -> int:
        return 1

    assert observability.capture_lambda_handler(fn) is fn  # no tracer, no X-Ray SDK
    with observability.subsegment("noop", correlation_id="x"):
        observability.annotate(route="GET /x")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stockscreen-api")
    assert observability.tracing_enabled()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert not observability.tracing_enabled()


def test_the_api_echoes_a_valid_id_replaces_a_bad_one_and_imports_no_xray_sdk() -> None:
    """A fresh interpreter, as a cold container: import the app, serve requests; the X-Ray SDK stays unloaded."""
    code = (
        "import json, sys; sys.path.insert(0, 'functions/api'); import app\n"
        "from chalice.test import Client\n"
        "out = {}\n"
        "with Client(app.app) as c:\n"
        "    for name, value in (('good', 'req-abc.1_2'), ('bad', 'x' * 65), ('evil', 'a\\\"b')):\n"
        "        r = c.http.get('/no-such-route', headers={'X-Correlation-Id': value})\n"
        "        out[name] = [r.status_code, r.headers.get('X-Correlation-Id')]\n"
        "    out['none'] = c.http.get('/no-such-route').headers.get('X-Correlation-Id')\n"
        "out['xray'] = sorted(m for m in sys.modules if 'xray' in m)\n"
        "print('RESULT ' + json.dumps(out))\n"
    )
    env = {"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    [result] = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert result["good"] == [404, "req-abc.1_2"]
    assert result["bad"][0] == 404 and _is_new_id(result["bad"][1])
    assert _is_new_id(result["evil"][1]) and _is_new_id(result["none"])
    assert result["xray"] == []
    logged = {line["correlation_id"] for line in _lines(proc.stdout) if line.get("message") == "request"}
    assert "req-abc.1_2" in logged and result["bad"][1] in logged and "x" * 65 not in logged


def test_in_lambda_the_handler_and_its_calls_are_traced_with_the_id_as_annotation() -> None:
    """A fresh interpreter with Lambda's environment: the entry point's segment and a subsegment are sent to
    X-Ray (the emitter is captured) with ``correlation_id`` and the route as annotations."""
    code = (
        "import json\n"
        "from stockscreen.core import correlation as c, observability as o\n"
        "sent = []\n"
        "class Ctx:\n"
        "    function_name = 'fn'; memory_limit_in_mb = 128; aws_request_id = 'r1'\n"
        "    invoked_function_arn = 'arn:aws:lambda:us-east-1:1:function:fn'\n"
        "@o.entry(c.from_event, flush_metrics=False)\n"
        "def handler(event, context):\n"
        "    with o.subsegment('GET /x', route='GET /x', correlation_id=c.current()):\n"
        "        return c.current()\n"
        "o.tracer().provider.emitter.send_entity = lambda entity: sent.append(entity.to_dict())\n"
        "result = handler({'id': 'tick-9', 'detail': {}}, Ctx())\n"
        "spans = [[e['name'], e.get('annotations', {})] for e in sent]\n"
        "print('RESULT ' + json.dumps({'result': result, 'sent': spans}))\n"
    )
    env = {
        "PYTHONPATH": str(ROOT / "shared"),
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "LAMBDA_TASK_ROOT": "/tmp",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
    }
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    [result] = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert result["result"] == "tick-9"
    spans = {name: ann for name, ann in result["sent"]}
    assert spans["## GET /x"] == {"route": "GET /x", "correlation_id": "tick-9"}
    assert spans["## handler"]["correlation_id"] == "tick-9" and spans["## handler"]["ColdStart"] is True
