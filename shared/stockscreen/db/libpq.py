"""One-row reads over libpq, the library psycopg itself drives, reached through :mod:`ctypes` without
importing psycopg.

Importing psycopg costs a cold API container ~45 ms before its first answer (its adapters, its async half
and asyncio with it, all registered at import), where the reads of a first request (the snapshot version
before a screen, ``GET /health``'s probe, the caller's account) need one connection and one statement.
This module loads the libpq that psycopg's binary package bundles (the one psycopg itself would load: no
other libpq is used, and none is used when psycopg would choose another), hands it the connection
parameters psycopg would (:func:`parse_conninfo` is libpq's own parser, as ``psycopg.conninfo`` uses it),
and reads text results into the Python values psycopg's default loaders give, for the types of
:data:`LOADERS`; a type it does not know is an error, never a different value. TLS, ``sslmode``, the
password and every other connection parameter are libpq's business, as with psycopg.

Errors are psycopg's own exception classes (imported when one is raised: the error path may pay for
psycopg), chosen as psycopg chooses them (by SQLSTATE; a failed connection, or one the server closed, is an
``OperationalError``), so callers and :func:`stockscreen.core.errors.unavailable_from` treat them as before.

Parameters: ``%s`` placeholders (``%%`` for a percent sign) with ``str`` (sent untyped, as psycopg sends
text), ``int``, ``float``, ``bool`` or ``None`` values.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import importlib.util
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from ctypes import POINTER, c_char_p, c_int, c_uint, c_void_p
from functools import cache
from pathlib import Path
from typing import Any

#: the first OID of a user-defined type: psycopg reads a type it has no loader for as text
FIRST_USER_OID = 16384

_CONNECTION_OK = 0
_PGRES_COMMAND_OK = 1
_PGRES_TUPLES_OK = 2
_PG_DIAG_SQLSTATE = ord("C")


def _numeric(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


def _timestamptz(text: str, tz: dt.tzinfo) -> dt.datetime:
    # psycopg: the value in the session's TimeZone (a ZoneInfo), as the server's offset says when
    return dt.datetime.fromisoformat(text).astimezone(tz)


#: text output -> the value psycopg's default text loader gives (DateStyle ISO; see :class:`Connection`)
LOADERS: dict[int, Callable[[str], Any]] = {
    16: lambda s: s == "t",  # bool
    18: str,  # "char"
    19: str,  # name
    20: int,  # int8
    21: int,  # int2
    23: int,  # int4
    25: str,  # text
    26: int,  # oid
    114: json.loads,  # json
    700: float,  # float4
    701: float,  # float8
    1042: str,  # bpchar
    1043: str,  # varchar
    1082: dt.date.fromisoformat,  # date
    1114: dt.datetime.fromisoformat,  # timestamp
    1700: _numeric,  # numeric (Decimal)
    2950: uuid.UUID,  # uuid
    3802: json.loads,  # jsonb
}
TIMESTAMPTZ = 1184

_PLACEHOLDER = re.compile(r"%(.)", re.DOTALL)

#: a statement run this many times on a connection is prepared there (psycopg's ``prepare_threshold``), at
#: most this many per connection (psycopg's ``prepared_max``): the version read before every screen skips
#: the server's parse and plan, as it did through psycopg
PREPARE_THRESHOLD = 5
PREPARED_MAX = 100
#: a prepared statement that no longer exists (26000) or whose result type changed under it (0A000, "cached
#: plan must not change result type", after ALTER TABLE): it is forgotten and run unprepared
_STALE_STATEMENT = frozenset({"26000", "0A000"})


def library_path() -> Path | None:
    """The libpq psycopg would load, when it is psycopg's binary package's bundled one; else None
    (psycopg's C package, a ``PSYCOPG_IMPL`` choice, or no binary package: use psycopg itself)."""
    if os.environ.get("PSYCOPG_IMPL") or importlib.util.find_spec("psycopg_c") is not None:
        return None
    spec = importlib.util.find_spec("psycopg_binary")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = Path(next(iter(spec.submodule_search_locations))).parent / "psycopg_binary.libs"
    found = sorted(libs.glob("libpq-*.so*")) if libs.is_dir() else []
    return found[0] if len(found) == 1 else None


class _ConninfoOption(ctypes.Structure):
    _fields_ = [
        ("keyword", c_char_p),
        ("envvar", c_char_p),
        ("compiled", c_char_p),
        ("val", c_char_p),
        ("label", c_char_p),
        ("dispchar", c_char_p),
        ("dispsize", c_int),
    ]


@cache
def library() -> ctypes.CDLL | None:
    """libpq with the signatures used here, or None when :func:`library_path` finds none (or it fails to load)."""
    path = library_path()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None
    sig: dict[str, tuple[Any, list[Any]]] = {
        "PQconnectdbParams": (c_void_p, [POINTER(c_char_p), POINTER(c_char_p), c_int]),
        "PQstatus": (c_int, [c_void_p]),
        "PQerrorMessage": (c_char_p, [c_void_p]),
        "PQparameterStatus": (c_char_p, [c_void_p, c_char_p]),
        "PQfinish": (None, [c_void_p]),
        "PQexecParams": (
            c_void_p,
            [c_void_p, c_char_p, c_int, POINTER(c_uint), POINTER(c_char_p), c_void_p, c_void_p, c_int],
        ),
        "PQresultStatus": (c_int, [c_void_p]),
        "PQresultErrorMessage": (c_char_p, [c_void_p]),
        "PQresultErrorField": (c_char_p, [c_void_p, c_int]),
        "PQcmdStatus": (c_char_p, [c_void_p]),
        "PQntuples": (c_int, [c_void_p]),
        "PQnfields": (c_int, [c_void_p]),
        "PQftype": (c_uint, [c_void_p, c_int]),
        "PQgetisnull": (c_int, [c_void_p, c_int, c_int]),
        "PQgetvalue": (c_void_p, [c_void_p, c_int, c_int]),
        "PQgetlength": (c_int, [c_void_p, c_int, c_int]),
        "PQclear": (None, [c_void_p]),
        "PQprepare": (c_void_p, [c_void_p, c_char_p, c_char_p, c_int, POINTER(c_uint)]),
        "PQexecPrepared": (c_void_p, [c_void_p, c_char_p, c_int, POINTER(c_char_p), c_void_p, c_void_p, c_int]),
        "PQconninfoParse": (c_void_p, [c_char_p, POINTER(c_void_p)]),
        "PQconninfoFree": (None, [c_void_p]),
        "PQfreemem": (None, [c_void_p]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


def available() -> bool:
    return library() is not None


def _lib() -> ctypes.CDLL:
    lib = library()
    if lib is None:  # pragma: no cover - callers check available() first
        raise RuntimeError("psycopg's bundled libpq is not available")
    return lib


def parse_conninfo(conninfo: str) -> dict[str, str]:
    """``psycopg.conninfo.conninfo_to_dict(conninfo)``: the parameters libpq reads from a connection string or
    URI (percent-decoded), those given only; ``psycopg.ProgrammingError`` when it is not one."""
    lib = _lib()
    err = c_void_p()
    opts = lib.PQconninfoParse(conninfo.encode(), ctypes.byref(err))
    if not opts:
        message = ctypes.string_at(err.value).decode("utf-8", "replace") if err.value else "unknown error"
        if err.value:
            lib.PQfreemem(err)
        import psycopg

        raise psycopg.ProgrammingError(f"invalid connection string: {message}")
    try:
        out: dict[str, str] = {}
        array = ctypes.cast(opts, POINTER(_ConninfoOption))
        i = 0
        while array[i].keyword is not None:
            if array[i].val is not None:
                out[array[i].keyword.decode()] = array[i].val.decode()
            i += 1
        return out
    finally:
        lib.PQconninfoFree(opts)


def _error(kind: str, message: str) -> Exception:
    import psycopg

    cls: type[Exception] = getattr(psycopg, kind)
    return cls(message)


def _query(sql: str, n: int) -> bytes:
    """psycopg's ``%s`` placeholders as ``$1``, ``$2``...; ``%%`` as ``%``."""
    count = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal count
        if m.group(1) == "%":
            return "%"
        if m.group(1) != "s":
            raise _error("ProgrammingError", f"only %s placeholders are supported here, not %{m.group(1)}")
        count += 1
        return f"${count}"

    out = _PLACEHOLDER.sub(sub, sql)
    if count != n:
        raise _error("ProgrammingError", f"the query has {count} placeholders but {n} parameters were passed")
    return out.encode()


def _param(value: Any) -> tuple[bytes | None, int]:
    """A parameter's text and type OID (0: untyped, as psycopg sends a str)."""
    if value is None:
        return None, 0
    if isinstance(value, bool):
        return (b"t" if value else b"f"), 16
    if isinstance(value, int):
        return str(value).encode(), 20 if -(2**63) <= value < 2**63 else 1700
    if isinstance(value, float):
        return repr(value).encode(), 701
    if isinstance(value, str):
        if "\x00" in value:
            raise _error("DataError", "PostgreSQL text fields cannot contain NUL (0x00) bytes")
        return value.encode(), 0
    raise TypeError(f"cannot send a {type(value).__name__} parameter over the libpq reader")


class Connection:
    """One autocommit connection (a statement is its own transaction, as with psycopg's ``autocommit=True``).
    Not thread-safe: its owner (:class:`stockscreen.db.engine.RowReader`) holds a lock around it."""

    def __init__(self, params: Mapping[str, str]) -> None:
        lib = _lib()
        keys = list(params)
        kw = (c_char_p * (len(keys) + 1))(*[k.encode() for k in keys], None)
        vals = (c_char_p * (len(keys) + 1))(*[str(params[k]).encode() for k in keys], None)
        self._lib = lib
        self._runs: dict[tuple[bytes, tuple[int, ...]], int] = {}
        self._prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        self._named = 0
        self._pgconn: int | None = lib.PQconnectdbParams(kw, vals, 0)
        if not self._pgconn:  # pragma: no cover - out of memory
            raise MemoryError("libpq could not allocate a connection")
        if lib.PQstatus(self._pgconn) != _CONNECTION_OK:
            message = self._message()
            self.close()
            raise _error("OperationalError", f"connection failed: {message}")

    def _message(self) -> str:
        raw = self._lib.PQerrorMessage(self._pgconn) if self._pgconn else None
        return raw.decode("utf-8", "replace").rstrip() if raw else "no connection"

    def _status(self, name: str) -> str:
        raw = self._lib.PQparameterStatus(self._pgconn, name.encode())
        return raw.decode() if raw else ""

    def readable(self) -> bool:
        """Does the session read text as this module does (UTF-8, ISO dates)? psycopg handles any other."""
        return self._status("client_encoding") == "UTF8" and self._status("DateStyle").startswith("ISO")

    @property
    def closed(self) -> bool:
        return not self._pgconn or self._lib.PQstatus(self._pgconn) != _CONNECTION_OK

    def close(self) -> None:
        pgconn, self._pgconn = self._pgconn, None
        if pgconn:
            self._lib.PQfinish(pgconn)

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of ``sql`` (None when there is none), its values as psycopg loads them."""
        lib = self._lib
        query = _query(sql, len(params))
        sent = [_param(p) for p in params]
        n = len(sent)
        values = (c_char_p * max(n, 1))(*(text for text, _ in sent))
        types = (c_uint * max(n, 1))(*(oid for _, oid in sent))
        key = (query, tuple(oid for _, oid in sent))
        name = self._prepared.get(key) or self._prepare(key, n, types)
        if name is not None:
            res = lib.PQexecPrepared(self._pgconn, name, n, values, None, None, 0)
        else:
            res = lib.PQexecParams(self._pgconn, query, n, types, values, None, None, 0)
        if not res:
            raise _error("OperationalError", f"sending query failed: {self._message()}")
        try:
            status = lib.PQresultStatus(res)
            if status == _PGRES_TUPLES_OK:
                return self._row(res) if lib.PQntuples(res) else None
            if status == _PGRES_COMMAND_OK:
                command = (lib.PQcmdStatus(res) or b"").decode()
                raise _error(
                    "ProgrammingError", f"the last operation didn't produce records (command status: {command})"
                )
            state = (lib.PQresultErrorField(res, _PG_DIAG_SQLSTATE) or b"").decode()
            if name is not None and state in _STALE_STATEMENT:
                self._forget(key, name, deallocate=state != "26000")
            raise self._failure(res, state)
        finally:
            lib.PQclear(res)

    def _forget(self, key: tuple[bytes, tuple[int, ...]], name: bytes, *, deallocate: bool) -> None:
        """Run the statement unprepared from now on (prepared anew after its next runs), its old one gone."""
        del self._prepared[key]
        if deallocate:
            res = self._lib.PQexecParams(self._pgconn, b"DEALLOCATE " + name, 0, None, None, None, None, 0)
            if res:
                self._lib.PQclear(res)

    def _prepare(self, key: tuple[bytes, tuple[int, ...]], n: int, types: Any) -> bytes | None:
        """The statement's name once it has run :data:`PREPARE_THRESHOLD` times (prepared now), else None."""
        runs = self._runs[key] = self._runs.get(key, 0) + 1
        if runs < PREPARE_THRESHOLD or len(self._prepared) >= PREPARED_MAX:
            return None
        del self._runs[key]
        self._named += 1  # (never reused on this connection, even for a statement dropped after an error)
        name = f"_stockscreen_{self._named}".encode()
        res = self._lib.PQprepare(self._pgconn, name, key[0], n, types)
        ok = bool(res) and self._lib.PQresultStatus(res) == _PGRES_COMMAND_OK
        if res:
            self._lib.PQclear(res)
        if not ok:
            return None  # run unprepared: its own error, if any, is the one to raise
        self._prepared[key] = name
        return name

    def _failure(self, res: int, state: str) -> Exception:
        """psycopg's exception for a failed statement: by SQLSTATE; without one, an ``OperationalError``
        when the connection is gone (the server closed it), else a ``DatabaseError``."""
        import psycopg

        lib = self._lib
        message = (lib.PQresultErrorMessage(res) or b"").decode("utf-8", "replace").rstrip() or self._message()
        cls: type[Exception]
        if state:
            try:
                cls = psycopg.errors.lookup(state)
            except KeyError:
                cls = psycopg.errors.get_base_exception(state)
        else:
            cls = psycopg.OperationalError if self.closed else psycopg.DatabaseError
        return cls(message)

    def _row(self, res: int) -> tuple[Any, ...]:
        lib = self._lib
        out: list[Any] = []
        tz: dt.tzinfo | None = None
        for col in range(lib.PQnfields(res)):
            if lib.PQgetisnull(res, 0, col):
                out.append(None)
                continue
            text = ctypes.string_at(lib.PQgetvalue(res, 0, col), lib.PQgetlength(res, 0, col)).decode()
            oid = lib.PQftype(res, col)
            try:
                if oid == TIMESTAMPTZ:
                    tz = tz or self._timezone()
                    out.append(_timestamptz(text, tz))
                elif oid in LOADERS:
                    out.append(LOADERS[oid](text))
                elif oid >= FIRST_USER_OID:
                    out.append(text)
                else:
                    raise _error("NotSupportedError", f"the libpq reader does not read type OID {oid}: use psycopg")
            except ValueError as exc:
                raise _error("DataError", f"cannot read {text!r} (type OID {oid}): {exc}") from None
        return tuple(out)

    def _timezone(self) -> dt.tzinfo:
        """The session's TimeZone as psycopg reads it (UTC when Python does not know it)."""
        return _zone(self._status("TimeZone") or "UTC")


_ZONES: dict[str, dt.tzinfo] = {"UTC": dt.UTC}  # (psycopg's too: not the ZoneInfo)
_ZONES_LOCK = threading.Lock()


def _zone(name: str) -> dt.tzinfo:
    zone = _ZONES.get(name)
    if zone is None:
        from zoneinfo import ZoneInfo

        try:
            zone = ZoneInfo(name)
        except Exception:  # psycopg: an unknown zone is UTC (with a warning)
            zone = dt.UTC
        with _ZONES_LOCK:
            _ZONES[name] = zone
    return zone
