"""Every wart listed in data/demo/README.md is caught by rule name, symbol and date.

The full demo file is staged and validated by the pipeline's own tasks (the same functions the
state machine runs); the state machine itself is exercised on the 8-symbol extract elsewhere.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from stockscreen.pipeline import service
from tests.conftest import DEMO, truncate_all

FILES = [
    DEMO / "sp500-constituents-2018-01-19.csv",
    DEMO / "sp500-fundamentals-2018-02-08.csv",
    DEMO / "sp500-daily-2013-2018.csv.gz",
]


@pytest.fixture(scope="module")
def issues(stack_env: dict[str, str]) -> list[tuple[Any, ...]]:
    url = stack_env["DATABASE_URL"]
    truncate_all(url)
    state: dict[str, Any] = {"run_id": str(uuid.uuid4()), "source": {"paths": [str(p) for p in FILES]}}
    plan = service.plan(state)
    state["fetch"] = [service.fetch({**state, "batch": b}) for b in plan["batches"]]
    state["validate"] = service.validate(state)
    service.load_reference(state)
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        rows = conn.execute("SELECT rule, severity, action, symbol, date FROM quality_issues").fetchall()
    truncate_all(url)
    return rows


def _by(issues: list[tuple[Any, ...]], rule: str) -> list[tuple[Any, ...]]:
    return [r for r in issues if r[0] == rule]


def test_missing_prices_and_inconsistent_high_low_are_quarantined(issues: list[tuple[Any, ...]]) -> None:
    missing = _by(issues, "missing_price")
    assert len(missing) == 11 and {r[1:3] for r in missing} == {("error", "quarantined")}
    assert all(r[3] and r[4] for r in missing)  # each names its symbol and date
    hl = _by(issues, "high_low_inconsistent")
    assert {r[2] for r in hl} == {"quarantined"}
    # the README's 12: LNT 2016-05-19 is one of them, reported first as a bad print (below)
    caught = {(r[3], str(r[4])) for r in hl} | {(r[3], str(r[4])) for r in _by(issues, "bad_print")}
    assert len(hl) == 11 and ("LNT", "2016-05-19") in caught
    assert {("AOS", "2014-05-19"), ("CHD", "2014-05-19"), ("O", "2014-11-06"), ("WRK", "2016-05-13")} <= caught


def test_lnt_bad_print(issues: list[tuple[Any, ...]]) -> None:
    prints = {(r[3], str(r[4])) for r in _by(issues, "bad_print")}
    assert ("LNT", "2016-05-19") in prints
    # not in the README but real: FLR's whole 2017-09-14 bar sits at ~50.8 between closes of ~40
    assert ("FLR", "2017-09-14") in prints


def test_calendar_gaps_against_the_nyse_calendar(issues: list[tuple[Any, ...]]) -> None:
    gaps: dict[str, int] = {}
    for r in _by(issues, "calendar_gap"):
        gaps[r[3]] = gaps.get(r[3], 0) + 1
        assert r[1:3] == ("warning", "loaded") and r[4] is not None
    assert gaps == {"DHR": 16, "O": 16, "ES": 10, "ICE": 5, "BMY": 2, "ORCL": 2}


def test_late_starters(issues: list[tuple[Any, ...]]) -> None:
    # the README's "35 symbols" are those with less than the full 1,259 bars: 29 start late,
    # the other 6 are the gap symbols above
    late = {r[3] for r in _by(issues, "late_start")}
    assert len(late) == 29 and {"ALLE", "APTV", "CFG", "COTY"} <= late
    assert not late & {"DHR", "O", "ES", "ICE", "BMY", "ORCL"}


def test_spin_offs_and_unadjusted_moves(issues: list[tuple[Any, ...]]) -> None:
    jumps = {(r[3], str(r[4])) for r in _by(issues, "suspicious_jump")}
    assert {
        ("EBAY", "2015-07-20"),
        ("BAX", "2015-07-01"),
        ("NI", "2015-07-02"),
        ("DISCA", "2014-08-07"),
        ("DISCK", "2014-08-07"),
    } <= jumps
    assert {r[2] for r in _by(issues, "suspicious_jump")} == {"loaded"}


def test_fundamentals_warts(issues: list[tuple[Any, ...]]) -> None:
    assert _by(issues, "fundamentals_52w_swapped")
    assert {r[2] for r in _by(issues, "fundamentals_52w_swapped")} == {"corrected"}
    assert len(_by(issues, "dividend_yield_unit")) == 1
    assert _by(issues, "pe_eps_mismatch") and _by(issues, "fundamentals_missing")


def test_no_false_alarms_from_the_calendar(issues: list[tuple[Any, ...]]) -> None:
    # every demo bar is on an NYSE trading day and none is in the future
    assert _by(issues, "closed_day") == [] and _by(issues, "future_date") == []
    assert _by(issues, "duplicate_bar") == [] and _by(issues, "unknown_symbol") == []
