"""Bars as columns: a bars file read into NumPy arrays in one pass, and typed vectorised.

:func:`read_bars_file` reads a plain CSV (printable ASCII without spaces or quotes, one row per
line: what providers write) over the whole decompressed file with NumPy. A file it cannot vouch
for (quotes, other text, blank lines, a ragged row, corrupt data...) is read row by row by
:func:`~stockscreen.market.providers.iter_bars` instead, which names the file and line of any
error; both give the same :class:`RawBars`. :func:`type_bars` types them with exactly the
per-value rules of the row-by-row reader (Python's ``float()`` and ``date.fromisoformat()``):
the bulk in NumPy, anything else value by value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gzip
import itertools
import json
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from stockscreen.market.formats import OPTIONAL_BAR_FIELDS, Spec
from stockscreen.market.providers import BAR_COLUMNS, BarRow, FileBars, bar_column_map, iter_spec_bars
from stockscreen.pipeline.binary import gather

I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
F = npt.NDArray[np.float64]
Text = npt.NDArray[np.bytes_]

#: A missing date (``day`` holds days since 1970-01-01).
NAT = np.int32(np.iinfo(np.int32).min)
#: ``TypedBars.error``: why a row could not be typed (a quality rule of the same name quarantines it).
OK, BAD_DATE, BAD_NUMBER, MISSING_VALUE = 0, 1, 2, 3
PARSE_ERRORS = {BAD_DATE: "bad_date", BAD_NUMBER: "bad_number", MISSING_VALUE: "missing_value"}
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
#: The adjusted close: a value of its own (``TypedBars.values`` has it when a file brought the column).
ADJ_CLOSE = "adj_close"


@dataclass
class RawBars:
    """Rows as read: each canonical bar column as UTF-8 bytes (stripped), with origin and line."""

    files: list[str]
    file: I32  # index into files
    line: I32
    text: dict[str, Text]  # every name in BAR_COLUMNS, and ADJ_CLOSE when a file has it

    def __len__(self) -> int:
        return len(self.line)


@dataclass
class TypedBars:
    """Typed rows: NULLs are ``-1`` symbols, ``NAT`` days and NaN values."""

    files: list[str]
    file: I32
    line: I32
    symbols: list[str]
    symbol: I32  # index into symbols, -1 when empty
    day: I32
    values: dict[str, F]  # open, high, low, close, volume (and ADJ_CLOSE: NaN where none, or unreadable)
    error: I8  # OK or a PARSE_ERRORS code
    #: row -> the row as read, for rows with an error, and for rows of error OK whose adjusted close
    #: is not a number (the bar is good; its adjusted close is left out, and reported)
    raw: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.line)


def _bytes_array(values: list[bytes]) -> Text:
    return np.array(values, dtype=np.bytes_) if values else np.zeros(0, dtype="S1")


def from_rows(rows: Iterable[BarRow], names: Sequence[str] | None = None) -> RawBars:
    """Columns of rows read one by one (a provider's rows or the careful file reader); ``names``:
    the columns of each row (default: the bar columns, then the adjusted close if a row has one more)."""
    files: dict[str, int] = {}
    file: list[int] = []
    line: list[int] = []
    it = iter(rows)
    first = next(it, None)
    if names is None:
        extra = len(first[2]) - len(BAR_COLUMNS) if first is not None else 0
        names = BAR_COLUMNS + OPTIONAL_BAR_FIELDS[:extra]
    cols: list[list[bytes]] = [[] for _ in names]
    for origin, number, values in itertools.chain([first] if first is not None else [], it):
        code = files.get(origin)
        if code is None:
            code = files[origin] = len(files)
        file.append(code)
        line.append(number)
        for col, value in zip(cols, values, strict=True):
            col.append(value.encode("utf-8"))
    return RawBars(
        list(files),
        np.array(file, dtype=np.int32),
        np.array(line, dtype=np.int32),
        {name: _bytes_array(col) for name, col in zip(names, cols, strict=True)},
    )


_NL, _COMMA = ord("\n"), ord(",")
#: the widest field the fast reader gathers (anything wider is not a bar value)
_MAX_FIELD = 64
#: threads of the bulk NumPy work (which releases the GIL): a file's halves, columns
THREADS = 2
#: bytes (and rows) below which a file is read on the calling thread (a thread pool costs more)
SMALL_FILE = 1 << 20
SMALL_ROWS = 50_000

T = TypeVar("T")


def _in_threads(calls: Sequence[Callable[[], T]]) -> list[T]:
    """The results of ``calls``, run on :data:`THREADS` threads (NumPy releases the GIL)."""
    if len(calls) < 2:
        return [call() for call in calls]
    with ThreadPoolExecutor(min(THREADS, len(calls))) as pool:
        return list(pool.map(lambda call: call(), calls))


#: compressed bytes inflated at a time (on a thread) while the text inflated before is scanned
INFLATE_PIECE = 1 << 19

#: the inflater: ISA-L's (the same output as zlib's, about three times faster), zlib's without it
INFLATER: Any
try:
    from isal import isal_zlib as INFLATER
except ImportError:  # pragma: no cover - isal is a dependency; zlib does the same, slower
    INFLATER = zlib

_GZIP = b"\x1f\x8b"


def _scan(buf: npt.NDArray[np.uint8], offset: int) -> tuple[int, int, npt.NDArray[np.int32]]:
    """Bytes below '!' (newlines, if the rest is plain), the largest byte, and where the separators are."""
    flat = np.flatnonzero((buf == _COMMA) | (buf == _NL)).astype(np.int32)
    flat += offset
    return int(np.count_nonzero(buf < 0x21)), int(buf.max()) if len(buf) else 0, flat


@dataclass
class _Text:
    """A file's text in ``room`` (with spare zeros after it): the header line, the body from ``body``
    to ``end`` (ending with a newline), and what a scan of the body found."""

    head: bytes
    room: npt.NDArray[np.uint8]
    body: int
    end: int
    flat: npt.NDArray[np.int32]  # where the separators are (commas, newlines)
    low: int  # bytes below '!'
    high: int  # the largest byte
    lines: int  # newlines


def _fast_columns(path: Path, spec: Spec | None = None, data: bytes | None = None) -> RawBars | None:
    """The whole file with NumPy, or None when it needs the careful row-by-row reader.

    ``spec``: the file's format (else the header's bar columns); ``data``: its bytes, already read."""
    if data is None:
        try:
            data = path.read_bytes()
        except OSError:  # the careful reader reports it
            return None
    text: _Text | None
    if data[:2] == _GZIP:
        done, text = _inflated(data)
        if not done:  # (several gzip members, CRLF line ends...): decompressed in one call, then read
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error):  # the careful reader reports it with the line
                return None
            text = _whole(data)
    else:
        text = _whole(data)
    return None if text is None else _columns(path, text, spec)


def _whole(data: bytes) -> _Text | None:
    """The text of a file's bytes (decompressed), scanned in two halves; None if it is not plain."""
    cut = data.find(b"\n")
    if cut < 0 or b'"' in data:
        return None
    head = data[:cut]
    if b"\r" in data:
        if data.count(b"\r") != data.count(b"\r\n"):
            return None
        head, data, cut = head.removesuffix(b"\r"), data.replace(b"\r\n", b"\n"), cut - 1
    # the body once, with a final newline and room for the widest field after it
    size = len(data) - cut - 1
    ended = size == 0 or data.endswith(b"\n")
    room = np.zeros(size + (0 if ended else 1) + _MAX_FIELD, dtype=np.uint8)
    room[:size] = np.frombuffer(data, dtype=np.uint8, offset=cut + 1)
    lines = data.count(b"\n") - 1
    del data
    if not ended:
        room[size] = _NL
        size, lines = size + 1, lines + 1
    buf = room[:size]
    # the body in two halves, split after a newline
    middle = size // 2
    middle += int(np.argmax(buf[middle:] == _NL)) + 1 if size else 0
    halves = [(buf[:middle], 0), (buf[middle:], middle)] if 0 < middle < size and size > SMALL_FILE else [(buf, 0)]
    scans = _in_threads([functools.partial(_scan, half, at) for half, at in halves])
    flat = np.concatenate([f for _, _, f in scans])
    return _Text(head, room, 0, size, flat, sum(n for n, _, _ in scans), max(h for _, h, _ in scans), lines)


def _inflated(gz: bytes) -> tuple[bool, _Text | None]:
    """A gzipped file's text, inflated piece by piece on a thread while the main thread copies and
    scans the pieces inflated before: (True, the text, or None if it is not plain), or (False, None)
    when it must be decompressed whole first (several members, a size other than the trailer's,
    carriage returns)."""
    size = int.from_bytes(gz[-4:], "little")  # the trailer's size of the (last) member, modulo 2**32
    if len(gz) < 18 or size >= 2**31 - _MAX_FIELD - 1:
        return False, None
    room = np.zeros(size + 1 + _MAX_FIELD, dtype=np.uint8)
    inflate = INFLATER.decompressobj(wbits=31)
    source = memoryview(gz)
    body = -1  # where the body starts, once the header's newline is found
    filled = low = high = lines = 0
    flats: list[npt.NDArray[np.int32]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="inflate") as pool:
        taken = min(INFLATE_PIECE, len(gz))
        pending: Future[bytes] | None = pool.submit(inflate.decompress, source[:taken])
        try:
            while pending is not None:
                try:
                    chunk = pending.result()
                except (zlib.error, INFLATER.error):
                    return True, None  # corrupt: the careful reader reports it with the line
                pending = None
                if taken < len(gz) and not inflate.eof:
                    pending = pool.submit(inflate.decompress, source[taken : taken + INFLATE_PIECE])
                    taken += INFLATE_PIECE
                if filled + len(chunk) > size or b"\r" in chunk:
                    return False, None
                if b'"' in chunk:
                    return True, None
                at = filled
                room[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                filled += len(chunk)
                if body < 0:
                    cut = chunk.find(b"\n")
                    if cut < 0:
                        continue
                    body = at = at + cut + 1
                    chunk = chunk[cut + 1 :]
                n, most, flat = _scan(room[at:filled], at)
                low, high, lines = low + n, max(high, most), lines + chunk.count(b"\n")
                flats.append(flat)
        finally:
            if pending is not None:
                pending.cancel()
    if not inflate.eof:
        return True, None  # truncated: the careful reader reports it
    if inflate.unused_data or taken < len(gz) or filled != size:
        return False, None  # another member follows
    if body < 0:
        return True, None
    head = bytes(room[: body - 1])
    if filled > body and room[filled - 1] != _NL:  # no final newline: one is added
        room[filled] = _NL
        flats.append(np.array([filled], dtype=np.int32))
        filled, low, lines = filled + 1, low + 1, lines + 1
    flat = np.concatenate(flats) if flats else np.zeros(0, dtype=np.int32)
    return True, _Text(head, room, body, filled, flat, low, high, lines)


def _columns(path: Path, text: _Text, spec: Spec | None = None) -> RawBars | None:
    """The columns of a file's text, or None when it needs the careful reader."""
    try:
        header = [h.strip().lstrip("\ufeff") for h in text.head.decode("utf-8").split(",")]
    except UnicodeDecodeError:
        return None
    if not any(header) or "\x00" in "".join(header):
        return None
    if spec is not None and list(spec.header) != header:
        return None  # (a header the csv module reads otherwise: the careful reader)
    # a missing column is a file error either way
    mapping = dict(spec.columns) if spec is not None else bar_column_map(path, header)
    constant = spec.symbol if spec is not None else None
    names = BAR_COLUMNS + OPTIONAL_BAR_FIELDS  # (an optional column is read when the file has it)
    width = len(header)
    room, flat = text.room, text.flat
    # printable ASCII but space and the quote (checked before), and newlines
    if text.end > text.body and (text.low != text.lines or text.high > 0x7E):
        return None
    if len(flat) % width:
        return None
    ends = flat.reshape(-1, width)  # each field's end: a comma, the last one a newline
    # (each row's last separator a newline, and no other newline: the others are commas)
    if len(ends) != text.lines or not (room[ends[:, -1]] == _NL).all():
        return None
    starts = np.concatenate((np.array([text.body], dtype=np.int32), flat[:-1] + 1))[: len(flat)].reshape(ends.shape)
    lens = ends - starts
    if width == 1 and (lens == 0).any():
        return None  # blank lines: the csv module skips them
    n = len(ends)
    if n and int(lens.max()) > _MAX_FIELD:
        return None
    read = [name for name in names if name in mapping and not (name == "symbol" and constant)]
    cut_out = [functools.partial(gather, room, starts[:, mapping[name]], lens[:, mapping[name]]) for name in read]
    columns = dict(zip(read, _in_threads(cut_out) if n > SMALL_ROWS else [c() for c in cut_out], strict=True))
    if constant:  # a per-symbol file: its symbol is its name's
        columns["symbol"] = np.full(n, constant.encode(), dtype=f"S{len(constant)}")
    name = spec.name if spec is not None else path.name
    return RawBars([name], np.zeros(n, dtype=np.int32), np.arange(2, n + 2, dtype=np.int32), columns)


def read_bars_file(path: Path) -> RawBars:
    """A bars file as columns: in one pass when it is plain, else row by row (precise errors)."""
    fast = _fast_columns(path)
    return fast if fast is not None else from_rows(FileBars(path).rows())


def read_bars_group(specs: Sequence[Spec], datas: Sequence[bytes]) -> RawBars | None:
    """Files of one header (an archive's per-symbol files) read as ONE text in one pass, normalised;
    None when one of them is not plain (they are then read one by one, for precise errors).

    The bodies are joined under the one header; each row's symbol (the file's, for per-symbol
    formats), file and line follow from each file's row count."""
    if not specs:
        return None
    head: bytes | None = None
    pieces: list[bytes | memoryview] = []
    rows: list[int] = []
    for data in datas:
        if data[:2] == _GZIP:
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error):
                return None
        cut = data.find(b"\n")
        if cut < 0:
            return None
        if head is None:
            head = data[:cut]
            pieces.append(head + b"\n")
        elif data[:cut] != head:
            return None
        pieces.append(memoryview(data)[cut + 1 :])  # (the body, not copied until joined)
        lines = data.count(b"\n", cut + 1)
        if len(data) > cut + 1 and not data.endswith(b"\n"):
            pieces.append(b"\n")
            lines += 1
        rows.append(lines)
    counts = np.array(rows, dtype=np.int64)
    text = _whole(b"".join(pieces))
    first = specs[0]
    raw = None if text is None else _columns(Path(first.name), text, dataclasses.replace(first, symbol=None))
    if raw is None or len(raw) != int(counts.sum()):
        return None
    n = len(raw)
    if first.symbol:
        symbols = np.array([s.symbol.encode() for s in specs if s.symbol], dtype=np.bytes_)
        if len(symbols) != len(specs):
            return None
        raw.text["symbol"] = np.repeat(symbols, counts)
    if "symbol" not in raw.text:
        return None
    starts = np.cumsum(counts) - counts
    raw.files = [s.name for s in specs]
    raw.file = np.repeat(np.arange(len(specs), dtype=np.int32), counts)
    raw.line = (np.arange(n, dtype=np.int64) - np.repeat(starts, counts) + 2).astype(np.int32)
    return normalise(raw, first.format)


def read_bars(spec: Spec, data: bytes) -> RawBars:
    """A bars file of any format (its bytes, plain or gzipped) as columns, normalised: in one pass
    when it is plain, else row by row (precise errors)."""
    raw = _fast_columns(Path(spec.name), spec, data)
    if raw is None:
        raw = from_rows(iter_spec_bars(spec, data))
    return normalise(raw, spec.format)


#: spellings of a missing value (Yahoo writes ``null``): read as empty
_MISSING = (b"null", b"NULL", b"N/A", b"NA", b"NaN", b"nan")


def _iso_dates(col: Text) -> Text:
    """``YYYYMMDD`` dates as ``YYYY-MM-DD`` (anything else is left as it is, to fail as a bad date)."""
    if not len(col) or col.dtype.itemsize < 8:
        return col
    mat, lens = _matrix(col)
    digits = mat[:, :8] - np.uint8(ord("0"))
    ok = (lens == 8) & (digits <= 9).all(1)
    out = np.zeros((len(col), max(10, col.dtype.itemsize)), dtype=np.uint8)
    out[:, : mat.shape[1]] = mat
    iso = out[ok]
    iso[:, [0, 1, 2, 3, 5, 6, 8, 9]] = mat[ok][:, :8]
    iso[:, [4, 7]] = ord("-")
    iso[:, 10:] = 0
    out[ok] = iso
    return out.view(f"S{out.shape[1]}").ravel()


def _stooq_symbols(col: Text) -> Text:
    """Stooq's tickers as the security master spells them: ``BRK-B.US`` -> ``BRK.B``."""
    if not len(col):
        return col
    # rows come grouped by ticker: the distinct values among the run heads only
    heads = np.flatnonzero(np.concatenate(([True], col[1:] != col[:-1])))
    distinct, inverse = np.unique(col[heads], return_inverse=True)
    fixed = [
        bytes(s).upper().removesuffix(b".US").replace(b"-", b".") if bytes(s).upper().endswith(b".US") else bytes(s)
        for s in distinct.tolist()
    ]
    runs = np.diff(np.append(heads, len(col)))
    return np.repeat(np.array(fixed, dtype=np.bytes_)[inverse.ravel()], runs)


def normalise(raw: RawBars, fmt: str) -> RawBars:
    """Values as the typing rules read them: Stooq's dates and tickers, missing-value spellings."""
    text = dict(raw.text)
    for name in (*PRICE_COLUMNS, ADJ_CLOSE):
        col = text.get(name)
        if col is None or not len(col) or col.dtype.itemsize < 2:
            continue
        col = np.ascontiguousarray(col)
        if not (col.view(np.uint8)[:: col.dtype.itemsize] >= ord("A")).any():
            continue  # (no value starts with a letter: a first pass over the first bytes only)
        missing = np.zeros(len(col), dtype=bool)
        for spelling in _MISSING:
            if col.dtype.itemsize >= len(spelling):
                missing |= col == spelling
        if missing.any():
            col = col.copy()
            col[missing] = b""
            text[name] = col
    if fmt == "stooq":
        text["date"] = _iso_dates(text["date"])
        text["symbol"] = _stooq_symbols(text["symbol"])
    return RawBars(raw.files, raw.file, raw.line, text)


def concat_raw(parts: list[RawBars]) -> RawBars:
    """Several files' rows as one (files and origins kept)."""
    if len(parts) == 1:
        return parts[0]
    files: list[str] = []
    codes: list[I32] = []
    for p in parts:
        codes.append((p.file + len(files)).astype(np.int32))
        files.extend(p.files)
    names = [n for n in parts[0].text if all(n in p.text for p in parts)] if parts else list(BAR_COLUMNS)
    # an optional column some files have: empty (missing) in the rows of the others
    names += [n for n in OPTIONAL_BAR_FIELDS if n not in names and any(n in p.text for p in parts)]
    empty = np.zeros(0, dtype=np.int32)

    def column(p: RawBars, n: str) -> Text:
        return p.text[n] if n in p.text else np.zeros(len(p), dtype="S1")

    return RawBars(
        files,
        np.concatenate(codes) if codes else empty,
        np.concatenate([p.line for p in parts]) if parts else empty,
        {n: np.concatenate([column(p, n) for p in parts]) for n in names},
    )


# --- typing ---------------------------------------------------------------------------------------


def _matrix(col: Text) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The values' bytes as an (n, width) matrix, zero-padded, and their lengths."""
    col = np.ascontiguousarray(col)
    width = col.dtype.itemsize
    mat = col.view(np.uint8).reshape(len(col), width)
    return mat, np.strings.str_len(col).astype(np.int64)


EPOCH = dt.date(1970, 1, 1)


def _python_date(value: bytes) -> int | None:
    try:
        return (dt.date.fromisoformat(value.decode("utf-8")) - EPOCH).days
    except ValueError:
        return None


def parse_days(col: Text) -> I32:
    """Days since 1970-01-01 of ``date.fromisoformat`` of each value; NAT where it fails."""
    n = len(col)
    out = np.full(n, NAT, dtype=np.int32)
    fast = np.zeros(n, dtype=bool)
    if n and col.dtype.itemsize >= 10:
        mat, lens = _matrix(col)
        digits = mat[:, [0, 1, 2, 3, 5, 6, 8, 9]].astype(np.int64) - ord("0")
        fast = (lens == 10) & (mat[:, 4] == ord("-")) & (mat[:, 7] == ord("-")) & ((digits >= 0) & (digits <= 9)).all(1)
        year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
        month = digits[:, 4] * 10 + digits[:, 5]
        day = digits[:, 6] * 10 + digits[:, 7]
        fast &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
        months = np.where(fast, (year - 1970) * 12 + month - 1, 0)
        first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        following = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        fast &= day <= following - first
        out[fast] = (first + day - 1)[fast]
    for i in np.flatnonzero(~fast).tolist():
        parsed = _python_date(bytes(col[i]))
        if parsed is not None:
            out[i] = parsed
    return out


#: characters of the numbers NumPy converts in bulk (anything else goes through float() one by one)
_NUMERIC = np.zeros(256, dtype=bool)
_NUMERIC[[ord(c) for c in "0123456789.+-eE"]] = True
_NUMERIC[0] = True  # padding


_POW10 = 10.0 ** np.arange(16)


def _plain_decimals(mat: npt.NDArray[np.uint8]) -> tuple[F, npt.NDArray[np.bool_]]:
    """Values spelled ``[-]digits[.digits]`` (at most 15 digits), and which rows are so spelled.

    The digits as an integer below 2**53 over an exact power of ten: one correctly rounded
    division, so the same double as ``float()``.
    """
    n = len(mat)
    chars = np.ascontiguousarray(mat.T)  # one contiguous row per character position
    negative = chars[0] == ord("-") if len(chars) else np.zeros(n, dtype=bool)
    mantissa = np.zeros(n, dtype=np.int64)
    # (counts of at most _MAX_FIELD characters: small integers, less memory to go through)
    digits = np.zeros(n, dtype=np.int16)
    dots = np.zeros(n, dtype=np.int16)
    decimals = np.zeros(n, dtype=np.int16)
    seen_dot = np.zeros(n, dtype=bool)
    ok = np.ones(n, dtype=bool)
    for k, ch in enumerate(chars):
        value = ch - np.uint8(ord("0"))  # wraps around for anything below '0'
        digit = value <= 9
        dot = ch == ord(".")
        ok &= digit | dot | (negative if k == 0 else ch == 0)
        # a digit shifts the mantissa and adds to it; anything else leaves it
        value *= digit
        mantissa *= np.where(digit, np.uint8(10), np.uint8(1))
        mantissa += value
        digits += digit
        decimals += digit & seen_dot
        dots += dot
        seen_dot |= dot
    ok &= (dots <= 1) & (digits >= 1) & (digits <= 15)
    values = mantissa / _POW10[np.where(ok, decimals, 0)]
    return np.where(negative, -values, values), ok


def parse_numbers(col: Text) -> tuple[F, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``float()`` of each value: (values, empty, bad); bad = not a number, or not finite."""
    n = len(col)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    mat, lens = _matrix(col)
    empty = lens == 0
    plain, ok = _plain_decimals(mat)
    values = np.where(ok, plain, np.nan)
    rest = ~ok & ~empty
    one_by_one = np.flatnonzero(rest)
    if len(one_by_one):
        # other spellings NumPy converts as float() does (exponents, '+'); anything else one by one
        simple = rest & _NUMERIC[mat].all(1)
        bulk = np.flatnonzero(simple)
        try:
            values[bulk] = col[bulk].astype(np.float64)
            one_by_one = np.flatnonzero(rest & ~simple)
        except ValueError:
            pass
    bad = np.zeros(n, dtype=bool)
    for i in one_by_one.tolist():
        try:
            values[i] = float(bytes(col[i]).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            bad[i] = True
    bad |= ~empty & ~np.isfinite(values)
    values[bad] = np.nan
    return values, empty, bad


def unique_symbols(col: Text, upper: bool = True) -> tuple[list[str], I32]:
    """The distinct values (upper-cased symbols), sorted, and each row's index into them; -1 for b""."""
    n = len(col)
    if n == 0:
        return [], np.zeros(0, dtype=np.int32)
    # rows come grouped by symbol: find the distinct values among the run heads only
    heads = np.flatnonzero(np.concatenate(([True], col[1:] != col[:-1])))
    distinct, head_code = np.unique(col[heads], return_inverse=True)
    runs = np.diff(np.append(heads, n))
    spelled = [bytes(s).decode("utf-8") for s in distinct]
    if upper:
        spelled = [s.upper() for s in spelled]
    symbols = sorted({s for s in spelled if s})
    index = {s: i for i, s in enumerate(symbols)}
    remap = np.array([index.get(s, -1) for s in spelled], dtype=np.int32)
    return symbols, np.repeat(remap[head_code.ravel()], runs).astype(np.int32)


def type_bars(raw: RawBars) -> TypedBars:
    """Type every row as the row-by-row stager did; a row that fails is kept with its error."""
    calls: list[Callable[[], Any]] = [functools.partial(parse_numbers, raw.text[name]) for name in PRICE_COLUMNS]
    calls.append(functools.partial(parse_days, raw.text["date"]))
    adjusted = ADJ_CLOSE in raw.text
    if adjusted:
        calls.append(functools.partial(parse_numbers, raw.text[ADJ_CLOSE]))
    results: list[Any] = _in_threads(calls)
    *numbers, day = results[: len(PRICE_COLUMNS) + 1]
    values: dict[str, F] = {}
    any_bad = np.zeros(len(raw), dtype=bool)
    any_empty = np.zeros(len(raw), dtype=bool)
    for name, (parsed, empty, bad) in zip(PRICE_COLUMNS, numbers, strict=True):
        values[name] = parsed
        any_bad |= bad
        any_empty |= empty
    error = np.zeros(len(raw), dtype=np.int8)
    error[day == NAT] = BAD_DATE
    error[(error == OK) & any_bad] = BAD_NUMBER
    error[(error == OK) & any_empty] = MISSING_VALUE
    for name in PRICE_COLUMNS:  # one bad number: none of the row's values is kept
        values[name][any_bad] = np.nan
    symbols, symbol = unique_symbols(raw.text["symbol"])
    rows = np.flatnonzero(error != OK)
    names: tuple[str, ...] = BAR_COLUMNS
    if adjusted:  # an unreadable adjusted close: the bar is loaded without it (and reported)
        adj, _, adj_bad = results[-1]
        adj[any_bad] = np.nan
        values[ADJ_CLOSE] = adj
        rows = np.flatnonzero((error != OK) | adj_bad)
        names = (*BAR_COLUMNS, ADJ_CLOSE)
    as_read = {name: raw.text[name][rows].tolist() for name in names}
    text = {i: ",".join(as_read[name][k].decode("utf-8") for name in names) for k, i in enumerate(rows.tolist())}
    return TypedBars(raw.files, raw.file, raw.line, symbols, symbol, day, values, error, text)


# --- batches of typed bars as one value (the staging tables' rows) ----------------------------------


def _to_bytes(arrays: dict[str, npt.NDArray[Any]]) -> bytearray:
    """Named arrays as one value: a JSON directory (name -> dtype, shape, offset), then the data."""
    directory: dict[str, tuple[str, list[int], int]] = {}
    offset = 0
    for name, array in arrays.items():
        directory[name] = (array.dtype.str, list(array.shape), offset)
        offset += array.nbytes
    head = json.dumps(directory).encode()
    # one buffer, each array copied into it once
    out = bytearray(8 + len(head) + offset)
    struct.pack_into("<Q", out, 0, len(head))
    out[8 : 8 + len(head)] = head
    body = np.frombuffer(out, dtype=np.uint8, offset=8 + len(head))
    for (_, _, at), array in zip(directory.values(), arrays.values(), strict=True):
        if array.nbytes:
            body[at : at + array.nbytes] = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return out


def _from_bytes(data: bytes | bytearray) -> dict[str, npt.NDArray[Any]]:
    """The arrays of :func:`_to_bytes` (views of ``data``, no copies)."""
    (size,) = struct.unpack_from("<Q", data)
    directory = json.loads(data[8 : 8 + size])
    base = 8 + size
    out: dict[str, npt.NDArray[Any]] = {}
    for name, (dtype, shape, offset) in directory.items():
        kind = np.dtype(dtype)
        if kind.hasobject:
            raise ValueError("staged columns hold no Python objects")
        count = int(np.prod(shape)) if shape else 1
        out[name] = np.frombuffer(data, dtype=kind, count=count, offset=base + offset).reshape(shape)
    return out


def pack(bars: TypedBars, **extra: npt.ArrayLike) -> bytearray:
    """The bars (and ``extra`` arrays) as one value (for a ``raw_batches`` row)."""
    raw_rows = np.array(sorted(bars.raw), dtype=np.int64)
    n = len(bars)
    origin: dict[str, npt.NDArray[Any]] = {"file": bars.file, "line": bars.line}
    # one file's lines in a row (a file read whole): staged as its first line
    run = n and len(bars.files) == 1 and int(bars.line[-1]) - int(bars.line[0]) == n - 1
    if run and (np.diff(bars.line) == 1).all():
        origin = {"first_line": np.array(bars.line[0], dtype=np.int64)}
    arrays: dict[str, npt.NDArray[Any]] = {
        "files": np.array(bars.files, dtype=str),
        **origin,
        "symbols": np.array(bars.symbols, dtype=str),
        "symbol": bars.symbol,
        "day": bars.day,
        "error": bars.error,
        "raw_rows": raw_rows,
        "raw_text": np.array([bars.raw[i] for i in raw_rows.tolist()], dtype=str),
    }
    arrays.update({f"value_{k}": v for k, v in bars.values.items()})
    arrays.update({f"extra_{k}": np.asarray(v) for k, v in extra.items()})
    return _to_bytes(arrays)


def unpack(data: bytes | bytearray) -> tuple[TypedBars, dict[str, npt.NDArray[Any]]]:
    """The bars (and extra arrays) of :func:`pack`."""
    arrays = _from_bytes(data)
    if "first_line" in arrays:
        n, first = len(arrays["symbol"]), int(arrays["first_line"])
        arrays["file"] = np.zeros(n, dtype=np.int32)
        arrays["line"] = np.arange(first, first + n, dtype=np.int32)
    bars = TypedBars(
        files=[str(s) for s in arrays["files"].tolist()],
        file=arrays["file"],
        line=arrays["line"],
        symbols=[str(s) for s in arrays["symbols"].tolist()],
        symbol=arrays["symbol"],
        day=arrays["day"],
        values={k: arrays[f"value_{k}"] for k in (*PRICE_COLUMNS, ADJ_CLOSE) if f"value_{k}" in arrays},
        error=arrays["error"],
        raw=dict(zip(arrays["raw_rows"].tolist(), arrays["raw_text"].tolist(), strict=True)),
    )
    return bars, {k.removeprefix("extra_"): v for k, v in arrays.items() if k.startswith("extra_")}


@dataclass
class Selection:
    """Rows of a run's staged Fetch batches (all of them, as :func:`concat` joins them in batch
    order) by what they leave out: a load batch staged as a reference, not as a copy of its rows."""

    fetched: int  # rows of the Fetch batches
    excluded: npt.NDArray[np.int64]  # rows not in the load batch (quarantined, or other symbols)

    def rows(self) -> npt.NDArray[np.intp]:
        keep = np.ones(self.fetched, dtype=bool)
        keep[self.excluded] = False
        return np.flatnonzero(keep)


def pack_selection(selection: Selection, **extra: npt.ArrayLike) -> bytearray:
    """A :class:`Selection` (and ``extra`` arrays) as one value (for a ``raw_batches`` row)."""
    arrays = {
        "selection_fetched": np.array(selection.fetched, dtype=np.int64),
        "selection_excluded": selection.excluded,
    }
    arrays.update({f"extra_{k}": np.asarray(v) for k, v in extra.items()})
    return _to_bytes(arrays)


def unpack_any(data: bytes | bytearray) -> tuple[TypedBars | Selection, dict[str, npt.NDArray[Any]]]:
    """The bars of :func:`pack` or the selection of :func:`pack_selection` (and extra arrays)."""
    arrays = _from_bytes(data)
    if "selection_fetched" not in arrays:
        return unpack(data)
    excluded = arrays["selection_excluded"].astype(np.int64)
    extra = {k.removeprefix("extra_"): v for k, v in arrays.items() if k.startswith("extra_")}
    return Selection(int(arrays["selection_fetched"]), excluded), extra


def _recode(names: list[str], codes: I32, merged: dict[str, int]) -> I32:
    remap = np.array([merged[s] for s in names] + [-1], dtype=np.int32)
    return remap[codes]


def _value_names(parts: list[TypedBars]) -> tuple[str, ...]:
    """The value columns of several batches: the prices, and the adjusted close if any has one."""
    return (*PRICE_COLUMNS, ADJ_CLOSE) if any(ADJ_CLOSE in p.values for p in parts) else PRICE_COLUMNS


def _value(bars: TypedBars, name: str) -> F:
    """A value column of a batch (NaN throughout for an adjusted close it does not have)."""
    found = bars.values.get(name)
    return found if found is not None else np.full(len(bars), np.nan)


def concat(parts: list[TypedBars]) -> TypedBars:
    """Several batches' bars as one (symbols and origins merged, sorted)."""
    if len(parts) == 1 and parts[0].symbols == sorted(parts[0].symbols) and parts[0].files == sorted(parts[0].files):
        return parts[0]  # (already so: one file's bars)
    symbols = sorted({s for p in parts for s in p.symbols})
    files = sorted({f for p in parts for f in p.files})
    sym_index = {s: i for i, s in enumerate(symbols)}
    file_index = {f: i for i, f in enumerate(files)}
    raw: dict[int, str] = {}
    offset = 0
    for p in parts:
        raw.update({offset + i: t for i, t in p.raw.items()})
        offset += len(p)
    return TypedBars(
        files=files,
        file=np.concatenate([_recode(p.files, p.file, file_index) for p in parts] or [np.zeros(0, np.int32)]),
        line=np.concatenate([p.line for p in parts] or [np.zeros(0, np.int32)]),
        symbols=symbols,
        symbol=np.concatenate([_recode(p.symbols, p.symbol, sym_index) for p in parts] or [np.zeros(0, np.int32)]),
        day=np.concatenate([p.day for p in parts] or [np.zeros(0, np.int32)]),
        values={k: np.concatenate([_value(p, k) for p in parts] or [np.zeros(0)]) for k in _value_names(parts)},
        error=np.concatenate([p.error for p in parts] or [np.zeros(0, np.int8)]),
        raw=raw,
    )


def take(bars: TypedBars, rows: npt.NDArray[np.intp]) -> TypedBars:
    """The bars of ``rows`` (in that order)."""
    with_text = np.flatnonzero(np.isin(rows, np.fromiter(bars.raw, dtype=np.int64, count=len(bars.raw))))
    position = {int(rows[k]): k for k in with_text.tolist()}
    return TypedBars(
        files=bars.files,
        file=bars.file[rows],
        line=bars.line[rows],
        symbols=bars.symbols,
        symbol=bars.symbol[rows],
        day=bars.day[rows],
        values={k: v[rows] for k, v in bars.values.items()},
        error=bars.error[rows],
        raw={k: bars.raw[i] for i, k in position.items()},
    )
