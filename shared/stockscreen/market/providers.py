"""Providers of market data files, with header auto-detection and precise file:line errors.

A provider yields rows as tuples of text exactly as read; typing, checks and loading
happen later in the pipeline, so a bad value is quarantined rather than crashing a read.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import http.client
import io
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, cast

from stockscreen.core.errors import DataFileError
from stockscreen.market.formats import BAR_ALIASES, OPTIONAL_BAR_FIELDS, Spec, detect, norm

BAR_COLUMNS = ("symbol", "date", "open", "high", "low", "close", "volume")


def _open_binary(path: Path, data: bytes | None = None) -> IO[bytes]:
    """The file (or ``data``, its bytes already read), decompressed when it is gzipped."""
    raw: IO[bytes]
    if data is not None:
        raw = io.BytesIO(data)
    else:
        try:
            raw = path.open("rb")
        except OSError as exc:
            raise DataFileError(str(path), None, f"cannot open: {exc.strerror}") from exc
    magic = raw.read(2)
    raw.seek(0)
    return cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if magic == b"\x1f\x8b" else raw


def _decoded_lines(name: str, stream: IO[bytes]) -> Iterator[str]:
    """Lines as text; a line that is not UTF-8 is an error naming the file and the line."""
    line = 0
    try:
        for line, raw in enumerate(stream, 1):
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFileError(name, line, "binary or non-UTF-8 data") from exc
            if "\x00" in decoded:
                raise DataFileError(name, line, "NUL byte: binary data in a text file")
            yield decoded
    except (gzip.BadGzipFile, EOFError, OSError) as exc:
        raise DataFileError(name, line + 1, f"corrupt compressed data ({exc})") from exc


@dataclass
class CsvRows:
    """Rows of one CSV file, each with its 1-based line number."""

    path: Path
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    stream: IO[bytes]

    def close(self) -> None:
        self.stream.close()


def read_csv(path: Path, data: bytes | None = None, name: str | None = None) -> CsvRows:
    """Open a CSV (plain or gzip), read its header; rows are checked for shape as they stream.

    ``data``: the file's bytes, already read (an archive's member); ``name``: the name errors give."""
    name = name or str(path)
    stream = _open_binary(path, data)
    reader = csv.reader(_decoded_lines(name, stream))
    try:
        header = next(reader)
    except StopIteration:
        stream.close()
        raise DataFileError(name, 1, "file is empty (no header line)") from None
    except csv.Error as exc:
        stream.close()
        raise DataFileError(name, 1, f"malformed CSV: {exc}") from exc
    except DataFileError:
        stream.close()
        raise
    header = [h.strip().lstrip("\ufeff") for h in header]
    if not any(header):
        stream.close()
        raise DataFileError(name, 1, "empty header line")

    def rows() -> Iterator[tuple[int, list[str]]]:
        width = len(header)
        try:
            for row in reader:
                if not row:
                    continue
                if len(row) != width:
                    raise DataFileError(name, reader.line_num, f"expected {width} fields, found {len(row)}")
                yield reader.line_num, row
        except csv.Error as exc:
            raise DataFileError(name, reader.line_num + 1, f"malformed CSV: {exc}") from exc
        finally:
            stream.close()

    return CsvRows(path, header, rows(), stream)


def bar_column_map(path: Path, header: list[str]) -> dict[str, int]:
    """Canonical bar column -> index in ``header``; a missing required column is a file error."""
    mapping: dict[str, int] = {}
    for i, h in enumerate(header):
        canonical = BAR_ALIASES.get(norm(h)) or ("symbol" if norm(h) == "name" else None)
        if canonical and canonical not in mapping:
            mapping[canonical] = i
    missing = [c for c in BAR_COLUMNS if c not in mapping]
    if missing:
        raise DataFileError(
            str(path),
            1,
            f"missing bar column(s) {', '.join(missing)}; header was: {', '.join(header)}",
        )
    return mapping


def iter_bars(path: Path) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(line, (symbol, date, open, high, low, close, volume[, adj_close])) for each data row of a bars
    file (the adjusted close when the file has the column)."""
    csv_rows = read_csv(path)
    mapping = bar_column_map(path, csv_rows.header)
    idx = [mapping[c] for c in (*BAR_COLUMNS, *OPTIONAL_BAR_FIELDS) if c in mapping]
    for line, row in csv_rows.rows:
        yield line, tuple(row[i].strip() for i in idx)


def iter_spec_bars(spec: Spec, data: bytes) -> Iterator[BarRow]:
    """(origin, line, (symbol, date, open, high, low, close, volume[, adj_close])) of a bars file of
    any format (its :class:`~stockscreen.market.formats.Spec`), row by row: the careful reader."""
    csv_rows = read_csv(Path(spec.name), data, spec.name)
    if list(csv_rows.header) != list(spec.header):
        csv_rows.close()
        raise DataFileError(spec.name, 1, f"header changed while reading: {', '.join(csv_rows.header)}")
    idx = [spec.columns.get(c, -1) for c in BAR_COLUMNS] + [
        spec.columns[c] for c in OPTIONAL_BAR_FIELDS if c in spec.columns
    ]
    constant = spec.symbol or ""
    for line, row in csv_rows.rows:
        yield spec.name, line, tuple(row[i].strip() if i >= 0 else constant for i in idx)


def detect_kind(path: Path) -> str:
    """'bars', 'constituents' or 'fundamentals', from the header line (and the file name)."""
    csv_rows = read_csv(path)
    csv_rows.close()
    return detect(str(path), csv_rows.header).kind


# --- one interface for every source of daily bars ---------------------------------------------

#: A staged bar as read: (origin, line, (symbol, date, open, high, low, close, volume[, adj_close])), all text.
BarRow = tuple[str, int, tuple[str, ...]]


class ProviderError(Exception):
    """A source cannot give bars for a symbol (unknown symbol, no data): permanent for this run."""

    def __init__(self, symbol: str, message: str) -> None:
        super().__init__(f"{symbol}: {message}")
        self.symbol = symbol
        self.message = message


class ProviderUnavailable(ProviderError):
    """A transient failure (timeout, connection refused, 5xx, rate limit): worth retrying."""


class BarProvider(Protocol):
    """A source of daily bars for one symbol over a date range."""

    name: str

    def daily_bars(self, symbol: str, start: dt.date, end: dt.date) -> Iterator[BarRow]: ...


class FileBars:
    """The files provider: bars from a CSV (plain or gzip) with any known header spelling."""

    name = "files"

    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self) -> Iterator[BarRow]:
        origin = self.path.name
        for line, values in iter_bars(self.path):
            yield origin, line, values


_STOOQ_HEADER = ["Date", "Open", "High", "Low", "Close", "Volume"]


class StooqProvider:
    """Daily bars from Stooq's CSV endpoint (``/q/d/l/?s=aapl.us&i=d&d1=YYYYMMDD&d2=YYYYMMDD``).

    Symbols map to Stooq's US tickers: lower case, ``.`` -> ``-``, suffix ``.us`` (BRK.B -> brk-b.us).
    Stooq answers HTTP 200 with the body ``No data`` for an unknown symbol or an empty range, and a
    plain-text notice when the daily request quota is used up.
    """

    name = "stooq"

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self.timeout = timeout

    @staticmethod
    def ticker(symbol: str) -> str:
        return symbol.lower().replace(".", "-") + ".us"

    def url(self, symbol: str, start: dt.date, end: dt.date) -> str:
        query = urllib.parse.urlencode(
            {"s": self.ticker(symbol), "i": "d", "d1": start.strftime("%Y%m%d"), "d2": end.strftime("%Y%m%d")}
        )
        return f"{self.base_url}?{query}"

    def _get(self, symbol: str, url: str) -> str:
        request = urllib.request.Request(url, headers={"User-Agent": "stockscreen-ingest/1.0"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                body: bytes = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise ProviderUnavailable(symbol, f"stooq answered HTTP {exc.code}") from exc
            raise ProviderError(symbol, f"stooq answered HTTP {exc.code}") from exc
        except TimeoutError as exc:
            raise ProviderUnavailable(symbol, f"stooq timed out after {self.timeout:g}s") from exc
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise ProviderUnavailable(symbol, f"stooq timed out after {self.timeout:g}s") from exc
            raise ProviderUnavailable(symbol, f"stooq unreachable: {reason}") from exc
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProviderError(symbol, "stooq sent non-UTF-8 data") from exc

    def daily_bars(self, symbol: str, start: dt.date, end: dt.date) -> Iterator[BarRow]:
        if not self.base_url.startswith(("http://", "https://")):
            raise ProviderError(symbol, f"not an http(s) URL: {self.base_url}")
        body = self._get(symbol, self.url(symbol, start, end))
        origin = f"stooq:{self.ticker(symbol)}"
        lines = body.splitlines()
        first = lines[0].strip() if lines else ""
        if first.lower() == "no data" or not first:
            raise ProviderError(symbol, "stooq has no data for this symbol and range")
        if "exceeded" in first.lower() and "limit" in first.lower():
            raise ProviderUnavailable(symbol, f"stooq quota: {first}")
        header = [h.strip() for h in next(csv.reader([first]))]
        if header[: len(_STOOQ_HEADER)] != _STOOQ_HEADER:
            raise ProviderError(symbol, f"unexpected stooq header {first!r}")
        for line, row in enumerate(csv.reader(lines[1:]), 2):
            if not row:
                continue
            if len(row) < len(_STOOQ_HEADER):
                raise ProviderError(symbol, f"{origin}:{line}: expected {len(_STOOQ_HEADER)} fields, found {len(row)}")
            d, o, h, lo, c, v = (x.strip() for x in row[:6])
            yield origin, line, (symbol.upper(), d, o, h, lo, c, v)
