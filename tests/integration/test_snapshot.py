"""The screening snapshot on real PostgreSQL, after the sample is loaded by the real state machine:
catalogue columns, values against TA-Lib on the stored bars, incremental == full,
atomic publication under concurrent readers and builders, and point-in-time as_of."""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import talib
from chalice.test import Client
from sqlalchemy import Connection, Engine, create_engine, text

from devstack.lambdas import load_api
from devstack.stepfunctions import IngestStateMachine
from stockscreen.core.errors import NotFound
from stockscreen.db.engine import normalise_url
from stockscreen.pipeline import snapshot
from stockscreen.screening.fields import BY_ID, FIELDS, SNAPSHOT_FIELDS
from tests.conftest import FIXTURES, truncate_all

SAMPLE = [
    str(FIXTURES / n) for n in ("constituents-sample.csv", "fundamentals-sample-2018-02-08.csv", "bars-sample.csv.gz")
]


def security_history(conn: Connection, symbol: str, until: dt.date | None = None) -> dict[str, Any]:
    """One security's dates and every metric for each, from the history the snapshot is built from."""
    sid = conn.execute(text("SELECT id FROM securities WHERE symbol = :s"), {"s": symbol.upper()}).scalar()
    if sid is None:
        raise NotFound(f"unknown symbol {symbol!r}")
    hist = snapshot.load_history(conn, until=until)
    where = np.flatnonzero(hist.panel.security_ids == int(sid))
    if len(where) == 0:
        raise NotFound(f"no bars for {symbol.upper()}")
    j = int(where[0])
    n = int(hist.panel.lengths[j])
    return {
        "symbol": symbol.upper(),
        "dates": hist.panel.dates[:n, j],
        "metrics": {k: a[:n, j] for k, a in hist.metrics.items()},
    }


@pytest.fixture(scope="module")
def engine(stack_env: dict[str, str]) -> Iterator[Engine]:
    truncate_all(stack_env["DATABASE_URL"])
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": SAMPLE}})
    assert result["status"] == "SUCCEEDED", result
    eng = create_engine(normalise_url(stack_env["DATABASE_URL"]))
    yield eng
    eng.dispose()


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _current(engine: Engine) -> dict[str, dict[str, Any]]:
    cols = ", ".join(f"r.{c}" for c in SNAPSHOT_FIELDS)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT s.symbol, r.as_of, {cols} FROM snapshot_rows r JOIN snapshot_versions v "
                "ON v.version = r.version AND v.is_current JOIN securities s ON s.id = r.security_id"
            )
        ).mappings()
        return {r["symbol"]: dict(r) for r in rows}


def _bars(engine: Engine, symbol: str, until: dt.date | None = None) -> dict[str, np.ndarray]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT b.date, open, high, low, close, volume FROM daily_bars b JOIN securities s "
                "ON s.id = b.security_id WHERE s.symbol = :s AND (CAST(:u AS date) IS NULL OR b.date <= :u) "
                "ORDER BY b.date"
            ),
            {"s": symbol, "u": until},
        ).all()
    a = np.array([r[1:] for r in rows], dtype=float)
    return {"dates": np.array([r[0] for r in rows]), "open": a[:, 0], "high": a[:, 1], "low": a[:, 2], "close": a[:, 3]}


def _same(a: Any, b: Any, rel: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
    return bool(a == b)


def test_snapshot_columns_are_the_catalogue(engine: Engine) -> None:
    with engine.connect() as conn:
        cols = dict(
            conn.execute(
                text("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'snapshot_rows'")
            ).all()
        )
    assert set(cols) == {"version", "security_id", "as_of", *SNAPSHOT_FIELDS}
    for f in SNAPSHOT_FIELDS:
        assert cols[f] == BY_ID[f].sql_type, f
    assert len(FIELDS) >= 70
    assert {f.group for f in FIELDS} == {"descriptive", "fundamental", "technical"}


def test_fields_route_serves_the_catalogue_with_roles(engine: Engine) -> None:
    with Client(load_api()) as client:
        resp = client.http.get("/screener/fields")
    assert resp.status_code == 200
    body = json.loads(resp.body)
    items = body["data"] if isinstance(body, dict) and "data" in body else body
    assert [f["id"] for f in items] == [f.id for f in FIELDS]
    beta = next(f for f in items if f["id"] == "beta")
    assert beta["roles"] == ["premium", "admin"] and beta["type"] == "number" and beta["unit"] == "ratio"
    assert next(f for f in items if f["id"] == "new_high_52w")["type"] == "boolean"


def test_current_snapshot_agrees_with_talib_on_the_stored_bars(engine: Engine) -> None:
    current = _current(engine)
    assert len(current) == 8
    for symbol, row in current.items():
        b = _bars(engine, symbol)
        c, h, lo = b["close"], b["high"], b["low"]
        assert row["as_of"] == b["dates"][-1]
        assert row["close"] == c[-1]
        expected = {
            "sma200": talib.SMA(c, 200)[-1],
            "ema26": talib.EMA(c, 26)[-1],
            "rsi14": talib.RSI(c, 14)[-1],
            "macd_hist": talib.MACD(c)[2][-1],
            "atr14": talib.ATR(h, lo, c, 14)[-1],
            "high_52w": talib.MAX(h, 252)[-1],
            "bb_upper": talib.BBANDS(c, 20, 2, 2)[0][-1],
        }
        for field, value in expected.items():
            if math.isnan(value):  # a short history (APTV): no value, stored as NULL
                assert row[field] is None, (symbol, field)
            else:
                assert row[field] == pytest.approx(float(value), rel=1e-6), (symbol, field)
        assert row["index_membership"] == "S&P 500"
        assert row["market_cap_bucket"] in {"mega", "large", "mid", "small", "micro", "nano"}
        if len(c) >= 252:
            assert isinstance(row["new_high_52w"], bool)
        else:
            assert row["new_high_52w"] is None
    assert current["AAPL"]["market_cap_bucket"] == "mega"


def _rebuild(engine: Engine, full: bool = False) -> dict[str, Any]:
    with engine.begin() as conn:
        return snapshot.build_snapshot(conn, None, full=full)


def test_incremental_build_equals_full_recompute(engine: Engine, stack_env: dict[str, str]) -> None:
    url = _plain(stack_env["DATABASE_URL"])
    with psycopg.connect(url) as conn:
        last = conn.execute(
            "DELETE FROM daily_bars WHERE date >= '2018-02-06' "
            "RETURNING security_id, date, open, high, low, close, volume"
        ).fetchall()
    assert len(last) == 16
    yesterday = _rebuild(engine, full=True)
    assert yesterday["as_of"] == "2018-02-05" and yesterday["recomputed"] == 8
    with psycopg.connect(url) as conn:
        conn.cursor().executemany("INSERT INTO daily_bars VALUES (%s, %s, %s, %s, %s, %s, %s)", last)
    today = _rebuild(engine)
    assert today["incremental"] == 8 and today["recomputed"] == 0
    incremental = _current(engine)
    assert _rebuild(engine, full=True)["recomputed"] == 8
    full = _current(engine)
    for symbol, row in full.items():
        for field, value in row.items():
            assert _same(incremental[symbol][field], value), (symbol, field, incremental[symbol][field], value)


def _reload_bar(
    stack_env: dict[str, str], tmp_path: Path, symbol: str, day: str, scale: float = 1.0, high_plus: float = 0.0
) -> dict[str, Any]:
    """Load one stored bar again through the state machine, its prices scaled by ``scale`` and its high
    raised by ``high_plus`` (a provider's corrected bar): the run's Aggregate output."""
    with psycopg.connect(_plain(stack_env["DATABASE_URL"])) as conn:
        row = conn.execute(
            "SELECT open, high, low, close, volume FROM daily_bars b JOIN securities s ON s.id = b.security_id "
            "WHERE s.symbol = %s AND b.date = %s",
            (symbol, day),
        ).fetchone()
    assert row is not None
    o, h, lo, c = (float(v) * scale for v in row[:4])
    path = tmp_path / f"{symbol}-{day}-{scale}-{high_plus}.csv"
    path.write_text(
        f"date,open,high,low,close,volume,Name\n{day},{o!r},{h + high_plus!r},{lo!r},{c!r},{row[4]},{symbol}\n"
    )
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": [str(path)]}})
    assert result["status"] == "SUCCEEDED", result
    assert result["output"]["report"]["updated"] == 1, result["output"]["report"]
    return dict(result["output"]["aggregate"])


def test_revised_history_is_recomputed_not_advanced(engine: Engine, stack_env: dict[str, str], tmp_path: Path) -> None:
    """A corrected old bar (loaded by the pipeline, which marks the state) is recomputed, not advanced."""
    _rebuild(engine)
    try:
        result = _reload_bar(stack_env, tmp_path, "MSFT", "2017-06-01", scale=1.01)
        assert result["recomputed"] == 1 and result["incremental"] == 7 and result["revised"] == 1
        b = _bars(engine, "MSFT")
        assert _current(engine)["MSFT"]["ema26"] == pytest.approx(float(talib.EMA(b["close"], 26)[-1]), rel=1e-9)
        incremental = _current(engine)
        _rebuild(engine, full=True)
        full = _current(engine)
        for symbol, row in full.items():
            for field, value in row.items():
                assert _same(incremental[symbol][field], value), (symbol, field, incremental[symbol][field], value)
    finally:
        _reload_bar(stack_env, tmp_path, "MSFT", "2017-06-01", scale=1 / 1.01)
        _rebuild(engine, full=True)


def test_readers_never_see_a_half_built_snapshot(engine: Engine, stack_env: dict[str, str]) -> None:
    url = _plain(stack_env["DATABASE_URL"])
    seen: list[tuple[int, int, int]] = []
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                rows = conn.execute(
                    "SELECT v.version, v.row_count, count(r.security_id) FROM snapshot_versions v "
                    "LEFT JOIN snapshot_rows r ON r.version = v.version WHERE v.is_current GROUP BY 1, 2"
                ).fetchall()
                if len(rows) != 1:
                    errors.append(f"{len(rows)} current versions")
                elif rows[0][1] != rows[0][2] or rows[0][2] != 8:
                    errors.append(f"version {rows[0][0]}: {rows[0][2]} of {rows[0][1]} rows")
                else:
                    seen.append(rows[0])

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    versions = []
    try:
        # two builders at once as well: serialised by the advisory lock, never a clash
        builders = [threading.Thread(target=lambda: versions.append(_rebuild(engine)["version"])) for _ in range(2)]
        for t in builders:
            t.start()
        for t in builders:
            t.join()
        for _ in range(3):
            versions.append(_rebuild(engine, full=True)["version"])
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert not errors, errors[:5]
    assert len(set(versions)) == 5
    assert len({v for v, *_ in seen}) >= 2  # the readers did see versions change under them


def test_snapshot_as_of_a_past_date_is_point_in_time(engine: Engine) -> None:
    day = dt.date(2016, 6, 15)
    with engine.connect() as conn:
        rows = {r["symbol"]: r for r in snapshot.snapshot_as_of(conn, day)}
        listed = conn.execute(text("SELECT count(DISTINCT security_id) FROM daily_bars WHERE date <= :d"), {"d": day})
        assert len(rows) == listed.scalar_one() == 7  # APTV starts trading later
    for symbol, row in rows.items():
        b = _bars(engine, symbol, until=day)
        assert row["as_of"] == b["dates"][-1] <= day
        assert row["close"] == b["close"][-1]
        assert row["sma50"] == pytest.approx(float(talib.SMA(b["close"], 50)[-1]), rel=1e-9)
        assert row["rsi14"] == pytest.approx(float(talib.RSI(b["close"], 14)[-1]), rel=1e-9)
        assert row["symbol"] == symbol and row["sector"] and row["name"]
        # the only fundamentals report is dated 2018-02-08: unknown in 2016
        assert row["market_cap"] is None and row["pe"] is None and row["market_cap_bucket"] is None


def test_snapshot_as_of_the_last_day_equals_the_current_technicals(engine: Engine) -> None:
    current = _current(engine)
    with engine.connect() as conn:
        rows = {r["symbol"]: r for r in snapshot.snapshot_as_of(conn, dt.date(2018, 2, 7))}
    technical = [f.id for f in FIELDS if f.group == "technical"]
    for symbol, row in rows.items():
        for field in technical:
            assert _same(row[field], current[symbol][field]), (symbol, field)


def test_as_of_before_the_history_is_not_found(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(NotFound, match="no bars on or before 2000-01-03"):
        snapshot.snapshot_as_of(conn, dt.date(2000, 1, 3))


def test_security_history_is_aligned_with_its_bars(engine: Engine) -> None:
    with engine.connect() as conn:
        hist = security_history(conn, "aapl")
        with pytest.raises(NotFound):
            security_history(conn, "NOPE")
    b = _bars(engine, "AAPL")
    assert len(hist["dates"]) == len(b["dates"])
    assert all(len(a) == len(b["dates"]) for a in hist["metrics"].values())
    np.testing.assert_allclose(hist["metrics"]["close"], b["close"])
    rsi = talib.RSI(b["close"], 14)
    ok = ~np.isnan(rsi)
    np.testing.assert_allclose(hist["metrics"]["rsi14"][ok], rsi[ok], rtol=1e-9)


def test_weekly_history_as_of_a_date_includes_the_partial_week(engine: Engine) -> None:
    day = dt.date(2017, 6, 14)  # a Wednesday
    with engine.connect() as conn:
        hist = snapshot.load_history(conn, until=day, timeframe="W")
    j = next(k for k, sid in enumerate(hist.panel.security_ids.tolist()) if hist.symbols[sid] == "AAPL")
    weeks = hist.panel.column(j)
    b = _bars(engine, "AAPL", until=day)
    assert weeks["dates"][-1] == day == b["dates"][-1]
    monday = day - dt.timedelta(days=2)
    this_week = b["dates"] >= monday
    assert weeks["open"][-1] == b["open"][this_week][0]
    assert weeks["high"][-1] == b["high"][this_week].max()
    n = int(hist.panel.lengths[j])
    ref = talib.RSI(weeks["close"], 14)
    assert hist.metrics["rsi14"][n - 1, j] == pytest.approx(float(ref[-1]), rel=1e-9)


def test_revised_high_low_is_detected(engine: Engine, stack_env: dict[str, str], tmp_path: Path) -> None:
    """ATR's state depends on highs and lows: a revised old high forces a recompute too."""
    _rebuild(engine)
    try:
        result = _reload_bar(stack_env, tmp_path, "XOM", "2016-03-01", high_plus=5.0)
        assert result["recomputed"] == 1 and result["revised"] == 1
        b = _bars(engine, "XOM")
        atr = talib.ATR(b["high"], b["low"], b["close"], 14)[-1]
        assert _current(engine)["XOM"]["atr14"] == pytest.approx(float(atr), rel=1e-9)
    finally:
        _reload_bar(stack_env, tmp_path, "XOM", "2016-03-01", high_plus=-5.0)
        _rebuild(engine, full=True)
