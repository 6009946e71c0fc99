"""The screening universe: every security x every stored trading date, as NumPy arrays.

Built once per snapshot version from ``daily_bars`` + the latest ``fundamentals`` + the
profile in ``securities`` + the current ``snapshot_rows`` (text labels such as the index
membership), then cached in the process (a warm Lambda reuses it). Metric histories are
computed on first use by :mod:`stockscreen.market.measures` (see :class:`~stockscreen.screening.history.Frame`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from stockscreen.core.errors import Invalid, NotFound, Unavailable
from stockscreen.db.engine import psycopg_connection, reader_for
from stockscreen.market.measures import TAIL
from stockscreen.screening.fields import FIELDS, MARKET_CAP_BUCKETS
from stockscreen.screening.history import COMPUTED, F2, Frame, grid, period_end_flags, resample, slice_cols
from stockscreen.screening.validate import field_kind

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy import Connection, Engine

EPOCH = np.datetime64("1970-01-01", "D")


def day_number(d: Any) -> float:
    """Days since 1970-01-01 (how date fields are held)."""
    return float((np.datetime64(d, "D") - EPOCH) // np.timedelta64(1, "D"))


@dataclass
class Categorical:
    """A text column as integer codes into sorted categories (-1 = missing)."""

    codes: NDArray[np.int32]
    categories: list[str]
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, values: list[str | None]) -> Categorical:
        cats = sorted({v for v in values if v is not None})
        index = {c: i for i, c in enumerate(cats)}
        codes = np.array([index[v] if v is not None else -1 for v in values], dtype=np.int32)
        return cls(codes, cats)

    def code(self, value: str) -> int:
        """The code of ``value``; -2 when no security has it."""
        if not self._index and self.categories:
            self._index = {c: i for i, c in enumerate(self.categories)}
        return self._index.get(value, -2)

    def values(self, rows: NDArray[np.intp]) -> list[str | None]:
        return [self.categories[k] if k >= 0 else None for k in self.codes[rows].tolist()]


@dataclass
class Universe:
    version: int
    as_of: dt.date
    symbols: NDArray[np.str_]
    daily: Frame
    strings: dict[str, Categorical]
    dates: dict[str, NDArray[np.float64]]  # date fields as days since 1970-01-01 (NaN = missing)
    cache_key: str = ""
    #: numeric fields on the latest date as the snapshot has them (its rows): a screen on the latest date
    #: reads these without computing any history, and a history computed later keeps them on that date
    latest: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    #: the securities' database ids, row by row, when loaded from PostgreSQL (the snapshot artifact keys its
    #: bar segments by them, so a renamed ticker keeps its history); None for universes built in memory
    security_ids: NDArray[np.int64] | None = None
    _pinned: set[str] = field(default_factory=set)
    _tf_cache: OrderedDict[tuple[str, int], Frame] = field(default_factory=OrderedDict)
    _row: dict[str, int] = field(default_factory=dict)
    _wanted: frozenset[str] = frozenset()
    _window: Frame | None = None
    _window_start: int = 0
    _window_pinned: set[str] = field(default_factory=set)

    @property
    def n(self) -> int:
        return len(self.symbols)

    @property
    def trading_dates(self) -> NDArray[np.datetime64]:
        return self.daily.dates

    def row_of(self, symbol: str) -> int | None:
        if not self._row:
            self._row = {s: i for i, s in enumerate(self.symbols.tolist())}
        return self._row.get(symbol.upper())

    def date_index(self, day: dt.date | None) -> int:
        """Column of the last trading date on or before ``day`` (default: the latest)."""
        d = self.daily.dates
        if day is None:
            return len(d) - 1
        i = int(np.searchsorted(d, np.datetime64(day, "D"), side="right")) - 1
        if i < 0:
            raise Invalid(f"as_of {day.isoformat()} is before the stored history (starts {d[0]})")
        return i

    def label_codes(self, name: str, lo: int, hi: int) -> NDArray[np.int32]:
        """Category codes of a text field on date columns ``lo..hi`` (``(n, 1)`` when it does
        not change over time; -1 = missing). ``market_cap_bucket`` follows the market cap's history."""
        if name != "market_cap_bucket":
            return self.strings[name].codes[:, None]
        cols = np.arange(lo, hi + 1)
        cap = np.full((self.n, len(cols)), np.nan)
        ok = (cols >= 0) & (cols < len(self.daily.dates))
        if ok.all() and len(cols) == 1:
            cap = self.cols("market_cap", lo, hi)
        else:
            cap[:, ok] = self.numeric("market_cap")[:, cols[ok]]
        return bucket_codes(cap, self.strings[name].categories)

    def label_values(self, name: str, rows: NDArray[np.intp], t: int) -> list[str | None]:
        """A text field's values of some securities on date column ``t``."""
        cats = self.strings[name].categories
        return [cats[k] if k >= 0 else None for k in self.label_codes(name, t, t)[rows, 0].tolist()]

    def want(self, names: Iterable[str]) -> None:
        """Fields a screen is about to read: their histories are computed in one pass."""
        self._wanted = frozenset(names)
        if not self._wanted <= self.daily._cache.keys():
            # a field the snapshot has on the latest date is computed only when a screen reads its history
            self.daily.want(self._wanted - self.latest.keys())

    def numeric(self, name: str) -> F2:
        """A numeric field's whole history (computed on first use), the latest date the snapshot's."""
        arr = self.daily.num(name)
        if arr is None:
            arr = grid(self.n, len(self.daily.dates))
            self.daily.extra[name] = arr
        if name in self.latest and name not in self._pinned:
            arr[:, -1] = self.latest[name]
            self._pinned.add(name)
        return arr

    def cols(self, name: str, lo: int, hi: int) -> F2:
        """A numeric field on date columns ``lo..hi`` (NaN before the first). The latest date alone is
        read from the snapshot's values without computing (or mapping) any history; a computed history
        read far from the first date, over a trailing window of the grid (:meth:`_windowed`)."""
        if lo == hi == len(self.daily.dates) - 1 and name in self.latest and name not in self._pinned:
            return self.latest[name][:, None]
        start = (lo - WINDOW_WARMUP) // WINDOW_BLOCK * WINDOW_BLOCK
        if start > 0 and name in COMPUTED and name not in WHOLE_HISTORY and name not in self.daily._cache:
            return slice_cols(self._windowed(name, start), lo - start, hi - start)
        return slice_cols(self.numeric(name), lo, hi)

    def _windowed(self, name: str, start: int) -> F2:
        """A computed field's history on daily columns ``start..`` from those columns' bars only: at 20 years
        of dates a history screen then maps and packs a few years of bars, not all of them. Equal to the
        whole history's values from ``start + WINDOW_WARMUP`` on, except for a security without a bar in
        the window (delisted years ago), which has its snapshot value (or none) instead of its last one."""
        frame = self._window
        if frame is None or self._window_start != start:
            d = self.daily
            o, h, lo, c, v = (x[:, start:] for x in (d.o, d.h, d.lo, d.c, d.v))  # views: nothing copied
            a = d.a[:, start:] if d.a is not None else None
            frame = Frame(d.dates[start:], o, h, lo, c, v, d.fundamentals, a)
            self._window, self._window_start, self._window_pinned = frame, start, set()
        frame.want(self._wanted - self.latest.keys())
        arr = frame.num(name)
        assert arr is not None  # a computed field
        if name in self.latest and name not in self._window_pinned:
            idle = ~frame.has.any(axis=1)  # no bar in the window: nothing to carry forward from
            arr[idle, :] = self.latest[name][idle, None]
            arr[:, -1] = self.latest[name]
            self._window_pinned.add(name)
        return arr

    def column(self, name: str, t: int) -> NDArray[np.float64]:
        """A numeric field's values of every security on date column ``t``."""
        return self.cols(name, t, t)[:, 0]

    def timeframe_value(self, name: str, timeframe: str, t: int, offset: int) -> NDArray[np.float64]:
        """``timeframe.name[offset]`` as seen on daily column ``t``: the current week/month is partial."""
        is_end, period = period_end_flags(self.daily.dates, timeframe)
        key = (timeframe, -1 if is_end[t] else t)
        frame = self._tf_cache.get(key)
        if frame is None:
            frame = self._full(timeframe) if is_end[t] else self._partial(timeframe, t, int(period[t]))
            self._tf_cache[key] = frame
            while len(self._tf_cache) > 64:
                self._tf_cache.popitem(last=False)
        else:
            self._tf_cache.move_to_end(key)
        col = int(period[t]) + offset
        frame.want(self._wanted)
        arr = frame.num(name)
        if arr is None or col < 0:
            return np.full(self.n, np.nan)
        return arr[:, col]

    def _full(self, timeframe: str) -> Frame:
        key = (timeframe, -1)
        frame = self._tf_cache.get(key)
        if frame is None:
            frame = resample(self.daily, timeframe)
            self._tf_cache[key] = frame
        return frame

    def _partial(self, timeframe: str, t: int, p: int) -> Frame:
        """The full period bars up to period ``p``, whose bar is rebuilt from the days up to ``t``."""
        full = self._full(timeframe)
        _, period = period_end_flags(self.daily.dates, timeframe)
        start = int(np.searchsorted(period, p))
        cut = resample(self.daily, timeframe, upto=t, start=start)  # the one partial period
        names = ("o", "h", "lo", "c", "v", *(("a",) if full.a is not None and cut.a is not None else ()))
        bar = {k: getattr(cut, k)[:, 0] for k in names}
        arrays = {}
        for k in names:
            a = getattr(full, k)[:, : p + 1].copy(order="F")
            a[:, p] = bar[k]
            arrays[k] = a
        dates = full.dates[: p + 1].copy()
        dates[p] = self.daily.dates[t]
        return Frame(
            dates,
            arrays["o"],
            arrays["h"],
            arrays["lo"],
            arrays["c"],
            arrays["v"],
            self.daily.fundamentals,
            arrays.get("a"),
        )


#: A computed history read from column ``lo`` on is computed over the daily columns from about
#: ``lo - WINDOW_WARMUP`` (rounded down to a multiple of WINDOW_BLOCK, so screens share one window): the
#: metrics' longest lookback (``measures.TAIL``) plus room for the recursive ones (EMAs, Wilder's
#: averages) to forget where they started ((13/14)**1000 < 1e-32).
WINDOW_WARMUP = TAIL + 1000
WINDOW_BLOCK = 256
#: fields that count from a security's first bar: always over the whole history
WHOLE_HISTORY = frozenset({"history_days"})

BUCKET_LABELS = sorted(label for _, label in MARKET_CAP_BUCKETS)


def bucket_codes(cap: F2, categories: list[str]) -> NDArray[np.int32]:
    """``market_cap_bucket`` (as in the snapshot) of market caps, as codes into ``categories``."""
    out = np.full(cap.shape, -1, dtype=np.int32)
    with np.errstate(invalid="ignore"):
        for floor, label in reversed(MARKET_CAP_BUCKETS):  # smallest floor first: larger ones win
            out[(cap >= floor) & (cap > 0)] = categories.index(label)
    return out


def _with_buckets(strings: dict[str, Categorical], n: int) -> dict[str, Categorical]:
    """The bucket is derived from the market cap's history (:meth:`Universe.label_codes`)."""
    strings["market_cap_bucket"] = Categorical(np.full(n, -1, dtype=np.int32), list(BUCKET_LABELS))
    return strings


def from_arrays(
    symbols: list[str],
    numbers: dict[str, NDArray[np.float64]],
    strings: dict[str, list[str | None]],
    as_of: dt.date,
    version: int = 0,
) -> Universe:
    """A one-date universe from snapshot columns (used by benchmarks and tests)."""
    order = np.argsort(np.array(symbols), kind="stable")
    sym = np.array(symbols)[order]
    dates = np.array([np.datetime64(as_of, "D")])

    def col(x: NDArray[np.float64]) -> F2:
        return np.asarray(x, dtype=np.float64)[order][:, None]

    nan = np.full((len(sym), 1), np.nan)
    close = col(numbers["close"]) if "close" in numbers else nan
    frame = Frame(dates, nan, nan, nan, close, nan, {})
    for k, v in numbers.items():
        frame._cache[k] = col(v)
    for f in FIELDS:
        if field_kind(f.type) == "number" and f.id not in frame._cache:
            frame._cache[f.id] = nan
    cats = {k: Categorical.of([v[i] for i in order.tolist()]) for k, v in strings.items()}
    cats.setdefault("symbol", Categorical.of(sym.tolist()))
    return Universe(version, as_of, sym, frame, _with_buckets(cats, len(sym)), {})


# ---------------------------------------------------------------- loading from the database


_CURRENT_SQL = "SELECT version, as_of, created_at FROM snapshot_versions WHERE is_current"


def _current(engine: Engine | None) -> tuple[int, dt.date, str]:
    # read before every screen run (a new snapshot replaces the universe): one round trip
    row = reader_for(engine).one(_CURRENT_SQL, ())
    if row is None:
        raise Unavailable("no screening snapshot yet: run the ingest pipeline first")
    return int(row[0]), row[1], str(row[2])


#: A digest of what ``load()`` reads besides the version's own bars and rows: the security master and the
#: fundamentals. An artifact records it when written; a different one now (a profile, listing date or report
#: changed without a new snapshot version) makes the API load from the database instead.
_REFERENCE_SQL = (
    "SELECT md5(coalesce(string_agg(s::text, '|' ORDER BY s.id), '')) || ':' || "
    "(SELECT count(*) || '/' || coalesce(max(as_of)::text, '') FROM fundamentals) FROM securities s"
)

#: the current version and the reference fingerprint in one round trip (what a container's first screen
#: reads before it maps the version's artifact; later screens read the version alone)
_CURRENT_AND_REFERENCE_SQL = (
    f"SELECT version, as_of, created_at, ({_REFERENCE_SQL}) FROM snapshot_versions WHERE is_current"  # noqa: S608 (constants)
)


def reference_fingerprint(engine: Engine | None) -> str:
    row = reader_for(engine).one(_REFERENCE_SQL, ())
    return str(row[0]) if row else ""


def _current_and_reference(engine: Engine | None) -> tuple[int, dt.date, str, str]:
    """:func:`_current` and :func:`reference_fingerprint`, read by one statement."""
    row = reader_for(engine).one(_CURRENT_AND_REFERENCE_SQL, ())
    if row is None:
        raise Unavailable("no screening snapshot yet: run the ingest pipeline first")
    return int(row[0]), row[1], str(row[2]), str(row[3]) if row[3] is not None else ""


def published_versions(engine: Engine) -> dict[int, tuple[dt.date, str]]:
    """Every stored snapshot version: its as_of and creation time (as :func:`_current` gives it)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT version, as_of, created_at FROM snapshot_versions")).all()
    return {int(r[0]): (r[1], str(r[2])) for r in rows}


_BAR_ROW = np.dtype(
    [
        ("nf", ">i2"),
        ("l0", ">i4"),
        ("sid", ">i4"),
        ("l1", ">i4"),
        ("day", ">i4"),
        ("l2", ">i4"),
        ("o", ">f8"),
        ("l3", ">i4"),
        ("h", ">f8"),
        ("l4", ">i4"),
        ("lo", ">f8"),
        ("l5", ">i4"),
        ("c", ">f8"),
        ("l6", ">i4"),
        ("v", ">i8"),
        ("l7", ">i4"),
        ("a", ">f8"),
    ]
)


#: bytes of COPY output parsed at a time: the raw rows (78 bytes each) are never all held, only their
#: compact columns (48 bytes a bar) until they are scattered onto the grids
_COPY_CHUNK = 64 << 20


def _bar_grids(
    conn: Connection, ids: NDArray[np.int64], as_of: dt.date, after: dt.date | None = None
) -> tuple[NDArray[np.datetime64], list[F2]]:
    """The daily bars of the securities ``ids`` (the grids' rows, in that order) up to ``as_of`` (and after
    ``after``) as grids (open, high, low, close, volume, and the adjusted close when some bar has one) on the
    dates that have a bar, through binary
    COPY (fixed-width rows, parsed a chunk at a time: no Python per row, and no copy of the whole stream)."""
    lookup = np.full(int(ids.max()) + 1 if len(ids) else 1, -1, dtype=np.int64)
    lookup[ids] = np.arange(len(ids))
    parts: list[tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float64]]] = []
    pending = bytearray()
    header = True

    def parse(final: bool) -> None:
        nonlocal header
        if header:
            if len(pending) < 19:
                return
            del pending[: 19 + int.from_bytes(pending[15:19], "big")]  # signature, flags, extension
            header = False
        n = (len(pending) - (2 if final else 0)) // _BAR_ROW.itemsize  # (the trailer: int16 -1)
        recs = np.frombuffer(bytes(pending[: n * _BAR_ROW.itemsize]), dtype=_BAR_ROW)
        del pending[: n * _BAR_ROW.itemsize]
        if len(recs) and not (recs["nf"] == 8).all():  # pragma: no cover - the SELECT fixes the shape
            raise RuntimeError("unexpected COPY row layout")
        sid = recs["sid"].astype(np.int64)
        rows = np.where(sid < len(lookup), lookup[np.minimum(sid, len(lookup) - 1)], -1)
        keep = rows >= 0
        if keep.any():
            vals = np.column_stack([recs[k][keep].astype(np.float64) for k in ("o", "h", "lo", "c", "v", "a")])
            parts.append((rows[keep], recs["day"][keep].astype(np.int32), vals))

    raw = psycopg_connection(conn)
    with (
        raw.cursor() as cur,
        cur.copy(
            "COPY (SELECT security_id::int4, (date - DATE '1970-01-01')::int4, open::float8, high::float8, "
            "low::float8, close::float8, volume::int8, coalesce(adj_close, 'NaN')::float8 FROM daily_bars "
            "WHERE date > %s AND date <= %s) "
            "TO STDOUT (FORMAT binary)",
            (after or dt.date(1, 1, 1), as_of),
        ) as copy,
    ):
        for block in copy:
            pending += block
            if len(pending) >= _COPY_CHUNK:
                parse(final=False)
    if pending:
        parse(final=True)
    days = np.unique(np.concatenate([np.unique(p[1]) for p in parts])) if parts else np.zeros(0, np.int32)
    dates = EPOCH + days.astype(np.int64).astype("timedelta64[D]")
    if len(dates) == 0:
        dates = np.array([np.datetime64(as_of, "D")])
    adjusted = any(not np.isnan(p[2][:, 5]).all() for p in parts)
    grids = [grid(len(ids), len(dates)) for _ in range(6 if adjusted else 5)]
    while parts:
        rows, day, vals = parts.pop()  # each part's columns freed once scattered
        col = np.searchsorted(days, day)
        for k in range(len(grids)):
            grids[k][rows, col] = vals[:, k]
    return dates, grids


def load(engine: Engine, version: int, as_of: dt.date, after: dt.date | None = None) -> Universe:
    """The universe of a snapshot version. ``after``: only the bars after that date (its dates are theirs):
    what :func:`stockscreen.screening.artifact.append` adds to the previous version's artifact."""
    from sqlalchemy import text

    with engine.connect() as conn:
        snap = conn.execute(
            text("SELECT * FROM snapshot_rows WHERE version = :v ORDER BY security_id"), {"v": version}
        ).mappings()
        snap_rows = {int(r["security_id"]): dict(r) for r in snap}
        secs = [
            dict(r)
            for r in conn.execute(text("SELECT * FROM securities ORDER BY symbol")).mappings()
            if int(r["id"]) in snap_rows
        ]
        funds = {
            int(r["security_id"]): dict(r)
            for r in conn.execute(
                text("SELECT DISTINCT ON (security_id) * FROM fundamentals ORDER BY security_id, as_of DESC")
            ).mappings()
        }
        ids = np.array([int(sec["id"]) for sec in secs], dtype=np.int64)
        dates, grids = _bar_grids(conn, ids, as_of, after)
    s = len(secs)
    fund_keys = ("price", "pe", "dividend_yield", "eps", "market_cap", "ebitda", "price_sales", "price_book")
    fundamentals = {
        k: np.array(
            [np.nan if funds.get(int(sec["id"]), {}).get(k) is None else funds[int(sec["id"])][k] for sec in secs],
            dtype=np.float64,
        )
        for k in fund_keys
    }
    adjusted = grids[5] if len(grids) > 5 else None
    frame = Frame(dates, grids[0], grids[1], grids[2], grids[3], grids[4], fundamentals, adjusted)
    strings: dict[str, Categorical] = {}
    date_cols: dict[str, NDArray[np.float64]] = {}
    latest: dict[str, NDArray[np.float64]] = {}
    snap_keys = next(iter(snap_rows.values())).keys() if snap_rows else set()
    for f in FIELDS:
        kind = field_kind(f.type)
        source: list[Any]
        if secs and f.id in secs[0]:
            source = [sec.get(f.id) for sec in secs]
        else:
            source = [snap_rows[int(sec["id"])].get(f.id) for sec in secs]
        if kind == "string":
            strings[f.id] = Categorical.of([None if v is None else str(v) for v in source])
        elif kind == "date":
            date_cols[f.id] = np.array([np.nan if v is None else day_number(v) for v in source])
        elif f.id not in COMPUTED or f.id in snap_keys:
            # the snapshot's value on the latest date (a number measures does not compute has only that)
            latest[f.id] = np.array([np.nan if v is None else float(v) for v in source], dtype=np.float64)
    date_cols.update(_listing(secs))
    symbols = np.array([str(sec["symbol"]) for sec in secs])
    return Universe(
        version, as_of, symbols, frame, _with_buckets(strings, s), date_cols, latest=latest, security_ids=ids
    )


LISTING = ("listed_on", "delisted_on")


def _listing(records: list[dict[str, Any]]) -> dict[str, NDArray[np.float64]]:
    """The security master's listing and delisting dates (day numbers, NaN = unknown), for backtests."""
    return {
        k: np.array([np.nan if r.get(k) is None else day_number(r[k]) for r in records], dtype=np.float64)
        for k in LISTING
        if any(r.get(k) is not None for r in records)
    }


_lock = threading.Lock()
_cached: Universe | None = None


def get_universe(engine: Engine | None = None) -> Universe:
    """The universe of the current snapshot version (reloaded when a new version is published).

    ``engine``: None for the process's database (``get_engine()``), whose SQLAlchemy engine is then built
    only when the universe must be loaded from PostgreSQL: the version check and the snapshot artifact
    need psycopg alone (a cold container's first screen; README, "Cold start")."""
    global _cached
    reference: str | None = None
    if _cached is None and _artifacts():
        # a container's first screen maps an artifact, checked against the reference data: both in one read
        version, as_of, created, reference = _current_and_reference(engine)
    else:
        version, as_of, created = _current(engine)
    key = f"{version}@{created}"  # a rebuilt database may reuse version numbers
    u = _cached
    if u is not None and u.cache_key == key:
        return u
    with _lock:
        if _cached is None or _cached.cache_key != key:
            from stockscreen.screening import artifact

            def fingerprint() -> str:
                return reference if reference is not None else reference_fingerprint(engine)

            mapped = artifact.open_current(version, created, fingerprint)
            if mapped is None or mapped.version != version:
                if engine is None:
                    from stockscreen.db.engine import get_engine

                    engine = get_engine()
                mapped = load(engine, version, as_of)
            _cached = mapped
            _cached.cache_key = key
        return _cached


def _artifacts() -> bool:
    """Are snapshot artifacts configured (a bucket)? Without one the universe is loaded from the database."""
    from stockscreen.screening import artifact

    return bool(artifact.artifact_settings().snapshot_bucket)


def reset_cache() -> None:
    global _cached
    _cached = None


def from_bars(
    bars: list[tuple[str, dt.date, float, float, float, float, float]],
    profiles: dict[str, dict[str, Any]],
    fundamentals: dict[str, dict[str, float | None]],
    version: int = 0,
) -> Universe:
    """A universe computed in memory from raw rows (symbol, date, o, h, l, c, v): tests and benchmarks."""
    symbols = sorted({b[0] for b in bars})
    row_of = {s: i for i, s in enumerate(symbols)}
    bdate = np.array([b[1] for b in bars], dtype="datetime64[D]")
    dates, col = np.unique(bdate, return_inverse=True)
    rows = np.array([row_of[b[0]] for b in bars], dtype=np.intp)
    vals = np.array([b[2:] for b in bars], dtype=np.float64)
    grids = [grid(len(symbols), len(dates)) for _ in range(5)]
    for k in range(5):
        grids[k][rows, col] = vals[:, k]
    keys = ("price", "pe", "dividend_yield", "eps", "market_cap", "ebitda", "price_sales", "price_book")
    funds = {
        k: np.array([np.nan if fundamentals.get(s, {}).get(k) is None else fundamentals[s][k] for s in symbols])
        for k in keys
    }
    frame = Frame(dates, grids[0], grids[1], grids[2], grids[3], grids[4], funds)
    strings: dict[str, Categorical] = {}
    date_cols: dict[str, NDArray[np.float64]] = {}
    for f in FIELDS:
        kind = field_kind(f.type)
        source = [symbols[i] if f.id == "symbol" else profiles.get(s, {}).get(f.id) for i, s in enumerate(symbols)]
        if kind == "string":
            strings[f.id] = Categorical.of([None if v is None else str(v) for v in source])
        elif kind == "date":
            date_cols[f.id] = np.array([np.nan if v is None else day_number(v) for v in source])
    date_cols.update(_listing([profiles.get(s, {}) for s in symbols]))
    as_of = dates[-1].astype(dt.date) if len(dates) else dt.date.today()
    return Universe(version, as_of, np.array(symbols), frame, _with_buckets(strings, len(symbols)), date_cols)


def from_csv(bars_path: str, constituents_path: str | None, fundamentals_path: str | None) -> Universe:
    """The demo CSVs (Kaggle S&P 500 layout) straight into memory; rows with missing prices are skipped."""
    import csv
    import gzip

    opener = gzip.open if bars_path.endswith(".gz") else open
    bars: list[tuple[str, dt.date, float, float, float, float, float]] = []
    with opener(bars_path, "rt") as fh:
        for r in csv.DictReader(fh):
            try:
                values = tuple(float(r[k]) for k in ("open", "high", "low", "close", "volume"))
            except (TypeError, ValueError):
                continue
            bars.append((r["Name"], dt.date.fromisoformat(r["date"]), *values))  # type: ignore[arg-type]
    profiles: dict[str, dict[str, Any]] = {}
    if constituents_path:
        with open(constituents_path) as fh:
            for r in csv.DictReader(fh):
                profiles[r["Ticker symbol"]] = {
                    "name": r["Security"],
                    "sector": r["GICS Sector"],
                    "industry": r["GICS Sub Industry"],
                    "date_added": r["Date first added"] or None,
                }
    funds: dict[str, dict[str, float | None]] = {}
    if fundamentals_path:
        cols = {
            "price": "Price",
            "pe": "Price/Earnings",
            "dividend_yield": "Dividend Yield",
            "eps": "Earnings/Share",
            "market_cap": "Market Cap",
            "ebitda": "EBITDA",
            "price_sales": "Price/Sales",
            "price_book": "Price/Book",
        }
        with open(fundamentals_path) as fh:
            for r in csv.DictReader(fh):
                rec: dict[str, float | None] = {}
                for k, c in cols.items():
                    try:
                        rec[k] = float(r[c])
                    except (TypeError, ValueError):
                        rec[k] = None
                funds[r["Symbol"]] = rec
    return from_bars(bars, profiles, funds)


def universe_of_version(engine: Engine, version: int) -> Universe:
    """The universe of one published snapshot version (point in time: its bars up to its as_of, its rows);
    the cached current universe when ``version`` is the current one."""
    current = get_universe(engine)
    if current.version == version:
        return current
    row = reader_for(engine).one("SELECT as_of FROM snapshot_versions WHERE version = %s", (version,))
    if row is None:
        raise NotFound(f"no snapshot version {version}")
    return load(engine, version, row[0])
