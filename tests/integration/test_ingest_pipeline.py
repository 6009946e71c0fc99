"""The ingest state machine's real ASL definition, executed by moto, on real data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest

from devstack.stepfunctions import IngestStateMachine
from tests.conftest import FIXTURES, truncate_all

SAMPLE = [
    str(FIXTURES / "constituents-sample.csv"),
    str(FIXTURES / "fundamentals-sample-2018-02-08.csv"),
    str(FIXTURES / "bars-sample.csv.gz"),
]


@pytest.fixture
def machine(stack_env: dict[str, str]) -> IngestStateMachine:
    truncate_all(stack_env["DATABASE_URL"])
    return IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])


def _q(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return conn.execute(sql, params).fetchall()


def test_demo_sample_loads_through_the_state_machine(machine: IngestStateMachine, stack_env: dict[str, str]) -> None:
    result = machine.run({"source": {"paths": SAMPLE}})
    assert result["status"] == "SUCCEEDED", result
    entered = [s for s in result["states"] if s not in ("Fetch", "Load")]
    assert entered == [
        "Plan",
        "FetchBatches",
        "Validate",
        "LoadReference",
        "LoadBatches",
        "Aggregate",
        "Publish",
        "Report",
    ]
    assert result["states"].count("Fetch") == 3  # one Map iteration per file
    out = result["output"]
    report = out["report"]
    url = stack_env["DATABASE_URL"]
    # 8 symbols; rows with warts are quarantined, never loaded
    assert _q(url, "SELECT count(*) FROM securities")[0][0] == 8
    quarantined = report["quarantined"]
    assert quarantined > 0
    assert _q(url, "SELECT count(*) FROM daily_bars")[0][0] == report["fetched"] - quarantined == report["inserted"]
    rules = {r[0] for r in _q(url, "SELECT DISTINCT rule FROM quality_issues")}
    assert {
        "missing_price",
        "high_low_inconsistent",
        "calendar_gap",
        "bad_print",
        "late_start",
        "fundamentals_52w_swapped",
        "dividend_yield_unit",
    } <= rules
    # LNT's one-day bad print on 2016-05-19 is caught by name
    assert (
        _q(
            url,
            "SELECT count(*) FROM quality_issues WHERE rule = 'bad_print' AND symbol = 'LNT' AND date = '2016-05-19'",
        )[0][0]
        == 1
    )
    # 52-week columns were swapped back
    low, high = _q(
        url,
        "SELECT low_52w, high_52w FROM fundamentals f JOIN securities s ON s.id = f.security_id WHERE symbol = 'AAPL'",
    )[0]
    assert low < high
    # a current snapshot with one row per symbol
    version, rows = _q(url, "SELECT version, row_count FROM snapshot_versions WHERE is_current")[0]
    assert report["snapshot_version"] == version and rows == 8
    run = _q(url, "SELECT status FROM ingest_runs WHERE id = %s", out["run_id"])[0]
    assert run[0] == "succeeded"


def test_rerun_changes_nothing(machine: IngestStateMachine, stack_env: dict[str, str]) -> None:
    first = machine.run({"source": {"paths": SAMPLE}})
    assert first["status"] == "SUCCEEDED", first
    before = _q(stack_env["DATABASE_URL"], "SELECT count(*), sum(close) FROM daily_bars")[0]
    second = machine.run({"source": {"paths": SAMPLE}})
    assert second["status"] == "SUCCEEDED", second
    again = second["output"]["report"]
    assert again["inserted"] == 0 and again["updated"] == 0 and again["changed"] is False
    assert again["unchanged"] == first["output"]["report"]["inserted"]
    assert second["output"]["aggregate"]["rebuilt"] is False
    assert _q(stack_env["DATABASE_URL"], "SELECT count(*), sum(close) FROM daily_bars")[0] == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "poisoned.csv:1: file is empty"),
        (b"foo,bar\n1,2\n", "poisoned.csv:1: unrecognised file; header was: foo, bar."),
        (
            b"date,open,high,low,close,volume,Name\n2018-01-02,1,2,0.5,1.5,100,AAPL\n\xff\xfe\x00\x01junk\n",
            "poisoned.csv:3: binary or non-UTF-8",
        ),
        (
            b"date,open,high,low,close,volume,Name\n2018-01-02,1,2,0.5,1.5,100,AAPL\n2018-01-03,1,2\n",
            "poisoned.csv:3: expected 7 fields",
        ),
    ],
)
def test_poisoned_file_fails_the_run_and_loads_nothing(
    machine: IngestStateMachine, stack_env: dict[str, str], tmp_path: Path, content: bytes, expected: str
) -> None:
    bad = tmp_path / "poisoned.csv"
    bad.write_bytes(content)
    result = machine.run({"source": {"paths": [*SAMPLE[:2], str(bad)]}})
    assert result["status"] == "FAILED"
    assert "RecordFailure" in result["states"]
    url = stack_env["DATABASE_URL"]
    assert _q(url, "SELECT count(*) FROM daily_bars")[0][0] == 0
    assert _q(url, "SELECT count(*) FROM raw_batches")[0][0] == 0
    status, error = _q(url, "SELECT status, error FROM ingest_runs")[0]
    assert status == "failed"
    assert str(bad) in error and expected in error
    # the admins were told (SNS -> nothing subscribed to the admin topic but the publish succeeded)
    assert json.dumps(result["cause"] or "")


def test_a_deferred_snapshot_is_built_once_by_the_forced_last_run(
    machine: IngestStateMachine, stack_env: dict[str, str]
) -> None:
    """A multi-run backfill (``stockscreen ingest backfill``) computes indicators and snapshot once."""
    url = stack_env["DATABASE_URL"]
    first = machine.run({"source": {"paths": SAMPLE}, "defer_snapshot": True})
    assert first["status"] == "SUCCEEDED", first
    assert first["output"]["report"]["inserted"] > 0
    assert first["output"]["aggregate"] == {"version": None, "rows": 0, "rebuilt": False, "deferred": True}
    assert _q(url, "SELECT count(*) FROM snapshot_versions")[0][0] == 0
    # the last run changes nothing itself but is forced: the snapshot covers what the first loaded
    last = machine.run({"source": {"paths": SAMPLE}, "force": True})
    assert last["status"] == "SUCCEEDED", last
    assert last["output"]["report"]["changed"] is False
    assert last["output"]["aggregate"]["rebuilt"] is True
    assert _q(url, "SELECT row_count FROM snapshot_versions WHERE is_current")[0][0] == 8


def test_a_symbol_twice_in_the_reference_files_keeps_its_last_row(
    machine: IngestStateMachine, stack_env: dict[str, str], tmp_path: Path
) -> None:
    """Securities and fundamentals are upserted in one statement each: a repeated key is upserted
    once, with its last row, as one upsert per row would leave it."""
    constituents = tmp_path / "constituents-dup.csv"
    constituents.write_text(
        "Ticker symbol,Security,GICS Sector,GICS Sub Industry,Address of Headquarters,Date first added,CIK\n"
        'ZZA,First Name,Utilities,Electric Utilities,"Madison, Wisconsin",2016-07-01,1\n'
        'ZZB,Other Corp,Industrials,Building Products,"Paris, France",2017-07-26,2\n'
        'ZZA,Second Name,Energy,Oil,"Austin, Texas",2016-07-02,3\n'
    )
    fundamentals = tmp_path / "fundamentals-dup-2018-02-08.csv"
    fundamentals.write_text(
        "Symbol,Name,Sector,Price,Price/Earnings,Dividend Yield,Earnings/Share,52 Week Low,52 Week High,"
        "Market Cap,EBITDA,Price/Sales,Price/Book,SEC Filings\n"
        "ZZB,Other Corp,Industrials,10,10,1.5,1,8,12,1000,100,1,1,x\n"
        "ZZC,Only Here,Energy,20,10,2.5,2,15,25,2000,200,2,2,x\n"
        "ZZB,Other Corp,Industrials,11,11,1.5,1,8,12,1100,110,1,1,x\n"
    )
    result = machine.run({"source": {"paths": [str(constituents), str(fundamentals)]}})
    assert result["status"] == "SUCCEEDED", result
    url = stack_env["DATABASE_URL"]
    assert _q(url, "SELECT symbol, name, sector, hq_country, date_added, cik FROM securities ORDER BY id") == [
        ("ZZA", "Second Name", "Energy", "United States", dt.date(2016, 7, 2), "3"),
        ("ZZB", "Other Corp", "Industrials", "France", dt.date(2017, 7, 26), "2"),
        ("ZZC", "Only Here", "Energy", None, None, None),
    ]
    assert _q(
        url,
        "SELECT s.symbol, f.as_of, f.price, f.market_cap FROM fundamentals f JOIN securities s ON s.id = f.security_id "
        "ORDER BY 1",
    ) == [("ZZB", dt.date(2018, 2, 8), 11.0, 1100.0), ("ZZC", dt.date(2018, 2, 8), 20.0, 2000.0)]
