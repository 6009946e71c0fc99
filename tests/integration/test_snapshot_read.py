"""The snapshot's packed read of daily bars (one row per security, each column's values concatenated)
on real PostgreSQL: the same bars, sorted by security and date, whatever order the plan gives them in."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import Connection, create_engine, text

from stockscreen.db.engine import normalise_url
from stockscreen.pipeline import snapshot
from tests.conftest import truncate_all

START = dt.date(2021, 3, 1)


@pytest.fixture
def conn(stack_env: dict[str, str]) -> Iterator[Connection]:
    truncate_all(stack_env["DATABASE_URL"])
    engine = create_engine(normalise_url(stack_env["DATABASE_URL"]))
    with engine.begin() as c:
        ids = [
            int(
                c.execute(
                    text("INSERT INTO securities (symbol, name) VALUES (:s, :n) RETURNING id"), {"s": s, "n": s}
                ).scalar_one()
            )
            for s in ("AAA", "BBB", "CCC")
        ]
        # written newest first, a security's bars interleaved with another's: their order on disk is
        # not the read's; CCC's adjusted close is missing on some days, BBB has none at all
        rows = []
        for k in reversed(range(40)):
            day = START + dt.timedelta(days=k)
            for j, sid in enumerate(ids[:2] if k % 3 else ids):
                adj = None if (j == 1 or (j == 2 and k % 2)) else 10.0 + k / 7
                rows.append(
                    {
                        "s": sid,
                        "d": day,
                        "o": 10.0 + k + j,
                        "h": 11.5 + k + j,
                        "l": 9.25 + k,
                        "c": 10.5 + k / 3,
                        "v": 1_000_000 * (k + 1) + j,
                        "a": adj,
                    }
                )
        c.execute(
            text(
                "INSERT INTO daily_bars (security_id, date, open, high, low, close, volume, adj_close) "
                "VALUES (:s, :d, :o, :h, :l, :c, :v, :a)"
            ),
            rows,
        )
    with engine.connect() as c, c.begin():
        yield c
    engine.dispose()
    truncate_all(stack_env["DATABASE_URL"])


def _expected(conn: Connection, where: str = "true") -> list[tuple[int, dt.date, tuple[float, ...]]]:
    rows = conn.execute(
        text(
            "SELECT security_id, date, open, high, low, close, volume, adj_close FROM daily_bars "
            f"WHERE {where} ORDER BY security_id, date"
        )
    ).all()
    return [(int(r[0]), r[1], tuple(math.nan if v is None else float(v) for v in r[2:])) for r in rows]


def _as_rows(bars: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[tuple[int, dt.date, tuple[float, ...]]]:
    ids, dates, values = bars
    return [(int(i), d.item(), tuple(float(v) for v in row)) for i, d, row in zip(ids, dates, values, strict=True)]


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and x[1] == y[1] and all((u == v) or (math.isnan(u) and math.isnan(v)) for u, v in zip(x[2], y[2]))
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("plan", ["index", "sequential scan, hashed groups", "sequential scan, sorted groups"])
def test_packed_read_equals_the_rows_in_order(conn: Connection, plan: str) -> None:
    if plan != "index":  # the rows reach the aggregates in the order they were written (newest first)
        conn.execute(text("SET LOCAL enable_indexscan = off"))
        conn.execute(text("SET LOCAL enable_bitmapscan = off"))
        conn.execute(text(f"SET LOCAL enable_hashagg = {'on' if 'hashed' in plan else 'off'}"))
    got = snapshot.load_bars(conn)
    assert got[2].shape == (len(got[0]), 6) and got[1].dtype == np.dtype("datetime64[D]")
    expected = _expected(conn)
    assert len(expected) == 40 + 40 + 14
    assert _same(_as_rows(got), expected)
    # within dates, for some securities (the daily run's tails), and none at all
    ids = [e[0] for e in expected]
    sub = snapshot.load_bars(conn, since=START + dt.timedelta(days=30), security_ids=[ids[0], ids[-1]])
    where = f"date >= '{START + dt.timedelta(days=30)}' AND security_id IN ({ids[0]}, {ids[-1]})"
    assert _same(_as_rows(sub), _expected(conn, where)) and len(sub[0]) == 10 + 4
    until = snapshot.load_bars(conn, until=START + dt.timedelta(days=4))
    assert _same(_as_rows(until), _expected(conn, f"date <= '{START + dt.timedelta(days=4)}'"))
    none = snapshot.load_bars(conn, security_ids=[])
    assert len(none[0]) == 0 and none[2].shape == (0, 6)


def test_packed_read_fetches_in_batches(conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Securities arrive a batch at a time (the client's bytes in flight are bounded): the whole is the same."""
    monkeypatch.setattr(snapshot, "_FETCH", 1)
    assert _same(_as_rows(snapshot.load_bars(conn)), _expected(conn))
