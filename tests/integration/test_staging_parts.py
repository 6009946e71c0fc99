"""Staged batches are stored in parts (``raw_batches.part``) and read back whole."""

from __future__ import annotations

import uuid

import numpy as np
import psycopg
import pytest

from stockscreen.db.engine import get_engine
from stockscreen.db.migrate import downgrade, upgrade
from stockscreen.pipeline import staging
from stockscreen.pipeline.columns import read_bars_file, take, type_bars
from tests.conftest import FIXTURES, _plain, truncate_all


def test_a_batch_larger_than_a_part_is_staged_in_parts_and_read_back_whole(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    truncate_all(stack_env["DATABASE_URL"])
    monkeypatch.setattr(staging, "PART_BYTES", 10_000)
    bars = type_bars(read_bars_file(FIXTURES / "bars-sample.csv.gz"))
    half = len(bars) // 2
    first, second = take(bars, np.arange(half)), take(bars, np.arange(half, len(bars)))
    run_id = str(uuid.uuid4())
    with get_engine().begin() as conn:
        # staged out of order: read back in batch order
        assert staging.stage_columns(conn, run_id, "load", "b1", second, quarantined=3) == len(second)
        assert staging.stage_columns(conn, run_id, "load", "b0", first, quarantined=0) == len(first)
        parts = conn.exec_driver_sql(
            "SELECT batch, count(*), sum(rows), min(part), max(part) FROM raw_batches GROUP BY batch ORDER BY batch"
        ).all()
        assert [p[0] for p in parts] == ["b0", "b1"]
        assert all(p[1] > 20 and p[3] == 0 and p[4] == p[1] - 1 for p in parts)  # parts 0..n-1
        assert [p[2] for p in parts] == [len(first), len(second)]  # the bar count, once per batch
        both = staging.read_columns(conn, run_id, "load")
        (one, extra), *_ = staging.read_columns(conn, run_id, "load", "b1")
    assert [len(b) for b, _ in both] == [len(first), len(second)]
    assert int(extra["quarantined"]) == 3
    for got, want in ((both[0][0], first), (one, second)):
        assert got.symbols == want.symbols and got.files == want.files and got.raw == want.raw
        for name in ("file", "line", "symbol", "day", "error"):
            assert np.array_equal(getattr(got, name), getattr(want, name))
        for name, values in want.values.items():
            assert np.array_equal(got.values[name], values, equal_nan=True)


def test_0007_adds_the_part_to_the_staging_key_and_downgrades_cleanly(pg_server_url: str) -> None:
    name = f"stockscreen_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server_url.rsplit("/", 1)[0] + f"/{name}"
    key = (
        "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i CROSS JOIN unnest(i.indkey) WITH ORDINALITY "
        "AS k(att, n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att "
        "WHERE i.indrelid = 'raw_batches'::regclass AND i.indisprimary"
    )
    try:
        upgrade(url, "0006_staging")
        with psycopg.connect(_plain(url)) as conn:
            assert conn.execute(key).fetchone() == (["run_id", "stage", "batch"],)
        upgrade(url, "0007_staged_parts")
        with psycopg.connect(_plain(url), autocommit=True) as conn:
            assert conn.execute(key).fetchone() == (["run_id", "stage", "batch", "part"],)
            run = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO raw_batches (run_id, stage, batch, part, rows, data) "
                "VALUES (%s, 'load', 'b0', 0, 2, 'a'), (%s, 'load', 'b0', 1, 0, 'b')",
                (run, run),
            )
        downgrade(url, "0006_staging")  # staged rows are transient: dropped
        with psycopg.connect(_plain(url)) as conn:
            assert conn.execute(key).fetchone() == (["run_id", "stage", "batch"],)
            assert conn.execute("SELECT count(*) FROM raw_batches").fetchone() == (0,)
    finally:
        with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
