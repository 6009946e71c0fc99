"""``stockscreen.db.libpq`` without a server: which libpq it loads (psycopg's, or none), placeholders and
parameters as psycopg sends them. Against real servers: ``tests/integration/test_libpq_reader.py``."""

from __future__ import annotations

import psycopg
import pytest

from stockscreen.db import libpq
from stockscreen.db.engine import RowReader


def test_the_libpq_is_psycopg_binarys_own() -> None:
    path = libpq.library_path()
    assert path is not None and path.parent.name == "psycopg_binary.libs" and path.name.startswith("libpq-")
    lib = libpq.library()
    assert lib is not None and lib.PQlibVersion() >= 100000


@pytest.mark.parametrize("impl", ["python", "binary", "c"])
def test_a_psycopg_implementation_chosen_by_hand_means_psycopg(monkeypatch: pytest.MonkeyPatch, impl: str) -> None:
    """``PSYCOPG_IMPL`` (or psycopg's C package installed) may make psycopg load another libpq: then the
    reader is psycopg's, so that no read uses a libpq psycopg would not."""
    monkeypatch.setenv("PSYCOPG_IMPL", impl)
    assert libpq.library_path() is None


def test_no_libpq_means_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(libpq, "available", lambda: False)
    assert not RowReader({"host": "h"}).lean
    assert not RowReader({"host": "h"}, lean=True).lean


def test_placeholders_are_psycopgs() -> None:
    assert libpq._query("SELECT %s, %s WHERE a LIKE 'x%%'", 2) == b"SELECT $1, $2 WHERE a LIKE 'x%'"
    with pytest.raises(psycopg.ProgrammingError, match="2 placeholders but 1"):
        libpq._query("SELECT %s, %s", 1)
    with pytest.raises(psycopg.ProgrammingError, match="only %s"):
        libpq._query("SELECT %(name)s", 1)


def test_parameters_are_sent_as_psycopg_sends_them() -> None:
    assert libpq._param(None) == (None, 0)
    assert libpq._param("text") == (b"text", 0)  # untyped, as psycopg's str dumper sends it
    assert libpq._param(True) == (b"t", 16)  # a bool, not the int it also is
    assert libpq._param(-3) == (b"-3", 20)
    assert libpq._param(2**70) == (str(2**70).encode(), 1700)
    assert libpq._param(0.1) == (b"0.1", 701)
    with pytest.raises(psycopg.DataError):
        libpq._param("a\x00b")  # would be cut at the NUL by a C string
    with pytest.raises(TypeError):
        libpq._param(b"bytes")
