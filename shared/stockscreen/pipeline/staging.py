"""Fetch: read provider files and stage their rows (typed where possible) for validation."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from stockscreen.db.engine import psycopg_connection
from stockscreen.errors import DataFileError
from stockscreen.market.providers import CONSTITUENT_HEADERS, FUNDAMENTAL_HEADERS, BarRow, detect_kind, iter_reference
from stockscreen.pipeline.binary import COPY_HEADER, COPY_TRAILER, PG_EPOCH_DAYS, Column, copy_rows
from stockscreen.pipeline.columns import (
    EPOCH,
    NAT,
    OK,
    PARSE_ERRORS,
    PRICE_COLUMNS,
    TypedBars,
    from_rows,
    read_bars_file,
    type_bars,
)

_STAGE_COLUMNS = "run_id, batch, file, line, symbol, date, open, high, low, close, volume"


def stage_columns(conn: Connection, run_id: str, batch: str, bars: TypedBars) -> int:
    """COPY typed bars into ``raw_bars``: typed rows in binary, rows that failed typing with their error.

    The bulk goes as one binary COPY built by NumPy, symbol by symbol (so that each load batch,
    a symbol range, finds its rows together); a row that could not be typed is staged with
    ``parse_error`` and the row as read (``raw``) for the quality rules to quarantine.
    """
    cursor = psycopg_connection(conn).cursor()
    run, batch_text = uuid.UUID(run_id).bytes, batch.encode()
    clean = np.flatnonzero(bars.error == OK)
    if len(clean):
        # by symbol (as the load batches' symbol ranges read them), then origin and line
        clean = clean[np.lexsort((bars.line[clean], bars.file[clean], bars.symbol[clean]))]
        key = bars.symbol[clean].astype(np.int64) * len(bars.files) + bars.file[clean]
        heads = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        with cursor.copy(f"COPY raw_bars ({_STAGE_COLUMNS}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(COPY_HEADER)
            for a, b in zip(heads.tolist(), [*heads[1:].tolist(), len(clean)], strict=True):
                rows = clean[a:b]
                code = int(bars.symbol[rows[0]])
                symbol = bars.symbols[code].encode() if code >= 0 else None
                columns: list[Column] = [run, batch_text, bars.files[bars.file[rows[0]]].encode(), bars.line[rows]]
                columns += [symbol, (bars.day[rows] - PG_EPOCH_DAYS).astype(np.int32)]
                columns += [bars.values[name][rows] for name in PRICE_COLUMNS]
                copy.write(copy_rows(len(rows), columns))
            copy.write(COPY_TRAILER)
    failed = np.flatnonzero(bars.error != OK).tolist()
    if failed:
        with cursor.copy(f"COPY raw_bars ({_STAGE_COLUMNS}, parse_error, raw) FROM STDIN") as copy:
            for i in failed:
                sym = int(bars.symbol[i])
                day = int(bars.day[i])
                values = [float(bars.values[name][i]) for name in PRICE_COLUMNS]
                copy.write_row(
                    (
                        run_id,
                        batch,
                        bars.files[bars.file[i]],
                        int(bars.line[i]),
                        bars.symbols[sym] if sym >= 0 else None,
                        None if day == NAT else EPOCH + dt.timedelta(days=day),
                        *(None if math.isnan(v) else v for v in values),
                        PARSE_ERRORS[int(bars.error[i])],
                        bars.raw[i],
                    )
                )
    return len(bars)


def stage_rows(conn: Connection, run_id: str, batch: str, rows: Iterable[BarRow]) -> int:
    """Stage bars given row by row (an online provider's)."""
    return stage_columns(conn, run_id, batch, type_bars(from_rows(rows)))


def stage_bars(conn: Connection, run_id: str, path: Path, batch: str = "") -> int:
    """COPY one bars file into ``raw_bars``."""
    return stage_columns(conn, run_id, batch, type_bars(read_bars_file(path)))


def stage_reference(conn: Connection, run_id: str, path: Path, kind: str, batch: str = "") -> int:
    headers = CONSTITUENT_HEADERS if kind == "constituents" else FUNDAMENTAL_HEADERS
    rows: list[dict[str, Any]] = []

    for line, row in iter_reference(path, headers, kind):
        rows.append(
            {"run_id": run_id, "batch": batch, "kind": kind, "file": path.name, "line": line, "row": json.dumps(row)}
        )
    if rows:
        conn.execute(
            text(
                "INSERT INTO raw_reference (run_id, batch, kind, file, line, row) "
                "VALUES (:run_id, :batch, :kind, :file, :line, CAST(:row AS jsonb))"
            ),
            rows,
        )
    return len(rows)


def clear_batch(conn: Connection, run_id: str, batch: str) -> None:
    """Forget what an earlier attempt of this batch staged (a retried Fetch replaces its rows)."""
    conn.execute(text("DELETE FROM raw_bars WHERE run_id = :r AND batch = :b"), {"r": run_id, "b": batch})
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


def stage_files(conn: Connection, run_id: str, paths: list[Path]) -> dict[str, int]:
    """Stage every file in one go (all or nothing)."""
    counts = {"bars": 0, "constituents": 0, "fundamentals": 0, "files": 0}
    for i, path in enumerate(paths):
        batch = f"f{i}"
        clear_batch(conn, run_id, batch)
        for k, v in stage_file(conn, run_id, batch, path).items():
            counts[k] += v
    return counts
