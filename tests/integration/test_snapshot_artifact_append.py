"""A daily run appends its session to the previous version's artifact instead of rewriting all history.

The synthetic market but its last session goes through the state machine, then the last session as a run
of its own: the Aggregate task must append (the bar files composed in S3 from the old bytes and the new
rows) and the artifact must equal the database load exactly; a run that revises an old bar rewrites it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine

from devstack.stepfunctions import IngestStateMachine
from stockscreen.core.clients import aws_client
from stockscreen.market import synth
from stockscreen.screening import artifact
from stockscreen.screening import universe as U
from tests.conftest import truncate_all


def _split(bars: Path, folder: Path) -> tuple[Path, Path]:
    """All sessions but the last, and the last one of the securities listed before it (a new listing
    changes the artifact's securities: that run rewrites it whole)."""
    lines = bars.read_text().splitlines(keepends=True)
    last = max(line[:10] for line in lines[1:])
    before = [x for x in lines[1:] if not x.startswith(last)]
    listed = {x.rsplit(",", 1)[1] for x in before}
    history, day = folder / "history.csv", folder / "last-day.csv"
    history.write_text("".join([lines[0], *before]))
    day.write_text("".join([lines[0], *(x for x in lines[1:] if x.startswith(last) and x.rsplit(",", 1)[1] in listed)]))
    return history, day


@pytest.fixture(scope="module")
def daily(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("synth-append")
    cons, funds, bars = synth.write(synth.generate(60, 2, seed=5), folder)
    history, day = _split(bars, folder)
    truncate_all(stack_env["DATABASE_URL"])
    machine = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"])
    first = machine.run({"source": {"paths": [str(cons), str(funds), str(history)]}})
    assert first["status"] == "SUCCEEDED", first
    second = machine.run({"source": {"paths": [str(day)]}})
    assert second["status"] == "SUCCEEDED", second
    engine = create_engine(stack_env["DATABASE_URL"])
    yield {"engine": engine, "machine": machine, "first": first, "second": second, "bars": bars}
    U.reset_cache()
    engine.dispose()


def test_the_daily_run_appends_and_the_artifact_equals_the_database(daily: dict[str, Any]) -> None:
    assert daily["first"]["output"]["aggregate"]["artifact"]["mode"] == "full"
    out = daily["second"]["output"]["aggregate"]
    assert out["revised"] == 0 and out["artifact"]["mode"] == "appended", out["artifact"]
    version, as_of, created = U._current(daily["engine"])
    assert version == out["version"]
    db = U.load(daily["engine"], version, as_of)
    mapped = artifact.open_current(version, created)
    assert mapped is not None and len(mapped.trading_dates) == len(db.trading_dates) == out["artifact"]["dates"]
    np.testing.assert_array_equal(mapped.symbols, db.symbols)
    np.testing.assert_array_equal(mapped.daily.dates, db.daily.dates)
    for k in artifact.BARS:
        np.testing.assert_array_equal(np.asarray(getattr(mapped.daily, k)), getattr(db.daily, k))
    assert mapped.latest.keys() == db.latest.keys()
    for k in db.latest:
        np.testing.assert_array_equal(mapped.latest[k], db.latest[k])


def test_a_revised_old_bar_rewrites_the_artifact_whole(daily: dict[str, Any], tmp_path: Path) -> None:
    lines = daily["bars"].read_text().splitlines(keepends=True)
    old = lines[100].split(",")  # date,open,high,low,close,volume,Name: a bar of the first year
    old[4] = f"{float(old[4]) * 1.001:.4f}"
    old[2] = f"{max(float(old[2]), float(old[4])) + 0.01:.4f}"
    revised = tmp_path / "revised.csv"
    revised.write_text(lines[0] + ",".join(old))
    result = daily["machine"].run({"source": {"paths": [str(revised)]}})
    assert result["status"] == "SUCCEEDED", result
    out = result["output"]["aggregate"]
    assert out["revised"] >= 1 and out["artifact"]["mode"] == "full", out
    version, as_of, created = U._current(daily["engine"])
    mapped = artifact.open_current(version, created)
    assert mapped is not None
    np.testing.assert_array_equal(np.asarray(mapped.daily.c), U.load(daily["engine"], version, as_of).daily.c)


def test_a_large_bar_file_is_composed_from_a_server_side_copy(stack_env: dict[str, str]) -> None:
    """Past 2 x HEAD_PART bytes the old rows are not downloaded: a multipart upload copies them."""
    s3, bucket = aws_client("s3"), stack_env["SNAPSHOT_BUCKET"]
    rng = np.random.default_rng(1)
    old = rng.standard_normal((1100, 2000))  # 17.6 MB
    buf = io.BytesIO()
    np.save(buf, old, allow_pickle=False)
    s3.put_object(Bucket=bucket, Key="snapshots/test-old/bar_c.npy", Body=buf.getvalue())
    rows = rng.standard_normal((2, 2000))
    size = artifact._append_rows(bucket, s3, "snapshots/test-old/bar_c.npy", "snapshots/test-new/bar_c.npy", rows, 1102)
    body = s3.get_object(Bucket=bucket, Key="snapshots/test-new/bar_c.npy")["Body"].read()
    assert len(body) == size > 2 * artifact.HEAD_PART
    np.testing.assert_array_equal(np.load(io.BytesIO(body)), np.concatenate([old, rows]))
    with pytest.raises(ValueError, match="cannot take"):
        artifact._append_rows(bucket, s3, "snapshots/test-old/bar_c.npy", "snapshots/x/bar_c.npy", rows, 1200)
    artifact.remove_older(bucket, s3, keep=set())
