"""The snapshot's daily build equals a full rebuild on the same bars, on a synthetic market with what a
market has (listings, delistings, halts, splits): daily sessions loaded through the state machine one
at a time (securities advanced from their state, securities without a new bar keeping their row),
then a corrected old bar and a split-adjusted history re-sent by the provider (revised: recomputed), and
a session deleted and loaded again as it was (not a revision)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine

from devstack.stepfunctions import IngestStateMachine
from stockscreen.db.engine import normalise_url
from stockscreen.market import synth
from stockscreen.pipeline import snapshot
from tests.conftest import truncate_all
from tests.integration.test_snapshot import _current

HEADER = "date,open,high,low,close,volume,Name\n"


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _assert_equals_full_rebuild(engine: Engine) -> None:
    daily = _current(engine)
    with engine.begin() as conn:
        snapshot.build_snapshot(conn, None, full=True)
    full = _current(engine)
    assert set(daily) == set(full)
    wrong = [
        (symbol, field, daily[symbol][field], value)
        for symbol, row in full.items()
        for field, value in row.items()
        if not _same(daily[symbol][field], value)
    ]
    assert not wrong, wrong[:10]


def _run(machine: IngestStateMachine, path: Path) -> dict[str, Any]:
    result = machine.run({"source": {"paths": [str(path)]}})
    assert result["status"] == "SUCCEEDED", result
    return dict(result["output"]["aggregate"])


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, list[str], list[str]]:
    """The synthetic market's files: reference files, the bars but the last two sessions, and those."""
    folder = tmp_path_factory.mktemp("synth")
    cons, funds, bars = synth.write(synth.generate(240, 2, seed=11), folder)
    lines = bars.read_text().splitlines(keepends=True)[1:]
    days = sorted({line[:10] for line in lines})
    history = folder / "history.csv"
    history.write_text(HEADER + "".join(line for line in lines if line[:10] < days[-2]))
    return cons, funds, history, [line for line in lines if line[:10] == days[-2]], days[-2:]


def test_daily_runs_equal_a_full_rebuild(
    stack_env: dict[str, str], market: tuple[Path, Path, Path, list[str], list[str]], tmp_path: Path
) -> None:
    cons, funds, history, day1_lines, days = market
    truncate_all(stack_env["DATABASE_URL"])
    machine = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])
    engine = create_engine(normalise_url(stack_env["DATABASE_URL"]))
    try:
        machine.run({"source": {"paths": [str(cons), str(funds), str(history)]}})
        # 1. a daily session: advanced from the states; the delisted keep their rows
        day1 = tmp_path / "day1.csv"
        day1.write_text(HEADER + "".join(day1_lines))
        out = _run(machine, day1)
        assert out["revised"] == 0 and out["carried"] > 10 and out["incremental"] > 150, out
        assert out["recomputed"] < 10, out
        _assert_equals_full_rebuild(engine)

        # 2. the next session (after a full rebuild: states and rows of the rebuild), with a corrected
        # old bar of one security and the split-adjusted history of another re-sent
        with psycopg.connect(stack_env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")) as conn:
            movers = conn.execute(
                "SELECT s.symbol FROM securities s JOIN daily_bars b ON b.security_id = s.id "
                "WHERE b.date = %s GROUP BY s.symbol ORDER BY s.symbol LIMIT 2",
                (days[0],),
            ).fetchall()
            (corrected,), (split,) = movers
            old = conn.execute(
                "SELECT b.date, open, high, low, close, volume FROM daily_bars b JOIN securities s "
                "ON s.id = b.security_id WHERE s.symbol = %s ORDER BY b.date",
                (split,),
            ).fetchall()
            fix = conn.execute(
                "SELECT b.date, open, high, low, close, volume FROM daily_bars b JOIN securities s "
                "ON s.id = b.security_id WHERE s.symbol = %s ORDER BY b.date OFFSET 100 LIMIT 1",
                (corrected,),
            ).fetchone()
        assert fix is not None and len(old) > 300
        rows = [
            f"{fix[0]},{fix[1] * 1.02!r},{fix[2] * 1.02!r},{fix[3] * 1.02!r},{fix[4] * 1.02!r},{fix[5]},{corrected}\n"
        ]
        # a 2:1 split before the last 50 sessions, the history before it back-adjusted by the provider
        rows += [f"{d},{o / 2!r},{h / 2!r},{lo / 2!r},{c / 2!r},{v * 2},{split}\n" for d, o, h, lo, c, v in old[:-50]]
        day2 = tmp_path / "day2.csv"
        day2.write_text(HEADER + "".join(rows) + "".join(f"{days[1]}{line[10:]}" for line in day1_lines))
        out = _run(machine, day2)
        assert out["revised"] == 2 and out["carried"] == 0 and out["recomputed"] >= 2, out
        _assert_equals_full_rebuild(engine)

        # 3. the last session deleted and loaded again as it was (the states had seen it): not a revision
        with psycopg.connect(stack_env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")) as conn:
            conn.execute("DELETE FROM daily_bars WHERE date = %s", (days[1],))
        again = tmp_path / "again.csv"
        again.write_text(HEADER + "".join(f"{days[1]}{line[10:]}" for line in day1_lines))
        out = _run(machine, again)
        assert out["revised"] == 0 and out["recomputed"] < 10 and out["carried"] > 150, out
        _assert_equals_full_rebuild(engine)
    finally:
        engine.dispose()
