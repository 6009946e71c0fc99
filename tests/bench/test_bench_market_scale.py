"""The whole market: 10,000 securities x 20 years in the layout production uses (``BENCH`` lines).

- ``screener_10k_prodlayout_ratio_to_duckdb``: the 10-clause screen (+ sort + page of 50) over a universe
  whose every field is a column-major ``(securities, 5,033 dates)`` grid, as ``load()`` and the snapshot
  artifact build it, with the snapshot's latest values (what production reads on the latest date);
  ``..._grid_ratio_to_duckdb`` the same universe without them (every clause reads its grid column).
  DuckDB: a native table, a prepared statement; the two take turns.
- ``screener_10k_history_ratio_to_duckdb``: eight of those clauses and ``close > max(high, 252)[-1]`` and
  ``rsi14 < 30 within 10 days`` over full 20-year histories; DuckDB: window queries over a native long
  table of the same 20 years (clustered by date, the recent sessions filtered first).
- ``universe_cold_first_screen_10k_20y``: a fresh interpreter, from its first line (imports included) to
  the first screen's result, reading the snapshot artifact of the synthetic 10k x 20y market from S3
  (moto) into an empty /tmp folder; and its peak resident memory. Then a history screen in the same
  process (what a container pays the first time a screen reads history), and its peak.
  The measured peaks are written to ``tests/bench/measured_peaks.json`` (see ``infra_cdk/README.md``).

The bars are the synthetic market's (``stockscreen demo synth --securities 10000 --years 20``, cached in
``/tmp``); the snapshot values of the 10-clause screen are the 505 real demo securities' latest values
replicated with noise (``test_bench_screener.synthetic``), so the clauses select what they do on real data.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stockscreen.market import synth
from stockscreen.screening import artifact
from stockscreen.screening import universe as U
from stockscreen.screening.history import Frame, grid
from tests.bench.measured import record_peak
from tests.bench.test_bench_screener import PAGE_COLUMNS, QUERY, SQL_PARAMS, SQL_WHERE, bench, interleaved
from tests.bench.test_bench_screener import demo as demo_fixture
from tests.bench.test_bench_screener import synthetic as synthetic_fixture

ROOT = Path(__file__).resolve().parents[2]
SECURITIES, YEARS, SEED = 10_000, 20, 7
demo = demo_fixture
synthetic = synthetic_fixture

#: eight of the ten clauses of QUERY, and the two history clauses
HISTORY_QUERY = (
    "market_cap > 2B and pe between 5 and 40 and close > sma200 "
    'and sector in ("Information Technology", "Health Care", "Financials", "Industrials") '
    "and volume > 500K and dividend_yield >= 0 and price_book < 20 and atr_pct < 5 "
    "and close > max(high, 252)[-1] and rsi14 < 30 within 10 days"
)
HISTORY_WHERE = (
    "market_cap > ? AND pe BETWEEN ? AND ? AND close > sma200 AND sector IN (?, ?, ?, ?) "
    "AND volume > ? AND dividend_yield >= ? AND price_book < ? AND atr_pct < ?"
)
HISTORY_PARAMS = [2e9, 5, 40, "Information Technology", "Health Care", "Financials", "Industrials", 5e5, 0, 20, 5]


@pytest.fixture(scope="module")
def market() -> synth.SynthMarket:
    return synth.generate(SECURITIES, YEARS, seed=SEED)


def _paths(rng: np.random.Generator, end: np.ndarray[Any, Any], t: int, vol: float) -> np.ndarray[Any, Any]:
    """``(securities, t)`` column-major histories ending exactly at ``end`` (a per-security random walk)."""
    out = grid(len(end), t)
    steps = vol * rng.standard_normal((t, len(end)))
    walk = np.cumsum(steps[::-1], axis=0)[::-1]  # walk[-1] is the last step alone
    walk -= walk[-1]
    out[:] = (end[None, :] * np.exp(walk)).T
    return out


@pytest.fixture(scope="module")
def prod(synthetic: tuple[U.Universe, dict[str, Any]], market: synth.SynthMarket) -> dict[str, Any]:
    """The 10,000-security snapshot on the synthetic market's 5,033 dates, in the production layout."""
    one, table = synthetic
    dates = market.dates
    t = len(dates)
    rng = np.random.default_rng(5)
    fr = one.daily
    read = {"market_cap", "pe", "rsi14", "close", "sma200", "volume", "perf_1m", "dividend_yield", "price_book"}
    read |= {"atr_pct", "high", *(c for c in PAGE_COLUMNS if c in fr._cache)}
    cache: dict[str, np.ndarray[Any, Any]] = {}
    for k in sorted(read):
        last = fr._cache[k][:, 0]
        if k in ("high", "close", "rsi14"):  # random-walk histories for the history clauses
            if k == "rsi14":
                hist = np.clip(_paths(rng, np.nan_to_num(last, nan=50.0) + 100, t, 0.04) - 100, 1, 99)
            else:
                hist = _paths(rng, np.nan_to_num(last, nan=1.0), t, 0.02)
            hist[:, -1] = last  # the latest date exactly the snapshot's
            cache[k] = hist
        else:  # the screen reads the latest date of these: the history holds the values drifted
            g = grid(one.n, t)
            g[:] = last[:, None]
            cache[k] = g
    high = np.maximum(cache["high"], cache["close"] * 1.002)  # a high at least the close, as bars have
    high[:, -1] = cache["high"][:, -1]
    cache["high"] = high
    empty = grid(one.n, t)
    frame = Frame(dates, empty, empty, empty, cache["close"], empty, {})
    frame._cache.update(cache)
    for k, v in fr._cache.items():
        frame._cache.setdefault(k, v)  # unread fields: one column, untouched
    latest = {k: v[:, -1].copy() for k, v in cache.items()}
    with_latest = U.Universe(0, one.as_of, one.symbols, frame, one.strings, one.dates, latest=latest)
    grid_only = U.Universe(0, one.as_of, one.symbols, frame, one.strings, one.dates)
    return {"latest": with_latest, "grid": grid_only, "table": table, "cache": cache, "dates": dates}


def _page(u: U.Universe, query: str) -> list[str]:
    from stockscreen.screening.engine import ScreenRequest, run

    req = ScreenRequest.from_body(
        {"query": query, "sort": "market_cap", "order": "desc", "limit": 50, "columns": PAGE_COLUMNS}
    )
    return [r["symbol"] for r in run(u, req).data]


def test_bench_prodlayout_and_history_vs_duckdb(prod: dict[str, Any]) -> None:
    import duckdb
    import pandas as pd

    u, g, table, cache = prod["latest"], prod["grid"], prod["table"], prod["cache"]
    assert u.daily.c.flags.f_contiguous and cache["rsi14"].flags.f_contiguous
    con = duckdb.connect()
    snap = pd.DataFrame(table)
    # the universe's row of each security (the universe sorts by symbol): the history table's key
    snap.insert(0, "sid", np.array([u.row_of(sym) for sym in table["symbol"]], dtype=np.int32))
    con.register("snap_df", snap)
    con.execute("CREATE TABLE snap AS SELECT * FROM snap_df")
    con.unregister("snap_df")
    cols = ", ".join(f'"{c}"' for c in PAGE_COLUMNS)
    sql = f"SELECT {cols} FROM snap WHERE {SQL_WHERE} ORDER BY market_cap DESC NULLS LAST, symbol LIMIT 50"
    stmt = con.cursor()
    duck = [r[0] for r in stmt.execute(sql, SQL_PARAMS).fetchall()]
    assert _page(u, QUERY) == duck == _page(g, QUERY) and len(duck) == 50

    # the history: a long native table of the same 20 years (sid, d, high, close, rsi14), by date
    t = len(prod["dates"])
    n = u.n
    for start in range(0, t, 1024):
        stop = min(start + 1024, t)
        part = pd.DataFrame(
            {
                "sid": np.tile(np.arange(n, dtype=np.int32), stop - start),
                "d": np.repeat(np.arange(start, stop, dtype=np.int32), n),
                "high": cache["high"][:, start:stop].T.ravel(),
                "close": cache["close"][:, start:stop].T.ravel(),
                "rsi14": cache["rsi14"][:, start:stop].T.ravel(),
            }
        )
        con.register("part_df", part)
        con.execute(
            "CREATE TABLE hist AS SELECT * FROM part_df" if start == 0 else "INSERT INTO hist SELECT * FROM part_df"
        )
        con.unregister("part_df")
    hist_sql = f"""
        WITH w AS (
          SELECT sid, d, close,
                 max(high) OVER (PARTITION BY sid ORDER BY d ROWS BETWEEN 252 PRECEDING AND 1 PRECEDING) AS hi252,
                 count(*) OVER (PARTITION BY sid ORDER BY d ROWS BETWEEN 252 PRECEDING AND 1 PRECEDING) AS n252,
                 max(CASE WHEN rsi14 < 30 THEN 1 ELSE 0 END)
                   OVER (PARTITION BY sid ORDER BY d ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS oversold
          FROM hist WHERE d > ? - 253 AND d <= ?
        )
        SELECT {", ".join("s." + chr(34) + c + chr(34) for c in PAGE_COLUMNS)}
        FROM snap s JOIN w ON w.sid = s.sid
        WHERE w.d = ? AND n252 = 252 AND w.close > w.hi252 AND w.oversold = 1
          AND {HISTORY_WHERE.replace("close", "s.close")}
        ORDER BY s.market_cap DESC NULLS LAST, s.symbol LIMIT 50"""
    last = t - 1
    hparams = [last, last, last, *HISTORY_PARAMS]
    hstmt = con.cursor()
    duck_h = [r[0] for r in hstmt.execute(hist_sql, hparams).fetchall()]
    engine_h = _page(u, HISTORY_QUERY)
    assert engine_h == duck_h and len(duck_h) > 0, (len(engine_h), len(duck_h))

    times = interleaved(
        {
            "duckdb": lambda: stmt.execute(sql, SQL_PARAMS).fetchall(),
            "engine": lambda: _page(u, QUERY),
            "engine_grid": lambda: _page(g, QUERY),
        },
        300,
    )
    d, e, eg = (statistics.median(times[k]) for k in ("duckdb", "engine", "engine_grid"))
    bench("screener_10k_prodlayout_duckdb_median", d * 1e3, "ms")
    bench("screener_10k_prodlayout_engine_median", e * 1e3, "ms")
    bench("screener_10k_prodlayout_ratio_to_duckdb", e / d, "x")
    bench("screener_10k_prodlayout_grid_engine_median", eg * 1e3, "ms")
    bench("screener_10k_prodlayout_grid_ratio_to_duckdb", eg / d, "x")
    times = interleaved(
        {"duckdb": lambda: hstmt.execute(hist_sql, hparams).fetchall(), "engine": lambda: _page(u, HISTORY_QUERY)},
        60,
        block=10,
    )
    d, e = (statistics.median(times[k]) for k in ("duckdb", "engine"))
    bench("screener_10k_history_duckdb_median", d * 1e3, "ms")
    bench("screener_10k_history_engine_median", e * 1e3, "ms")
    bench("screener_10k_history_ratio_to_duckdb", e / d, "x")


#: the fresh interpreter: its clock starts on its first line, before any import
COLD = textwrap.dedent(
    """
    import time
    start = time.perf_counter()
    import json, sys
    def hwm():  # VmHWM: ru_maxrss would carry the forking parent's over exec
        return int(next(x for x in open("/proc/self/status") if x.startswith("VmHWM:")).split()[1]) / 1024
    from pathlib import Path
    from stockscreen.screening import artifact
    from stockscreen.screening.engine import ScreenRequest, run
    imported = time.perf_counter() - start
    bucket, prefix, cache_dir, query, history = sys.argv[1:6]
    u = artifact.read(artifact.s3_fetch(bucket, prefix, cache_dir=Path(cache_dir)))
    opened = time.perf_counter() - start
    res = run(u, ScreenRequest.from_body({"query": query, "limit": 50}))
    first = time.perf_counter() - start
    first_rss = hwm()
    clock = time.perf_counter()
    hist = run(u, ScreenRequest.from_body({"query": history, "limit": 50}))
    print(json.dumps({"first_s": first, "import_s": imported, "open_s": opened - imported, "first_rss_mb": first_rss,
                      "count": res.count, "history_s": time.perf_counter() - clock, "history_count": hist.count,
                      "peak_rss_mb": hwm()}))
    """
)

#: the artifact of the synthetic market, written once and reused by later runs (keyed by size and seed)
ARTIFACT = Path(tempfile.gettempdir()) / f"stockscreen-bench-artifact-{SECURITIES}x{YEARS}-s{SEED}-f{artifact.FORMAT}"


@pytest.fixture(scope="module")
def artifact_folder(request: pytest.FixtureRequest) -> Path:
    """The snapshot artifact of the synthetic 10k x 20y market: its bars, and every snapshot field on the
    latest date from the replicated demo snapshot (so the 10-clause screen selects what it does on real
    data). Built only when the cache folder has no manifest."""
    if (ARTIFACT / artifact.MANIFEST).exists():
        return ARTIFACT
    market: synth.SynthMarket = request.getfixturevalue("market")
    one, _ = request.getfixturevalue("synthetic")
    frame = Frame(market.dates, market.open.T, market.high.T, market.low.T, market.close.T, market.volume.T, {})
    latest = {k: np.ascontiguousarray(v[:, -1]) for k, v in one.daily._cache.items()}
    u = U.Universe(1, one.as_of, one.symbols, frame, one.strings, one.dates, latest=latest)
    u.cache_key = "bench"
    building = ARTIFACT.with_name(ARTIFACT.name + f".{os.getpid()}.part")
    shutil.rmtree(building, ignore_errors=True)
    artifact.write(u, building)
    shutil.rmtree(ARTIFACT, ignore_errors=True)
    building.rename(ARTIFACT)
    return ARTIFACT


def _cold(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", COLD, *args], env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_bench_cold_first_screen_10k_20y(artifact_folder: Path, stack_env: dict[str, str], tmp_path: Path) -> None:
    from stockscreen.core.clients import aws_client

    bucket = stack_env["SNAPSHOT_BUCKET"]
    s3 = aws_client("s3")
    prefix = artifact.PREFIX + artifact.name_of(1, f"bench-{time.time()}") + "/"
    files = [p for p in artifact_folder.rglob("*") if p.is_file()]
    clock = time.perf_counter()
    artifact.upload(artifact_folder, bucket, s3, prefix)
    upload_s = time.perf_counter() - clock
    size = sum(p.stat().st_size for p in files)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT)])}
    history = "close > max(high, 252)[-1] and rsi14 < 30 within 10 days"
    runs = []
    for k in range(int(os.environ.get("STOCKSCREEN_BENCH_COLD_RUNS", "3"))):  # each in an empty folder: a new container
        runs.append(_cold([bucket, prefix, str(tmp_path / f"cold{k}"), QUERY, history], env))
        print(f"  cold {k + 1}: {json.dumps({key: round(v, 3) for key, v in runs[-1].items()})}", flush=True)
    assert all(r["count"] > 50 for r in runs)
    # a new process on a /tmp that already holds the files (a recycled sandbox)
    again = _cold([bucket, prefix, str(tmp_path / "cold0"), QUERY, history], env)
    artifact.remove_older(bucket, s3, keep=set())
    first = statistics.median(r["first_s"] for r in runs)
    first_rss = max(r["first_rss_mb"] for r in runs)
    peak = max(max(r["peak_rss_mb"] for r in runs), again["peak_rss_mb"])
    bench("universe_artifact_upload_10k_20y", upload_s, "s")
    bench("universe_artifact_size_10k_20y", size / 2**20, "MB")
    bench("universe_cold_first_screen_10k_20y", first, "s")
    bench("universe_cold_first_screen_10k_20y_imports", statistics.median(r["import_s"] for r in runs), "s")
    bench("universe_cold_first_screen_10k_20y_open_artifact", statistics.median(r["open_s"] for r in runs), "s")
    bench("universe_cold_first_screen_10k_20y_peak_rss", first_rss, "MB")
    bench("universe_cold_first_screen_10k_20y_files_on_tmp", again["first_s"], "s")
    bench("universe_cold_first_history_screen_10k_20y", statistics.median(r["history_s"] for r in runs), "s")
    bench("universe_cold_first_history_screen_10k_20y_files_on_tmp", again["history_s"], "s")
    bench("universe_cold_first_history_screen_10k_20y_peak_rss", peak, "MB")
    record_peak(
        "api",
        peak,
        "API container: the 10k x 20y artifact read from S3, the 10-clause screen, then a history screen "
        "(close > max(high, 252)[-1] and rsi14 < 30 within 10 days)",
        f"synth {SECURITIES}x{YEARS}y seed {SEED}",
    )
