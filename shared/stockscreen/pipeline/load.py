"""Load: upsert one batch of clean bars and rebuild its rollups (one transaction per batch).

This module is the pipeline's bulk data access for bars, and stays one with its SQL on purpose: the
comparison with the loaded bars (one binary read), the binary COPYs, the one-statement updates and
the bulk load's partition swap are the backfill's hot path (``make bench``), written against the
psycopg connection under the caller's SQLAlchemy one. The other SQL of the pipeline (runs, findings,
snapshot metadata, reference data) is in :mod:`stockscreen.pipeline.repository`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from sqlalchemy import Connection, text

from stockscreen.core.errors import Invalid, TransientError
from stockscreen.core.observability import logger
from stockscreen.db.engine import get_engine, psycopg_connection
from stockscreen.pipeline.binary import COPY_HEADER, COPY_TRAILER, PG_EPOCH_DAYS, Column, copy_rows, fetch_arrays, fixed
from stockscreen.pipeline.columns import ADJ_CLOSE, EPOCH
from stockscreen.pipeline.staging import read_load_batch


@dataclass
class _Bars:
    """Daily bars as columns (security id, days since 1970-01-01, prices, volume, and the adjusted
    close: None when no bar has one, else NaN where a bar has none)."""

    sid: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    prices: dict[str, npt.NDArray[np.float64]]  # open, high, low, close
    volume: npt.NDArray[np.int64]
    adj: npt.NDArray[np.float64] | None = None

    def take(self, rows: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> _Bars:
        adj = None if self.adj is None else self.adj[rows]
        return _Bars(
            self.sid[rows], self.day[rows], {k: v[rows] for k, v in self.prices.items()}, self.volume[rows], adj
        )

    def keys(self) -> npt.NDArray[np.int64]:
        return self.sid * 2**32 + (self.day + 2**31)

    def by_key(self) -> _Bars:
        """By security and day (then as they were): sorted only when they are not already."""
        keys = self.keys()
        if (keys[1:] >= keys[:-1]).all():
            return self
        return self.take(np.argsort(keys, kind="stable"))

    def columns(self) -> list[Column]:
        """security_id, date, open, high, low, close, volume for a binary COPY."""
        prices = [self.prices[k] for k in _PRICES]
        return [self.sid.astype(np.int32), (self.day - PG_EPOCH_DAYS).astype(np.int32), *prices, self.volume]

    def copy_payload(self) -> tuple[str, bytes]:
        """The COPY's column list and its binary rows (header and trailer included): the bar columns,
        and ``adj_close`` when some bar has one (NULL in the rows of the others)."""
        if self.adj is None:
            return COPY_COLUMNS, COPY_HEADER + copy_rows(len(self.sid), self.columns()) + COPY_TRAILER
        has = ~np.isnan(self.adj)
        with_adj, without = self.take(has), self.take(~has)
        assert with_adj.adj is not None
        return (
            f"{COPY_COLUMNS}, adj_close",
            COPY_HEADER
            + copy_rows(len(with_adj.sid), [*with_adj.columns(), with_adj.adj])
            + copy_rows(len(without.sid), [*without.columns(), None])
            + COPY_TRAILER,
        )


_PRICES = ("open", "high", "low", "close")
COPY_COLUMNS = "security_id, date, open, high, low, close, volume"

#: (the stored adjusted close is read only for a batch that brings some: NaN for NULL, so no array has a NULL)
_EXISTING = (
    "SELECT array_agg(b.security_id), array_agg(b.date - DATE '1970-01-01'), array_agg(b.open), array_agg(b.high), "
    "array_agg(b.low), array_agg(b.close), array_agg(b.volume){adj} FROM daily_bars b "
    "JOIN unnest(%(ids)s::integer[], %(since)s::date[]) AS c(security_id, since) "
    "ON b.security_id = c.security_id AND b.date >= c.since AND b.date >= %(floor)s"
)
_EXISTING_ADJ = ", array_agg(coalesce(b.adj_close, 'NaN'::float8))"

#: a changed bar's raw values, and its adjusted close: the batch's, or (``keep_adj``: a bar whose raw
#: values did not change, re-loaded without an adjusted close) the one stored
_UPDATE = (
    "UPDATE daily_bars b SET open = x.open, high = x.high, low = x.low, close = x.close, volume = x.volume, "
    "adj_close = CASE WHEN x.keep_adj THEN b.adj_close ELSE x.adj_close END "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:dates AS date[]), CAST(:open AS float8[]), CAST(:high AS float8[]), "
    "CAST(:low AS float8[]), CAST(:close AS float8[]), CAST(:volume AS bigint[]), CAST(:adj AS float8[]), "
    "CAST(:keep_adj AS boolean[])) AS x(security_id, date, open, high, low, close, volume, adj_close, keep_adj) "
    "WHERE b.security_id = x.security_id AND b.date = x.date"
)


def _member(values: npt.NDArray[np.int64], sorted_set: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """``np.isin`` for a sorted set, by binary search."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    found: npt.NDArray[np.bool_] = sorted_set[pos] == values
    return found


def _existing(
    conn: Connection, ids: npt.NDArray[np.int64], since: npt.NDArray[np.int64], adjusted: bool = False
) -> _Bars:
    """The bars already loaded of each security from day ``since`` on, in one binary read (with their
    adjusted closes when ``adjusted``)."""
    arrays = fetch_arrays(
        psycopg_connection(conn),
        _EXISTING.format(adj=_EXISTING_ADJ if adjusted else ""),
        {
            "ids": ids.tolist(),
            "since": [EPOCH + dt.timedelta(days=d) for d in since.tolist()],
            # the earliest as a constant too: the partitions before it are pruned when the query is
            # planned (per-row bounds alone probe every partition of the history for each security)
            "floor": EPOCH + dt.timedelta(days=int(since.min()) if len(since) else 0),
        },
    )
    prices = {k: fixed(a, ">f8") for k, a in zip(_PRICES, arrays[2:6], strict=True)}
    sid = fixed(arrays[0], ">i4").astype(np.int64)
    adj = fixed(arrays[7], ">f8") if adjusted else None
    return _Bars(sid, fixed(arrays[1], ">i4").astype(np.int64), prices, fixed(arrays[6], ">i8"), adj)


def usable_adj(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Adjusted closes as stored: positive and finite, else NaN (NULL; ``bad_adj_close`` reports them)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def load_bars(conn: Connection, run_id: str, batch: str, bulk: BulkLoad | None = None) -> dict[str, Any]:
    """Upsert one load batch's clean bars (staged by Validate) and rebuild its rollups.

    The batch is compared with the bars already loaded for its securities (read once, from the
    week or month of each one's first staged bar): new keys are COPYed in, changed ones updated
    in one statement, unchanged ones left alone, so a re-run changes nothing and says so. New
    keys go in plainly (not ``ON CONFLICT``): only one run loads at a time
    (``ingest_runs.run_key``) and its batches are disjoint symbol ranges, so a key another writer
    added meanwhile fails the batch loudly, never silently. All in the caller's transaction.

    With ``bulk`` (a batch Validate planned as a bulk load) and every new bar in partitions that
    are still empty (:func:`bulk_partitions`), the new bars are not COPYed into the indexed
    partitions row by row: :class:`BulkLoad` fills standalone copies of them, indexes them, and
    swaps them in at the end of the caller's transaction, with the rollups. What the batch
    leaves behind is the same either way (the comparison and the rollups are shared).
    """
    staged = read_load_batch(conn, run_id, batch)
    if staged is None:
        raise Invalid(f"load batch {batch} of run {run_id} was not staged (Validate has not run)")
    bars, rows, extra = staged
    symbol = bars.symbol[rows]
    counts = np.bincount(symbol[symbol >= 0], minlength=len(bars.symbols))
    present = [bars.symbols[c] for c in np.flatnonzero(counts).tolist()]
    found_ids = conn.execute(text("SELECT symbol, id FROM securities WHERE symbol = ANY(:s)"), {"s": present})
    ids: dict[str, int] = {str(r[0]): int(r[1]) for r in found_ids}
    sid = np.array([ids.get(s, -1) for s in bars.symbols] + [-1], dtype=np.int64)[symbol]
    known_at = np.flatnonzero(sid >= 0)  # (unknown symbols were quarantined: none is left out in practice)
    known = rows[known_at]
    volume = bars.values["volume"][known]
    if len(volume) and np.abs(volume).max() >= 2.0**63:
        raise Invalid("a volume is out of the bigint range")
    adj = bars.values.get(ADJ_CLOSE)
    adj = usable_adj(adj[known]) if adj is not None else None
    new = _Bars(
        sid[known_at],
        bars.day[known].astype(np.int64),
        {k: bars.values[k][known] for k in _PRICES},
        volume.astype(np.int64),
        adj if adj is not None and not np.isnan(adj).all() else None,
    )
    new = new.by_key()
    swap = bulk_partitions(conn, new.day) if bulk is not None else None
    if swap and bulk is not None:
        # every bar is new (its day's partition is empty): the builders start before the comparison
        bulk.build(swap, new)  # in the background, on connections of their own; swapped in below
    heads = np.flatnonzero(np.concatenate(([True], new.sid[1:] != new.sid[:-1]))) if len(new.sid) else new.sid
    first = np.minimum(_period_starts(new.day[heads], "week"), _period_starts(new.day[heads], "month"))
    old = _existing(conn, new.sid[heads], first, adjusted=new.adj is not None).by_key()
    old_keys, new_keys = old.keys(), new.keys()
    found = _member(new_keys, old_keys)
    if swap and found.any():  # (the partitions were empty a moment ago)
        raise TransientError("bars were written into daily_bars during a bulk load; the batch is loaded again")
    pos = np.minimum(np.searchsorted(old_keys, new_keys), max(len(old_keys) - 1, 0))
    same = found.copy()
    if len(old_keys):
        for k in _PRICES:
            same &= old.prices[k][pos] == new.prices[k]
        same &= old.volume[pos] == new.volume
    # the adjusted close: a bar without one keeps the stored one while its raw values stay the same
    # (a re-load of a file without the column changes nothing); a raw change replaces both
    keep_adj = np.ones(len(new_keys), dtype=bool) if new.adj is None else np.isnan(new.adj)
    same_raw = same.copy()
    if new.adj is not None and old.adj is not None and len(old_keys):
        stored = old.adj[pos]
        same &= keep_adj | (stored == new.adj)
    inserted, updated = np.flatnonzero(~found), np.flatnonzero(found & ~same)
    raw = psycopg_connection(conn)
    if len(inserted) and not swap:
        columns, payload = new.take(inserted).copy_payload()
        with raw.cursor() as cur, cur.copy(f"COPY daily_bars ({columns}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(payload)
    if len(updated):
        fix = new.take(updated)
        fix_adj: list[float | None] = [None] * len(updated)
        if fix.adj is not None:
            fix_adj = [None if math.isnan(a) else a for a in fix.adj.tolist()]
        conn.execute(
            text(_UPDATE),
            {
                "ids": fix.sid.tolist(),
                "dates": [EPOCH + dt.timedelta(days=d) for d in fix.day.tolist()],
                **{k: fix.prices[k].tolist() for k in _PRICES},
                "volume": fix.volume.tolist(),
                "adj": fix_adj,
                # kept only while the raw values are the same (a raw change drops an adjustment made for the old ones)
                "keep_adj": (keep_adj[updated] & same_raw[updated]).tolist(),
            },
        )
    changed = np.sort(np.concatenate((inserted, updated))) if len(updated) else inserted  # (sorted)
    # earliest changed day per security (rows are by security and day): rollups from there are rebuilt
    firsts = (
        changed[np.concatenate(([True], new.sid[changed][1:] != new.sid[changed][:-1]))] if len(changed) else changed
    )
    since = dict(zip(new.sid[firsts].tolist(), new.day[firsts].tolist(), strict=True))
    if since:
        mark_revised(conn, since)
    rolled = 0
    if since and not rollups_are_continuous_aggregates(conn):
        kept = old.take(~_member(old_keys, new_keys))
        if len(kept.sid):
            merged = _Bars(  # (the rollups are of the raw prices: no adjusted close)
                np.concatenate((kept.sid, new.sid)),
                np.concatenate((kept.day, new.day)),
                {k: np.concatenate((kept.prices[k], new.prices[k])) for k in _PRICES},
                np.concatenate((kept.volume, new.volume)),
            )
            merged = merged.by_key()
        else:
            merged = new  # (already by security and day)
        rolled = refresh_rollups(conn, merged, since, bulk=bool(swap))
    if swap and bulk is not None:
        bulk.swap_in(conn)  # last: the parent's exclusive lock is held only from here to the commit
    by_id = {v: k for k, v in ids.items()}
    return {
        "inserted": len(inserted),
        "updated": len(updated),
        "unchanged": len(rows) - len(inserted) - len(updated),
        "quarantined": int(extra["quarantined"]),
        "rollup_rows": rolled,
        "changed_symbols": sorted({by_id[s] for s in since}),
    }


#: the stored indicator states that bars written on or before their date make stale (see :mod:`snapshot`)
_MARK_REVISED = (
    "UPDATE indicator_state st SET revised_from = LEAST(st.revised_from, c.first) "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:firsts AS date[])) AS c(security_id, first) "
    "WHERE st.security_id = c.security_id AND c.first <= st.as_of"
)


def mark_revised(conn: Connection, since: dict[int, int]) -> None:
    """Mark the indicator state of each security of ``since`` (id -> first day written, days since
    1970-01-01) whose date is on or after that day with the earliest day written (``revised_from``):
    the snapshot's next build recomputes it from its full history instead of advancing it (one
    statement, in the caller's transaction)."""
    ids = sorted(since)
    conn.execute(text(_MARK_REVISED), {"ids": ids, "firsts": [EPOCH + dt.timedelta(days=since[i]) for i in ids]})


#: rollup table -> date_trunc unit (whitelist: the only identifiers interpolated into SQL)
ROLLUPS = {"bars_weekly": "week", "bars_monthly": "month"}


def rollups_are_continuous_aggregates(conn: Connection) -> bool:
    """True on the TimescaleDB path, where continuous aggregates maintain the rollups."""
    # a continuous aggregate is a view over its materialisation hypertable; a native rollup is a table
    return bool(
        conn.execute(
            text("SELECT coalesce((SELECT relkind = 'v' FROM pg_class WHERE oid = to_regclass('bars_weekly')), false)")
        ).scalar()
    )


def _period_starts(days: npt.NDArray[np.int64], unit: str) -> npt.NDArray[np.int64]:
    """``date_trunc(unit, day)`` of days since 1970-01-01 (a Thursday): Monday-based weeks, months."""
    if unit == "week":
        return days - (days + 3) % 7
    return days.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _drop_key_of_empty(raw: psycopg.Connection[Any], table: str) -> sql.Composed | None:
    """When ``table`` is empty and its primary key is its only index (nothing references it): drop
    the key, in the caller's transaction (which then holds the table exclusively), and return the
    statement that adds it back; else None."""
    row = raw.execute(
        "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid = %(t)s::regclass "
        "AND c.contype = 'p' AND (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.conrelid) = 1 "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.conrelid) "
        f"AND NOT EXISTS (SELECT 1 FROM {table})",
        {"t": table},
    ).fetchone()
    if row is None:
        return None
    name = sql.Identifier(str(row[0]))
    raw.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), name))
    if raw.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))).fetchone() != (False,):
        raise TransientError(f"rows were written into {table} during a bulk load; the batch is loaded again")
    # (the definition as PostgreSQL prints it: "PRIMARY KEY (security_id, period_start)")
    return sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(sql.Identifier(table), name) + sql.SQL(str(row[1]))


def refresh_rollups(conn: Connection, bars: _Bars, since: dict[int, int], bulk: bool = False) -> int:
    """Rebuild weekly/monthly rows of each security in ``since`` from the period containing its
    first changed day, from ``bars`` (by security and day, every bar of those periods).

    The old rows are deleted and the new ones COPYed in, in the caller's transaction. Native
    path only (plain tables); on TimescaleDB the continuous aggregates' refresh policies do it.
    With ``bulk`` (a bulk load, the one batch of its run), a rollup table that is still empty is
    filled without its primary key, which is then built once (see :func:`_drop_key_of_empty`).
    """
    ids = sorted(since)
    firsts = [EPOCH + dt.timedelta(days=since[i]) for i in ids]
    first_day = np.array([since[i] for i in ids], dtype=np.int64)
    # only the securities that changed (others in the batch keep their rollups)
    heads = np.flatnonzero(np.concatenate(([True], bars.sid[1:] != bars.sid[:-1]))) if len(bars.sid) else bars.sid
    if len(heads) == len(ids):  # every security of the bars changed (each in ids): by runs
        first_of = np.repeat(first_day, np.diff(np.append(heads, len(bars.sid))))
    else:
        wanted = _member(bars.sid, np.array(ids, dtype=np.int64))
        if not wanted.all():
            bars = bars.take(np.flatnonzero(wanted))
        first_of = first_day[np.searchsorted(ids, bars.sid)]
    changed = (
        "WITH changed AS (SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:firsts AS date[])) "
        "AS c(security_id, first)) "
    )
    raw = psycopg_connection(conn)
    total = 0
    for table, unit in ROLLUPS.items():
        conn.execute(
            text(
                changed + f"DELETE FROM {table} t USING changed c WHERE t.security_id = c.security_id "
                f"AND t.period_start >= date_trunc('{unit}', c.first)::date"
            ),
            {"ids": ids, "firsts": firsts},
        )
        period = _period_starts(bars.day, unit)
        keep = np.flatnonzero(period >= _period_starts(first_of, unit))
        if len(keep) == 0:
            continue
        part, k_period = (bars, period) if len(keep) == len(period) else (bars.take(keep), period[keep])
        heads = np.flatnonzero(
            np.concatenate(([True], (part.sid[1:] != part.sid[:-1]) | (k_period[1:] != k_period[:-1])))
        )
        lasts = np.append(heads[1:], len(keep)) - 1
        columns: list[Column] = [
            part.sid[heads].astype(np.int32),
            (k_period[heads] - PG_EPOCH_DAYS).astype(np.int32),
            part.prices["open"][heads],
            np.maximum.reduceat(part.prices["high"], heads),
            np.minimum.reduceat(part.prices["low"], heads),
            part.prices["close"][lasts],
            np.add.reduceat(part.volume, heads),
            (part.day[heads] - PG_EPOCH_DAYS).astype(np.int32),
            (part.day[lasts] - PG_EPOCH_DAYS).astype(np.int32),
            (lasts - heads + 1).astype(np.int32),
        ]
        names = "security_id, period_start, open, high, low, close, volume, first_date, last_date, bars"
        add_key = _drop_key_of_empty(raw, table) if bulk else None
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(COPY_HEADER + copy_rows(len(heads), columns) + COPY_TRAILER)
        if add_key is not None:
            raw.execute("SET LOCAL max_parallel_maintenance_workers = 0")  # (see BulkLoad._fill)
            raw.execute(add_key)
        total += len(heads)
    return total


# --- bulk load: empty partitions filled as standalone tables and swapped in ---------------------

#: a partition bound this path understands (a plain date range; not DEFAULT, MINVALUE or MAXVALUE)
_BOUND = re.compile(r"^FOR VALUES FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)$")

#: the partitions a bulk load may replace: plain tables of a natively partitioned daily_bars, both
#: owned by the current user (ATTACH / DETACH need it), without grants or storage parameters of their
#: own, row security or user triggers (a bulk load would bypass row triggers: a table with any is
#: loaded row by row)
_PARTITIONS = (
    "SELECT n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_class p "
    "JOIN pg_inherits i ON i.inhparent = p.oid JOIN pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE p.oid = to_regclass('daily_bars') AND p.relkind = 'p' AND pg_has_role(p.relowner, 'MEMBER') "
    "AND c.relkind = 'r' AND pg_has_role(c.relowner, 'MEMBER') AND c.relacl IS NULL AND c.reloptions IS NULL "
    "AND NOT c.relrowsecurity "
    "AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid IN (p.oid, c.oid) AND NOT t.tgisinternal)"
)

#: standalone tables filled at once (each on a connection of its own)
BULK_BUILDERS = 2


@dataclass(frozen=True)
class Partition:
    """A range partition of daily_bars: days ``lo`` (inclusive) to ``hi`` (exclusive) since 1970-01-01."""

    schema: str
    name: str
    lo: int
    hi: int

    @property
    def table(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def bulk_name(self) -> str:
        """The standalone table filled for this partition (<= 63 bytes with its suffixes)."""
        return f"{self.name[:44]}_bulk"

    @property
    def bulk_table(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.bulk_name)


def _day(value: str) -> int:
    return (dt.date.fromisoformat(value) - EPOCH).days


def _any_rows(raw: psycopg.Connection[Any], parts: list[Partition]) -> bool:
    query = sql.SQL(" OR ").join(sql.SQL("EXISTS (SELECT 1 FROM ONLY {})").format(p.table) for p in parts)
    row = raw.execute(sql.SQL("SELECT ") + query).fetchone()
    return bool(row and row[0])


def bulk_partitions(conn: Connection, days: npt.NDArray[Any]) -> list[Partition] | None:
    """The partitions of daily_bars that ``days`` fall in, when a bulk load may fill them: each day in
    a partition of a plain date range (see ``_PARTITIONS``), and all of them empty. None otherwise."""
    if len(days) == 0:
        return None
    parts = []
    for schema, name, bound in conn.execute(text(_PARTITIONS)).all():
        match = _BOUND.match(bound or "")
        if match:
            parts.append(Partition(str(schema), str(name), _day(match[1]), _day(match[2])))
    if not parts:
        return None
    parts.sort(key=lambda p: p.lo)
    los = np.array([p.lo for p in parts], dtype=np.int64)
    his = np.array([p.hi for p in parts], dtype=np.int64)
    where = np.searchsorted(los, days, side="right") - 1
    if not ((where >= 0) & (days < his[np.maximum(where, 0)])).all():
        return None  # a day in no partition of its own (the default partition, or none)
    used = [parts[i] for i in np.flatnonzero(np.bincount(where, minlength=len(parts))).tolist()]  # (no sort)
    return None if _any_rows(psycopg_connection(conn), used) else used


@dataclass
class BulkLoad:
    """New bars into empty partitions without per-row index maintenance.

    :meth:`build` fills a standalone copy of each partition (same columns, constraints and
    storage, plus a CHECK of the partition's range), COPYing its rows, then adds the primary
    key, in the background on connections of its own (committed: a table no reader looks at,
    kept from autovacuum until it is swapped in). :meth:`swap_in`, in the loading transaction,
    locks daily_bars, checks the partitions are still empty, and replaces each with its
    standalone copy (DETACH, DROP, ATTACH: the CHECK spares ATTACH a scan, the key becomes the
    partition's). Readers see all of the batch at the commit, or nothing. :meth:`cleanup`, after
    the transaction, drops what was built but not swapped in (a failed batch).
    """

    builders: int = BULK_BUILDERS
    _parts: list[Partition] = field(default_factory=list)
    _pool: ThreadPoolExecutor | None = None
    _futures: list[Future[None]] = field(default_factory=list)

    def build(self, parts: list[Partition], bars: _Bars) -> None:
        """Start filling ``parts`` (by first day, each holding some of ``bars``) with ``bars``."""
        # the bars grouped by partition, in their order within each (a stable sort), once
        where = np.searchsorted(np.array([p.lo for p in parts], dtype=np.int64), bars.day, side="right") - 1
        his = np.array([p.hi for p in parts], dtype=np.int64)
        if len(where) and ((where < 0).any() or (bars.day >= his[np.maximum(where, 0)]).any()):
            raise ValueError("a bar outside the partitions of its bulk load")
        grouped = bars.take(np.argsort(where, kind="stable"))
        bounds = [0, *np.cumsum(np.bincount(where, minlength=len(parts))).tolist()]
        self._parts = parts
        self._pool = ThreadPoolExecutor(min(self.builders, len(parts)), thread_name_prefix="bulk-load")
        # the largest first, so the last to finish is a small one
        for k in sorted(range(len(parts)), key=lambda k: bounds[k] - bounds[k + 1]):
            rows = slice(bounds[k], bounds[k + 1])
            part_bars = _Bars(
                grouped.sid[rows],
                grouped.day[rows],
                {n: v[rows] for n, v in grouped.prices.items()},
                grouped.volume[rows],
                None if grouped.adj is None else grouped.adj[rows],
            )
            self._futures.append(self._pool.submit(self._fill, parts[k], part_bars))

    def _fill(self, part: Partition, bars: _Bars) -> None:
        pooled = get_engine().raw_connection()
        try:
            raw = pooled.driver_connection
            assert isinstance(raw, psycopg.Connection)
            first, end = (EPOCH + dt.timedelta(days=d) for d in (part.lo, part.hi))
            raw.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(part.bulk_table))
            # the key of a partition's rows is built by this builder alone: the others and the loading
            # transaction keep the other cores busy (parallel workers would only contend with them)
            raw.execute("SET LOCAL max_parallel_maintenance_workers = 0")
            raw.execute(
                sql.SQL(
                    "CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES, "
                    "CONSTRAINT {} CHECK (date >= {} AND date < {})) "
                    # no autovacuum between the commit and the swap (its lock would hold the swap up)
                    "WITH (autovacuum_enabled = false)"
                ).format(
                    part.bulk_table,
                    part.table,
                    sql.Identifier(f"{part.bulk_name}_range"),
                    sql.Literal(first),
                    sql.Literal(end),
                )
            )
            columns, payload = bars.copy_payload()
            copy_sql = sql.SQL("COPY {} (" + columns + ") FROM STDIN (FORMAT binary)").format(part.bulk_table)
            with raw.cursor() as cur, cur.copy(copy_sql) as copy:
                copy.write(payload)
            raw.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY (security_id, date)").format(
                    part.bulk_table, sql.Identifier(f"{part.bulk_name}_pkey")
                )
            )
            raw.commit()
        finally:
            pooled.close()  # (rolled back on return to the pool if not committed)

    def _wait(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()  # the first builder's error, if any

    def swap_in(self, conn: Connection) -> None:
        self._wait()
        raw = psycopg_connection(conn)
        # a reader still holding daily_bars makes this wait; not forever (the batch is retried)
        raw.execute("SET LOCAL lock_timeout = '30s'")
        raw.execute("LOCK TABLE ONLY daily_bars IN ACCESS EXCLUSIVE MODE")
        for part in self._parts:
            raw.execute(sql.SQL("LOCK TABLE ONLY {} IN ACCESS EXCLUSIVE MODE").format(part.table))
        if _any_rows(raw, self._parts):
            raise TransientError("bars were written into daily_bars during a bulk load; the batch is loaded again")
        for part in self._parts:
            first, end = (EPOCH + dt.timedelta(days=d) for d in (part.lo, part.hi))
            raw.execute(sql.SQL("ALTER TABLE daily_bars DETACH PARTITION {}").format(part.table))
            raw.execute(sql.SQL("DROP TABLE {}").format(part.table))
            raw.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(part.bulk_table, sql.Identifier(part.name)))
            raw.execute(
                sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                    part.table, sql.Identifier(f"{part.bulk_name}_pkey"), sql.Identifier(f"{part.name}_pkey")
                )
            )
            raw.execute(
                sql.SQL("ALTER TABLE daily_bars ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                    part.table, sql.Literal(first), sql.Literal(end)
                )
            )
            raw.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}, RESET (autovacuum_enabled)").format(
                    part.table, sql.Identifier(f"{part.bulk_name}_range")
                )
            )
        raw.execute("SET LOCAL lock_timeout = DEFAULT")

    def cleanup(self) -> None:
        """Wait for the builders, then drop the standalone tables not swapped in (after the load's
        transaction ended: a failed swap held their locks until its rollback)."""
        try:
            self._wait()
        except Exception as exc:  # the load's own error is the one raised
            logger.warning("bulk load builder failed", extra={"error": str(exc)})
        if not self._parts:
            return
        pooled = get_engine().raw_connection()
        try:
            raw = pooled.driver_connection
            assert isinstance(raw, psycopg.Connection)
            for part in self._parts:
                raw.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(part.bulk_table))
            raw.commit()
        finally:
            pooled.close()
