"""The vectorised quality rules and bar typing against their row-by-row semantics.

Each rule is written out here row by row, as the SQL rules read (one rule at a time, in order,
over the rows no earlier error rule quarantined), and compared with :func:`quality.evaluate` on
crafted rows that make every rule fire, and on random rows. Typing is compared with Python's
``float()`` and ``date.fromisoformat()``, the fast CSV reader with the row-by-row one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockscreen.market.calendar import is_trading_day, trading_days
from stockscreen.market.providers import FileBars
from stockscreen.pipeline import quality
from stockscreen.pipeline.columns import (
    EPOCH,
    NAT,
    PARSE_ERRORS,
    PRICE_COLUMNS,
    RawBars,
    TypedBars,
    _from_bytes,
    from_rows,
    pack,
    parse_days,
    parse_numbers,
    read_bars_file,
    type_bars,
    unpack,
)

TODAY = dt.date(2018, 2, 9)

#: a parse error's code in the typed bars, by its name
PARSE_ERROR_CODES = {v: k for k, v in PARSE_ERRORS.items()}


# --- typing -------------------------------------------------------------------------------------------


def _float(value: str) -> float | str | None:
    """The row-by-row stager's number: None when empty, "bad" when not a finite number."""
    if value == "":
        return None
    try:
        f = float(value)
    except ValueError:
        return "bad"
    return "bad" if math.isnan(f) or math.isinf(f) else f


NUMBERS = [
    "15.07", "-0", "0", "007", ".5", "5.", "-.5", "1e5", "1E-3", "+1", "1_000", "nan", "inf", "-Infinity", "1e400",
    "", "abc", "1.2.3", "-", ".", "12345678901234567890", "123456789012345.6", "0.1", "\u0663", "1,5", "0x10",
]  # fmt: skip


def _check_numbers(values: list[str]) -> None:
    got, empty, bad = parse_numbers(np.array([v.encode() for v in values] or [b""], dtype=np.bytes_)[: len(values)])
    for value, g, e, b in zip(values, got.tolist(), empty.tolist(), bad.tolist(), strict=True):
        want = _float(value)
        if want is None:
            assert e and not b, value
        elif want == "bad":
            assert b and not e, value
        else:
            assert not e and not b and g == want and math.copysign(1, g) == math.copysign(1, want), value


def test_numbers_are_typed_as_float_does() -> None:
    _check_numbers(NUMBERS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.-+eE_ xn", max_size=20), min_size=1, max_size=30))
def test_random_numbers_are_typed_as_float_does(values: list[str]) -> None:
    _check_numbers(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=30))
def test_every_double_round_trips(values: list[float]) -> None:
    _check_numbers([repr(v) for v in values] + [f"{v:.6f}" for v in values])


def _iso(value: str) -> int | None:
    try:
        return (dt.date.fromisoformat(value) - EPOCH).days
    except ValueError:
        return None


DATES = [
    "2018-02-07", "2016-02-29", "2017-02-29", "2018-02-30", "2018-13-01", "2018-00-10", "0000-01-01", "0001-01-01",
    "9999-12-31", "20180207", "2018-W06-3", "2018-2-7", "", "2018-02-07T00:00", "1969-12-31", "abcd-ef-gh",
]  # fmt: skip


@pytest.mark.parametrize("values", [DATES, DATES[:1], DATES[-3:]])
def test_dates_are_typed_as_fromisoformat_does(values: list[str]) -> None:
    got = parse_days(np.array([v.encode() for v in values], dtype=np.bytes_)).tolist()
    assert got == [NAT if _iso(v) is None else _iso(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dates(min_value=dt.date(1, 1, 1)), min_size=1, max_size=20), st.lists(st.text(max_size=12)))
def test_random_dates_are_typed_as_fromisoformat_does(days: list[dt.date], junk: list[str]) -> None:
    values = [d.isoformat() for d in days] + [j for j in junk if "\x00" not in j]
    got = parse_days(np.array([v.encode() for v in values], dtype=np.bytes_)).tolist()
    assert got == [NAT if _iso(v) is None else _iso(v) for v in values]


def _stage_row(values: tuple[str, ...]) -> tuple[str | None, int | None, list[float | None], str | None]:
    """The row-by-row stager: (symbol, day, values, parse error)."""
    symbol, date_s, *numbers = values
    error = None
    day = _iso(date_s)
    if day is None:
        error = "bad_date"
    parsed = [_float(v) for v in numbers]
    if "bad" in parsed:
        parsed = [None] * 5
        error = error or "bad_number"
    if error is None and None in parsed:
        error = "missing_value"
    return symbol.upper() or None, day, parsed, error  # type: ignore[return-value]


ROWS = [
    ("aapl", "2018-02-07", "163.085", "163.4", "159.0685", "159.54", "51608580"),
    ("AAPL", "2018-02-30", "1", "2", "0.5", "1.5", "100"),
    ("MSFT", "2018-02-07", "", "2", "0.5", "1.5", "100"),
    ("MSFT", "bad", "", "2", "0.5", "1.5", "100"),
    ("XOM", "2018-02-07", "nan", "2", "0.5", "1.5", "100"),
    ("XOM", "2018-02-07", "1", "2", "0.5", "1.5", "1e3"),
    ("", "2018-02-07", "1", "2", "0.5", "1.5", "100"),
    ("ß", "2018-02-07", "1", "2", "x", "1.5", ""),
]


def _typed(rows: list[tuple[str, ...]]) -> TypedBars:
    return type_bars(from_rows(("f.csv", i + 2, r) for i, r in enumerate(rows)))


def test_rows_are_typed_as_the_row_by_row_stager_did() -> None:
    bars = _typed(ROWS)
    for i, row in enumerate(ROWS):
        symbol, day, values, error = _stage_row(row)
        code = int(bars.symbol[i])
        assert (bars.symbols[code] if code >= 0 else None) == symbol
        assert (None if bars.day[i] == NAT else int(bars.day[i])) == day
        got = [None if math.isnan(v) else v for v in (float(bars.values[k][i]) for k in PRICE_COLUMNS)]
        assert got == values
        assert bars.error[i] == (PARSE_ERROR_CODES[error] if error else 0)
        assert bars.raw.get(i) == (",".join(row) if error else None)
    again, extra = unpack(pack(bars, quarantined=3))
    assert again.symbols == bars.symbols and again.raw == bars.raw and int(extra["quarantined"]) == 3
    assert all(np.array_equal(again.values[k], bars.values[k], equal_nan=True) for k in PRICE_COLUMNS)
    # the origins: one file's lines in a row are staged as the first line; any others as they are
    for files, file, line in (
        (["a.csv"], [0] * len(bars), list(range(2, len(bars) + 2))),
        (["a.csv"], [0] * len(bars), list(range(len(bars) + 2, 2, -1))),
        (["a.csv", "b.csv"], [k % 2 for k in range(len(bars))], list(range(2, len(bars) + 2))),
    ):
        bars.files, bars.file, bars.line = files, np.array(file, dtype=np.int32), np.array(line, dtype=np.int32)
        packed = pack(bars)
        again, _ = unpack(packed)
        assert again.files == files and again.file.tolist() == file and again.line.tolist() == line
        assert ("first_line" in _from_bytes(packed)) == (files == ["a.csv"] and line[0] == 2)


@pytest.mark.parametrize(
    "content",
    [
        b"date,open,high,low,close,volume,Name\n2018-02-07,163.085,163.4,159.0685,159.54,51608580,AAPL\n"
        b"2018-02-08,1,2,0.5,1.5,100,aapl",  # no final newline, lower case
        b"date,open,high,low,close,volume,Name\r\n2018-02-07,1,2,0.5,1.5,100,AAPL\r\n",  # CRLF
        b'date,open,high,low,close,volume,Name\n2018-02-07,1,2,0.5,1.5,100,"AAPL"\n',  # quotes
        b"\xef\xbb\xbfsymbol,date,open,high,low,close,volume\nAAPL,2018-02-07,1,2,0.5,1.5,100\n",  # BOM
        b"date,open,high,low,close,volume,Name\n2018-02-07,1,2,0.5,1.5,100,AAPL\n\n2018-02-08,1,2,0.5,1.5,,AAPL\n",
        b"date,open,high,low,close,volume,Name\n2018-02-07, 1 ,2,0.5,1.5,100,AAPL\n",  # spaces
        b"Date,Open,High,Low,Close,Adj Close,Volume,Ticker\n2018-02-07,1,2,0.5,1.5,1.4,100,\xc3\x9f\n",  # extra, UTF-8
        b"date,open,high,low,close,volume,Name\n,,,,,,\n",
    ],
)
def test_the_fast_reader_reads_what_the_row_by_row_reader_reads(tmp_path: Path, content: bytes) -> None:
    for path in (tmp_path / "bars.csv", tmp_path / "bars.csv.gz"):
        path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
        fast, careful = read_bars_file(path), from_rows(FileBars(path).rows())
        assert fast.files == careful.files and fast.line.tolist() == careful.line.tolist()
        assert {k: v.tolist() for k, v in fast.text.items()} == {k: v.tolist() for k, v in careful.text.items()}


def test_the_fast_reader_is_the_one_that_reads_a_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(b"date,open,high,low,close,volume,Name\n2018-02-07,1,2,0.5,1.5,100,AAPL\n")
    from stockscreen.pipeline.columns import _fast_columns

    fast = _fast_columns(path)
    assert isinstance(fast, RawBars) and fast.text["symbol"].tolist() == [b"AAPL"]


_PLAIN_ROWS = b"".join(b"2018-02-%02d,1,2,0.5,1.5,%d,AAPL\n" % (d, 100 + d) for d in range(1, 29))


def test_the_fast_reader_reads_every_gzip_member_and_both_halves(tmp_path: Path) -> None:
    from stockscreen.pipeline.columns import _fast_columns

    path = tmp_path / "bars.csv.gz"
    head = b"date,open,high,low,close,volume,Name\n"
    path.write_bytes(gzip.compress(head + _PLAIN_ROWS[:200]) + gzip.compress(_PLAIN_ROWS[200:]))  # two members
    fast, careful = _fast_columns(path), from_rows(FileBars(path).rows())
    assert fast is not None and fast.line.tolist() == careful.line.tolist() == list(range(2, 30))
    assert {k: v.tolist() for k, v in fast.text.items()} == {k: v.tolist() for k, v in careful.text.items()}
    # a space in either half of the body leaves the file to the careful reader
    for at in (len(head) + 3, len(head) + len(_PLAIN_ROWS) - 3):
        body = bytearray(head + _PLAIN_ROWS)
        body[at] = ord(" ")
        path.write_bytes(gzip.compress(bytes(body)))
        assert _fast_columns(path) is None
    # so does a truncated one
    path.write_bytes(gzip.compress(head + _PLAIN_ROWS)[:-20])
    assert _fast_columns(path) is None


# --- the rules, row by row ------------------------------------------------------------------------------


@dataclass
class Row:
    file: str
    line: int
    symbol: str | None
    day: dt.date | None
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume: float | None
    error: str | None = None
    raw: str | None = None


def _bars(rows: list[Row]) -> TypedBars:
    symbols = sorted({r.symbol for r in rows if r.symbol})
    files = sorted({r.file for r in rows})

    def num(v: float | None) -> float:
        return math.nan if v is None else v

    return TypedBars(
        files=files,
        file=np.array([files.index(r.file) for r in rows], dtype=np.int32),
        line=np.array([r.line for r in rows], dtype=np.int32),
        symbols=symbols,
        symbol=np.array([symbols.index(r.symbol) if r.symbol else -1 for r in rows], dtype=np.int32),
        day=np.array([NAT if r.day is None else (r.day - EPOCH).days for r in rows], dtype=np.int32),
        values={k: np.array([num(getattr(r, k)) for r in rows]) for k in PRICE_COLUMNS},
        error=np.array([PARSE_ERROR_CODES[r.error] if r.error else 0 for r in rows], dtype=np.int8),
        raw={i: r.raw for i, r in enumerate(rows) if r.error and r.raw is not None},
    )


def _pg(x: float) -> str:
    return quality.pg_float(x)


def reference(rows: list[Row], ctx: quality.Context) -> tuple[list[tuple[Any, ...]], list[str | None]]:
    """The rules one row at a time: findings (rule, row, symbol, date, message) and each row's rule."""
    alive = [True] * len(rows)
    rejected: list[str | None] = [None] * len(rows)
    found: list[tuple[Any, ...]] = []

    def quarantine(rule: str, i: int, message: str, day: dt.date | None) -> None:
        alive[i] = False
        rejected[i] = rule
        found.append((rule, i, rows[i].symbol, day, message))

    def each(rule: str, test: Any, message: Any) -> None:
        for i, r in enumerate(rows):
            if alive[i] and test(r):
                quarantine(rule, i, message(r), None if rule == "bad_date" else r.day)

    def by_symbol() -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for i in sorted((i for i in range(len(rows)) if alive[i]), key=lambda i: (rows[i].day, i)):
            groups.setdefault(rows[i].symbol or "", []).append(i)
        return groups

    where = lambda r: f"{r.file}:{r.line}"  # noqa: E731
    each("bad_date", lambda r: r.error == "bad_date", lambda r: f"unparseable date in {where(r)}")
    each("bad_number", lambda r: r.error == "bad_number", lambda r: f"non-numeric value in {where(r)}")
    each("missing_price", lambda r: r.error == "missing_value", lambda r: f"missing value(s) in {where(r)}")
    each("missing_symbol", lambda r: r.symbol is None, lambda r: f"empty symbol in {where(r)}")
    each("non_positive_price", lambda r: min(r.open, r.high, r.low, r.close) <= 0, lambda r: "price <= 0")
    prints = []
    for idx in by_symbol().values():
        for k in range(1, len(idx) - 1):
            prev, cur, nxt = (rows[j].close for j in idx[k - 1 : k + 2])
            if prev > 0 and nxt > 0 and abs(cur / prev - 1) > 0.25 and abs(nxt / prev - 1) < 0.05:
                prints.append((idx[k], f"close {_pg(cur)} between {_pg(prev)} and {_pg(nxt)}: a one-day bad print"))
    for i, message in sorted(prints):
        quarantine("bad_print", i, message, rows[i].day)
    each(
        "high_low_inconsistent",
        lambda r: r.high < max(r.open, r.close, r.low) or r.low > min(r.open, r.close, r.high),
        lambda r: f"high {_pg(r.high)} / low {_pg(r.low)} do not contain open {_pg(r.open)} / close {_pg(r.close)}",
    )
    each(
        "bad_volume",
        lambda r: r.volume < 0 or r.volume != math.trunc(r.volume),
        lambda r: (
            f"negative volume {_pg(r.volume)}" if r.volume < 0 else f"volume {_pg(r.volume)} is not a whole number"
        ),
    )
    each("future_date", lambda r: r.day > ctx.today, lambda r: "date in the future")
    dated = [r for r in rows if r.symbol and r.day]
    firsts: dict[str, dt.date] = {}
    for r in dated:
        firsts[r.symbol] = min(firsts.get(r.symbol, r.day), r.day)  # type: ignore[index, arg-type]
    lows = [ctx.previous[s][0] if s in ctx.previous else d for s, d in firsts.items()]
    days = list(trading_days(min(lows), min(max(r.day for r in dated), ctx.today))) if dated else []  # type: ignore[type-var]
    each(
        "closed_day",
        lambda r: r.day <= ctx.today and r.day not in days,
        lambda r: "bar on a day the exchange was closed",
    )
    groups: dict[tuple[str, dt.date], list[int]] = {}
    for i in range(len(rows)):
        if alive[i]:
            groups.setdefault((rows[i].symbol, rows[i].day), []).append(i)  # type: ignore[arg-type]
    for idx in groups.values():
        for i in sorted(idx, key=lambda i: (rows[i].file, rows[i].line))[1:]:
            quarantine("duplicate_bar", i, "duplicate of an earlier row for the same symbol and date", rows[i].day)
    each("unknown_symbol", lambda r: r.symbol not in ctx.known_symbols, lambda r: "symbol not in the security master")
    for symbol, idx in by_symbol().items():
        for k, i in enumerate(idx):
            prev = rows[idx[k - 1]].close if k else ctx.previous.get(symbol, (None, None))[1]
            cur = rows[i].close
            if prev is not None and prev > 0 and abs(cur / prev - 1) > 0.4:
                pct = quality._percent(cur / prev - 1)
                found.append(
                    ("suspicious_jump", i, symbol, rows[i].day, f"close {_pg(cur)} after {_pg(prev)} ({pct}%)")
                )
    for symbol in sorted(firsts):
        mine = {r.day for r in dated if r.symbol == symbol}
        hi = max(mine)  # type: ignore[type-var]
        lo = ctx.previous[symbol][0] if symbol in ctx.previous else min(mine)  # type: ignore[type-var]
        present = {d for d in mine if d in days}
        if present and len([d for d in days if lo <= d <= hi]) > len(present) + (symbol in ctx.previous):
            for d in days:
                if lo < d < hi and d not in present:
                    found.append(("calendar_gap", None, symbol, d, "no bar on an NYSE trading day"))
    spans: dict[str, list[dt.date]] = {}
    for i, r in enumerate(rows):
        if alive[i]:
            spans.setdefault(r.symbol, []).append(r.day)  # type: ignore[arg-type]
    if spans:
        earliest = min(min(v) for v in spans.values())
        latest = max(max(v) for v in spans.values())
        for s in sorted(spans):
            if min(spans[s]) > earliest:
                found.append(("late_start", None, s, min(spans[s]), "history starts late (listing or spin-off)"))
        for s in sorted(spans):
            if max(spans[s]) < latest:
                found.append(
                    ("stale_symbol", None, s, max(spans[s]), "last bar is older than the run's last trading day")
                )
    return found, rejected


def _compare(rows: list[Row], ctx: quality.Context) -> quality.Outcome:
    outcome = quality.evaluate(_bars(rows), ctx)
    got = [(f.rule, f.row, f.symbol, f.date, f.message) for f in outcome.findings]
    want, rejected = reference(rows, ctx)
    order = [r.name for r in quality.RULES]

    def key(f: tuple[Any, ...]) -> tuple[Any, ...]:
        return (order.index(f[0]), -1 if f[1] is None else f[1], f[2] or "", f[3] or dt.date.min)

    assert sorted(got, key=key) == sorted(want, key=key)
    names = [None if k < 0 else quality.RULES[k].name for k in outcome.rejected.tolist()]
    assert names == rejected
    return outcome


def _day(d: str) -> dt.date:
    return dt.date.fromisoformat(d)


def _bar(
    symbol: str | None, day: str | None, o: float, h: float, lo: float, c: float, v: float = 100, **kw: Any
) -> Row:
    """A row (its line is set by its place in the crafted list)."""
    when = None if day is None else _day(day)
    return Row(kw.get("file", "a.csv"), 0, symbol, when, o, h, lo, c, v, kw.get("error"), kw.get("raw"))


def _week(symbol: str, start: str, closes: list[float]) -> list[Row]:
    days = [d for d in trading_days(_day(start), _day(start) + dt.timedelta(days=3 * len(closes)))][: len(closes)]
    return [_bar(symbol, d.isoformat(), c, c * 1.01, c * 0.99, c) for d, c in zip(days, closes, strict=True)]


CRAFTED = [
    *_week("AAA", "2018-01-02", [10, 10.1, 10.2, 10.1, 10.3, 10.2, 10.1, 10.0]),
    _bar("AAA", None, 1, 2, 0.5, 1.5, error="bad_date", raw="AAA,2018-02-30,1,2,0.5,1.5,100"),
    Row("a.csv", 0, "AAA", _day("2018-01-16"), None, None, None, None, None, "bad_number", "AAA,2018-01-16,x,,,,"),
    Row("a.csv", 0, "AAA", _day("2018-01-17"), None, 2, 1, 1.5, 100, "missing_value", "AAA,2018-01-17,,2,1,1.5,100"),
    _bar(None, "2018-01-18", 1, 2, 0.5, 1.5),  # missing_symbol
    _bar("AAA", "2018-01-19", 0, 2, 0, 1.5),  # non_positive_price
    *_week("BBB", "2018-01-02", [20, 20.2, 30, 20.1, 20.3, 20.2, 45.0, 20.4, 20.5]),  # two bad prints, both flagged
    _bar("BBB", "2018-01-16", 20, 19, 21, 20),  # high_low_inconsistent (also a bad print? no: neighbours)
    _bar("BBB", "2018-01-17", 20, 21, 19, 20.4, v=-5),  # bad_volume (negative)
    _bar("BBB", "2018-01-18", 20, 21, 19, 20.4, v=10.5),  # bad_volume (not whole)
    _bar("BBB", "2018-03-01", 20, 21, 19, 20.5),  # future_date
    _bar("CCC", "2018-01-06", 20, 21, 19, 20.5),  # closed_day (a Saturday)
    _bar("CCC", "2018-01-15", 20, 21, 19, 20.5),  # closed_day (MLK day)
    *_week("CCC", "2018-01-02", [5, 5.1, 5.2]),
    _bar("CCC", "2018-01-03", 5, 5.2, 5, 5.1, file="b.csv"),  # duplicate_bar (b.csv after a.csv)
    _bar("CCC", "2018-01-03", 5, 5.2, 5, 5.1, file="0.csv"),  # kept: 0.csv sorts first, a.csv's is a duplicate
    *_week("ZZZ", "2018-01-02", [1, 1, 1]),  # unknown_symbol
    *_week("DDD", "2018-01-08", [50, 80, 81, 30, 31]),  # suspicious_jump x2, late_start
    *_week("EEE", "2018-01-02", [7, 7.1]),  # stale_symbol
    *_week("FFF", "2018-01-09", [100, 41]),  # jump against the loaded close; gap since the loaded bar
    *_week("GGG", "2018-01-02", [10, 13, 10.55, 10.4, 12.6, 10.0, 14.1, 13.9]),  # near every threshold
]
for _line, _row in enumerate(CRAFTED, 2):
    _row.line = _line


CONTEXT = quality.Context(
    today=TODAY,
    known_symbols=frozenset({"AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG"}),
    previous={"FFF": (_day("2018-01-03"), 70.0)},
)


def test_crafted_rows_make_every_row_rule_fire_as_row_by_row() -> None:
    outcome = _compare(CRAFTED, CONTEXT)
    fired = set(outcome.counts())
    # (stale_security: a query of the loaded bars; new_symbol: only for files given explicitly, below;
    # released: only with a release, see the test of releases; the adjusted-close rules: only for bars
    # with an adjusted close, see tests/unit/test_adj_close.py)
    adjusted = {"bad_adj_close", "adj_close_jump"}
    assert fired == {r.name for r in quality.RULES} - {"stale_security", "new_symbol", "released", *adjusted}
    counts = outcome.counts()
    assert counts["bad_print"] == 2 and counts["duplicate_bar"] == 2 and counts["closed_day"] == 2
    by_rule = {f.rule: f for f in outcome.findings}
    assert by_rule["bad_date"].date is None and by_rule["bad_date"].raw == {
        "file": "a.csv",
        "line": by_rule["bad_date"].raw["line"],  # type: ignore[index]
        "raw": "AAA,2018-02-30,1,2,0.5,1.5,100",
    }
    assert by_rule["high_low_inconsistent"].raw == {
        "file": "a.csv", "line": by_rule["high_low_inconsistent"].raw["line"],  # type: ignore[index]
        "open": 20, "high": 19, "low": 21, "close": 20, "volume": 100,
    }  # fmt: skip
    dup = [f for f in outcome.findings if f.rule == "duplicate_bar"]
    assert sorted(CRAFTED[f.row].file for f in dup if f.row is not None) == ["a.csv", "b.csv"]
    gaps = {(f.symbol, f.date) for f in outcome.findings if f.rule == "calendar_gap"}
    assert ("FFF", _day("2018-01-04")) in gaps and ("FFF", _day("2018-01-08")) in gaps
    jump = [f.message for f in outcome.findings if f.rule == "suspicious_jump" and f.symbol == "FFF"]
    assert jump == ["close 100 after 70 (42.9%)", "close 41 after 100 (-59.0%)"]


def test_a_released_row_with_the_reviewed_values_is_loaded_and_reported() -> None:
    """A release exempts its symbol and date from the value rules while the values are the reviewed
    ones; other values, and the rules about a row's form or identity, still quarantine."""
    rows = _week("BBB", "2018-01-02", [20, 20.2, 30, 20.1, 20.3])  # a bad print on 2018-01-04
    bad = rows[2]
    rows += [_bar("BBB", "2018-01-10", 20, 19, 21, 20)]  # high/low inconsistent
    rows += [_bar("BBB", "2018-01-10", 20, 19, 21, 20)]  # ... and its duplicate
    bars = _bars([dataclasses.replace(r, line=i + 2) for i, r in enumerate(rows)])
    reviewed = (bad.open, bad.high, bad.low, bad.close, bad.volume)
    released = {("BBB", bad.day): reviewed, ("BBB", _day("2018-01-10")): (20.0, 19.0, 21.0, 20.0, 100.0)}
    ctx = dataclasses.replace(CONTEXT, released=released)  # type: ignore[arg-type]
    outcome = quality.evaluate(bars, ctx)
    by_rule = {(f.rule, f.date) for f in outcome.findings}
    assert ("bad_print", bad.day) not in by_rule and ("released", bad.day) in by_rule
    assert ("high_low_inconsistent", _day("2018-01-10")) not in by_rule
    assert ("duplicate_bar", _day("2018-01-10")) in by_rule  # not a value rule: the second row stays out
    assert [f.rule for f in outcome.findings].count("released") == 2
    assert outcome.rejected[2] == -1  # loaded
    # other values than the reviewed ones: quarantined as before
    changed = dataclasses.replace(ctx, released={("BBB", bad.day): (bad.open, bad.high, bad.low, 31.0, bad.volume)})
    assert ("bad_print", bad.day) in {(f.rule, f.date) for f in quality.evaluate(bars, changed).findings}


@pytest.mark.parametrize(
    ("x", "shown"),
    [(1e15, "1e+15"), (1e16, "1e+16"), (123456789012345678.0, "1.2345678901234568e+17"), (0.0001, "0.0001"),
     (0.00001, "1e-05"), (100.0, "100"), (15.07, "15.07"), (-0.5, "-0.5"), (999999999999999.0, "999999999999999"),
     (0.0, "0"), (1.5e-7, "1.5e-07"), (2.5e300, "2.5e+300")],
)  # fmt: skip
def test_values_are_printed_as_postgresql_prints_float8(x: float, shown: str) -> None:
    assert quality.pg_float(x) == shown


def test_percent_is_rounded_as_postgresql_rounds_numeric() -> None:
    assert quality._percent(15.07 / 14.0 - 1) == "7.6"  # SELECT round(((15.07/14.0 - 1)*100)::numeric, 1)
    assert quality._percent(-0.5) == "-50.0" and quality._percent(0.00049) == "0.0"


@st.composite
def random_rows(draw: st.DrawFn) -> list[Row]:
    symbols = ["AAA", "BBB", "CCC", "QQQ"]
    days = [*trading_days(_day("2018-01-02"), _day("2018-02-09")), _day("2018-01-06"), _day("2018-03-01")]
    rows = []
    for line in range(draw(st.integers(1, 40))):
        close = draw(st.sampled_from([10.0, 10.2, 10.55, 12.4, 12.6, 13.0, 13.9, 14.1, 5.0, 20.0, 0.0, -1.0]))
        spread = draw(st.sampled_from([0.5, -0.5, 0.0]))
        error = draw(st.sampled_from([None] * 8 + ["bad_date", "bad_number", "missing_value"]))
        rows.append(
            Row(
                draw(st.sampled_from(["a.csv", "b.csv"])),
                line + 2,
                draw(st.sampled_from([*symbols, None])),
                None if error == "bad_date" else draw(st.sampled_from(days)),
                close,
                close + spread,
                close - abs(spread),
                close,
                draw(st.sampled_from([100.0, 0.0, -3.0, 2.5])),
                error,
                "as read" if error else None,
            )
        )
    return rows


@settings(max_examples=300, deadline=None)
@given(random_rows(), st.booleans())
def test_random_rows_are_judged_as_row_by_row(rows: list[Row], with_previous: bool) -> None:
    previous = {"AAA": (_day("2017-12-28"), 12.0)} if with_previous else {}
    _compare(rows, quality.Context(TODAY, frozenset({"AAA", "BBB", "CCC"}), previous))


def test_every_bar_of_the_crafted_week_is_on_a_trading_day() -> None:
    # (the crafted rows above rely on it)
    assert all(is_trading_day(r.day) for r in _week("X", "2018-01-02", [1] * 20) if r.day)


@settings(max_examples=200, deadline=None)
@given(random_rows(), st.booleans())
def test_random_rows_of_one_file_by_symbol_and_date_are_judged_as_row_by_row(
    rows: list[Row], with_previous: bool
) -> None:
    """Rows staged already by symbol and date, from one file (the usual file): the rules sort nothing."""
    ordered = sorted(rows, key=lambda r: (r.symbol or "", r.day or dt.date.min))
    # one file, its lines in order (duplicates of a symbol and date among them)
    one_file = [dataclasses.replace(r, file="a.csv", line=k + 2) for k, r in enumerate(ordered)]
    previous = {"AAA": (_day("2017-12-28"), 12.0)} if with_previous else {}
    _compare(one_file, quality.Context(TODAY, frozenset({"AAA", "BBB", "CCC"}), previous))


@pytest.mark.parametrize("piece", [1, 7, 64, 1 << 19])
def test_a_gzipped_file_is_read_as_it_is_inflated_piece_by_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    from stockscreen.pipeline import columns

    monkeypatch.setattr(columns, "INFLATE_PIECE", piece)
    path = tmp_path / "bars.csv.gz"
    head = b"\xef\xbb\xbfdate,open,high,low,close,volume,Name\n"  # (a BOM: bytes above '~' in the header only)
    plain = [head + _PLAIN_ROWS, head + _PLAIN_ROWS[:-1], head]  # the last newline missing; no rows

    def same(content: bytes) -> RawBars | None:
        path.write_bytes(gzip.compress(content))
        fast, careful = columns._fast_columns(path), from_rows(FileBars(path).rows())
        if fast is not None:
            assert fast.line.tolist() == careful.line.tolist()
            assert {k: v.tolist() for k, v in fast.text.items()} == {k: v.tolist() for k, v in careful.text.items()}
        return fast

    for content in plain:
        done, text = columns._inflated(gzip.compress(content))
        assert done and text is not None  # read as it is inflated
        assert same(content) is not None
    crlf = (head + _PLAIN_ROWS).replace(b"\n", b"\r\n")
    assert columns._inflated(gzip.compress(crlf)) == (False, None)  # inflated whole, then read
    assert same(crlf) is not None
    two = gzip.compress(head + _PLAIN_ROWS[:300]) + gzip.compress(_PLAIN_ROWS[300:])
    assert columns._inflated(two) == (False, None)
    # what the careful reader must read: a quote, a space or a byte above '~' late in the body
    for late in (b'"', b" ", b"\xc3\x9f"):
        assert same(head + _PLAIN_ROWS[:-3] + late + _PLAIN_ROWS[-3:]) is None
    path.write_bytes(gzip.compress(head + _PLAIN_ROWS)[:-20])  # truncated
    assert columns._fast_columns(path) is None
    whole = bytearray(gzip.compress(head + _PLAIN_ROWS))
    whole[-8] ^= 1  # a wrong checksum
    assert columns._inflated(bytes(whole)) == (True, None)
    whole[-8] ^= 1
    whole[len(whole) // 2] ^= 0xFF  # corrupt data
    assert columns._inflated(bytes(whole)) == (True, None)


def test_new_symbols_of_files_given_explicitly_are_reported_and_kept() -> None:
    """``add_new`` (bars files given explicitly): ZZZ is a new_symbol to add, not quarantined; a
    symbol that is not a ticker still is."""
    rows = [r for r in CRAFTED if r.symbol == "ZZZ"]
    bad = _bar("ZZ Z", "2018-01-02", 1, 2, 0.5, 1.5)
    bad.line = 999
    bars = _bars([*rows, bad])
    outcome = quality.evaluate(bars, dataclasses.replace(CONTEXT, add_new=True))
    assert outcome.new_symbols == ["ZZZ"]
    found = [(f.rule, f.symbol) for f in outcome.findings if f.rule in ("new_symbol", "unknown_symbol")]
    assert found == [("unknown_symbol", "ZZ Z"), ("new_symbol", "ZZZ")]
    assert (outcome.rejected[: len(rows)] == -1).all()
    # without add_new (a provider run, --known-only) they are quarantined
    kept = quality.evaluate(bars, CONTEXT)
    assert kept.new_symbols == [] and (kept.rejected >= 0).all()
