"""The adjusted close: read by every bars format that carries it, typed, checked, and used by the
total-return fields only (the price fields stay on the raw close)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from stockscreen.market import measures as mt
from stockscreen.market.calendar import trading_days
from stockscreen.pipeline import quality
from stockscreen.pipeline.columns import (
    ADJ_CLOSE,
    EPOCH,
    OK,
    concat,
    concat_raw,
    from_rows,
    pack,
    read_bars,
    take,
    type_bars,
    unpack,
)
from stockscreen.pipeline.load import usable_adj
from stockscreen.pipeline.staging import member_spec, members, read_bar_files
from stockscreen.screening.fields import BY_ID, TOTAL_RETURN_NOTE
from tests.conftest import FIXTURES

FORMATS = FIXTURES / "formats"


def _typed(path: Path):  # type: ignore[no-untyped-def]
    files = [(member_spec(m), m) for m in members(path)]
    return type_bars(read_bar_files(files))


def _adj_of_text(path: Path, column: str) -> dict[tuple[str, str], float]:
    """(symbol, date) -> the adjusted close as the fixture's text says (per-symbol files: the name's symbol)."""
    out: dict[tuple[str, str], float] = {}
    for p in sorted(path.iterdir()) if path.is_dir() else [path]:
        header, *rows = p.read_text().splitlines()
        names = header.split(",")
        for row in rows:
            v = dict(zip(names, row.split(","), strict=True))
            symbol = v.get("Ticker") or p.stem.upper()
            out[(symbol, v.get("Date") or v["timestamp"])] = float(v[column])
    return out


def _as_read(bars) -> dict[tuple[str, str], float]:  # type: ignore[no-untyped-def]
    return {
        (bars.symbols[s], (EPOCH + dt.timedelta(days=int(d))).isoformat()): float(a)
        for s, d, a in zip(bars.symbol, bars.day, bars.values[ADJ_CLOSE], strict=True)
    }


@pytest.mark.parametrize(
    ("path", "text", "column"),
    [
        ("yahoo.zip", "yahoo", "Adj Close"),  # per-symbol files of one header, read as one text
        ("yahoo", "yahoo", "Adj Close"),  # a folder of them
        ("yahoo/AAPL.csv", "yahoo/AAPL.csv", "Adj Close"),  # one file
        ("bars-many.csv", "bars-many.csv", "adj_close"),  # many symbols, another spelling and order
        ("bars-many.csv.gz", "bars-many.csv", "adj_close"),  # gzipped (inflated piece by piece)
    ],
)
def test_each_format_with_an_adjusted_close_carries_it(path: str, text: str, column: str) -> None:
    bars = _typed(FORMATS / path)
    assert (bars.error == OK).all()
    assert ADJ_CLOSE in bars.values
    assert _as_read(bars) == _adj_of_text(FORMATS / text, column)
    # the raw close is the close: the adjusted one is a value of its own
    assert not np.array_equal(bars.values["close"], bars.values[ADJ_CLOSE])


def test_a_format_without_it_has_none_and_a_mix_leaves_the_others_empty() -> None:
    stooq = _typed(FORMATS / "stooq.zip")
    assert ADJ_CLOSE not in stooq.values  # (nothing extra staged for files without the column)
    files = [(member_spec(m), m) for p in ("stooq/aapl.us.txt", "yahoo/MSFT.csv") for m in members(FORMATS / p)]
    mixed = type_bars(read_bar_files(files))
    adj = mixed.values[ADJ_CLOSE]
    aapl, msft = mixed.symbol == mixed.symbols.index("AAPL"), mixed.symbol == mixed.symbols.index("MSFT")
    assert np.isnan(adj[aapl]).all() and not np.isnan(adj[msft]).any()
    assert (mixed.error == OK).all()


def test_the_careful_reader_gives_the_same_adjusted_closes(tmp_path: Path) -> None:
    plain = (FORMATS / "yahoo" / "AAPL.csv").read_text()
    quoted = tmp_path / "AAPL.csv"  # a quote: not vouched for by the fast reader, read row by row
    quoted.write_text(plain.replace("Adj Close", '"Adj Close"', 1))
    (fast,) = members(FORMATS / "yahoo" / "AAPL.csv")
    (slow,) = members(quoted)
    a = type_bars(read_bars(member_spec(fast), fast.data))
    b = type_bars(read_bars(member_spec(slow), slow.data))
    assert np.array_equal(a.values[ADJ_CLOSE], b.values[ADJ_CLOSE])


def _rows(*rows: tuple[str, ...], origin: str = "p.csv") -> list[tuple[str, int, tuple[str, ...]]]:
    return [(origin, line, row) for line, row in enumerate(rows, 2)]


def test_unreadable_and_missing_adjusted_closes(tmp_path: Path) -> None:
    p = tmp_path / "AAA.csv"
    p.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2018-01-02,1,2,0.5,1.5,1.4,100\n"
        "2018-01-03,1,2,0.5,1.5,n/a?,100\n"  # not a number
        "2018-01-04,1,2,0.5,1.5,,100\n"  # none: NULL, no finding
        "2018-01-05,1,2,0.5,1.5,null,100\n"  # Yahoo's missing value
        "2018-01-08,1,2,0.5,1.5,inf,100\n"  # not finite
    )
    bars = _typed(p)
    assert bars.error.tolist() == [OK] * 5  # the bars themselves are good
    adj = bars.values[ADJ_CLOSE]
    assert adj[0] == 1.4 and np.isnan(adj[1:]).all()
    assert sorted(bars.raw) == [1, 4]  # the rows as read, for the findings
    assert bars.raw[1] == "AAA,2018-01-03,1,2,0.5,1.5,100,n/a?"
    # staged and read back, joined and cut: the adjusted close goes along
    back, _ = unpack(pack(bars))
    assert np.array_equal(back.values[ADJ_CLOSE], adj, equal_nan=True) and back.raw == bars.raw
    plain = type_bars(from_rows(_rows(("BBB", "2018-01-02", "1", "2", "0.5", "1.5", "100"))))
    joined = concat([plain, bars])
    assert joined.values[ADJ_CLOSE][1] == 1.4 and np.isnan(joined.values[ADJ_CLOSE]).sum() == 5
    assert take(bars, np.array([4, 0])).values[ADJ_CLOSE][1] == 1.4
    assert concat_raw([from_rows(_rows(("BBB", "2018-01-02", "1", "2", "0.5", "1.5", "100")))]).text.keys() == {
        "symbol",
        "date",
        "open",
        "high",
        "low",
        "close",
        "volume",
    }


CTX = quality.Context(today=dt.date(2018, 3, 1), known_symbols=frozenset({"AAA", "SPL", "DIV", "BAD"}))


def _series(symbol: str, closes: list[float], adjs: list[str]) -> list[tuple[str, ...]]:
    days = list(trading_days(dt.date(2018, 1, 2), dt.date(2018, 2, 28)))
    return [
        (symbol, d.isoformat(), str(c), str(c * 1.01), str(c * 0.99), str(c), "100", a)
        for d, c, a in zip(days, closes, adjs, strict=False)
    ]


def test_quality_findings_of_adjusted_closes() -> None:
    rows = [
        *_series("AAA", [10, 10, 10, 10], ["9.8", "x", "-1", "9.8"]),  # unreadable, not positive
        *_series("SPL", [100, 102, 51, 52], ["50", "51", "51", "52"]),  # a 2:1 split in the raw close: explained
        *_series("DIV", [50, 50, 50, 50], ["48", "48", "49", "49"]),  # a dividend-sized step: fine
        *_series("BAD", [20, 20.2, 20.1, 20.3], ["19", "19.2", "28", "19.3"]),  # the adjusted close jumps alone
    ]
    bars = type_bars(from_rows(_rows(*rows, origin="prices.csv")))
    outcome = quality.evaluate(bars, CTX)
    assert (outcome.rejected == -1).all()  # reported, never quarantined
    found = [(f.rule, f.symbol, f.date, f.message) for f in outcome.findings if "adj" in f.rule]
    assert [(r, s, d) for r, s, d, _ in found] == [
        ("bad_adj_close", "AAA", dt.date(2018, 1, 3)),
        ("bad_adj_close", "AAA", dt.date(2018, 1, 4)),
        ("adj_close_jump", "BAD", dt.date(2018, 1, 4)),
        ("adj_close_jump", "BAD", dt.date(2018, 1, 5)),
    ]
    assert found[0][3] == "adjusted close 'x' in prices.csv:3 is not a finite number: loaded without it"
    assert found[1][3] == "adjusted close -1 <= 0 in prices.csv:4: loaded without it"
    assert "in prices.csv:16" in found[2][3] and "the adjusted close is suspect" in found[2][3]
    rule = next(r for r in quality.RULES if r.name == "adj_close_jump")
    assert quality.action(rule) == "loaded" and rule.severity == "warning"
    # what is loaded: positive, finite adjusted closes only
    assert usable_adj(np.array([1.5, -1.0, 0.0, np.nan, np.inf])).tolist()[:1] == [1.5]
    assert np.isnan(usable_adj(np.array([-1.0, 0.0, np.nan, np.inf]))).all()


def _panel(closes: list[float], adjs: list[float] | None, start: str = "2017-12-01") -> mt.Panel:
    days = np.array(list(trading_days(dt.date.fromisoformat(start), dt.date(2018, 12, 31)))[: len(closes)])
    c = np.array(closes)
    cols = [c, c * 1.01, c * 0.99, c, np.full(len(c), 100.0)]
    if adjs is not None:
        cols.append(np.array(adjs))
    return mt.panel_from_flat(np.zeros(len(c), np.int64), days.astype("datetime64[D]"), np.column_stack(cols))


def test_total_return_fields_read_the_adjusted_close_and_fall_back_to_the_price_return() -> None:
    closes = [100.0 + k for k in range(30)]
    adjs = [c * (0.95 if k < 20 else 1.0) for k, c in enumerate(closes)]  # an ex-dividend day at row 20
    m = mt.compute(_panel(closes, adjs))
    t = 29
    assert m["perf_tr_1w"][t, 0] == pytest.approx((adjs[t] / adjs[t - 5] - 1) * 100)
    assert m["perf_tr_1m"][t, 0] == pytest.approx((adjs[t] / adjs[t - 21] - 1) * 100)
    assert m["perf_1m"][t, 0] == pytest.approx((closes[t] / closes[t - 21] - 1) * 100)  # raw: unchanged
    assert m["perf_tr_1m"][t, 0] > m["perf_1m"][t, 0]
    # YTD: from the adjusted close of the previous year's last bar (2017-12-29, row 19)
    dec29 = 19
    assert m["perf_tr_ytd"][t, 0] == pytest.approx((adjs[t] / adjs[dec29] - 1) * 100)
    assert m["perf_ytd"][t, 0] == pytest.approx((closes[t] / closes[dec29] - 1) * 100)
    # every other metric is of the raw prices, the same with or without adjusted closes
    plain = mt.compute(_panel(closes, None))
    for k in plain:
        if not k.startswith("perf_tr_"):
            assert np.array_equal(m[k], plain[k], equal_nan=True), k
        else:  # without adjusted closes: the price return
            assert np.array_equal(plain[k], plain[k.replace("perf_tr_", "perf_")], equal_nan=True), k
    # an adjusted close missing at either end of the period: that period's price return
    holes = [a if k != t - 5 else float("nan") for k, a in enumerate(adjs)]
    m = mt.compute(_panel(closes, holes))
    assert m["perf_tr_1w"][t, 0] == pytest.approx((closes[t] / closes[t - 5] - 1) * 100)
    assert m["perf_tr_1m"][t, 0] == pytest.approx((adjs[t] / adjs[t - 21] - 1) * 100)
    # weekly bars: the adjusted close of a week is its last one, as the close
    weekly = mt.resample(_panel(closes, adjs), "W")
    assert weekly.adj_close is not None and weekly.adj_close[-1, 0] == adjs[t]


def test_the_catalogue_says_what_reads_the_adjusted_close() -> None:
    for key in ("1w", "1m", "3m", "6m", "1y", "ytd"):
        tr, price = BY_ID[f"perf_tr_{key}"], BY_ID[f"perf_{key}"]
        assert tr.description.endswith(TOTAL_RETURN_NOTE) and tr.unit == price.unit == "pct"
        assert tr.description.startswith("Total return") and price.description.startswith("Price return")
        assert tr.roles == price.roles


def test_the_artifact_maps_the_adjusted_closes_only_when_there_are_some(tmp_path: Path) -> None:
    from stockscreen.screening import artifact
    from stockscreen.screening.universe import from_bars

    bars = [("AAA", dt.date(2018, 1, d), 1.0, 2.0, 0.5, 1.5 + d, 100.0) for d in (2, 3, 4)]
    u = from_bars(bars, {}, {})
    artifact.write(u, tmp_path / "plain")
    plain = artifact.read(artifact.local_fetch(tmp_path / "plain"))
    assert plain.daily.a is None and not (tmp_path / "plain" / "bar_a.npy").exists()
    u.daily.a = np.array([[np.nan, 3.4, 5.4]])
    artifact.write(u, tmp_path / "adjusted")
    mapped = artifact.read(artifact.local_fetch(tmp_path / "adjusted"))
    assert isinstance(mapped.daily, artifact.MappedFrame)
    np.testing.assert_array_equal(np.asarray(mapped.daily.a), u.daily.a)
    assert mapped.numeric("perf_tr_1w").shape == (1, 3)


def test_artifact_segments_keep_a_field_within_their_byte_budget() -> None:
    """128 sessions (10 MB a field) at 10,000 securities; the S&P 500 in one segment of 4,096."""
    from stockscreen.screening import artifact

    assert artifact.segment_dates_for(10_000) == 128
    assert artifact.segment_dates_for(5_000) == 256
    assert artifact.segment_dates_for(505) == 4096
    assert artifact.segment_dates_for(0) == artifact.segment_dates_for(1) == 4096
    assert artifact.segment_dates_for(1_000_000) == 128
    for n in (1, 505, 3_000, 10_000, 20_000):
        size = artifact.segment_dates_for(n)
        assert size & (size - 1) == 0
        assert size == artifact.SEGMENT_MIN or size * n * 8 <= artifact.SEGMENT_BYTES
