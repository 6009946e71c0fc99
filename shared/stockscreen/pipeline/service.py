"""The ingest tasks, one function per state of the state machine.

Each task takes the execution's state (a JSON object) and returns its own result, which
the state machine stores under the task's result path (``$.plan``, ``$.validate``...). Tasks
pass references (the run id, batch descriptors), never rows, so payloads stay small.

Sources (``source`` in the execution input):
- ``{"paths": [...]}``: files (bars, constituents, fundamentals); one Fetch batch per file.
- ``{"provider": "stooq", "date": "YYYY-MM-DD"}``, ``{"provider": "stooq", "from": ..., "to": ...}`` or
  ``{"provider": "stooq", "scheduled_time": "<ISO timestamp>"}`` (the EventBridge schedule's input),
  optionally ``"symbols": [...]`` (default: every active security); one Fetch batch per group of
  symbols.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import psycopg
import redis
from aws_lambda_powertools.metrics import MetricUnit
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from stockscreen.core.clients import aws_client, get_redis
from stockscreen.core.config import event_settings, ingest_settings
from stockscreen.core.errors import Conflict, DataFileError, Invalid, TransientError
from stockscreen.core.observability import logger, metrics
from stockscreen.db.engine import get_engine
from stockscreen.market.calendar import previous_trading_day
from stockscreen.market.providers import BarProvider, BarRow, ProviderError, ProviderUnavailable, StooqProvider
from stockscreen.pipeline import load, quality, snapshot, staging
from stockscreen.pipeline.columns import Selection, TypedBars, take
from stockscreen.pipeline.idempotency import idempotent_task
from stockscreen.realtime import Quote, put_quotes

TaskFn = Callable[[dict[str, Any]], dict[str, Any]]

#: At most one running ingest run per key (a partial unique index on ingest_runs): every run
#: writes market data, so they share one key and a second concurrent run is refused.
RUN_KEY = "market-data"

EVENT_SOURCE = "stockscreen.ingest"
EVENT_DETAIL_TYPE = "prices.updated"
SNAPSHOT_VERSION_KEY = "snapshot:version"


def new_run_id() -> str:
    return str(uuid.uuid4())


def _run_id(state: dict[str, Any]) -> str:
    run_id = state.get("run_id")
    if not isinstance(run_id, str):
        raise Invalid("execution input needs a run_id")
    try:
        return str(uuid.UUID(run_id))
    except ValueError as exc:
        raise Invalid(f"run_id is not a UUID: {run_id!r}") from exc


def _merge_stats(run_id: str, key: str, value: Any) -> None:
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "UPDATE ingest_runs SET stats = stats || jsonb_build_object(CAST(:k AS text), CAST(:v AS jsonb)) "
                "WHERE id = :r"
            ),
            {"k": key, "v": json.dumps(value, default=str), "r": run_id},
        )


def _transient_db(fn: TaskFn) -> TaskFn:
    """The database going away (connection lost, server restarting) is a TransientError to retry."""

    @functools.wraps(fn)
    def run(state: dict[str, Any]) -> dict[str, Any]:
        try:
            return fn(state)
        # (psycopg's own errors: from a COPY on the driver connection)
        except (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if isinstance(exc, DBAPIError) and not isinstance(
                exc.orig, (psycopg.OperationalError, psycopg.InterfaceError)
            ):
                raise
            first = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()[0]
            raise TransientError(f"database unavailable: {first}") from exc

    return run


def _observed(task: str) -> Callable[[TaskFn], TaskFn]:
    """Log the task's outcome and emit its duration (EMF) with the task as dimension."""

    def decorate(fn: TaskFn) -> TaskFn:
        @functools.wraps(fn)
        def run(state: dict[str, Any]) -> dict[str, Any]:
            started = time.perf_counter()
            result = _transient_db(fn)(state)
            elapsed = time.perf_counter() - started
            metrics.add_dimension(name="task", value=task)
            metrics.add_metric(name="TaskDuration", unit=MetricUnit.Milliseconds, value=elapsed * 1000)
            logger.info(f"{task} done", extra={"run_id": state.get("run_id"), "task": task, "seconds": elapsed})
            return result

        return run

    return decorate


def _count(name: str, value: int) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


# --- Plan ---------------------------------------------------------------------------------------


def _date(value: Any, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise Invalid(f"{what} is not a YYYY-MM-DD date: {value!r}") from exc


def _provider_range(source: dict[str, Any]) -> tuple[dt.date, dt.date]:
    if "scheduled_time" in source:
        # the EventBridge schedule (after the US close): the last NYSE trading day on or before it
        try:
            when = dt.datetime.fromisoformat(str(source["scheduled_time"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise Invalid(f"source.scheduled_time is not an ISO timestamp: {source['scheduled_time']!r}") from exc
        day = previous_trading_day(when.astimezone(dt.UTC).date())
        return day, day
    if "date" in source:
        day = _date(source["date"], "source.date")
        return day, day
    if "from" in source and "to" in source:
        start, end = _date(source["from"], "source.from"), _date(source["to"], "source.to")
        if start > end:
            raise Invalid(f"source.from {start} is after source.to {end}")
        return start, end
    raise Invalid("a provider source needs 'date' or 'from' and 'to'")


def _plan_batches(conn: Connection, source: dict[str, Any]) -> list[dict[str, Any]]:
    if source.get("paths"):
        missing = [p for p in source["paths"] if not Path(p).exists()]
        if missing:
            raise DataFileError(str(missing[0]), None, "no such file")
        return [{"id": f"f{i}", "path": str(p)} for i, p in enumerate(source["paths"])]
    provider = source.get("provider")
    if provider != StooqProvider.name:
        raise Invalid(f"execution input needs source.paths or source.provider ('stooq'), got {provider!r}")
    _provider_range(source)
    symbols = source.get("symbols")
    if symbols is None:
        symbols = list(conn.execute(text("SELECT symbol FROM securities WHERE is_active ORDER BY symbol")).scalars())
        if not symbols:
            raise Invalid("no securities to fetch: load constituents first (stockscreen ingest csv ...)")
    size = ingest_settings().ingest_batch_symbols
    return [{"id": f"s{i // size}", "symbols": symbols[i : i + size]} for i in range(0, len(symbols), size)]


def plan(state: dict[str, Any]) -> dict[str, Any]:
    """Register the run (refused if another is running) and split its source into batches."""
    run_id = _run_id(state)
    source = state.get("source") or {}
    settings = ingest_settings()
    with get_engine().begin() as conn:
        batches = _plan_batches(conn, source)
        abandoned = conn.execute(
            text(
                "UPDATE ingest_runs SET status = 'failed', finished_at = now(), "
                "error = 'abandoned: still running after ' || CAST(:m AS text) || ' minutes' "
                "WHERE status = 'running' AND run_key = :k AND id <> :r "
                "AND started_at < now() - make_interval(mins => :m) RETURNING id"
            ),
            {"k": RUN_KEY, "r": run_id, "m": settings.stale_run_minutes},
        ).all()
        for row in abandoned:
            logger.warning("abandoned ingest run marked failed", extra={"abandoned_run_id": str(row[0])})
    try:
        with get_engine().begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO ingest_runs (id, status, source, run_key) "
                    "VALUES (:r, 'running', CAST(:s AS jsonb), :k) "
                    "ON CONFLICT (id) DO UPDATE SET status = 'running', error = NULL, run_key = :k"
                ),
                {"r": run_id, "s": json.dumps(source), "k": RUN_KEY},
            )
    except IntegrityError as exc:
        with get_engine().connect() as conn:
            other = conn.execute(
                text("SELECT id, started_at FROM ingest_runs WHERE status = 'running' AND run_key = :k"),
                {"k": RUN_KEY},
            ).first()
        who = f"run {other[0]} (started {other[1]:%Y-%m-%d %H:%M:%S} UTC)" if other else "another run"
        raise Conflict(f"refused: ingest {who} is still running; try again when it has finished") from exc
    # This run now holds the one running slot, so whatever is staged belongs to finished runs:
    # empty the staging tables outright (nothing left over for the rules to read).
    with get_engine().begin() as conn:
        conn.execute(text("TRUNCATE raw_batches, raw_reference"))
    result = {"batches": batches, "batch_count": len(batches)}
    _merge_stats(run_id, "plan", {"batches": len(batches)})
    return result


# --- Fetch --------------------------------------------------------------------------------------


def _batch(state: dict[str, Any]) -> dict[str, Any]:
    batch = state.get("batch")
    if not isinstance(batch, dict) or not isinstance(batch.get("id"), str):
        raise Invalid("task input needs a batch with an id")
    return batch


class SymbolFailure(NamedTuple):
    symbol: str
    message: str
    transient: bool  # still failing after every attempt (timeouts, 5xx), not a permanent "no data"


def _fetch_symbols(
    provider: BarProvider, symbols: list[str], start: dt.date, end: dt.date, attempts: int
) -> tuple[list[BarRow], list[SymbolFailure]]:
    """Every symbol's bars; a failing symbol is retried (backoff, full jitter), then reported."""
    rows: list[BarRow] = []
    failures: list[SymbolFailure] = []
    for symbol in symbols:
        for attempt in range(1, attempts + 1):
            try:
                rows.extend(provider.daily_bars(symbol, start, end))
                break
            except ProviderUnavailable as exc:
                if attempt == attempts:
                    failures.append(SymbolFailure(symbol, f"{exc.message} (after {attempts} attempts)", True))
                else:
                    time.sleep(random.uniform(0, min(2.0, 0.1 * 2**attempt)))
            except ProviderError as exc:
                failures.append(SymbolFailure(symbol, exc.message, False))
                break
    return rows, failures


def fetch(state: dict[str, Any]) -> dict[str, Any]:
    """Stage one batch (a file, or a group of symbols from the online provider)."""
    run_id = _run_id(state)
    batch = _batch(state)
    source = state.get("source") or {}
    counts: dict[str, Any]
    if "path" in batch:
        with get_engine().begin() as conn:
            staging.clear_batch(conn, run_id, batch["id"])
            counts = staging.stage_file(conn, run_id, batch["id"], Path(batch["path"]))
    else:
        settings = ingest_settings()
        start, end = _provider_range(source)
        provider = StooqProvider(settings.stooq_base_url, settings.provider_timeout_seconds)
        symbols = [str(s) for s in batch.get("symbols") or []]
        rows, failures = _fetch_symbols(provider, symbols, start, end, settings.provider_attempts)
        if failures and len(failures) == len(symbols) and all(f.transient for f in failures):
            # the provider is down for the whole batch: let the state machine retry it later
            raise TransientError(f"{provider.name} unavailable for batch {batch['id']}: {failures[0].message}")
        with get_engine().begin() as conn:
            staging.clear_batch(conn, run_id, batch["id"])
            conn.execute(
                text(
                    "DELETE FROM quality_issues WHERE run_id = :r AND rule = 'provider_error' "
                    "AND symbol = ANY(CAST(:s AS text[]))"
                ),
                {"r": run_id, "s": symbols},
            )
            bars = staging.stage_rows(conn, run_id, batch["id"], rows)
            if failures:
                conn.execute(
                    text(
                        "INSERT INTO quality_issues (run_id, rule, severity, action, symbol, date, message) "
                        "VALUES (:r, 'provider_error', 'warning', 'skipped', :s, :d, :m)"
                    ),
                    [{"r": run_id, "s": sym, "d": end, "m": f"{provider.name}: {msg}"} for sym, msg, _ in failures],
                )
        counts = {"bars": bars, "symbols": len(symbols), "failed_symbols": len(failures)}
    _count("RowsFetched", int(counts.get("bars", 0)))
    _merge_stats(run_id, f"fetch.{batch['id']}", counts)
    return counts


# --- Validate, Load ----------------------------------------------------------------------------


def validate(state: dict[str, Any]) -> dict[str, Any]:
    """Apply the quality rules; split the clean symbols into load batches (symbol ranges)."""
    run_id = _run_id(state)
    with get_engine().begin() as conn:
        conn.execute(
            text("DELETE FROM quality_issues WHERE run_id = :r AND rule = ANY(CAST(:rules AS text[]))"),
            {"r": run_id, "rules": sorted(quality.RULE_NAMES)},
        )
        conn.execute(text("DELETE FROM raw_batches WHERE run_id = :r AND stage = 'load'"), {"r": run_id})
        result = quality.run_rules(conn, run_id)
        batches = _stage_load_batches(conn, run_id, result.bars, result.rejected)
        provider = conn.execute(
            text("SELECT count(*) FROM quality_issues WHERE run_id = :r AND rule = 'provider_error'"), {"r": run_id}
        ).scalar_one()
    found = result.found
    if provider:
        found["provider_error"] = int(provider)
    quarantined = sum(n for rule, n in found.items() if rule in quality.QUARANTINING)
    _count("RowsQuarantined", quarantined)
    _merge_stats(run_id, "validate", found)
    return {"findings": found, "batches": batches}


def _stage_load_batches(
    conn: Connection, run_id: str, bars: TypedBars, rejected: npt.NDArray[np.int16]
) -> list[dict[str, Any]]:
    """Split the clean bars into load batches (symbol ranges) and stage each batch's bars by symbol and date.

    A backfill into empty partitions (at most ``ingest_bulk_load_rows`` bars) is one bulk batch
    instead: its Load fills the partitions whole (see :class:`load.BulkLoad`). A bulk batch is
    staged as the rows it leaves out of the Fetch batches (a :class:`Selection`), not as a copy.
    """
    clean = (rejected < 0) & (bars.symbol >= 0)
    counts = np.bincount(bars.symbol[clean], minlength=len(bars.symbols)).tolist()
    per_symbol = [(s, n) for s, n in zip(bars.symbols, counts, strict=True) if n]
    settings = ingest_settings()
    total = sum(n for _, n in per_symbol)
    batches: list[dict[str, Any]]
    if 0 < total <= settings.ingest_bulk_load_rows and load.bulk_partitions(conn, bars.day[clean]) is not None:
        batches = [{**b, "bulk": True} for b in load_batches(per_symbol, total)]
    else:
        batches = list(load_batches(per_symbol, settings.ingest_load_batch_rows))
    code = {s: i for i, s in enumerate(bars.symbols)}
    for batch in batches:
        in_range = (bars.symbol >= code[batch["lo"]]) & (bars.symbol <= code[batch["hi"]])
        quarantined = int(np.count_nonzero(in_range & ~clean))
        if batch.get("bulk"):
            excluded = np.flatnonzero(~(in_range & clean)).astype(np.int64)
            staging.stage_selection(conn, run_id, batch["id"], Selection(len(bars), excluded), quarantined=quarantined)
            continue
        rows = np.flatnonzero(in_range & clean)
        rows = rows[np.lexsort((bars.day[rows], bars.symbol[rows]))]
        staging.stage_columns(conn, run_id, "load", batch["id"], take(bars, rows), quarantined=quarantined)
    return batches


def load_batches(per_symbol: list[tuple[str, int]], max_rows: int) -> list[dict[str, str]]:
    """Consecutive symbol ranges of about ``max_rows`` clean bars each (a symbol is never split)."""
    batches: list[dict[str, str]] = []
    lo: str | None = None
    hi = ""
    rows = 0
    for symbol, n in per_symbol:
        if lo is not None and rows + n > max_rows:
            batches.append({"id": f"b{len(batches)}", "lo": lo, "hi": hi})
            lo, rows = None, 0
        if lo is None:
            lo = symbol
        hi = symbol
        rows += n
    if lo is not None:
        batches.append({"id": f"b{len(batches)}", "lo": lo, "hi": hi})
    return batches


def load_reference(state: dict[str, Any]) -> dict[str, Any]:
    """Upsert the security master and fundamentals (before any bars, which reference them)."""
    run_id = _run_id(state)
    with get_engine().begin() as conn:
        ref = load.load_reference(conn, run_id)
        conn.execute(text("DELETE FROM raw_reference WHERE run_id = :r"), {"r": run_id})
    _merge_stats(run_id, "reference", ref)
    return ref


def load_batch(state: dict[str, Any]) -> dict[str, Any]:
    """Upsert one batch of clean bars (a symbol range) and its rollups in ONE transaction."""
    run_id = _run_id(state)
    batch = _batch(state)
    bulk = load.BulkLoad() if batch.get("bulk") else None
    try:
        with get_engine().begin() as conn:
            # staged rows are dropped by Report/RecordFailure
            bars = load.load_bars(conn, run_id, str(batch["id"]), bulk)
    finally:
        if bulk is not None:
            bulk.cleanup()
    changed = bars.pop("changed_symbols")
    result = {**bars, "changed_symbols": len(changed)}
    _count("RowsLoaded", int(bars["inserted"]) + int(bars["updated"]))
    _merge_stats(run_id, f"load.{batch['id']}", result)
    # the symbol list goes to the state (for aggregate and publish), not the logs
    return {**result, "symbols": changed}


def _changed_symbols(state: dict[str, Any]) -> list[str] | None:
    loads = state.get("load")
    if not isinstance(loads, list):
        return None
    return sorted({s for part in loads for s in (part or {}).get("symbols") or []})


def _load_totals(state: dict[str, Any]) -> dict[str, int]:
    totals = {"inserted": 0, "updated": 0, "unchanged": 0, "rollup_rows": 0}
    for part in state.get("load") or []:
        for k in totals:
            totals[k] += int((part or {}).get(k) or 0)
    return totals


def aggregate(state: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the snapshot when bars changed (or ``force``). ``defer_snapshot`` skips it: a run of a
    multi-run backfill other than the last, whose last run is forced to rebuild once for all."""
    run_id = _run_id(state)
    changed = _changed_symbols(state)
    with get_engine().begin() as conn:
        current = conn.execute(text("SELECT version FROM snapshot_versions WHERE is_current")).scalar()
        if state.get("defer_snapshot") and not state.get("force"):
            result: dict[str, Any] = {"version": current, "rows": 0, "rebuilt": False, "deferred": True}
        elif changed == [] and current is not None and not state.get("force"):
            result = {"version": int(current), "rows": 0, "rebuilt": False}
        else:
            result = {**snapshot.build_snapshot(conn, run_id), "rebuilt": True}
    _merge_stats(run_id, "aggregate", result)
    return result


def _snapshot_quotes(version: int) -> list[Quote]:
    """The latest close of every security in a snapshot, as quotes for the live feed."""
    with get_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.symbol, r.close, r.change_pct, r.volume, r.as_of FROM snapshot_rows r "
                "JOIN securities s ON s.id = r.security_id WHERE r.version = :v AND r.close IS NOT NULL"
            ),
            {"v": version},
        ).all()
    return [
        Quote(
            symbol=r[0],
            price=r[1],
            change_pct=r[2],
            volume=int(r[3]) if r[3] is not None else None,
            ts=dt.datetime.combine(r[4], dt.time(21, 0), tzinfo=dt.UTC),
        )
        for r in rows
    ]


def publish(state: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(state)
    version = (state.get("aggregate") or {}).get("version")
    symbols = _changed_symbols(state) or []
    detail = {"run_id": run_id, "snapshot_version": version, "symbols": symbols}
    response = aws_client("events").put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": EVENT_DETAIL_TYPE,
                "Detail": json.dumps(detail),
                "EventBusName": event_settings().event_bus_name,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge rejected the event: {response['Entries']}")
    if version is not None:
        try:
            put_quotes(_snapshot_quotes(int(version)))
            get_redis().set(SNAPSHOT_VERSION_KEY, version)
        except redis.RedisError as exc:  # caches are best effort; the snapshot itself is already current
            logger.warning("redis unavailable while publishing", extra={"error": str(exc)})
    logger.info("published", extra={"run_id": run_id, "snapshot_version": version, "symbols": len(symbols)})
    return {"event_id": response["Entries"][0].get("EventId"), "symbols": len(symbols)}


def report(state: dict[str, Any]) -> dict[str, Any]:
    """The run's final report: totals, findings per rule; the run is marked succeeded."""
    run_id = _run_id(state)
    totals = _load_totals(state)
    findings = (state.get("validate") or {}).get("findings") or {}
    fetched = sum(int((part or {}).get("bars") or 0) for part in state.get("fetch") or [])
    with get_engine().begin() as conn:
        quarantined = conn.execute(
            text("SELECT count(*) FROM quality_issues WHERE run_id = :r AND action = 'quarantined'"), {"r": run_id}
        ).scalar_one()
        skipped = list(
            conn.execute(
                text("SELECT symbol FROM quality_issues WHERE run_id = :r AND rule = 'provider_error' ORDER BY 1"),
                {"r": run_id},
            ).scalars()
        )
        # quarantined rows live on in quality_issues (rule + raw row); the staging area is emptied
        conn.execute(text("DELETE FROM raw_batches WHERE run_id = :r"), {"r": run_id})
        summary = {
            "run_id": run_id,
            "status": "succeeded",
            "fetched": fetched,
            **totals,
            "quarantined": int(quarantined),
            "changed": totals["inserted"] + totals["updated"] > 0,
            "changed_symbols": len(_changed_symbols(state) or []),
            "skipped_symbols": skipped,
            "snapshot_version": (state.get("aggregate") or {}).get("version"),
            "findings": findings,
        }
        conn.execute(
            text(
                "UPDATE ingest_runs SET status = 'succeeded', finished_at = now(), "
                "stats = stats || jsonb_build_object('report', CAST(:s AS jsonb)) WHERE id = :r"
            ),
            {"r": run_id, "s": json.dumps(summary)},
        )
    logger.info("ingest run succeeded", extra={k: v for k, v in summary.items() if k != "skipped_symbols"})
    return summary


def record_failure(state: dict[str, Any]) -> dict[str, Any]:
    """Mark the run failed with the error the state machine caught, and tell the admins."""
    run_id = _run_id(state)
    error = state.get("error") or {}
    cause = error.get("Cause") or error.get("Error") or "unknown error"
    try:
        cause_obj = json.loads(cause)
        message = f"{cause_obj.get('errorType', 'Error')}: {cause_obj.get('errorMessage', cause)}"
    except (TypeError, ValueError):
        message = str(cause)
    recorded: str | None = None
    try:
        with get_engine().begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO ingest_runs (id, status, source, error, finished_at) VALUES "
                    "(:r, 'failed', CAST(:s AS jsonb), :e, now()) ON CONFLICT (id) DO UPDATE SET status = 'failed', "
                    "error = :e, finished_at = now()"
                ),
                {"r": run_id, "s": json.dumps(state.get("source") or {}), "e": message},
            )
            conn.execute(text("DELETE FROM raw_batches WHERE run_id = :r"), {"r": run_id})
            conn.execute(text("DELETE FROM raw_reference WHERE run_id = :r"), {"r": run_id})
    except (OperationalError, InterfaceError) as exc:
        # the admins hear of the failure even when the database is what failed
        recorded = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()[0]
    logger.error("ingest run failed", extra={"run_id": run_id, "error": message})
    topic = event_settings().admin_topic_arn
    note = "" if recorded is None else f" (and the run could not be recorded: database unavailable: {recorded})"
    aws_client("sns").publish(
        TopicArn=topic,
        Subject="Stockscreen ingest failed",
        Message=f"Ingest run {run_id} failed at {dt.datetime.now(dt.UTC).isoformat()}: {message}{note}",
    )
    if recorded is not None:
        raise TransientError(f"database unavailable: {recorded}")  # retried: the run must end up recorded
    return {"status": "failed", "error": message}


# --- the tasks as the state machine runs them: observed, database errors made transient, and
# idempotent on their run (and batch), so a redelivered invocation never loads twice.
plan_task = idempotent_task("run_id")(_observed("Plan")(plan))
fetch_task = idempotent_task("[run_id, batch.id]")(_observed("Fetch")(fetch))
validate_task = idempotent_task("run_id")(_observed("Validate")(validate))
load_reference_task = idempotent_task("run_id")(_observed("LoadReference")(load_reference))
load_task = idempotent_task("[run_id, batch.id]")(_observed("Load")(load_batch))
aggregate_task = idempotent_task("run_id")(_observed("Aggregate")(aggregate))
publish_task = idempotent_task("run_id")(_observed("Publish")(publish))
report_task = idempotent_task("run_id")(_observed("Report")(report))
#: not idempotent on purpose: recording a failure twice is harmless, skipping it is not
record_failure_task = _observed("RecordFailure")(record_failure)


def run_report(run_id: str) -> dict[str, Any]:
    """The run's record and its quality findings grouped by rule."""
    run_id = _run_id({"run_id": run_id})
    with get_engine().connect() as conn:
        run = conn.execute(
            text("SELECT id, status, started_at, finished_at, stats, error FROM ingest_runs WHERE id = :r"),
            {"r": run_id},
        ).first()
        if run is None:
            from stockscreen.core.errors import NotFound

            raise NotFound(f"no ingest run {run_id}")
        rules = conn.execute(
            text(
                "SELECT rule, severity, action, count(*) FROM quality_issues WHERE run_id = :r "
                "GROUP BY rule, severity, action ORDER BY rule"
            ),
            {"r": run_id},
        ).all()
    return {
        "run_id": str(run.id),
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "stats": run.stats,
        "error": run.error,
        "quality": [{"rule": r[0], "severity": r[1], "action": r[2], "count": int(r[3])} for r in rules],
    }
