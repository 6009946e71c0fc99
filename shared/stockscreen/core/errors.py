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
    code = "unavailable"
    status = 503


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
