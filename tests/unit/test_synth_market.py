"""The synthetic market generator: seeded, realistic enough, and in the formats the pipeline reads."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pytest

from devstack.cli import main
from stockscreen.market import synth
from stockscreen.market.calendar import is_trading_day
from stockscreen.market.providers import detect_kind, iter_bars


@pytest.fixture(scope="module")
def market() -> synth.SynthMarket:
    return synth.generate(300, 4, seed=11)


def test_same_seed_same_market_other_seed_other(market: synth.SynthMarket) -> None:
    again = synth.generate(300, 4, seed=11)
    np.testing.assert_array_equal(again.close, market.close)
    np.testing.assert_array_equal(again.volume, market.volume)
    other = synth.generate(300, 4, seed=12)
    assert not np.array_equal(np.nan_to_num(other.close), np.nan_to_num(market.close))


def test_sessions_are_trading_days(market: synth.SynthMarket) -> None:
    days = market.dates.astype(dt.date).tolist()
    assert all(is_trading_day(d) for d in days)
    assert 4 * 248 <= len(days) <= 4 * 254
    assert days[-1] == synth.DEFAULT_END  # 2024-12-31, a Tuesday, trades
    assert len(set(market.symbols)) == 300 and all(s.isalpha() and s.isupper() for s in market.symbols)


def test_listings_delistings_splits_and_warts(market: synth.SynthMarket) -> None:
    has = ~np.isnan(market.close)
    first = has.argmax(axis=0)
    last = len(market.dates) - 1 - has[::-1].argmax(axis=0)
    assert (first > 0).sum() > 50  # listed after the first session
    assert (last < len(market.dates) - 1).sum() > 15  # stopped trading before the last one
    # halts: sessions without a bar between a security's first and last bar
    inside = (np.arange(len(market.dates))[:, None] >= first) & (np.arange(len(market.dates))[:, None] <= last)
    assert (inside & ~has).sum() > 0
    assert (market.volume[has] == 0).sum() > 0
    # splits: an overnight drop of half or more on a volume jump, in unadjusted bars
    ratio = market.close[1:] / market.close[:-1]
    assert np.nanmin(ratio) < 0.55
    assert np.nanmax(market.close) <= 400.01  # every run above $400 split
    # prices in cents, a penny floor, highs and lows straddling (the few wart bars apart)
    ok = has.copy()
    assert np.all(market.low[ok] >= 0.01)
    above = market.high[ok] >= np.maximum(market.open[ok], market.close[ok]) - 1e-9
    assert above.mean() > 0.9999
    assert np.all(market.low[ok] <= np.minimum(market.open[ok], market.close[ok]) + 1e-9)
    assert len(set(market.sector)) == len(synth.SECTORS)
    assert 0 < market.member.sum() <= 300


def test_cli_writes_files_the_pipeline_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m"
    assert main(["demo", "synth", "--securities", "40", "--years", "2", "--out", str(out), "--seed", "5"]) == 0
    captured = capsys.readouterr()
    printed = captured.err  # status on stderr; stdout lists the files written
    assert "bars of 40 securities" in printed
    assert [Path(line).name for line in captured.out.splitlines()] == [
        synth.CONSTITUENTS_FILE,
        synth.FUNDAMENTALS_FILE,
        synth.BARS_FILE,
    ]
    bars, cons, funds = out / synth.BARS_FILE, out / synth.CONSTITUENTS_FILE, out / synth.FUNDAMENTALS_FILE
    assert (detect_kind(bars), detect_kind(cons), detect_kind(funds)) == ("bars", "constituents", "fundamentals")
    rows = [r for _, r in iter_bars(bars)]
    assert len(rows) == int(printed.split()[0])
    sym, day, *values = rows[0]
    assert sym == "A" and dt.date.fromisoformat(day) and all(float(v) >= 0 for v in values)
    digest = hashlib.sha256(bars.read_bytes()).hexdigest()
    again = tmp_path / "again"
    assert main(["demo", "synth", "--securities", "40", "--years", "2", "--out", str(again), "--seed", "5"]) == 0
    assert hashlib.sha256((again / synth.BARS_FILE).read_bytes()).hexdigest() == digest


def test_cli_refuses_bad_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "synth", "--securities", "0", "--out", str(tmp_path)]) == 2
    assert "--securities" in capsys.readouterr().err
