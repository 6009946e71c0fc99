"""The ingest tasks, one method of :class:`IngestService` per state of the state machine.

Each task takes the execution's state (a JSON object) and returns its own result, which
the state machine stores under the task's result path (``$.plan``, ``$.validate``...). Tasks
pass references (the run id, batch descriptors), never rows, so payloads stay small.

The service is logic only: its SQL is in :mod:`repository` (and the bulk data access of
:mod:`load`, :mod:`staging`, :mod:`quality` and :mod:`snapshot`, on the connection of the task's
transaction), its EventBridge, SNS and Redis calls in :mod:`adapters`; both are given to its
constructor. :func:`default_service` builds the one of the process; the module-level functions
(``plan``, ``fetch``... and the ``*_task`` the handlers call) run it.

Sources (``source`` in the execution input):
- ``{"paths": [...]}``: files (bars, listings, fundamentals, in any format of
  :mod:`stockscreen.market.formats`; zip archives and folders of them); one Fetch batch per path.
  Optional: ``"format"`` (force one format), ``"map"`` ({header: field}), ``"known_only"`` (bars of
  symbols not in the security master are quarantined instead of adding the symbols).
- ``{"s3": {"bucket": ..., "key": ...}}``: one object of the raw bucket (a file dropped under
  ``incoming/`` or uploaded by an admin: the EventBridge rule's input, see :mod:`definition`).
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
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import psycopg
from aws_lambda_powertools.metrics import MetricUnit
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from stockscreen.core import correlation
from stockscreen.core.clients import aws_client, get_redis
from stockscreen.core.config import event_settings, ingest_settings
from stockscreen.core.errors import Conflict, DataFileError, Invalid, NotFound, TransientError
from stockscreen.core.observability import logger, metrics, subsegment
from stockscreen.db.engine import get_engine
from stockscreen.market.calendar import previous_trading_day
from stockscreen.market.providers import BarProvider, BarRow, ProviderError, ProviderUnavailable, StooqProvider
from stockscreen.pipeline import load, quality, snapshot, staging
from stockscreen.pipeline.adapters import (
    Admins,
    Artifacts,
    EventBridgeEvents,
    Events,
    LiveCache,
    RawObjects,
    RedisLiveCache,
    S3Artifacts,
    S3RawObjects,
    SnsAdmins,
)
from stockscreen.pipeline.columns import Selection, TypedBars, take
from stockscreen.pipeline.idempotency import idempotent_task
from stockscreen.pipeline.reference import parse_fundamentals, parse_security
from stockscreen.pipeline.repository import IngestRepository
from stockscreen.realtime import Quote

TaskFn = Callable[[dict[str, Any]], dict[str, Any]]

#: At most one running ingest run per key (a partial unique index on ingest_runs): every run
#: writes market data, so they share one key and a second concurrent run is refused.
RUN_KEY = "market-data"


def _run_id(state: dict[str, Any]) -> str:
    run_id = state.get("run_id")
    if not isinstance(run_id, str):
        raise Invalid("execution input needs a run_id")
    try:
        return str(uuid.UUID(run_id))
    except ValueError as exc:
        raise Invalid(f"run_id is not a UUID: {run_id!r}") from exc


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
            with subsegment(task, task=task, run_id=state.get("run_id"), correlation_id=correlation.current()):
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


# --- the state's parts ---------------------------------------------------------------------------


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


def _batch(state: dict[str, Any]) -> dict[str, Any]:
    batch = state.get("batch")
    if not isinstance(batch, dict) or not isinstance(batch.get("id"), str):
        raise Invalid("task input needs a batch with an id")
    return batch


def s3_object(source: dict[str, Any]) -> dict[str, str]:
    """``source.s3`` checked: ``{"bucket", "key"}`` of one object of the raw bucket."""
    obj = source.get("s3")
    if not isinstance(obj, dict) or not isinstance(obj.get("bucket"), str) or not isinstance(obj.get("key"), str):
        raise Invalid("source.s3 needs a bucket and a key (strings)")
    if not obj["bucket"] or not obj["key"] or obj["key"].endswith("/"):
        raise Invalid(f"source.s3 names no object: {obj!r}")
    return {"bucket": obj["bucket"], "key": obj["key"]}


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


def _failure_message(error: dict[str, Any]) -> str:
    """The error the state machine caught (``{"Error", "Cause"}``), as one line."""
    cause = error.get("Cause") or error.get("Error") or "unknown error"
    try:
        cause_obj = json.loads(cause)
        return f"{cause_obj.get('errorType', 'Error')}: {cause_obj.get('errorMessage', cause)}"
    except (TypeError, ValueError):
        return str(cause)


def _file_options(source: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """The source's forced format and column mapping (``--format``, ``--map``)."""
    fmt = source.get("format")
    mapping = source.get("map") or {}
    if fmt is not None and not isinstance(fmt, str):
        raise Invalid(f"source.format must be a format name, got {fmt!r}")
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise Invalid("source.map must map header names to field names")
    return fmt, mapping


def outcome_note(summary: dict[str, Any], reference: dict[str, int]) -> str:
    """One line saying what the run did, and why when it loaded no bars."""
    inserted, updated = int(summary.get("inserted") or 0), int(summary.get("updated") or 0)
    fetched, quarantined = int(summary.get("fetched") or 0), int(summary.get("quarantined") or 0)
    unchanged = int(summary.get("unchanged") or 0)
    refs = ", ".join(f"{n} {k}" for k, n in sorted(reference.items()) if n)
    if inserted or updated:
        return f"{inserted} bars inserted, {updated} updated, {quarantined} quarantined"
    if fetched == 0:
        return (
            f"no bars in the input; reference data loaded: {refs}" if refs else "nothing loaded: the input held no rows"
        )
    if unchanged and unchanged + quarantined >= fetched:
        return f"nothing changed: all {unchanged} clean bars were already loaded ({quarantined} quarantined)"
    findings = summary.get("findings") or {}
    top = sorted(((n, r) for r, n in findings.items() if r in quality.QUARANTINING), reverse=True)[:3]
    why = ", ".join(f"{r} {n}" for n, r in top)
    return f"nothing loaded: all {fetched} bars were quarantined ({why}); see stockscreen quality-report"


class IngestService:
    """The ingest tasks over a repository (SQL) and adapters (events, admins, live cache)."""

    def __init__(
        self,
        repo: IngestRepository,
        events: Events,
        admins: Admins,
        live: LiveCache,
        objects: RawObjects | None = None,
        artifacts: Artifacts | None = None,
    ) -> None:
        self.repo = repo
        self.events = events
        self.admins = admins
        self.live = live
        self.objects: RawObjects = objects or S3RawObjects(lambda: aws_client("s3"))
        self.artifacts = artifacts

    # --- Plan -----------------------------------------------------------------------------------

    def _plan_batches(self, conn: Connection, source: dict[str, Any]) -> list[dict[str, Any]]:
        if "s3" in source:
            return [{"id": "f0", "s3": s3_object(source)}]
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
            symbols = self.repo.active_symbols(conn)
            if not symbols:
                raise Invalid("no securities to fetch: load constituents first (stockscreen ingest csv ...)")
        size = ingest_settings().ingest_batch_symbols
        return [{"id": f"s{i // size}", "symbols": symbols[i : i + size]} for i in range(0, len(symbols), size)]

    def _correlation_id(self, state: dict[str, Any], source: dict[str, Any]) -> str:
        """The run's correlation id: an upload's (the API request that presigned it, from the object's
        metadata), else the execution input's (the S3 event, the schedule tick, the caller), else the one
        bound to this invocation; later tasks read it from ``$.plan.correlation_id``."""
        if "s3" in source:
            obj = s3_object(source)
            uploaded = correlation.valid(self.objects.correlation_id(obj["bucket"], obj["key"]))
            if uploaded is not None:
                edge = state.get(correlation.KEY)
                cid = correlation.adopt(uploaded)
                if uploaded != edge:  # (logged under both: a search for either finds the link)
                    logger.info("run continues its upload's correlation id", extra={"s3_event_correlation_id": edge})
                return cid
        return correlation.valid(state.get(correlation.KEY)) or correlation.current() or correlation.new_id()

    def plan(self, state: dict[str, Any]) -> dict[str, Any]:
        """Register the run (refused if another is running) and split its source into batches."""
        run_id = _run_id(state)
        source = state.get("source") or {}
        cid = self._correlation_id(state, source)
        settings = ingest_settings()
        with self.repo.transaction() as conn:
            batches = self._plan_batches(conn, source)
            for abandoned in self.repo.abandon_stale_runs(conn, RUN_KEY, run_id, settings.stale_run_minutes):
                logger.warning("abandoned ingest run marked failed", extra={"abandoned_run_id": abandoned})
        try:
            self.repo.start_run(run_id, source, RUN_KEY)
        except IntegrityError as exc:
            other = self.repo.running_run(RUN_KEY)
            who = f"run {other[0]} (started {other[1]:%Y-%m-%d %H:%M:%S} UTC)" if other else "another run"
            raise Conflict(f"refused: ingest {who} is still running; try again when it has finished") from exc
        # This run now holds the one running slot, so whatever is staged belongs to finished runs:
        # empty the staging tables outright (nothing left over for the rules to read).
        self.repo.truncate_staging()
        result = {"batches": batches, "batch_count": len(batches), correlation.KEY: cid}
        self.repo.merge_stats(run_id, "plan", {"batches": len(batches)})
        return result

    # --- Fetch ----------------------------------------------------------------------------------

    def fetch(self, state: dict[str, Any]) -> dict[str, Any]:
        """Stage one batch (a file, or a group of symbols from the online provider)."""
        run_id = _run_id(state)
        batch = _batch(state)
        source = state.get("source") or {}
        counts: dict[str, Any]
        fmt, mapping = _file_options(source)
        if "s3" in batch:
            bucket, key = s3_object({"s3": batch["s3"]}).values()
            with tempfile.TemporaryDirectory(prefix="stockscreen-") as tmp:
                # the file keeps its name: the reader detects its kind (and a symbol) from it
                path = Path(tmp) / (PurePosixPath(key).name or "object")
                self.objects.download(bucket, key, path)
                with self.repo.transaction() as conn:
                    staging.clear_batch(conn, run_id, batch["id"])
                    counts = staging.stage_file(conn, run_id, batch["id"], path, fmt, mapping)
        elif "path" in batch:
            with self.repo.transaction() as conn:
                staging.clear_batch(conn, run_id, batch["id"])
                counts = staging.stage_file(conn, run_id, batch["id"], Path(batch["path"]), fmt, mapping)
        else:
            settings = ingest_settings()
            start, end = _provider_range(source)
            provider = StooqProvider(settings.stooq_base_url, settings.provider_timeout_seconds)
            symbols = [str(s) for s in batch.get("symbols") or []]
            rows, failures = _fetch_symbols(provider, symbols, start, end, settings.provider_attempts)
            if failures and len(failures) == len(symbols) and all(f.transient for f in failures):
                # the provider is down for the whole batch: let the state machine retry it later
                raise TransientError(f"{provider.name} unavailable for batch {batch['id']}: {failures[0].message}")
            with self.repo.transaction() as conn:
                staging.clear_batch(conn, run_id, batch["id"])
                self.repo.clear_provider_errors(conn, run_id, symbols)
                bars = staging.stage_rows(conn, run_id, batch["id"], rows)
                if failures:
                    self.repo.add_provider_errors(
                        conn, run_id, end, [(sym, f"{provider.name}: {msg}") for sym, msg, _ in failures]
                    )
            counts = {"bars": bars, "symbols": len(symbols), "failed_symbols": len(failures)}
        _count("RowsFetched", int(counts.get("bars", 0)))
        self.repo.merge_stats(run_id, f"fetch.{batch['id']}", counts)
        return counts

    # --- Validate, Load -------------------------------------------------------------------------

    def validate(self, state: dict[str, Any]) -> dict[str, Any]:
        """Apply the quality rules; split the clean symbols into load batches (symbol ranges)."""
        run_id = _run_id(state)
        source = state.get("source") or {}
        # bars files given explicitly add their new symbols; a provider run fetches known ones only
        add_new = bool(source.get("paths") or source.get("s3")) and not source.get("known_only")
        with self.repo.transaction() as conn:
            self.repo.clear_findings(conn, run_id, sorted(quality.RULE_NAMES))
            self.repo.drop_load_batches(conn, run_id)
            result = quality.run_rules(conn, run_id, add_new)
            if result.new_symbols:  # (name unknown: the symbol, until a listing gives it)
                self.repo.add_securities(conn, [(s, s, None) for s in result.new_symbols])
            batches = self._stage_load_batches(conn, run_id, result.bars, result.rejected)
            provider = self.repo.count_provider_errors(conn, run_id)
        found = result.found
        if provider:
            found["provider_error"] = provider
        quarantined = sum(n for rule, n in found.items() if rule in quality.QUARANTINING)
        _count("RowsQuarantined", quarantined)
        self.repo.merge_stats(run_id, "validate", found)
        return {"findings": found, "batches": batches}

    def _stage_load_batches(
        self, conn: Connection, run_id: str, bars: TypedBars, rejected: npt.NDArray[np.int16]
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
                staging.stage_selection(
                    conn, run_id, batch["id"], Selection(len(bars), excluded), quarantined=quarantined
                )
                continue
            rows = np.flatnonzero(in_range & clean)
            rows = rows[np.lexsort((bars.day[rows], bars.symbol[rows]))]
            staging.stage_columns(conn, run_id, "load", batch["id"], take(bars, rows), quarantined=quarantined)
        return batches

    def load_reference(self, state: dict[str, Any]) -> dict[str, Any]:
        """Upsert the security master and fundamentals (before any bars, which reference them).

        The staged rows are parsed (:mod:`reference`), the fundamentals checked and corrected by
        their rules (:func:`quality.check_fundamentals`), and all of it upserted, in one transaction.
        """
        run_id = _run_id(state)
        with self.repo.transaction() as conn:
            staged, row_issues = quality.check_reference_rows(self.repo.staged_reference(conn, run_id))
            self.repo.add_reference_issues(conn, run_id, row_issues)
            securities = [parse_security(s.row) for s in staged if s.kind == "constituents"]
            self.repo.upsert_securities(conn, securities)
            today = dt.date.today()
            fundamentals = [parse_fundamentals(s, today) for s in staged if s.kind == "fundamentals"]
            if fundamentals:
                # a symbol only known from the fundamentals file still gets a security row
                self.repo.add_securities(conn, [(f.symbol, f.name, f.sector) for f in fundamentals])
                issues = quality.check_fundamentals(fundamentals)
                self.repo.add_reference_issues(conn, run_id, issues)
                self.repo.upsert_fundamentals(conn, fundamentals)
            self.repo.drop_reference(conn, run_id)
        ref = {"securities": len(securities), "fundamentals": len(fundamentals)}
        self.repo.merge_stats(run_id, "reference", ref)
        return ref

    def load_batch(self, state: dict[str, Any]) -> dict[str, Any]:
        """Upsert one batch of clean bars (a symbol range) and its rollups in ONE transaction."""
        run_id = _run_id(state)
        batch = _batch(state)
        bulk = load.BulkLoad() if batch.get("bulk") else None
        try:
            with self.repo.transaction() as conn:
                # staged rows are dropped by Report/RecordFailure
                bars = load.load_bars(conn, run_id, str(batch["id"]), bulk)
        finally:
            if bulk is not None:
                bulk.cleanup()
        changed = bars.pop("changed_symbols")
        result = {**bars, "changed_symbols": len(changed)}
        _count("RowsLoaded", int(bars["inserted"]) + int(bars["updated"]))
        self.repo.merge_stats(run_id, f"load.{batch['id']}", result)
        # the symbol list goes to the state (for aggregate and publish), not the logs
        return {**result, "symbols": changed}

    # --- Aggregate, Publish, Report -------------------------------------------------------------

    def aggregate(self, state: dict[str, Any]) -> dict[str, Any]:
        """Rebuild the snapshot when bars changed (or ``force``). ``defer_snapshot`` skips it: a run of a
        multi-run backfill other than the last, whose last run is forced to rebuild once for all."""
        run_id = _run_id(state)
        changed = _changed_symbols(state)
        with self.repo.transaction() as conn:
            current = self.repo.current_snapshot_version(conn)
            if state.get("defer_snapshot") and not state.get("force"):
                result: dict[str, Any] = {"version": current, "rows": 0, "rebuilt": False, "deferred": True}
            elif changed == [] and current is not None and not state.get("force"):
                result = {"version": current, "rows": 0, "rebuilt": False}
            else:
                result = {**snapshot.build_snapshot(conn, run_id), "rebuilt": True}
        if result.get("rebuilt") and result.get("version") is not None and self.artifacts is not None:
            # after the commit: the artifact is of a published version (the API falls back to the
            # database for a version without one)
            # appended to the previous version's artifact when no security's stored history was revised
            bars = result.get("bars") if result.get("revised") == 0 and result.get("incremental") else None
            result["artifact"] = self.artifacts.publish(int(result["version"]), bars=bars)
        self.repo.merge_stats(run_id, "aggregate", result)
        return result

    def _snapshot_quotes(self, version: int) -> list[Quote]:
        """The latest close of every security in a snapshot, as quotes for the live feed."""
        return [
            Quote(
                symbol=r.symbol,
                price=r.close,
                change_pct=r.change_pct,
                volume=int(r.volume) if r.volume is not None else None,
                ts=dt.datetime.combine(r.as_of, dt.time(21, 0), tzinfo=dt.UTC),
            )
            for r in self.repo.snapshot_quotes(version)
        ]

    def publish(self, state: dict[str, Any]) -> dict[str, Any]:
        """Announce the run (``prices.updated``: its snapshot version and changed symbols), then make
        the snapshot's closes the live quotes and its version the current one in the cache."""
        run_id = _run_id(state)
        version = (state.get("aggregate") or {}).get("version")
        symbols = _changed_symbols(state) or []
        event_id = self.events.prices_updated(
            {
                "run_id": run_id,
                "snapshot_version": version,
                "symbols": symbols,
                correlation.KEY: correlation.from_state(state),
            }
        )
        if version is not None:
            self.live.publish_snapshot(int(version), self._snapshot_quotes(int(version)))
        logger.info("published", extra={"run_id": run_id, "snapshot_version": version, "symbols": len(symbols)})
        return {"event_id": event_id, "symbols": len(symbols)}

    def report(self, state: dict[str, Any]) -> dict[str, Any]:
        """The run's final report: totals, findings per rule; the run is marked succeeded."""
        run_id = _run_id(state)
        totals = _load_totals(state)
        findings = (state.get("validate") or {}).get("findings") or {}
        fetched = sum(int((part or {}).get("bars") or 0) for part in state.get("fetch") or [])
        with self.repo.transaction() as conn:
            quarantined = self.repo.count_quarantined(conn, run_id)
            skipped = self.repo.skipped_symbols(conn, run_id)
            released = self.repo.mark_releases_loaded(conn, run_id)
            # quarantined rows live on in quality_issues (rule + raw row); the staging area is emptied
            self.repo.drop_staged(conn, run_id)
            summary = {
                "run_id": run_id,
                "status": "succeeded",
                "fetched": fetched,
                **totals,
                "quarantined": quarantined,
                "released_loaded": released,
                "changed": totals["inserted"] + totals["updated"] > 0,
                "changed_symbols": len(_changed_symbols(state) or []),
                "skipped_symbols": skipped,
                "snapshot_version": (state.get("aggregate") or {}).get("version"),
                "findings": findings,
            }
            reference = {k: int(v) for k, v in (state.get("reference") or {}).items() if isinstance(v, int)}
            summary["note"] = outcome_note(summary, reference)
            self.repo.finish_run(conn, run_id, summary)
        logger.info("ingest run succeeded", extra={k: v for k, v in summary.items() if k != "skipped_symbols"})
        return summary

    def record_failure(self, state: dict[str, Any]) -> dict[str, Any]:
        """Mark the run failed with the error the state machine caught, and tell the admins."""
        run_id = _run_id(state)
        message = _failure_message(state.get("error") or {})
        recorded: str | None = None
        try:
            self.repo.record_failure(run_id, state.get("source") or {}, message)
        except (OperationalError, InterfaceError) as exc:
            # the admins hear of the failure even when the database is what failed
            recorded = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()[0]
        logger.error("ingest run failed", extra={"run_id": run_id, "error": message})
        note = "" if recorded is None else f" (and the run could not be recorded: database unavailable: {recorded})"
        self.admins.notify(
            "Stockscreen ingest failed",
            f"Ingest run {run_id} failed at {dt.datetime.now(dt.UTC).isoformat()}: {message}{note}",
        )
        if recorded is not None:
            raise TransientError(f"database unavailable: {recorded}")  # retried: the run must end up recorded
        return {"status": "failed", "error": message}

    # --- the quality report ---------------------------------------------------------------------

    def run_report(self, run_id: str) -> dict[str, Any]:
        """The run's record and its quality findings grouped by rule."""
        run_id = _run_id({"run_id": run_id})
        run, rules = self.repo.run(run_id)
        if run is None:
            raise NotFound(f"no ingest run {run_id}")
        return {
            "run_id": str(run.id),
            "status": run.status,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "duration_seconds": (
                round((run.finished_at - run.started_at).total_seconds(), 3) if run.finished_at else None
            ),
            "stats": run.stats,
            "error": run.error,
            "quality": [{"rule": r.rule, "severity": r.severity, "action": r.action, "count": r.total} for r in rules],
        }


# --- the service of the process -------------------------------------------------------------------

_DEFAULT: tuple[tuple[Any, ...], IngestService] | None = None
_DEFAULT_LOCK = threading.Lock()


def _artifacts(engine: Any, bucket: str | None) -> Artifacts | None:
    """Snapshot artifacts when a bucket is configured (``SNAPSHOT_BUCKET``), else none."""
    return S3Artifacts(bucket, engine, lambda: aws_client("s3")) if bucket else None


def default_service() -> IngestService:
    """The process's service: its repository over the process's engine, its adapters over the
    process's clients. Built once; built again when the engine or the event settings are new
    (:func:`stockscreen.core.clients.reset_clients`, which tests call when settings change)."""
    global _DEFAULT
    settings = event_settings()
    from stockscreen.screening.artifact import artifact_settings

    key = (get_engine(), settings.event_bus_name, settings.admin_topic_arn, artifact_settings().snapshot_bucket)
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT[0][0] is not key[0] or _DEFAULT[0][1:] != key[1:]:
            built = IngestService(
                IngestRepository(key[0]),
                EventBridgeEvents(settings.event_bus_name, lambda: aws_client("events")),
                SnsAdmins(settings.admin_topic_arn, lambda: aws_client("sns")),
                RedisLiveCache(get_redis),
                artifacts=_artifacts(key[0], key[3]),
            )
            _DEFAULT = (key, built)
        return _DEFAULT[1]


# --- the tasks: the service of the process running each state (a state without a valid run id is
# refused before the service, and the settings it needs, are looked at) -----------------------------


def plan(state: dict[str, Any]) -> dict[str, Any]:
    _run_id(state)
    return default_service().plan(state)


def fetch(state: dict[str, Any]) -> dict[str, Any]:
    _run_id(state)
    return default_service().fetch(state)


def validate(state: dict[str, Any]) -> dict[str, Any]:
    _run_id(state)
    return default_service().validate(state)


def load_reference(state: dict[str, Any]) -> dict[str, Any]:
    _run_id(state)
    return default_service().load_reference(state)


def load_batch(state: dict[str, Any]) -> dict[str, Any]:
    _run_id(state)
    return default_service().load_batch(state)


def aggregate(state: dict[str, Any]) -> dict[str, Any]:
    _run_id(state)
    return default_service().aggregate(state)


def publish(state: dict[str, Any]) -> dict[str, Any]:
    _run_id(state)
    return default_service().publish(state)


def report(state: dict[str, Any]) -> dict[str, Any]:
    _run_id(state)
    return default_service().report(state)


def record_failure(state: dict[str, Any]) -> dict[str, Any]:
    _run_id(state)
    return default_service().record_failure(state)


def run_report(run_id: str) -> dict[str, Any]:
    """The run's record and its quality findings grouped by rule."""
    _run_id({"run_id": run_id})
    return default_service().run_report(run_id)


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
