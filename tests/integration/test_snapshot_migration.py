"""Migration 0003 on its own database: from a schema built by an older catalogue, up, down, up."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from stockscreen.db.migrate import downgrade, upgrade
from stockscreen.screening.fields import BY_ID, SNAPSHOT_FIELDS
from tests.conftest import _plain


@pytest.fixture
def fresh_url(pg_server_url: str) -> Iterator[str]:
    name = f"stockscreen_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _columns(url: str) -> dict[str, str]:
    with psycopg.connect(_plain(url)) as conn:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'snapshot_rows'"
        ).fetchall()
    return dict(rows)


def _tables(url: str) -> set[str]:
    with psycopg.connect(_plain(url)) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_0003_upgrades_an_old_schema_and_downgrades_cleanly(fresh_url: str) -> None:
    upgrade(fresh_url, "0001")
    # a database migrated before the catalogue grew lacks the newer numeric columns
    with psycopg.connect(_plain(fresh_url)) as conn:
        conn.execute("ALTER TABLE snapshot_rows DROP COLUMN beta, DROP COLUMN sales")
    assert "beta" not in _columns(fresh_url)

    upgrade(fresh_url, "0003")
    cols = _columns(fresh_url)
    assert {c: cols[c] for c in SNAPSHOT_FIELDS} == {f: BY_ID[f].sql_type for f in SNAPSHOT_FIELDS}
    assert "indicator_state" in _tables(fresh_url)

    downgrade(fresh_url, "0001")
    cols = _columns(fresh_url)
    assert "new_high_52w" not in cols and "market_cap_bucket" not in cols and "beta" not in cols
    assert {"close", "rsi14", "sma200", "volatility_1m"} <= set(cols)
    assert "indicator_state" not in _tables(fresh_url)

    upgrade(fresh_url, "0003")
    assert set(SNAPSHOT_FIELDS) <= set(_columns(fresh_url))
