"""The ``stockscreen`` command as a Unix tool, run as a user runs it (a process of its own): stdout
carries only the document, so every ``--format json|csv`` output parses whole; errors are one line."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.cli import build_parser
from devstack.services import free_port
from devstack.stepfunctions import IngestStateMachine
from tests.conftest import FIXTURES, ROOT, truncate_all

SAMPLE = [
    FIXTURES / "constituents-sample.csv",
    FIXTURES / "fundamentals-sample-2018-02-08.csv",
    FIXTURES / "bars-sample.csv.gz",
]


def commands_with_format(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], list[str]]:
    """Every (sub)command of the parser whose ``--format`` chooses a document (json or csv), with its
    choices (``ingest``'s ``--format`` names the format of the files read, not of its output)."""
    found: dict[tuple[str, ...], list[str]] = {}
    for action in parser._actions:
        choices = list(action.choices or []) if "--format" in action.option_strings else []
        if path and {"json", "csv"} & set(choices):
            found[path] = choices
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(commands_with_format(sub, (*path, name)))
    return found


@pytest.fixture
def loaded(stack_env: dict[str, str]) -> dict[str, str]:
    truncate_all(stack_env["DATABASE_URL"])
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": [str(p) for p in SAMPLE]}})
    assert result["status"] == "SUCCEEDED", result
    return stack_env


@pytest.fixture
def mailbox_url(stack_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The dev mailbox (``make dev``'s gateway) serving what the local SES sent."""
    import boto3
    import uvicorn

    from devstack.gateway import create_app
    from devstack.lambdas import load_api, load_module

    ses = boto3.client("ses", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    raw = f'From: {stack_env["SES_SENDER"]}\r\nTo: unix@example.com\r\nSubject: a, "quoted" one\r\n\r\nbody'
    ses.send_raw_email(Source=stack_env["SES_SENDER"], RawMessage={"Data": raw.encode()})
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(load_api(), ws, tmp_path), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/dev/mail"
    server.should_exit = True
    thread.join(10)


def _cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    paths = [str(ROOT / "shared"), str(ROOT), str(ROOT / "functions" / "api")]
    full = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(paths), "AWS_LOCAL_PORT": str(free_port())}
    return subprocess.run(
        [sys.executable, "-m", "devstack.cli", *argv],
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def report_user(loaded: dict[str, str]) -> tuple[str, str]:
    """A user with a saved screen (the screen report's input): (email, screen name)."""
    from chalice.test import Client

    from devstack.lambdas import load_api
    from tests.integration.authkit import body, make_user, post

    with Client(load_api()) as client:
        user = make_user(client, loaded["DATABASE_URL"], "premium")
        auth = {"Authorization": f"Bearer {user.token}"}
        resp = post(client, "/screens/saved", {"name": "unix report", "query": "close > 0"}, auth)
        assert resp.status_code == 201, body(resp)
    return user.email, "unix report"


def test_every_command_with_a_format_prints_only_its_document(
    loaded: dict[str, str], mailbox_url: str, report_user: tuple[str, str]
) -> None:
    # how to run each command (a command with --format added later must be given its arguments here)
    email, screen = report_user
    examples = {
        ("report",): ["screen", "--user", email, "--screen", screen],
        ("quality-report",): [],
        ("screen",): ["close > 0", "--all", "--columns", "close,sector"],
        ("backtest",): ["close > 0", "--from", "2017-06-01", "--rebalance", "monthly"],
        ("mail",): ["--url", mailbox_url],
    }
    found = commands_with_format(build_parser())
    assert found, "no command with --format found"
    missing = sorted(" ".join(c) for c in found if c not in examples)
    assert not missing, f"give these commands example arguments: {missing}"
    checked = []
    for command, choices in sorted(found.items()):
        for fmt in [c for c in choices if c in ("json", "csv")]:
            done = _cli(loaded, *command, *examples[command], "--format", fmt)
            where = f"{' '.join(command)} --format {fmt}: rc {done.returncode}, stderr {done.stderr[-2000:]}"
            assert done.returncode == 0, where
            assert done.stdout.strip(), where
            if fmt == "json":
                json.loads(done.stdout)  # the whole of stdout is one document
            else:
                rows = list(csv.reader(io.StringIO(done.stdout)))
                assert len(rows) >= 2 and len({len(r) for r in rows}) == 1, where
            checked.append((command, fmt))
    assert {c for c, _ in checked} == set(found)
    # (and the status went to stderr: the screen's count is there, not in the CSV)
    screen = _cli(loaded, "screen", "close > 0", "--all")
    assert "matches" in screen.stderr and "matches" not in screen.stdout
    assert len(screen.stdout.strip().splitlines()) == 1 + 8  # the header and every matching row


def test_screen_returns_every_match_past_the_page_cap(loaded: dict[str, str]) -> None:
    every = json.loads(_cli(loaded, "screen", "close > 0", "--all", "--format", "json").stdout)
    assert every["count"] == len(every["data"]) == 8
    first = json.loads(_cli(loaded, "screen", "close > 0", "--limit", "3", "--format", "json").stdout)
    assert [r["symbol"] for r in first["data"]] == [r["symbol"] for r in every["data"]][:3]
    # a --limit above the API's page cap (500) is no error: the CLI pages internally
    assert json.loads(_cli(loaded, "screen", "close > 0", "--limit", "5000", "--format", "json").stdout)["data"]


def test_errors_are_one_line_naming_file_line_and_cause(stack_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "prices.csv"
    bad.write_text("date,open,high,low,close,volume,Name\n2018-01-02,1,2,0.5,1.5,100,AAPL\n2018-01-03,1,2\n")
    done = _cli(stack_env, "ingest", "csv", str(bad))
    assert done.returncode == 2 and done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last == f"stockscreen: ingest failed: DataFileError: {bad}:3: expected 7 fields, found 3"
    for internals in ("Traceback", "stackTrace", "eval_component", "UserWarning", '"level"'):
        assert internals not in done.stderr, done.stderr
    # --verbose: the internals too
    verbose = _cli(stack_env, "--verbose", "ingest", "csv", str(bad))
    assert verbose.returncode == 2 and "states entered: Plan > FetchBatches" in verbose.stderr
    # an unrecognised file names the headers it saw
    done = _cli(stack_env, "ingest", "csv", str(FIXTURES / "formats" / "unrecognised.csv"))
    assert done.returncode == 2
    assert "unrecognised.csv:1: unrecognised file; header was: when, what, how much" in done.stderr.splitlines()[-1]
    # a bad query: one line, exit 2
    done = _cli(stack_env, "screen", "close >", "--format", "json")
    assert done.returncode == 2 and done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
    # a bad --map
    done = _cli(stack_env, "ingest", "csv", str(bad), "--map", "Ticker")
    assert done.returncode == 2 and done.stderr.strip() == "stockscreen: --map: 'Ticker' is not HEADER=field"


def test_a_run_that_loads_nothing_says_why_in_one_line(stack_env: dict[str, str]) -> None:
    truncate_all(stack_env["DATABASE_URL"])
    done = _cli(stack_env, "ingest", "csv", str(FIXTURES / "formats" / "bars-many.csv"), "--known-only")
    assert done.returncode == 0, done.stderr
    line, *findings = done.stdout.strip().splitlines()
    assert findings == ["  unknown_symbol: 78"]
    assert line.endswith(
        "nothing loaded: all 78 bars were quarantined (unknown_symbol 78); see stockscreen quality-report"
    )
    assert "[dev]" not in done.stdout
