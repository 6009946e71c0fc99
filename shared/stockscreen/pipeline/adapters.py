"""The ingest pipeline's ways out: EventBridge (``prices.updated``), SNS (the admins) and Redis (live quotes).

Small classes built once per process (:func:`stockscreen.pipeline.service.default_service`) and
given to :class:`~stockscreen.pipeline.service.IngestService`; unit tests give it fakes with the
same methods (the protocols below). Each takes the getter of its client (``core.clients``, built
once per process) and asks for the client when it first needs it: a task that publishes nothing
never builds a boto3 client.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote_plus

from stockscreen.core import resp
from stockscreen.core.cache import SNAPSHOT_VERSION_KEY
from stockscreen.core.errors import DataFileError, TransientError, unavailable_from
from stockscreen.core.observability import logger
from stockscreen.pipeline.definition import CORRELATION_METADATA
from stockscreen.realtime import Quote, put_quotes

EVENT_SOURCE = "stockscreen.ingest"
EVENT_DETAIL_TYPE = "prices.updated"


class Events(Protocol):
    def prices_updated(self, detail: dict[str, Any]) -> str | None:
        """Announce new prices; the event's id. Raises when the event was not accepted."""
        ...


class Artifacts(Protocol):
    def publish(self, version: int, bars: int | None = None) -> dict[str, Any]:
        """Write the snapshot artifact of a published version (:mod:`stockscreen.screening.artifact`).
        ``bars``: the database's bar count when the version's snapshot was built incrementally (no
        security's history revised): the previous version's artifact may then be appended to."""
        ...


class Admins(Protocol):
    def notify(self, subject: str, message: str) -> None: ...


class LiveCache(Protocol):
    def publish_snapshot(self, version: int, quotes: Sequence[Quote]) -> None:
        """Store the snapshot's closes as the latest quotes and make ``version`` the current one
        (best effort: the snapshot itself is already current in the database)."""
        ...


def _retryable(call: Callable[[], Any]) -> Any:
    """Run one AWS call; the endpoint unreachable or timing out is a :class:`TransientError`, which the
    state machine's Retry takes (any other error fails the task as before)."""
    try:
        return call()
    except Exception as exc:
        down = unavailable_from(exc)
        if down is None or isinstance(exc, TransientError):
            raise
        raise TransientError(down.message, dependency=down.dependency) from exc


class EventBridgeEvents:
    def __init__(self, bus_name: str, client: Callable[[], Any]) -> None:
        self.bus_name = bus_name
        self.client = client

    def prices_updated(self, detail: dict[str, Any]) -> str | None:
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": EVENT_DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "EventBusName": self.bus_name,
        }
        response = _retryable(lambda: self.client().put_events(Entries=[entry]))
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge rejected the event: {response['Entries']}")
        event_id: str | None = response["Entries"][0].get("EventId")
        return event_id


class SnsAdmins:
    def __init__(self, topic_arn: str, client: Callable[[], Any]) -> None:
        self.topic_arn = topic_arn
        self.client = client

    def notify(self, subject: str, message: str) -> None:
        _retryable(lambda: self.client().publish(TopicArn=self.topic_arn, Subject=subject, Message=message))


class RedisLiveCache:
    def __init__(self, client: Callable[[], resp.Redis]) -> None:
        self.client = client

    def publish_snapshot(self, version: int, quotes: Sequence[Quote]) -> None:
        try:
            client = self.client()
            put_quotes(quotes, client=client)
            client.set(SNAPSHOT_VERSION_KEY, version)
        except resp.RedisError as exc:  # caches are best effort; the snapshot itself is already current
            logger.warning("redis unavailable while publishing", extra={"error": str(exc)})


class RawObjects(Protocol):
    def download(self, bucket: str, key: str, dest: Path) -> None:
        """Copy one object of the raw bucket to ``dest``; DataFileError when it is not there."""
        ...

    def correlation_id(self, bucket: str, key: str) -> str | None:
        """The correlation id the object was uploaded with (its metadata), if any."""
        ...


class S3RawObjects:
    """The raw bucket (the drop folder ``incoming/`` and the admins' uploads) through S3."""

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def download(self, bucket: str, key: str, dest: Path) -> None:
        from botocore.exceptions import ClientError

        s3 = self._client()
        try:
            s3.download_file(bucket, key, str(dest))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                # S3's event notifications URL-encode the key (a space as '+'): try it decoded once
                decoded = unquote_plus(key)
                if decoded != key:
                    self.download(bucket, decoded, dest)
                    return
                raise DataFileError(f"s3://{bucket}/{key}", None, "no such object") from exc
            if code in ("403", "AccessDenied"):
                raise DataFileError(f"s3://{bucket}/{key}", None, "access denied") from exc
            raise TransientError(f"s3://{bucket}/{key}: {code or exc}") from exc

    def correlation_id(self, bucket: str, key: str) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        for name in dict.fromkeys((key, unquote_plus(key))):
            try:
                head = self._client().head_object(Bucket=bucket, Key=name)
            except (ClientError, BotoCoreError):
                continue  # not there (yet, or any more): Fetch reports it
            value = (head.get("Metadata") or {}).get(CORRELATION_METADATA)
            return str(value) if value else None
        return None


class S3Artifacts:
    """Snapshot artifacts in an S3 bucket: the universe of a version read once from PostgreSQL (the same
    load the API falls back to) and written as memory-mappable files; older versions' files removed."""

    def __init__(self, bucket: str, engine: Any, client: Callable[[], Any]) -> None:
        self.bucket = bucket
        self.engine = engine
        self.client = client

    def publish(self, version: int, bars: int | None = None) -> dict[str, Any]:
        """The version's artifact: the previous version's with the new sessions appended when ``bars`` is
        given and they line up (:func:`~stockscreen.screening.artifact.append`), else written whole from
        every bar in the database."""
        import time

        from stockscreen.screening import artifact
        from stockscreen.screening.universe import load, published_versions, reference_fingerprint

        clock = time.perf_counter()
        versions = published_versions(self.engine)
        as_of, created = versions[version]
        reference = reference_fingerprint(self.engine)
        prefix = artifact.PREFIX + artifact.name_of(version, created) + "/"
        older = [v for v in versions if v < version]
        manifest, previous = None, ""
        if bars is not None and older:
            previous = artifact.PREFIX + artifact.name_of(max(older), versions[max(older)][1]) + "/"
            manifest = _retryable(lambda: artifact.previous_manifest(self.bucket, self.client(), previous))
        why: str | None = "history revised" if bars is None else "no previous artifact"
        if manifest is not None and manifest.get("last_date") and bars is not None:
            last = dt.date.fromisoformat(str(manifest["last_date"]))
            u = load(self.engine, version, as_of, after=last)
            loaded = time.perf_counter() - clock
            why = _retryable(
                lambda: artifact.append(u, self.bucket, self.client(), previous, manifest, prefix, reference, bars)
            )
            dates = int(manifest["dates"]) + len(u.trading_dates)
        if why is not None:
            u = load(self.engine, version, as_of)
            loaded = time.perf_counter() - clock
            _retryable(lambda: artifact.publish(u, self.bucket, self.client(), created, reference))
            dates = len(u.trading_dates)
        keep = {artifact.name_of(v, c) for v, (_, c) in versions.items()}
        removed = _retryable(lambda: artifact.remove_older(self.bucket, self.client(), keep))
        return {
            "prefix": prefix,
            "mode": "appended" if why is None else "full",
            **({"full_because": why} if why is not None else {}),
            "securities": u.n,
            "dates": dates,
            "removed_files": removed,
            "seconds": {"load": round(loaded, 3), "total": round(time.perf_counter() - clock, 3)},
        }
