"""Shared fixtures: throwaway PostgreSQL, Redis and moto for the whole test session.

By default the suite starts its own servers in a temporary directory (from the machine's
binaries), so it never touches data it did not create. Set TEST_DATABASE_URL (a server
where it may create and drop databases) or TEST_REDIS_URL to use existing servers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from devstack.services import Postgres, Redis, free_port
from devstack.stepfunctions import start_moto

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def _tmp_services() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="stockscreen-test-"))
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url(_tmp_services: Path) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    pg = Postgres(_tmp_services / "pg", free_port())
    pg.start()
    yield pg.url
    pg.stop()


@pytest.fixture(scope="session")
def redis_url(_tmp_services: Path) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    server = None
    if not url:
        server = Redis(_tmp_services / "redis", free_port())
        server.start()
        url = server.url
    redis.Redis.from_url(url).flushdb()
    yield url
    if server:
        server.stop()


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh database, migrated to head, dropped after the session."""
    from stockscreen.db.migrate import upgrade

    name = f"stockscreen_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server_url.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    from stockscreen.core.clients import reset_clients

    reset_clients()
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = start_moto(port)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def stack_env(database_url: str, redis_url: str, moto_endpoint: str) -> Iterator[dict[str, str]]:
    """Environment of a fully wired local stack: database, Redis, moto with resources."""
    from devstack.lambdas import load_module
    from stockscreen.core.clients import reset_clients

    bootstrap = load_module("localstack/bootstrap.py", "stockscreen_localstack_bootstrap")
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_METRICS_NAMESPACE": "Stockscreen",
        "POWERTOOLS_DEV": "false",
    }
    env.update(bootstrap.bootstrap(moto_endpoint))
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_clients()
    yield env
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_clients()


DATA_TABLES = (
    "snapshot_rows",
    "snapshot_versions",
    "quality_issues",
    "raw_batches",
    "raw_reference",
    "daily_bars",
    "fundamentals",
    "ingest_runs",
    "alert_invocations",
    "securities",
    "bars_weekly",
    "bars_monthly",
)


def truncate_all(database_url: str) -> None:
    with psycopg.connect(_plain(database_url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE")
