"""A daily run appends its session to the previous version's artifact instead of rewriting all history.

The synthetic market but its last session goes through the state machine, then the last session as a run
of its own: the Aggregate task must append (the bar files composed in S3 from the old bytes and the new
rows) and the artifact must equal the database load exactly; a run that revises an old bar rewrites it.
"""

from __future__ import annotations

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
from stockscreen.screening.history import Frame
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
def daily(
    stack_env: dict[str, str], small_segments: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
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


def test_the_daily_artifact_writes_only_its_open_segment(daily: dict[str, Any], stack_env: dict[str, str]) -> None:
    """The appended artifact names the previous folder for its full segments and holds the open one itself."""
    s3, bucket = aws_client("s3"), stack_env["SNAPSHOT_BUCKET"]
    prefix = daily["second"]["output"]["aggregate"]["artifact"]["prefix"]
    manifest = artifact.previous_manifest(bucket, s3, prefix)
    assert manifest is not None and manifest["appended_to"]
    previous = manifest["appended_to"].removeprefix(artifact.PREFIX).strip("/")
    *full, open_ = manifest["segments"]
    assert full and all(s["folder"] == previous and s["dates"] == manifest["segment_dates"] for s in full)
    assert open_["folder"] == "" and open_["index"] == len(full)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "bars/")["Contents"]
    assert {o["Key"].removeprefix(prefix) for o in listed} == {
        artifact.segment_file(open_["index"], k) for k in artifact.fields_of(manifest["adjusted"])
    }


# ---------------------------------------------------------------- segments, by key, in memory universes


def _universe(ids: list[int], symbols: list[str], dates: np.ndarray[Any, Any], seed: int) -> U.Universe:
    """A universe of securities ``ids`` (named ``symbols``) on ``dates``: a bar grid with gaps."""
    rng = np.random.default_rng(seed)
    n, t = len(ids), len(dates)
    c = np.asfortranarray(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, t)), axis=1)))
    c[rng.random((n, t)) < 0.05] = np.nan
    o, h, lo = (np.asfortranarray(c * f) for f in (0.99, 1.01, 0.98))
    v = np.asfortranarray(np.where(np.isnan(c), np.nan, rng.integers(1_000, 100_000, (n, t))))
    fr = Frame(dates, o, h, lo, c, v, {"pe": rng.uniform(5, 30, n)})
    u = U.Universe(7, dates[-1].astype(object), np.array(symbols), fr, {}, {}, security_ids=np.array(ids))
    u.cache_key = f"test-{seed}"
    return u


def _bars(u: U.Universe) -> int:
    return int(np.count_nonzero(~np.isnan(u.daily.c)))


def _expected(parts: list[U.Universe], last: U.Universe) -> dict[str, np.ndarray[Any, Any]]:
    """Each field's grid over all the parts' dates for ``last``'s securities, placed by id."""
    out = {}
    for k in artifact.BARS:
        cols = []
        for u in parts:
            assert u.security_ids is not None and last.security_ids is not None
            at = {int(x): i for i, x in enumerate(u.security_ids)}
            g = np.full((last.n, len(u.daily.dates)), np.nan)
            for r, sid in enumerate(last.security_ids.tolist()):
                if sid in at:
                    g[r] = getattr(u.daily, k)[at[sid]]
            cols.append(g)
        out[k] = np.concatenate(cols, axis=1)
    return out


@pytest.fixture
def bucket(stack_env: dict[str, str]) -> Iterator[tuple[str, Any]]:
    s3, name = aws_client("s3"), stack_env["SNAPSHOT_BUCKET"]
    artifact.remove_older(name, s3, keep=set())
    yield name, s3
    artifact.remove_older(name, s3, keep=set())


def _read(bucket: str, prefix: str, cache: Path) -> U.Universe:
    return artifact.read(artifact.s3_fetch(bucket, prefix, cache_dir=cache))


def test_listings_delistings_and_renames_append_by_security_id(bucket: tuple[str, Any], tmp_path: Path) -> None:
    """200 sessions (a full segment and an open one of 72), then a session on which a security listed, one
    was dropped and one changed its ticker, then 60 sessions that cross into a new segment: each appended
    artifact equals the whole history placed by id; the previous folders are kept while named."""
    name, s3 = bucket
    days = np.arange(np.datetime64("2020-01-01"), np.datetime64("2021-06-01"), dtype="datetime64[D]")
    first = _universe([1, 2, 3, 4], ["AA", "BB", "CC", "DD"], days[:200], 1)
    p1 = artifact.publish(first, name, s3, "one", segment=128)
    second = _universe([1, 3, 4, 5], ["AA", "CCX", "DD", "EE"], days[200:201], 2)  # 2 gone, 3 renamed, 5 listed
    p2 = artifact.PREFIX + artifact.name_of(8, "two") + "/"
    m1 = artifact.previous_manifest(name, s3, p1)
    assert m1 is not None
    assert artifact.append(second, name, s3, p1, m1, p2, "", m1["bars"] + _bars(second)) is None
    third = _universe([1, 3, 4, 5], ["AA", "CCX", "DD", "EE"], days[201:261], 3)
    p3 = artifact.PREFIX + artifact.name_of(9, "three") + "/"
    m2 = artifact.previous_manifest(name, s3, p2)
    assert m2 is not None
    assert artifact.append(third, name, s3, p2, m2, p3, "", m2["bars"] + _bars(third)) is None
    m3 = artifact.previous_manifest(name, s3, p3)
    assert m3 is not None
    assert [(s["index"], s["dates"]) for s in m3["segments"]] == [(0, 128), (1, 128), (2, 5)]
    assert [s["folder"] for s in m3["segments"]] == [artifact.name_of(7, "one"), "", ""]
    for prefix, parts in ((p2, [first, second]), (p3, [first, second, third])):
        got = _read(name, prefix, tmp_path / prefix.strip("/"))
        np.testing.assert_array_equal(got.symbols, parts[-1].symbols)
        assert len(got.daily.dates) == sum(len(u.daily.dates) for u in parts)
        for k, grid in _expected(parts, parts[-1]).items():
            np.testing.assert_array_equal(np.asarray(getattr(got.daily, k)), grid)
        assert got.daily.c.flags.f_contiguous
    # only the first artifact's folder is named by the third: the second goes, the first stays
    assert artifact.remove_older(name, s3, keep={artifact.name_of(9, "three")}) > 0
    assert s3.list_objects_v2(Bucket=name, Prefix=p1).get("KeyCount", 0) > 0
    assert s3.list_objects_v2(Bucket=name, Prefix=p2).get("KeyCount", 0) == 0
    again = _read(name, p3, tmp_path / "after-removal")
    np.testing.assert_array_equal(np.asarray(again.daily.c), _expected([first, second, third], third)["c"])


def test_an_append_that_does_not_line_up_writes_nothing(bucket: tuple[str, Any]) -> None:
    name, s3 = bucket
    days = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-03-01"), dtype="datetime64[D]")
    first = _universe([1, 2], ["AA", "BB"], days[:40], 1)
    p1 = artifact.publish(first, name, s3, "one", segment=128)
    m1 = artifact.previous_manifest(name, s3, p1)
    assert m1 is not None
    later = _universe([1, 2], ["AA", "BB"], days[40:41], 2)
    p2 = artifact.PREFIX + "8-two/"
    assert artifact.append(later, name, s3, p1, m1, p2, "", m1["bars"]) == "older bars added or removed"
    assert artifact.append(later, name, s3, p1, {**m1, "format": 1}, p2, "", 0) == "another format"
    same_day = _universe([1, 2], ["AA", "BB"], days[39:40], 2)
    assert artifact.append(same_day, name, s3, p1, m1, p2, "", 0) == "no session after the last one"
    assert s3.list_objects_v2(Bucket=name, Prefix=p2).get("KeyCount", 0) == 0


def test_an_artifact_of_the_previous_format_is_not_read(bucket: tuple[str, Any], tmp_path: Path) -> None:
    """A format-1 artifact left in the bucket by an earlier release: the API loads from the database."""
    name, s3 = bucket
    s3.put_object(Bucket=name, Key="snapshots/3-old/manifest.json", Body=b'{"format": 1, "version": 3}')
    with pytest.raises(artifact.Stale, match="format 1"):
        _read(name, "snapshots/3-old/", tmp_path)


def test_a_segment_shorter_than_its_manifest_says_is_an_error(bucket: tuple[str, Any], tmp_path: Path) -> None:
    name, s3 = bucket
    days = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-03-01"), dtype="datetime64[D]")
    p1 = artifact.publish(_universe([1, 2], ["AA", "BB"], days[:40], 1), name, s3, "one")
    s3.put_object(Bucket=name, Key=p1 + artifact.segment_file(0, "c"), Body=b"\0" * 64)
    got = _read(name, p1, tmp_path)
    with pytest.raises(ValueError, match="bytes, expected"):
        np.asarray(got.daily.c)
    assert not list((tmp_path / p1.removeprefix(artifact.PREFIX).strip("/")).glob("bar_c*"))
