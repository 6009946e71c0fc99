"""Columns to and from PostgreSQL in binary, with NumPy: no Python object per value.

- :func:`fetch_arrays` runs a query returning one row of ``array_agg(...)`` columns and hands
  back each array in PostgreSQL's binary form; :func:`fixed` reads them.
- :func:`copy_rows` builds a binary ``COPY ... FROM STDIN (FORMAT binary)`` payload from columns.
- :func:`gather` cuts variable-length fields out of a byte buffer into a fixed-width bytes array.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.adapt import Loader
from psycopg.pq import Format

Text = npt.NDArray[np.bytes_]

#: Days from 1970-01-01 (NumPy's epoch) to 2000-01-01 (PostgreSQL's).
PG_EPOCH_DAYS = 10_957

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)

#: Array types read raw: int4[], int8[], float8[].
_ARRAY_OIDS = (1007, 1016, 1022)
_ARRAY_HEADER = 20  # ndim, flags, element type, then (length, lower bound) of the one dimension


class _RawLoader(Loader):
    format = Format.BINARY

    def load(self, data: Any) -> bytes:
        return bytes(data)


def fetch_arrays(conn: psycopg.Connection[Any], sql: str, params: Mapping[str, Any]) -> list[bytes | None]:
    """The one row of ``sql`` (array columns), each array as PostgreSQL sends it in binary."""
    with conn.cursor(binary=True) as cur:
        for oid in _ARRAY_OIDS:
            cur.adapters.register_loader(oid, _RawLoader)
        row = cur.execute(sql, params).fetchone()
    return list(row) if row is not None else []


def _length(blob: bytes | None) -> int:
    if blob is None:
        return 0
    ndim = struct.unpack_from(">i", blob)[0]
    if ndim == 0:
        return 0
    if ndim != 1:
        raise ValueError(f"expected a one-dimensional array, got {ndim} dimensions")
    return int(struct.unpack_from(">i", blob, 12)[0])


def fixed(blob: bytes | None, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """A binary array without NULLs of a fixed-size type (big-endian ``dtype``) as native values."""
    kind = np.dtype(dtype)
    n = _length(blob)
    if n == 0 or blob is None:
        return np.zeros(0, dtype=kind.newbyteorder("="))
    rows = np.frombuffer(blob, dtype=[("len", ">i4"), ("value", kind)], count=n, offset=_ARRAY_HEADER)
    if (rows["len"] != kind.itemsize).any():
        raise ValueError("unexpected NULL or element size in a binary array")
    return rows["value"].astype(kind.newbyteorder("="))


def gather(
    buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.integer[Any]], lengths: npt.NDArray[np.integer[Any]]
) -> Text:
    """The fields ``buf[start:start + length]`` as one fixed-width bytes array (zero-padded).

    Pass ``buf`` with trailing room for the widest field to spare it a copy."""
    width = int(lengths.max()) if len(lengths) else 0
    if width == 0:
        return np.zeros(len(starts), dtype="S1")
    if len(buf) < int(starts.max()) + width:  # the window must not run off the end
        buf = np.concatenate((buf, np.zeros(width, dtype=np.uint8)))
    window = np.lib.stride_tricks.sliding_window_view(buf, width)
    chars = window[starts]
    chars *= np.arange(width)[None, :] < lengths[:, None]
    return np.ascontiguousarray(chars).view(f"S{width}").ravel()


#: A column of :func:`copy_rows`: values (NumPy, no NULLs), the same bytes for every row, or NULL.
Column = npt.NDArray[Any] | bytes | None

_BIG_ENDIAN = {"i": {4: ">i4", 8: ">i8", 2: ">i2"}, "f": {8: ">f8"}}


def copy_rows(n: int, columns: Sequence[Column]) -> bytes:
    """``n`` rows in binary COPY format (without header and trailer).

    A NumPy column gives each row's value (integers, doubles, fixed-width bytes); a ``bytes``
    column is the same value (already in binary form) in every row; ``None`` is NULL throughout.
    """
    fields: list[tuple[str, str]] = [("count", ">i2")]
    values: dict[str, Any] = {"count": len(columns)}
    for k, col in enumerate(columns):
        fields.append((f"len{k}", ">i4"))
        if col is None:
            values[f"len{k}"] = -1
        elif isinstance(col, bytes):
            values[f"len{k}"] = len(col)
            if col:
                fields.append((f"v{k}", f"V{len(col)}"))
                values[f"v{k}"] = np.frombuffer(col, dtype=f"V{len(col)}")[0]
        else:
            kind = col.dtype
            code = f"S{kind.itemsize}" if kind.kind == "S" else _BIG_ENDIAN[kind.kind][kind.itemsize]
            fields.append((f"v{k}", code))
            values[f"len{k}"] = kind.itemsize
            values[f"v{k}"] = col
    rows = np.empty(n, dtype=fields)
    for name, value in values.items():
        rows[name] = value
    return rows.tobytes()
