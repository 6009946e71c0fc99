"""Aggregate: catalogue metrics per security and the versioned screening snapshot.

A new snapshot is written under a fresh version and made current in the same
transaction (builders serialised by an advisory lock), so readers always see one whole
snapshot. A daily run is incremental, and its cost follows the securities and the new sessions,
not the years on file: a security whose history up to its stored indicator state's date is
unchanged (the Load task marks the state of any security whose bars it writes on or before that
date) is advanced from that state over its last :data:`~stockscreen.market.measures.TAIL` bars; a
security with no bar since its state keeps its previous row (its fundamentals applied again) while
every bar written since is dated after its last one; any other security (new, revised, backfilled)
is recomputed from its full history.

:func:`snapshot_as_of` computes the snapshot for any past date (point in time: bars and
fundamentals known on that date only); :func:`load_history` gives the full metric
history for the screener's history operators and backtests.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from stockscreen.core.errors import NotFound
from stockscreen.db.engine import psycopg_connection
from stockscreen.market import measures as mt
from stockscreen.market.indicators import F
from stockscreen.screening.fields import FLAG_FIELDS, LABEL_FIELDS, MARKET_CAP_BUCKETS, PROFILE_FIELDS, SNAPSHOT_FIELDS

KEEP_VERSIONS = 5
#: pg_advisory_xact_lock key serialising snapshot builds ("snapshot" in ASCII, as an int).
BUILD_LOCK = 0x736E617073686F74
_SEGMENTS = MARKET_CAP_BUCKETS


def market_cap_bucket(cap: float | None) -> str | None:
    """Finviz's size buckets: mega >= 200B, large >= 10B, mid >= 2B, small >= 300M, micro >= 50M, else nano."""
    if cap is None or math.isnan(cap) or cap <= 0:
        return None
    return next(label for floor, label in _SEGMENTS if cap >= floor)


# --- reading bars -----------------------------------------------------------------------


#: The bars are read packed, one row per security: each column's values of the security concatenated
#: (``string_agg`` of their binary forms), so the server sends one row per security instead of one per
#: bar and the client turns each column into NumPy with one ``frombuffer``; no Python object per bar.
#: Read row by row (a binary ``COPY``), the per-row work on both sides was most of the daily run's read
#: (3 M bars at 10,000 securities: 6-9 s, against about 2 s packed). Every aggregate of the query sees the
#: rows in the same order, so the columns line up; the dates are sorted on the client where the plan
#: did not give them in order (no ``ORDER BY`` inside the aggregates: one sort per aggregate).
_VALUES = ("open", "high", "low", "close", "volume::float8", "coalesce(adj_close, 'NaN'::float8)")
_PACKED = (
    "SELECT security_id, string_agg(int4send(date - DATE '2000-01-01'), ''::bytea), "
    + ", ".join(f"string_agg(float8send({v}), ''::bytea)" for v in _VALUES)
    + " FROM daily_bars WHERE {where} GROUP BY security_id ORDER BY security_id"
)
_PG_EPOCH = np.datetime64("2000-01-01", "D")
#: securities per fetch of the packed rows (bounds the client's copy of the bytes in flight)
_FETCH = 1000


def _bars(conn: Connection, where: str, params: Mapping[str, Any]) -> tuple[mt.I64, mt.Dates, F]:
    """Bars of daily_bars matching ``where`` (security_id, date, open, high, low, close, volume,
    adjusted close: NaN where missing), sorted by security and date; the values are ``(N, 6)``, the
    adjusted close last. Read packed (see :data:`_PACKED`) through a server-side cursor."""
    raw = psycopg_connection(conn)
    parts: list[tuple[mt.I64, npt.NDArray[np.int64], F]] = []
    with raw.cursor(name=f"bars_{uuid.uuid4().hex}", binary=True) as cur:
        cur.execute(_PACKED.format(where=where), dict(params))
        while rows := cur.fetchmany(_FETCH):
            counts = np.fromiter((len(r[1]) // 4 for r in rows), dtype=np.int64, count=len(rows))
            ids = np.repeat(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), counts)
            days = np.frombuffer(b"".join(r[1] for r in rows), dtype=">i4").astype(np.int64)
            values = np.empty((len(days), len(_VALUES)))
            for k in range(len(_VALUES)):
                values[:, k] = np.frombuffer(b"".join(r[2 + k] for r in rows), dtype=">f8")
            parts.append((ids, days, values))
    if not parts:
        return np.empty(0, np.int64), np.empty(0, "datetime64[D]"), np.empty((0, len(_VALUES)))
    ids = np.concatenate([p[0] for p in parts])
    days = np.concatenate([p[1] for p in parts])
    values = np.concatenate([p[2] for p in parts])
    if len(ids) > 1 and bool(((days[1:] <= days[:-1]) & (ids[1:] == ids[:-1])).any()):
        order = np.lexsort((days, ids))
        ids, days, values = ids[order], days[order], values[order]
    dates = _PG_EPOCH + days.astype("timedelta64[D]")
    return ids, dates.astype("datetime64[D]"), values


def load_bars(
    conn: Connection,
    until: dt.date | None = None,
    security_ids: Sequence[int] | None = None,
    since: dt.date | None = None,
) -> tuple[mt.I64, mt.Dates, F]:
    """Histories (sorted by security, date), optionally within dates / for some securities."""
    where: list[str] = ["true"]
    params: dict[str, Any] = {}
    if since is not None:
        where.append("date >= %(since)s")
        params["since"] = since
    if until is not None:
        where.append("date <= %(until)s")
        params["until"] = until
    if security_ids is not None:
        where.append("security_id = ANY(%(ids)s)")
        params["ids"] = list(security_ids)
    return _bars(conn, " AND ".join(where), params)


def tail_range_start(limits: Mapping[int, int], last_date: dt.date) -> dt.date:
    """The first date :func:`load_tails` reads."""
    longest = max(limits.values(), default=mt.TAIL)
    # trading days are about 5/7 of calendar days; a wide margin for holidays and gaps
    return last_date - dt.timedelta(days=int(longest * 1.6) + 30)


def load_tails(
    conn: Connection,
    limits: Mapping[int, int],
    last_date: dt.date,
    totals: Mapping[int, int],
    also: Sequence[int] = (),
) -> tuple[tuple[mt.I64, mt.Dates, F], list[int], tuple[mt.I64, mt.Dates, F]]:
    """The last ``limits[id]`` bars of each security, read as one date-range scan over the
    recent partitions. Returns the bars, the securities whose tail reaches further back
    than the range (a long gap in their history): those need a full read instead, and the other bars
    of the range (of the securities ``also`` too) for the market index."""
    since = tail_range_start(limits, last_date)
    ids, dates, ohlcv = load_bars(conn, since=since, security_ids=[*limits, *also])
    keep = np.zeros(len(ids), dtype=bool)
    short: list[int] = []
    edges = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1], [True]))) if len(ids) else np.array([0])
    found = set()
    for a, b in itertools.pairwise(edges.tolist()):
        sid = int(ids[a])
        need = limits.get(sid)
        if need is None:  # (one of ``also``)
            continue
        found.add(sid)
        if b - a >= need:
            keep[b - need : b] = True
        elif b - a == totals[sid]:  # its whole history lies in the range
            keep[a:b] = True
        else:
            short.append(sid)
    short.extend(sid for sid in limits if sid not in found)
    # the rest of the range (but the short ones', read whole): the market index of the range is whole
    extra = ~keep & ~np.isin(ids, np.asarray(short, dtype=np.int64))
    return (ids[keep], dates[keep], ohlcv[keep]), short, (ids[extra], dates[extra], ohlcv[extra])


def _bars_between(
    conn: Connection, since: dt.date, before: dt.date, exclude: Sequence[int]
) -> tuple[mt.I64, mt.Dates, F]:
    """Every security's bars dated from ``since`` to before ``before``, but those of ``exclude``."""
    where = "date >= %(since)s AND date < %(before)s AND security_id <> ALL(%(ids)s)"
    return _bars(conn, where, {"since": since, "before": before, "ids": list(exclude)})


def _window_start(bars: tuple[mt.I64, mt.Dates, F]) -> dt.date:
    """The earliest date of the last :data:`~stockscreen.market.measures.TAIL` bars of the securities of
    ``bars`` (sorted by security and date)."""
    ids, dates = bars[0], bars[1]
    ends = np.append(np.flatnonzero(ids[1:] != ids[:-1]) + 1, len(ids))
    starts = np.concatenate(([0], ends[:-1]))
    first: dt.date = dates[np.maximum(starts, ends - mt.TAIL)].min().item()
    return first


def _concat(a: tuple[mt.I64, mt.Dates, F] | None, b: tuple[mt.I64, mt.Dates, F]) -> tuple[mt.I64, mt.Dates, F]:
    if a is None:
        return b
    return (np.concatenate((a[0], b[0])), np.concatenate((a[1], b[1])), np.concatenate((a[2], b[2])))


def load_fundamentals(conn: Connection, ids: mt.I64, as_of: dt.date | None = None) -> dict[str, F]:
    """The latest report per security (on or before ``as_of`` if given), as ``(S,)`` arrays."""
    sql = (
        "SELECT DISTINCT ON (security_id) security_id, "
        + ", ".join(mt.FUNDAMENTAL_INPUTS)
        + " FROM fundamentals "
        + ("WHERE as_of <= :d " if as_of is not None else "")
        + "ORDER BY security_id, as_of DESC"
    )
    rows = {r[0]: r[1:] for r in conn.execute(text(sql), {"d": as_of} if as_of is not None else {})}
    out = {k: np.full(len(ids), np.nan) for k in mt.FUNDAMENTAL_INPUTS}
    for j, sid in enumerate(ids.tolist()):
        row = rows.get(sid)
        if row is None:
            continue
        for k, v in zip(mt.FUNDAMENTAL_INPUTS, row, strict=True):
            out[k][j] = np.nan if v is None else float(v)
    return out


# --- the current snapshot ---------------------------------------------------------------


@dataclass
class _State:
    as_of: dt.date
    bars: int
    price_sum: float
    prev_close: float
    values: dict[str, float]


def _stored_state(conn: Connection) -> dict[int, _State]:
    cols = ", ".join(mt.STATE_FIELDS)
    out = {}
    for r in conn.execute(text(f"SELECT security_id, as_of, bars, price_sum, prev_close, {cols} FROM indicator_state")):
        values = dict(zip(mt.STATE_FIELDS, (float(v) for v in r[5:]), strict=True))
        out[int(r[0])] = _State(r[1], int(r[2]), float(r[3]), float(r[4]), values)
    return out


@dataclass
class _Plan:
    """How each security with bars is brought up to date: advanced from its state over its tail
    (``incremental``: id -> bars its state has not seen), recomputed from its full history
    (``recompute``; ``revised``: those whose history up to their state's date changed), or its
    previous snapshot row kept (``carried``: no bar since its state, and every bar written since
    is dated after its state's date: nothing its row depends on changed)."""

    incremental: dict[int, int]
    recompute: list[int]
    revised: list[int]
    states: dict[int, _State]
    totals: dict[int, int]  # bars on file of the incremental and carried securities
    latest: dt.date | None
    carried: list[int]
    previous: int | None  # the current snapshot version (the carried rows' source)
    #: each security's last bar date (the daily plan's)
    lasts: dict[int, dt.date] | None = None


def _plan_full(conn: Connection) -> _Plan:
    """Every security with bars recomputed from its full history (the stored states ignored)."""
    ids = conn.execute(
        text("SELECT s.id FROM securities s WHERE EXISTS (SELECT 1 FROM daily_bars b WHERE b.security_id = s.id)")
    ).scalars()
    return _Plan({}, [int(i) for i in ids], [], {}, {}, None, [], None)


#: per stored state: its mark, the bars since its date (count, first and last date) and the close on
#: file at its date; each an index probe of the security's own bars (no scan of the history)
_SINCE_STATE = (
    "SELECT st.security_id, st.revised_from, n.bars, n.first, n.last, "
    "(SELECT b.close FROM daily_bars b WHERE b.security_id = st.security_id AND b.date = st.as_of) "
    "FROM indicator_state st CROSS JOIN LATERAL (SELECT count(*) AS bars, min(b.date) AS first, "
    "max(b.date) AS last FROM daily_bars b WHERE b.security_id = st.security_id AND b.date > st.as_of) n"
)
#: securities without a stored state and with bars (new listings): their first and last bar dates
_WITHOUT_STATE = (
    "SELECT s.id, (SELECT min(b.date) FROM daily_bars b WHERE b.security_id = s.id), "
    "(SELECT max(b.date) FROM daily_bars b WHERE b.security_id = s.id) FROM securities s "
    "WHERE NOT EXISTS (SELECT 1 FROM indicator_state st WHERE st.security_id = s.id)"
)


def _books_unchanged(conn: Connection, ids: list[int], states: Mapping[int, _State]) -> set[int]:
    """Of the marked securities ``ids``, those whose bars up to their state's date still add up to what
    the state covers (bar count, sum of highs, lows and closes, last close): bars loaded again as they
    were (a file re-sent, bars deleted and re-loaded). Reads the marked securities' histories only."""
    rows = conn.execute(
        text(
            "SELECT b.security_id, count(*), sum(b.high + b.low + b.close), "
            "max(b.close) FILTER (WHERE b.date = st.as_of) FROM daily_bars b "
            "JOIN indicator_state st ON st.security_id = b.security_id "
            "WHERE b.security_id = ANY(:ids) AND b.date <= st.as_of GROUP BY b.security_id"
        ),
        {"ids": ids},
    ).all()
    same = set()
    for sid, n, price_sum, close in rows:
        st = states[int(sid)]
        if (
            int(n) == st.bars
            and math.isclose(float(price_sum), st.price_sum, rel_tol=1e-9, abs_tol=1e-9)
            and close is not None
            and float(close) == st.prev_close
        ):
            same.add(int(sid))
    return same


def _plan_daily(conn: Connection) -> _Plan:
    """The plan of a daily build, from the stored states and the bars written after them only (its
    cost follows the securities and the new sessions, not the years on file).

    Bars are written by the Load task alone, which marks (``indicator_state.revised_from``) the state of
    every security whose bars it inserts or changes on or before the state's date (from the earliest
    such date); a state whose close on file at its date is no longer the one it saw is taken as
    revised from the first session on file."""
    states = _stored_state(conn)
    current = conn.execute(text("SELECT version FROM snapshot_versions WHERE is_current")).scalar()
    # (the probes' estimated cost, one per partition, crosses the JIT's thresholds: its compilation
    # took 0.8 s of the 1.1 s the query took at 10,000 securities; the probes themselves are cheap)
    conn.execute(text("SET LOCAL jit = off"))
    incremental: dict[int, int] = {}
    recompute: list[int] = []
    revised: list[int] = []
    totals: dict[int, int] = {}
    stale: list[int] = []
    written: list[dt.date] = []  # the first bar written since each state (or of a new security)
    lasts: dict[int, dt.date] = {}
    probed = conn.execute(text(_SINCE_STATE)).all()
    marked = [
        int(r[0]) for r in probed if r[1] is not None or r[5] is None or float(r[5]) != states[int(r[0])].prev_close
    ]
    unchanged = _books_unchanged(conn, marked, states) if marked else set()
    for sid, revised_from, new, first, last, close_at_state in probed:
        st = states[int(sid)]
        lasts[int(sid)] = last or st.as_of
        # (a marked security whose bars up to its state are as they were: bars written again unchanged)
        if int(sid) not in unchanged and (
            revised_from is not None or close_at_state is None or float(close_at_state) != st.prev_close
        ):
            recompute.append(int(sid))
            revised.append(int(sid))
            written.append(revised_from if revised_from is not None else dt.date.min)
            continue
        totals[int(sid)] = st.bars + int(new)
        if first is not None:
            written.append(first)
        if new == 0:
            stale.append(int(sid))
        elif all(math.isfinite(v) for v in st.values.values()) and st.bars >= mt.WARMUP:
            incremental[int(sid)] = int(new)
        else:
            recompute.append(int(sid))
    for sid, first, last in conn.execute(text(_WITHOUT_STATE)).all():
        if first is not None:
            recompute.append(int(sid))
            written.append(first)
            lasts[int(sid)] = last
    conn.execute(text("SET LOCAL jit TO DEFAULT"))
    carried: list[int] = []
    # every bar written since lies after a carried security's last one: its row (bars, tail, the
    # market index over its window) is the same; its fundamentals are applied again
    horizon = min(written, default=None)
    if current is not None and stale:
        in_previous = {
            int(r[0])
            for r in conn.execute(
                text("SELECT security_id FROM snapshot_rows WHERE version = :v AND security_id = ANY(:ids)"),
                {"v": current, "ids": stale},
            )
        }
        carried = [sid for sid in stale if sid in in_previous and (horizon is None or states[sid].as_of < horizon)]
    kept = set(carried)
    for sid in stale:
        if sid not in kept:  # (no new bar: advanced over none, or recomputed when its state is short)
            if all(math.isfinite(v) for v in states[sid].values.values()) and states[sid].bars >= mt.WARMUP:
                incremental[sid] = 0
            else:
                recompute.append(sid)
    latest = max(lasts.values(), default=None)
    return _Plan(incremental, recompute, revised, states, totals, latest, carried, current, lasts)


def _carried_rows(
    conn: Connection, version: int, ids: list[int], states: Mapping[int, _State]
) -> tuple[mt.I64, mt.Dates, dict[str, F]]:
    """The rows of ``version`` of the securities ``ids`` as metric arrays (NULL as NaN, flags as 1/0),
    their fundamental fields computed again from the latest reports (as a rebuild would)."""
    numeric = [f for f in SNAPSHOT_FIELDS if f not in LABEL_FIELDS]
    rows = conn.execute(
        text(
            f"SELECT security_id, {', '.join(numeric)} FROM snapshot_rows "
            "WHERE version = :v AND security_id = ANY(:ids) ORDER BY security_id"
        ),
        {"v": version, "ids": ids},
    ).all()
    sids = np.array([int(r[0]) for r in rows], dtype=np.int64)
    values = np.array([[np.nan if v is None else float(v) for v in r[1:]] for r in rows], dtype=np.float64).reshape(
        len(rows), len(numeric)
    )
    metrics = {f: values[:, k].copy() for k, f in enumerate(numeric)}
    funds = load_fundamentals(conn, sids)
    metrics.update(mt.fundamental_metrics(metrics["close"], funds))
    dates = np.array([states[int(s)].as_of for s in sids.tolist()], dtype="datetime64[D]")
    return sids, dates, metrics


def _flat_index(parts: Iterable[tuple[mt.I64, mt.Dates, F]]) -> mt.Market:
    chunks = [p for p in parts if len(p[0])]
    if not chunks:
        return mt.Market(np.empty(0, "datetime64[D]"), np.empty(0))
    ids = np.concatenate([c[0] for c in chunks])
    dates = np.concatenate([c[1] for c in chunks])
    close = np.concatenate([c[2][:, 3] for c in chunks])
    # by security, then date: each part is sorted so, and no (security, date) is in two parts, so a stable
    # sort of one key merges the runs (what a lexsort of the two keys gives, in a fraction of its time)
    key = (ids << 32) + (dates.astype(np.int64) + (1 << 31))
    order = np.argsort(key, kind="stable")
    return mt.market_index_flat(ids[order], dates[order], close[order])


def compute_current(conn: Connection, full: bool = False) -> dict[str, Any]:
    """Last-bar metrics and new state of every security with bars (incremental where possible)."""
    clock = time.perf_counter()
    plan = _plan_full(conn) if full else _plan_daily(conn)
    incremental, recompute, states, totals = plan.incremental, plan.recompute, plan.states, plan.totals
    timings = {"plan": time.perf_counter() - clock}
    clock = time.perf_counter()
    tail_bars = None
    market_only = None
    limits = {sid: mt.TAIL + n for sid, n in incremental.items()}
    if (incremental or plan.carried) and plan.latest is not None:
        tail_bars, gapped, market_only = load_tails(conn, limits, plan.latest, totals, also=plan.carried)
        for sid in gapped:  # a tail reaching past the read range: read its whole history
            incremental.pop(sid)
            recompute.append(sid)
    full_bars = load_bars(conn, security_ids=recompute) if recompute else None
    if plan.latest is not None and tail_bars is not None:
        # a security's metrics at its last bar read the market index over its last TAIL sessions: when
        # they begin near or before the range the tails were read from (a security delisted long ago,
        # when a revision keeps it from its previous row; a listing near the range's start), every other
        # security's bars from a month before (its previous bar) are read for the index too
        since = tail_range_start(limits, plan.latest)
        starts = [_window_start(p) for p in (full_bars, tail_bars) if p is not None and len(p[0])]
        first = min(starts, default=None)
        if first is not None and first - dt.timedelta(days=30) < since:
            market_only = _concat(
                market_only, _bars_between(conn, first - dt.timedelta(days=30), since, exclude=recompute)
            )
    timings["read"] = time.perf_counter() - clock
    clock = time.perf_counter()
    market = _flat_index(p for p in (full_bars, tail_bars, market_only) if p is not None)
    ids_out: list[mt.I64] = []
    dates_out: list[mt.Dates] = []
    metric_parts: list[dict[str, F]] = []
    state_parts: list[dict[str, F]] = []
    books: list[tuple[mt.I64, F, F]] = []  # bars, price sum, last close: what the state covers
    if full_bars is not None and len(full_bars[0]):
        panel = mt.panel_from_flat(*full_bars)
        funds = load_fundamentals(conn, panel.security_ids)
        last_metrics, last_state = mt.last_rows_chunked(panel, market, funds)
        metric_parts.append(last_metrics)
        state_parts.append(last_state)
        books.append(
            (panel.lengths, np.nansum(panel.high + panel.low + panel.close, axis=0), metric_parts[-1]["close"])
        )
        ids_out.append(panel.security_ids)
        dates_out.append(panel.dates[mt._last_row_index(panel), np.arange(panel.shape[1])])
    if tail_bars is not None and len(tail_bars[0]):
        # each security's rows are exactly its tail: right-align them
        t_ids = tail_bars[0]
        edges = np.flatnonzero(np.concatenate(([True], t_ids[1:] != t_ids[:-1], [True])))
        panel = mt.panel_from_flat(*tail_bars, tail=np.diff(edges).astype(np.int64))
        sids = panel.security_ids
        state = {k: np.array([states[int(s)].values[k] for s in sids]) for k in mt.STATE_FIELDS}
        new = np.array([incremental[int(s)] for s in sids], dtype=np.int64)
        total = np.array([totals[int(s)] for s in sids], dtype=np.int64)
        funds = load_fundamentals(conn, sids)
        last, new_state = mt.advance_chunked(panel, state, new, total, market, funds)
        metric_parts.append(last)
        state_parts.append(new_state)
        rows = np.arange(panel.shape[0])[:, None]
        added = np.nansum(
            np.where(rows >= panel.shape[0] - new[None, :], panel.high + panel.low + panel.close, 0.0), axis=0
        )
        before = np.array([states[int(s)].price_sum for s in sids])
        books.append((total, before + added, panel.close[-1]))
        ids_out.append(sids)
        dates_out.append(panel.dates[-1])
    if plan.carried and plan.previous is not None:
        # kept as they are (with their stored state): nothing they depend on changed
        c_ids, c_dates, c_metrics = _carried_rows(conn, plan.previous, plan.carried, states)
        metric_parts.append(c_metrics)
        state_parts.append({k: np.array([states[int(s)].values[k] for s in c_ids]) for k in mt.STATE_FIELDS})
        books.append(
            (
                np.array([totals[int(s)] for s in c_ids], dtype=np.int64),
                np.array([states[int(s)].price_sum for s in c_ids]),
                np.array([states[int(s)].prev_close for s in c_ids]),
            )
        )
        ids_out.append(c_ids)
        dates_out.append(c_dates)
    if not ids_out:
        return {"ids": np.empty(0, np.int64)}
    timings["compute"] = time.perf_counter() - clock
    keys = [k for k in metric_parts[0] if all(k in p for p in metric_parts)]
    bars = np.concatenate([b[0] for b in books])
    return {
        "timings": timings,
        "ids": np.concatenate(ids_out),
        "dates": np.concatenate(dates_out),
        "metrics": {k: np.concatenate([p[k] for p in metric_parts]) for k in keys},
        "state": {k: np.concatenate([p[k] for p in state_parts]) for k in mt.STATE_FIELDS},
        "bars": bars,
        "price_sum": np.concatenate([b[1] for b in books]),
        "last_close": np.concatenate([b[2] for b in books]),
        "incremental": len(incremental),
        "recomputed": len(recompute),
        "carried": len(plan.carried),
        "revised": len(plan.revised) if not full else None,
        "bars_total": int(bars.sum()),
    }


def _members(conn: Connection, ids: mt.I64) -> dict[int, str | None]:
    """Index membership: a security listed in the S&P 500 constituents file has a CIK."""
    rows = conn.execute(text("SELECT id, cik IS NOT NULL FROM securities WHERE id = ANY(:ids)"), {"ids": ids.tolist()})
    return {int(r[0]): ("S&P 500" if r[1] else None) for r in rows}


def _value(field: str, v: Any) -> Any:
    if field in FLAG_FIELDS:
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else bool(v)
    if field in LABEL_FIELDS:
        return v
    f = float(v)
    if math.isnan(f) or math.isinf(f):
        return None
    return f


def shape_rows(
    ids: mt.I64, dates: mt.Dates, metrics: Mapping[str, F], members: Mapping[int, str | None]
) -> list[dict[str, Any]]:
    """Snapshot rows (one dict per security, every snapshot field) from metric arrays."""
    rows = []
    caps = metrics.get("market_cap")
    for j, sid in enumerate(ids.tolist()):
        row: dict[str, Any] = {"security_id": int(sid), "as_of": dates[j].item()}
        for f in SNAPSHOT_FIELDS:
            if f == "market_cap_bucket":
                row[f] = market_cap_bucket(float(caps[j])) if caps is not None else None
            elif f == "index_membership":
                row[f] = members.get(int(sid))
            else:
                row[f] = _value(f, metrics[f][j])
        rows.append(row)
    return rows


def build_snapshot(conn: Connection, run_id: str | None, *, full: bool = False) -> dict[str, Any]:
    """Compute metrics for every security with bars and publish them as a new current version.

    Runs in the caller's transaction: the rows, the version flip and the new indicator
    state commit together or not at all. ``full`` ignores the stored state.
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": BUILD_LOCK})
    cur = compute_current(conn, full=full)
    clock = time.perf_counter()
    ids = cur["ids"]
    if len(ids) == 0:
        return {"version": None, "rows": 0, "as_of": None}
    rows = shape_rows(ids, cur["dates"], cur["metrics"], _members(conn, ids))
    as_of: dt.date = max(r["as_of"] for r in rows)
    version = int(conn.execute(text("SELECT coalesce(max(version), 0) + 1 FROM snapshot_versions")).scalar_one())
    conn.execute(
        text(
            "INSERT INTO snapshot_versions (version, as_of, run_id, is_current, row_count) "
            "VALUES (:v, :as_of, :run_id, false, :n)"
        ),
        {"v": version, "as_of": as_of, "run_id": run_id, "n": len(rows)},
    )
    columns = ["version", "security_id", "as_of", *SNAPSHOT_FIELDS]
    raw = psycopg_connection(conn)
    with raw.cursor() as c, c.copy(f"COPY snapshot_rows ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((version, *(row[k] for k in columns[1:])))
    _save_state(conn, ids, cur["dates"], cur)
    conn.execute(text("UPDATE snapshot_versions SET is_current = false WHERE is_current"))
    conn.execute(text("UPDATE snapshot_versions SET is_current = true WHERE version = :v"), {"v": version})
    conn.execute(text("DELETE FROM snapshot_versions WHERE version <= :v"), {"v": version - KEEP_VERSIONS})
    timings = {k: round(v, 4) for k, v in {**cur["timings"], "write": time.perf_counter() - clock}.items()}
    return {
        "version": version,
        "rows": len(rows),
        "seconds": timings,
        "as_of": as_of.isoformat(),
        "incremental": cur["incremental"],
        "recomputed": cur["recomputed"],
        "carried": cur["carried"],
        "revised": cur["revised"],
        "bars": cur["bars_total"],
    }


def _save_state(conn: Connection, ids: mt.I64, dates: mt.Dates, cur: Mapping[str, Any]) -> None:
    """Store each security's recursive state with the bar count, sum of highs, lows and closes and last close it
    covers (the next run checks them against the table to detect revised history)."""
    state: Mapping[str, F] = cur["state"]
    conn.execute(text("DELETE FROM indicator_state WHERE security_id = ANY(:ids)"), {"ids": ids.tolist()})
    cols = ["security_id", "as_of", "bars", "price_sum", "prev_close", *mt.STATE_FIELDS]
    raw = psycopg_connection(conn)
    with raw.cursor() as c, c.copy(f"COPY indicator_state ({', '.join(cols)}) FROM STDIN") as copy:
        for j, sid in enumerate(ids.tolist()):
            values = [float(state[k][j]) for k in mt.STATE_FIELDS]
            # NaN state (a short history) is stored as such and forces a recompute next time
            books = (int(cur["bars"][j]), float(cur["price_sum"][j]), float(cur["last_close"][j]))
            copy.write_row((sid, dates[j].item(), *books, *values))


# --- point in time ----------------------------------------------------------------------


@dataclass
class History:
    """Every snapshot metric for every bar of every security (``(T, S)`` arrays)."""

    panel: mt.Panel
    metrics: dict[str, F]
    symbols: dict[int, str]


def load_history(
    conn: Connection, until: dt.date | None = None, point_in_time: bool = True, timeframe: str = "D"
) -> History:
    """Full metric history up to ``until``, on daily (``"D"``), weekly (``"W"``) or monthly
    (``"M"``) bars (the last period partial, as of ``until``). Fundamentals: the latest
    report on or before ``until`` when ``point_in_time`` (else the latest on file),
    restated at each close."""
    ids, dates, ohlcv = load_bars(conn, until=until)
    if timeframe != "D":
        ids, dates, ohlcv = mt.resample_flat(ids, dates, ohlcv, timeframe)
    panel = mt.panel_from_flat(ids, dates, ohlcv)
    market = mt.market_index(panel)
    funds = load_fundamentals(conn, panel.security_ids, until if point_in_time else None)
    metrics = mt.compute(panel, market, fundamentals=funds)
    return History(panel, metrics, _symbols(conn, panel.security_ids))


def snapshot_as_of(conn: Connection, as_of: dt.date) -> list[dict[str, Any]]:
    """The snapshot as it would have been on ``as_of``: each security's profile and metrics
    at its last bar on or before that date, from bars and fundamentals known then (no
    look-ahead). One dict per security, keyed by catalogue field id (plus ``security_id``
    and the bar's ``as_of``)."""
    first = conn.execute(text("SELECT min(date) FROM daily_bars")).scalar()
    if first is None or as_of < first:
        raise NotFound(f"no bars on or before {as_of.isoformat()}")
    ids, dates, ohlcv = load_bars(conn, until=as_of)
    panel = mt.panel_from_flat(ids, dates, ohlcv)
    funds = load_fundamentals(conn, panel.security_ids, as_of)
    cols, last_dates, values = mt.rows_as_of_chunked(panel, mt.market_index(panel), as_of, funds)
    sids = panel.security_ids[cols]
    rows = shape_rows(sids, last_dates, values, _members(conn, sids))
    profiles = _profiles(conn, sids)
    for r in rows:
        r.update(profiles.get(r["security_id"], {}))
    return rows


def _profiles(conn: Connection, ids: mt.I64) -> dict[int, dict[str, Any]]:
    """The profile fields of the catalogue (whitelisted column names) per security."""
    cols = ", ".join(PROFILE_FIELDS)
    rows = conn.execute(text(f"SELECT id, {cols} FROM securities WHERE id = ANY(:ids)"), {"ids": ids.tolist()})
    return {int(r[0]): dict(zip(PROFILE_FIELDS, r[1:], strict=True)) for r in rows}


def _symbols(conn: Connection, ids: mt.I64) -> dict[int, str]:
    rows = conn.execute(text("SELECT id, symbol FROM securities WHERE id = ANY(:ids)"), {"ids": ids.tolist()})
    return {int(r[0]): r[1] for r in rows}
