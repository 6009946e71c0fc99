"""The bulk load path: a backfill into empty partitions, filled as standalone tables and swapped in.

It must leave exactly what the row-by-row path leaves (bars and rollups), keep re-runs no-ops,
and never show or leave half a batch: a failure rolls everything back and drops what was built.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest
from sqlalchemy import text

from stockscreen.core.clients import reset_clients
from stockscreen.core.errors import Invalid, TransientError
from stockscreen.db.engine import get_engine
from stockscreen.pipeline import load, quality, service
from tests.conftest import truncate_all
from tests.integration.test_ingest_faults import SAMPLE, _q, _x

#: what a load leaves behind, in full
CONTENTS = {
    "bars": "SELECT s.symbol, b.date, b.open, b.high, b.low, b.close, b.volume FROM daily_bars b "
    "JOIN securities s ON s.id = b.security_id ORDER BY 1, 2",
    "weekly": "SELECT s.symbol, r.period_start, r.open, r.high, r.low, r.close, r.volume, r.first_date, "
    "r.last_date, r.bars FROM bars_weekly r JOIN securities s ON s.id = r.security_id ORDER BY 1, 2",
    "monthly": "SELECT s.symbol, r.period_start, r.open, r.high, r.low, r.close, r.volume, r.first_date, "
    "r.last_date, r.bars FROM bars_monthly r JOIN securities s ON s.id = r.security_id ORDER BY 1, 2",
}

#: the partitions of daily_bars, their bounds and their indexes (the swap must keep the table's shape)
SHAPE = (
    "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reloptions, "
    "(SELECT array_agg(x.relname || ':' || pg_get_indexdef(x.oid) ORDER BY x.relname) FROM pg_index i "
    "JOIN pg_class x ON x.oid = i.indexrelid WHERE i.indrelid = c.oid), "
    "(SELECT array_agg(conname ORDER BY conname) FROM pg_constraint WHERE conrelid = c.oid) "
    "FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid WHERE h.inhparent = 'daily_bars'::regclass ORDER BY 1"
)


#: the rollup tables' indexes and constraints (a bulk load into empty ones builds their key at the end)
ROLLUP_SHAPE = (
    "SELECT c.relname, (SELECT array_agg(x.relname || ':' || pg_get_indexdef(x.oid) ORDER BY x.relname) "
    "FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE i.indrelid = c.oid), "
    "(SELECT array_agg(conname || ':' || pg_get_constraintdef(k.oid) ORDER BY conname) FROM pg_constraint k "
    "WHERE k.conrelid = c.oid) FROM pg_class c WHERE c.relname IN ('bars_weekly', 'bars_monthly') ORDER BY 1"
)


def _contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    return {name: _q(url, sql) for name, sql in CONTENTS.items()}


def _leftovers(url: str) -> list[str]:
    return [
        r[0]
        for r in _q(
            url, "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s", "daily\\_bars\\_%\\_bulk%"
        )
    ]


@pytest.fixture
def url(stack_env: dict[str, str]) -> Iterator[str]:
    truncate_all(stack_env["DATABASE_URL"])
    reset_clients()
    yield stack_env["DATABASE_URL"]
    reset_clients()


def _up_to_load(paths: list[str]) -> dict[str, Any]:
    """Plan, Fetch, Validate and LoadReference of a new run (its state, ready for the Load batches)."""
    state: dict[str, Any] = {"run_id": str(uuid.uuid4()), "source": {"paths": paths}}
    plan = service.plan(state)
    state["fetch"] = [service.fetch({**state, "batch": b}) for b in plan["batches"]]
    state["validate"] = service.validate(state)
    service.load_reference(state)
    return state


def _run(paths: list[str]) -> dict[str, Any]:
    state = _up_to_load(paths)
    state["load"] = [service.load_batch({**state, "batch": b}) for b in state["validate"]["batches"]]
    service.report(state)
    return state


def test_the_bulk_path_leaves_what_the_row_by_row_path_leaves(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shape, rollup_shape = _q(url, SHAPE), _q(url, ROLLUP_SHAPE)
    assert all(indexes and len(indexes) == 1 for _, indexes, _ in rollup_shape)  # the primary key
    bulk = _run(SAMPLE)
    assert [b.get("bulk") for b in bulk["validate"]["batches"]] == [True]  # one batch, into empty partitions
    assert _q(url, ROLLUP_SHAPE) == rollup_shape
    for table in ("bars_weekly", "bars_monthly"):  # the rollups' keys are enforced
        with pytest.raises(psycopg.errors.UniqueViolation):
            _x(url, f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1")
    loaded = _contents(url)
    assert len(loaded["bars"]) == sum(part["inserted"] for part in bulk["load"]) > 8000
    assert sum(part["rollup_rows"] for part in bulk["load"]) == len(loaded["weekly"]) + len(loaded["monthly"])
    # the partitions swapped in look like the ones they replaced: bounds, key (attached), constraints
    assert _q(url, SHAPE) == shape
    assert _leftovers(url) == []
    # the key is enforced on the swapped-in partitions
    with pytest.raises(psycopg.errors.UniqueViolation):
        _x(url, "INSERT INTO daily_bars SELECT * FROM daily_bars LIMIT 1")

    # a re-run finds every bar: nothing to load, and no bulk batch (the partitions are not empty)
    again = _run(SAMPLE)
    assert [b.get("bulk") for b in again["validate"]["batches"]] == [None]
    assert sum(p["inserted"] + p["updated"] for p in again["load"]) == 0
    assert _contents(url) == loaded

    # the same files the row-by-row way, in several batches
    truncate_all(url)
    monkeypatch.setenv("INGEST_BULK_LOAD_ROWS", "0")
    monkeypatch.setenv("INGEST_LOAD_BATCH_ROWS", "3000")
    reset_clients()
    rows = _run(SAMPLE)
    assert len(rows["validate"]["batches"]) > 1
    assert not any(b.get("bulk") for b in rows["validate"]["batches"])
    assert _contents(url) == loaded


def test_a_bulk_batch_is_staged_as_a_selection_of_the_fetched_rows(url: str) -> None:
    state = _up_to_load(SAMPLE)
    (batch,) = state["validate"]["batches"]
    assert batch["bulk"] is True
    sizes = dict(_q(url, "SELECT stage, sum(length(data)) FROM raw_batches GROUP BY stage"))
    staged_rows = _q(url, "SELECT rows FROM raw_batches WHERE stage = 'load' AND part = 0")
    fetched = sum(part["bars"] for part in state["fetch"])
    quarantined = sum(n for rule, n in state["validate"]["findings"].items() if rule in quality.QUARANTINING)
    # the rows it leaves out, not a copy of the rows it loads
    assert sizes["load"] * 100 < sizes["fetch"]
    assert staged_rows == [(fetched - quarantined,)]
    loaded = service.load_batch({**state, "batch": batch})
    assert loaded["inserted"] == fetched - quarantined > 8000
    assert loaded["quarantined"] == quarantined > 0

    # a selection only refers to the Fetch batches it was made from
    _x(url, "DELETE FROM raw_batches WHERE stage = 'fetch' AND batch = (SELECT max(batch) FROM raw_batches)")
    with pytest.raises(Invalid, match="refers to"):
        service.load_batch({**state, "batch": batch})


def test_a_bulk_batch_that_fails_leaves_nothing_and_its_retry_loads_it(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = _q(url, SHAPE)
    state = _up_to_load(SAMPLE)
    (batch,) = state["validate"]["batches"]
    assert batch["bulk"] is True

    build = load.BulkLoad.build

    def build_and_wait(self: load.BulkLoad, parts: list[load.Partition], bars: Any) -> None:
        build(self, parts, bars)
        self._wait()

    def broken(*args: Any, **kwargs: Any) -> int:
        assert len(_leftovers(url)) == 6  # the standalone partitions, built (2013..2018)
        raise RuntimeError("rollups failed")

    # the batch fails in its transaction once the standalone partitions are built
    monkeypatch.setattr(load.BulkLoad, "build", build_and_wait)
    monkeypatch.setattr(load, "refresh_rollups", broken)
    with pytest.raises(RuntimeError, match="rollups failed"):
        service.load_batch({**state, "batch": batch})
    monkeypatch.undo()
    assert _q(url, "SELECT count(*) FROM daily_bars")[0][0] == 0
    assert _q(url, "SELECT (SELECT count(*) FROM bars_weekly) + (SELECT count(*) FROM bars_monthly)")[0][0] == 0
    assert _leftovers(url) == []
    assert _q(url, SHAPE) == shape

    # the retry (Step Functions retries the task) loads the batch in bulk after all
    result = service.load_batch({**state, "batch": batch})
    assert result["inserted"] > 8000 and result["updated"] == 0
    assert _q(url, "SELECT count(*) FROM daily_bars")[0][0] == result["inserted"]
    assert _leftovers(url) == []


def test_bars_written_meanwhile_fail_the_swap_and_the_retry_loads_row_by_row(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = _up_to_load(SAMPLE)
    (batch,) = state["validate"]["batches"]
    build = load.BulkLoad.build

    def build_then_intrude(self: load.BulkLoad, parts: list[load.Partition], bars: Any) -> None:
        build(self, parts, bars)
        # another writer (not an ingest run: those are one at a time) adds a bar to a target partition
        _x(url, "INSERT INTO daily_bars VALUES (999999, '2016-03-01', 1, 1, 1, 1, 1)")

    monkeypatch.setattr(load.BulkLoad, "build", build_then_intrude)
    with pytest.raises(TransientError, match="during a bulk load"):
        service.load_batch({**state, "batch": batch})
    monkeypatch.undo()
    assert _q(url, "SELECT security_id FROM daily_bars")[0] == (999999,)  # only the intruder
    assert _leftovers(url) == []

    retried = service.load_batch({**state, "batch": batch})  # not empty any more: row by row
    assert retried["inserted"] + 1 == _q(url, "SELECT count(*) FROM daily_bars")[0][0]
    assert retried["rollup_rows"] > 0


def test_bulk_partitions_only_when_every_day_falls_in_an_empty_plain_partition(url: str) -> None:
    days = np.array([16_000, 16_500, 17_000], dtype=np.int64)  # 2013-10-22 .. 2016-07-18
    with get_engine().begin() as conn:
        parts = load.bulk_partitions(conn, days)
        assert parts is not None and [p.name for p in parts] == [
            "daily_bars_2013",
            "daily_bars_2015",
            "daily_bars_2016",
        ]
        # a day only the default partition takes
        assert load.bulk_partitions(conn, np.append(days, -5_000)) is None
        assert load.bulk_partitions(conn, days[:0]) is None
        conn.execute(text("INSERT INTO daily_bars VALUES (1, '2015-06-01', 1, 1, 1, 1, 1)"))
        assert load.bulk_partitions(conn, days) is None  # a partition with a bar
        conn.rollback()
    _x(
        url,
        "CREATE FUNCTION bulk_probe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; "
        "CREATE TRIGGER bulk_probe BEFORE INSERT ON daily_bars FOR EACH ROW EXECUTE FUNCTION bulk_probe()",
    )
    try:
        with get_engine().connect() as conn:
            assert load.bulk_partitions(conn, days) is None  # rows must pass through the trigger
    finally:
        _x(url, "DROP TRIGGER bulk_probe ON daily_bars; DROP FUNCTION bulk_probe()")


def test_a_failing_builder_fails_the_batch_and_leaves_nothing(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    state = _up_to_load(SAMPLE)
    (batch,) = state["validate"]["batches"]
    fill = load.BulkLoad._fill

    def fill_then_fail(self: load.BulkLoad, part: load.Partition, bars: Any) -> None:
        fill(self, part, bars)  # built and committed, then the builder fails
        if part.name == "daily_bars_2016":
            raise RuntimeError("builder failed")

    monkeypatch.setattr(load.BulkLoad, "_fill", fill_then_fail)
    with pytest.raises(RuntimeError, match="builder failed"):
        service.load_batch({**state, "batch": batch})
    assert _q(url, "SELECT count(*) FROM daily_bars")[0][0] == 0
    assert _q(url, "SELECT count(*) FROM bars_weekly")[0][0] == 0
    assert _leftovers(url) == []
