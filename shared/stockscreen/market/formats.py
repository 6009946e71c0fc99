"""The file formats people bring, detected from the header line and the file name.

A :class:`Spec` says what a file is (its ``kind``: bars, constituents (a listing) or fundamentals),
which named format it was recognised as, and where each canonical column is. Detection is a pure
function of the header and the file name (:func:`detect`); ``--format`` forces a format and
``--map Header=field,...`` names columns the aliases do not know (:func:`parse_mapping`).

Formats (``FORMATS``):

- ``bars``: many symbols per file, columns in any order and any of the usual spellings
  (``Ticker``/``Symbol``/``Name``, ``Date``/``date``/``timestamp``, optional ``Adj Close``/``adj_close``).
- ``yahoo``: one symbol per file, ``Date,Open,High,Low,Close,Adj Close,Volume``; the symbol is the
  file name's (``AAPL.csv``, ``msft.us.csv.gz``).
- ``stooq``: Stooq's bulk ``.txt`` files, ``<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,...``: dates
  ``YYYYMMDD``, tickers with an exchange suffix (``AAPL.US``, ``BRK-B.US`` -> ``BRK.B``).
- ``listing``: a security list: the S&P constituents file, or an exchange screener export
  (``Symbol,Name,Last Sale,...,Sector,Industry`` and ``Symbol,Name,MarketCap,IPOyear,Sector,Industry``).
- ``fundamentals``: a symbol-keyed CSV whose columns map onto the fundamentals fields by name
  (``Price/Earnings``, ``pe``, ``P/E``, ``Market Cap``...); the columns that map onto nothing are
  reported (a finding of the run), not dropped silently.

Any of these may be plain, gzipped, or members of a zip archive (see :mod:`stockscreen.pipeline.staging`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from stockscreen.core.errors import DataFileError

FORMATS = ("bars", "yahoo", "stooq", "listing", "fundamentals")
KIND_OF = {"bars": "bars", "yahoo": "bars", "stooq": "bars", "listing": "constituents", "fundamentals": "fundamentals"}

#: the canonical bar columns every bars format yields (``adj_close`` is optional)
BAR_FIELDS = ("symbol", "date", "open", "high", "low", "close", "volume")
OPTIONAL_BAR_FIELDS = ("adj_close",)
LISTING_FIELDS = ("symbol", "name", "sector", "industry", "headquarters", "date_added", "cik", "country")
#: the numeric fundamentals (the fundamentals table's columns, the catalogue's field ids)
FUNDAMENTAL_FIELDS = (
    "price",
    "pe",
    "dividend_yield",
    "eps",
    "low_52w",
    "high_52w",
    "market_cap",
    "ebitda",
    "price_sales",
    "price_book",
)


def norm(header: str) -> str:
    """A header as compared: lower case, ``<>`` and everything but letters, digits and ``%`` gone."""
    return re.sub(r"[^a-z0-9%]+", "", header.strip().lstrip("\ufeff").lower())


def _aliases(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {norm(a): canonical for canonical, spellings in table.items() for a in (canonical, *spellings)}


#: normalised header -> canonical bar column. ``name`` names the symbol only where nothing else does.
BAR_ALIASES = _aliases(
    {
        "date": ("timestamp", "day", "datetime"),
        "symbol": ("ticker",),
        "open": (),
        "high": (),
        "low": (),
        "close": (),
        "volume": ("vol",),
        "adj_close": ("adj close", "adjclose", "adjusted close", "adjusted_close"),
    }
)
_SYMBOL_FALLBACK = "name"

LISTING_ALIASES = _aliases(
    {
        "symbol": ("ticker symbol", "ticker"),
        "name": ("security", "company", "company name", "security name"),
        "sector": ("gics sector",),
        "industry": ("gics sub industry", "sub industry"),
        "headquarters": ("address of headquarters", "hq"),
        "date_added": ("date first added",),
        "cik": (),
        "country": (),
    }
)

FUNDAMENTAL_ALIASES = _aliases(
    {
        "symbol": ("ticker",),
        "name": ("company", "security"),
        "sector": (),
        "price": ("last", "last price"),
        "pe": ("price/earnings", "p/e", "pe ratio", "price earnings"),
        "dividend_yield": ("dividend yield", "yield"),
        "eps": ("earnings/share", "earnings per share"),
        "low_52w": ("52 week low", "52w low", "low 52w"),
        "high_52w": ("52 week high", "52w high", "high 52w"),
        "market_cap": ("market cap", "marketcap", "market capitalization"),
        "ebitda": (),
        "price_sales": ("price/sales", "p/s", "ps"),
        "price_book": ("price/book", "p/b", "pb"),
    }
)
#: columns of a fundamentals file known to hold no catalogue value (a link), ignored without a finding
FUNDAMENTAL_IGNORED = frozenset({norm("SEC Filings")})
#: fields only a fundamentals file has (a listing with a market cap is still a listing)
_FUNDAMENTAL_ONLY = frozenset(FUNDAMENTAL_FIELDS) - {"price", "market_cap"}

_SYMBOL_NAME = re.compile(r"^[A-Za-z0-9.\-]{1,16}$")
#: a symbol the security master takes (its CHECK constraint)
SYMBOL = re.compile(r"^[A-Z0-9.\-]{1,16}$")


@dataclass(frozen=True)
class Spec:
    """What a file is and where its columns are."""

    name: str  # the file's name as reported (``archive.zip:AAPL.csv`` for a member)
    format: str  # one of FORMATS
    header: tuple[str, ...]
    columns: dict[str, int]  # canonical column -> index in the header
    symbol: str | None = None  # the file's one symbol (per-symbol formats)
    unknown: tuple[str, ...] = field(default_factory=tuple)  # header columns that map onto nothing

    @property
    def kind(self) -> str:
        return KIND_OF[self.format]


def parse_mapping(text: str | None) -> dict[str, str]:
    """``Ticker=symbol,Date=date`` -> {"Ticker": "symbol", "Date": "date"}; a bad item is an error."""
    if not text:
        return {}
    known = set(BAR_FIELDS) | set(OPTIONAL_BAR_FIELDS) | set(LISTING_FIELDS) | set(FUNDAMENTAL_FIELDS)
    out: dict[str, str] = {}
    for item in text.split(","):
        header, sep, target = item.partition("=")
        if not sep or not header.strip() or not target.strip():
            raise ValueError(f"--map: {item!r} is not HEADER=field")
        if target.strip() not in known:
            raise ValueError(f"--map: {target.strip()!r} is not a field (one of {', '.join(sorted(known))})")
        out[header.strip()] = target.strip()
    return out


def symbol_from_name(name: str) -> str | None:
    """The symbol a per-symbol file is named after: ``AAPL.csv``, ``aapl.us.txt``, ``BRK-B.csv.gz``,
    ``AAPL_data.csv`` -> AAPL, BRK.B...; None when the name does not look like one."""
    base = name.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    for ext in (".gz", ".zip"):
        base = base.removesuffix(ext)
    base = re.sub(r"\.(csv|txt|tsv)$", "", base, flags=re.IGNORECASE)
    base = re.sub(r"_(data|daily|prices|history)$", "", base, flags=re.IGNORECASE)
    base = re.sub(r"\.us$", "", base, flags=re.IGNORECASE)
    symbol = base.upper().replace("-", ".")
    return symbol if _SYMBOL_NAME.match(symbol) else None


def _indexed(header: list[str], aliases: dict[str, str], mapping: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Canonical column -> index (the first spelling wins; ``mapping`` first), and the unmapped headers."""
    columns: dict[str, int] = {}
    unknown: list[str] = []
    for i, h in enumerate(header):
        canonical = mapping.get(h) or aliases.get(norm(h))
        if canonical and canonical not in columns:
            columns[canonical] = i
        elif not canonical:
            unknown.append(h)
    return columns, unknown


def _bars_columns(header: list[str], mapping: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    columns, unknown = _indexed(header, BAR_ALIASES, mapping)
    if "symbol" not in columns:  # ``Name`` (as the Kaggle file spells it) is the symbol only as a last resort
        for i, h in enumerate(header):
            if norm(h) == _SYMBOL_FALLBACK:
                columns["symbol"] = i
                unknown.remove(h)
                break
    return columns, unknown


_PRICES = ("date", "open", "high", "low", "close", "volume")


def _unrecognised(name: str, header: list[str], why: str = "") -> DataFileError:
    return DataFileError(
        name,
        1,
        f"unrecognised file{': ' + why if why else ''}; header was: {', '.join(header) or '(empty)'}. "
        "Expected daily bars (date, open, high, low, close, volume, and a symbol column or a file named after "
        "the symbol), a listing (symbol with name/sector/industry) or fundamentals (symbol with fields such as "
        "pe, eps, market_cap); --format and --map override the detection",
    )


def _spec(name: str, fmt: str, header: list[str], mapping: dict[str, str]) -> Spec:
    """The spec of a file in format ``fmt``, or a file error saying which columns are missing."""
    if fmt in ("bars", "yahoo", "stooq"):
        columns, unknown = _bars_columns(header, mapping)
        symbol = None
        if fmt == "yahoo" or (fmt == "stooq" and "symbol" not in columns):
            symbol = _FROM_NAME  # (the file's name's: :func:`detect` sets it)
            columns.pop("symbol", None)
        missing = [c for c in _PRICES if c not in columns]
        if fmt == "bars" and "symbol" not in columns:
            missing.insert(0, "symbol")
        if missing:
            raise DataFileError(
                name,
                1,
                f"{fmt} file without column(s) {', '.join(missing)}; header was: {', '.join(header)} "
                "(--map HEADER=field names a column)",
            )
        return Spec(name, fmt, tuple(header), columns, symbol, tuple(unknown))
    aliases = LISTING_ALIASES if fmt == "listing" else FUNDAMENTAL_ALIASES
    columns, unknown = _indexed(header, aliases, mapping)
    if "symbol" not in columns:
        raise DataFileError(name, 1, f"{fmt} file without a symbol column; header was: {', '.join(header)}")
    if fmt == "fundamentals":
        unknown = [h for h in unknown if norm(h) not in FUNDAMENTAL_IGNORED]
    return Spec(name, fmt, tuple(header), columns, None, tuple(unknown))


_FROM_NAME = ""
_ANY = "?"
#: specs by (header, format, mapping), name aside: an archive's files share a header
_SHAPES: dict[tuple[Any, ...], Spec | str] = {}


def detect(name: str, header: list[str], fmt: str | None = None, mapping: dict[str, str] | None = None) -> Spec:
    """The spec of a file from its header (and name); ``fmt`` forces the format."""
    mapping = mapping or {}
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    key = (tuple(header), fmt, tuple(sorted(mapping.items())))
    shape = _SHAPES.get(key)
    if shape is None:
        try:
            shape = _spec(_ANY, fmt, header, mapping) if fmt is not None else _detect(_ANY, header, mapping)
        except DataFileError as exc:
            shape = exc.message.removeprefix(f"{_ANY}:1: ")
        if len(_SHAPES) > 256:
            _SHAPES.clear()
        _SHAPES[key] = shape
    if isinstance(shape, str):
        raise DataFileError(name, 1, shape)
    symbol = shape.symbol
    if symbol == _FROM_NAME:
        symbol = symbol_from_name(name)
        if symbol is None:
            raise _unrecognised(name, header, f"{shape.format}: no symbol column, and the file name is not a symbol")
    return dataclasses.replace(shape, name=name, symbol=symbol)


def _detect(name: str, header: list[str], mapping: dict[str, str]) -> Spec:
    normed = {mapping.get(h) or norm(h) for h in header}
    bars, _ = _bars_columns(header, mapping)
    if all(c in bars for c in _PRICES):
        if any(h.strip().startswith("<") and h.strip().endswith(">") for h in header):
            return _spec(name, "stooq", header, mapping)
        return _spec(name, "bars" if "symbol" in bars else "yahoo", header, mapping)
    fundamentals, _ = _indexed(header, FUNDAMENTAL_ALIASES, mapping)
    listing, _ = _indexed(header, LISTING_ALIASES, mapping)
    if "symbol" in fundamentals and _FUNDAMENTAL_ONLY & set(fundamentals):
        return _spec(name, "fundamentals", header, mapping)
    if "symbol" in listing and {"name", "sector", "industry"} & set(listing):
        return _spec(name, "listing", header, mapping)
    if "symbol" in fundamentals and set(fundamentals) & set(FUNDAMENTAL_FIELDS):
        return _spec(name, "fundamentals", header, mapping)
    if "date" in normed or bars.keys() & {"open", "close"}:
        missing = [c for c in _PRICES if c not in bars]
        raise _unrecognised(name, header, f"bars without column(s) {', '.join(missing)}")
    raise _unrecognised(name, header)
