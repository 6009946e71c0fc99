"""TIMESCALEDB=auto against a real PostgreSQL server (the project-started one, without TimescaleDB here)."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text

from devstack.services import _pg_bindir, pkglibdir, preload_libraries
from stockscreen.db.migrate import upgrade
from stockscreen.db.timescale import TimescaleUnavailable, _try_create, preload_list, server_facts, use_timescaledb


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def empty_db(pg_server_url: str) -> Iterator[str]:
    name = f"stockscreen_ts_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_server_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _server_has_timescaledb(url: str) -> bool:
    with psycopg.connect(_plain(url)) as conn:
        row = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    return bool(row and row[0])


def _choice_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "TIMESCALEDB=" in r.getMessage()]


def test_auto_on_a_server_without_timescaledb_migrates_to_native_partitions_and_says_so_once(
    empty_db: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not _server_has_timescaledb(empty_db)  # (this machine's server: the native path is the one to test)
    monkeypatch.setenv("TIMESCALEDB", "auto")
    caplog.set_level(logging.INFO, logger="stockscreen")
    upgrade(empty_db)
    lines = _choice_lines(caplog)
    assert [r.getMessage() for r in lines] == [
        "TIMESCALEDB=auto: the timescaledb extension is not installed on this PostgreSQL server; "
        "daily_bars uses native partitions"
    ]
    with psycopg.connect(_plain(empty_db)) as conn:
        kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'daily_bars'::regclass").fetchone()
        rollup = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'bars_weekly'::regclass").fetchone()
        ext = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    assert kind == ("p",) and rollup == ("r",) and ext == (0,)


def test_on_without_timescaledb_fails_before_creating_anything(empty_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMESCALEDB", "on")
    with pytest.raises(TimescaleUnavailable, match="TIMESCALEDB=on but the timescaledb extension is not installed"):
        upgrade(empty_db)
    with psycopg.connect(_plain(empty_db)) as conn:
        assert conn.execute("SELECT to_regclass('daily_bars')").fetchone() == (None,)


def test_the_facts_as_the_server_gives_them(empty_db: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine(empty_db.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            facts = server_facts(conn)
            setting = conn.execute(text("SHOW shared_preload_libraries")).scalar_one()
            assert facts.available is False and facts.created is False
            assert facts.preloaded is ("timescaledb" in preload_list(setting))
            # a trial CREATE EXTENSION fails inside its savepoint, and the transaction goes on
            error = _try_create(conn)
            assert error is not None and "timescaledb" in error
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            caplog.set_level(logging.INFO, logger="stockscreen")
            assert use_timescaledb(conn, "off") is False
            assert _choice_lines(caplog) == []  # off is a choice, not a fallback: nothing to explain
            assert use_timescaledb(conn, "auto") is False
            assert len(_choice_lines(caplog)) == 1
    finally:
        engine.dispose()


def test_a_role_that_may_not_read_the_preload_setting_still_gets_a_decision(empty_db: str) -> None:
    role = f"ts_reader_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(_plain(empty_db), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        url = make_url(empty_db.replace("postgresql://", "postgresql+psycopg://"))
        engine = create_engine(url.set(username=role, password=None))
        try:
            with engine.begin() as conn:
                facts = server_facts(conn)
                assert facts.preloaded is None  # SHOW refused (no pg_read_all_settings)...
                assert conn.execute(text("SELECT 1")).scalar_one() == 1  # ...inside its savepoint
                assert use_timescaledb(conn, "auto") is False
        finally:
            engine.dispose()
    finally:
        with psycopg.connect(_plain(empty_db), autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")


def test_the_project_started_server_preloads_what_is_installed(pg_server_url: str) -> None:
    with psycopg.connect(_plain(pg_server_url)) as conn:
        row = conn.execute("SHOW shared_preload_libraries").fetchone()
    assert row is not None
    expected = preload_libraries(pkglibdir(_pg_bindir()))
    if "TEST_DATABASE_URL" not in os.environ:  # (a server the suite did not start has its own settings)
        assert preload_list(str(row[0])) == expected
