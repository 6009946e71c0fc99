"""Ingest benchmarks (figures, not pass/fail timing): ``BENCH <name> <value> <unit>`` lines.

1. Backfill of the full demo history (619,040 bars, with the constituents and fundamentals files)
   the way ``stockscreen ingest csv`` / ``make dev`` runs it, task by task as the state machine
   does: Plan, Fetch (read + type the files, stage them), Validate (every quality rule, findings
   and quarantine recorded), LoadReference (securities, fundamentals), Load (the Map of load
   batches, MAX_CONCURRENCY at a time: bars upserted, weekly/monthly rollups rebuilt; into the
   empty database this is the one bulk batch that fills the partitions whole and swaps them in,
   see ``load.BulkLoad``). Side by side, in the same run, with two peers, each into an empty
   temporary table: ``raw_copy_csv``, the decompressed file handed to PostgreSQL's own CSV parser
   (no typing rules, no quality rules, no index: the physical limit, the issue's yardstick;
   ``ingest_backfill_vs_copy_csv``), and ``raw_copy``, a plain COPY of the same rows as a Python
   program reads them (the project's row-by-row CSV reader; ``ingest_backfill_vs_copy``). The
   three take turns for ``ROUNDS`` rounds and each figure is the median of its rounds (the
   pipeline's cold first round is also shown on its own).
   Aggregate (indicators + the screening snapshot, computed once per backfill) and Report follow,
   timed apart: ``backfill_snapshot_s``, and ``backfill_end_to_end_rows_per_s`` with them included.
2. An incremental daily run (the last demo day, all ~500 symbols) end to end through the state
   machine, on top of the history minus that day.
"""

from __future__ import annotations

import csv
import gzip
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from devstack.stepfunctions import IngestStateMachine
from stockscreen.market.providers import iter_bars
from stockscreen.pipeline import service
from stockscreen.pipeline.definition import MAX_CONCURRENCY
from tests.conftest import DEMO, truncate_all

BARS = DEMO / "sp500-daily-2013-2018.csv.gz"
REFERENCE = [DEMO / "sp500-constituents-2018-01-19.csv", DEMO / "sp500-fundamentals-2018-02-08.csv"]
LAST_DAY = "2018-02-07"


def _plain(url: str) -> str:
    return url.replace("+psycopg", "")


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.1f} {unit}", flush=True)


def _raw_copy(url: str) -> tuple[int, float]:
    """The physical limit: the same file parsed the same way, COPYed into an empty typed table."""
    with psycopg.connect(_plain(url)) as conn:
        conn.execute(
            "CREATE TEMP TABLE copy_peer (symbol text, date date, open float8, high float8, low float8, "
            "close float8, volume float8)"
        )
        start = time.perf_counter()
        n = 0
        with conn.cursor() as cur, cur.copy("COPY copy_peer FROM STDIN") as copy:
            for _line, (sym, d, o, h, lo, c, v) in iter_bars(BARS):
                copy.write_row((sym, d or None, o or None, h or None, lo or None, c or None, v or None))
                n += 1
        conn.commit()
        return n, time.perf_counter() - start


def _raw_copy_csv(url: str) -> tuple[int, float]:
    """A stricter floor: the decompressed file as is, parsed by PostgreSQL's own CSV reader."""
    with psycopg.connect(_plain(url)) as conn:
        conn.execute(
            "CREATE TEMP TABLE copy_csv_peer (date date, open float8, high float8, low float8, close float8, "
            "volume float8, symbol text)"
        )
        start = time.perf_counter()
        with gzip.open(BARS, "rb") as src, conn.cursor() as cur:
            with cur.copy("COPY copy_csv_peer FROM STDIN (FORMAT csv, HEADER)") as copy:
                copy.write(src.read())
            n = cur.execute("SELECT count(*) FROM copy_csv_peer").fetchone()[0]  # type: ignore[index]
        conn.commit()
        return n, time.perf_counter() - start


def _pipeline_backfill(paths: list[Path]) -> tuple[dict[str, int], float, float]:
    """(load totals, seconds up to the loaded bars, seconds of Aggregate + Report)."""
    run_id = str(uuid.uuid4())
    state: dict = {"run_id": run_id, "source": {"paths": [str(p) for p in paths]}}
    phases: dict[str, float] = {}
    start = t = time.perf_counter()
    plan = service.plan(state)
    state["fetch"] = [service.fetch({**state, "batch": b}) for b in plan["batches"]]
    phases["plan+fetch (read, type, stage)"], t = time.perf_counter() - t, time.perf_counter()
    state["validate"] = service.validate(state)
    phases["validate (quality rules, quarantine)"], t = time.perf_counter() - t, time.perf_counter()
    service.load_reference(state)
    # the LoadBatches Map runs its iterations MAX_CONCURRENCY at a time; so does this
    with ThreadPoolExecutor(MAX_CONCURRENCY) as pool:
        state["load"] = list(
            pool.map(lambda b: service.load_batch({**state, "batch": b}), state["validate"]["batches"])
        )
    phases["load reference + bars (upsert + rollups)"] = time.perf_counter() - t
    elapsed = time.perf_counter() - start
    for name, seconds in phases.items():
        print(f"  phase {name}: {seconds:.2f} s", flush=True)
    batches = state["validate"]["batches"]
    print(f"  load batches: {len(batches)} ({sum(bool(b.get('bulk')) for b in batches)} bulk)", flush=True)
    t = time.perf_counter()
    state["aggregate"] = service.aggregate(state)
    service.report(state)
    return service._load_totals(state), elapsed, time.perf_counter() - t


#: rounds of the three contenders, taking turns (a round: row-reader COPY, CSV COPY, the pipeline
#: into an emptied database); each figure is the median of its rounds, so a busy moment weighs on
#: all three alike. The pipeline's first round in a fresh process is its cold one (first large
#: allocations, the builders' first connections): it is printed apart, as ``..._first_round``
ROUNDS = 5


def test_backfill_and_incremental(stack_env: dict[str, str], tmp_path: Path) -> None:
    url = stack_env["DATABASE_URL"]
    copies, csvs, pipes, snapshots = [], [], [], []
    for k in range(ROUNDS):
        truncate_all(url)
        n, copy_s = _raw_copy(url)
        n_csv, csv_s = _raw_copy_csv(url)
        assert n_csv == n
        totals, pipe_s, snapshot_s = _pipeline_backfill([*REFERENCE, BARS])
        assert totals["inserted"] > 618_000
        print(
            f"  round {k + 1}: row-reader COPY {copy_s:.2f} s, CSV COPY {csv_s:.2f} s, pipeline {pipe_s:.2f} s "
            f"({csv_s / pipe_s:.2f}x the CSV COPY)",
            flush=True,
        )
        copies.append(copy_s)
        csvs.append(csv_s)
        pipes.append(pipe_s)
        snapshots.append(snapshot_s)
    copy_s, csv_s, pipe_s, snapshot_s = (statistics.median(x) for x in (copies, csvs, pipes, snapshots))
    bench("raw_copy_rows_per_s", n / copy_s, "rows/s")
    bench("raw_copy_csv_rows_per_s", n / csv_s, "rows/s")
    bench("backfill_pipeline_rows_per_s", n / pipe_s, "rows/s")
    bench("backfill_vs_raw_copy", 100 * copy_s / pipe_s, "%")
    print(f"BENCH ingest_backfill_vs_copy {copy_s / pipe_s:.2f} x", flush=True)
    print(f"BENCH ingest_backfill_vs_copy_csv {csv_s / pipe_s:.2f} x", flush=True)
    print(f"BENCH ingest_backfill_vs_copy_csv_first_round {csvs[0] / pipes[0]:.2f} x", flush=True)
    bench("backfill_snapshot_s", snapshot_s, "s")
    bench("backfill_end_to_end_rows_per_s", n / (pipe_s + snapshot_s), "rows/s")

    # incremental: remove the last day, then ingest just that day through the state machine
    last_day = tmp_path / f"bars-{LAST_DAY}.csv"
    with gzip.open(BARS, "rt") as src, last_day.open("w", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        writer.writerow(next(reader))
        writer.writerows(r for r in reader if r[0] == LAST_DAY)
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        deleted = conn.execute("DELETE FROM daily_bars WHERE date = %s", (LAST_DAY,)).rowcount
    machine = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])
    start = time.perf_counter()
    result = machine.run({"source": {"paths": [str(last_day)]}})
    inc_s = time.perf_counter() - start
    assert result["status"] == "SUCCEEDED", result
    assert result["output"]["report"]["inserted"] == deleted
    bench("incremental_daily_run_s", inc_s, "s")
    durations = machine.state_durations(result["execution_arn"])
    for state, seconds in durations.items():
        print(f"  state {state}: {seconds:.2f} s", flush=True)
    # the same run without the Aggregate state (indicators + snapshot, measured by its own benchmark)
    bench("incremental_daily_run_without_aggregate_s", inc_s - durations.get("Aggregate", 0.0), "s")
    bench("incremental_daily_symbols", result["output"]["report"]["changed_symbols"], "symbols")
