"""The row reader over psycopg's own libpq (``stockscreen.db.libpq``) against real PostgreSQL servers, each
read compared with the same read through psycopg: the same values (types, time zones, NULLs, parameters),
the same exception classes, the same connection parameters (TLS with ``sslmode``, a password with URL
escapes, ``options``), and psycopg itself wherever the lean reader would read differently."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from devstack.services import Postgres, free_port
from stockscreen.core.errors import unavailable_from
from stockscreen.db import libpq
from stockscreen.db.engine import RowReader, conninfo_params
from tests.integration.test_resp_client import _tls_files

pytestmark = pytest.mark.skipif(not libpq.available(), reason="psycopg's binary package (its libpq) is not installed")


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _outcome(reader: RowReader, sql: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        return "row", reader.one(sql, args)
    except Exception as exc:
        return "error", type(exc)


def both(url: str, sql: str, args: tuple[Any, ...] = ()) -> tuple[str, Any]:
    """What the lean reader and psycopg's read (new connections from ``url``), asserted equal: a row of equal
    values of equal types, or the same exception class."""
    params = conninfo_params(url)
    lean, ref = RowReader(params), RowReader(params, lean=False)
    assert lean.lean and not ref.lean
    try:
        got, want = _outcome(lean, sql, args), _outcome(ref, sql, args)
    finally:
        lean.close()
        ref.close()
    assert repr(got) == repr(want)  # (repr: NaN is not equal to itself; the types and time zones show too)
    if got[0] == "row" and got[1] is not None:
        assert [type(v) for v in got[1]] == [type(v) for v in want[1]]
    return got


TYPES = (
    "SELECT true, false, 'x'::\"char\", 'n'::name, 9007199254740993::int8, -7::int2, 42::int4, 26::oid, "
    "'héllo wörld'::text, 'ab'::bpchar(4), 'v'::varchar, 1.5::float4, 0.1::float8, 'Infinity'::float8, "
    "'NaN'::float8, 12.3400::numeric, 'NaN'::numeric, 1e-30::numeric, '2018-02-07'::date, '0099-12-31'::date, "
    "'2018-02-07 12:34:56.789'::timestamp, '2018-02-07 12:34:56.5+02'::timestamptz, "
    "'1890-06-01 12:00:00+00'::timestamptz, '2021-03-28 01:30:00+00'::timestamptz, "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '{\"a\": [1, 2.5, null]}'::json, '{\"b\": {\"c\": true}}'::jsonb, "
    "NULL::int4, NULL::text, NULL::timestamptz"
)


def test_values_are_psycopgs(database_url: str) -> None:
    kind, row = both(_plain(database_url), TYPES)
    assert kind == "row" and row is not None and row[0] is True and row[4] == 9007199254740993
    assert row[8] == "héllo wörld" and row[9] == "ab  " and str(row[15]) == "12.3400"
    assert row[21].utcoffset() is not None and row[-3:] == (None, None, None)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns", "Europe/London", "Not/A_Zone_PG_Knows"])
def test_timestamps_are_in_the_sessions_time_zone_as_psycopg_has_them(database_url: str, zone: str) -> None:
    """``options=-c TimeZone=...`` reaches the server (as any libpq parameter); the reader reads the session's
    zone as psycopg does (the snapshot version's ``created_at`` text names its artifact: it must not change)."""
    url = f"{_plain(database_url)}?options={quote(f'-c TimeZone={zone}')}"
    kind, row = both(url, "SELECT '2018-02-07 12:34:56.5+02'::timestamptz, '2021-03-28 01:30:00+00'::timestamptz")
    if zone == "Not/A_Zone_PG_Knows":
        assert kind == "error" and issubclass(row, psycopg.OperationalError)  # the server refuses it: both fail
        return
    assert kind == "row" and row is not None and str(row[0]).startswith("2018-02-07")


def test_parameters_and_percent_signs(database_url: str) -> None:
    sql = "SELECT %s::text, %s + 1, %s, CAST(%s AS uuid), CAST(%s AS text) IS NULL, %s, %s * 2, 'a%%b', %s"
    args = ("o'hara", 41, "text", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None, True, 1.25, 2**70)
    kind, row = both(_plain(database_url), sql, args)
    assert kind == "row" and row is not None
    assert row[:3] == ("o'hara", 42, "text") and row[4:8] == (True, True, 2.5, "a%b") and row[8] == 2**70


def test_prepared_after_five_runs_in_step_with_psycopg(database_url: str) -> None:
    """A statement run five times is prepared on the connection (as psycopg does: the version read before
    every screen skips the server's parse and plan); both readers, step by step, give the same outcomes while
    rows change and a parameter's type changes, both refuse once the table's columns change under the prepared
    statement, and both reconnect when the server ends the connection."""
    url = _plain(database_url)
    params = conninfo_params(url)
    lean, ref = RowReader(params), RowReader(params, lean=False)
    read = "SELECT * FROM libpq_probe WHERE id = %s"
    steps: list[tuple[str, tuple[Any, ...]]] = [(read, (1,))] * 7 + [(read, (None,))] * 6 + [(read, ("1",))] * 6
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("DROP TABLE IF EXISTS libpq_probe")
        admin.execute("CREATE TABLE libpq_probe (id int PRIMARY KEY, v text)")
        admin.execute("INSERT INTO libpq_probe VALUES (1, 'a')")
        try:
            for i, (sql, args) in enumerate(steps):
                if i == 3:
                    admin.execute("UPDATE libpq_probe SET v = 'b'")
                assert repr(_outcome(lean, sql, args)) == repr(_outcome(ref, sql, args)), (i, sql, args)
            # one per parameter type: int8, and untyped (a str, or a NULL)
            assert lean.one("SELECT count(*) FROM pg_prepared_statements", ()) == (2,)
            # a bad value is the value's error; the statement stays prepared
            assert _outcome(lean, read, ("x",)) == _outcome(ref, read, ("x",))
            assert lean.one("SELECT count(*) FROM pg_prepared_statements", ()) == (2,)
            # the prepared statement's result type changed: the server refuses it, to both readers; psycopg
            # keeps the statement (and the error, on that connection), the lean reader runs it anew
            admin.execute("ALTER TABLE libpq_probe ALTER v TYPE int USING length(v)")
            assert (
                _outcome(lean, read, (1,)) == _outcome(ref, read, (1,)) == ("error", psycopg.errors.FeatureNotSupported)
            )
            assert lean.one(read, (1,)) == (1, 1)
            assert lean.one("SELECT count(*) FROM pg_prepared_statements", ()) == (1,)  # the stale one deallocated
            for reader in (lean, ref):
                pid = reader.one("SELECT pg_backend_pid()", ())
                assert pid is not None
                admin.execute("SELECT pg_terminate_backend(%s)", (pid[0],))
            assert lean.one(read, (1,)) == ref.one(read, (1,)) == (1, 1)  # a new connection, prepared anew later
        finally:
            lean.close()
            ref.close()
            admin.execute("DROP TABLE libpq_probe")


@pytest.fixture(scope="module")
def sample(stack_env: dict[str, str]) -> dict[str, str]:
    """The 8-symbol sample loaded by the ingest state machine (a snapshot version and its artifact)."""
    from tests.integration.authkit import load_sample

    load_sample(stack_env)
    return stack_env


def test_the_snapshot_version_row_reads_as_through_psycopg(sample: dict[str, str]) -> None:
    """``universe._current``'s statement (its ``created_at`` text names the artifact) and the one-round-trip
    read of the version with the reference fingerprint, equal through both readers."""
    from stockscreen.screening import universe

    url = _plain(sample["DATABASE_URL"])
    kind, row = both(url, universe._CURRENT_SQL)
    assert kind == "row" and row is not None and str(row[2]).endswith("+00:00")
    kind, with_reference = both(url, universe._CURRENT_AND_REFERENCE_SQL)
    fingerprint = both(url, universe._REFERENCE_SQL)[1]
    assert with_reference is not None and with_reference[:3] == row and with_reference[3] == fingerprint[0]


def test_a_user_defined_type_is_text_and_an_unknown_builtin_one_an_error(database_url: str) -> None:
    """psycopg reads a type it has no loader for (an enum) as text; a built-in type the lean reader has no
    loader for is an error there (psycopg would give another value), never a different value."""
    url = _plain(database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TYPE IF EXISTS libpq_probe_mood")
        conn.execute("CREATE TYPE libpq_probe_mood AS ENUM ('calm', 'busy')")
    try:
        assert both(url, "SELECT 'busy'::libpq_probe_mood") == ("row", ("busy",))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TYPE libpq_probe_mood")
    reader = RowReader(conninfo_params(url))
    try:
        for sql in ("SELECT interval '1 day'", "SELECT ARRAY[1, 2]", "SELECT '\\x00'::bytea"):
            with pytest.raises(psycopg.NotSupportedError):
                reader.one(sql, ())
        assert reader.one("SELECT 1", ()) == (1,)
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("sql", "args", "error"),
    [
        ("SELECT v FROM no_such_table", (), psycopg.errors.UndefinedTable),
        ("SELECT 1 / 0", (), psycopg.errors.DivisionByZero),
        ("SELECT %s::int", ("x",), psycopg.errors.InvalidTextRepresentation),
        ("SELECT %s", ("nul\x00byte",), psycopg.DataError),
        ("SELECT 'infinity'::date", (), psycopg.DataError),
        ("SELECT '20000-01-01'::timestamptz", (), psycopg.DataError),
        ("SET search_path TO public", (), psycopg.ProgrammingError),
        ("SELECT %s, %s", (1,), psycopg.ProgrammingError),
    ],
)
def test_errors_are_psycopgs(database_url: str, sql: str, args: tuple[Any, ...], error: type[Exception]) -> None:
    kind, raised = both(_plain(database_url), sql, args)
    assert kind == "error" and issubclass(raised, error)


def test_an_unreachable_server_is_the_databases_503() -> None:
    reader = RowReader(conninfo_params(f"postgresql://postgres@127.0.0.1:{free_port()}/x"))
    assert reader.lean
    with pytest.raises(psycopg.OperationalError) as info:
        reader.one("SELECT 1", ())
    down = unavailable_from(info.value)
    assert down is not None and down.status == 503 and down.dependency == "database"
    assert both(f"postgresql://postgres@127.0.0.1:{free_port()}/x", "SELECT 1") == ("error", psycopg.OperationalError)


def test_a_session_read_otherwise_falls_back_to_psycopg(database_url: str) -> None:
    """Dates in another DateStyle (or text in another encoding): the reader uses psycopg for that database."""
    url = f"{_plain(database_url)}?options={quote('-c DateStyle=German')}"
    reader = RowReader(conninfo_params(url))
    try:
        assert reader.lean
        assert reader.one("SELECT '2018-02-07'::date, 'x'::text", ()) == (dt.date(2018, 2, 7), "x")
        assert not reader.lean
    finally:
        reader.close()


def test_conninfo_is_libpqs_parse_as_psycopg_has_it() -> None:
    for url in (
        "postgresql://u%40x:p%2Fw%3A%25@db.example:6432/my%20db?sslmode=verify-full&sslrootcert=/ca.pem",
        "postgresql://[::1]:5432/x?connect_timeout=3&application_name=a%20b",
        "host=h port=1 user=u password='a b\\'c' dbname=d sslmode=require",
    ):
        assert conninfo_params(url) == psycopg.conninfo.conninfo_to_dict(url)
    with pytest.raises(psycopg.ProgrammingError):
        conninfo_params("postgresql://h/?nosuchparam=1")


# ---------------------------------------------------------------- TLS and passwords


_PASSWORD = "p@ss:w/rd?&%é 'x"


@pytest.fixture(scope="module")
def tls_server() -> Iterator[dict[str, Any]]:
    """A PostgreSQL server that lets role ``app`` in over TLS only, with a SCRAM password (``postgres``: trust),
    its certificate signed by a CA of the test's own for localhost and 127.0.0.1."""
    base = Path(tempfile.mkdtemp(prefix="stockscreen-tls-"))
    os.chmod(base, 0o755)
    pg = Postgres(base / "pg", free_port())
    try:
        pg.start()
        ca, cert, key = _tls_files(base)
        for src, name in ((cert, "server.pem"), (key, "server.key")):
            dst = pg.datadir / name
            shutil.copy(src, dst)
            os.chmod(dst, 0o600)
            pg._chown(dst)
        hba = (
            "local all all trust",
            "host all postgres 127.0.0.1/32 trust",
            "hostssl all app 127.0.0.1/32 scram-sha-256",
        )
        (pg.datadir / "pg_hba.conf").write_text("\n".join(hba) + "\n")
        admin = f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("CREATE ROLE app LOGIN PASSWORD {}").format(psycopg.sql.Literal(_PASSWORD)))
            conn.execute("ALTER SYSTEM SET ssl = on")
            conn.execute("ALTER SYSTEM SET ssl_cert_file = 'server.pem'")
            conn.execute("ALTER SYSTEM SET ssl_key_file = 'server.key'")
            conn.execute("SELECT pg_reload_conf()")
        yield {"port": pg.port, "ca": str(ca)}
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


def _app_url(server: dict[str, Any], host: str = "localhost", password: str = _PASSWORD, **query: str) -> str:
    qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    return f"postgresql://app:{quote(password, safe='')}@{host}:{server['port']}/postgres?{qs}"


SSL_IN_USE = "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


def test_tls_verified_against_the_ca_with_the_escaped_password(tls_server: dict[str, Any]) -> None:
    for mode in ("require", "verify-ca", "verify-full"):
        kind, row = both(_app_url(tls_server, sslmode=mode, sslrootcert=tls_server["ca"]), SSL_IN_USE)
        assert kind == "row" and row is not None and row[0] is True and str(row[1]).startswith("TLS"), mode
    kind, row = both(_app_url(tls_server, sslmode="prefer"), SSL_IN_USE)  # prefer: TLS when offered, unverified
    assert kind == "row" and row is not None and row[0] is True


@pytest.mark.parametrize(
    ("url", "why"),
    [
        pytest.param(lambda s: _app_url(s, sslmode="disable"), "no encryption", id="plain text refused"),
        pytest.param(
            lambda s: _app_url(s, sslmode="verify-full", sslrootcert=__file__), "certificate", id="unknown CA"
        ),
        pytest.param(
            lambda s: _app_url(s, sslmode="verify-full", sslrootcert=s["ca"], hostaddr="127.0.0.1").replace(
                "@localhost:", "@db.example:"
            ),
            "does not match host name",
            id="host name not in the certificate",
        ),
        pytest.param(
            lambda s: _app_url(s, password="wrong", sslmode="require"),
            "password authentication failed",
            id="wrong password",
        ),
    ],
)
def test_tls_and_password_refusals_are_the_same(tls_server: dict[str, Any], url: Any, why: str) -> None:
    assert both(url(tls_server), SSL_IN_USE) == ("error", psycopg.OperationalError)
    reader = RowReader(conninfo_params(url(tls_server)))
    with pytest.raises(psycopg.OperationalError, match=why) as info:
        reader.one(SSL_IN_USE, ())
    assert _PASSWORD not in str(info.value) and quote(_PASSWORD, safe="") not in str(info.value)


def test_a_first_screen_and_health_import_neither_psycopg_nor_asyncio(sample: dict[str, str]) -> None:
    """A new interpreter's first ``GET /health`` and anonymous screen against the real stack (the version and
    the reference fingerprint read, the artifact mapped), as a Lambda calls the handler: through libpq only,
    neither psycopg nor asyncio imported; pydantic not before the screen."""
    from chalice.config import Config
    from chalice.local import LocalGateway

    from devstack.lambdas import load_api

    api = load_api()
    gw = LocalGateway(api, Config.create(chalice_app=api, app_name=api.app_name, chalice_stage="api"))
    screen = dict(gw._generate_lambda_event("POST", "/screens/run", {"host": "test"}, None))
    screen["headers"] = {**screen["headers"], "content-type": "application/json"}
    screen["multiValueHeaders"] = {k: [v] for k, v in screen["headers"].items()}
    screen["body"] = json.dumps({"query": "market_cap > 2B", "sort": "symbol", "order": "asc"})
    events = [gw._generate_lambda_event("GET", "/health", {"host": "test"}, None), screen]
    code = (
        "import json, sys, types; sys.path.insert(0, 'functions/api')\n"
        "import app\n"
        "ctx = types.SimpleNamespace(function_name='stockscreen-api', aws_request_id='t', memory_limit_in_mb=512)\n"
        "health_event, screen_event = json.loads(sys.stdin.read())\n"
        "health = app.app(health_event, ctx)\n"
        "db = json.loads(health['body'])['checks']['database']['status']\n"
        "health_pydantic = 'pydantic' in sys.modules\n"
        "screen = app.app(screen_event, ctx)\n"
        "print(json.dumps({'health': [health['statusCode'], db, health_pydantic],\n"
        "                  'screen': [screen['statusCode'], len(json.loads(screen['body'])['data']) > 0],\n"
        "                  'loaded': sorted(m for m in ('psycopg', 'psycopg_binary', 'asyncio', 'sqlalchemy')\n"
        "                                   if m in sys.modules)}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(events), cwd=root, capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    # nor does /health import pydantic (the settings are read without it; the screen validates its body)
    assert found == {"health": [200, "ok", False], "screen": [200, True], "loaded": []}, out.stderr[-2000:]
