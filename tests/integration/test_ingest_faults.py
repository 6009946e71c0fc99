"""Faults the ingest pipeline must survive, executing the real ASL definition in moto."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devstack.stepfunctions import IngestStateMachine
from stockscreen.core.clients import reset_clients
from stockscreen.core.errors import Conflict
from stockscreen.pipeline import service
from tests.conftest import FIXTURES, truncate_all

STOOQ = FIXTURES / "stooq"
SAMPLE = [
    str(FIXTURES / "constituents-sample.csv"),
    str(FIXTURES / "fundamentals-sample-2018-02-08.csv"),
    str(FIXTURES / "bars-sample.csv.gz"),
]
REFERENCE = SAMPLE[:2]


def _plain(url: str) -> str:
    return url.replace("+psycopg", "")


def _q(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(_plain(url)) as conn:
        return conn.execute(sql, params).fetchall()


def _x(url: str, sql: str) -> None:
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def machine(stack_env: dict[str, str]) -> IngestStateMachine:
    truncate_all(stack_env["DATABASE_URL"])
    _x(stack_env["DATABASE_URL"], "TRUNCATE bars_weekly, bars_monthly")
    return IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, stack_env: dict[str, str]) -> Iterator[pytest.MonkeyPatch]:
    """Ingest settings changed per test (the settings cache is reset before and after)."""
    reset_clients()
    yield monkeypatch
    monkeypatch.undo()
    reset_clients()


class FakeStooq:
    """A local HTTP server answering like Stooq from recorded responses, with injected faults."""

    def __init__(self) -> None:
        self.failing: set[str] = set()  # tickers answered with HTTP 503
        self.slow: set[str] = set()  # tickers that never answer in time
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                ticker = query.get("s", [""])[0]
                owner.requests.append(ticker)
                if ticker in owner.slow:
                    time.sleep(1.5)
                if ticker in owner.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                path = STOOQ / f"{ticker}.csv"
                body = path.read_bytes() if path.exists() else (STOOQ / "nodata.txt").read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/q/d/l/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stooq(settings: pytest.MonkeyPatch) -> Iterator[FakeStooq]:
    fake = FakeStooq()
    settings.setenv("STOOQ_BASE_URL", fake.url)
    settings.setenv("PROVIDER_TIMEOUT_SECONDS", "0.5")
    settings.setenv("PROVIDER_ATTEMPTS", "2")
    settings.setenv("INGEST_BATCH_SYMBOLS", "2")
    reset_clients()
    yield fake
    fake.close()


def _bars_per_symbol(url: str) -> dict[str, int]:
    rows = _q(url, "SELECT s.symbol, count(*) FROM daily_bars b JOIN securities s ON s.id = b.security_id GROUP BY 1")
    return {r[0]: int(r[1]) for r in rows}


STOOQ_RANGE = {"provider": "stooq", "from": "2018-01-29", "to": "2018-02-07"}


def test_stooq_provider_loads_through_the_state_machine(
    machine: IngestStateMachine, stack_env: dict[str, str], stooq: FakeStooq
) -> None:
    assert machine.run({"source": {"paths": REFERENCE}})["status"] == "SUCCEEDED"
    result = machine.run({"source": {**STOOQ_RANGE, "symbols": ["AAPL", "MSFT", "JPM", "XOM"]}})
    assert result["status"] == "SUCCEEDED", result
    assert result["states"].count("Fetch") == 2  # two batches of two symbols
    report = result["output"]["report"]
    assert report["inserted"] == 4 * 8 and report["skipped_symbols"] == []
    assert _bars_per_symbol(stack_env["DATABASE_URL"]) == {"AAPL": 8, "MSFT": 8, "JPM": 8, "XOM": 8}
    close = _q(
        stack_env["DATABASE_URL"],
        "SELECT close FROM daily_bars b JOIN securities s ON s.id = b.security_id "
        "WHERE symbol = 'AAPL' AND date = '2018-02-02'",
    )[0][0]
    assert close == pytest.approx(160.5)
    assert "aapl.us" in stooq.requests


def test_provider_failing_for_some_symbols_is_retried_then_reported_and_the_rest_load(
    machine: IngestStateMachine, stack_env: dict[str, str], stooq: FakeStooq
) -> None:
    assert machine.run({"source": {"paths": REFERENCE}})["status"] == "SUCCEEDED"
    stooq.failing.add("msft.us")
    result = machine.run({"source": {**STOOQ_RANGE, "symbols": ["AAPL", "MSFT", "JPM", "XOM", "AOS"]}})
    assert result["status"] == "SUCCEEDED", result
    report = result["output"]["report"]
    # MSFT: HTTP 503 twice (retried), then reported; AOS: Stooq has no data; the rest loaded
    assert stooq.requests.count("msft.us") == 2
    assert report["skipped_symbols"] == ["AOS", "MSFT"]
    assert _bars_per_symbol(stack_env["DATABASE_URL"]) == {"AAPL": 8, "JPM": 8, "XOM": 8}
    issues = _q(
        stack_env["DATABASE_URL"],
        "SELECT symbol, severity, action, message FROM quality_issues WHERE rule = 'provider_error' ORDER BY 1",
    )
    assert [(s, sev, act) for s, sev, act, _ in issues] == [
        ("AOS", "warning", "skipped"),
        ("MSFT", "warning", "skipped"),
    ]
    assert "HTTP 503" in issues[1][3] and "after 2 attempts" in issues[1][3]
    assert "no data" in issues[0][3]


def test_provider_timing_out_is_reported_and_the_rest_load(
    machine: IngestStateMachine, stack_env: dict[str, str], stooq: FakeStooq
) -> None:
    assert machine.run({"source": {"paths": REFERENCE}})["status"] == "SUCCEEDED"
    stooq.slow.add("jpm.us")
    result = machine.run({"source": {**STOOQ_RANGE, "symbols": ["AAPL", "JPM", "XOM"]}})
    assert result["status"] == "SUCCEEDED", result
    assert result["output"]["report"]["skipped_symbols"] == ["JPM"]
    assert _bars_per_symbol(stack_env["DATABASE_URL"]) == {"AAPL": 8, "XOM": 8}
    message = _q(stack_env["DATABASE_URL"], "SELECT message FROM quality_issues WHERE rule = 'provider_error'")[0][0]
    assert "timed out after 0.5s" in message


def test_provider_down_for_everything_fails_the_run_after_retries(
    machine: IngestStateMachine, stack_env: dict[str, str], stooq: FakeStooq
) -> None:
    assert machine.run({"source": {"paths": REFERENCE}})["status"] == "SUCCEEDED"
    stooq.failing.update({"aapl.us", "xom.us"})
    result = machine.run({"source": {**STOOQ_RANGE, "symbols": ["AAPL", "XOM"]}})
    assert result["status"] == "FAILED"
    assert "RecordFailure" in result["states"]
    # 2 attempts per symbol per task attempt; the state machine retried the task (MaxAttempts 2)
    assert stooq.requests.count("aapl.us") == 2 * 3
    status, error = _q(stack_env["DATABASE_URL"], "SELECT status, error FROM ingest_runs ORDER BY started_at DESC")[0]
    assert status == "failed" and "TransientError" in error and "stooq unavailable" in error
    assert _bars_per_symbol(stack_env["DATABASE_URL"]) == {}


KILL_TRIGGER = """
CREATE TABLE IF NOT EXISTS fault_kill (symbol text PRIMARY KEY);
CREATE OR REPLACE FUNCTION fault_kill_backend() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM fault_kill f JOIN securities s ON s.symbol = f.symbol WHERE s.id = NEW.security_id) THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER fault_kill BEFORE INSERT ON daily_bars FOR EACH ROW EXECUTE FUNCTION fault_kill_backend();
"""


def test_database_going_away_mid_load_rolls_the_batch_back_and_a_rerun_completes(
    machine: IngestStateMachine, stack_env: dict[str, str], settings: pytest.MonkeyPatch
) -> None:
    url = stack_env["DATABASE_URL"]
    # ~1,259 bars per symbol -> load batches AAPL..APTV, DHR..JPM, LNT..MSFT, XOM
    settings.setenv("INGEST_LOAD_BATCH_ROWS", "3000")
    reset_clients()
    _x(url, KILL_TRIGGER)
    try:
        # the server drops the connection of whichever backend inserts an XOM bar (the last batch)
        _x(url, "INSERT INTO fault_kill VALUES ('XOM')")
        failed = machine.run({"source": {"paths": SAMPLE}})
        assert failed["status"] == "FAILED"
        assert failed["states"].count("Load") == 4 and "RecordFailure" in failed["states"]
        status, error = _q(url, "SELECT status, error FROM ingest_runs")[0]
        assert status == "failed" and "database unavailable" in error
        after_failure = _bars_per_symbol(url)
        # the killed batch was rolled back entirely (no XOM bars); the batches before it committed
        assert "XOM" not in after_failure
        assert after_failure.get("AAPL") == 1259 and after_failure.get("MSFT") == 1259
        assert _q(url, "SELECT count(*) FROM raw_batches")[0][0] == 0  # staging emptied by RecordFailure
    finally:
        _x(url, "DROP TRIGGER fault_kill ON daily_bars; DROP FUNCTION fault_kill_backend(); DROP TABLE fault_kill")

    rerun = machine.run({"source": {"paths": SAMPLE}})
    assert rerun["status"] == "SUCCEEDED", rerun
    assert rerun["output"]["report"]["updated"] == 0
    after_rerun = _bars_per_symbol(url)
    # no duplicates
    total, distinct = _q(url, "SELECT count(*), count(DISTINCT (security_id, date)) FROM daily_bars")[0]
    assert total == distinct == sum(after_rerun.values())
    # no gaps: exactly what a clean load of the same files gives, symbol by symbol
    truncate_all(url)
    clean = machine.run({"source": {"paths": SAMPLE}})
    assert clean["status"] == "SUCCEEDED"
    assert after_rerun == _bars_per_symbol(url)
    assert rerun["output"]["report"]["inserted"] + sum(after_failure.values()) == clean["output"]["report"]["inserted"]


def test_a_second_run_while_one_is_running_is_refused_and_writes_nothing(
    machine: IngestStateMachine, stack_env: dict[str, str]
) -> None:
    url = stack_env["DATABASE_URL"]
    other = str(uuid.uuid4())
    _x(
        url,
        "INSERT INTO ingest_runs (id, status, source, run_key) "
        f"VALUES ('{other}', 'running', '{{}}'::jsonb, '{service.RUN_KEY}')",
    )
    result = machine.run({"source": {"paths": SAMPLE}})
    assert result["status"] == "FAILED"
    assert result["states"][:2] == ["Plan", "RecordFailure"]
    assert "Conflict" in (result["cause"] or "") and other in (result["cause"] or "")
    assert _q(url, "SELECT count(*) FROM daily_bars")[0][0] == 0
    assert _q(url, "SELECT status FROM ingest_runs WHERE id = %s", other)[0][0] == "running"


def test_two_runs_planned_at_once_only_one_proceeds(stack_env: dict[str, str]) -> None:
    truncate_all(stack_env["DATABASE_URL"])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start() -> None:
        barrier.wait()
        try:
            service.plan({"run_id": str(uuid.uuid4()), "source": {"paths": SAMPLE}})
            outcomes.append("planned")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["planned", "refused"]
    assert _q(stack_env["DATABASE_URL"], "SELECT count(*) FROM ingest_runs WHERE status = 'running'")[0][0] == 1


def test_a_redelivered_load_returns_the_recorded_result_and_loads_nothing_twice(
    machine: IngestStateMachine, stack_env: dict[str, str]
) -> None:
    first = machine.run({"source": {"paths": SAMPLE}})
    assert first["status"] == "SUCCEEDED"
    url = stack_env["DATABASE_URL"]
    before = _q(url, "SELECT count(*), sum(volume) FROM daily_bars")[0]
    run_id = first["output"]["run_id"]
    batch = first["output"]["validate"]["batches"][0]
    # Step Functions delivering the same Load again (e.g. after a lost response)
    again = service.load_task({"run_id": run_id, "source": {"paths": SAMPLE}, "batch": batch})
    assert again == first["output"]["load"][0]
    assert again["inserted"] > 0  # the recorded result, not a fresh (empty) execution
    assert _q(url, "SELECT count(*), sum(volume) FROM daily_bars")[0] == before


def test_missing_file_is_refused_at_plan(machine: IngestStateMachine, tmp_path: Path) -> None:
    result = machine.run({"source": {"paths": [str(tmp_path / "nope.csv")]}})
    assert result["status"] == "FAILED"
    assert "nope.csv: no such file" in (result["cause"] or "")


def test_a_daily_run_checks_against_the_history_already_loaded(
    machine: IngestStateMachine, stack_env: dict[str, str], tmp_path: Path
) -> None:
    """Gaps and jumps are found across runs: the day's bar is compared with the last bar loaded (also when
    that one is months before: MSFT, looked up past the month before the run's first day)."""
    url = stack_env["DATABASE_URL"]
    assert machine.run({"source": {"paths": SAMPLE}})["status"] == "SUCCEEDED"
    day = tmp_path / "bars-2018-02-09.csv"
    # XOM: a 50% drop on 2018-02-09 after 2018-02-07 (and nothing on 2018-02-08: a gap)
    day.write_text(
        "date,open,high,low,close,volume,Name\n"
        "2018-02-09,40.0,41.0,39.0,40.5,1000000,XOM\n"
        "2018-02-08,171.0,172.0,168.0,170.0,1000000,AAPL\n"
        "2018-02-09,168.0,170.0,165.0,169.0,1000000,AAPL\n"
    )
    result = machine.run({"source": {"paths": [str(day)]}})
    assert result["status"] == "SUCCEEDED", result
    found = {
        (r[0], r[1], str(r[2]))
        for r in _q(
            url,
            "SELECT rule, symbol, date FROM quality_issues WHERE run_id = %s",
            result["output"]["run_id"],
        )
    }
    assert ("calendar_gap", "XOM", "2018-02-08") in found
    assert ("suspicious_jump", "XOM", "2018-02-09") in found
    assert not {f for f in found if f[1] == "AAPL"}
    assert result["output"]["report"]["inserted"] == 3
    later = tmp_path / "bars-2018-04-02.csv"
    later.write_text("date,open,high,low,close,volume,Name\n2018-04-02,40.0,41.0,39.0,40.5,1000000,MSFT\n")
    result = machine.run({"source": {"paths": [str(later)]}})
    assert result["status"] == "SUCCEEDED", result
    found = {
        (r[0], r[1], str(r[2]))
        for r in _q(url, "SELECT rule, symbol, date FROM quality_issues WHERE run_id = %s", result["output"]["run_id"])
    }
    assert {("calendar_gap", "MSFT", "2018-02-08"), ("suspicious_jump", "MSFT", "2018-04-02")} <= found


ROLLUP_CHECK = """
SELECT count(*) FROM (
  (SELECT security_id, period_start, open, high, low, close, volume, first_date, last_date, bars FROM {table}
   EXCEPT
   SELECT security_id, date_trunc('{unit}', date)::date, (array_agg(open ORDER BY date))[1], max(high), min(low),
          (array_agg(close ORDER BY date DESC))[1], sum(volume), min(date), max(date), count(*)
   FROM daily_bars GROUP BY 1, 2)
  UNION ALL
  (SELECT security_id, date_trunc('{unit}', date)::date, (array_agg(open ORDER BY date))[1], max(high), min(low),
          (array_agg(close ORDER BY date DESC))[1], sum(volume), min(date), max(date), count(*)
   FROM daily_bars GROUP BY 1, 2
   EXCEPT
   SELECT security_id, period_start, open, high, low, close, volume, first_date, last_date, bars FROM {table})
) diff
"""


def test_weekly_and_monthly_rollups_follow_every_load(
    machine: IngestStateMachine, stack_env: dict[str, str], tmp_path: Path
) -> None:
    url = stack_env["DATABASE_URL"]
    assert machine.run({"source": {"paths": SAMPLE}})["status"] == "SUCCEEDED"
    assert _q(url, "SELECT count(*) FROM bars_weekly")[0][0] > 7 * 250
    for table, unit in (("bars_weekly", "week"), ("bars_monthly", "month")):
        assert _q(url, ROLLUP_CHECK.format(table=table, unit=unit))[0][0] == 0
    # a corrected bar in the middle of a week and a new day: the touched periods are rebuilt
    fix = tmp_path / "fix.csv"
    fix.write_text(
        "date,open,high,low,close,volume,Name\n"
        "2018-02-06,154.83,163.72,154.0,163.03,68243838,AAPL\n"
        "2018-02-07,163.085,163.4,149.0,150.0,51608580,AAPL\n"
        "2018-02-08,150.0,151.0,149.0,150.5,1000,AAPL\n"
        "2018-02-07,62.16,63.86,62.13,62.72,1155280,AOS\n"  # as loaded: AOS keeps its rollups
    )
    result = machine.run({"source": {"paths": [str(fix)]}})
    assert result["status"] == "SUCCEEDED", result
    assert result["output"]["report"]["inserted"] == 1 and result["output"]["report"]["updated"] >= 1
    for table, unit in (("bars_weekly", "week"), ("bars_monthly", "month")):
        assert _q(url, ROLLUP_CHECK.format(table=table, unit=unit))[0][0] == 0
    week = _q(
        url,
        "SELECT close, last_date FROM bars_weekly w JOIN securities s ON s.id = w.security_id "
        "WHERE symbol = 'AAPL' AND period_start = '2018-02-05'",
    )[0]
    assert week == (150.5, dt.date(2018, 2, 8))


def test_every_task_emits_powertools_metrics(stack_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Handlers flush EMF metrics: rows fetched, quarantined, loaded and each task's duration."""
    import json as _json

    from devstack.lambdas import LocalContext, load_module

    truncate_all(stack_env["DATABASE_URL"])
    handlers = load_module("functions/ingest/handlers.py", "stockscreen_ingest_handlers")
    state: dict[str, Any] = {"run_id": str(uuid.uuid4()), "source": {"paths": SAMPLE}}
    capsys.readouterr()
    state["plan"] = handlers.plan(state, LocalContext("plan"))
    state["fetch"] = [handlers.fetch({**state, "batch": b}, LocalContext("fetch")) for b in state["plan"]["batches"]]
    state["validate"] = handlers.validate(state, LocalContext("validate"))
    handlers.load_reference(state, LocalContext("load_reference"))
    state["load"] = [handlers.load({**state, "batch": b}, LocalContext("load")) for b in state["validate"]["batches"]]
    emitted: dict[str, float] = {}
    tasks: set[str] = set()
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        doc = _json.loads(line)
        for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = doc[m["Name"]]
            emitted[m["Name"]] = emitted.get(m["Name"], 0) + (sum(value) if isinstance(value, list) else value)
        tasks.add(doc.get("task", ""))
    assert emitted["RowsFetched"] == sum(f["bars"] for f in state["fetch"])
    assert emitted["RowsQuarantined"] > 0
    assert emitted["RowsLoaded"] == sum(p["inserted"] for p in state["load"]) > 0
    assert "TaskDuration" in emitted
    assert {"Plan", "Fetch", "Validate", "LoadReference", "Load"} <= tasks
    handlers.report(state, LocalContext("report"))


def test_active_securities_without_recent_bars_are_reported_stale(
    machine: IngestStateMachine, stack_env: dict[str, str], tmp_path: Path
) -> None:
    url = stack_env["DATABASE_URL"]
    assert machine.run({"source": {"paths": SAMPLE}})["status"] == "SUCCEEDED"  # everything up to 2018-02-07
    later = tmp_path / "later.csv"
    later.write_text(
        "date,open,high,low,close,volume,Name\n"
        "2018-02-14,160.0,165.0,159.0,164.0,1000000,AAPL\n"
        "2018-02-15,164.0,168.0,163.0,167.0,1000000,AAPL\n"
    )
    result = machine.run({"source": {"paths": [str(later)]}})
    assert result["status"] == "SUCCEEDED", result
    stale = _q(
        url,
        "SELECT symbol, date, severity FROM quality_issues WHERE run_id = %s AND rule = 'stale_security' ORDER BY 1",
        result["output"]["run_id"],
    )
    # 2018-02-07 is 6 sessions before 2018-02-15: every other symbol is stale; APTV stopped earlier
    assert [r[0] for r in stale] == ["AOS", "APTV", "DHR", "JPM", "LNT", "MSFT", "XOM"]
    assert {r[2] for r in stale} == {"warning"}
    assert dict((r[0], str(r[1])) for r in stale)["AOS"] == "2018-02-07"


def test_quality_report_cli(
    machine: IngestStateMachine, stack_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    import json as _json

    from devstack.cli import main

    result = machine.run({"source": {"paths": SAMPLE}})
    assert result["status"] == "SUCCEEDED"
    capsys.readouterr()
    assert main(["quality-report", "--format", "json"]) == 0
    doc = _json.loads(capsys.readouterr().out)
    report = doc["run"]
    assert report["run_id"] == result["output"]["run_id"] and report["status"] == "succeeded"
    rules = {q["rule"]: q for q in doc["summary"]}
    assert rules["bad_print"]["severity"] == "error" and rules["bad_print"]["action"] == "quarantined"
    assert rules["calendar_gap"]["action"] == "loaded"
    assert doc["count"] == len(doc["findings"]) == sum(q["count"] for q in doc["summary"])
    assert report["stats"]["report"]["inserted"] == result["output"]["report"]["inserted"]
    assert main(["quality-report", "--run", report["run_id"]]) == 0
    table = capsys.readouterr().out
    assert "bad_print" in table and "quarantined" in table
    assert main(["quality-report", "--run", "nope"]) == 2
    assert "run_id is not a UUID" in capsys.readouterr().err


def test_a_failed_run_notifies_the_admins(
    machine: IngestStateMachine, stack_env: dict[str, str], tmp_path: Path
) -> None:
    import json as _json

    import boto3

    kw: dict[str, Any] = {
        "endpoint_url": stack_env["AWS_ENDPOINT_URL"],
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    sqs, sns = boto3.client("sqs", **kw), boto3.client("sns", **kw)
    queue = sqs.create_queue(QueueName=f"admin-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sub = sns.subscribe(TopicArn=stack_env["ADMIN_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    try:
        bad = tmp_path / "empty.csv"
        bad.write_bytes(b"")
        result = machine.run({"source": {"paths": [str(bad)]}})
        assert result["status"] == "FAILED"
        run_id = _q(stack_env["DATABASE_URL"], "SELECT id FROM ingest_runs WHERE status = 'failed'")[0][0]
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
        bodies = [_json.loads(m["Body"]) for m in messages]
        (note,) = [b for b in bodies if str(run_id) in b["Message"]]
        assert note["Subject"] == "Stockscreen ingest failed"
        assert "empty.csv:1: file is empty" in note["Message"]
    finally:
        sns.unsubscribe(SubscriptionArn=sub)
        sqs.delete_queue(QueueUrl=queue)
