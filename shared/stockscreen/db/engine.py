"""One SQLAlchemy engine per process, behind a getter tests can reset, and one-row readers that need none.

SQLAlchemy is imported by :func:`get_engine`, not by this module: a cold API container whose first request
needs only a one-row read (``GET /health``, the snapshot version before a screen) reaches PostgreSQL through
a :class:`RowReader` and never imports SQLAlchemy; nor psycopg, when the reader goes through
:mod:`stockscreen.db.libpq` (psycopg's own libpq, without psycopg's import; see the README, "Cold start")."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from stockscreen.db import libpq
from stockscreen.db.url import database_url

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy import Connection, Engine, TextClause


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def text(sql: str) -> TextClause:
    """``sqlalchemy.text``, imported when a statement is built rather than when its module is: modules on a
    request's hot path (the accounts repository, the audit log) keep their SQL without importing SQLAlchemy
    until a statement runs on an engine's connection (which has imported it already)."""
    from sqlalchemy import text as sql_text

    return sql_text(sql)


@cache
def get_engine() -> Engine:
    from sqlalchemy import create_engine

    return create_engine(
        normalise_url(database_url()),
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"connect_timeout": 5},
    )


class RowReader:
    """One-row reads on the hot path of a request (the caller's account, before every authenticated
    request; the snapshot version before a screen) over one autocommit connection per process and
    database: one round trip each, where a pooled SQLAlchemy connection adds a ping, BEGIN and ROLLBACK
    around the statement. A connection found broken is replaced and the read tried once more (a read is
    safe to repeat).

    The connection is libpq's through :mod:`stockscreen.db.libpq` when psycopg's bundled libpq is there
    (the values and errors psycopg's), else psycopg's; also psycopg's when the session reads text
    otherwise than that module does (not UTF-8, not ISO dates)."""

    def __init__(self, params: dict[str, str], *, lean: bool | None = None) -> None:
        """``params``: libpq's connection parameters; ``lean``: False for psycopg even when libpq is there."""
        self._params = params
        self._lock = threading.Lock()
        self._lean = libpq.available() if lean is None else lean and libpq.available()
        self._conn: libpq.Connection | psycopg.Connection[tuple[Any, ...]] | None = None

    @property
    def lean(self) -> bool:
        """Does this reader read through :mod:`stockscreen.db.libpq` (rather than psycopg)?"""
        return self._lean

    def _connect(self) -> libpq.Connection | psycopg.Connection[tuple[Any, ...]]:
        if self._lean:
            conn = libpq.Connection({**self._params, "connect_timeout": "5"})
            if conn.readable():
                return conn
            conn.close()
            self._lean = False
        import psycopg

        return psycopg.connect(psycopg.conninfo.make_conninfo("", **self._params), autocommit=True, connect_timeout=5)

    def _read(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        conn = self._conn
        assert conn is not None
        if isinstance(conn, libpq.Connection):
            return conn.one(sql, params)
        return conn.execute(sql, params).fetchone()

    def one(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                try:
                    return self._read(sql, params)
                except Exception as exc:
                    if not _operational(exc):
                        raise
                    self.close()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _operational(exc: Exception) -> bool:
    """psycopg's ``OperationalError`` (the connection failed or was closed), without importing psycopg when
    no psycopg exception was raised."""
    import sys

    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.OperationalError)


_READERS: dict[tuple[tuple[str, str], ...], RowReader] = {}
_READERS_LOCK = threading.Lock()


def conninfo_params(conninfo: str) -> dict[str, str]:
    """``psycopg.conninfo.conninfo_to_dict``: libpq's parse of a connection string or URI."""
    if libpq.available():
        return libpq.parse_conninfo(conninfo)
    import psycopg

    return {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(conninfo).items()}


def reader_for(engine: Engine | None = None) -> RowReader:
    """The reader for the engine's database, built once per process; without an engine, the configured
    database's (:func:`~stockscreen.db.url.database_url`), with no SQLAlchemy engine built or imported.
    Both name a database by its libpq parameters, so the engine of the configured database shares its reader."""
    if engine is None:
        params = conninfo_params(normalise_url(database_url()).replace("+psycopg", "", 1))
    else:
        u = engine.url  # its parts, not its rendering (which would re-encode the password for SQLAlchemy)
        parts = {"host": u.host, "port": u.port, "user": u.username, "password": u.password, "dbname": u.database}
        query = {k: v[-1] if isinstance(v, tuple) else v for k, v in u.query.items()}
        params = {k: str(v) for k, v in {**{k: v for k, v in parts.items() if v is not None}, **query}.items()}
    key = tuple(sorted(params.items()))
    reader = _READERS.get(key)
    if reader is None:
        with _READERS_LOCK:
            reader = _READERS.setdefault(key, RowReader(dict(key)))
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
    import psycopg

    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("COPY needs the psycopg 3 driver (postgresql+psycopg://)")
    return driver
