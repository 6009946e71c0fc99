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


def _start_journey(dev_stack: dict, script: str, shots: Path) -> subprocess.Popen[str]:
    """Start the browser journey ``frontend/e2e/<script>`` against the stack (screenshots into ``shots``, the
    accounts make dev created in this run's state folder)."""
    return subprocess.Popen(
        ["node", f"e2e/{script}"],
        cwd=ROOT / "frontend",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "BASE_URL": dev_stack["base"],
            "SCREENSHOT_DIR": str(shots),
            "DEMO_LOGIN_FILE": str(dev_stack["state"] / "demo-login.json"),
            "ADMIN_LOGIN_FILE": str(dev_stack["state"] / "admin-login.json"),
        },
    )


def _journey_output(proc: subprocess.Popen[str], timeout: float) -> str:
    """Wait for a started journey; assert it passed and return its output."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"the journey still ran after {timeout:.0f}s:\n{stdout[-3000:]}{stderr[-3000:]}") from None
    print(stdout)  # the journey's steps, in the test log
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert "PASSED" in stdout
    return stdout


def _run_journey(dev_stack: dict, script: str, shots: Path, timeout: float) -> str:
    return _journey_output(_start_journey(dev_stack, script, shots), timeout)


def _intraday(dev_stack: dict) -> tuple[int, dict]:
    status, body = _get(dev_stack["base"] + "/api/securities/AAPL/intraday?interval=1m")
    return status, json.loads(body)


@pytest.fixture(scope="module", autouse=True)
def chart_journey(
    dev_stack: dict, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """The chart journey mostly waits for the minute to roll over into a new candle, so it runs in the background
    while the other tests run: it starts once make dev's poller has written the first one-minute bars, and
    ``test_stock_page_shows_a_price_changing_and_a_live_one_minute_candle`` collects its result."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, intraday = _intraday(dev_stack)
        if status == 200 and intraday["data"]:
            break
        time.sleep(0.5)
    shots = tmp_path_factory.mktemp("chart-screens")
    proc = _start_journey(dev_stack, "chart.mjs", shots)
    yield proc, shots
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


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
    stdout = _run_journey(dev_stack, "journey.mjs", shots, timeout=240)
    assert 'saved "Journey mega caps' in stdout
    assert 'created watchlist "Journey list' in stdout
    assert re.search(r"watchlist row MSFT: price \d[\d,]*\.\d\d", stdout)
    assert "holding AAPL: quantity 10, market value" in stdout
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
    stdout = _run_journey(dev_stack, "reports.mjs", tmp_path, timeout=180)
    assert re.search(r"downloaded daily-\d{4}-\d\d-\d\d\.pdf: \d+ bytes, starts \"%PDF-\"", stdout)
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
    stdout = _run_journey(dev_stack, "alerts.mjs", shots, timeout=240)
    assert re.search(r"toast after [\d.]+s: \"Alert: [A-Z]+", stdout)
    bell = re.search(r"bell after: (\d+) unread \(was (\d+)\)", stdout)
    assert bell is not None and int(bell.group(1)) > int(bell.group(2))
    assert re.search(r"history: \d+ firing\(s\); .*delivery \".*In-app: sent", stdout)
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


def test_stock_page_shows_a_price_changing_and_a_live_one_minute_candle(
    dev_stack: dict, chart_journey: tuple[subprocess.Popen[str], Path]
) -> None:
    # make dev's poller (replay provider) writes the one-minute bars the chart starts from, as in production
    status, intraday = _intraday(dev_stack)
    assert status == 200 and intraday["data"], intraday
    assert intraday["session"]["is_open"] is True and intraday["session"]["feed"] == "replay"
    proc, shots = chart_journey  # started in the background (see the fixture)
    stdout = _journey_output(proc, timeout=240)
    assert re.search(r"live price moved: [\d,.]+ -> [\d,.]+", stdout)
    assert re.search(r"live candle \S+: O [\d.]+ H [\d.]+ L [\d.]+ C [\d.]+ \(live price [\d.]+\)", stdout)
    assert re.search(r"new candle \S+ \(after \S+\)", stdout)
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
    stdout = _run_journey(dev_stack, "admin.mjs", shots, timeout=300)
    released = re.search(r"released (\S+ \d{4}-\d\d-\d\d)\n", stdout)
    assert released is not None, stdout
    assert f"{released.group(1)}: released, loaded" in stdout
    assert "admin.quarantine_release" in stdout
    # the Operations page: the journey's own requests and the upload's ingest run, from the local stack
    assert re.search(r"operations route: GET /screener/fields \| [\d,]+ \|", stdout), stdout
    assert re.search(r"operations totals: [\d,]+ requests, [1-9]\d* ingest run", stdout), stdout
    for shot in ("10-admin-data", "11-admin-upload", "12-admin-users", "13-admin-operations"):
        assert (shots / f"{shot}.png").stat().st_size > 10_000
