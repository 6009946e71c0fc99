"""The files people bring, through the real state machine: each format, new symbols, --known-only."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from devstack.stepfunctions import IngestStateMachine
from tests.conftest import FIXTURES, truncate_all

FORMATS = FIXTURES / "formats"


@pytest.fixture
def machine(stack_env: dict[str, str]) -> IngestStateMachine:
    truncate_all(stack_env["DATABASE_URL"])
    return IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])


def _q(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return conn.execute(sql, params).fetchall()


def _run(machine: IngestStateMachine, *paths: Path, **options: object) -> dict:
    result = machine.run({"source": {"paths": [str(p) for p in paths], **options}})
    assert result["status"] == "SUCCEEDED", result
    return result["output"]["report"]


@pytest.mark.parametrize("bars", ["yahoo.zip", "stooq.zip", "bars-many.csv.gz", "yahoo", "stooq"])
def test_each_bars_format_loads_with_the_listings_and_generic_fundamentals(
    machine: IngestStateMachine, stack_env: dict[str, str], bars: str
) -> None:
    url = stack_env["DATABASE_URL"]
    report = _run(
        machine,
        FORMATS / "screener-nasdaq.csv",
        FORMATS / "screener-old.csv",
        FORMATS / "fundamentals-generic-2018-02-08.csv",
        FORMATS / bars,
    )
    assert report["fetched"] == 78 and report["inserted"] == 78 - report["quarantined"] > 70
    assert "new_symbol" not in report["findings"]  # every symbol is listed
    assert _q(url, "SELECT count(*) FROM daily_bars b JOIN securities s ON s.id = b.security_id") == [
        (report["inserted"],)
    ]
    # the screener exports: names, sectors, industries, country; BRK/B spelled as the master spells it
    assert _q(url, "SELECT symbol, name, sector, hq_country FROM securities ORDER BY symbol") == [
        ("AAPL", "Apple Inc. Common Stock", "Technology", "United States"),
        ("BRK.B", "Berkshire Hathaway Inc. Class B", "Finance", "United States"),
        ("JPM", "JPMorgan Chase & Co.", "Finance", None),
        ("MSFT", "Microsoft Corporation Common Stock", "Technology", "United States"),
        ("XOM", "Exxon Mobil Corporation", "Energy", None),
    ]
    # the generic fundamentals: columns by field name; the ones that map onto nothing are reported
    assert _q(
        url,
        "SELECT s.symbol, f.pe, f.eps, f.market_cap FROM fundamentals f JOIN securities s ON s.id = f.security_id "
        "ORDER BY 1",
    ) == [("AAPL", 16.9, 9.2, 809508034020.0), ("JPM", 16.1, 6.3, 387903000000.0), ("MSFT", 28.5, 3.1, 689978437468.0)]
    unknown = _q(
        url,
        "SELECT severity, action, message FROM quality_issues WHERE rule = 'unknown_column' AND run_id = %s "
        "ORDER BY message",
        report["run_id"],
    )
    assert [(s, a) for s, a, _ in unknown] == [("warning", "skipped")] * 2
    assert "'analyst_rating' of fundamentals-generic-2018-02-08.csv maps onto no field: its 2 value(s)" in unknown[0][2]
    assert "'beta'" in unknown[1][2] and "--map 'beta=FIELD'" in unknown[1][2]


def test_bars_of_new_symbols_add_them_and_known_only_keeps_them_out(
    machine: IngestStateMachine, stack_env: dict[str, str]
) -> None:
    url = stack_env["DATABASE_URL"]
    # --known-only: nothing is known yet, so every bar is quarantined; the report says why in one line
    report = _run(machine, FORMATS / "bars-many.csv", known_only=True)
    assert report["inserted"] == 0 and report["findings"]["unknown_symbol"] == 78
    assert report["note"] == (
        "nothing loaded: all 78 bars were quarantined (unknown_symbol 78); see stockscreen quality-report"
    )
    assert _q(url, "SELECT count(*) FROM securities") == [(0,)]
    # given explicitly: the new symbols join the security master (name unknown: the symbol)
    report = _run(machine, FORMATS / "stooq.zip")
    assert report["inserted"] > 70 and "unknown_symbol" not in report["findings"]
    assert report["findings"]["new_symbol"] == 3
    assert _q(url, "SELECT symbol, name, sector FROM securities ORDER BY symbol") == [
        ("AAPL", "AAPL", None),
        ("JPM", "JPM", None),
        ("MSFT", "MSFT", None),
    ]
    found = _q(
        url,
        "SELECT severity, action, symbol, message FROM quality_issues WHERE rule = 'new_symbol' AND run_id = %s "
        "ORDER BY 3",
        report["run_id"],
    )
    assert found[0][:3] == ("info", "loaded", "AAPL") and "added to the security master with" in found[0][3]
    # the same bars from Yahoo-style files: their adjusted closes are added (Stooq's files have none)
    again = _run(machine, FORMATS / "yahoo.zip")
    assert (again["inserted"], again["updated"]) == (0, again["fetched"])
    assert _q(url, "SELECT count(adj_close) FROM daily_bars") == [(again["fetched"],)]
    # the same bars again (another format, the same adjusted closes): nothing changed, said in one line
    again = _run(machine, FORMATS / "bars-many.csv")
    assert again["inserted"] == again["updated"] == 0
    assert again["note"].startswith("nothing changed: all ") and "already loaded" in again["note"]
    # a listing later gives the names and sectors
    _run(machine, FORMATS / "screener-nasdaq.csv")
    assert _q(url, "SELECT name, sector FROM securities WHERE symbol = 'AAPL'") == [
        ("Apple Inc. Common Stock", "Technology")
    ]


def test_a_mapping_and_a_forced_format_reach_the_pipeline(
    machine: IngestStateMachine, stack_env: dict[str, str], tmp_path: Path
) -> None:
    odd = tmp_path / "prices.csv"
    odd.write_text("Sym,Day,O,H,L,C,Qty\nAAPL,2018-01-02,170.16,172.3,169.26,172.26,25555934\n")
    failed = machine.run({"source": {"paths": [str(odd)]}})
    assert failed["status"] == "FAILED"
    assert f"{odd}:1: unrecognised file; header was: Sym, Day, O, H, L, C, Qty" in failed["cause"]
    mapping = {"Sym": "symbol", "Day": "date", "O": "open", "H": "high", "L": "low", "C": "close", "Qty": "volume"}
    report = _run(machine, odd, map=mapping)
    assert report["inserted"] == 1
    # a file named after its symbol whose Name column is not a symbol: --format yahoo
    xom = tmp_path / "XOM.csv"
    xom.write_text("Date,Open,High,Low,Close,Volume,Name\n2018-01-02,85.0,86.0,84.5,85.5,1000,Exxon Mobil\n")
    report = _run(machine, xom, format="yahoo")
    assert report["inserted"] == 1
    assert _q(stack_env["DATABASE_URL"], "SELECT symbol FROM securities ORDER BY 1") == [("AAPL",), ("XOM",)]
