"""One correlation id, followed end to end on the local stack (PostgreSQL, Redis, moto; the real handlers):

an admin's upload request with ``X-Correlation-Id`` -> the presigned POST (the object carries the id) -> the
drop folder's S3 event -> the ingest state machine (every task) -> ``prices.updated`` (its detail carries the
id) -> the alert evaluator and the WebSocket broadcast (both EventBridge targets) -> the delivery queue (the
``correlation_id`` message attribute) -> the delivery function -> the WebSocket push (the frame's ``cid``).

The JSON log lines of every function are captured as CloudWatch would receive them; searching them for the
id finds the whole story, and every line of that story carries it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from chalice.test import Client

from devstack.dropfolder import DropFolderBridge
from devstack.lambdas import LocalContext
from devstack.stepfunctions import IngestStateMachine
from stockscreen.core.observability import logger
from stockscreen.pipeline.definition import TASKS
from stockscreen.realtime.connections import connection_registry
from tests.integration.alertkit import delivery_env, drain, screen_alert_at_baseline
from tests.integration.authkit import body, make_user
from tests.integration.wskit import load_handlers
from tests.jsonlogs import json_logs

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits", "no_other_alerts")]
__all__ = ["delivery_env"]

#: The sample's last session is 2018-02-07; on 2018-02-08 AAPL closes at 170 and enters "close > 165".
SESSION = "2018-02-08"
LAST = {
    "AAPL": 170.0,
    "AOS": 62.72,
    "APTV": 93.69,
    "DHR": 95.25,
    "JPM": 112.87,
    "LNT": 37.5,
    "MSFT": 89.61,
    "XOM": 76.94,
}


def _csv() -> bytes:
    rows = ["date,open,high,low,close,volume,Name"]
    rows += [f"{SESSION},{c},{c * 1.01:.2f},{c * 0.99:.2f},{c},1000000,{s}" for s, c in LAST.items()]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def ws_handlers() -> ModuleType:
    return load_handlers()


def test_one_id_follows_an_upload_through_ingest_alerts_delivery_and_the_pushes(
    client: Client,
    stack_env: dict[str, str],
    delivery_env: dict[str, Any],
    ws_handlers: ModuleType,
    tmp_path: Path,
) -> None:
    start = screen_alert_at_baseline(client, stack_env, delivery_env)
    user, worker = start.user, start.worker
    sqs = delivery_env["aws"]["sqs"]
    bridge = DropFolderBridge(
        stack_env["DROP_QUEUE_URL"], IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]), stack_env["AWS_ENDPOINT_URL"]
    )
    drain(bridge.sqs, bridge.queue_url)
    admin = make_user(client, stack_env["DATABASE_URL"], "admin")
    # the user has a WebSocket session open, following AAPL
    connection_registry().register("conn-e2e", user.id)
    connection_registry().subscribe("conn-e2e", ["AAPL"])
    delivery_env["posts"].clear()

    cid = f"e2e-{uuid.uuid4().hex[:12]}"
    data = _csv()
    with json_logs(logger, ws_handlers.logger) as logs:
        # 1. the edge: the admin's upload request, with the caller's id
        resp = client.http.post(
            "/admin/uploads",
            body=json.dumps({"filename": "session.csv", "size": len(data)}),
            headers={**admin.auth, "Content-Type": "application/json", "X-Correlation-Id": cid},
        )
        assert resp.status_code == 201, resp.body
        assert resp.headers["X-Correlation-Id"] == cid
        up = body(resp)
        assert up["fields"]["x-amz-meta-correlation-id"] == cid
        posted = requests.post(up["url"], data=up["fields"], files={"file": ("session.csv", data)}, timeout=10)
        assert posted.status_code in (200, 201, 204), posted.text

        # 2. the drop folder: S3 event -> the state machine (its input: the S3 event's id; Plan continues the upload's)
        started: list[str] = []
        for _ in range(10):
            if started := bridge.poll_once(wait_seconds=1):
                break
        assert len(started) == 1
        run = bridge.machine.wait(started[0])
        assert run["status"] == "SUCCEEDED", run
        assert run["output"]["plan"]["correlation_id"] == cid

        # 3. prices.updated carries it in its detail; EventBridge delivers it to the evaluator and the broadcast
        msgs = sqs.receive_message(QueueUrl=stack_env["ALERTS_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
        [message] = msgs["Messages"]
        event = json.loads(message["Body"])
        assert event["detail-type"] == "prices.updated" and event["detail"]["correlation_id"] == cid
        sqs.delete_message(QueueUrl=stack_env["ALERTS_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])
        evaluated = worker.handlers.on_prices_updated(event, LocalContext("stockscreen-alerts"))
        assert evaluated["fired"] == 1
        pushed = ws_handlers.broadcast(event, None)
        assert pushed["delivered"] >= 1

        # 4. the delivery queue: the fired alert's message attribute
        peek = sqs.receive_message(
            QueueUrl=stack_env["ALERTS_DELIVERY_QUEUE_URL"], MessageAttributeNames=["All"], VisibilityTimeout=0
        )
        [fired] = peek["Messages"]
        assert fired["MessageAttributes"]["correlation_id"]["StringValue"] == cid
        assert worker.poll_delivery() == (1, 0)

    # 5. the WebSocket frames: the broadcast's quote and the alert push both carry the id
    frames = [payload for _, payload in delivery_env["posts"]]
    kinds = {f["type"]: f for f in frames}
    assert {"alert"} <= set(kinds) and ({"quote", "quotes"} & set(kinds)), frames
    assert all(f.get("cid") == cid for f in frames), frames

    # 6. the logs: searching the id finds every function the upload touched, and all their lines carry it
    lines = logs.lines()
    story = [line for line in lines if line.get("correlation_id") == cid]
    functions = {line.get("function_name") for line in story}
    ingest = {f"stockscreen-ingest-{state.lower()}" for state in TASKS if state != "RecordFailure"}
    assert ingest <= functions, sorted(f for f in functions if f)
    assert {"stockscreen-alerts", "stockscreen-alert-delivery"} <= functions
    messages = {line["message"] for line in story}
    assert "request" in messages  # the API
    assert {f"{state} done" for state in TASKS if state != "RecordFailure"} <= messages  # each task
    assert {"prices.updated evaluated", "alert delivered", "alert pushed", "broadcast"} <= messages
    # nothing of that story logged without the id (its log lines are all found by the one query)
    loose = [
        line
        for line in lines
        if line.get("function_name") in ingest | {"stockscreen-alerts", "stockscreen-alert-delivery"}
        and line.get("correlation_id") != cid
    ]
    assert loose == []
    [request_line] = [line for line in story if line["message"] == "request"]
    assert request_line["path"] == "/admin/uploads" and request_line["status"] == 201
