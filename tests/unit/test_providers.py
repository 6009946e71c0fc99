"""Bars files: header spellings, column order, gzip, and file:line errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from stockscreen.core.errors import DataFileError
from stockscreen.market.providers import detect_kind, iter_bars

ROW = ("AAPL", "2018-02-07", "163.085", "163.4", "159.0685", "159.54", "51608580")


@pytest.mark.parametrize(
    "content",
    [
        "date,open,high,low,close,volume,Name\n2018-02-07,163.085,163.4,159.0685,159.54,51608580,AAPL\n",
        "Date,Open,High,Low,Close,Adj Close,Volume,Ticker\n"
        "2018-02-07,163.085,163.4,159.0685,159.54,157.1,51608580,AAPL\n",
        "symbol,volume,close,low,high,open,date\nAAPL,51608580,159.54,159.0685,163.4,163.085,2018-02-07\n",
        "\ufeffsymbol;x\n".replace(";x", ",date,open,high,low,close,volume")
        + "AAPL,2018-02-07,163.085,163.4,159.0685,159.54,51608580\n",
    ],
)
def test_header_spellings_and_any_order(tmp_path: Path, content: str) -> None:
    p = tmp_path / "bars.csv"
    p.write_text(content, encoding="utf-8")
    adjusted = ("157.1",) if "Adj Close" in content else ()  # (the adjusted close last, when the file has it)
    assert list(iter_bars(p)) == [(2, ROW + adjusted)]
    assert detect_kind(p) == "bars"


def test_gzip_is_detected_by_content(tmp_path: Path) -> None:
    p = tmp_path / "bars.data"
    with gzip.open(p, "wt") as f:
        f.write("date,open,high,low,close,volume,Name\n2018-02-07,163.085,163.4,159.0685,159.54,51608580,AAPL\n")
    assert list(iter_bars(p)) == [(2, ROW)]


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (b"", 1, "empty"),
        (b"date,open\n2018-01-01,1\n", 1, "missing bar column(s) symbol, high, low, close, volume"),
        (b"date,open,high,low,close,volume,Name\n2018-01-01,1,1,1,1,1,A\n2018-01-02,1,1\n", 3, "expected 7"),
        (b"date,open,high,low,close,volume,Name\n2018-01-01,1,1,1,1,1,A\n\x89PNG\xff\xfe\n", 3, "binary"),
        (b"date,open,high,low,close,volume,Name\n2018-01-01,1,1,1,1,1,A\x00\n", 2, "NUL"),
    ],
)
def test_poisoned_files_name_the_file_and_line(tmp_path: Path, content: bytes, line: int, fragment: str) -> None:
    p = tmp_path / "poison.csv"
    p.write_bytes(content)
    with pytest.raises(DataFileError) as exc:
        list(iter_bars(p))
    assert exc.value.line == line
    assert exc.value.path == str(p)
    assert str(exc.value).startswith(f"{p}:{line}: ")
    assert fragment in str(exc.value)


def test_reference_files_are_recognised() -> None:
    demo = Path(__file__).resolve().parent.parent / "fixtures"
    assert detect_kind(demo / "constituents-sample.csv") == "constituents"
    assert detect_kind(demo / "fundamentals-sample-2018-02-08.csv") == "fundamentals"


def test_stooq_tickers_and_urls() -> None:
    import datetime as dt

    from stockscreen.market.providers import StooqProvider

    stooq = StooqProvider("https://stooq.com/q/d/l/", timeout=5)
    assert stooq.ticker("AAPL") == "aapl.us"
    assert stooq.ticker("BRK.B") == "brk-b.us"
    assert (
        stooq.url("BF.B", dt.date(2018, 2, 1), dt.date(2018, 2, 7))
        == "https://stooq.com/q/d/l/?s=bf-b.us&i=d&d1=20180201&d2=20180207"
    )


def test_quality_report_rejects_a_malformed_run_id() -> None:
    from stockscreen.core.errors import Invalid
    from stockscreen.pipeline.service import run_report

    with pytest.raises(Invalid, match="run_id is not a UUID"):
        run_report("not-a-run")
