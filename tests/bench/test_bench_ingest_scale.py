"""Ingest at market scale, on the synthetic market (``BENCH`` lines).

The scale is ``STOCKSCREEN_BENCH_SCALE_SECURITIES`` x ``STOCKSCREEN_BENCH_SCALE_YEARS`` (default 10,000 x
20: about 39 million bars, ``stockscreen demo synth --securities 10000 --years 20``), generated once into
``/tmp/stockscreen-synth-<N>x<Y>-s7`` and reused. Every figure names the scale it was measured at; figures
for 10,000 x 20 years from a smaller run are printed as ``..._extrapolated`` (rates are per row, memory
grows with securities x sessions).

1. Backfill: the whole set but its last session through the pipeline's tasks
   (``test_ingest_bench._pipeline_backfill``: Plan, Fetch, Validate, LoadReference, the Load map), against
   PostgreSQL's own CSV COPY of the same file, the two taking turns (``STOCKSCREEN_BENCH_SCALE_ROUNDS``).
2. The Aggregate task alone in a fresh process (a full snapshot rebuild and the artifact written from the
   whole history): its time and peak memory.
3. The daily incremental runs of every symbol's last two sessions through the state machine (Plan ...
   Aggregate ... Report): the first right after the backfill (``..._after_backfill_...``: the database
   still settling from the backfill's rows), the second as production runs it every day, after the
   previous day's run (``incremental_daily_run_...``), with each task's duration and memory; then the
   Aggregate's artifact publication both ways on the same snapshot version: appended to the previous
   artifact (what the daily run does) and rebuilt from the whole history (what it did before).
The peaks go to ``measured_peaks.json`` (``tests/bench/measured.py``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from devstack import lambdas
from devstack.stepfunctions import IngestStateMachine
from stockscreen.market import synth
from stockscreen.pipeline.definition import HANDLERS
from tests.bench.measured import record_peak
from tests.bench.test_ingest_bench import _pipeline_backfill, _plain
from tests.conftest import truncate_all

ROOT = Path(__file__).resolve().parents[2]
SECURITIES = int(os.environ.get("STOCKSCREEN_BENCH_SCALE_SECURITIES", "10000"))
YEARS = int(os.environ.get("STOCKSCREEN_BENCH_SCALE_YEARS", "20"))
ROUNDS = int(os.environ.get("STOCKSCREEN_BENCH_SCALE_ROUNDS", "1"))
SEED = 7
CACHE = Path(f"/tmp/stockscreen-synth-{SECURITIES}x{YEARS}-s{SEED}")
SCALE = f"{SECURITIES}x{YEARS}y"
#: the whole market's bars (10,000 x 20 y, seed 7: ``stockscreen demo synth`` prints it)
FULL_BARS = 38_980_759


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.4g} {unit}", flush=True)


def _market() -> list[Path]:
    files = [CACHE / synth.CONSTITUENTS_FILE, CACHE / synth.FUNDAMENTALS_FILE, CACHE / synth.BARS_FILE]
    if not all(p.exists() for p in files):
        synth.write(synth.generate(SECURITIES, YEARS, seed=SEED), CACHE)
    return files


def _split_last_sessions(bars: Path, history: Path, days: list[Path]) -> tuple[list[str], int, list[int]]:
    """The bars file without its last ``len(days)`` sessions, and each of those sessions alone (a daily
    run's file) of the securities listed before them (a new listing changes the artifact's securities:
    it is rewritten whole)."""
    last: set[str] = set()
    with bars.open() as src:
        src.readline()
        for line in src:
            day = line[:10]
            if day not in last:
                last.add(day)
                if len(last) > len(days):
                    last.discard(min(last))
    sessions = sorted(last)
    n_hist, counts = 0, [0] * len(days)
    listed: set[str] = set()
    outs = [p.open("w") for p in days]
    try:
        with bars.open() as src, history.open("w") as hist:
            header = src.readline()
            hist.write(header)
            for out in outs:
                out.write(header)
            for line in src:  # by symbol, then date: a symbol's earlier sessions come first
                symbol = line.rsplit(",", 1)[1]
                day = line[:10]
                if day not in last:
                    hist.write(line)
                    listed.add(symbol)
                    n_hist += 1
                elif symbol in listed:
                    k = sessions.index(day)
                    outs[k].write(line)
                    counts[k] += 1
    finally:
        for out in outs:
            out.close()
    return sessions, n_hist, counts


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


#: a fresh process: the ingest handlers' imports (a new Lambda container), then the Aggregate task
AGGREGATE = """
import json, sys, time, uuid
sys.path.insert(0, "functions/ingest")
import handlers  # noqa: F401 - what a new container imports
def hwm():  # VmHWM: ru_maxrss would carry the forking parent's over exec
    return int(next(x for x in open("/proc/self/status") if x.startswith("VmHWM:")).split()[1]) / 1024
base = hwm()
from stockscreen.pipeline import service
clock = time.perf_counter()
out = service.aggregate({"run_id": str(uuid.uuid4()), "force": True})
print(json.dumps({"s": time.perf_counter() - clock, "rows": out.get("rows"), "artifact": out.get("artifact"),
                  "snapshot_seconds": out.get("seconds"), "import_rss_mb": base,
                  "peak_rss_mb": hwm()}))
"""


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def _task_memory() -> Iterator[dict[str, float]]:
    """Each ingest task's memory while the state machine runs in this process: the growth of the
    process's resident memory during each invocation (sampled every 5 ms), the largest per task. Map
    iterations run concurrently here, so a Load's figure includes its neighbours' (an over-estimate)."""
    grown: dict[str, float] = {}
    originals = dict(lambdas._ROUTES)

    def watched(state: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(event: Any, context: Any) -> Any:
            start, peak, done = _rss_mb(), [0.0], threading.Event()

            def sample() -> None:
                while not done.wait(0.005):
                    peak[0] = max(peak[0], _rss_mb())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            try:
                return handler(event, context)
            finally:
                done.set()
                sampler.join()
                peak[0] = max(peak[0], _rss_mb())
                grown[state] = max(grown.get(state, 0.0), peak[0] - start)

        return run

    for state in HANDLERS:
        name = f"stockscreen-ingest-{state.lower()}"
        if name in lambdas._ROUTES:
            lambdas._ROUTES[name] = watched(state, lambdas._ROUTES[name])
    try:
        yield grown
    finally:
        lambdas._ROUTES.update(originals)


def _import_baseline(env: dict[str, str]) -> float:
    """Resident memory of a new ingest container after its imports (MB)."""
    code = (
        "import sys; sys.path.insert(0, 'functions/ingest'); import handlers; "
        "print(int(next(x for x in open('/proc/self/status') if x.startswith('VmHWM:')).split()[1]) / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def test_bench_backfill_and_daily(stack_env: dict[str, str], tmp_path: Path) -> None:
    url = stack_env["DATABASE_URL"]
    cons, funds, bars = _market()
    history, days = tmp_path / "history.csv", [tmp_path / "day-before.csv", tmp_path / "last-day.csv"]
    sessions, rows, counts = _split_last_sessions(bars, history, days)
    last_day, n_last = days[-1], counts[-1]
    extrapolate = FULL_BARS / (rows + sum(counts))
    print(f"  scale {SCALE}: {rows} bars of history, {counts} bars on {sessions}", flush=True)

    # 1. the backfill against CSV COPY of the same rows
    copies, pipes, snaps = [], [], []
    for k in range(ROUNDS):
        truncate_all(url)
        n, csv_s = _copy_csv(url, history)
        assert n == rows
        totals, pipe_s, snapshot_s = _pipeline_backfill([cons, funds, history])
        assert totals["inserted"] > 0.99 * rows  # the wart bars are quarantined
        print(
            f"  round {k + 1}: CSV COPY {csv_s:.2f} s, pipeline {pipe_s:.2f} s, aggregate+report {snapshot_s:.2f} s",
            flush=True,
        )
        copies.append(csv_s)
        pipes.append(pipe_s)
        snaps.append(snapshot_s)
    csv_s, pipe_s = statistics.median(copies), statistics.median(pipes)
    bench(f"backfill_{SCALE}_rows", rows, "rows")
    bench(f"backfill_{SCALE}_csv_copy_rows_per_s", rows / csv_s, "rows/s")
    bench(f"backfill_{SCALE}_pipeline_rows_per_s", rows / pipe_s, "rows/s")
    bench(f"backfill_{SCALE}_pipeline_vs_copy_csv", csv_s / pipe_s, "x")
    bench(f"backfill_{SCALE}_first_aggregate_s", statistics.median(snaps), "s")
    if extrapolate > 1.01:
        bench("backfill_10k_20y_extrapolated_s", FULL_BARS / (rows / pipe_s), "s")

    # 2. the Aggregate task alone, in a fresh process: a full rebuild and the artifact from all history
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-c", AGGREGATE], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    agg = json.loads(out.stdout.strip().splitlines()[-1])
    assert agg["artifact"] and agg["rows"] >= 0.95 * SECURITIES
    print(f"  aggregate (full): {json.dumps(agg)}", flush=True)
    bench(f"aggregate_full_rebuild_{SCALE}_s", agg["s"], "s")
    bench(f"aggregate_full_rebuild_{SCALE}_peak_rss", agg["peak_rss_mb"], "MB")
    if extrapolate > 1.01:  # linear in bars: an upper bound (the snapshot reads at most measures.TAIL per security)
        grown_mb = (agg["peak_rss_mb"] - agg["import_rss_mb"]) * extrapolate
        bench("aggregate_full_rebuild_10k_20y_peak_rss_extrapolated", agg["import_rss_mb"] + grown_mb, "MB")

    # 3. the daily runs of the last two sessions, through the state machine: the first right after the
    # backfill (the database still settling from 39 M new rows: its first reads of them, the checkpoints
    # of their writes), the second a day's run as production runs it, after the previous day's run
    # (the tasks' memory is the larger of the two runs': the second reuses what the first freed)
    machine = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])
    baseline = _import_baseline(env)
    with _task_memory() as grown_first:
        t = time.perf_counter()
        first = machine.run({"source": {"paths": [str(days[0])]}})
        first_s = time.perf_counter() - t
    assert first["status"] == "SUCCEEDED", first
    with _task_memory() as grown_daily:
        t = time.perf_counter()
        result = machine.run({"source": {"paths": [str(last_day)]}})
        inc_s = time.perf_counter() - t
    for state, mb in sorted(grown_first.items()):
        bench(f"incremental_daily_after_backfill_{SCALE}_task_{state}_rss_growth", mb, "MB")
    grown = {k: max(grown_first.get(k, 0.0), grown_daily.get(k, 0.0)) for k in {*grown_first, *grown_daily}}
    assert first["output"]["report"]["changed_symbols"] >= 0.95 * counts[0], first["output"]["report"]
    bench(f"incremental_daily_run_after_backfill_{SCALE}_s", first_s, "s")
    for state, seconds in machine.state_durations(first["execution_arn"]).items():
        bench(f"incremental_daily_after_backfill_{SCALE}_state_{state}_s", seconds, "s")
    print(f"  aggregate (first daily run): {json.dumps(first['output']['aggregate'], default=str)}", flush=True)
    assert result["status"] == "SUCCEEDED", result
    report = result["output"]["report"]
    assert report["inserted"] >= 0.99 * n_last and report["changed_symbols"] >= 0.95 * n_last, report
    aggregate_out = result["output"]["aggregate"]
    print(f"  aggregate (daily): {json.dumps(aggregate_out, default=str)}", flush=True)
    bench(f"incremental_daily_run_{SCALE}_s", inc_s, "s")
    bench(f"incremental_daily_{SCALE}_symbols", report["changed_symbols"], "symbols")
    for state, seconds in machine.state_durations(result["execution_arn"]).items():
        bench(f"incremental_daily_{SCALE}_state_{state}_s", seconds, "s")
    for state, mb in sorted(grown_daily.items()):
        bench(f"incremental_daily_{SCALE}_task_{state}_rss_growth", mb, "MB")
    bench("ingest_container_import_rss", baseline, "MB")

    # the artifact of the daily run's version both ways: appended (as the run did) and rebuilt whole
    from stockscreen.pipeline.service import default_service

    artifacts = default_service().artifacts
    assert artifacts is not None
    version = int(aggregate_out["version"])
    full = artifacts.publish(version)
    appended = artifacts.publish(version, bars=aggregate_out["bars"])
    assert aggregate_out["artifact"]["mode"] == appended["mode"] == "appended", (aggregate_out, appended)
    bench(f"aggregate_artifact_{SCALE}_appended_s", appended["seconds"]["total"], "s")
    bench(f"aggregate_artifact_{SCALE}_full_rebuild_s", full["seconds"]["total"], "s")

    dataset = f"synth {SCALE} seed {SEED}"
    # the daily run's Aggregate (what runs every day) at this scale; a 20-year figure from smaller runs is
    # extrapolated by hand from two scales (its memory is bounded by measures.TAIL, not linear in years)
    record_peak(
        "ingest.Aggregate",
        baseline + grown.get("Aggregate", 0.0),
        f"Aggregate in the daily runs of {n_last} symbols through the state machine (snapshot + appended "
        "artifact): a new container's imports plus the task's growth of the process's resident memory",
        dataset,
        full_rebuild_peak_rss_mb=round(agg["peak_rss_mb"]),
        full_rebuild_what="Aggregate in a new process, forced: snapshot rebuild and the artifact written whole",
    )
    for state in HANDLERS:
        if state == "Aggregate" or state not in grown:  # (RecordFailure does not run in a good run)
            continue
        record_peak(
            f"ingest.{state}",
            baseline + grown.get(state, 0.0),
            f"{state} in the daily runs of {n_last} symbols through the state machine: a new container's imports "
            "plus the task's growth of the process's resident memory",
            dataset,
        )
