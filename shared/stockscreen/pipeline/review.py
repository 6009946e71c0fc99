"""Data quality as admins review it: findings row by row, their trend, quarantined rows and their release,
runs with their progress, and uploads into the drop folder.

One implementation for every reader: the admin API and ``stockscreen quality-report`` both list
findings through :meth:`QualityReview.findings` (the SQL is in :mod:`repository`).

A release (:meth:`QualityReview.release`) records the reviewed row in ``quarantine_releases`` and the
audit log in one transaction. From then on the value rules (:data:`quality.RELEASABLE`) no longer
quarantine that symbol and date with those values (a re-run of the file loads it), and the next run
stages the row itself when no file brings it again (:func:`quality.stage_pending_releases`), so it is
loaded either way.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from stockscreen.core import audit, correlation
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Conflict, Invalid, NotFound
from stockscreen.core.paging import PageRequest
from stockscreen.pipeline.columns import PRICE_COLUMNS
from stockscreen.pipeline.definition import CORRELATION_METADATA, DROP_PREFIX, PIPELINE
from stockscreen.pipeline.quality import RELEASABLE
from stockscreen.pipeline.repository import FindingFilter as FindingFilter  # the readers' filter
from stockscreen.pipeline.repository import FindingRecord, IngestRepository, RunRecord

#: Findings' severities, most severe first.
SEVERITIES = ("error", "warning", "info")

#: File name endings an upload may have -> the content type its presigned POST requires.
UPLOAD_TYPES: dict[str, str] = {
    ".csv.gz": "application/gzip",
    ".txt.gz": "application/gzip",
    ".gz": "application/gzip",
    ".zip": "application/zip",
    ".csv": "text/csv",
    ".txt": "text/plain",
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def finding_public(f: FindingRecord) -> dict[str, Any]:
    """A finding as the API and the CLI show it."""
    raw = f.raw if isinstance(f.raw, dict) else None
    values = None
    if raw is not None and any(k in raw for k in PRICE_COLUMNS):
        values = {k: raw.get(k) for k in PRICE_COLUMNS}
    return {
        "id": f.id,
        "run_id": f.run_id,
        "rule": f.rule,
        "severity": f.severity,
        "action": f.action,
        "symbol": f.symbol,
        "date": f.date.isoformat() if f.date else None,
        "file": f.file,
        "line": f.line,
        "message": f.message,
        "raw": raw,
        "values": values,
        "releasable": f.action == "quarantined" and f.rule in RELEASABLE and f.released_at is None and _numbers(raw),
        "released_at": f.released_at.isoformat() if f.released_at else None,
        "released_by": f.released_by,
        "loaded_run_id": f.loaded_run_id,
    }


def _numbers(raw: dict[str, Any] | None) -> bool:
    if raw is None:
        return False
    return all(isinstance(raw.get(k), int | float) and math.isfinite(raw[k]) for k in PRICE_COLUMNS)


def run_duration(run: RunRecord, now: dt.datetime | None = None) -> float | None:
    """Seconds from start to finish (to now while it runs)."""
    end = run.finished_at or (now or dt.datetime.now(dt.UTC) if run.status == "running" else None)
    return None if end is None else round((end - run.started_at).total_seconds(), 3)


def run_progress(run: RunRecord) -> list[dict[str, str]]:
    """Each state of the pipeline: done, running, failed or pending, from what the tasks recorded."""
    stats = run.stats if isinstance(run.stats, dict) else {}
    done = {
        "Plan": "plan" in stats,
        "FetchBatches": any(k.startswith("fetch.") for k in stats),
        "Validate": "validate" in stats,
        "LoadReference": "reference" in stats,
        "LoadBatches": any(k.startswith("load.") for k in stats) or "aggregate" in stats,
        "Aggregate": "aggregate" in stats,
        "Publish": "report" in stats,
        "Report": "report" in stats,
    }
    if run.status == "succeeded":
        done = dict.fromkeys(done, True)
    out: list[dict[str, str]] = []
    current = True
    for state in PIPELINE:
        if done[state]:
            out.append({"state": state, "status": "done"})
        elif current:
            out.append({"state": state, "status": "failed" if run.status == "failed" else "running"})
            current = False
        else:
            out.append({"state": state, "status": "pending"})
    return out


def run_public(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": str(run.id),
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_seconds": run_duration(run),
        "stats": run.stats,
        "error": run.error,
        "progress": run_progress(run),
    }


class Uploads(Protocol):
    def presign(self, bucket: str, key: str, content_type: str, max_bytes: int, expires: int) -> dict[str, Any]:
        """A presigned POST (``url``, ``fields``) for exactly ``key``, of that type and at most ``max_bytes``."""
        ...


class S3Uploads:
    """Presigned POSTs by the S3 client. ``region``: on AWS, the form goes to the bucket's regional
    virtual-hosted endpoint (the origin the SPA's CSP allows; a POST policy's signature does not
    depend on the host); None keeps the client's URL (a local endpoint)."""

    def __init__(self, client: Callable[[], Any], region: str | None = None) -> None:
        self._client = client
        self._region = region

    def presign(self, bucket: str, key: str, content_type: str, max_bytes: int, expires: int) -> dict[str, Any]:
        fields = {"Content-Type": content_type}
        cid = correlation.current()
        if cid is not None:  # the request's id, which the run the upload starts continues under
            fields[f"x-amz-meta-{CORRELATION_METADATA}"] = cid
        post: dict[str, Any] = self._client().generate_presigned_post(
            Bucket=bucket,
            Key=key,
            Fields=fields,
            Conditions=[*({k: v} for k, v in fields.items()), ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires,
        )
        if self._region is not None:
            post["url"] = f"https://{bucket}.s3.{self._region}.amazonaws.com/"
        return post


class UploadTarget(NamedTuple):
    bucket: str
    max_bytes: int
    expires: int


def upload_key(upload_id: str, filename: str) -> tuple[str, str]:
    """(key, content type) of an upload: ``incoming/<upload id>/<file name>``; Invalid for a file we cannot load."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    lower = name.lower()
    ending = next((e for e in UPLOAD_TYPES if lower.endswith(e)), None)
    if ending is None or len(name) <= len(ending):
        raise Invalid(f"{filename!r}: upload a .csv, .txt, .csv.gz, .txt.gz, .gz or .zip file", {"field": "filename"})
    safe = _SAFE_NAME.sub("_", name)[-120:].lstrip(".") or f"upload{ending}"
    return f"{DROP_PREFIX}{upload_id}/{safe}", UPLOAD_TYPES[ending]


class QualityReview:
    """The admins' view of the pipeline's runs and findings (and the CLI's quality report)."""

    def __init__(
        self,
        repo: IngestRepository,
        uploads: Uploads | None = None,
        target: Callable[[], UploadTarget] | None = None,
    ) -> None:
        self.repo = repo
        self.uploads = uploads
        self.target = target

    @classmethod
    def default(cls) -> QualityReview:
        from stockscreen.core.clients import aws_client
        from stockscreen.core.config import core_settings, upload_settings
        from stockscreen.db.engine import get_engine

        def target() -> UploadTarget:
            s = upload_settings()
            return UploadTarget(s.raw_bucket_name, s.upload_max_bytes, s.upload_expires_seconds)

        core = core_settings()
        region = None if core.aws_endpoint_url else core.aws_region
        return cls(IngestRepository(get_engine()), S3Uploads(lambda: aws_client("s3"), region), target)

    # --- runs and findings ----------------------------------------------------------------------

    def latest_run_id(self) -> str | None:
        return self.repo.latest_run_id()

    def findings(self, which: FindingFilter, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        if which.severity is not None and which.severity not in SEVERITIES:
            raise Invalid(f"severity is one of {', '.join(SEVERITIES)}", {"field": "severity"})
        if which.run_id is not None:
            which = which._replace(run_id=_uuid(which.run_id, "run"))
        if which.symbol is not None:
            which = which._replace(symbol=which.symbol.strip().upper())
        rows, total = self.repo.findings(which, page.limit, page.offset)
        return [finding_public(f) for f in rows], total

    def all_findings(self, which: FindingFilter, chunk: int = 100) -> tuple[list[dict[str, Any]], int]:
        """Every finding that matches (page after page of the same query)."""
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            data, total = self.findings(which, PageRequest(limit=chunk, offset=offset))
            out.extend(data)
            offset += chunk
            if offset >= total or not data:
                return out, total

    def trend(self, days: int, today: dt.date | None = None) -> list[dict[str, Any]]:
        """Findings per rule per day over the last ``days`` days (for a chart)."""
        if not 1 <= days <= 366:
            raise Invalid("days is between 1 and 366", {"field": "days"})
        since = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=days - 1)
        return [
            {"day": r.day.isoformat(), "rule": r.rule, "severity": r.severity, "count": r.total}
            for r in self.repo.findings_per_rule_per_day(since)
        ]

    # --- releases -------------------------------------------------------------------------------

    def release(self, actor_id: str, issue_id: int, note: str | None, origin: Origin) -> dict[str, Any]:
        """Release one quarantined row after review (audited): the next run loads it, re-runs keep it loaded."""
        with self.repo.transaction() as conn:
            issue = self.repo.finding_for_update(conn, issue_id)
            if issue is None:
                raise NotFound(f"no finding {issue_id}")
            if issue.action != "quarantined":
                raise Invalid(f"finding {issue_id} is not a quarantined row ({issue.rule}: {issue.action})")
            raw = issue.raw if isinstance(issue.raw, dict) else None
            if issue.rule not in RELEASABLE or issue.symbol is None or issue.date is None or not _numbers(raw):
                raise Invalid(
                    f"a row quarantined by {issue.rule} cannot be released: fix the file and load it again",
                    {"rule": issue.rule},
                )
            assert raw is not None
            values = {k: float(raw[k]) for k in PRICE_COLUMNS}
            release_id = self.repo.add_release(conn, issue, values, actor_id, note)
            if release_id is None:
                raise Conflict(f"{issue.symbol} {issue.date} is already released")
            details = {
                "release_id": release_id,
                "run_id": issue.run_id,
                "rule": issue.rule,
                "symbol": issue.symbol,
                "date": issue.date.isoformat(),
                "values": values,
                "note": note,
            }
            audit.record(
                conn,
                "admin.quarantine_release",
                actor_id=actor_id,
                origin=origin,
                target=str(issue_id),
                details=details,
            )
        return {"id": release_id, "finding_id": issue_id, **{k: v for k, v in details.items() if k != "release_id"}}

    # --- uploads --------------------------------------------------------------------------------

    def create_upload(self, filename: str, size: int) -> dict[str, Any]:
        """A presigned POST for one file into the drop folder (its key under ``incoming/``)."""
        if self.uploads is None or self.target is None:
            raise Invalid("uploads are not configured")
        target = self.target()
        if size < 1 or size > target.max_bytes:
            raise Invalid(f"a file of 1 byte to {target.max_bytes} bytes, not {size}", {"field": "size"})
        upload_id = str(uuid.uuid4())
        key, content_type = upload_key(upload_id, filename)
        post = self.uploads.presign(target.bucket, key, content_type, target.max_bytes, target.expires)
        return {
            "upload_id": upload_id,
            "key": key,
            "url": post["url"],
            "fields": post["fields"],
            "content_type": content_type,
            "max_bytes": target.max_bytes,
            "expires_in": target.expires,
        }

    def upload_status(self, upload_id: str) -> dict[str, Any]:
        """The run the upload started (None until the event has started it), with its progress."""
        upload_id = _uuid(upload_id, "upload")
        if self.target is None:
            raise Invalid("uploads are not configured")
        bucket = self.target().bucket
        run = self.repo.run_for_prefix(bucket, f"{DROP_PREFIX}{upload_id}/")
        return {"upload_id": upload_id, "run": None if run is None else run_public(run)}


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise Invalid(f"{what} id is not a UUID: {value!r}", {"field": f"{what}_id"}) from None
