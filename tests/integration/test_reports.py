"""Reports on the 8-symbol real-data sample: the figures of the daily digest and the weekly report against
figures computed here by hand from the source file, the screen report, the PDF's text, and the workflow
steps' idempotency (a retried task, a duplicate tick, a failing SES), opt-out and suppression."""

from __future__ import annotations

import csv
import datetime as dt
import email
import gzip
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from email import policy
from itertools import pairwise
from typing import Any

import psycopg
import pytest
from chalice.test import Client
from pypdf import PdfReader

from devstack.lambdas import load_api
from tests.conftest import FIXTURES
from tests.integration.authkit import User, body, clear_rate_limits, load_sample, make_user, post

D = dt.date(2018, 2, 7)  # the sample's last session
PREV = dt.date(2018, 2, 6)
WEEK_BASE = dt.date(2018, 1, 31)  # the last session at least 7 days before D


@pytest.fixture(scope="module")
def client(stack_env: dict[str, str]) -> Iterator[Client]:
    load_sample(stack_env)
    with Client(load_api()) as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh_limits(stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from stockscreen.reports import settings

    clear_rate_limits(stack_env["REDIS_URL"])
    monkeypatch.setenv("APP_BASE_URL", "http://localhost:5173")
    settings.reset()
    yield
    settings.reset()


def _closes() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(dict)
    with gzip.open(FIXTURES / "bars-sample.csv.gz", "rt") as f:
        for row in csv.DictReader(f):
            if row["close"]:
                out[row["date"]][row["Name"]] = float(row["close"])
    return out


def _sql(stack_env: dict[str, str], q: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        cur = conn.execute(q, params)
        return cur.fetchall() if cur.description else []


def _service() -> Any:
    from stockscreen.db.engine import get_engine
    from stockscreen.reports.wiring import workflow_service

    return workflow_service(get_engine())


def _user(client: Client, stack_env: dict[str, str]) -> User:
    return make_user(client, stack_env["DATABASE_URL"], role="premium")


def _watchlist(client: Client, u: User, name: str, symbols: list[str]) -> str:
    wl = body(post(client, "/watchlists", {"name": name}, u.auth))
    for s in symbols:
        assert post(client, f"/watchlists/{wl['id']}/items", {"symbol": s}, u.auth).status_code in (200, 201)
    return str(wl["id"])


def _portfolio(client: Client, u: User, name: str, txns: list[dict[str, Any]]) -> str:
    pf = body(post(client, "/portfolios", {"name": name}, u.auth))
    for t in txns:
        resp = post(client, f"/portfolios/{pf['id']}/transactions", t, u.auth)
        assert resp.status_code == 201, resp.body
    return str(pf["id"])


def _straddled_threshold(c: dict[str, dict[str, float]]) -> tuple[float, set[str], set[str]]:
    """A close threshold between two symbols' 02-06 and 02-07 closes that exactly one symbol crosses;
    (threshold, entrants, leavers) computed from the file."""
    before, after = c[PREV.isoformat()], c[D.isoformat()]
    for s in sorted(after):
        lo, hi = sorted((before[s], after[s]))
        t = round((lo + hi) / 2, 2)
        crossing = {x for x in after if min(before[x], after[x]) < t < max(before[x], after[x])}
        if crossing == {s}:
            entrants = {x for x in after if after[x] > t and not before[x] > t}
            leavers = {x for x in after if before[x] > t and not after[x] > t}
            return t, entrants, leavers
    raise AssertionError("no symbol crosses alone")


def test_daily_digest_figures(client: Client, stack_env: dict[str, str]) -> None:
    c = _closes()
    u = _user(client, stack_env)
    _watchlist(client, u, "Tech", ["AAPL", "MSFT", "XOM", "JPM", "DHR", "LNT"])
    _portfolio(
        client,
        u,
        "Main",
        [
            {"kind": "buy", "symbol": "AAPL", "date": "2018-01-02", "quantity": 10, "price": 170},
            {"kind": "buy", "symbol": "XOM", "date": "2018-02-07", "quantity": 4, "price": 80, "fees": 1},
        ],
    )
    t, entrants, leavers = _straddled_threshold(c)
    assert post(client, "/screens/saved", {"name": "Crossers", "query": f"close > {t}"}, u.auth).status_code == 201
    resp = post(client, "/alerts", {"name": "a", "rule": {"type": "price_above", "symbol": "AAPL", "price": 1}}, u.auth)
    assert resp.status_code == 201, resp.body
    alert = body(resp)
    fired = dt.datetime(2018, 2, 7, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York: that market day
    for at, sid in ((fired, "x1"), (fired - dt.timedelta(days=1), "x0")):
        _sql(
            stack_env,
            "INSERT INTO alert_events (alert_id, user_id, symbol, fired_at, source, source_id, message) "
            "VALUES (%s, %s, 'AAPL', %s, 'daily', %s, %s)",
            (alert["id"], u.id, at, sid, f"AAPL fired {sid}"),
        )

    data = _service().builder.daily(u.id)
    assert data["session"] == D.isoformat() and data["previous_session"] == PREV.isoformat()
    # movers: the day's change of each symbol, largest moves first (5 of the 6)
    chg = {
        s: (c[D.isoformat()][s] / c[PREV.isoformat()][s] - 1) * 100
        for s in ["AAPL", "MSFT", "XOM", "JPM", "DHR", "LNT"]
    }
    want = sorted(chg, key=lambda s: -abs(chg[s]))[:5]
    movers = data["watchlists"][0]["movers"]
    assert [m["symbol"] for m in movers] == want
    for m in movers:
        assert m["change_pct"] == pytest.approx(chg[m["symbol"]], abs=1e-3)
    # the alert of that New York day only
    assert [a["message"] for a in data["alerts"]] == ["AAPL fired x1"]
    # day P&L: 10 AAPL held over the day, 4 XOM bought that day at 80 + 1 fee (its flow)
    aapl = 10 * (c[D.isoformat()]["AAPL"] - c[PREV.isoformat()]["AAPL"])
    xom = 4 * c[D.isoformat()]["XOM"] - (4 * 80 + 1)
    (pf,) = data["portfolios"]
    assert pf["day_pnl"] == pytest.approx(aapl + xom, abs=1e-3)
    assert pf["value"] == pytest.approx(10 * c[D.isoformat()]["AAPL"] + 4 * c[D.isoformat()]["XOM"], abs=1e-3)
    # the screen's entrants and leavers between the two sessions
    (sc,) = data["screens"]
    assert set(sc["entrants"]) == entrants and set(sc["leavers"]) == leavers
    assert sc["entrants"] or sc["leavers"]
    assert data["changed"] is True


def test_daily_digest_nothing_changed(client: Client, stack_env: dict[str, str]) -> None:
    """A user with nothing (no list, portfolio, screen or alert) has nothing changed: no digest is built."""
    u = _user(client, stack_env)
    svc = _service()
    svc.save_settings(u.id, svc.get_settings(u.id).model_copy(update={"daily_enabled": True}))
    data = svc.builder.daily(u.id)
    assert data["changed"] is False
    out = svc.build({"user_id": u.id, "kind": "daily", "period": D.isoformat(), "session": D.isoformat()})
    assert out["skip"] is True and out["reason"] == "nothing changed"
    assert _sql(stack_env, "SELECT status FROM report_runs WHERE user_id = %s", (u.id,)) == [("skipped",)]


def _universe_week(c: dict[str, dict[str, float]], days: list[str]) -> float:
    idx = 1.0
    for prev, day in pairwise(days):
        rets = [c[day][s] / c[prev][s] - 1 for s in c[day] if s in c[prev]]
        idx *= 1 + sum(rets) / len(rets)
    return (idx - 1) * 100


def test_weekly_report_figures(client: Client, stack_env: dict[str, str]) -> None:
    c = _closes()
    u = _user(client, stack_env)
    _watchlist(client, u, "Energy", ["XOM", "LNT"])
    _portfolio(
        client,
        u,
        "Long",
        [
            {"kind": "buy", "symbol": "AAPL", "date": "2018-01-02", "quantity": 10, "price": 160},
            {"kind": "buy", "symbol": "MSFT", "date": "2018-02-05", "quantity": 10, "price": 90},
            {"kind": "sell", "symbol": "AAPL", "date": "2018-02-06", "quantity": 4, "price": 165},
        ],
    )
    data = _service().builder.weekly(u.id)
    assert data["session"] == D.isoformat() and data["week_start"] == WEEK_BASE.isoformat()
    (p,) = data["portfolios"]
    days = sorted(d for d in c if WEEK_BASE.isoformat() <= d <= D.isoformat())
    assert days[0] == WEEK_BASE.isoformat() and len(days) == 6
    held = {d: {"AAPL": 10.0, "MSFT": 0.0} for d in days}
    flows = dict.fromkeys(days, 0.0)
    for d in days:
        if d >= "2018-02-05":
            held[d]["MSFT"] = 10
        if d >= "2018-02-06":
            held[d]["AAPL"] = 6
    flows["2018-02-05"] = 900.0
    flows["2018-02-06"] = -4 * 165.0
    value = {d: sum(q * c[d][s] for s, q in held[d].items()) for d in days}
    assert p["value_start"] == pytest.approx(value[days[0]], abs=1e-3)
    assert p["value_end"] == pytest.approx(value[days[-1]], abs=1e-3)
    assert p["net_flows"] == pytest.approx(900 - 660, abs=1e-3)
    # time-weighted return: each day's value less its flow, over the day before's value
    twr = 1.0
    for prev, day in pairwise(days):
        twr *= (value[day] - flows[day]) / value[prev]
    assert p["return_pct"] == pytest.approx((twr - 1) * 100, abs=1e-3)
    assert p["universe_pct"] == pytest.approx(_universe_week(c, days), abs=1e-3)
    # FIFO: 4 of the 160 lot sold at 165 within the week
    assert p["realised_week"] == pytest.approx(20, abs=1e-6) and p["realised_pnl"] == pytest.approx(20, abs=1e-6)
    d7 = c[D.isoformat()]
    assert p["unrealised_pnl"] == pytest.approx(6 * (d7["AAPL"] - 160) + 10 * (d7["MSFT"] - 90), abs=1e-3)
    week = {s: (d7[s] / c[WEEK_BASE.isoformat()][s] - 1) * 100 for s in ("AAPL", "MSFT")}
    rows = {h["symbol"]: h for h in p["holdings"]}
    assert set(rows) == {"AAPL", "MSFT"} and rows["AAPL"]["quantity"] == 6
    for s in week:
        assert rows[s]["week_pct"] == pytest.approx(week[s], abs=1e-3)
    assert [h["symbol"] for h in p["top"]] == sorted(week, key=lambda s: -week[s])
    # the chart: both series rebased to 100 on the first charted day, ending at the period's returns
    assert p["chart"][0]["portfolio"] == 100 and p["chart"][0]["universe"] == 100
    assert p["chart"][-1]["date"] == D.isoformat()
    (w,) = data["watchlists"]
    wk = {s: (d7[s] / c[WEEK_BASE.isoformat()][s] - 1) * 100 for s in ("XOM", "LNT")}
    assert w["average_pct"] == pytest.approx(sum(wk.values()) / 2, abs=1e-3)

    # the PDF: its text extracted and checked
    from stockscreen.reports import rendering

    reader = PdfReader(io.BytesIO(rendering.pdf(data)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Weekly report, week to 2018-02-07" in text
    assert "Portfolio Long" in text and "Watchlist Energy: the week" in text
    assert f"{p['value_end']:,.2f}" in text
    assert f"{p['return_pct']:+.2f}%" in text and f"{p['universe_pct']:+.2f}%" in text
    assert "against the equal-weighted universe" in text
    for s in ("AAPL", "MSFT", "XOM", "LNT"):
        assert s in text
    # the email: text and HTML parts carry the same figures
    parts = rendering.email_parts(data)
    assert f"{p['value_end']:,.2f}" in parts["text"] and f"{p['value_end']:,.2f}" in parts["html"]
    assert "__DOWNLOAD_URL__" in parts["html"] and "<script" not in parts["html"]


def test_screen_report_pdf_and_csv(client: Client, stack_env: dict[str, str]) -> None:
    c = _closes()
    u = _user(client, stack_env)
    sc = body(post(client, "/screens/saved", {"name": "Big <caps>", "query": "close > 50"}, u.auth))
    data = _service().builder.screen(u.id, sc["id"])
    want = {s for s, v in c[D.isoformat()].items() if v > 50}
    assert {r["symbol"] for r in data["rows"]} == want and data["count"] == len(want)
    last60 = sorted(c)[-60:]  # the sample's last 60 sessions (some symbols have gaps in the file)
    for r in data["rows"]:
        assert r["spark"] == [pytest.approx(c[d][r["symbol"]]) for d in last60 if r["symbol"] in c[d]]
        assert len(r["spark"]) > 30
    from stockscreen.reports import rendering

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(rendering.pdf(data))).pages)
    assert "Screen report: Big <caps>" in text and "close > 50" in text
    rows = list(csv.DictReader(io.StringIO(rendering.to_csv(data))))
    assert {r["symbol"] for r in rows} == want
    assert [len(r["closes_60d"].split()) for r in rows] == [len(r["spark"]) for r in data["rows"]]
    html = rendering.email_parts(data)["html"]
    assert "Big &lt;caps&gt;" in html and "Big <caps>" not in html


class FlakyMailer:
    """SES that refuses the first ``fail`` sends, then accepts (and counts) them."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.sent: list[bytes] = []

    def send(self, raw: bytes, *, sender: str, to: str) -> str:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("SES throttled")
        self.sent.append(raw)
        return f"m-{len(self.sent)}"


def _run_steps(svc: Any, item: dict[str, Any]) -> dict[str, Any]:
    from stockscreen.reports.rendering import render_to_store

    built = svc.build(item)
    if built["skip"]:
        return built
    rendered = render_to_store(svc.store(), built["data_key"])
    svc.stored(rendered)
    return svc.send(rendered)


def test_steps_are_idempotent_under_retries(client: Client, stack_env: dict[str, str]) -> None:
    u = _user(client, stack_env)
    _watchlist(client, u, "W", ["AAPL", "MSFT"])
    svc = _service()
    svc.save_settings(u.id, svc.get_settings(u.id).model_copy(update={"daily_enabled": True}))
    mailer = FlakyMailer(fail=1)
    svc.mailer = lambda: mailer
    item = {"user_id": u.id, "kind": "daily", "period": D.isoformat(), "session": D.isoformat()}
    from stockscreen.reports.rendering import render_to_store

    built = svc.build(item)
    assert built["skip"] is False
    assert svc.build(item) == {"skip": True, "reason": "already done or in progress"}  # a duplicate tick
    rendered = render_to_store(svc.store(), built["data_key"])
    assert render_to_store(svc.store(), built["data_key"])["pdf_key"] == rendered["pdf_key"]  # retried render
    svc.stored(rendered)
    svc.stored(rendered)  # retried store: no change
    with pytest.raises(RuntimeError, match="SES throttled"):
        svc.send(rendered)  # SES fails: the run goes back to 'stored' for the retry
    assert svc.repo.run(built["run_id"])["status"] == "stored"
    out = svc.send(rendered)
    assert out["status"] == "sent" and len(mailer.sent) == 1
    assert svc.send(rendered)["status"] == "sent" and len(mailer.sent) == 1  # a retried send sends nothing
    assert _run_steps(svc, item)["skip"] is True and len(mailer.sent) == 1  # the whole item again
    msg = email.message_from_bytes(mailer.sent[0], policy=policy.default)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/api/reports/unsubscribe?token=" in msg["List-Unsubscribe"]
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "X-Amz-Expires=604800" in text  # the presigned link lives 7 days
    assert "__" not in text.split("Stop this report")[0]  # every marker filled in
    # the stored PDF is encrypted at rest and private
    from stockscreen.core.clients import aws_client

    head = aws_client("s3").head_object(Bucket=stack_env["REPORTS_BUCKET"], Key=rendered["pdf_key"])
    assert head["ServerSideEncryption"] == "AES256" and head["ContentType"] == "application/pdf"


def test_opt_out_and_suppression_stop_the_next_report(client: Client, stack_env: dict[str, str]) -> None:
    u = _user(client, stack_env)
    _watchlist(client, u, "W", ["AAPL"])
    svc = _service()
    mailer = FlakyMailer()
    svc.mailer = lambda: mailer
    svc.save_settings(u.id, svc.get_settings(u.id).model_copy(update={"daily_enabled": True, "weekly_enabled": True}))
    # selected while subscribed, then the user opts out (one-click link) before the build: nothing is sent
    from stockscreen.reports.wiring import sign_unsubscribe, verify_unsubscribe

    token = sign_unsubscribe(u.id, "daily")
    assert verify_unsubscribe(token) == (u.id, "daily")
    svc.opt_out(*verify_unsubscribe(token))
    out = _run_steps(svc, {"user_id": u.id, "kind": "daily", "period": "opt-out-check", "session": D.isoformat()})
    assert out == {"run_id": out["run_id"], "skip": True, "reason": "opted out"} and not mailer.sent
    # a suppressed address gets nothing, and is not selected any more
    svc.repo.set_suppressed(u.id, True)
    assert svc.address_suppressed(u.email)
    out = _run_steps(svc, {"user_id": u.id, "kind": "weekly", "period": "suppressed-check", "session": D.isoformat()})
    assert out["reason"] == "suppressed" and not mailer.sent
    assert svc.select(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), [u.id]) == []


def test_reports_workflow_on_the_local_stack(client: Client, stack_env: dict[str, str]) -> None:
    """The deployed ASL on moto's interpreter: select the due users -> Map -> build -> render -> store ->
    send; a second execution for the same tick sends nothing; a failing item is caught and recorded."""
    from devstack import mailbox
    from devstack.stepfunctions import ReportsStateMachine
    from stockscreen.reports import schedule
    from stockscreen.reports.models import ScheduleSettings

    svc = _service()
    users = []
    for tz, at in (("America/New_York", dt.time(7, 30)), ("Europe/London", dt.time(10, 0))):
        u = _user(client, stack_env)
        _watchlist(client, u, "W", ["AAPL", "XOM"])
        svc.save_settings(u.id, ScheduleSettings(daily_enabled=True, send_time=at, time_zone=tz))
        users.append(u)
    ids = [u.id for u in users]
    due_at = [schedule.daily_due_at(D, svc.get_settings(i)) for i in ids]
    now = max(due_at) + dt.timedelta(minutes=5)
    assert now < min(due_at) + schedule.LATE_AFTER
    machine = ReportsStateMachine(stack_env["AWS_ENDPOINT_URL"], retry_interval=1)
    before = len(mailbox.messages(stack_env["AWS_ENDPOINT_URL"]))
    result = machine.run({"now": now.isoformat(), "user_ids": ids}, timeout=120)
    assert result["status"] == "SUCCEEDED", result
    assert sorted(r["status"] for r in result["output"]) == ["sent", "sent"]
    for name in ("Select", "Build", "Render", "Store", "Send", "Done"):
        assert name in result["states"]
    mails = mailbox.messages(stack_env["AWS_ENDPOINT_URL"])[
        : len(mailbox.messages(stack_env["AWS_ENDPOINT_URL"])) - before
    ]
    assert sorted(m["to"] for m in mails) == sorted(u.email for u in users)
    assert all(m["subject"] == "Stockscreen: Daily digest, 2018-02-07" for m in mails)
    assert all("AAPL" in (m["text"] or "") and m["html"] for m in mails)
    # the same tick again (a duplicate schedule, a retried execution): nothing due, nothing sent
    again = machine.run({"now": now.isoformat(), "user_ids": ids}, timeout=120)
    assert again["status"] == "SUCCEEDED" and again["output"] == []
    assert len(mailbox.messages(stack_env["AWS_ENDPOINT_URL"])) - before == 2
    # an item that fails (a screen report of a screen that does not exist): retried, caught, recorded
    bad = {"user_id": ids[0], "kind": "screen", "period": f"on-demand-{uuid.uuid4()}", "screen_id": str(uuid.uuid4())}
    failed = machine.run({"items": [bad]}, timeout=120)
    assert failed["status"] == "SUCCEEDED", failed
    (r,) = failed["output"]
    assert r["status"] == "failed" and "ReportFailed: gave up after 3 attempts: NotFound" in r["detail"]
    status, detail = _sql(stack_env, "SELECT status, detail FROM report_runs WHERE period = %s", (bad["period"],))[0]
    assert status == "failed" and "no saved screen" in detail
    assert "Build" in failed["states"] and "RecordFailure" in failed["states"] and "Send" not in failed["states"]
    # the reports list has both digests with their PDFs
    rows = _sql(
        stack_env, "SELECT status, pdf_key FROM report_runs WHERE user_id = ANY(%s::uuid[]) AND kind = 'daily'", (ids,)
    )
    assert sorted(s for s, _ in rows) == ["sent", "sent"] and all(k.endswith("report.pdf") for _, k in rows)
    json.dumps(result["output"])  # small, JSON: references only


def test_reports_api(client: Client, stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Schedule settings (validation: 400 with the uniform body), an on-demand screen report through the
    workflow, the list, a download link that serves the PDF, another user's report is a 404, and the
    one-click unsubscribe."""
    import time
    import urllib.request

    from devstack.stepfunctions import ReportsStateMachine
    from stockscreen.reports import settings
    from tests.integration.authkit import assert_error, send

    u, other = _user(client, stack_env), _user(client, stack_env)
    got = body(client.http.get("/reports/schedule", headers=u.auth))
    assert got == {"daily_enabled": False, "weekly_enabled": False, "weekly_day": "saturday", "send_time": "08:00",
                   "time_zone": "UTC"}  # fmt: skip
    want = {"daily_enabled": True, "weekly_enabled": True, "weekly_day": "sunday", "send_time": "07:15",
            "time_zone": "Europe/Paris"}  # fmt: skip
    resp = send(client, "PUT", "/reports/schedule", want, u.auth)
    assert resp.status_code == 200 and body(resp) == want  # send_time comes back as it was sent, HH:MM
    assert body(client.http.get("/reports/schedule", headers=u.auth))["time_zone"] == "Europe/Paris"
    for bad in ({**want, "time_zone": "Nowhere/Land"}, {**want, "weekly_day": "funday"}, {**want, "send_time": "25:00"},
                {**want, "send_time": "07:15:30"}, {**want, "send_time": "07:15Z"}, {**want, "extra": 1}):  # fmt: skip
        assert_error(send(client, "PUT", "/reports/schedule", bad, u.auth), 400)
    assert_error(client.http.get("/reports"), 401)

    machine = ReportsStateMachine(stack_env["AWS_ENDPOINT_URL"], retry_interval=1)
    monkeypatch.setenv("REPORTS_STATE_MACHINE_ARN", machine.arn)
    settings.reset()
    sc = body(post(client, "/screens/saved", {"name": "Cheap", "query": "pe < 40"}, u.auth))
    assert_error(post(client, "/reports/screen", {"screen_id": sc["id"]}, other.auth), 404)
    assert_error(post(client, "/reports/screen", {"screen_id": "nope"}, u.auth), 400)
    resp = post(client, "/reports/screen", {"screen_id": sc["id"]}, u.auth)
    assert resp.status_code == 202, resp.body
    deadline = time.monotonic() + 60
    while True:
        listed = body(client.http.get("/reports", headers=u.auth))
        if listed["count"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    (rep,) = listed["data"]
    assert (
        rep["kind"] == "screen"
        and rep["title"] == "Screen report: Cheap"
        and rep["has_csv"]
        and rep["status"] == "stored"
    )
    link = body(client.http.get(f"/reports/{rep['id']}/download", headers=u.auth))
    with urllib.request.urlopen(link["url"]) as r:
        pdf_bytes = r.read()
        assert "attachment" in r.headers["Content-Disposition"]
    assert pdf_bytes.startswith(b"%PDF") and len(pdf_bytes) == rep["pdf_bytes"]
    assert "Screen report: Cheap" in PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()
    csv_link = body(client.http.get(f"/reports/{rep['id']}/download?format=csv", headers=u.auth))["url"]
    with urllib.request.urlopen(csv_link) as r:
        assert r.read().decode().startswith("symbol,name,sector,close")
    assert_error(client.http.get(f"/reports/{rep['id']}/download", headers=other.auth), 404)
    assert_error(client.http.get(f"/reports/{rep['id']}/download?format=zip", headers=u.auth), 400)
    assert_error(client.http.get("/reports/not-a-uuid/download", headers=u.auth), 404)
    assert body(client.http.get("/reports", headers=other.auth))["count"] == 0

    from stockscreen.reports.wiring import sign_unsubscribe

    token = sign_unsubscribe(u.id, "weekly")
    resp = client.http.post(f"/reports/unsubscribe?token={token}", body=b"List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert resp.status_code == 200 and body(resp) == {"unsubscribed": True, "kind": "weekly"}
    now = body(client.http.get("/reports/schedule", headers=u.auth))
    assert now["weekly_enabled"] is False and now["daily_enabled"] is True
    assert_error(client.http.post(f"/reports/unsubscribe?token={token[:-3]}xyz"), 400)
    # an alert's unsubscribe link does not stop a report, nor a report's an alert's
    assert_error(client.http.post(f"/alerts/unsubscribe?token={token}"), 400)


def test_cli_report(
    client: Client,
    stack_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """``stockscreen report``: stdout is only the document, status goes to stderr; --send emails it;
    a bad input is a message naming it, exit 2."""
    from devstack import mailbox
    from devstack.cli import main

    u = _user(client, stack_env)
    _watchlist(client, u, "Cli", ["AAPL", "MSFT"])
    post(client, "/screens/saved", {"name": "All big", "query": "close > 50"}, u.auth)
    capsysbinary.readouterr()  # the API calls' logs
    assert main(["report", "weekly", "--user", u.email, "--format", "pdf"]) == 0
    out, err = capsysbinary.readouterr()
    assert out.startswith(b"%PDF") and out.rstrip().endswith(b"%%EOF")
    assert b"Weekly report, week to 2018-02-07" in err
    assert main(["report", "daily", "--user", u.email]) == 0
    out, err = capsysbinary.readouterr()
    assert out.decode().startswith("Daily digest, 2018-02-07\n") and b"stockscreen:" not in out
    assert main(["report", "screen", "--user", u.email, "--screen", "All big", "--format", "csv"]) == 0
    out, _ = capsysbinary.readouterr()
    assert out.decode().splitlines()[0].startswith("symbol,name,sector,close")
    assert main(["report", "screen", "--user", u.email, "--screen", "nope"]) == 2
    assert b"has no saved screen 'nope'" in capsysbinary.readouterr().err
    assert main(["report", "daily", "--user", "nobody@example.com"]) == 2
    assert main(["report", "daily", "--user", u.email, "--format", "csv"]) == 2
    # --send: through build -> render -> store -> send, to the local SES
    monkeypatch.setenv("AWS_LOCAL_PORT", stack_env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    before = len(mailbox.messages(stack_env["AWS_ENDPOINT_URL"]))
    assert main(["report", "weekly", "--user", u.email, "--send"]) == 0
    assert b"weekly report sent to" in capsysbinary.readouterr().err
    mails = mailbox.messages(stack_env["AWS_ENDPOINT_URL"])
    assert len(mails) == before + 1 and mails[0]["to"] == u.email
    assert mails[0]["subject"] == "Stockscreen: Weekly report, week to 2018-02-07"
