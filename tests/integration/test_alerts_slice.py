"""prices.updated: published by the pipeline to EventBridge, routed to the alerts queue, consumed once."""

from __future__ import annotations

import json

import boto3
import psycopg
import pytest

from devstack.lambdas import LocalContext, load_module
from devstack.stepfunctions import IngestStateMachine
from tests.conftest import FIXTURES, truncate_all

SAMPLE = [
    str(FIXTURES / n) for n in ("constituents-sample.csv", "fundamentals-sample-2018-02-08.csv", "bars-sample.csv.gz")
]


@pytest.mark.usefixtures("no_other_alerts")  # earlier tests' alerts would fire on the sample's prices
def test_pipeline_event_reaches_the_alerts_handler_once(stack_env: dict[str, str]) -> None:
    truncate_all(stack_env["DATABASE_URL"])
    sqs = boto3.client("sqs", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    queue = stack_env["ALERTS_QUEUE_URL"]
    sqs.purge_queue(QueueUrl=queue)

    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": SAMPLE}})
    assert result["status"] == "SUCCEEDED", result

    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    events = [json.loads(m["Body"]) for m in messages]
    prices = [e for e in events if e.get("detail-type") == "prices.updated"]
    assert len(prices) == 1
    event = prices[0]
    assert event["source"] == "stockscreen.ingest"
    assert event["detail"]["run_id"] == result["output"]["run_id"]
    assert event["detail"]["snapshot_version"] == result["output"]["aggregate"]["version"]
    assert sorted(event["detail"]["symbols"]) == ["AAPL", "AOS", "APTV", "DHR", "JPM", "LNT", "MSFT", "XOM"]

    handlers = load_module("functions/alerts/handlers.py", "stockscreen_alerts_handlers")
    first = handlers.on_prices_updated(event, LocalContext("stockscreen-alerts"))
    again = handlers.on_prices_updated(event, LocalContext("stockscreen-alerts"))
    assert first == {"event_id": event["id"], "recorded": True, "fired": 0}  # no alerts yet
    assert again == {"event_id": event["id"], "recorded": False, "fired": 0}
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", "")) as conn:
        rows = conn.execute("SELECT run_id, snapshot_version, symbols FROM alert_invocations").fetchall()
    assert rows == [(event["detail"]["run_id"], event["detail"]["snapshot_version"], 8)]


def test_alerts_handler_rejects_other_events(stack_env: dict[str, str]) -> None:
    from stockscreen.core.errors import Invalid

    handlers = load_module("functions/alerts/handlers.py", "stockscreen_alerts_handlers")
    with pytest.raises(Invalid):
        handlers.on_prices_updated({"detail-type": "something.else", "detail": {}}, LocalContext("x"))
