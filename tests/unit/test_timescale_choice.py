"""TIMESCALEDB's decision (a pure function of the server's facts) and the dev stack's preload detection."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from devstack.services import pkglibdir, preload_libraries, server_options
from stockscreen.db.timescale import Decision, ServerFacts, TimescaleUnavailable, decide, preload_list

MISSING = ServerFacts(available=False, preloaded=False)
NOT_PRELOADED = ServerFacts(available=True, preloaded=False)
READY = ServerFacts(available=True, preloaded=True)


def test_auto_uses_timescaledb_only_when_installed_and_preloaded() -> None:
    assert decide("auto", READY).use is True
    assert decide("auto", ServerFacts(available=True, preloaded=True, created=True)).use is True

    missing = decide("auto", MISSING)
    assert missing == Decision(
        False,
        "TIMESCALEDB=auto: the timescaledb extension is not installed on this PostgreSQL server; "
        "daily_bars uses native partitions",
    )
    unloaded = decide("auto", NOT_PRELOADED)
    assert unloaded.use is False
    assert "installed but not preloaded (not in shared_preload_libraries)" in unloaded.reason
    assert "native partitions" in unloaded.reason and "shared_preload_libraries = 'timescaledb'" in unloaded.reason
    # created in this database long ago, but the server no longer preloads it: still unusable
    assert decide("auto", ServerFacts(available=True, preloaded=False, created=True)).use is False


def test_auto_falls_back_with_the_servers_error_when_a_trial_create_failed() -> None:
    facts = ServerFacts(available=True, preloaded=False, error='extension "timescaledb" must be preloaded')
    decision = decide("auto", facts)
    assert decision.use is False
    assert 'CREATE EXTENSION timescaledb fails (extension "timescaledb" must be preloaded)' in decision.reason


def test_on_fails_loudly_with_what_to_fix() -> None:
    assert decide("on", READY).use is True
    with pytest.raises(TimescaleUnavailable, match="TIMESCALEDB=on but the timescaledb extension is not installed"):
        decide("on", MISSING)
    with pytest.raises(TimescaleUnavailable) as raised:
        decide("on", NOT_PRELOADED)
    assert "not preloaded" in str(raised.value)
    assert "add 'timescaledb' to shared_preload_libraries" in str(raised.value)
    assert "restart PostgreSQL" in str(raised.value)


def test_off_never_uses_it() -> None:
    for facts in (MISSING, NOT_PRELOADED, READY):
        assert decide("off", facts).use is False


@pytest.mark.parametrize(
    ("setting", "names"),
    [
        ("", []),
        ("timescaledb", ["timescaledb"]),
        ("pg_stat_statements, timescaledb", ["pg_stat_statements", "timescaledb"]),
        ("'timescaledb','auto_explain'", ["timescaledb", "auto_explain"]),
        ('"$libdir/timescaledb.so"', ["timescaledb"]),
        ("timescaledb_toolkit", ["timescaledb_toolkit"]),  # another library, not the extension's loader
    ],
)
def test_shared_preload_libraries_is_read_as_a_list(setting: str, names: list[str]) -> None:
    assert preload_list(setting) == names
    assert decide("auto", ServerFacts(True, "timescaledb" in preload_list(setting))).use is ("timescaledb" in names)


# --- the dev stack's servers: preload TimescaleDB whenever it is installed -------------------------


def test_the_library_file_in_the_servers_libdir_decides_the_preload(tmp_path: Path) -> None:
    assert preload_libraries(None) == []
    assert preload_libraries(tmp_path) == []
    (tmp_path / "timescaledb-2.17.2.so").touch()  # a versioned library alone is not the loader
    assert preload_libraries(tmp_path) == []
    (tmp_path / "timescaledb.so").touch()
    assert preload_libraries(tmp_path) == ["timescaledb"]


def test_the_servers_libdir_is_what_its_own_pg_config_says(tmp_path: Path) -> None:
    bindir = tmp_path / "16" / "bin"
    bindir.mkdir(parents=True)
    assert pkglibdir(bindir) is None  # neither pg_config nor ../lib
    (tmp_path / "16" / "lib").mkdir()
    assert pkglibdir(bindir) == tmp_path / "16" / "lib"  # Debian's layout
    elsewhere = tmp_path / "pkglib"
    elsewhere.mkdir()
    pg_config = bindir / "pg_config"
    pg_config.write_text(f'#!/bin/sh\n[ "$1" = --pkglibdir ] && echo {elsewhere}\n')
    pg_config.chmod(pg_config.stat().st_mode | stat.S_IXUSR)
    assert pkglibdir(bindir) == elsewhere


def test_server_options_preload_only_what_is_installed(tmp_path: Path) -> None:
    plain = server_options(5432, tmp_path, [])
    assert "shared_preload_libraries" not in plain
    assert "-p 5432" in plain and "fsync=off" in plain
    assert server_options(5432, tmp_path, ["timescaledb"]) == plain + " -c shared_preload_libraries=timescaledb"
