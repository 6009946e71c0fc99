"""Typed domain errors, mapped to HTTP status codes in one place (the API edge)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"
    status = 500

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(DomainError):
    code = "invalid_request"
    status = 400


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


class Unavailable(DomainError):
    """A dependency (the database, Redis, the AWS endpoint) is down: 503 with ``Retry-After``.

    ``details`` always holds ``retry_after`` (seconds) and, when known, ``dependency``."""

    code = "unavailable"
    status = 503
    retry_after = 5

    def __init__(self, message: str, details: Any = None, *, dependency: str | None = None) -> None:
        info = dict(details) if isinstance(details, dict) else ({"info": details} if details is not None else {})
        if dependency is not None:
            info.setdefault("dependency", dependency)
        info.setdefault("retry_after", self.retry_after)
        super().__init__(message, info)
        self.dependency = info.get("dependency")


class DataFileError(Invalid):
    """A bad input file: the message names the file and the line."""

    code = "bad_data_file"

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}", {"path": path, "line": line})
        self.path = path
        self.line = line


class TransientError(Unavailable):
    """A failure worth retrying (a provider timing out, the database going away).

    The ingest state machine retries task errors of this *class name* with backoff and jitter.
    """

    code = "transient"


#: How messages name each dependency (the keys are the names GET /health reports).
DEPENDENCY_NAMES = {"database": "the database", "redis": "Redis", "aws": "the AWS endpoint"}

#: Infrastructure failures by exception class (module, name), matched along the raised exception's MRO so
#: that no driver is imported to recognise its errors: the dependency each one means is down.
_UNAVAILABLE_TYPES: dict[tuple[str, str], str] = {
    ("sqlalchemy.exc", "OperationalError"): "database",
    ("sqlalchemy.exc", "InterfaceError"): "database",
    ("sqlalchemy.exc", "TimeoutError"): "database",  # no pooled connection free in time
    ("psycopg", "OperationalError"): "database",
    ("psycopg", "InterfaceError"): "database",
    ("redis.exceptions", "ConnectionError"): "redis",
    ("redis.exceptions", "TimeoutError"): "redis",
    ("stockscreen.core.resp", "RedisConnectionError"): "redis",  # the request path's client
    ("stockscreen.core.resp", "RedisTimeoutError"): "redis",
    ("botocore.exceptions", "EndpointConnectionError"): "aws",
    ("botocore.exceptions", "ConnectTimeoutError"): "aws",
    ("botocore.exceptions", "ReadTimeoutError"): "aws",
    ("botocore.exceptions", "ConnectionClosedError"): "aws",
    ("stockscreen.core.awsrequest", "EndpointUnreachable"): "aws",
}


def unavailable_from(exc: BaseException) -> Unavailable | None:
    """The :class:`Unavailable` an infrastructure failure means (the database, Redis or the AWS endpoint
    unreachable or timing out), or None for any other exception."""
    if isinstance(exc, Unavailable):
        return exc
    for cls in type(exc).__mro__:
        module = cls.__module__
        if module.startswith("psycopg."):
            module = "psycopg"  # psycopg.errors.ConnectionTimeout and friends
        dependency = _UNAVAILABLE_TYPES.get((module, cls.__name__))
        if dependency is not None:
            return Unavailable(
                f"{DEPENDENCY_NAMES[dependency]} is unavailable; try again shortly", dependency=dependency
            )
    return None
