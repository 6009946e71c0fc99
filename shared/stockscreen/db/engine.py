"""One SQLAlchemy engine per process, behind a getter tests can reset."""

from __future__ import annotations

from functools import cache
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, create_engine

from stockscreen.config import core_settings


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@cache
def get_engine() -> Engine:
    return create_engine(
        normalise_url(core_settings().database_url),
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"connect_timeout": 5},
    )


def psycopg_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy one (for COPY), in the same transaction."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("COPY needs the psycopg 3 driver (postgresql+psycopg://)")
    return driver
