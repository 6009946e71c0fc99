"""The adjusted close through the real state machine into PostgreSQL: stored when a file has it, kept
by re-loads without it, reported when unreadable, and read by the total-return fields only."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from chalice.test import Client
from sqlalchemy import create_engine

from devstack.lambdas import load_api
from devstack.stepfunctions import IngestStateMachine
from stockscreen.db.migrate import downgrade, upgrade
from stockscreen.screening import artifact
from stockscreen.screening import universe as U
from tests.conftest import FIXTURES, _plain, truncate_all

YAHOO = FIXTURES / "formats" / "yahoo"
#: the ex-dividend day of the made-up adjustment: earlier adjusted closes are 0.97 x the close
EX_DAY = "2018-02-02"
#: the line (of AAPL.csv) whose adjusted close is not a number
BAD_LINE = 5


def _fixture(name: str) -> list[list[str]]:
    """Date, Open, High, Low, Close, Adj Close, Volume rows of a fixture's Yahoo file."""
    return [line.split(",") for line in (YAHOO / name).read_text().splitlines()[1:]]


def _adjusted(rows: list[list[str]]) -> list[str]:
    return [f"{float(r[4]) * (0.97 if r[0] < EX_DAY else 1.0):.4f}" for r in rows]


def _write_yahoo(path: Path, rows: list[list[str]], adj: list[str] | None) -> Path:
    if adj is None:
        lines = ["Date,Open,High,Low,Close,Volume", *(",".join([*r[:5], r[6]]) for r in rows)]
    else:
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        lines += [",".join([*r[:5], a, r[6]]) for r, a in zip(rows, adj, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _q(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(_plain(url)) as conn:
        return conn.execute(sql, params).fetchall()


def _run(machine: IngestStateMachine, *paths: Path) -> dict[str, Any]:
    result = machine.run({"source": {"paths": [str(p) for p in paths]}})
    assert result["status"] == "SUCCEEDED", result
    report: dict[str, Any] = result["output"]["report"]
    return report


def _stored(url: str, symbol: str) -> list[tuple[str, float, float | None]]:
    rows = _q(
        url,
        "SELECT b.date, b.close, b.adj_close FROM daily_bars b JOIN securities s ON s.id = b.security_id "
        "WHERE s.symbol = %s ORDER BY b.date",
        symbol,
    )
    return [(d.isoformat(), c, a) for d, c, a in rows]


def _snapshot(url: str, symbol: str, *fields: str) -> tuple[Any, ...]:
    cols = ", ".join(f"r.{f}" for f in fields)  # (catalogue ids: a whitelist)
    return _q(
        url,
        f"SELECT {cols} FROM snapshot_rows r JOIN snapshot_versions v ON v.version = r.version AND v.is_current "
        "JOIN securities s ON s.id = r.security_id WHERE s.symbol = %s",
        symbol,
    )[0]


def _pct(now: float, then: float) -> float:
    return (now / then - 1.0) * 100.0


@pytest.fixture
def machine(stack_env: dict[str, str]) -> IngestStateMachine:
    truncate_all(stack_env["DATABASE_URL"])
    return IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])


def test_adjusted_closes_are_stored_kept_and_used_by_the_total_return_fields(
    machine: IngestStateMachine, stack_env: dict[str, str], tmp_path: Path
) -> None:
    url = stack_env["DATABASE_URL"]
    aapl_rows, msft_rows = _fixture("AAPL.csv"), _fixture("MSFT.csv")
    adj = _adjusted(aapl_rows)
    adj_in_file = list(adj)
    adj_in_file[BAD_LINE - 2] = "n/a?"
    aapl = _write_yahoo(tmp_path / "v1" / "AAPL.csv", aapl_rows, adj_in_file)
    msft = _write_yahoo(tmp_path / "v1" / "MSFT.csv", msft_rows, None)  # a Yahoo-style file without the column

    report = _run(machine, aapl, msft)
    assert report["inserted"] == len(aapl_rows) + len(msft_rows) and report["quarantined"] == 0
    assert report["findings"]["bad_adj_close"] == 1
    # stored as the file has them; the unreadable one is NULL, the bar itself loaded
    expected = [
        (r[0], float(r[4]), None if k == BAD_LINE - 2 else float(a))
        for k, (r, a) in enumerate(zip(aapl_rows, adj, strict=True))
    ]
    assert _stored(url, "AAPL") == expected
    assert {a for _, _, a in _stored(url, "MSFT")} == {None}
    finding = _q(
        url,
        "SELECT severity, action, symbol, date, message FROM quality_issues WHERE rule = 'bad_adj_close' "
        "AND run_id = %s",
        report["run_id"],
    )
    assert finding == [
        (
            "warning",
            "loaded",
            "AAPL",
            dt.date.fromisoformat(aapl_rows[BAD_LINE - 2][0]),
            "adjusted close 'n/a?' in AAPL.csv:5 is not a finite number: loaded without it",
        )
    ]

    # the total-return fields: from the adjusted closes, by hand; the price ones from the raw closes
    a = [float(x) for x in adj]
    c = [float(r[4]) for r in aapl_rows]
    tr_1w, tr_1m, p_1w, p_1m = _snapshot(url, "AAPL", "perf_tr_1w", "perf_tr_1m", "perf_1w", "perf_1m")
    assert tr_1w == pytest.approx(_pct(a[-1], a[-6]), rel=1e-12)
    assert tr_1m == pytest.approx(_pct(a[-1], a[-22]), rel=1e-12)
    assert p_1w == pytest.approx(_pct(c[-1], c[-6]), rel=1e-12) and p_1m == pytest.approx(_pct(c[-1], c[-22]))
    assert tr_1w > p_1w + 2  # (the ex-dividend day is in the week)
    # without adjusted closes: the price return
    tr_1w, tr_1m, p_1w, p_1m = _snapshot(url, "MSFT", "perf_tr_1w", "perf_tr_1m", "perf_1w", "perf_1m")
    assert (tr_1w, tr_1m) == (p_1w, p_1m) and tr_1w is not None
    # the screener's history (a past date: computed from the bars, adjusted closes included), from the
    # database and from the snapshot artifact alike
    engine = create_engine(url)
    try:
        version, as_of, created = U._current(engine)
        db = U.load(engine, version, as_of)
        row = db.row_of("AAPL")
        assert row is not None and db.daily.a is not None
        assert db.numeric("perf_tr_1w")[row, -2] == pytest.approx(_pct(a[-2], a[-7]), rel=1e-12)
        assert db.numeric("perf_1w")[row, -2] == pytest.approx(_pct(c[-2], c[-7]), rel=1e-12)
        mapped = artifact.open_current(version, created)  # (the stack's SNAPSHOT_BUCKET)
        assert mapped is not None and isinstance(mapped.daily, artifact.MappedFrame)
        np.testing.assert_array_equal(np.asarray(mapped.daily.a), db.daily.a)
        np.testing.assert_array_equal(mapped.numeric("perf_tr_1w"), db.numeric("perf_tr_1w"))
    finally:
        U.reset_cache()
        engine.dispose()

    # the bars API gives a daily bar's adjusted close (the rollups are of the raw prices: none)
    with Client(load_api()) as api:
        daily = json.loads(api.http.get("/securities/AAPL/bars?from=2018-01-02&to=2018-02-07&limit=99").body)
        weekly = json.loads(api.http.get("/securities/AAPL/bars?interval=1w&from=2018-01-02&limit=99").body)
    assert [(b["date"], b["close"], b["adj_close"]) for b in daily["data"]] == expected
    assert {b["adj_close"] for b in weekly["data"]} == {None} and len(weekly["data"]) == 6

    # a re-run of the same files changes nothing
    again = _run(machine, aapl, msft)
    assert (again["inserted"], again["updated"]) == (0, 0)
    assert _stored(url, "AAPL") == expected

    # the same bars without the column: the stored adjusted closes stay
    plain = _write_yahoo(tmp_path / "v2" / "AAPL.csv", aapl_rows, None)
    again = _run(machine, plain)
    assert (again["inserted"], again["updated"]) == (0, 0) and "bad_adj_close" not in again["findings"]
    assert _stored(url, "AAPL") == expected

    # a corrected adjusted close (the bad one, now readable) is stored
    fixed = _write_yahoo(tmp_path / "v3" / "AAPL.csv", aapl_rows, adj)
    again = _run(machine, fixed)
    assert (again["inserted"], again["updated"]) == (0, 1)
    expected[BAD_LINE - 2] = (expected[BAD_LINE - 2][0], expected[BAD_LINE - 2][1], a[BAD_LINE - 2])
    assert _stored(url, "AAPL") == expected

    # a raw revision without an adjusted close drops the stored one of that bar (made for the old values)
    revised = [list(r) for r in aapl_rows]
    revised[-1][4] = f"{float(revised[-1][4]) + 0.01:.2f}"
    again = _run(machine, _write_yahoo(tmp_path / "v4" / "AAPL.csv", revised, None))
    assert (again["inserted"], again["updated"]) == (0, 1)
    assert _stored(url, "AAPL") == [*expected[:-1], (revised[-1][0], float(revised[-1][4]), None)]
    # ... and the last week's total return falls back to the price return
    tr_1w, p_1w = _snapshot(url, "AAPL", "perf_tr_1w", "perf_1w")
    assert tr_1w == p_1w


def test_0012_adds_adj_close_and_downgrades_cleanly(pg_server_url: str) -> None:
    migration = importlib.import_module("stockscreen.db.migrations.versions.0012_adj_close")
    name = f"stockscreen_mig_{uuid.uuid4().hex[:8]}"
    columns = (
        "SELECT table_name::text, column_name::text FROM information_schema.columns "
        "WHERE table_name IN ('daily_bars', 'snapshot_rows') AND (column_name = 'adj_close' "
        "OR column_name LIKE 'perf_tr_%%') ORDER BY 1, 2"
    )
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url, migration.revision)
        added = [("daily_bars", "adj_close"), *(("snapshot_rows", c) for c in sorted(migration.TOTAL_RETURN_COLUMNS))]
        with psycopg.connect(_plain(url), autocommit=True) as conn:
            assert conn.execute(columns).fetchall() == added
            conn.execute("INSERT INTO securities (symbol, name, is_active) VALUES ('AAA', 'A', true)")
            conn.execute(
                "INSERT INTO daily_bars (security_id, date, open, high, low, close, volume, adj_close) "
                "VALUES (1, '2018-01-02', 1, 2, 0.5, 1.5, 100, 1.4), (1, '2018-01-03', 1, 2, 0.5, 1.5, 100, NULL)"
            )
        downgrade(url, migration.down_revision)
        with psycopg.connect(_plain(url)) as conn:
            assert conn.execute(columns).fetchall() == []
            assert conn.execute("SELECT count(*), sum(close) FROM daily_bars").fetchone() == (2, 3.0)
        upgrade(url, migration.revision)  # and up again
        with psycopg.connect(_plain(url)) as conn:
            assert conn.execute(columns).fetchall() == added
    finally:
        with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
