"""The ingest pipeline's SQL for its runs, findings, staging housekeeping, snapshot metadata and reference data.

:class:`IngestRepository` takes the engine. A task that must do several things in ONE transaction
(its own statements and the bulk data access of :mod:`load`, :mod:`staging`, :mod:`quality` and
:mod:`snapshot`, which work on the caller's connection) opens it with :meth:`IngestRepository.transaction`
and passes the connection to the methods that take one; the other methods open their own.
Parameterised SQL only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, text

from stockscreen.pipeline.quality import ReferenceIssue
from stockscreen.pipeline.reference import FUNDAMENTALS_NUMERIC, Fundamentals, Security, StagedReference


class RunRecord(NamedTuple):
    id: Any
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    stats: Any
    error: str | None


class RuleCount(NamedTuple):
    rule: str
    severity: str
    action: str
    total: int


class FindingFilter(NamedTuple):
    """Which findings: each filter given narrows (None: any)."""

    run_id: str | None = None
    rule: str | None = None
    symbol: str | None = None
    severity: str | None = None
    action: str | None = None


class FindingRecord(NamedTuple):
    id: int
    run_id: str
    rule: str
    severity: str
    action: str
    symbol: str | None
    date: dt.date | None
    file: str | None
    line: int | None
    message: str
    raw: dict[str, Any] | None
    released_at: dt.datetime | None
    released_by: str | None
    loaded_run_id: str | None


class RuleDayCount(NamedTuple):
    day: dt.date
    rule: str
    severity: str
    total: int


class ReleaseCandidate(NamedTuple):
    """A quarantined finding, as a release reads it."""

    id: int
    run_id: str
    rule: str
    action: str
    symbol: str | None
    date: dt.date | None
    raw: dict[str, Any] | None


_FINDINGS_WHERE = (
    "(CAST(:run AS uuid) IS NULL OR q.run_id = :run) AND (CAST(:rule AS text) IS NULL OR q.rule = :rule) "
    "AND (CAST(:sym AS text) IS NULL OR q.symbol = :sym) AND (CAST(:sev AS text) IS NULL OR q.severity = :sev) "
    "AND (CAST(:act AS text) IS NULL OR q.action = :act)"
)

_FINDINGS = (
    "SELECT q.id, q.run_id, q.rule, q.severity, q.action, q.symbol, q.date, q.raw->>'file', "
    "CASE WHEN jsonb_typeof(q.raw->'line') = 'number' THEN CAST(q.raw->>'line' AS integer) END, q.message, q.raw, "
    "r.released_at, r.released_by, r.loaded_run_id FROM quality_issues q "
    "LEFT JOIN quarantine_releases r ON q.action = 'quarantined' AND r.symbol = q.symbol AND r.date = q.date "
    f"WHERE {_FINDINGS_WHERE} ORDER BY q.id LIMIT :limit OFFSET :offset"
)


class SnapshotQuote(NamedTuple):
    symbol: str
    close: float
    change_pct: float | None
    volume: float | None
    as_of: dt.date


def _unnest(conn: Connection, sql: str, rows: Sequence[dict[str, Any]], **scalars: Any) -> None:
    """One statement, once, for many rows: ``sql`` reads each key of the rows as an array
    parameter (of the rows' values, in their order), and ``scalars`` as they are."""
    if rows:
        conn.execute(text(sql), {**{k: [r[k] for r in rows] for k in rows[0]}, **scalars})


def _last_per_key(rows: list[dict[str, Any]], *key: str) -> list[dict[str, Any]]:
    """One row per key, the key's last (where its first was): what upserting them one by one leaves,
    for a single upsert (which may not touch a row twice)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        out[tuple(r[k] for k in key)] = r
    return list(out.values())


_UPSERT_SECURITIES = (
    "INSERT INTO securities (symbol, name, sector, industry, headquarters, hq_state, hq_country, "
    "date_added, cik) SELECT * FROM unnest(CAST(:symbol AS text[]), CAST(:name AS text[]), "
    "CAST(:sector AS text[]), CAST(:industry AS text[]), CAST(:hq AS text[]), CAST(:state AS text[]), "
    "CAST(:country AS text[]), CAST(:added AS date[]), CAST(:cik AS text[])) "
    "ON CONFLICT (symbol) DO UPDATE SET name = EXCLUDED.name, sector = EXCLUDED.sector, "
    "industry = EXCLUDED.industry, headquarters = EXCLUDED.headquarters, hq_state = EXCLUDED.hq_state, "
    "hq_country = EXCLUDED.hq_country, date_added = EXCLUDED.date_added, cik = EXCLUDED.cik"
)

_ADD_SECURITIES = (
    "INSERT INTO securities (symbol, name, sector) SELECT * FROM unnest(CAST(:s AS text[]), "
    "CAST(:n AS text[]), CAST(:sec AS text[])) ON CONFLICT (symbol) DO NOTHING"
)

_REFERENCE_ISSUES = (
    "INSERT INTO quality_issues (run_id, rule, severity, action, symbol, message, raw) "
    "SELECT :r, * FROM unnest(CAST(:rule AS text[]), CAST(:sev AS text[]), CAST(:act AS text[]), "
    "CAST(:sym AS text[]), CAST(:msg AS text[]), CAST(:raw AS jsonb[]))"
)

_UPSERT_FUNDAMENTALS = (
    "INSERT INTO fundamentals (security_id, as_of, price, pe, dividend_yield, eps, low_52w, high_52w, "
    "market_cap, ebitda, price_sales, price_book) SELECT s.id, x.as_of, x.price, x.pe, x.dividend_yield, x.eps, "
    "x.low_52w, x.high_52w, x.market_cap, x.ebitda, x.price_sales, x.price_book "
    "FROM unnest(CAST(:s AS text[]), CAST(:as_of AS date[]), "
    + ", ".join(f"CAST(:{k} AS float8[])" for k in FUNDAMENTALS_NUMERIC)
    + f") AS x(symbol, as_of, {', '.join(FUNDAMENTALS_NUMERIC)}) JOIN securities s ON s.symbol = x.symbol "
    "ON CONFLICT (security_id, as_of) DO UPDATE SET price = EXCLUDED.price, pe = EXCLUDED.pe, "
    "dividend_yield = EXCLUDED.dividend_yield, eps = EXCLUDED.eps, low_52w = EXCLUDED.low_52w, "
    "high_52w = EXCLUDED.high_52w, market_cap = EXCLUDED.market_cap, ebitda = EXCLUDED.ebitda, "
    "price_sales = EXCLUDED.price_sales, price_book = EXCLUDED.price_book"
)


class IngestRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction (committed at the end of the block, rolled back on an error)."""
        with self.engine.begin() as conn:
            yield conn

    # --- runs -----------------------------------------------------------------------------------

    def merge_stats(self, run_id: str, key: str, value: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE ingest_runs SET stats = stats || jsonb_build_object(CAST(:k AS text), CAST(:v AS jsonb)) "
                    "WHERE id = :r"
                ),
                {"k": key, "v": json.dumps(value, default=str), "r": run_id},
            )

    def active_symbols(self, conn: Connection) -> list[str]:
        return list(conn.execute(text("SELECT symbol FROM securities WHERE is_active ORDER BY symbol")).scalars())

    def abandon_stale_runs(self, conn: Connection, run_key: str, run_id: str, minutes: int) -> list[str]:
        """Mark failed the other runs of ``run_key`` still running after ``minutes``; their ids."""
        rows = conn.execute(
            text(
                "UPDATE ingest_runs SET status = 'failed', finished_at = now(), "
                "error = 'abandoned: still running after ' || CAST(:m AS text) || ' minutes' "
                "WHERE status = 'running' AND run_key = :k AND id <> :r "
                "AND started_at < now() - make_interval(mins => :m) RETURNING id"
            ),
            {"k": run_key, "r": run_id, "m": minutes},
        ).all()
        return [str(r[0]) for r in rows]

    def start_run(self, run_id: str, source: dict[str, Any], run_key: str) -> None:
        """Register the run as running (IntegrityError: another run of ``run_key`` is running)."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO ingest_runs (id, status, source, run_key) "
                    "VALUES (:r, 'running', CAST(:s AS jsonb), :k) "
                    "ON CONFLICT (id) DO UPDATE SET status = 'running', error = NULL, run_key = :k"
                ),
                {"r": run_id, "s": json.dumps(source), "k": run_key},
            )

    def running_run(self, run_key: str) -> tuple[str, dt.datetime] | None:
        """(id, started_at) of the run of ``run_key`` that is running, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT id, started_at FROM ingest_runs WHERE status = 'running' AND run_key = :k"),
                {"k": run_key},
            ).first()
        return None if row is None else (str(row[0]), row[1])

    def finish_run(self, conn: Connection, run_id: str, summary: dict[str, Any]) -> None:
        conn.execute(
            text(
                "UPDATE ingest_runs SET status = 'succeeded', finished_at = now(), "
                "stats = stats || jsonb_build_object('report', CAST(:s AS jsonb)) WHERE id = :r"
            ),
            {"r": run_id, "s": json.dumps(summary)},
        )

    def record_failure(self, run_id: str, source: dict[str, Any], message: str) -> None:
        """Mark the run failed (registering it if Plan never did) and drop what it staged, in one transaction."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO ingest_runs (id, status, source, error, finished_at) VALUES "
                    "(:r, 'failed', CAST(:s AS jsonb), :e, now()) ON CONFLICT (id) DO UPDATE SET status = 'failed', "
                    "error = :e, finished_at = now()"
                ),
                {"r": run_id, "s": json.dumps(source), "e": message},
            )
            self.drop_staged(conn, run_id)
            self.drop_reference(conn, run_id)

    def run(self, run_id: str) -> tuple[RunRecord | None, list[RuleCount]]:
        """The run's record (None if unknown) and its findings counted per rule, severity and action."""
        with self.engine.connect() as conn:
            run = conn.execute(
                text("SELECT id, status, started_at, finished_at, stats, error FROM ingest_runs WHERE id = :r"),
                {"r": run_id},
            ).first()
            if run is None:
                return None, []
            rules = conn.execute(
                text(
                    "SELECT rule, severity, action, count(*) FROM quality_issues WHERE run_id = :r "
                    "GROUP BY rule, severity, action ORDER BY rule"
                ),
                {"r": run_id},
            ).all()
        record = RunRecord(run.id, run.status, run.started_at, run.finished_at, run.stats, run.error)
        return record, [RuleCount(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rules]

    def latest_run_id(self) -> str | None:
        with self.engine.connect() as conn:
            run_id = conn.execute(text("SELECT id FROM ingest_runs ORDER BY started_at DESC, id LIMIT 1")).scalar()
        return None if run_id is None else str(run_id)

    def run_for_prefix(self, bucket: str, prefix: str) -> RunRecord | None:
        """The latest run started for an object of the raw bucket whose key starts with ``prefix``."""
        with self.engine.connect() as conn:
            run = conn.execute(
                text(
                    "SELECT id, status, started_at, finished_at, stats, error FROM ingest_runs "
                    "WHERE source ? 's3' AND starts_with(source #>> '{s3,key}', :k) AND source #>> '{s3,bucket}' = :b "
                    "ORDER BY started_at DESC LIMIT 1"
                ),
                {"k": prefix, "b": bucket},
            ).first()
        return (
            None
            if run is None
            else RunRecord(run.id, run.status, run.started_at, run.finished_at, run.stats, run.error)
        )

    # --- findings, as admins review them ---------------------------------------------------------

    def findings(self, which: FindingFilter, limit: int, offset: int) -> tuple[list[FindingRecord], int]:
        """A page of findings (oldest first, as the rules found them) and how many match in all."""
        params = {
            "run": which.run_id,
            "rule": which.rule,
            "sym": which.symbol,
            "sev": which.severity,
            "act": which.action,
            "limit": limit,
            "offset": offset,
        }
        with self.engine.connect() as conn:
            total = conn.execute(
                text(f"SELECT count(*) FROM quality_issues q WHERE {_FINDINGS_WHERE}"), params
            ).scalar_one()
            rows = conn.execute(text(_FINDINGS), params).all()
        return [
            FindingRecord(
                int(r[0]),
                str(r[1]),
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                r[11],
                None if r[12] is None else str(r[12]),
                None if r[13] is None else str(r[13]),
            )
            for r in rows
        ], int(total)

    def findings_per_rule_per_day(self, since: dt.date) -> list[RuleDayCount]:
        """Findings per rule and per day (the day their run started, UTC) from ``since`` on."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT CAST(timezone('UTC', r.started_at) AS date) AS day, q.rule, min(q.severity), count(*) "
                    "FROM quality_issues q JOIN ingest_runs r ON r.id = q.run_id "
                    "WHERE r.started_at >= CAST(:since AS date) GROUP BY 1, 2 ORDER BY 1, 2"
                ),
                {"since": since},
            ).all()
        return [RuleDayCount(r[0], r[1], r[2], int(r[3])) for r in rows]

    def finding_for_update(self, conn: Connection, issue_id: int) -> ReleaseCandidate | None:
        row = conn.execute(
            text("SELECT id, run_id, rule, action, symbol, date, raw FROM quality_issues WHERE id = :i FOR UPDATE"),
            {"i": issue_id},
        ).first()
        return None if row is None else ReleaseCandidate(int(row[0]), str(row[1]), *row[2:])

    def add_release(
        self, conn: Connection, issue: ReleaseCandidate, values: dict[str, float], actor_id: str, note: str | None
    ) -> int | None:
        """Record the release of a quarantined row; None when its (symbol, date) is released already."""
        raw = issue.raw or {}
        released = conn.execute(
            text(
                "INSERT INTO quarantine_releases (issue_id, run_id, rule, symbol, date, open, high, low, close, "
                "volume, file, line, note, released_by) VALUES (:i, :run, :rule, :sym, :d, :o, :h, :l, :c, :v, "
                ":f, :ln, :n, :by) ON CONFLICT (symbol, date) DO NOTHING RETURNING id"
            ),
            {
                "i": issue.id,
                "run": issue.run_id,
                "rule": issue.rule,
                "sym": issue.symbol,
                "d": issue.date,
                "o": values["open"],
                "h": values["high"],
                "l": values["low"],
                "c": values["close"],
                "v": values["volume"],
                "f": raw.get("file"),
                "ln": raw.get("line") if isinstance(raw.get("line"), int) else None,
                "n": note,
                "by": actor_id,
            },
        ).scalar()
        return None if released is None else int(released)

    def mark_releases_loaded(self, conn: Connection, run_id: str) -> int:
        """Releases whose bar is now loaded: this run loaded them; how many."""
        return int(
            conn.execute(
                text(
                    "UPDATE quarantine_releases q SET loaded_run_id = :r, loaded_at = now() FROM daily_bars b "
                    "JOIN securities s ON s.id = b.security_id WHERE q.loaded_run_id IS NULL "
                    "AND s.symbol = q.symbol AND b.date = q.date"
                ),
                {"r": run_id},
            ).rowcount
        )

    # --- staging housekeeping -------------------------------------------------------------------

    def truncate_staging(self) -> None:
        """Empty the staging tables outright (only while this run holds the one running slot)."""
        with self.engine.begin() as conn:
            conn.execute(text("TRUNCATE raw_batches, raw_reference"))

    def drop_staged(self, conn: Connection, run_id: str) -> None:
        conn.execute(text("DELETE FROM raw_batches WHERE run_id = :r"), {"r": run_id})

    def drop_load_batches(self, conn: Connection, run_id: str) -> None:
        conn.execute(text("DELETE FROM raw_batches WHERE run_id = :r AND stage = 'load'"), {"r": run_id})

    def drop_reference(self, conn: Connection, run_id: str) -> None:
        conn.execute(text("DELETE FROM raw_reference WHERE run_id = :r"), {"r": run_id})

    # --- findings -------------------------------------------------------------------------------

    def clear_findings(self, conn: Connection, run_id: str, rules: Sequence[str]) -> None:
        conn.execute(
            text("DELETE FROM quality_issues WHERE run_id = :r AND rule = ANY(CAST(:rules AS text[]))"),
            {"r": run_id, "rules": list(rules)},
        )

    def clear_provider_errors(self, conn: Connection, run_id: str, symbols: Sequence[str]) -> None:
        conn.execute(
            text(
                "DELETE FROM quality_issues WHERE run_id = :r AND rule = 'provider_error' "
                "AND symbol = ANY(CAST(:s AS text[]))"
            ),
            {"r": run_id, "s": list(symbols)},
        )

    def add_provider_errors(
        self, conn: Connection, run_id: str, day: dt.date, failures: Sequence[tuple[str, str]]
    ) -> None:
        """One skipped-symbol warning per (symbol, message)."""
        conn.execute(
            text(
                "INSERT INTO quality_issues (run_id, rule, severity, action, symbol, date, message) "
                "VALUES (:r, 'provider_error', 'warning', 'skipped', :s, :d, :m)"
            ),
            [{"r": run_id, "s": sym, "d": day, "m": msg} for sym, msg in failures],
        )

    def count_provider_errors(self, conn: Connection, run_id: str) -> int:
        return int(
            conn.execute(
                text("SELECT count(*) FROM quality_issues WHERE run_id = :r AND rule = 'provider_error'"),
                {"r": run_id},
            ).scalar_one()
        )

    def count_quarantined(self, conn: Connection, run_id: str) -> int:
        return int(
            conn.execute(
                text("SELECT count(*) FROM quality_issues WHERE run_id = :r AND action = 'quarantined'"),
                {"r": run_id},
            ).scalar_one()
        )

    def skipped_symbols(self, conn: Connection, run_id: str) -> list[str]:
        return list(
            conn.execute(
                text("SELECT symbol FROM quality_issues WHERE run_id = :r AND rule = 'provider_error' ORDER BY 1"),
                {"r": run_id},
            ).scalars()
        )

    # --- snapshot metadata ----------------------------------------------------------------------

    def current_snapshot_version(self, conn: Connection) -> int | None:
        version = conn.execute(text("SELECT version FROM snapshot_versions WHERE is_current")).scalar()
        return None if version is None else int(version)

    def snapshot_quotes(self, version: int) -> list[SnapshotQuote]:
        """The latest close of every security in a snapshot version."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.symbol, r.close, r.change_pct, r.volume, r.as_of FROM snapshot_rows r "
                    "JOIN securities s ON s.id = r.security_id WHERE r.version = :v AND r.close IS NOT NULL"
                ),
                {"v": version},
            ).all()
        return [SnapshotQuote(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    # --- reference data (constituents, fundamentals) --------------------------------------------

    def staged_reference(self, conn: Connection, run_id: str) -> list[StagedReference]:
        """The run's staged reference rows, by kind, file and line."""
        rows = conn.execute(
            text("SELECT kind, file, line, row FROM raw_reference WHERE run_id = :r ORDER BY kind, file, line"),
            {"r": run_id},
        ).all()
        return [StagedReference(str(k), str(f), int(ln), r) for k, f, ln, r in rows]

    def upsert_securities(self, conn: Connection, securities: Sequence[Security]) -> None:
        """Insert or update the security master (the last row of a symbol wins)."""
        rows = [s._asdict() for s in securities]
        _unnest(conn, _UPSERT_SECURITIES, _last_per_key(rows, "symbol"))

    def add_securities(self, conn: Connection, securities: Sequence[tuple[str, str, str | None]]) -> None:
        """(symbol, name, sector) of securities not in the master yet; the known ones are left alone."""
        _unnest(conn, _ADD_SECURITIES, [{"s": s, "n": n, "sec": sec} for s, n, sec in securities])

    def add_reference_issues(self, conn: Connection, run_id: str, issues: Sequence[ReferenceIssue]) -> None:
        rows = [
            {
                "rule": i.rule,
                "sev": i.severity,
                "act": i.action,
                "sym": i.symbol,
                "msg": i.message,
                "raw": None if i.raw is None else json.dumps(i.raw),
            }
            for i in issues
        ]
        _unnest(conn, _REFERENCE_ISSUES, rows, r=run_id)

    def upsert_fundamentals(self, conn: Connection, rows: Sequence[Fundamentals]) -> None:
        """Insert or update fundamentals per (security, as_of) (the last row of a key wins)."""
        params = [{"s": f.symbol, "as_of": f.as_of, **f.values} for f in rows]
        _unnest(conn, _UPSERT_FUNDAMENTALS, _last_per_key(params, "s", "as_of"))
