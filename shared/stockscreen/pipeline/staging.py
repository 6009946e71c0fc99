"""Fetch: read provider files and stage their rows (typed where possible) for validation."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from stockscreen.core.errors import DataFileError, Invalid
from stockscreen.db.engine import psycopg_connection
from stockscreen.market.formats import Spec, detect
from stockscreen.market.providers import BarRow, read_csv
from stockscreen.pipeline.columns import (
    INFLATER,
    RawBars,
    Selection,
    TypedBars,
    concat,
    concat_raw,
    from_rows,
    pack,
    pack_selection,
    read_bars,
    read_bars_file,
    read_bars_group,
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


#: the key of a staged reference row holding the values of columns that map onto no field
UNKNOWN_KEY = "_unknown"


def stage_reference(
    conn: Connection, run_id: str, spec: Spec, data: bytes, batch: str = "", origin: str | None = None
) -> int:
    """Stage a listing or fundamentals file: each row as {field: text}, plus the values of the
    columns that map onto no field (``UNKNOWN_KEY``), for LoadReference to report."""
    csv_rows = read_csv(Path(spec.name), data, spec.name)
    index = list(spec.columns.items())
    # (a fundamentals file's unknown columns are numbers it meant to give; a listing's are not its business)
    unknown = [(h, spec.header.index(h)) for h in spec.unknown] if spec.kind == "fundamentals" else []
    lines: list[int] = []
    rows: list[str] = []
    for line, row in csv_rows.rows:
        values: dict[str, Any] = {k: row[i].strip() for k, i in index}
        if unknown:
            values[UNKNOWN_KEY] = {h: row[i].strip() for h, i in unknown}
        lines.append(line)
        rows.append(json.dumps(values))
    if rows:  # one statement for them all
        conn.execute(
            text(
                "INSERT INTO raw_reference (run_id, batch, kind, file, line, row) SELECT :run_id, :batch, :kind, "
                ":file, x.line, x.row FROM unnest(CAST(:lines AS integer[]), CAST(:rows AS jsonb[])) AS x(line, row)"
            ),
            {
                "run_id": run_id,
                "batch": batch,
                "kind": spec.kind,
                "file": origin or spec.name,
                "lines": lines,
                "rows": rows,
            },
        )
    return len(rows)


@dataclass
class Member:
    """One file to read: a file given, or a member of a zip archive or of a folder given."""

    name: str  # as errors name it: the path given, ``/data/stooq.zip/aapl.us.txt`` for a member
    origin: str  # as findings name it: ``AAPL.csv``, ``stooq.zip/aapl.us.txt``
    data: bytes  # as stored (plain or gzipped)


_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a zip archive (an empty one: its end record)


def members(path: Path) -> list[Member]:
    """The files of ``path``: itself, a zip archive's members, or a folder's files (in name order)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise DataFileError(str(path), None, "empty folder: no file to ingest")
        return [m for f in files for m in _file_members(f, f"{path.name}/{f.name}")]
    return _file_members(path, path.name)


def _file_members(path: Path, origin: str) -> list[Member]:
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFileError(name, None, f"cannot read: {exc.strerror}") from exc
    if not data.startswith(_ZIP):
        return [Member(name, origin, data)]
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [
                i
                for i in archive.infolist()
                if not i.is_dir()
                and not i.filename.startswith("__MACOSX/")
                and not i.filename.rsplit("/", 1)[-1].startswith(".")
            ]
            out = [
                Member(f"{name}/{i.filename}", f"{origin}/{i.filename}", _member_bytes(archive, data, i))
                for i in sorted(infos, key=lambda i: i.filename)
            ]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, INFLATER.error) as exc:
        raise DataFileError(name, None, f"corrupt zip archive ({exc})") from exc
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, or a compression zipfile cannot read
        raise DataFileError(name, None, f"unsupported zip archive ({exc})") from exc
    if not out:
        raise DataFileError(name, None, "empty zip archive: no file to ingest")
    return out


_LOCAL_HEADER = struct.Struct("<4s5H3I2H")


def _member_bytes(archive: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A zip member's bytes: a deflated one inflated with the pipeline's inflater (ISA-L's, about
    three times zlib's speed), its CRC checked; anything else by :mod:`zipfile`."""
    at = info.header_offset
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1 or at + 30 > len(data):
        return archive.read(info)
    magic, *_, name_len, extra_len = _LOCAL_HEADER.unpack_from(data, at)
    if magic != b"PK\x03\x04":
        return archive.read(info)
    start = at + 30 + name_len + extra_len
    out: bytes = INFLATER.decompress(memoryview(data)[start : start + info.compress_size], wbits=-15)
    if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC or size of member {info.filename}")
    return out


def member_spec(member: Member, fmt: str | None = None, mapping: dict[str, str] | None = None) -> Spec:
    """What a file is, from its header line and name (``fmt`` and ``mapping`` override)."""
    csv_rows = read_csv(Path(member.name), member.data, member.name)
    csv_rows.close()
    try:
        return detect(member.name, csv_rows.header, fmt, mapping)
    except ValueError as exc:
        raise DataFileError(member.name, None, str(exc)) from exc


def clear_batch(conn: Connection, run_id: str, batch: str) -> None:
    """Forget what an earlier attempt of this batch staged (a retried Fetch replaces its rows)."""
    conn.execute(
        text("DELETE FROM raw_batches WHERE run_id = :r AND stage = 'fetch' AND batch = :b"), {"r": run_id, "b": batch}
    )
    conn.execute(text("DELETE FROM raw_reference WHERE run_id = :r AND batch = :b"), {"r": run_id, "b": batch})


def stage_file(
    conn: Connection,
    run_id: str,
    batch: str,
    path: Path,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Stage one file (or each file of a zip archive or folder, the bars of them all as one batch);
    a poisoned file raises ``DataFileError`` and the caller rolls back."""
    counts: dict[str, Any] = {"bars": 0, "constituents": 0, "fundamentals": 0, "files": 0, "formats": {}}
    if not path.exists():
        raise DataFileError(str(path), None, "no such file")
    bars: list[tuple[Spec, Member]] = []
    for member in members(path):
        spec = member_spec(member, fmt, mapping)
        counts["files"] += 1
        counts["formats"][spec.format] = counts["formats"].get(spec.format, 0) + 1
        if spec.kind == "bars":
            bars.append((spec, member))
        else:
            counts[spec.kind] += stage_reference(conn, run_id, spec, member.data, batch, member.origin)
    if bars:
        counts["bars"] += stage_columns(conn, run_id, "fetch", batch, type_bars(read_bar_files(bars)))
    return counts


def read_bar_files(files: list[tuple[Spec, Member]]) -> RawBars:
    """Bars files (of any format) as one set of columns: the files of one header (an archive's
    per-symbol files) in one pass, the others (and any that is not plain) one by one."""
    parts: list[RawBars] = []
    k = 0
    while k < len(files):
        spec = files[k][0]
        end = k + 1
        while end < len(files) and (files[end][0].header, files[end][0].format) == (spec.header, spec.format):
            end += 1
        group = files[k:end]
        joined = read_bars_group([s for s, _ in group], [m.data for _, m in group]) if len(group) > 1 else None
        if joined is not None:
            joined.files = [m.origin for _, m in group]
            parts.append(joined)
        else:
            for s, m in group:
                raw = read_bars(s, m.data)
                raw.files = [m.origin]
                parts.append(raw)
        k = end
    return concat_raw(parts)
