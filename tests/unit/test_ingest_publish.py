"""The Publish and RecordFailure steps of the ingest service with fake adapters (no AWS, no Redis, no database)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from stockscreen.core import resp
from stockscreen.core.cache import SNAPSHOT_VERSION_KEY
from stockscreen.core.errors import TransientError
from stockscreen.pipeline.adapters import (
    EVENT_DETAIL_TYPE,
    EVENT_SOURCE,
    EventBridgeEvents,
    RedisLiveCache,
    SnsAdmins,
)
from stockscreen.pipeline.repository import SnapshotQuote
from stockscreen.pipeline.service import IngestService
from stockscreen.realtime import Quote

RUN_ID = str(uuid.uuid4())


class FakeRepo:
    """The two repository methods Publish and RecordFailure use."""

    def __init__(self, quotes: dict[int, list[SnapshotQuote]], down: bool = False) -> None:
        self.quotes = quotes
        self.down = down
        self.failures: list[tuple[str, dict[str, Any], str]] = []

    def snapshot_quotes(self, version: int) -> list[SnapshotQuote]:
        return self.quotes[version]

    def record_failure(self, run_id: str, source: dict[str, Any], message: str) -> None:
        if self.down:
            raise OperationalError("INSERT INTO ingest_runs ...", {}, Exception("connection refused\nmore"))
        self.failures.append((run_id, source, message))


class FakeEvents:
    def __init__(self, reject: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.reject = reject

    def prices_updated(self, detail: dict[str, Any]) -> str | None:
        if self.reject:
            raise RuntimeError("EventBridge rejected the event")
        self.sent.append(detail)
        return f"event-{len(self.sent)}"


class FakeAdmins:
    def __init__(self) -> None:
        self.told: list[tuple[str, str]] = []

    def notify(self, subject: str, message: str) -> None:
        self.told.append((subject, message))


class FakeLive:
    def __init__(self) -> None:
        self.version: int | None = None
        self.quotes: list[Quote] = []

    def publish_snapshot(self, version: int, quotes: Sequence[Quote]) -> None:
        self.version = version
        self.quotes = list(quotes)


def _service(repo: FakeRepo) -> tuple[IngestService, FakeEvents, FakeAdmins, FakeLive]:
    events, admins, live = FakeEvents(), FakeAdmins(), FakeLive()
    return IngestService(repo, events, admins, live), events, admins, live  # type: ignore[arg-type]


QUOTES = {
    7: [
        SnapshotQuote("AAPL", 167.78, -0.4, 38_000_000.0, dt.date(2018, 2, 7)),
        SnapshotQuote("MSFT", 89.61, None, None, dt.date(2018, 2, 7)),
    ]
}


def test_publish_announces_the_changed_symbols_and_bumps_the_snapshot_version() -> None:
    service, events, admins, live = _service(FakeRepo(QUOTES))
    state = {
        "run_id": RUN_ID,
        "correlation_id": "s3-event-1",
        "plan": {"correlation_id": "upload-request-1"},  # the id Plan settled on wins
        "aggregate": {"version": 7, "rebuilt": True},
        "load": [{"symbols": ["MSFT", "AAPL"]}, {"symbols": ["AAPL", "ZTS"]}, None],
    }
    result = service.publish(state)
    assert events.sent == [
        {
            "run_id": RUN_ID,
            "snapshot_version": 7,
            "symbols": ["AAPL", "MSFT", "ZTS"],
            "correlation_id": "upload-request-1",
        }
    ]
    assert result == {"event_id": "event-1", "symbols": 3}
    assert live.version == 7
    assert [(q.symbol, q.price, q.change_pct, q.volume) for q in live.quotes] == [
        ("AAPL", 167.78, -0.4, 38_000_000),
        ("MSFT", 89.61, None, None),
    ]
    assert isinstance(live.quotes[0].volume, int)
    # a daily close: 21:00 UTC of its day
    assert {q.ts for q in live.quotes} == {dt.datetime(2018, 2, 7, 21, 0, tzinfo=dt.UTC)}
    assert admins.told == []


def test_publish_without_a_snapshot_sends_the_event_and_leaves_the_cache_alone() -> None:
    service, events, _admins, live = _service(FakeRepo({}))
    result = service.publish({"run_id": RUN_ID, "correlation_id": "tick-1", "aggregate": {"version": None}})
    assert events.sent == [{"run_id": RUN_ID, "snapshot_version": None, "symbols": [], "correlation_id": "tick-1"}]
    assert result == {"event_id": "event-1", "symbols": 0}
    assert live.version is None and live.quotes == []


def test_a_rejected_event_fails_publish_before_the_cache_moves() -> None:
    service, _events, _admins, live = _service(FakeRepo(QUOTES))
    service.events = FakeEvents(reject=True)
    with pytest.raises(RuntimeError, match="rejected"):
        service.publish({"run_id": RUN_ID, "aggregate": {"version": 7}, "load": []})
    assert live.version is None  # the snapshot version is bumped only once the event is out


def test_record_failure_marks_the_run_failed_and_tells_the_admins() -> None:
    repo = FakeRepo({})
    service, _events, admins, _live = _service(repo)
    cause = json.dumps({"errorType": "DataFileError", "errorMessage": "poisoned.csv:3: expected 7 fields"})
    result = service.record_failure(
        {"run_id": RUN_ID, "source": {"paths": ["poisoned.csv"]}, "error": {"Error": "DataFileError", "Cause": cause}}
    )
    message = "DataFileError: poisoned.csv:3: expected 7 fields"
    assert result == {"status": "failed", "error": message}
    assert repo.failures == [(RUN_ID, {"paths": ["poisoned.csv"]}, message)]
    assert len(admins.told) == 1
    subject, body = admins.told[0]
    assert subject == "Stockscreen ingest failed"
    assert body.startswith(f"Ingest run {RUN_ID} failed at ") and body.endswith(f": {message}")


def test_the_admins_hear_of_a_failure_even_when_the_database_is_down() -> None:
    service, _events, admins, _live = _service(FakeRepo({}, down=True))
    with pytest.raises(TransientError, match="database unavailable: connection refused"):
        service.record_failure({"run_id": RUN_ID, "error": {"Error": "States.Timeout"}})
    assert len(admins.told) == 1
    assert (
        "States.Timeout (and the run could not be recorded: database unavailable: connection refused)"
        in (admins.told[0][1])
    )


# --- the adapters themselves, over fake clients ---------------------------------------------------


class FakeBoto:
    def __init__(self, failed: int = 0) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failed = failed

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("put_events", kwargs))
        if self.failed:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "abc-123"}]}

    def publish(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("publish", kwargs))
        return {"MessageId": "m-1"}


def test_eventbridge_adapter_sends_one_prices_updated_entry_on_the_bus() -> None:
    client = FakeBoto()
    events = EventBridgeEvents("stockscreen-bus", lambda: client)
    detail = {"run_id": RUN_ID, "snapshot_version": 3, "symbols": ["A"]}
    assert events.prices_updated(detail) == "abc-123"
    assert client.calls == [
        (
            "put_events",
            {
                "Entries": [
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": EVENT_DETAIL_TYPE,
                        "Detail": json.dumps(detail),
                        "EventBusName": "stockscreen-bus",
                    }
                ]
            },
        )
    ]
    with pytest.raises(RuntimeError, match="EventBridge rejected the event"):
        EventBridgeEvents("stockscreen-bus", lambda: FakeBoto(failed=1)).prices_updated(detail)


def test_an_unreachable_aws_endpoint_is_a_transient_error_the_state_machine_retries() -> None:
    from botocore.exceptions import EndpointConnectionError

    from stockscreen.core.errors import TransientError

    class Down:
        def put_events(self, **kwargs: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

        def publish(self, **kwargs: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    with pytest.raises(TransientError, match="unavailable") as err:
        EventBridgeEvents("bus", Down).prices_updated({"run_id": RUN_ID})
    assert err.value.dependency == "aws" and type(err.value).__name__ == "TransientError"
    with pytest.raises(TransientError):
        SnsAdmins("arn:aws:sns:us-east-1:000000000000:admins", Down).notify("Subject", "Body")


def test_sns_adapter_publishes_to_the_admin_topic() -> None:
    client = FakeBoto()
    SnsAdmins("arn:aws:sns:us-east-1:000000000000:admins", lambda: client).notify("Subject", "Body")
    assert client.calls == [
        ("publish", {"TopicArn": "arn:aws:sns:us-east-1:000000000000:admins", "Subject": "Subject", "Message": "Body"})
    ]


class FakeRedis:
    """The few Redis commands the live cache sends (a dict of strings and hashes)."""

    def __init__(self, down: bool = False) -> None:
        self.data: dict[str, Any] = {}
        self.down = down

    def pipeline(self, transaction: bool = True) -> FakeRedis:
        return self

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def hset(self, key: str, mapping: dict[str, str]) -> None:
        self.data[key] = dict(mapping)

    def execute(self) -> list[Any]:
        if self.down:
            raise resp.RedisConnectionError("Connection refused")
        return []

    def set(self, key: str, value: Any) -> None:
        if self.down:
            raise resp.RedisConnectionError("Connection refused")
        self.data[key] = str(value)


def test_redis_adapter_stores_the_quotes_then_the_snapshot_version() -> None:
    client = FakeRedis()
    client.data[SNAPSHOT_VERSION_KEY] = "6"
    quote = Quote(symbol="aapl", price=1.5, ts=dt.datetime(2018, 2, 7, 21, 0, tzinfo=dt.UTC))
    RedisLiveCache(lambda: client).publish_snapshot(7, [quote])  # type: ignore[arg-type, return-value]
    assert client.data[SNAPSHOT_VERSION_KEY] == "7"
    assert client.data["quote:AAPL"]["price"] == "1.5"


def test_redis_down_is_best_effort() -> None:
    client = FakeRedis(down=True)
    quote = Quote(symbol="AAPL", price=1.5, ts=dt.datetime(2018, 2, 7, 21, 0, tzinfo=dt.UTC))
    RedisLiveCache(lambda: client).publish_snapshot(7, [quote])  # type: ignore[arg-type, return-value]
    assert SNAPSHOT_VERSION_KEY not in client.data
