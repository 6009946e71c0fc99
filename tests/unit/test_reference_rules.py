"""The fundamentals file's parsing and quality rules (pure functions; LoadReference upserts what they return)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stockscreen.pipeline import quality
from stockscreen.pipeline.reference import StagedReference, parse_fundamentals, parse_security

TODAY = dt.date(2026, 1, 2)


def _row(symbol: str, **values: Any) -> dict[str, Any]:
    base = {"symbol": symbol, "name": f"{symbol} Inc", "sector": "Tech", "price": "100", "pe": "20", "eps": "5"}
    base.update({"dividend_yield": "0.02", "market_cap": "1e9", "low_52w": "80", "high_52w": "120"})
    base.update({k: str(v) for k, v in values.items()})
    return base


def _parse(*rows: dict[str, Any], file: str = "fundamentals-2018-02-08.csv") -> list[Any]:
    return [parse_fundamentals(StagedReference("fundamentals", file, i + 2, r), TODAY) for i, r in enumerate(rows)]


def test_parsing_types_the_numbers_and_dates_the_row_by_its_file() -> None:
    [f] = _parse(_row("aapl", pe="", eps="n/a"))
    assert (f.symbol, f.name, f.as_of, f.line) == ("AAPL", "aapl Inc", dt.date(2018, 2, 8), 2)
    assert f.values["pe"] is None and f.values["eps"] is None and f.values["price"] == 100.0
    [undated] = _parse(_row("A"), file="fundamentals.csv")
    assert undated.as_of == TODAY


def test_a_security_gets_its_country_from_its_headquarters() -> None:
    us = parse_security(
        {"symbol": "mmm", "name": "3M", "headquarters": "St. Paul, Minnesota", "date_added": "1976-08-09"}
    )
    assert (us.symbol, us.state, us.country, us.added) == ("MMM", "Minnesota", "United States", dt.date(1976, 8, 9))
    abroad = parse_security({"symbol": "ACN", "headquarters": "Dublin, Ireland", "sector": ""})
    assert (abroad.name, abroad.country, abroad.sector) == ("ACN", "Ireland", None)


def test_52_week_columns_are_swapped_back_only_when_most_rows_are_swapped() -> None:
    rows = _parse(_row("A", low_52w=120, high_52w=80), _row("B", low_52w=130, high_52w=90), _row("C"))
    issues = quality.check_fundamentals(rows)
    swapped = [i for i in issues if i.rule == "fundamentals_52w_swapped"]
    assert [(i.symbol, i.action, i.severity, i.raw) for i in swapped] == [
        ("A", "corrected", "warning", {"file": "fundamentals-2018-02-08.csv", "line": 2}),
        ("B", "corrected", "warning", {"file": "fundamentals-2018-02-08.csv", "line": 3}),
    ]
    assert [(r.values["low_52w"], r.values["high_52w"]) for r in rows] == [(80, 120), (90, 130), (80, 120)]

    minority = _parse(_row("A", low_52w=120, high_52w=80), _row("B"), _row("C"))
    assert not [i for i in quality.check_fundamentals(minority) if i.rule == "fundamentals_52w_swapped"]
    assert minority[0].values["low_52w"] == 120  # left as it was: one odd row is not a swapped file


def test_dividend_yields_are_stored_as_percent() -> None:
    fractions = _parse(_row("A", dividend_yield=0.02), _row("B", dividend_yield=0.5))
    [unit] = [i for i in quality.check_fundamentals(fractions) if i.rule == "dividend_yield_unit"]
    assert (unit.message, unit.severity, unit.action) == (
        "dividend yield detected as fractions; converted to percent",
        "info",
        "corrected",
    )
    assert [r.values["dividend_yield"] for r in fractions] == [2.0, 50.0]
    percent = _parse(_row("A", dividend_yield=2.5), _row("B", dividend_yield=0.5))
    [unit] = [i for i in quality.check_fundamentals(percent) if i.rule == "dividend_yield_unit"]
    assert unit.message == "dividend yield detected in percent; stored as percent"
    assert [r.values["dividend_yield"] for r in percent] == [2.5, 0.5]


def test_missing_values_and_pe_eps_mismatches_are_reported_in_row_order() -> None:
    rows = _parse(_row("A", market_cap=""), _row("B", pe=30), _row("C"))
    issues = [(i.rule, i.symbol) for i in quality.check_fundamentals(rows)]
    assert issues == [("dividend_yield_unit", None), ("fundamentals_missing", "A"), ("pe_eps_mismatch", "B")]
    [missing] = [
        i for i in quality.check_fundamentals(_parse(_row("A", market_cap=""))) if i.rule == "fundamentals_missing"
    ]
    assert missing.message == "missing market_cap in fundamentals-2018-02-08.csv:2"
