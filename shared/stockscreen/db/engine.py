"""One SQLAlchemy engine per process, behind a getter tests can reset, and one-row readers that need none.

SQLAlchemy is imported by :func:`get_engine`, not by this module: a cold API container whose first request
needs only a one-row read (``GET /health``, the snapshot version before a screen) reaches PostgreSQL through
a :class:`RowReader` (psycopg alone) and never imports SQLAlchemy (see the README, "Cold start")."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import psycopg

from stockscreen.core.config import core_settings

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@cache
def get_engine() -> Engine:
    from sqlalchemy import create_engine

    return create_engine(
        normalise_url(core_settings().database_url),
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"connect_timeout": 5},
    )


class RowReader:
    """One-row reads on the hot path of a request (the caller's account, before every authenticated
    request) over one autocommit psycopg connection per process and database: one round trip each,
    where a pooled SQLAlchemy connection adds a ping, BEGIN and ROLLBACK around the statement. A
    connection found broken is replaced and the read tried once more (a read is safe to repeat)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def one(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(self._url, autocommit=True, connect_timeout=5)
                try:
                    return self._conn.execute(sql, params).fetchone()
                except psycopg.OperationalError:
                    self.close()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


_READERS: dict[str, RowReader] = {}
_READERS_LOCK = threading.Lock()


def reader_for(engine: Engine | None = None) -> RowReader:
    """The reader for the engine's database, built once per process; without an engine, the configured
    database's (``DATABASE_URL``), with no SQLAlchemy engine built or imported."""
    if engine is None:
        url = normalise_url(core_settings().database_url)
    else:
        url = engine.url.render_as_string(hide_password=False)
    reader = _READERS.get(url)
    if reader is None:
        with _READERS_LOCK:
            reader = _READERS.setdefault(url, RowReader(url.replace("postgresql+psycopg://", "postgresql://", 1)))
    return reader


def close_readers() -> None:
    """Close and forget every reader (tests, or after settings change)."""
    with _READERS_LOCK:
        readers = list(_READERS.values())
        _READERS.clear()
    for reader in readers:
        reader.close()


def psycopg_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy one (for COPY), in the same transaction."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("COPY needs the psycopg 3 driver (postgresql+psycopg://)")
    return driver
