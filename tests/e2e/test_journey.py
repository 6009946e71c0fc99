"""The real `make dev` stack, driven by a real browser (playwright-core + Debian's Chromium).

`make dev` is started as a newcomer would (plus a free PORT and this session's throwaway
PostgreSQL/Redis), loads the full demo data through the ingest state machine, and serves
the SPA, the API and the WebSocket on one origin.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import websockets

from devstack.services import free_port, port_open
from tests.conftest import ROOT, _plain

pytestmark = pytest.mark.e2e


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def dev_stack(pg_server_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    name = "stockscreen_e2e"
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    state = tmp_path_factory.mktemp("dev-state")
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": pg_server_url.rsplit("/", 1)[0] + f"/{name}",
        "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/3",
        "AWS_LOCAL_PORT": str(free_port()),
        "STOCKSCREEN_LOCAL_DIR": str(state),
        "FEED_INTERVAL": "0.5",
    }
    log_path = state / "dev.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "dev"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"make dev exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if _get(base + "/api/health")[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"make dev not healthy in time:\n{log_path.read_text()[-4000:]}")
        time.sleep(1)
    info = {"base": base, "env": env, "log": log_path, "proc": proc, "state": state}
    yield info
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    log.close()
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_make_dev_prints_the_url_and_serves_real_data(dev_stack: dict) -> None:
    text = dev_stack["log"].read_text()
    assert f"Stockscreen is running:  {dev_stack['base']}/" in text
    assert "Demo login:" in text
    login = re.search(r"Demo login: +(\S+) / (\S+)", text)
    assert login is not None
    req = urllib.request.Request(
        dev_stack["base"] + "/api/auth/login",
        data=json.dumps({"email": login.group(1), "password": login.group(2)}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        session = json.loads(resp.read())
    assert resp.status == 200 and session["access_token"] and session["user"]["role"] == "premium"
    assert "619014 bars loaded" in text  # the full demo history, 26 bad rows quarantined
    status, body = _get(dev_stack["base"] + "/api/securities/AAPL/bars?limit=1")
    assert status == 200 and json.loads(body)["data"][0]["date"] == "2018-02-07"
    status, body = _get(dev_stack["base"] + "/api/nope")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    status, body = _get(dev_stack["base"] + "/stocks/AAPL")
    assert status == 200 and b'<div id="root">' in body


def test_browser_journey(dev_stack: dict, tmp_path: Path) -> None:
    shots = tmp_path / "screens"
    result = subprocess.run(
        ["node", "e2e/journey.mjs"],
        cwd=ROOT / "frontend",
        capture_output=True,
        text=True,
        timeout=240,
        env={
            **os.environ,
            "BASE_URL": dev_stack["base"],
            "SCREENSHOT_DIR": str(shots),
            # the demo account make dev created in this run's state folder (the journey signs in with it)
            "DEMO_LOGIN_FILE": str(dev_stack["state"] / "demo-login.json"),
        },
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PASSED" in result.stdout
    assert 'saved "Journey mega caps' in result.stdout
    assert 'created watchlist "Journey list' in result.stdout
    assert re.search(r"watchlist row MSFT: price \d[\d,]*\.\d\d", result.stdout)
    assert "holding AAPL: quantity 10, market value" in result.stdout
    for shot in ("04-explain", "05-stock", "06-watchlist", "07-portfolio"):
        assert (shots / f"{shot}.png").stat().st_size > 10_000


def test_websocket_subscriber_receives_quotes(dev_stack: dict) -> None:
    url = dev_stack["base"].replace("http://", "ws://") + "/ws"

    async def scenario() -> list[dict]:
        got: list[dict] = []
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"action": "subscribe", "symbols": ["AAPL"]}))
            while len([m for m in got if m.get("type") == "quote"]) < 2:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=20)))
        return got

    messages = asyncio.run(scenario())
    assert messages[0] == {"type": "subscribed", "symbols": ["AAPL"]}
    quotes = [m for m in messages if m["type"] == "quote"]
    assert all(q["symbol"] == "AAPL" and q["price"] > 0 for q in quotes)


def test_reports_page_lists_and_downloads_a_pdf(dev_stack: dict, tmp_path: Path) -> None:
    """make dev sent the demo account its first digest: the Reports page lists it and downloads its PDF."""
    assert "reports: the demo account's daily digest: sent" in dev_stack["log"].read_text()
    result = subprocess.run(
        ["node", "e2e/reports.mjs"],
        cwd=ROOT / "frontend",
        capture_output=True,
        text=True,
        timeout=180,
        env={
            **os.environ,
            "BASE_URL": dev_stack["base"],
            "SCREENSHOT_DIR": str(tmp_path),
            "DEMO_LOGIN_FILE": str(dev_stack["state"] / "demo-login.json"),
        },
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "[reports] PASSED" in result.stdout
    assert re.search(r"downloaded daily-\d{4}-\d\d-\d\d\.pdf: \d+ bytes, starts \"%PDF-\"", result.stdout)
    assert (tmp_path / "reports.png").stat().st_size > 10_000
    status, body = _get(dev_stack["base"] + "/dev/mail?format=json")
    assert status == 200 and any(m["subject"].startswith("Stockscreen: Daily digest") for m in json.loads(body))


def test_second_make_dev_refuses_instead_of_corrupting_state(dev_stack: dict) -> None:
    env = {**dev_stack["env"], "PORT": str(free_port())}
    result = subprocess.run(
        [str(ROOT / ".venv/bin/stockscreen"), "dev"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "already running" in result.stderr


def test_browser_alerts_journey(dev_stack: dict, tmp_path: Path) -> None:
    """Create a price alert in the SPA near the replayed price; the toast, the bell and the history follow."""
    shots = tmp_path / "screens"
    result = subprocess.run(
        ["node", "e2e/alerts.mjs"],
        cwd=ROOT / "frontend",
        capture_output=True,
        text=True,
        timeout=240,
        env={
            **os.environ,
            "BASE_URL": dev_stack["base"],
            "SCREENSHOT_DIR": str(shots),
            "DEMO_LOGIN_FILE": str(dev_stack["state"] / "demo-login.json"),
        },
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PASSED" in result.stdout
    assert re.search(r"toast after [\d.]+s: \"Alert: [A-Z]+", result.stdout)
    bell = re.search(r"bell after: (\d+) unread \(was (\d+)\)", result.stdout)
    assert bell is not None and int(bell.group(1)) > int(bell.group(2))
    assert re.search(r"history: \d+ firing\(s\); .*delivery \".*In-app: sent", result.stdout)
    assert (shots / "alerts-03-history.png").stat().st_size > 10_000


# Stops the stack: keep it the module's last test.
def test_sigterm_to_the_process_group_stops_cleanly(dev_stack: dict) -> None:
    proc = dev_stack["proc"]
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)  # make itself exits by the signal; the dev server below it shuts down
    deadline = time.monotonic() + 60
    while "[dev] stopped" not in dev_stack["log"].read_text():
        assert time.monotonic() < deadline, dev_stack["log"].read_text()[-3000:]
        time.sleep(0.2)
    port = int(dev_stack["base"].rsplit(":", 1)[1])
    assert not port_open("127.0.0.1", port)
    assert not port_open("127.0.0.1", int(dev_stack["env"]["AWS_LOCAL_PORT"]))


def test_stock_page_shows_a_price_changing_and_a_live_one_minute_candle(dev_stack: dict, tmp_path: Path) -> None:
    # make dev's poller (replay provider) writes the one-minute bars the chart starts from, as in production
    status, body = _get(dev_stack["base"] + "/api/securities/AAPL/intraday?interval=1m")
    intraday = json.loads(body)
    assert status == 200 and intraday["data"], intraday
    assert intraday["session"]["is_open"] is True and intraday["session"]["feed"] == "replay"
    shots = tmp_path / "screens"
    result = subprocess.run(
        ["node", "e2e/chart.mjs"],
        cwd=ROOT / "frontend",
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "BASE_URL": dev_stack["base"], "SCREENSHOT_DIR": str(shots)},
    )
    print(result.stdout)  # the candles it saw, in the test log
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PASSED" in result.stdout
    assert re.search(r"live price moved: [\d,.]+ -> [\d,.]+", result.stdout)
    assert re.search(r"live candle \S+: O [\d.]+ H [\d.]+ L [\d.]+ C [\d.]+ \(live price [\d.]+\)", result.stdout)
    assert re.search(r"new candle \S+ \(after \S+\)", result.stdout)
    for shot in ("01-chart-1m", "02-chart-1d-indicators"):
        assert (shots / f"{shot}.png").stat().st_size > 10_000


def test_admin_journey(dev_stack: dict, tmp_path: Path) -> None:
    """The admin signs in, opens Data, sees the runs and findings, releases a quarantined row, uploads a
    file into the drop folder and follows its run (which loads the released row), then the audit log, and
    the Operations page with the journey's own requests and that run."""
    text = dev_stack["log"].read_text()
    assert re.search(r"Admin login: +admin@stockscreen\.local / \S+", text)
    assert "drop folder: files put under s3://stockscreen-raw/incoming/ start an ingest run" in text
    shots = tmp_path / "admin-screens"
    result = subprocess.run(
        ["node", "e2e/admin.mjs"],
        cwd=ROOT / "frontend",
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "BASE_URL": dev_stack["base"],
            "SCREENSHOT_DIR": str(shots),
            "ADMIN_LOGIN_FILE": str(dev_stack["state"] / "admin-login.json"),
        },
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PASSED" in result.stdout
    released = re.search(r"released (\S+ \d{4}-\d\d-\d\d)\n", result.stdout)
    assert released is not None, result.stdout
    assert f"{released.group(1)}: released, loaded" in result.stdout
    assert "admin.quarantine_release" in result.stdout
    # the Operations page: the journey's own requests and the upload's ingest run, from the local stack
    assert re.search(r"operations route: GET /screener/fields \| [\d,]+ \|", result.stdout), result.stdout
    assert re.search(r"operations totals: [\d,]+ requests, [1-9]\d* ingest run", result.stdout), result.stdout
    for shot in ("10-admin-data", "11-admin-upload", "12-admin-users", "13-admin-operations"):
        assert (shots / f"{shot}.png").stat().st_size > 10_000
