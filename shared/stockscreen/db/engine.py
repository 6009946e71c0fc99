"""One SQLAlchemy engine per process, behind a getter tests can reset."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine, create_engine

from stockscreen.config import core_settings


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
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
