"""Fetch: read provider files and stage their rows (typed where possible) for validation."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from stockscreen.db.engine import psycopg_connection
from stockscreen.errors import DataFileError
from stockscreen.market.providers import (
    CONSTITUENT_HEADERS,
    FUNDAMENTAL_HEADERS,
    BarRow,
    FileBars,
    detect_kind,
    iter_reference,
)


@lru_cache(maxsize=65_536)
def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _parse_float(value: str) -> float | None:
    if value == "":
        return None
    f = float(value)  # ValueError handled by caller
    if math.isnan(f) or math.isinf(f):
        raise ValueError(value)
    return f


_INF = float("inf")
_COPY_SPECIAL = frozenset("\t\n\r\\")


def _copy_text(value: str) -> str:
    """A value in COPY's text format."""
    if _COPY_SPECIAL.isdisjoint(value):
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _clean_number(value: str) -> bool:
    """True when ``value`` is a finite number PostgreSQL parses exactly as Python does."""
    try:
        f = float(value)
    except ValueError:
        return False
    return f == f and -_INF < f < _INF and "_" not in value


@lru_cache(maxsize=65_536)
def _iso_date(value: str) -> bool:
    return len(value) == 10 and _parse_date(value) is not None


def stage_rows(conn: Connection, run_id: str, batch: str, rows: Iterable[BarRow]) -> int:
    """COPY bars into ``raw_bars``; unparseable values are staged with ``parse_error``.

    Clean rows (the bulk) are written as COPY text with their original spellings, so PostgreSQL
    parses the numbers once; a row with a bad or missing value is typed here and flagged.
    """
    raw = psycopg_connection(conn)
    count = 0
    prefix_cache: dict[str, str] = {}
    batch_text = _copy_text(batch)
    with (
        raw.cursor() as cur,
        cur.copy(
            "COPY raw_bars (run_id, batch, file, line, symbol, date, open, high, low, close, volume, parse_error, raw)"
            " FROM STDIN"
        ) as copy,
    ):
        buf: list[str] = []
        for name, line, (symbol, date_s, o, h, lo, c, v) in rows:
            count += 1
            sym = symbol.upper()
            if (
                sym
                and _COPY_SPECIAL.isdisjoint(sym)
                and _iso_date(date_s)
                and _clean_number(o)
                and _clean_number(h)
                and _clean_number(lo)
                and _clean_number(c)
                and _clean_number(v)
            ):
                prefix = prefix_cache.get(name)
                if prefix is None:
                    prefix = prefix_cache[name] = f"{run_id}\t{batch_text}\t{_copy_text(name)}\t"
                buf.append(f"{prefix}{line}\t{sym}\t{date_s}\t{o}\t{h}\t{lo}\t{c}\t{v}\t\\N\t\\N\n")
                if len(buf) >= 2000:
                    copy.write("".join(buf))
                    buf.clear()
                continue
            if buf:
                copy.write("".join(buf))
                buf.clear()
            error: str | None = None
            day = _parse_date(date_s)
            if day is None:
                error = "bad_date"
            try:
                prices = (_parse_float(o), _parse_float(h), _parse_float(lo), _parse_float(c))
                vol = _parse_float(v)
            except ValueError:
                prices = (None, None, None, None)
                vol = None
                error = error or "bad_number"
            if error is None and (None in prices or vol is None):
                error = "missing_value"
            raw_text = None if error is None else ",".join((symbol, date_s, o, h, lo, c, v))
            copy.write_row((run_id, batch, name, line, sym or None, day, *prices, vol, error, raw_text))
        if buf:
            copy.write("".join(buf))
    return count


def stage_bars(conn: Connection, run_id: str, path: Path, batch: str = "") -> int:
    """COPY one bars file into ``raw_bars``."""
    return stage_rows(conn, run_id, batch, FileBars(path).rows())


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
