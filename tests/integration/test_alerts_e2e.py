"""End to end on the real local stack: the daily pipeline (the real ingest state machine) loads a new
session in which AAPL closes above a saved screen's level -> its prices.updated event -> the screen
alert fires (AAPL entered) -> the delivery queue -> an email with the RFC 8058 headers in the local SES
store -> the one-click unsubscribe (the header's link, no sign-in) -> when AAPL enters again two sessions
later, the in-app notification is recorded and no email is sent.

(Redelivery sending nothing twice and SES failing -> retries -> DLQ while in-app and WebSocket are
delivered are ``test_alerts_delivery``'s tests.)"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from devstack import mailbox
from devstack.alerts_worker import AlertsWorker
from devstack.stepfunctions import IngestStateMachine
from tests.integration.alertkit import delivery_env, screen_alert_at_baseline
from tests.integration.authkit import body

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits", "no_other_alerts")]
__all__ = ["delivery_env"]

#: The sample's last session is 2018-02-07; these closes follow it.
LAST = {
    "AAPL": 159.54,
    "AOS": 62.72,
    "APTV": 93.69,
    "DHR": 95.25,
    "JPM": 112.87,
    "LNT": 37.5,
    "MSFT": 89.61,
    "XOM": 76.94,
}
LEVEL = 165.0  # the screen: close > 165 (only AAPL comes near it)


def _session(tmp: Path, day: dt.date, aapl: float) -> Path:
    """One session's bars for the 8 sample symbols: unchanged closes, AAPL at ``aapl``."""
    path = tmp / f"bars-{day.isoformat()}.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "open", "high", "low", "close", "volume", "Name"])
        for symbol, close in LAST.items():
            c = aapl if symbol == "AAPL" else close
            w.writerow([day.isoformat(), c, c * 1.01, c * 0.99, c, 1_000_000, symbol])
    return path


def _daily_run(stack_env: dict[str, str], path: Path, worker: AlertsWorker) -> tuple[int, int]:
    """The ingest state machine on one session; then make dev's worker: (events evaluated, delivered)."""
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": [str(path)]}})
    assert result["status"] == "SUCCEEDED", result
    evaluated = worker.poll_prices()
    delivered, failed = worker.poll_delivery()
    assert failed == 0
    return evaluated, delivered


def test_a_daily_run_fires_a_screen_alert_whose_email_unsubscribes_in_one_click(
    client: Client, stack_env: dict[str, str], delivery_env: dict[str, Any], tmp_path: Path
) -> None:
    start = screen_alert_at_baseline(client, stack_env, delivery_env, f"close > {LEVEL}")
    user, alert_id, worker = start.user, start.alert_id, start.worker

    # 2018-02-08: AAPL closes at 170 and enters the screen
    assert _daily_run(stack_env, _session(tmp_path, dt.date(2018, 2, 8), 170.0), worker) == (1, 1)
    history = body(client.http.get(f"/alerts/{alert_id}/history", headers=user.auth))["data"]
    assert len(history) == 1 and history[0]["details"]["entrants"] == ["AAPL"] and history[0]["source"] == "daily"
    assert history[0]["delivery"]["email"] == "sent" and history[0]["delivery"]["in_app"] == "sent"
    [mail] = [m for m in mailbox.messages(stack_env["AWS_ENDPOINT_URL"]) if m["to"] == user.email]
    headers = dict(mail["headers"])
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"].strip("<>")
    assert "/api/alerts/unsubscribe?token=" in link and "Entered: AAPL" in mail["text"]

    # one click, as a mail client does it (RFC 8058: POST, no sign-in)
    token = link.split("token=", 1)[1]
    resp = client.http.post(
        f"/alerts/unsubscribe?token={token}",
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 200, resp.body

    # 2018-02-09: AAPL falls back below (it leaves; an entry alert stays quiet); 2018-02-12: it enters again
    assert _daily_run(stack_env, _session(tmp_path, dt.date(2018, 2, 9), 160.0), worker) == (1, 0)
    assert _daily_run(stack_env, _session(tmp_path, dt.date(2018, 2, 12), 171.0), worker) == (1, 1)
    history = body(client.http.get(f"/alerts/{alert_id}/history", headers=user.auth))["data"]
    assert len(history) == 2 and history[0]["details"]["entrants"] == ["AAPL"]
    assert history[0]["delivery"]["email"] == "off" and history[0]["delivery"]["in_app"] == "sent"
    assert len([m for m in mailbox.messages(stack_env["AWS_ENDPOINT_URL"]) if m["to"] == user.email]) == 1
    notes = body(client.http.get("/notifications", headers=user.auth))
    assert [n["title"] for n in notes["data"]].count(history[0]["message"]) >= 1 and notes["count"] == 2
