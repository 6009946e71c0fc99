"""Ingest rows per second for each file format (``BENCH`` lines), against PostgreSQL's CSV COPY.

The demo history (619,040 real bars, 505 symbols) is written in each format a user may bring:

- ``bars``: the many-symbol file as published (``date,open,...,Name``, gzip);
- ``bars_reordered``: many symbols, other column order and naming (``Ticker``, ``timestamp``, ``adj_close``), plain;
- ``yahoo_zip``: a zip of 505 one-symbol Yahoo-style files (``Date,Open,High,Low,Close,Adj Close,Volume``);
- ``yahoo_folder``: the same 505 files in a folder;
- ``stooq_zip``: a zip of 505 Stooq ``.txt`` files (``<TICKER>,<PER>,<DATE>,...``, ``YYYYMMDD``, ``.US``, CRLF).

Each is backfilled into an emptied database the way ``stockscreen ingest csv`` runs it, task by task
(Plan, Fetch: read + detect + type + stage, Validate: every quality rule, LoadReference, Load), with
the constituents and fundamentals files, as ``test_ingest_bench`` does for the demo file. The peer,
timed in the same rounds: the same rows (the decompressed demo file) handed to PostgreSQL's own CSV
COPY into an empty table. Rounds take turns; each figure is the median of its rounds.

``ingest_format_<name>_ratio_to_copy`` is the format's rows per second over the COPY's; the
per-symbol-file formats must not fall below 0.3x (asserted: a figure relative to its peer in the
same run, not a wall-clock time). ``ingest_format_<name>_fetch_rows_per_s`` is the Fetch task alone
(the format-specific part: reading, detecting, typing, staging).
"""

from __future__ import annotations

import csv
import gzip
import statistics
import time
import uuid
import zipfile
from collections import defaultdict
from pathlib import Path

from stockscreen.pipeline import service
from tests.bench.test_ingest_bench import BARS, REFERENCE, _pipeline_backfill, _raw_copy_csv
from tests.conftest import truncate_all

ROUNDS = 3
PER_SYMBOL = ("yahoo_zip", "yahoo_folder", "stooq_zip")


def _write_formats(root: Path) -> dict[str, Path]:
    by_symbol: dict[str, list[list[str]]] = defaultdict(list)
    with gzip.open(BARS, "rt") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            by_symbol[row[6]].append(row)
    out = {"bars": BARS}
    reordered = root / "bars-reordered.csv"
    with reordered.open("w") as f:
        f.write("Ticker,timestamp,Volume,Open,High,Low,Close,adj_close\n")
        for symbol, rows in sorted(by_symbol.items()):
            f.writelines(f"{symbol},{d},{v},{o},{h},{lo},{c},{c}\n" for d, o, h, lo, c, v, _ in rows)
    out["bars_reordered"] = reordered

    def yahoo(rows: list[list[str]]) -> str:
        lines = (f"{d},{o},{h},{lo},{c},{c},{v}\n" for d, o, h, lo, c, v, _ in rows)
        return "Date,Open,High,Low,Close,Adj Close,Volume\n" + "".join(lines)

    def stooq(symbol: str, rows: list[list[str]]) -> str:
        ticker = symbol.replace(".", "-") + ".US"
        lines = (f"{ticker},D,{d.replace('-', '')},000000,{o},{h},{lo},{c},{v},0\r\n" for d, o, h, lo, c, v, _ in rows)
        return "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\r\n" + "".join(lines)

    folder = root / "yahoo"
    folder.mkdir()
    with zipfile.ZipFile(root / "yahoo.zip", "w", zipfile.ZIP_DEFLATED) as yz:
        for symbol, rows in sorted(by_symbol.items()):
            body = yahoo(rows)
            yz.writestr(f"{symbol}.csv", body)
            (folder / f"{symbol}.csv").write_text(body)
    with zipfile.ZipFile(root / "stooq.zip", "w", zipfile.ZIP_DEFLATED) as sz:
        for symbol, rows in sorted(by_symbol.items()):
            sz.writestr(f"{symbol.lower().replace('.', '-')}.us.txt", stooq(symbol, rows))
    out.update({"yahoo_zip": root / "yahoo.zip", "yahoo_folder": folder, "stooq_zip": root / "stooq.zip"})
    return out


def _fetch_only(path: Path) -> tuple[int, float]:
    """The Fetch task of one file alone (the format's part): rows staged, seconds."""
    state = {"run_id": str(uuid.uuid4()), "source": {"paths": [str(path)]}}
    plan = service.plan(state)
    start = time.perf_counter()
    counts = [service.fetch({**state, "batch": b}) for b in plan["batches"]]
    seconds = time.perf_counter() - start
    # (the run is closed as failed, without the admins' notice: it was only fetched)
    service.default_service().repo.record_failure(state["run_id"], state["source"], "benchmark: Fetch measured alone")
    return sum(int(c["bars"]) for c in counts), seconds


def test_ingest_rows_per_second_by_format(stack_env: dict[str, str], tmp_path: Path) -> None:
    url = stack_env["DATABASE_URL"]
    files = _write_formats(tmp_path)
    copies: list[float] = []
    pipes: dict[str, list[float]] = defaultdict(list)
    fetches: dict[str, list[float]] = defaultdict(list)
    n = 0
    for k in range(ROUNDS):
        truncate_all(url)
        n, copy_s = _raw_copy_csv(url)
        copies.append(copy_s)
        line = [f"  round {k + 1}: CSV COPY {copy_s:.2f} s"]
        for name, path in files.items():
            truncate_all(url)
            totals, pipe_s, _ = _pipeline_backfill([*REFERENCE, path])
            assert totals["inserted"] > 618_000, (name, totals)
            pipes[name].append(pipe_s)
            truncate_all(url)
            staged, fetch_s = _fetch_only(path)
            assert staged == n, (name, staged)
            fetches[name].append(fetch_s)
            line.append(f"{name} {pipe_s:.2f} s (fetch {fetch_s:.2f} s)")
        print(", ".join(line), flush=True)
    copy_s = statistics.median(copies)
    print(f"BENCH ingest_format_copy_csv_rows_per_s {n / copy_s:.1f} rows/s", flush=True)
    ratios = {}
    for name in files:
        pipe_s, fetch_s = statistics.median(pipes[name]), statistics.median(fetches[name])
        ratios[name] = copy_s / pipe_s
        print(f"BENCH ingest_format_{name}_rows_per_s {n / pipe_s:.1f} rows/s", flush=True)
        print(f"BENCH ingest_format_{name}_ratio_to_copy {ratios[name]:.2f} x", flush=True)
        print(f"BENCH ingest_format_{name}_fetch_rows_per_s {n / fetch_s:.1f} rows/s", flush=True)
    slow = {name: round(ratios[name], 2) for name in PER_SYMBOL if ratios[name] < 0.3}
    assert not slow, f"per-symbol-file formats below 0.3x the CSV COPY: {slow}"
