"""One correlation id per user-visible event, created at the edge and carried to every function it touches.

Edges: an API request (its valid ``X-Correlation-Id`` header, else a new id; the response returns it), a
schedule tick (the EventBridge event's id), an S3 drop-folder event (its id; an upload made through the API
carries the request's id as object metadata instead, see :func:`stockscreen.pipeline.service` Plan), a
WebSocket message (API Gateway's request id).

How it travels: the ``correlation_id`` key of Step Functions input and of the EventBridge detail the project
puts; the ``correlation_id`` SQS message attribute; ``cid`` in WebSocket frames pushed while it is bound.
Inside a process it is a context variable (:func:`current`), bound with :func:`bound`, which also appends
it to every Powertools log line of that context (``logger.thread_safe_append_keys``) and removes it after.

Incoming values are never trusted: only ``[A-Za-z0-9._-]{1,64}`` is kept, anything else (or nothing) is
replaced by a fresh id. Importing this module imports nothing but the standard library (the API's cold start).
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

#: The HTTP header (request and response).
HEADER = "X-Correlation-Id"
#: The key in Step Functions input, EventBridge detail and log lines, and the SQS message attribute's name.
KEY = "correlation_id"
#: The key in WebSocket frames (short: it is in every pushed frame).
FRAME_KEY = "cid"

_VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)

R = TypeVar("R")
Event = Mapping[str, Any]


def new_id() -> str:
    return str(uuid.uuid4())


def valid(value: Any) -> str | None:
    """``value`` when it is an acceptable id, else None."""
    return value if isinstance(value, str) and _VALID.fullmatch(value) else None


def accept(value: Any) -> str:
    """``value`` when it is an acceptable id, else a fresh one (a bad incoming value is never used)."""
    return valid(value) or new_id()


def current() -> str | None:
    """The id bound in this context (thread, task), if any."""
    return _current.get()


def from_headers(headers: Mapping[str, Any] | None) -> str:
    """An API request's id: its ``X-Correlation-Id`` header (any case) when valid, else a new one."""
    wanted = HEADER.lower()
    value = next((v for k, v in (headers or {}).items() if str(k).lower() == wanted), None)
    return accept(value)


def from_state(state: Mapping[str, Any] | None) -> str:
    """A Step Functions task's id: the one Plan settled on (``plan.correlation_id``), else the execution
    input's ``correlation_id``, else a new one (an execution started without one)."""
    state = state or {}
    plan = state.get("plan")
    return valid(plan.get(KEY) if isinstance(plan, Mapping) else None) or accept(state.get(KEY))


def from_event(event: Event | None) -> str:
    """An EventBridge event's id: ``detail.correlation_id`` (an event the project put, carrying the id of
    what caused it), else the event's own id (a schedule tick, an S3 event: the edge), else a new one."""
    event = event or {}
    detail = event.get("detail")
    return valid(detail.get(KEY) if isinstance(detail, Mapping) else None) or accept(event.get("id"))


def from_sqs_record(record: Mapping[str, Any]) -> str:
    """An SQS record's ``correlation_id`` message attribute, in the Lambda event's shape
    (``messageAttributes.correlation_id.stringValue``) or boto3's (``MessageAttributes...StringValue``)."""
    return accept(_sqs_attribute(record))


def _sqs_attribute(record: Mapping[str, Any]) -> Any:
    attrs = record.get("messageAttributes") or record.get("MessageAttributes") or {}
    attr = attrs.get(KEY) if isinstance(attrs, Mapping) else None
    return (attr.get("stringValue") or attr.get("StringValue")) if isinstance(attr, Mapping) else None


def from_sqs_event(event: Event | None) -> str:
    """An SQS batch's id: the one its records all carry, else a new one (each record is then handled
    under its own: bind :func:`from_sqs_record` around each)."""
    records = (event or {}).get("Records") or []
    ids = {valid(_sqs_attribute(r)) for r in records if isinstance(r, Mapping)}
    return accept(ids.pop()) if len(ids) == 1 else new_id()


def from_ws_event(event: Event | None) -> str:
    """A WebSocket API event's id: API Gateway's request id (each message is its own edge)."""
    ctx = (event or {}).get("requestContext")
    return accept(ctx.get("requestId") if isinstance(ctx, Mapping) else None)


def sqs_attributes(cid: str | None = None) -> dict[str, dict[str, str]]:
    """The message attributes a producer sets: the given id, else the bound one, else a new one."""
    return {KEY: {"DataType": "String", "StringValue": accept(cid or current())}}


def tag_frame(data: bytes) -> bytes:
    """A serialised WebSocket frame (a JSON object) with the bound id as ``cid``; unchanged when none is bound.
    (The id's characters need no JSON escaping.)"""
    cid = current()
    if cid is None or not data.startswith(b"{") or data == b"{}":
        return data
    return b'{"' + FRAME_KEY.encode() + b'":"' + cid.encode() + b'",' + data[1:]


@contextmanager
def bound(cid: str) -> Iterator[str]:
    """Bind ``cid`` (checked: a bad value becomes a new id) for the block: :func:`current` returns it and
    every log line of this context carries ``correlation_id``; both are restored after."""
    from stockscreen.core.observability import annotate, logger

    cid = accept(cid)
    token = _current.set(cid)
    logger.thread_safe_append_keys(**{KEY: cid})
    annotate(**{KEY: cid})
    try:
        yield cid
    finally:
        _current.reset(token)
        # a new dict, never the context's own (Powertools' remove pops in place, and a copied context shares it)
        keys = {k: v for k, v in logger.thread_safe_get_current_keys().items() if k != KEY}
        previous = _current.get()
        if previous is not None:
            keys[KEY] = previous
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(**keys)


def adopt(cid: str) -> str:
    """Inside a :func:`bound` block, go on under ``cid`` (checked) instead: an event that turns out to
    continue an earlier one (an upload's run). The block's end restores what was bound before it."""
    from stockscreen.core.observability import annotate, logger

    cid = accept(cid)
    _current.set(cid)
    logger.thread_safe_append_keys(**{KEY: cid})
    annotate(**{KEY: cid})
    return cid


def correlated(extract: Callable[[Any], str]) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Decorate a Lambda handler ``(event, context)``: its whole invocation runs bound to ``extract(event)``."""

    def decorate(fn: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(fn)
        def handler(event: Any, context: Any) -> R:
            with bound(extract(event)):
                return fn(event, context)

        return handler

    return decorate
