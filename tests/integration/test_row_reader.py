"""The one-round-trip reader used on the request path: it reads what is committed, survives the server
closing its connection, and lets real errors through."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine

from stockscreen.db.engine import close_readers, reader_for


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_reads_committed_rows_and_reconnects_after_the_server_drops_it(database_url: str) -> None:
    engine = create_engine(database_url)
    reader = reader_for(engine)
    assert reader_for(create_engine(database_url)) is reader  # one per database
    try:
        with psycopg.connect(_plain(database_url), autocommit=True) as other:
            other.execute("CREATE TABLE IF NOT EXISTS reader_probe (id int PRIMARY KEY, v text)")
            other.execute("DELETE FROM reader_probe")
            assert reader.one("SELECT v FROM reader_probe WHERE id = %s", (1,)) is None
            other.execute("INSERT INTO reader_probe VALUES (1, 'a')")
            assert reader.one("SELECT v FROM reader_probe WHERE id = %s", (1,)) == ("a",)
            for _ in range(6):  # past psycopg's prepare threshold
                assert reader.one("SELECT v FROM reader_probe WHERE id = %s", (1,)) == ("a",)
            row = reader.one("SELECT pg_backend_pid()", ())
            assert row is not None
            other.execute("SELECT pg_terminate_backend(%s)", (row[0],))
            other.execute("UPDATE reader_probe SET v = 'b' WHERE id = 1")
            assert reader.one("SELECT v FROM reader_probe WHERE id = %s", (1,)) == ("b",)
            again = reader.one("SELECT pg_backend_pid()", ())
            assert again is not None and again[0] != row[0]
            with pytest.raises(psycopg.errors.UndefinedTable):
                reader.one("SELECT v FROM no_such_table", ())
            assert reader.one("SELECT v FROM reader_probe WHERE id = %s", (1,)) == ("b",)
            other.execute("DROP TABLE reader_probe")
    finally:
        close_readers()
        engine.dispose()
    assert reader_for(engine) is not reader
    close_readers()
