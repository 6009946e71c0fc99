"""Migration 0008: listing and delisting dates in the security master, checked in order, and a clean downgrade."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from stockscreen.db.migrate import downgrade, upgrade
from tests.conftest import _plain

COLUMNS = (
    "SELECT array_agg(column_name::text ORDER BY column_name) FROM information_schema.columns "
    "WHERE table_name = 'securities' AND column_name IN ('listed_on', 'delisted_on')"
)


def test_0008_adds_listing_dates_and_downgrades_cleanly(pg_server_url: str) -> None:
    name = f"stockscreen_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url, "0007_staged_parts")
        with psycopg.connect(_plain(url)) as conn:
            assert conn.execute(COLUMNS).fetchone() == (None,)
        upgrade(url, "0008_listing_dates")
        with psycopg.connect(_plain(url), autocommit=True) as conn:
            assert conn.execute(COLUMNS).fetchone() == (["delisted_on", "listed_on"],)
            conn.execute(
                "INSERT INTO securities (symbol, name, listed_on, delisted_on) "
                "VALUES ('OLD', 'Old Co', '2001-02-03', '2015-06-30'), ('NEW', 'New Co', NULL, NULL)"
            )
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(
                    "INSERT INTO securities (symbol, name, listed_on, delisted_on) "
                    "VALUES ('BAD', 'Bad Co', '2016-01-01', '2015-01-01')"
                )
        downgrade(url, "0007_staged_parts")
        with psycopg.connect(_plain(url)) as conn:
            assert conn.execute(COLUMNS).fetchone() == (None,)
            assert conn.execute("SELECT count(*) FROM securities").fetchone() == (2,)
    finally:
        with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
