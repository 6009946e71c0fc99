"""The ingest tasks, one function per state of the state machine.

Each task takes the execution's state (a JSON object) and returns its own result, which
the state machine stores under the task's name (``$.fetch``, ``$.validate``...). Tasks
pass references (the run id), never rows, so payloads stay small.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import text

from stockscreen.clients import aws_client, get_redis
from stockscreen.config import event_settings
from stockscreen.db.engine import get_engine
from stockscreen.errors import Conflict, Invalid
from stockscreen.observability import logger
from stockscreen.pipeline import load, quality, snapshot, staging
from stockscreen.realtime import Quote, put_quotes

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


def fetch(state: dict[str, Any]) -> dict[str, Any]:
    """Register the run and stage the source files (all or nothing)."""
    run_id = _run_id(state)
    source = state.get("source") or {}
    paths = [Path(p) for p in source.get("paths", [])]
    if not paths:
        raise Invalid("execution input needs source.paths (files to ingest)")
    with get_engine().begin() as conn:
        running = conn.execute(
            text(
                "SELECT id FROM ingest_runs WHERE status = 'running' AND id <> :r "
                "AND started_at > now() - interval '1 hour' FOR UPDATE"
            ),
            {"r": run_id},
        ).first()
        if running:
            raise Conflict(f"ingest run {running[0]} is still running")
        conn.execute(
            text(
                "INSERT INTO ingest_runs (id, status, source) VALUES (:r, 'running', CAST(:s AS jsonb)) "
                "ON CONFLICT (id) DO UPDATE SET status = 'running', error = NULL"
            ),
            {"r": run_id, "s": json.dumps(source)},
        )
    with get_engine().begin() as conn:
        counts = staging.stage_files(conn, run_id, paths)
    logger.info("fetched", extra={"run_id": run_id, **counts})
    _merge_stats(run_id, "fetch", counts)
    return counts


def validate(state: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(state)
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM quality_issues WHERE run_id = :r"), {"r": run_id})
        conn.execute(text("UPDATE raw_bars SET rejected_rule = NULL WHERE run_id = :r"), {"r": run_id})
        found = quality.run_rules(conn, run_id)
    logger.info("validated", extra={"run_id": run_id, "findings": found})
    _merge_stats(run_id, "validate", found)
    return {"findings": found}


def load_task(state: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(state)
    with get_engine().begin() as conn:
        ref = load.load_reference(conn, run_id)
        bars = load.load_bars(conn, run_id)
        conn.execute(text("DELETE FROM raw_bars WHERE run_id = :r"), {"r": run_id})
        conn.execute(text("DELETE FROM raw_reference WHERE run_id = :r"), {"r": run_id})
    changed = bars.pop("changed_symbols")
    result = {**ref, **bars, "changed_symbols": len(changed)}
    logger.info("loaded", extra={"run_id": run_id, **result})
    _merge_stats(run_id, "load", result)
    # the symbol list goes to the state (for publish), not the logs
    return {**result, "symbols": changed}


def aggregate(state: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(state)
    changed = (state.get("load") or {}).get("symbols")
    with get_engine().begin() as conn:
        current = conn.execute(text("SELECT version FROM snapshot_versions WHERE is_current")).scalar()
        if changed == [] and current is not None and not state.get("force"):
            result: dict[str, Any] = {"version": int(current), "rows": 0, "rebuilt": False}
        else:
            result = {**snapshot.build_snapshot(conn, run_id), "rebuilt": True}
    logger.info("aggregated", extra={"run_id": run_id, **result})
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
    symbols = (state.get("load") or {}).get("symbols") or []
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
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE ingest_runs SET status = 'succeeded', finished_at = now() WHERE id = :r"), {"r": run_id}
        )
    logger.info("published", extra={"run_id": run_id, "snapshot_version": version, "symbols": len(symbols)})
    return {"event_id": response["Entries"][0].get("EventId"), "symbols": len(symbols)}


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
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ingest_runs (id, status, source, error, finished_at) VALUES "
                "(:r, 'failed', CAST(:s AS jsonb), :e, now()) ON CONFLICT (id) DO UPDATE SET status = 'failed', "
                "error = :e, finished_at = now()"
            ),
            {"r": run_id, "s": json.dumps(state.get("source") or {}), "e": message},
        )
        conn.execute(text("DELETE FROM raw_bars WHERE run_id = :r"), {"r": run_id})
        conn.execute(text("DELETE FROM raw_reference WHERE run_id = :r"), {"r": run_id})
    logger.error("ingest run failed", extra={"run_id": run_id, "error": message})
    topic = event_settings().admin_topic_arn
    aws_client("sns").publish(
        TopicArn=topic,
        Subject="Stockscreen ingest failed",
        Message=f"Ingest run {run_id} failed at {dt.datetime.now(dt.UTC).isoformat()}: {message}",
    )
    return {"status": "failed", "error": message}


def run_report(run_id: str) -> dict[str, Any]:
    """The run's record and its quality findings grouped by rule."""
    with get_engine().connect() as conn:
        run = conn.execute(
            text("SELECT id, status, started_at, finished_at, stats, error FROM ingest_runs WHERE id = :r"),
            {"r": run_id},
        ).first()
        if run is None:
            from stockscreen.errors import NotFound

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
