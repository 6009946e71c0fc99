"""Cross-check the NumPy engine against an independent pandas evaluation, on real data.

Two universes: the 8-symbol sample loaded through the real pipeline into PostgreSQL (the
engine reads it back from the database; the reference reads ``daily_bars`` with pandas), and
all 505 demo symbols computed in memory from data/demo. For hundreds of generated screens on
random dates, the matched symbol sets must be equal. The engine's latest values must also
equal the pipeline's snapshot (computed per security with ``stockscreen.market.indicators``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from devstack.stepfunctions import IngestStateMachine
from stockscreen.screening.engine import ScreenRequest, run
from stockscreen.screening.fields import BY_ID, FLAG_FIELDS, METRIC_FIELDS, SNAPSHOT_FIELDS
from stockscreen.screening.history import COMPUTED
from stockscreen.screening.universe import Universe, from_csv, get_universe, reset_cache
from tests.conftest import FIXTURES, truncate_all

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
SAMPLE = [
    str(FIXTURES / n) for n in ("constituents-sample.csv", "fundamentals-sample-2018-02-08.csv", "bars-sample.csv.gz")
]

Mask = Callable[[pd.Timestamp], pd.Series]


class Reference:
    """A straightforward pandas implementation of the same semantics (own-session indicators,
    market-calendar offsets and windows, values carried over days without a bar)."""

    def __init__(self, long: pd.DataFrame, sectors: dict[str, str]) -> None:
        long = long.sort_values(["symbol", "date"])
        g = long.groupby("symbol", group_keys=False)
        m = pd.DataFrame({"symbol": long["symbol"], "date": long["date"]})
        for col in ("open", "high", "low", "close", "volume"):
            m[col] = long[col]
        for n in (20, 50, 200):
            m[f"sma{n}"] = g["close"].transform(lambda s, n=n: s.rolling(n).mean())
        m["change_pct"] = g["close"].transform(lambda s: (s / s.shift(1) - 1) * 100)
        m["perf_1m"] = g["close"].transform(lambda s: (s / s.shift(21) - 1) * 100)
        m["high_52w"] = g["high"].transform(lambda s: s.rolling(252).max())
        m["avg_volume_50"] = g["volume"].transform(lambda s: s.rolling(50).mean())
        self.wide = {
            c: m.pivot(index="date", columns="symbol", values=c).sort_index().ffill()
            for c in m.columns
            if c not in ("symbol", "date")
        }
        self.symbols = list(self.wide["close"].columns)
        self.sectors = pd.Series({s: sectors.get(s) for s in self.symbols})
        self.dates = list(self.wide["close"].index)

    def f(self, name: str) -> pd.DataFrame:
        return self.wide[name]


def _clause(ref: Reference, rng: random.Random, day: pd.Timestamp) -> tuple[str, pd.DataFrame]:
    """A random clause as text and as a (dates x symbols) boolean frame."""
    W = ref.f
    fields = ["close", "volume", "sma20", "sma50", "sma200", "change_pct", "perf_1m", "high_52w", "avg_volume_50"]
    kind = rng.choice(["num", "num", "field", "offset", "avgvol", "breakout", "within", "for", "cross", "sector"])
    if kind == "num":
        name = rng.choice(fields)
        row = np.unique(W(name).loc[day].dropna().to_numpy())
        # halfway between two observed values: float noise in the last digit cannot flip a match
        k = rng.randrange(len(row) - 1) if len(row) > 1 else 0
        thr = float((row[k] + row[k + 1]) / 2) if len(row) > 1 else 0.0
        op = rng.choice([">", "<", ">=", "<="])
        return f"{name} {op} {thr!r}", _op(W(name), op, thr)
    if kind == "field":
        a, b = rng.sample(["close", "sma20", "sma50", "sma200", "high_52w"], 2)
        return f"{a} > {b}", W(a) > W(b)
    if kind == "offset":
        k = rng.randint(1, 30)
        return f"close > close[-{k}]", W("close") > W("close").shift(k)
    if kind == "avgvol":
        mult, n = rng.choice([0.5, 1, 1.5, 2]), rng.choice([5, 20, 50])
        return f"volume > {mult!r} * avg(volume, {n})", W("volume") > mult * W("volume").rolling(n).mean()
    if kind == "breakout":
        n = rng.choice([10, 50, 252])
        return f"close > max(high, {n})[-1]", W("close") > W("high").rolling(n).max().shift(1)
    if kind in ("within", "for"):
        k = rng.randint(2, 15)
        base = (W("close") > W("sma50")).astype(float)
        base[W("sma50").isna()] = 0.0
        hits = base.rolling(k).sum()
        out = hits > 0 if kind == "within" else hits >= k
        return f"close > sma50 {kind} {k} days", out
    if kind == "cross":
        k = rng.randint(1, 40)
        a, b = W("sma20"), W("sma50")
        cross = ((a > b) & (a.shift(1) <= b.shift(1))).astype(float).rolling(k).sum() > 0
        return f"sma20 crosses_above sma50 within {k} days", cross
    secs = sorted({s for s in ref.sectors.dropna()})
    pick = rng.sample(secs, min(len(secs), rng.randint(1, 3)))
    listed = ", ".join(f'"{s}"' for s in pick)
    frame = pd.DataFrame({s: [ref.sectors[s] in pick] * len(ref.dates) for s in ref.symbols}, index=ref.dates)
    return f"sector in ({listed})", frame


def _op(x: pd.DataFrame, op: str, thr: float) -> pd.DataFrame:
    return {">": x > thr, "<": x < thr, ">=": x >= thr, "<=": x <= thr}[op]


def _screen(ref: Reference, rng: random.Random, day: pd.Timestamp) -> tuple[str, pd.Series]:
    n = rng.randint(1, 3)
    parts = [_clause(ref, rng, day) for _ in range(n)]
    texts = [t for t, _ in parts]
    masks = [m.loc[day].fillna(False).astype(bool) for _, m in parts]
    if n > 1 and rng.random() < 0.3:
        query = " or ".join(f"({t})" for t in texts)
        mask = masks[0]
        for m in masks[1:]:
            mask = mask | m
    else:
        query = " and ".join(texts)
        mask = masks[0]
        for m in masks[1:]:
            mask = mask & m
    if rng.random() < 0.2:
        query = f"not ({query})"
        mask = ~mask
    return query, mask


def _crosscheck(u: Universe, ref: Reference, n_screens: int, seed: int) -> int:
    rng = random.Random(seed)
    candidates = ref.dates[260:]
    checked = 0
    for _ in range(n_screens):
        day = rng.choice(candidates)
        query, mask = _screen(ref, rng, day)
        expected = sorted(mask[mask].index)
        got: list[str] = []
        for offset in (0, 500):
            res = run(
                u, ScreenRequest(query=query, as_of=day.date(), limit=500, offset=offset, sort="symbol", order="asc")
            )
            got += [r["symbol"] for r in res.data]
        assert res.count == len(expected) and got == expected, (day.date(), query)
        checked += len(expected) > 0
    return checked


@pytest.fixture(scope="module")
def db_universe(stack_env: dict[str, str]) -> tuple[Universe, Reference]:
    truncate_all(stack_env["DATABASE_URL"])
    reset_cache()
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": SAMPLE}})
    assert result["status"] == "SUCCEEDED", result
    engine = create_engine(stack_env["DATABASE_URL"])
    with engine.connect() as conn:
        long = pd.read_sql(
            text(
                "SELECT s.symbol, b.date, b.open, b.high, b.low, b.close, b.volume::float8 AS volume "
                "FROM daily_bars b JOIN securities s ON s.id = b.security_id"
            ),
            conn,
        )
        sectors = dict(conn.execute(text("SELECT symbol, sector FROM securities")).all())
    long["date"] = pd.to_datetime(long["date"])
    u = get_universe(engine)
    engine.dispose()
    return u, Reference(long, sectors)


def test_engine_latest_values_equal_the_pipeline_snapshot(stack_env: dict[str, str], db_universe: tuple) -> None:
    u, _ = db_universe
    engine = create_engine(stack_env["DATABASE_URL"])
    with engine.connect() as conn:
        rows = {
            r["symbol"]: dict(r)
            for r in conn.execute(
                text(
                    "SELECT s.symbol, r.* FROM snapshot_rows r JOIN snapshot_versions v "
                    "ON v.version = r.version AND v.is_current JOIN securities s ON s.id = r.security_id"
                )
            ).mappings()
        }
    engine.dispose()
    t = len(u.trading_dates) - 1
    compared: dict[str, int] = {}
    for name in sorted(COMPUTED):  # every metric and flag, as the engine holds its history
        values = u.numeric(name)[:, t]
        for i, sym in enumerate(u.symbols.tolist()):
            want = rows[sym][name]
            got = float(values[i])
            if want is None:
                assert math.isnan(got), (name, sym, got)
            else:
                assert got == pytest.approx(float(want), rel=1e-9, abs=1e-9), (name, sym, got, want)
                compared[name] = compared.get(name, 0) + 1
    assert set(COMPUTED) == set(METRIC_FIELDS) | set(FLAG_FIELDS)
    assert set(compared) == set(COMPUTED)  # every field has values to compare, not only NULLs
    assert sum(compared.values()) > 7 * len(COMPUTED)
    # and every snapshot column through the engine's result rows (numbers, flags, labels)
    res = run(u, ScreenRequest(columns=list(SNAPSHOT_FIELDS), limit=500, sort="symbol", order="asc"))
    assert len(res.data) == 8
    for r in res.data:
        for name in SNAPSHOT_FIELDS:
            want, got = rows[r["symbol"]][name], r[name]
            if isinstance(want, float) and got is not None:
                whole = BY_ID[name].unit == "shares"  # the API gives whole shares
                assert got == pytest.approx(want, rel=1e-9, abs=0.5 if whole else 1e-9), (name, r["symbol"])
            else:
                assert got == want and type(got) is type(want), (name, r["symbol"], got, want)


def test_generated_screens_match_pandas_on_the_pipeline_sample(db_universe: tuple) -> None:
    u, ref = db_universe
    assert _crosscheck(u, ref, n_screens=300, seed=7) > 100


def test_generated_screens_match_pandas_on_all_505_demo_symbols() -> None:
    u = from_csv(
        str(DEMO / "sp500-daily-2013-2018.csv.gz"),
        str(DEMO / "sp500-constituents-2018-01-19.csv"),
        None,
    )
    long = pd.read_csv(DEMO / "sp500-daily-2013-2018.csv.gz").rename(columns={"Name": "symbol"})
    long = long.dropna(subset=["open", "high", "low", "close", "volume"])
    long["date"] = pd.to_datetime(long["date"])
    cons = pd.read_csv(DEMO / "sp500-constituents-2018-01-19.csv")
    ref = Reference(long, dict(zip(cons["Ticker symbol"], cons["GICS Sector"], strict=True)))
    assert u.n == 505
    assert _crosscheck(u, ref, n_screens=120, seed=11) > 60
