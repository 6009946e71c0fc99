"""Fetch: read provider files and stage their rows (typed where possible) for validation."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from stockscreen.core.errors import DataFileError, Invalid
from stockscreen.db.engine import psycopg_connection
from stockscreen.market.providers import CONSTITUENT_HEADERS, FUNDAMENTAL_HEADERS, BarRow, detect_kind, iter_reference
from stockscreen.pipeline.columns import (
    Selection,
    TypedBars,
    concat,
    from_rows,
    pack,
    pack_selection,
    read_bars_file,
    type_bars,
    unpack,
    unpack_any,
)

#: bytes per ``raw_batches`` row: PostgreSQL stores and returns megabyte values several times
#: faster than one value of tens of megabytes
PART_BYTES = 1 << 20


def stage_columns(
    conn: Connection, run_id: str, stage: str, batch: str, bars: TypedBars, **extra: npt.ArrayLike
) -> int:
    """Stage a batch of typed bars (and ``extra`` arrays) as one value, in ``raw_batches`` rows of
    up to :data:`PART_BYTES` each (parts 0, 1, ...; the bar count on part 0).

    Rows that could not be typed are staged too, with their error and the row as read, for the
    quality rules to quarantine.
    """
    _stage_value(conn, run_id, stage, batch, pack(bars, **extra), len(bars))
    return len(bars)


def stage_selection(conn: Connection, run_id: str, batch: str, selection: Selection, **extra: npt.ArrayLike) -> int:
    """Stage a load batch as a :class:`Selection` of the run's Fetch batches (which stay staged until
    the run ends): what a batch of almost every fetched row costs to stage. The row count, on part
    0, is the selected rows'."""
    rows = selection.fetched - len(selection.excluded)
    _stage_value(conn, run_id, "load", batch, pack_selection(selection, **extra), rows)
    return rows


def _stage_value(conn: Connection, run_id: str, stage: str, batch: str, value: bytearray, rows: int) -> None:
    data = memoryview(value)
    conn.execute(
        text("INSERT INTO raw_batches (run_id, stage, batch, part, rows, data) VALUES (:r, :s, :b, :p, :n, :d)"),
        [
            {"r": run_id, "s": stage, "b": batch, "p": k, "n": 0 if k else rows, "d": data[at : at + PART_BYTES]}
            for k, at in enumerate(range(0, max(len(data), 1), PART_BYTES))
        ],
    )


def _read_values(conn: Connection, run_id: str, stage: str, batch: str | None) -> list[bytes]:
    """The staged values of a run's stage (one batch's, or every batch's in batch order)."""
    # bytea in binary (the text form would be hex, twice the size and decoded here)
    with psycopg_connection(conn).cursor(binary=True) as cur:
        rows = cur.execute(
            "SELECT batch, data FROM raw_batches WHERE run_id = %(r)s AND stage = %(s)s "
            "AND (%(b)s::text IS NULL OR batch = %(b)s) ORDER BY batch, part",
            {"r": run_id, "s": stage, "b": batch},
        ).fetchall()
    values: dict[str, list[bytes]] = {}
    for name, part in rows:
        values.setdefault(name, []).append(part)
    return [parts[0] if len(parts) == 1 else b"".join(parts) for parts in values.values()]


def read_columns(
    conn: Connection, run_id: str, stage: str, batch: str | None = None
) -> list[tuple[TypedBars, dict[str, npt.NDArray[Any]]]]:
    """The staged batches of a run's stage (one, or all in batch order)."""
    return [unpack(value) for value in _read_values(conn, run_id, stage, batch)]


def read_fetched(conn: Connection, run_id: str) -> TypedBars:
    """Every Fetch batch of the run as one (what the quality rules see, and a :class:`Selection` refers to)."""
    return concat([bars for bars, _ in read_columns(conn, run_id, "fetch")])


def read_load_batch(
    conn: Connection, run_id: str, batch: str
) -> tuple[TypedBars, npt.NDArray[np.intp], dict[str, npt.NDArray[Any]]] | None:
    """A staged load batch: the bars, which of their rows it holds, and its extra arrays; None if not staged."""
    values = _read_values(conn, run_id, "load", batch)
    if not values:
        return None
    staged, extra = unpack_any(values[0])
    if isinstance(staged, TypedBars):
        return staged, np.arange(len(staged)), extra
    fetched = read_fetched(conn, run_id)
    if len(fetched) != staged.fetched:
        raise Invalid(f"load batch {batch} of run {run_id} refers to {staged.fetched} fetched rows, not {len(fetched)}")
    return fetched, staged.rows(), extra


def stage_rows(conn: Connection, run_id: str, batch: str, rows: Iterable[BarRow]) -> int:
    """Stage bars given row by row (an online provider's)."""
    return stage_columns(conn, run_id, "fetch", batch, type_bars(from_rows(rows)))


def stage_bars(conn: Connection, run_id: str, path: Path, batch: str = "") -> int:
    """Stage one bars file."""
    return stage_columns(conn, run_id, "fetch", batch, type_bars(read_bars_file(path)))


def stage_reference(conn: Connection, run_id: str, path: Path, kind: str, batch: str = "") -> int:
    headers = CONSTITUENT_HEADERS if kind == "constituents" else FUNDAMENTAL_HEADERS
    lines: list[int] = []
    rows: list[str] = []
    for line, row in iter_reference(path, headers, kind):
        lines.append(line)
        rows.append(json.dumps(row))
    if rows:  # one statement for them all
        conn.execute(
            text(
                "INSERT INTO raw_reference (run_id, batch, kind, file, line, row) SELECT :run_id, :batch, :kind, "
                ":file, x.line, x.row FROM unnest(CAST(:lines AS integer[]), CAST(:rows AS jsonb[])) AS x(line, row)"
            ),
            {"run_id": run_id, "batch": batch, "kind": kind, "file": path.name, "lines": lines, "rows": rows},
        )
    return len(rows)


def clear_batch(conn: Connection, run_id: str, batch: str) -> None:
    """Forget what an earlier attempt of this batch staged (a retried Fetch replaces its rows)."""
    conn.execute(
        text("DELETE FROM raw_batches WHERE run_id = :r AND stage = 'fetch' AND batch = :b"), {"r": run_id, "b": batch}
    )
    conn.execute(text("DELETE FROM raw_reference WHERE run_id = :r AND batch = :b"), {"r": run_id, "b": batch})


def stage_file(conn: Connection, run_id: str, batch: str, path: Path) -> dict[str, int]:
    """Stage one file; a poisoned file raises ``DataFileError`` and the caller rolls back."""
    counts = {"bars": 0, "constituents": 0, "fundamentals": 0, "files": 1}
    if not path.exists():
        raise DataFileError(str(path), None, "no such file")
    kind = detect_kind(path)
    if kind == "bars":
        counts["bars"] += stage_bars(conn, run_id, path, batch)
    else:
        counts[kind] += stage_reference(conn, run_id, path, kind, batch)
    return counts
