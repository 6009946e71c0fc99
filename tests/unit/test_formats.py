"""File formats: detection from header and name, overrides, archives, normalisation, bad rows."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest

from stockscreen.core.errors import DataFileError
from stockscreen.market.formats import detect, parse_mapping, symbol_from_name
from stockscreen.pipeline.columns import EPOCH, MISSING_VALUE, OK, concat_raw, read_bars, type_bars
from stockscreen.pipeline.staging import member_spec, members
from tests.conftest import FIXTURES

FORMATS = FIXTURES / "formats"


def _bars(path: Path, fmt: str | None = None, mapping: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    parts = []
    for m in members(path):
        spec = member_spec(m, fmt, mapping)
        raw = read_bars(spec, m.data)
        raw.files = [m.origin]
        parts.append(raw)
    return type_bars(concat_raw(parts))


@pytest.mark.parametrize(
    ("name", "fmt", "kind"),
    [
        ("yahoo/AAPL.csv", "yahoo", "bars"),
        ("stooq/aapl.us.txt", "stooq", "bars"),
        ("bars-many.csv", "bars", "bars"),
        ("bars-many.csv.gz", "bars", "bars"),
        ("screener-nasdaq.csv", "listing", "constituents"),
        ("screener-old.csv", "listing", "constituents"),
        ("fundamentals-generic-2018-02-08.csv", "fundamentals", "fundamentals"),
        ("../constituents-sample.csv", "listing", "constituents"),
        ("../fundamentals-sample-2018-02-08.csv", "fundamentals", "fundamentals"),
        ("../bars-sample.csv.gz", "bars", "bars"),
    ],
)
def test_each_format_is_detected_from_its_header_and_name(name: str, fmt: str, kind: str) -> None:
    (member,) = members(FORMATS / name)
    spec = member_spec(member)
    assert (spec.format, spec.kind) == (fmt, kind)


def test_every_bars_format_reads_the_same_bars() -> None:
    """The same real bars in each format: the same symbols, days and prices, adjusted closes aside."""
    many = _bars(FORMATS / "bars-many.csv")
    assert many.symbols == ["AAPL", "JPM", "MSFT"] and len(many) == 78 and (many.error == OK).all()
    order = np.lexsort((many.day, many.symbol))
    for path in ("yahoo.zip", "stooq.zip", "yahoo", "stooq", "bars-many.csv.gz"):
        bars = _bars(FORMATS / path)
        assert bars.symbols == many.symbols, path
        assert (bars.error == OK).all(), path
        other = np.lexsort((bars.day, bars.symbol))
        assert (bars.day[other] == many.day[order]).all(), path
        for k in ("open", "high", "low", "close", "volume"):
            assert np.array_equal(bars.values[k][other], many.values[k][order]), (path, k)
    assert EPOCH.toordinal() + int(many.day.min()) == __import__("datetime").date(2018, 1, 2).toordinal()


def test_a_per_symbol_file_takes_its_symbol_from_its_name() -> None:
    assert symbol_from_name("AAPL.csv") == "AAPL"
    assert symbol_from_name("data/msft.us.txt") == "MSFT"
    assert symbol_from_name("archive.zip/daily/BRK-B.csv.gz") == "BRK.B"
    assert symbol_from_name("AAPL_data.csv") == "AAPL"
    assert symbol_from_name("my prices (1).csv") is None
    bars = _bars(FORMATS / "yahoo.zip")
    assert bars.files == ["yahoo.zip/daily/AAPL.csv", "yahoo.zip/daily/JPM.csv", "yahoo.zip/daily/MSFT.csv"]


def test_stooq_tickers_and_dates_are_normalised(tmp_path: Path) -> None:
    p = tmp_path / "brk-b.us.txt"
    p.write_text(
        "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\n"
        "BRK-B.US,D,20180102,000000,1,2,0.5,1.5,100,0\n"
        "BRK-B.US,D,2018010,000000,1,2,0.5,1.5,100,0\n"
    )
    bars = _bars(p)
    assert bars.symbols == ["BRK.B"]
    assert bars.day[0] == (__import__("datetime").date(2018, 1, 2) - EPOCH).days
    assert bars.error.tolist() == [OK, 1]  # a date of 7 digits is a bad date, not a guess


def test_a_mapping_names_columns_the_aliases_do_not_know(tmp_path: Path) -> None:
    p = tmp_path / "prices.csv"
    p.write_text("Sym,Day,O,H,L,C,Qty\nAAPL,2018-01-02,1,2,0.5,1.5,100\n")
    with pytest.raises(DataFileError, match=r"prices.csv:1: unrecognised file; header was: Sym, Day, O, H, L, C, Qty"):
        member_spec(members(p)[0])
    mapping = parse_mapping("Sym=symbol,Day=date,O=open,H=high,L=low,C=close,Qty=volume")
    bars = _bars(p, mapping=mapping)
    assert bars.symbols == ["AAPL"] and bars.values["close"].tolist() == [1.5]


def test_a_forced_format_overrides_the_detection(tmp_path: Path) -> None:
    # a many-symbol header whose symbol column holds junk: read as one symbol per file (the name's)
    p = tmp_path / "XOM.csv"
    p.write_text("Date,Open,High,Low,Close,Volume,Name\n2018-01-02,1,2,0.5,1.5,100,Exxon\n")
    assert member_spec(members(p)[0]).format == "bars"
    spec = member_spec(members(p)[0], "yahoo")
    assert (spec.format, spec.symbol) == ("yahoo", "XOM")
    with pytest.raises(DataFileError, match=r"XOM\.csv: unknown format 'nope'"):
        member_spec(members(p)[0], "nope")
    with pytest.raises(DataFileError, match=r"XOM.csv:1: listing file without a symbol column"):
        member_spec(members(p)[0], "listing")


def test_bad_mappings_are_refused() -> None:
    with pytest.raises(ValueError, match="'Ticker' is not HEADER=field"):
        parse_mapping("Ticker")
    with pytest.raises(ValueError, match="'sym' is not a field"):
        parse_mapping("Ticker=sym")


def test_unrecognised_files_name_the_file_and_the_headers_seen() -> None:
    with pytest.raises(DataFileError) as caught:
        member_spec(members(FORMATS / "unrecognised.csv")[0])
    assert str(FORMATS / "unrecognised.csv") + ":1: unrecognised file; header was: when, what, how much" in str(
        caught.value
    )
    # bars missing a column say which
    with pytest.raises(DataFileError, match=r"bars without column\(s\) volume"):
        detect("x.csv", ["Date", "Ticker", "Open", "High", "Low", "Close"])


def test_missing_value_spellings_are_missing_not_bad_numbers(tmp_path: Path) -> None:
    p = tmp_path / "AAPL.csv"
    p.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n2018-01-02,null,null,null,null,null,null\n")
    assert _bars(p).error.tolist() == [MISSING_VALUE]


def test_bad_rows_in_an_archive_name_the_member_and_the_line(tmp_path: Path) -> None:
    archive = tmp_path / "prices.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("AAPL.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2018-01-02,1,2,0.5,1.5,1.4,100\n")
        z.writestr(
            "MSFT.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2018-01-02,1,2,0.5,1.5,1.4,100\n2018-01-03,1\n"
        )
    with pytest.raises(DataFileError, match=r"prices.zip/MSFT.csv:3: expected 7 fields, found 2"):
        _bars(archive)
    # a bad value is a row error with its file and line (quarantined by the rules), not a file error
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(
            "MSFT.csv",
            "Date,Open,High,Low,Close,Adj Close,Volume\n2018-01-02,1,2,0.5,1.5,1.4,100\n2018-01-03,x,2,1,1,1,1\n",
        )
    bars = _bars(archive)
    assert bars.error.tolist() == [OK, 2]
    assert (bars.files[bars.file[1]], int(bars.line[1])) == ("prices.zip/MSFT.csv", 3)


def test_archives_and_folders(tmp_path: Path) -> None:
    gz = tmp_path / "AAPL.csv.gz"
    gz.write_bytes(gzip.compress((FORMATS / "yahoo" / "AAPL.csv").read_bytes()))
    assert _bars(gz).symbols == ["AAPL"]
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    with pytest.raises(DataFileError, match="empty zip archive"):
        members(empty)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DataFileError, match=r"broken\.zip: corrupt zip archive"):
        members(broken)
    assert [m.origin for m in members(FORMATS / "stooq")] == [
        "stooq/aapl.us.txt",
        "stooq/jpm.us.txt",
        "stooq/msft.us.txt",
    ]


def test_reference_numbers_and_symbols_as_files_spell_them() -> None:
    from stockscreen.pipeline.reference import number, reference_symbol

    assert number("$1,234.50") == 1234.5
    assert number("2.3%") == 2.3
    assert number("$387.9B") == 387.9e9 and number("12.5M") == 12.5e6
    assert number("n/a") is None and number("") is None and number("nan") is None and number("abc") is None
    assert reference_symbol(" brk/b ") == "BRK.B"


def test_the_run_note_says_why_nothing_was_loaded() -> None:
    from stockscreen.pipeline.service import outcome_note

    base = {"inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0, "fetched": 0, "findings": {}}
    assert outcome_note(base, {}) == "nothing loaded: the input held no rows"
    assert outcome_note(base, {"securities": 3, "fundamentals": 0}) == (
        "no bars in the input; reference data loaded: 3 securities"
    )
    all_bad = {
        **base,
        "fetched": 5,
        "quarantined": 5,
        "findings": {"bad_date": 3, "unknown_symbol": 2, "late_start": 1},
    }
    assert outcome_note(all_bad, {}) == (
        "nothing loaded: all 5 bars were quarantined (bad_date 3, unknown_symbol 2); see stockscreen quality-report"
    )
    same = {**base, "fetched": 5, "unchanged": 4, "quarantined": 1}
    assert outcome_note(same, {}) == "nothing changed: all 4 clean bars were already loaded (1 quarantined)"
    assert outcome_note({**same, "inserted": 2}, {}) == "2 bars inserted, 0 updated, 1 quarantined"
