"""Ingest at market scale, on the synthetic 10,000-security x 20-year market (``BENCH`` lines).

The whole set is about 39 million bars (``stockscreen demo synth --securities 10000 --years 20``,
generated once into ``/tmp/stockscreen-synth-10000x20-s7`` and reused). On a shared two-core machine a
full backfill of it takes too long for a benchmark run, so:

1. Backfill: the first ``BACKFILL_SECURITIES`` securities' complete 20-year histories (a prefix of the
   bars file, which is sorted by symbol) through the pipeline's tasks (``test_ingest_bench._pipeline_backfill``:
   Plan, Fetch, Validate, LoadReference, the Load map), against PostgreSQL's own CSV COPY of the same file,
   the two taking turns. The rate is per row, so the full set's time is extrapolated as 39M / rate
   (printed as ``backfill_10k_20y_extrapolated_s``; bulk loads are linear in rows: the partitions are
   filled whole and swapped in).
2. The daily incremental run for all 10,000 symbols through the state machine: the last year of every
   security loaded first (the state machine's first run computes their indicator state), then the last
   session's 10,000 bars as a run of their own, end to end (Plan ... Aggregate ... Report).
3. The Aggregate task's peak memory in a fresh process (full snapshot rebuild + the snapshot artifact) on
   the backfilled subset, written to ``measured_peaks.json`` scaled to 10,000 securities (marked so).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from devstack.stepfunctions import IngestStateMachine
from stockscreen.market import synth
from tests.bench.test_ingest_bench import _pipeline_backfill, _plain
from tests.conftest import truncate_all

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path("/tmp/stockscreen-synth-10000x20-s7")
PEAKS = Path(__file__).with_name("measured_peaks.json")
BACKFILL_SECURITIES = 500
ROUNDS = 2


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.4g} {unit}", flush=True)


def _market() -> list[Path]:
    files = [CACHE / synth.CONSTITUENTS_FILE, CACHE / synth.FUNDAMENTALS_FILE, CACHE / synth.BARS_FILE]
    if not all(p.exists() for p in files):
        synth.write(synth.generate(10_000, 20, seed=7), CACHE)
    return files


def _prefix(bars: Path, out: Path, securities: int) -> int:
    """The first ``securities`` symbols' rows of the bars file (it is sorted by symbol)."""
    seen: set[str] = set()
    rows = 0
    with bars.open() as src, out.open("w") as dst:
        dst.write(src.readline())
        for line in src:
            sym = line.rsplit(",", 1)[1]
            if sym not in seen:
                if len(seen) == securities:
                    break
                seen.add(sym)
            dst.write(line)
            rows += 1
    return rows


def _split_last_year(bars: Path, history: Path, last_day: Path) -> tuple[str, int]:
    """Every security's last year minus the last session, and the last session alone."""
    with bars.open() as src:
        src.readline()
        dates = sorted({line[:10] for _, line in zip(range(3_000_000), src, strict=False)})
    last = dates[-1]
    since = f"{int(last[:4]) - 1}{last[4:10]}"
    n_last = 0
    with bars.open() as src, history.open("w") as hist, last_day.open("w") as day:
        header = src.readline()
        hist.write(header)
        day.write(header)
        for line in src:
            d = line[:10]
            if d == last:
                day.write(line)
                n_last += 1
            elif d > since:
                hist.write(line)
    return last, n_last


def _copy_csv(url: str, path: Path) -> tuple[int, float]:
    with psycopg.connect(_plain(url)) as conn:
        conn.execute(
            "CREATE TEMP TABLE copy_csv_peer (date date, open float8, high float8, low float8, close float8, "
            "volume float8, symbol text)"
        )
        start = time.perf_counter()
        with path.open("rb") as src, conn.cursor() as cur:
            with cur.copy("COPY copy_csv_peer FROM STDIN (FORMAT csv, HEADER)") as copy:
                while block := src.read(1 << 20):
                    copy.write(block)
            n = cur.execute("SELECT count(*) FROM copy_csv_peer").fetchone()[0]  # type: ignore[index]
        conn.commit()
        return int(n), time.perf_counter() - start


AGGREGATE = """
import json, resource, sys, time, uuid
from stockscreen.pipeline import service
clock = time.perf_counter()
out = service.aggregate({"run_id": str(uuid.uuid4()), "force": True})
print(json.dumps({"s": time.perf_counter() - clock, "rows": out.get("rows"), "artifact": "artifact" in out,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_bench_backfill_and_daily_10k(stack_env: dict[str, str], tmp_path: Path) -> None:
    url = stack_env["DATABASE_URL"]
    cons, funds, bars = _market()
    subset = tmp_path / "bars-subset.csv"
    rows = _prefix(bars, subset, BACKFILL_SECURITIES)
    copies, pipes = [], []
    for k in range(ROUNDS):
        truncate_all(url)
        n, csv_s = _copy_csv(url, subset)
        assert n == rows
        totals, pipe_s, _ = _pipeline_backfill([cons, funds, subset])
        assert totals["inserted"] > 0.99 * rows  # the wart bars are quarantined
        print(f"  round {k + 1}: CSV COPY {csv_s:.2f} s, pipeline {pipe_s:.2f} s", flush=True)
        copies.append(csv_s)
        pipes.append(pipe_s)
    csv_s, pipe_s = statistics.median(copies), statistics.median(pipes)
    bench("backfill_synth_subset_rows", rows, "rows")
    bench("backfill_synth_subset_csv_copy_rows_per_s", rows / csv_s, "rows/s")
    bench("backfill_synth_subset_pipeline_rows_per_s", rows / pipe_s, "rows/s")
    print(f"BENCH backfill_synth_subset_vs_copy_csv {csv_s / pipe_s:.2f} x", flush=True)
    total_bars = 38_980_759  # the 10,000 x 20 y set (seed 7): `stockscreen demo synth` prints it
    bench("backfill_10k_20y_extrapolated_s", total_bars / (rows / pipe_s), "s")

    # the Aggregate task alone, in a fresh process: a full rebuild of the subset and its artifact
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", AGGREGATE], env=env, capture_output=True, text=True, check=True)
    agg = json.loads(out.stdout.strip().splitlines()[-1])
    assert agg["artifact"] and agg["rows"] == BACKFILL_SECURITIES
    bench("aggregate_full_rebuild_subset_s", agg["s"], "s")
    bench("aggregate_full_rebuild_subset_peak_rss", agg["peak_rss_mb"], "MB")
    scale = 10_000 / BACKFILL_SECURITIES
    measured = json.loads(PEAKS.read_text()) if PEAKS.exists() else {}
    measured["ingest.Aggregate"] = {
        "peak_rss_mb": round(agg["peak_rss_mb"] * scale),
        "what": f"Aggregate (full snapshot rebuild + artifact) of {BACKFILL_SECURITIES} x 20y, scaled x{scale:g} "
        "to 10,000 securities (memory grows with securities x sessions)",
        "dataset": "synth 10000x20y seed 7 (first securities)",
    }
    PEAKS.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n")

    # the daily run of all 10,000 symbols, on top of a year of history each
    truncate_all(url)
    history, last_day = tmp_path / "last-year.csv", tmp_path / "last-day.csv"
    day, n_last = _split_last_year(bars, history, last_day)
    machine = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])
    t = time.perf_counter()
    first = machine.run({"source": {"paths": [str(cons), str(funds), str(history)]}})
    assert first["status"] == "SUCCEEDED", first
    bench("history_last_year_10k_load_through_state_machine_s", time.perf_counter() - t, "s")
    t = time.perf_counter()
    result = machine.run({"source": {"paths": [str(last_day)]}})
    inc_s = time.perf_counter() - t
    assert result["status"] == "SUCCEEDED", result
    report = result["output"]["report"]
    assert report["inserted"] >= 0.99 * n_last and report["changed_symbols"] > 8_000, report
    bench("incremental_daily_run_10k_s", inc_s, "s")
    bench("incremental_daily_10k_symbols", report["changed_symbols"], "symbols")
    for state, seconds in machine.state_durations(result["execution_arn"]).items():
        print(f"  state {state}: {seconds:.2f} s", flush=True)
    print(
        f"  last session {day}: {n_last} bars; this process peak "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
        flush=True,
    )
