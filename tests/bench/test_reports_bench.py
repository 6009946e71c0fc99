"""Reports figures (``BENCH`` lines; timings are printed, never asserted).

* ``report_weekly_render_html`` / ``report_weekly_render_pdf``: one weekly report of a sizeable account
  (2 portfolios of 25 holdings, a 63-session chart each, 3 watchlists of 30 symbols), rendered to the
  email's parts and to the PDF, median of repeated runs.
* ``reports_per_minute_1000_users``: 1,000 synthetic users (each a watchlist of 6 of the sample's
  symbols, daily digest due) through the whole workflow on the local stack: moto's Step Functions
  interpreter runs the real definition (select -> Map of 10 -> build -> render -> store -> send), on
  PostgreSQL, S3 and SES. The README extrapolates it to 100,000 users.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
import uuid
from typing import Any

import psycopg
import pytest

from tests.integration.authkit import load_sample

USERS = int(os.environ.get("REPORTS_BENCH_USERS", "1000"))
SYMBOLS = ["AAPL", "AOS", "APTV", "DHR", "JPM", "LNT", "MSFT", "XOM"]


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.1f} {unit}", file=sys.__stdout__, flush=True)


def _weekly_data() -> dict[str, Any]:
    days = [(dt.date(2018, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(63)]

    def holding(k: int) -> dict[str, Any]:
        return {"symbol": f"S{k:03d}", "quantity": 10.0 + k, "average_cost": 50.0 + k, "price": 55.0 + k,
                "market_value": (10.0 + k) * (55.0 + k), "unrealised_pnl": 5.0 * (10 + k), "unrealised_pct": 9.1,
                "week_pct": (k % 7) - 3.0, "weight_pct": 4.0}  # fmt: skip

    def portfolio(n: int) -> dict[str, Any]:
        hs = [holding(k) for k in range(25)]
        return {"name": f"Portfolio {n}", "value_start": 100000.0, "value_end": 101234.5, "net_flows": 500.0,
                "realised_pnl": 1234.0, "realised_week": 12.0, "unrealised_pnl": 4321.0, "return_pct": 1.23,
                "universe_pct": 0.87, "top": hs[:3], "bottom": hs[-3:], "holdings": hs,
                "chart": [{"date": d, "portfolio": 100 + i * 0.1, "universe": 100 + i * 0.07}
                          for i, d in enumerate(days)]}  # fmt: skip

    watch = [{"name": f"List {n}", "average_pct": 0.5,
              "items": [{"symbol": f"W{k:02d}", "name": f"Company {k}", "close": 10.0 + k, "week_pct": k / 10}
                        for k in range(30)]} for n in range(3)]  # fmt: skip
    return {"kind": "weekly", "title": "Weekly report, week to 2018-02-07", "session": "2018-02-07",
            "week_start": "2018-01-31", "user": {"id": "u", "email": "u@example.com", "name": "Bench"},
            "portfolios": [portfolio(1), portfolio(2)], "watchlists": watch, "changed": True}  # fmt: skip


def _median_ms(fn: Any, runs: int = 15) -> float:
    fn()  # warm (templates compiled, fonts loaded)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def test_weekly_render_html_and_pdf() -> None:
    from stockscreen.reports import rendering

    data = _weekly_data()
    html_ms = _median_ms(lambda: rendering.email_parts(data))
    pdf_ms = _median_ms(lambda: rendering.pdf(data))
    size = len(rendering.pdf(data))
    bench("report_weekly_render_html", html_ms, "ms")
    bench("report_weekly_render_pdf", pdf_ms, "ms")
    print(f"weekly PDF: {size / 1024:.0f} KiB, 50 holdings rows, 2 charts, 90 watchlist rows", file=sys.__stdout__)
    assert size > 10_000


@pytest.fixture
def users(stack_env: dict[str, str]) -> list[str]:
    load_sample(stack_env)
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "INSERT INTO users (email, password_hash, display_name) "
                "SELECT 'bench-' || %s || '-' || g || '@example.com', 'x', 'Bench ' || g FROM generate_series(1, %s) g "
                "RETURNING id::text",
                (tag, USERS),
            ).fetchall()
        ]
        conn.execute(
            "INSERT INTO report_settings (user_id, daily_enabled, send_time, time_zone) "
            "SELECT unnest(%s::uuid[]), true, '07:00', 'America/New_York'",
            (ids,),
        )
        wl = conn.execute(
            "INSERT INTO watchlists (user_id, name, position) SELECT unnest(%s::uuid[]), 'Bench', 0 RETURNING id",
            (ids,),
        ).fetchall()
        rows = [(w[0], SYMBOLS[(i + k) % 8], k) for i, w in enumerate(wl) for k in range(6)]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO watchlist_items (watchlist_id, symbol, position) VALUES (%s, %s, %s)", rows)
    return ids


def test_reports_per_minute_through_the_workflow(
    stack_env: dict[str, str], users: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import mailbox
    from devstack.stepfunctions import ReportsStateMachine
    from stockscreen.reports import schedule, settings
    from stockscreen.reports.models import ScheduleSettings

    monkeypatch.setenv("APP_BASE_URL", "http://localhost:5173")
    settings.reset()
    session = dt.date(2018, 2, 7)
    now = schedule.daily_due_at(session, ScheduleSettings(send_time=dt.time(7, 0), time_zone="America/New_York"))
    machine = ReportsStateMachine(stack_env["AWS_ENDPOINT_URL"])
    before = len(mailbox.messages(stack_env["AWS_ENDPOINT_URL"]))
    t = time.perf_counter()
    result = machine.run({"now": (now + dt.timedelta(minutes=1)).isoformat(), "user_ids": users}, timeout=3600)
    elapsed = time.perf_counter() - t
    assert result["status"] == "SUCCEEDED", result.get("cause")
    statuses = [r["status"] for r in result["output"]]
    sent = len(mailbox.messages(stack_env["AWS_ENDPOINT_URL"])) - before
    assert statuses.count("sent") == len(users) == sent
    bench("reports_per_minute_1000_users", len(users) / elapsed * 60, "reports/min")
    print(
        f"{len(users)} daily digests (build, render PDF, store, email) in {elapsed:.1f}s through the workflow "
        f"(Map MaxConcurrency 10, one process, {os.cpu_count()} CPUs)",
        file=sys.__stdout__,
    )
