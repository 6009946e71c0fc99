"""Where the database is (:mod:`stockscreen.db.url`): DATABASE_URL, else a URL built from the RDS-shaped secret
named by DATABASE_SECRET_ARN, read once per process; an unreadable or incomplete secret is the database's 503,
its message naming the secret and never its values. (Against moto's Secrets Manager and a real PostgreSQL:
tests/integration/test_database_secret.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from stockscreen.core import secrets
from stockscreen.core.clients import reset_clients
from stockscreen.core.errors import Unavailable, unavailable_from
from stockscreen.db import url as dburl
from stockscreen.db.engine import get_engine, normalise_url, reader_for

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
TRICKY = "p@ss:w/rd?#%&= é+"  # every character a URL gives a meaning to, and a non-ASCII one
SECRET = {
    "username": "app:user@x",
    "password": TRICKY,
    "host": "db.abc.us-east-1.rds.amazonaws.com",
    "port": 5432,
    "dbname": "stock screen",
    "engine": "postgres",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_SSLMODE", raising=False)
    monkeypatch.setenv("DATABASE_SECRET_ARN", ARN)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    reset_clients()
    yield monkeypatch
    monkeypatch.undo()
    reset_clients()


def _serve(monkeypatch: pytest.MonkeyPatch, answer: Any) -> list[str]:
    """Replace the Secrets Manager read with ``answer`` (a dict, None, or an exception to raise);
    the list records each read (the secret id)."""
    reads: list[str] = []

    def reader(secret_id: str) -> Any:
        def read(stage: str) -> Any:
            assert stage == "AWSCURRENT"
            reads.append(secret_id)
            if isinstance(answer, BaseException):
                raise answer
            return answer

        return read

    monkeypatch.setattr(secrets, "secret_reader", reader)
    return reads


def test_url_from_the_secret_encodes_every_part_and_requires_tls() -> None:
    url = dburl.url_from_secret(SECRET)
    # libpq (psycopg) and SQLAlchemy both read back exactly the secret's values
    info = psycopg.conninfo.conninfo_to_dict(url.replace("postgresql+psycopg://", "postgresql://"))
    assert (info["user"], info["password"], info["host"], info["port"], info["dbname"], info["sslmode"]) == (
        "app:user@x",
        TRICKY,
        SECRET["host"],
        "5432",
        "stock screen",
        "require",
    )
    from sqlalchemy.engine import make_url

    sa = make_url(url)
    assert (sa.username, sa.password, sa.host, sa.port, sa.database) == (
        "app:user@x",
        TRICKY,
        SECRET["host"],
        5432,
        "stock screen",
    )
    assert urlsplit(url).scheme == "postgresql+psycopg" and normalise_url(url) == url
    assert dburl.url_from_secret({**SECRET, "port": "6543"}, sslmode="prefer").endswith(
        ":6543/stock%20screen?sslmode=prefer"
    )
    assert "@[::1]:5432/" in dburl.url_from_secret({**SECRET, "host": "::1"})


@pytest.mark.parametrize(
    ("change", "message"),
    [({"password": ""}, "lacks password"), ({"host": None}, "lacks host"), ({"port": "x"}, "port is not a number")],
)
def test_an_incomplete_secret_is_named_without_its_values(change: dict[str, Any], message: str) -> None:
    with pytest.raises(dburl.DatabaseSecretError, match=message) as info:
        dburl.url_from_secret({**SECRET, **change})
    assert TRICKY not in str(info.value) and info.value.dependency == "database"


def test_database_url_wins_and_needs_no_secret(env: pytest.MonkeyPatch) -> None:
    reads = _serve(env, RuntimeError("must not be read"))
    env.setenv("DATABASE_URL", "postgresql://u:p@localhost/x")
    assert dburl.database_url() == "postgresql://u:p@localhost/x"
    assert reads == []


def test_the_secret_is_read_once_per_process(env: pytest.MonkeyPatch) -> None:
    reads = _serve(env, {"SecretString": json.dumps(SECRET), "VersionId": "v1"})
    first = dburl.database_url()
    assert first == dburl.url_from_secret(SECRET)
    assert dburl.database_url() is first
    assert str(get_engine().url.password) == TRICKY  # the engine reads the same URL (and hides it in repr)
    assert TRICKY not in repr(get_engine().url)
    assert reader_for() is reader_for(get_engine())  # one reader per database, the password decoded once
    assert reads == [ARN]
    env.setenv("DATABASE_SSLMODE", "prefer")  # a reset (settings changed) reads it again
    reset_clients()
    assert dburl.database_url().endswith("sslmode=prefer") and reads == [ARN, ARN]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "does not exist or has no current version"),
        ({"SecretString": "not json", "VersionId": "v1"}, "is not a JSON object"),
        ({"SecretString": json.dumps({"username": "u"}), "VersionId": "v1"}, "lacks password, host, port, dbname"),
        (PermissionError("AccessDeniedException"), "cannot read the database secret .*: PermissionError"),
    ],
)
def test_an_unreadable_secret_is_the_databases_503(env: pytest.MonkeyPatch, answer: Any, message: str) -> None:
    reads = _serve(env, answer)
    with pytest.raises(dburl.DatabaseSecretError, match=message) as info:
        dburl.database_url()
    error = unavailable_from(info.value)
    assert isinstance(error, Unavailable) and error.status == 503 and error.dependency == "database"
    with pytest.raises(dburl.DatabaseSecretError):
        reader_for()  # every reader and engine goes through the same resolver...
    assert reads == [ARN]  # ...which does not ask again before Retry-After


def test_an_unreachable_endpoint_is_a_startup_error_not_a_hang(env: pytest.MonkeyPatch) -> None:
    env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")  # nothing listens (the light signed path)
    env.setenv("AWS_ACCESS_KEY_ID", "test")
    env.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with pytest.raises(dburl.DatabaseSecretError, match="EndpointUnreachable"):
        dburl.database_url()
