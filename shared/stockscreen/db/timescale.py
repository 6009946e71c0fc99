"""TimescaleDB or native partitions: the migrations' choice for ``daily_bars`` (``TIMESCALEDB``).

``off`` never uses TimescaleDB. ``on`` always does, and fails with what to fix when the server cannot.
``auto`` (the default) uses it only where it can work: the extension installed on the server
(``pg_available_extensions``) AND its library preloaded (``shared_preload_libraries``; without it
``CREATE EXTENSION timescaledb`` fails, "extension timescaledb must be preloaded"). Elsewhere it logs
one line saying why and the schema uses native partitions. A role that may not read
``shared_preload_libraries`` finds out by trying ``CREATE EXTENSION`` inside a savepoint instead.

:func:`decide` is the rule, a pure function of the server's facts (:class:`ServerFacts`);
:func:`use_timescaledb` reads the facts and applies it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from stockscreen.core.observability import logger

Mode = Literal["auto", "on", "off"]
LIBRARY = "timescaledb"
PRELOAD_HINT = (
    "add 'timescaledb' to shared_preload_libraries in postgresql.conf "
    "(shared_preload_libraries = 'timescaledb') and restart PostgreSQL"
)


class TimescaleUnavailable(RuntimeError):
    """``TIMESCALEDB=on`` on a server where TimescaleDB cannot work."""


@dataclass(frozen=True)
class ServerFacts:
    #: the extension is installed on the server (in pg_available_extensions)
    available: bool
    #: its library is in shared_preload_libraries; None when this role may not read that setting
    preloaded: bool | None
    #: already created in this database (pg_extension)
    created: bool = False
    #: why a CREATE EXTENSION tried in a savepoint failed (when ``preloaded`` had to be found out so)
    error: str | None = None


@dataclass(frozen=True)
class Decision:
    use: bool
    #: why: the line logged when ``auto`` falls back to native partitions
    reason: str


def preload_list(setting: str) -> list[str]:
    """The library names of a ``shared_preload_libraries`` value (``'a', "$libdir/b.so"`` -> a, b)."""
    names = []
    for item in setting.split(","):
        name = item.strip().strip("'\"").strip()
        name = name.rsplit("/", 1)[-1]
        for suffix in (".so", ".dylib", ".dll"):
            name = name.removesuffix(suffix)
        if name:
            names.append(name)
    return names


def mode_from_env() -> Mode:
    value = os.environ.get("TIMESCALEDB", "auto").strip().lower()
    if value not in ("auto", "on", "off"):
        raise ValueError(f"TIMESCALEDB must be auto, on or off, not {value!r}")
    return value  # type: ignore[return-value]


def decide(mode: Mode, facts: ServerFacts) -> Decision:
    """TimescaleDB or native partitions, given the server's facts (raises for ``on`` when it cannot work)."""
    if mode == "off":
        return Decision(False, "TIMESCALEDB=off: daily_bars uses native partitions")
    if not facts.available and not facts.created:
        reason = "the timescaledb extension is not installed on this PostgreSQL server"
        if mode == "on":
            raise TimescaleUnavailable(f"TIMESCALEDB=on but {reason} (install the timescaledb package of its version)")
        return Decision(False, f"TIMESCALEDB=auto: {reason}; daily_bars uses native partitions")
    if facts.preloaded is False:
        why = "the timescaledb extension is installed but not preloaded (not in shared_preload_libraries)"
        if facts.error:
            why = f"CREATE EXTENSION timescaledb fails ({facts.error})"
        if mode == "on":
            raise TimescaleUnavailable(f"TIMESCALEDB=on but {why}: {PRELOAD_HINT}")
        return Decision(False, f"TIMESCALEDB=auto: {why}; daily_bars uses native partitions ({PRELOAD_HINT} to use it)")
    return Decision(True, f"TIMESCALEDB={mode}: timescaledb is installed and preloaded")


def server_facts(conn: Connection) -> ServerFacts:
    """What the server says about TimescaleDB (``preloaded`` None when this role may not see it)."""
    available, created = conn.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'), "
            "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
        )
    ).one()
    preloaded: bool | None
    try:
        with conn.begin_nested():
            setting = conn.execute(text("SHOW shared_preload_libraries")).scalar_one()
        preloaded = LIBRARY in preload_list(str(setting))
    except DBAPIError:  # (a role without pg_read_all_settings may not read it)
        preloaded = None
    return ServerFacts(bool(available), preloaded, bool(created))


def _try_create(conn: Connection) -> str | None:
    """CREATE EXTENSION timescaledb in a savepoint: None when it worked (it stays), else the server's error."""
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
    except DBAPIError as exc:
        return str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
    return None


def use_timescaledb(conn: Connection, mode: Mode | None = None) -> bool:
    """Whether the schema on ``conn`` uses TimescaleDB (``mode`` defaults to ``TIMESCALEDB``, else auto).

    When ``auto`` falls back to native partitions, says why in one log line."""
    mode = mode or mode_from_env()
    if mode == "off":
        return False
    facts = server_facts(conn)
    if facts.available and facts.preloaded is None:
        error = _try_create(conn)
        facts = replace(facts, preloaded=error is None, error=error)
    decision = decide(mode, facts)
    if not decision.use:
        if facts.available:
            logger.warning(decision.reason)
        else:
            logger.info(decision.reason)
    return decision.use
