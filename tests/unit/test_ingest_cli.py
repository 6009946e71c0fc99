"""The ingest CLI: backfill chunks, progress lines, argument errors."""

from __future__ import annotations

import datetime as dt

import pytest

from devstack.cli import Progress, backfill_chunks, backfill_inputs, build_parser, main


def test_backfill_chunks_cover_the_range_without_overlap() -> None:
    chunks = backfill_chunks(dt.date(2018, 1, 1), dt.date(2018, 3, 5), days=31)
    assert [(c["from"], c["to"]) for c in chunks] == [
        ("2018-01-01", "2018-01-31"),
        ("2018-02-01", "2018-03-03"),
        ("2018-03-04", "2018-03-05"),
    ]
    assert all(c["provider"] == "stooq" for c in chunks)


def test_progress_prints_plain_lines_when_not_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    bar = Progress(4)
    bar.update(1, "2018-01-01..2018-01-31: +100 bars")
    bar.finish()
    assert capsys.readouterr().err == "progress 1/4 (25%) 2018-01-01..2018-01-31: +100 bars\n"


def test_backfill_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["ingest", "backfill", "--from", "2018-01-01", "--to", "2018-02-07"])
    assert (args.start, args.end) == (dt.date(2018, 1, 1), dt.date(2018, 2, 7))
    assert main(["ingest", "backfill", "--from", "2018-02-07", "--to", "2018-01-01"]) == 2
    assert "--from 2018-02-07 is after --to 2018-01-01" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["ingest", "run", "--date", "07/02/2018"])
    assert "not a YYYY-MM-DD date" in capsys.readouterr().err


def test_a_multi_run_backfill_computes_the_snapshot_once_in_its_last_run() -> None:
    chunks = backfill_chunks(dt.date(2018, 1, 1), dt.date(2018, 3, 5), days=31)
    inputs = backfill_inputs(chunks)
    assert [i["source"] for i in inputs] == chunks
    assert [i.get("defer_snapshot", False) for i in inputs] == [True, True, False]
    assert [i.get("force", False) for i in inputs] == [False, False, True]
    # a single run is an ordinary run
    assert backfill_inputs(chunks[:1]) == [{"source": chunks[0]}]
