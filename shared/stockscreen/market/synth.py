"""A synthetic whole market: thousands of securities over decades, in the demo files' formats.

The real demo data (505 S&P 500 members, five years) stays what ``make dev`` loads; this
generator exists for measuring the platform at market scale (``stockscreen demo synth``,
``tests/bench``). Everything is drawn from one seeded generator, so a seed gives the same
files byte for byte.

What the paths look like:
- prices follow a geometric Brownian motion with a market factor, a sector factor and an
  idiosyncratic part; the market switches between a calm and a turbulent regime (a two-state
  Markov chain: higher volatility, lower drift), and each security has rare jumps;
- opens gap from the previous close (overnight noise), highs and lows straddle open and close;
- volumes are log-normal around each security's own level and grow with the size of the move;
- listings and delistings: about a third of the securities list after the first session and
  about one in seven stops trading before the last one;
- splits: a security whose price runs above $400 splits 2:1 to 5:1 (raw bars are unadjusted,
  so the close drops and the volume jumps, as in a provider's file);
- a few warts, as real files have: trading halts (missing sessions), zero-volume days and a
  handful of bars whose high sits below the close (the pipeline's quality rules quarantine them).

Files (the demo's Kaggle layout, which ``stockscreen ingest csv`` and the pipeline read):
``bars.csv`` (``date,open,high,low,close,volume,Name``, by symbol then date),
``constituents.csv`` and ``fundamentals.csv`` (sector, industry, the 2018 file's ratio columns).
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from stockscreen.market.calendar import trading_days

F2 = NDArray[np.float64]

#: GICS sectors with a few sub-industries each (the labels the demo constituents use).
SECTORS: dict[str, tuple[str, ...]] = {
    "Communication Services": ("Interactive Media & Services", "Integrated Telecommunication Services"),
    "Consumer Discretionary": ("Internet & Direct Marketing Retail", "Restaurants", "Automobile Manufacturers"),
    "Consumer Staples": ("Packaged Foods & Meats", "Household Products", "Soft Drinks"),
    "Energy": ("Oil & Gas Exploration & Production", "Integrated Oil & Gas", "Oil & Gas Equipment & Services"),
    "Financials": ("Regional Banks", "Diversified Banks", "Asset Management & Custody Banks"),
    "Health Care": ("Biotechnology", "Health Care Equipment", "Pharmaceuticals"),
    "Industrials": ("Aerospace & Defense", "Industrial Machinery", "Railroads"),
    "Information Technology": ("Semiconductors", "Application Software", "IT Consulting & Other Services"),
    "Materials": ("Specialty Chemicals", "Gold", "Steel"),
    "Real Estate": ("Residential REITs", "Office REITs", "Industrial REITs"),
    "Utilities": ("Electric Utilities", "Multi-Utilities", "Water Utilities"),
}

BARS_FILE = "bars.csv"
CONSTITUENTS_FILE = "constituents.csv"
FUNDAMENTALS_FILE = "fundamentals.csv"
DEFAULT_END = dt.date(2024, 12, 31)


@dataclass
class SynthMarket:
    """Bars as ``(sessions, securities)`` arrays (NaN where a security has no bar), and profiles."""

    dates: NDArray[np.datetime64]
    symbols: list[str]
    open: F2
    high: F2
    low: F2
    close: F2
    volume: F2
    sector: list[str]
    industry: list[str]
    shares: F2
    member: NDArray[np.bool_]
    seed: int

    @property
    def bar_count(self) -> int:
        return int((~np.isnan(self.close)).sum())


def symbols(n: int) -> list[str]:
    """``n`` distinct tickers of 1 to 5 capital letters (short ones first, as on an exchange)."""
    out: list[str] = []
    for length in range(1, 6):
        for letters in itertools.product(string.ascii_uppercase, repeat=length):
            out.append("".join(letters))
            if len(out) == n:
                return out
    raise ValueError(f"at most {len(out)} synthetic symbols")


def sessions(years: int, end: dt.date = DEFAULT_END) -> NDArray[np.datetime64]:
    """The exchange's trading days over the ``years`` years ending on ``end``."""
    start = dt.date(end.year - years, end.month, end.day) + dt.timedelta(days=1)
    return np.array(list(trading_days(start, end)), dtype="datetime64[D]")


def generate(securities: int, years: int, seed: int = 7, end: dt.date = DEFAULT_END) -> SynthMarket:
    """The whole synthetic market in memory (about 40 bytes per security and session per array)."""
    if securities < 1 or years < 1:
        raise ValueError("at least one security and one year")
    rng = np.random.default_rng(seed)
    dates = sessions(years, end)
    t_n, s_n = len(dates), securities
    names = list(SECTORS)
    sector_of = rng.integers(0, len(names), s_n)
    industry = [SECTORS[names[k]][int(rng.integers(0, len(SECTORS[names[k]])))] for k in sector_of.tolist()]

    # the market's regime: calm (0) or turbulent (1), a two-state Markov chain
    regime = np.zeros(t_n, dtype=np.int8)
    switch = rng.random(t_n)
    for i in range(1, t_n):
        stay = 0.995 if regime[i - 1] == 0 else 0.97
        regime[i] = regime[i - 1] if switch[i] < stay else 1 - regime[i - 1]
    mkt_vol = np.where(regime == 1, 0.028, 0.009)
    mkt_drift = np.where(regime == 1, -0.0015, 0.0005)
    market = mkt_drift + mkt_vol * rng.standard_normal(t_n)
    sector_ret = 0.006 * rng.standard_normal((t_n, len(names)))

    beta = rng.normal(1.0, 0.3, s_n).clip(0.2, 2.2)
    idio_vol = rng.lognormal(np.log(0.016), 0.45, s_n).clip(0.005, 0.08)
    drift = rng.normal(0.0002, 0.0004, s_n)
    close = np.empty((t_n, s_n))
    start_price = rng.lognormal(np.log(35.0), 1.0, s_n).clip(1.0, 900.0)
    # returns one block of sessions at a time (bounded temporaries at 10,000 x 20 years)
    level = np.log(start_price)
    for a in range(0, t_n, 256):
        b = min(a + 256, t_n)
        k = b - a
        ret = (
            drift
            + beta * market[a:b, None]
            + sector_ret[a:b][:, sector_of]
            + idio_vol * rng.standard_normal((k, s_n)) * (1.0 + regime[a:b, None])
        )
        jumps = rng.random((k, s_n)) < 0.002
        ret += np.where(jumps, rng.normal(-0.02, 0.12, (k, s_n)), 0.0)
        path = level + np.cumsum(ret, axis=0)
        close[a:b] = np.exp(path)
        level = path[-1]
    # splits: a price run above $400 splits, later prices are divided (unadjusted raw bars)
    factor = np.ones((t_n, s_n))
    ratio_choices = np.array([2.0, 3.0, 4.0, 5.0])
    hot = np.flatnonzero((close > 400).any(axis=0))
    for s in hot.tolist():
        div = 1.0
        col = close[:, s]
        i = 0
        while True:
            over = np.flatnonzero(col[i:] / div > 400)
            if not len(over):
                break
            i += int(over[0])
            div *= float(rng.choice(ratio_choices))
            factor[i:, s] = div
            i += 1
    close /= factor

    gap = 0.004 * rng.standard_normal((t_n, s_n))
    prev = np.vstack([close[:1], close[:-1] * factor[:-1] / factor[1:].clip(1e-12)])
    open_ = prev * np.exp(gap)
    spread = np.abs(rng.standard_normal((t_n, s_n))) * idio_vol * 0.6
    high = np.maximum(open_, close) * np.exp(spread * rng.random((t_n, s_n)))
    low = np.minimum(open_, close) * np.exp(-spread * rng.random((t_n, s_n)))
    del gap, spread, prev

    base_volume = rng.lognormal(np.log(800_000), 1.2, s_n).clip(5_000, 2e8)
    move = np.abs(np.log(close / open_))
    volume = np.floor(base_volume * factor * rng.lognormal(0.0, 0.35, (t_n, s_n)) * (1.0 + 20.0 * move))
    del factor, move

    # listings and delistings: a third list late, one in seven stops before the end
    first = np.where(rng.random(s_n) < 0.33, rng.integers(0, t_n, s_n), 0)
    last = np.where(rng.random(s_n) < 0.14, rng.integers(0, t_n, s_n), t_n - 1)
    last = np.maximum(last, np.minimum(first + 30, t_n - 1))
    rows = np.arange(t_n)[:, None]
    absent = (rows < first) | (rows > last)
    # warts: trading halts, zero-volume days, highs below the close
    absent |= rng.random((t_n, s_n)) < 0.0008
    for arr in (open_, high, low, close, volume):
        arr[absent] = np.nan
    volume[(rng.random((t_n, s_n)) < 0.0005) & ~absent] = 0.0
    bad = np.flatnonzero(~absent.ravel() & (rng.random(t_n * s_n) < 2e-6))
    high.ravel()[bad] = close.ravel()[bad] * 0.97
    for arr in (open_, high, low, close):
        np.maximum(arr, 0.01, out=arr)  # a penny floor: no zero or negative prices
        np.round(arr, 2, out=arr)
    ok = ~absent
    ok.ravel()[bad] = False
    high[ok] = np.maximum(high, np.maximum(open_, close))[ok]
    low[ok] = np.minimum(low, np.minimum(open_, close))[ok]

    last_close = np.array([close[last[s], s] for s in range(s_n)])
    shares = rng.lognormal(np.log(60e6), 1.3, s_n).clip(1e6, 2e10)
    cap = np.nan_to_num(last_close) * shares
    member = np.zeros(s_n, dtype=bool)
    listed_now = last == t_n - 1
    member[np.argsort(-np.where(listed_now, cap, -1.0))[: min(500, s_n)]] = True
    member &= listed_now
    return SynthMarket(
        dates,
        symbols(s_n),
        open_,
        high,
        low,
        close,
        volume,
        [names[k] for k in sector_of.tolist()],
        industry,
        shares,
        member,
        seed,
    )


def bar_lines(m: SynthMarket) -> Iterator[str]:
    """The bars file's lines (without the header), by symbol then date."""
    days = [str(d) for d in m.dates.tolist()]
    for s, sym in enumerate(m.symbols):
        c = m.close[:, s]
        idx = np.flatnonzero(~np.isnan(c))
        o, h, lo, v = m.open[idx, s].tolist(), m.high[idx, s].tolist(), m.low[idx, s].tolist(), m.volume[idx, s]
        vs = v.astype(np.int64).tolist()
        cs = c[idx].tolist()
        rows = enumerate(idx.tolist())
        yield "".join(f"{days[i]},{o[k]:.2f},{h[k]:.2f},{lo[k]:.2f},{cs[k]:.2f},{vs[k]},{sym}\n" for k, i in rows)


def write(m: SynthMarket, out: Path) -> list[Path]:
    """The three files into ``out`` (created); returns their paths, reference files first."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(m.seed + 1)
    cons, funds, bars = out / CONSTITUENTS_FILE, out / FUNDAMENTALS_FILE, out / BARS_FILE
    first_day = m.dates[0].astype(dt.date)
    with cons.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "Ticker symbol",
                "Security",
                "GICS Sector",
                "GICS Sub Industry",
                "Address of Headquarters",
                "Date first added",
                "CIK",
            ]
        )
        for s, sym in enumerate(m.symbols):
            listed = np.flatnonzero(~np.isnan(m.close[:, s]))
            added = str(m.dates[listed[0]]) if len(listed) and m.dates[listed[0]] > first_day else ""
            w.writerow(
                [
                    sym,
                    f"{sym} Synthetic Inc.",
                    m.sector[s],
                    m.industry[s],
                    "New York, New York",
                    added if m.member[s] else "",
                    str(1_000_000 + s) if m.member[s] else "",
                ]
            )
    with funds.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "Symbol",
                "Name",
                "Sector",
                "Price",
                "Price/Earnings",
                "Dividend Yield",
                "Earnings/Share",
                "52 Week Low",
                "52 Week High",
                "Market Cap",
                "EBITDA",
                "Price/Sales",
                "Price/Book",
                "SEC Filings",
            ]
        )
        for s, sym in enumerate(m.symbols):
            c = m.close[:, s]
            listed = np.flatnonzero(~np.isnan(c))
            if not len(listed):
                continue
            price = float(c[listed[-1]])
            year = c[listed[-252:]]
            pe = float(rng.lognormal(np.log(18.0), 0.6))
            profitable = rng.random() > 0.2
            eps = price / pe if profitable else -float(rng.lognormal(0.0, 0.8))
            cap = price * float(m.shares[s])
            sales = cap / float(rng.lognormal(np.log(2.5), 0.8))
            dividend = float(rng.lognormal(np.log(2.0), 0.6)) if rng.random() < 0.55 else 0.0
            w.writerow(
                [
                    sym,
                    f"{sym} Synthetic Inc.",
                    m.sector[s],
                    f"{price:.2f}",
                    f"{pe:.2f}" if profitable else "",
                    f"{dividend:.4f}",
                    f"{eps:.2f}",
                    f"{np.nanmin(year):.2f}",
                    f"{np.nanmax(year):.2f}",
                    f"{cap:.0f}",
                    f"{sales * float(rng.uniform(0.05, 0.35)):.0f}",
                    f"{cap / sales:.4f}",
                    f"{float(rng.lognormal(np.log(3.0), 0.7)):.2f}",
                    "",
                ]
            )
    with bars.open("w") as fh:
        fh.write("date,open,high,low,close,volume,Name\n")
        for block in bar_lines(m):
            fh.write(block)
    return [cons, funds, bars]
