"""Data quality as admins see it, on the real local stack: findings row by row, their trend, releasing a
quarantined row (the next run loads it, re-runs keep it), the drop folder (S3 -> EventBridge -> the
state machine, as make dev delivers it), uploads through a presigned POST, and `quality-report`."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys
from typing import Any

import boto3
import psycopg
import pytest
import requests
from chalice.test import Client

from devstack.dropfolder import DropFolderBridge
from devstack.stepfunctions import IngestStateMachine
from stockscreen.pipeline.definition import DROP_INPUT_PATHS, drop_event_pattern, drop_input
from tests.conftest import FIXTURES, ROOT
from tests.integration.authkit import assert_error, body, make_user, post

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits")]

CONSTITUENTS = str(FIXTURES / "constituents-sample.csv")
SAMPLE = [CONSTITUENTS, str(FIXTURES / "fundamentals-sample-2018-02-08.csv"), str(FIXTURES / "bars-sample.csv.gz")]


def _q(env: dict[str, str], sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _s3(env: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _latest_run(env: dict[str, str]) -> str:
    return str(_q(env, "SELECT id FROM ingest_runs ORDER BY started_at DESC LIMIT 1")[0][0])


@pytest.fixture(scope="module")
def admin(client: Client, stack_env: dict[str, str]) -> Any:
    return make_user(client, stack_env["DATABASE_URL"], "admin")


@pytest.fixture(scope="module")
def machine(stack_env: dict[str, str]) -> IngestStateMachine:
    return IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])


@pytest.fixture
def bridge(stack_env: dict[str, str], machine: IngestStateMachine) -> DropFolderBridge:
    b = DropFolderBridge(stack_env["DROP_QUEUE_URL"], machine, stack_env["AWS_ENDPOINT_URL"])
    while b.sqs.receive_message(QueueUrl=b.queue_url, WaitTimeSeconds=0).get("Messages"):
        b.sqs.purge_queue(QueueUrl=b.queue_url)  # nothing left over from another test
    return b


def _started(bridge: DropFolderBridge, tries: int = 10) -> list[str]:
    for _ in range(tries):
        started = bridge.poll_once(wait_seconds=1)
        if started:
            return started
    return []


def test_findings_row_by_row_with_filters_and_paging(client: Client, admin: Any, stack_env: dict[str, str]) -> None:
    run_id = _latest_run(stack_env)
    got = body(client.http.get(f"/admin/findings?run_id={run_id}&rule=bad_print&symbol=lnt", headers=admin.auth))
    assert got["count"] >= 1
    lnt = next(f for f in got["data"] if f["date"] == "2016-05-19")
    assert (lnt["rule"], lnt["severity"], lnt["action"], lnt["symbol"]) == ("bad_print", "error", "quarantined", "LNT")
    assert lnt["file"] == "bars-sample.csv.gz" and isinstance(lnt["line"], int) and lnt["line"] > 1
    assert set(lnt["values"]) == {"open", "high", "low", "close", "volume"} and lnt["releasable"] is True
    assert "bad print" in lnt["message"]
    # paging: two pages of one are the first two of the whole, the count is the whole's
    everything = body(client.http.get(f"/admin/findings?run_id={run_id}&limit=100", headers=admin.auth))
    first = body(client.http.get(f"/admin/findings?run_id={run_id}&limit=1", headers=admin.auth))
    second = body(client.http.get(f"/admin/findings?run_id={run_id}&limit=1&offset=1", headers=admin.auth))
    assert first["count"] == second["count"] == everything["count"] > 2
    assert [first["data"][0]["id"], second["data"][0]["id"]] == [f["id"] for f in everything["data"][:2]]
    warnings = body(client.http.get(f"/admin/findings?run_id={run_id}&severity=warning&limit=100", headers=admin.auth))
    assert warnings["count"] > 0 and {f["severity"] for f in warnings["data"]} == {"warning"}
    quarantined = body(client.http.get(f"/admin/findings?run_id={run_id}&action=quarantined", headers=admin.auth))
    assert quarantined["count"] > 0 and all(f["raw"] for f in quarantined["data"])
    assert_error(client.http.get("/admin/findings?severity=fatal", headers=admin.auth), 400)
    assert_error(client.http.get("/admin/findings?run_id=nope", headers=admin.auth), 400)
    assert_error(client.http.get("/admin/findings?rule=DROP%20TABLE", headers=admin.auth), 400)
    # the trend: today's runs' findings per rule
    trend = body(client.http.get("/admin/findings/trend?days=7", headers=admin.auth))["data"]
    assert any(p["rule"] == "bad_print" and p["count"] >= 1 for p in trend)
    assert_error(client.http.get("/admin/findings/trend?days=0", headers=admin.auth), 400)
    # runs have a duration
    runs = body(client.http.get("/admin/ingest-runs", headers=admin.auth))["data"]
    assert runs[0]["duration_seconds"] is not None and runs[0]["duration_seconds"] >= 0


def test_admin_data_routes_refuse_other_roles(client: Client, stack_env: dict[str, str]) -> None:
    for role in ("free", "premium"):
        user = make_user(client, stack_env["DATABASE_URL"], role)
        assert_error(client.http.get("/admin/findings", headers=user.auth), 403)
        assert_error(post(client, "/admin/uploads", {"filename": "a.csv", "size": 10}, user.auth), 403)
        assert_error(post(client, "/admin/findings/1/release", {}, user.auth), 403)
    assert_error(client.http.get("/admin/findings"), 401)


def test_release_is_audited_loaded_by_the_next_run_and_survives_reruns(
    client: Client, admin: Any, stack_env: dict[str, str], machine: IngestStateMachine
) -> None:
    run_id = _latest_run(stack_env)
    found = body(client.http.get(f"/admin/findings?run_id={run_id}&rule=bad_print&symbol=LNT", headers=admin.auth))
    lnt = next(f for f in found["data"] if f["date"] == "2016-05-19")
    bar = (
        "SELECT b.close FROM daily_bars b JOIN securities s ON s.id = b.security_id WHERE s.symbol = %s AND b.date = %s"
    )
    assert _q(stack_env, bar, "LNT", "2016-05-19") == []  # quarantined: never loaded

    # what cannot be released
    assert_error(post(client, "/admin/findings/999999999/release", {}, admin.auth), 404)
    assert_error(post(client, "/admin/findings/abc/release", {}, admin.auth), 404)
    missing = body(client.http.get(f"/admin/findings?run_id={run_id}&rule=missing_price", headers=admin.auth))
    assert_error(post(client, f"/admin/findings/{missing['data'][0]['id']}/release", {}, admin.auth), 400)
    loaded = body(client.http.get(f"/admin/findings?run_id={run_id}&action=loaded", headers=admin.auth))
    assert_error(post(client, f"/admin/findings/{loaded['data'][0]['id']}/release", {}, admin.auth), 400)
    assert_error(post(client, f"/admin/findings/{lnt['id']}/release", {"note": "x", "extra": 1}, admin.auth), 400)

    resp = post(client, f"/admin/findings/{lnt['id']}/release", {"note": "checked against the exchange"}, admin.auth)
    assert resp.status_code == 201, resp.body
    released = body(resp)
    assert (released["symbol"], released["date"], released["rule"]) == ("LNT", "2016-05-19", "bad_print")
    assert released["values"]["close"] == lnt["values"]["close"]
    assert_error(post(client, f"/admin/findings/{lnt['id']}/release", {}, admin.auth), 409)
    again = body(client.http.get(f"/admin/findings?run_id={run_id}&rule=bad_print&symbol=LNT", headers=admin.auth))
    assert next(f for f in again["data"] if f["id"] == lnt["id"])["releasable"] is False
    log = body(client.http.get(f"/admin/audit?action=admin.quarantine_release&actor_id={admin.id}", headers=admin.auth))
    assert log["count"] == 1 and log["data"][0]["target"] == str(lnt["id"])
    assert log["data"][0]["details"]["symbol"] == "LNT" and log["data"][0]["details"]["note"].startswith("checked")

    # the next run (no bars file of its own) loads the released row
    result = machine.run({"source": {"paths": [CONSTITUENTS]}})
    assert result["status"] == "SUCCEEDED", result
    report = result["output"]["report"]
    assert report["inserted"] == 1 and report["released_loaded"] == 1
    assert _q(stack_env, bar, "LNT", "2016-05-19") == [(lnt["values"]["close"],)]
    next_run = report["run_id"]
    assert _q(stack_env, "SELECT loaded_run_id::text FROM quarantine_releases WHERE symbol = 'LNT'") == [(next_run,)]
    noted = body(client.http.get(f"/admin/findings?run_id={next_run}&rule=released", headers=admin.auth))
    assert noted["count"] == 1 and noted["data"][0]["symbol"] == "LNT" and noted["data"][0]["action"] == "loaded"

    # a re-run of the original files keeps it: bad_print no longer quarantines that row
    rerun = machine.run({"source": {"paths": SAMPLE}})
    assert rerun["status"] == "SUCCEEDED", rerun
    rerun_id = rerun["output"]["report"]["run_id"]
    lnt_prints = _q(
        stack_env,
        "SELECT rule, action FROM quality_issues WHERE run_id = %s AND symbol = 'LNT' AND date = '2016-05-19'",
        rerun_id,
    )
    assert ("released", "loaded") in lnt_prints and not [f for f in lnt_prints if f[1] == "quarantined"]
    assert _q(stack_env, bar, "LNT", "2016-05-19") == [(lnt["values"]["close"],)]
    assert rerun["output"]["report"]["quarantined"] == result_quarantined(stack_env, run_id) - 1


def result_quarantined(env: dict[str, str], run_id: str) -> int:
    return int(
        _q(env, "SELECT count(*) FROM quality_issues WHERE run_id = %s AND action = 'quarantined'", run_id)[0][0]
    )


_EXTRA_BAR = "date,open,high,low,close,volume,Name\n2018-02-08,160.29,161.00,155.03,155.15,54390516,AAPL\n"


def test_drop_folder_starts_a_run_that_loads_the_file(stack_env: dict[str, str], bridge: DropFolderBridge) -> None:
    # the local rule is CDK's rule, and its input the transformer's
    events = boto3.client(
        "events",
        endpoint_url=stack_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    rule = events.describe_rule(Name="stockscreen-drop-folder")
    assert json.loads(rule["EventPattern"]) == drop_event_pattern(stack_env["RAW_BUCKET_NAME"])
    s3 = _s3(stack_env)
    bucket = stack_env["RAW_BUCKET_NAME"]
    s3.put_object(Bucket=bucket, Key="archive/aapl-extra.csv", Body=_EXTRA_BAR.encode())  # not the drop folder
    assert bridge.poll_once(wait_seconds=1) == []
    s3.put_object(Bucket=bucket, Key="incoming/drop/aapl-extra.csv", Body=_EXTRA_BAR.encode())
    started = _started(bridge)
    assert len(started) == 1
    result = bridge.machine.wait(started[0])
    assert result["status"] == "SUCCEEDED", result
    report = result["output"]["report"]
    assert report["fetched"] == 1 and report["inserted"] == 1
    source = _q(stack_env, "SELECT source FROM ingest_runs WHERE id = %s", report["run_id"])[0][0]
    assert source == {"s3": {"bucket": bucket, "key": "incoming/drop/aapl-extra.csv"}}
    close = "SELECT b.close FROM daily_bars b JOIN securities s ON s.id = b.security_id WHERE s.symbol = 'AAPL' "
    assert _q(stack_env, close + "AND b.date = '2018-02-08'") == [(155.15,)]
    # a dropped object that is not there (deleted before the run fetched it) fails the run with one line
    payload = drop_input(
        {
            "id": "3b0c5a4e-8a4e-4c53-9d1e-2f4d3c2b1a00",
            "detail": {"bucket": {"name": bucket}, "object": {"key": "incoming/gone.csv"}},
        }
    )
    assert set(DROP_INPUT_PATHS) == {"run_id", "correlation_id", "bucket", "key"}
    failed = bridge.machine.run(payload)
    assert failed["status"] == "FAILED"
    error = _q(stack_env, "SELECT error FROM ingest_runs WHERE id = %s", payload["run_id"])[0][0]
    assert "incoming/gone.csv" in error and "no such object" in error


def test_upload_through_a_presigned_post_and_follow_its_run(
    client: Client, admin: Any, stack_env: dict[str, str], bridge: DropFolderBridge
) -> None:
    data = _EXTRA_BAR.replace("2018-02-08", "2018-02-09").replace("155.15", "156.41").encode()
    resp = post(client, "/admin/uploads", {"filename": "C:\\Users\\me\\aapl more.csv", "size": len(data)}, admin.auth)
    assert resp.status_code == 201, resp.body
    up = body(resp)
    assert up["key"] == f"incoming/{up['upload_id']}/aapl_more.csv" and up["content_type"] == "text/csv"
    policy = json.loads(base64.b64decode(up["fields"]["policy"]))
    assert ["content-length-range", 1, up["max_bytes"]] in policy["conditions"]
    assert {"Content-Type": "text/csv"} in policy["conditions"]
    status = body(client.http.get(f"/admin/uploads/{up['upload_id']}", headers=admin.auth))
    assert status == {"upload_id": up["upload_id"], "run": None}
    posted = requests.post(up["url"], data=up["fields"], files={"file": ("aapl more.csv", data)}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    started = _started(bridge)
    assert len(started) == 1
    assert bridge.machine.wait(started[0])["status"] == "SUCCEEDED"
    status = body(client.http.get(f"/admin/uploads/{up['upload_id']}", headers=admin.auth))
    run = status["run"]
    assert run["status"] == "succeeded" and run["duration_seconds"] >= 0
    assert [p["state"] for p in run["progress"]][:3] == ["Plan", "FetchBatches", "Validate"]
    assert {p["status"] for p in run["progress"]} == {"done"}
    # refused before any upload
    assert_error(post(client, "/admin/uploads", {"filename": "tool.exe", "size": 10}, admin.auth), 400)
    assert_error(post(client, "/admin/uploads", {"filename": ".csv", "size": 10}, admin.auth), 400)
    too_big = up["max_bytes"] + 1
    assert_error(post(client, "/admin/uploads", {"filename": "a.csv", "size": too_big}, admin.auth), 400)
    assert_error(post(client, "/admin/uploads", {"filename": "a.csv"}, admin.auth), 400)
    assert_error(client.http.get("/admin/uploads/not-a-uuid", headers=admin.auth), 404)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack.cli", "quality-report", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_quality_report_lists_findings_as_table_json_and_csv(stack_env: dict[str, str]) -> None:
    run_id = str(
        _q(
            stack_env,
            "SELECT id FROM ingest_runs WHERE status = 'succeeded' AND source ? 'paths' "
            "AND jsonb_array_length(source->'paths') = 3 ORDER BY started_at LIMIT 1",
        )[0][0]
    )
    as_json = _cli(stack_env, "--run", run_id, "--format", "json", "--severity", "error")
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)  # stdout is the document, whole
    assert doc["run"]["run_id"] == run_id and doc["count"] == len(doc["findings"]) > 0
    assert {f["severity"] for f in doc["findings"]} == {"error"}
    assert set(doc["findings"][0]) == {"rule", "severity", "action", "symbol", "date", "file", "line", "message"}
    assert sum(r["count"] for r in doc["summary"] if r["severity"] == "error") == doc["count"]
    as_csv = _cli(stack_env, "--run", run_id, "--format", "csv", "--rule", "bad_print", "--symbol", "lnt")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows and {r["rule"] for r in rows} == {"bad_print"} and {r["symbol"] for r in rows} == {"LNT"}
    assert any(r["date"] == "2016-05-19" and r["file"] == "bars-sample.csv.gz" and r["line"] for r in rows)
    table = _cli(stack_env, "--run", run_id, "--rule", "missing_price")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["rule", "severity", "action", "symbol"]
    assert len(lines) > 1 and all(line.startswith("missing_price") for line in lines[1:])
    assert "finding(s) listed" in table.stderr and "rule" in table.stderr  # the counts: a summary on stderr
    unknown = _cli(stack_env, "--run", "00000000-0000-4000-8000-000000000000")
    assert unknown.returncode == 1 and "no ingest run" in unknown.stderr and unknown.stdout == ""
