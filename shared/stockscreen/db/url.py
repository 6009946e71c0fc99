"""Where the database is: ``DATABASE_URL`` when set (make dev, tests), else the secret named by
``DATABASE_SECRET_ARN`` (AWS), read once per process.

CDK never puts a connection string in a function's environment: every function gets the ARN of the
RDS-generated secret (``{"username", "password", "host", "port", "dbname", "engine"}``, the same shape for
an external TimescaleDB) and builds the URL from it at its first database use. Every engine and reader
(:mod:`stockscreen.db.engine`) takes its URL from :func:`database_url`, so every function resolves it the
same way. The secret's values never appear in a log line or an error message.

Failures: a secret that cannot be read (absent, access denied, the endpoint down) or that lacks a field
raises :class:`DatabaseSecretError`, an :class:`~stockscreen.core.errors.Unavailable` for the database:
the API answers 503 naming the database, as when PostgreSQL itself is down, and ``GET /health`` reports
the database down. A failed read is retried after ``Unavailable.retry_after`` seconds, not on every request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from stockscreen.core.config import core_settings
from stockscreen.core.errors import Unavailable

#: the fields of an RDS-generated secret a URL needs
SECRET_FIELDS = ("username", "password", "host", "port", "dbname")


class DatabaseSecretError(Unavailable):
    """The database secret could not be read or is incomplete (the message names the secret, never its values)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, dependency="database")


def url_from_secret(secret: Mapping[str, Any], *, sslmode: str = "require") -> str:
    """The psycopg URL of an RDS-shaped secret; user, password and database name percent-encoded."""
    missing = [f for f in SECRET_FIELDS if f not in secret or secret[f] in (None, "")]
    if missing:
        raise DatabaseSecretError(f"the database secret lacks {', '.join(missing)}")
    host = str(secret["host"])
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    try:
        port = int(secret["port"])
    except (TypeError, ValueError):
        raise DatabaseSecretError("the database secret's port is not a number") from None
    user, password = quote(str(secret["username"]), safe=""), quote(str(secret["password"]), safe="")
    dbname = quote(str(secret["dbname"]), safe="")
    return f"postgresql+psycopg://{user}:{password}@{host}:{port}/{dbname}?sslmode={quote(sslmode, safe='')}"


def _read_secret(secret_arn: str) -> Mapping[str, Any]:
    from stockscreen.core.secrets import secret_reader

    try:
        answer = secret_reader(secret_arn)("AWSCURRENT")
    except Exception as exc:  # denied, endpoint down, throttled: the exception's type says which
        raise DatabaseSecretError(f"cannot read the database secret {secret_arn}: {type(exc).__name__}") from exc
    if answer is None:
        raise DatabaseSecretError(f"the database secret {secret_arn} does not exist or has no current version")
    try:
        doc = json.loads(answer.get("SecretString") or "")
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise DatabaseSecretError(f"the database secret {secret_arn} is not a JSON object")
    return doc


class _Resolver:
    """The URL, built once per process; a failure is remembered for ``Unavailable.retry_after`` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._url: str | None = None
        self._failed: tuple[float, DatabaseSecretError] | None = None

    def get(self) -> str:
        url = self._url
        if url is not None:
            return url
        with self._lock:
            if self._url is not None:
                return self._url
            if self._failed is not None and time.monotonic() - self._failed[0] < Unavailable.retry_after:
                raise self._failed[1]
            s = core_settings()
            try:
                if s.database_url:
                    url = s.database_url
                else:
                    assert s.database_secret_arn is not None  # (CoreSettings requires one of the two)
                    url = url_from_secret(_read_secret(s.database_secret_arn), sslmode=s.database_sslmode)
            except DatabaseSecretError as exc:
                self._failed = (time.monotonic(), exc)
                raise
            self._url, self._failed = url, None
            return url

    def clear(self) -> None:
        with self._lock:
            self._url, self._failed = None, None


_resolver = _Resolver()


def database_url() -> str:
    """The database URL of this process (``DATABASE_URL``, else built from ``DATABASE_SECRET_ARN``)."""
    return _resolver.get()


def reset_database_url() -> None:
    """Forget the resolved URL (tests, or after settings change)."""
    _resolver.clear()
