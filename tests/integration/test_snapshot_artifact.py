"""The snapshot artifact: written by the Aggregate task to S3 (moto), read back exactly, screened alike.

A small synthetic market goes through the real state machine with ``SNAPSHOT_BUCKET`` set; the
artifact it leaves must give the same universe as the database load, and the same screens.
"""

from __future__ import annotations

import datetime as dt
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
from stockscreen.screening.engine import ScreenRequest, run
from tests.conftest import truncate_all

QUERIES = [
    "market_cap > 1B and pe between 5 and 40 and rsi14 < 70",
    'close > sma50 and sector in ("Energy", "Financials", "Health Care")',
    "close > max(high, 252)[-1]",
    "rsi14 < 30 within 10 days",
    "volume > 2 * avg(volume, 50) or perf_1m > 5",
    'weekly.rsi14 > 50 and market_cap_bucket = "small"',
    "sma50 crosses_above sma200 within 20 days",
]


@pytest.fixture(scope="module")
def published(
    stack_env: dict[str, str], small_segments: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    cache_dir = tmp_path_factory.mktemp("artifact-cache")
    import os

    os.environ["SNAPSHOT_CACHE_DIR"] = str(cache_dir)
    artifact.artifact_settings.cache_clear()
    files = synth.write(synth.generate(80, 2, seed=21), tmp_path_factory.mktemp("synth"))
    truncate_all(stack_env["DATABASE_URL"])
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": [str(p) for p in files]}})
    assert result["status"] == "SUCCEEDED", result
    engine = create_engine(stack_env["DATABASE_URL"])
    version, as_of, created = U._current(engine)
    yield {"engine": engine, "version": version, "as_of": as_of, "created": created, "cache": cache_dir}
    U.reset_cache()
    engine.dispose()
    os.environ.pop("SNAPSHOT_CACHE_DIR", None)
    artifact.artifact_settings.cache_clear()


def _same(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)  # NaN in the same places counts as equal


def test_aggregate_uploads_the_artifact_in_segments(published: dict[str, Any], stack_env: dict[str, str]) -> None:
    name = artifact.name_of(published["version"], published["created"])
    listed = aws_client("s3").list_objects_v2(Bucket=stack_env["SNAPSHOT_BUCKET"], Prefix=f"snapshots/{name}/")
    contents = listed.get("Contents", [])
    keys = {o["Key"].removeprefix(f"snapshots/{name}/") for o in contents}
    assert {"manifest.json", "latest.npy", "symbols.npy", "dates.npy", "keys.npy"} <= keys
    manifest = artifact.previous_manifest(stack_env["SNAPSHOT_BUCKET"], aws_client("s3"), f"snapshots/{name}/")
    assert manifest is not None
    segments = manifest["segments"]
    assert [s["index"] for s in segments] == list(range(len(segments))) and len(segments) >= 2
    assert sum(s["dates"] for s in segments) == manifest["dates"]
    assert all(s["dates"] == manifest["segment_dates"] for s in segments[:-1])
    assert {artifact.segment_file(s["index"], k) for s in segments for k in artifact.BARS} <= keys


def test_artifact_round_trips_the_database_universe_exactly(published: dict[str, Any]) -> None:
    db = U.load(published["engine"], published["version"], published["as_of"])
    mapped = artifact.open_current(published["version"], published["created"])
    assert mapped is not None and isinstance(mapped.daily, artifact.MappedFrame)
    assert mapped.version == db.version and mapped.as_of == db.as_of and mapped.n == db.n > 70
    _same(mapped.symbols, db.symbols)
    _same(mapped.daily.dates, db.daily.dates)
    assert mapped.latest.keys() == db.latest.keys() and len(db.latest) > 50
    for k in db.latest:
        _same(mapped.latest[k], db.latest[k])
    for k in db.daily.fundamentals:
        _same(mapped.daily.fundamentals[k], db.daily.fundamentals[k])
    assert mapped.strings.keys() == db.strings.keys()
    for k, cat in db.strings.items():
        assert mapped.strings[k].categories == cat.categories
        _same(mapped.strings[k].codes, cat.codes)
    assert mapped.dates.keys() == db.dates.keys()
    for k in db.dates:
        _same(mapped.dates[k], db.dates[k])
    for k in artifact.BARS:
        grid = getattr(mapped.daily, k)
        _same(np.asarray(grid), getattr(db.daily, k))
        assert grid.flags.f_contiguous  # the production layout, straight from the mapped file


def test_screens_identical_from_artifact_and_database(published: dict[str, Any]) -> None:
    db = U.load(published["engine"], published["version"], published["as_of"])
    mapped = artifact.open_current(published["version"], published["created"])
    assert mapped is not None
    past = db.trading_dates[-30].astype(dt.date)
    matched = 0
    for q in QUERIES:
        for as_of in (None, past):
            req = ScreenRequest.from_body({"query": q, "limit": 500, "as_of": as_of, "sort": "perf_1m"})
            a, b = run(db, req), run(mapped, req)
            assert a.data == b.data and a.count == b.count, (q, as_of)
            matched += a.count
    assert matched > 0


def test_first_screen_maps_no_history(published: dict[str, Any]) -> None:
    """The latest date alone reads the snapshot's values: no bar file is downloaded for it."""
    artifact.clear_cache_dir()
    mapped = artifact.open_current(published["version"], published["created"])
    assert mapped is not None
    res = run(mapped, ScreenRequest.from_body({"query": "market_cap > 1B and rsi14 < 70", "limit": 50}))
    folder = Path(published["cache"]) / artifact.name_of(published["version"], published["created"])
    assert res.count > 0
    assert not any(p.name.startswith("bar_") for p in folder.iterdir())
    run(mapped, ScreenRequest.from_body({"query": "close > max(high, 252)[-1]", "limit": 50}))
    assert {p.name for p in folder.iterdir()} >= {"bar_h.npy", "bar_c.npy"}


def test_reference_data_changed_since_the_artifact_falls_back_to_the_database(published: dict[str, Any]) -> None:
    """A profile edited without a new snapshot version: the artifact's fingerprint no longer matches."""
    from sqlalchemy import text

    engine = published["engine"]
    U.reset_cache()
    assert isinstance(U.get_universe(engine).daily, artifact.MappedFrame)
    with engine.begin() as conn:
        old = conn.execute(text("SELECT name FROM securities WHERE symbol = 'B'")).scalar_one()
        conn.execute(text("UPDATE securities SET name = 'Renamed Corp' WHERE symbol = 'B'"))
    try:
        U.reset_cache()
        u = U.get_universe(engine)
        assert not isinstance(u.daily, artifact.MappedFrame)
        row = u.row_of("B")
        assert row is not None and u.strings["name"].values(np.array([row])) == ["Renamed Corp"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE securities SET name = :n WHERE symbol = 'B'"), {"n": old})
        U.reset_cache()
    assert isinstance(U.get_universe(engine).daily, artifact.MappedFrame)


def test_get_universe_uses_the_artifact_and_falls_back_without_one(
    published: dict[str, Any], stack_env: dict[str, str]
) -> None:
    U.reset_cache()
    assert isinstance(U.get_universe(published["engine"]).daily, artifact.MappedFrame)
    s3 = aws_client("s3")
    name = artifact.name_of(published["version"], published["created"])
    assert artifact.remove_older(stack_env["SNAPSHOT_BUCKET"], s3, keep=set()) > 0
    assert not s3.list_objects_v2(Bucket=stack_env["SNAPSHOT_BUCKET"], Prefix=f"snapshots/{name}/").get("Contents")
    artifact.clear_cache_dir()
    U.reset_cache()
    u = U.get_universe(published["engine"])
    assert not isinstance(u.daily, artifact.MappedFrame) and u.n > 70
    assert run(u, ScreenRequest.from_body({"query": "rsi14 < 70", "limit": 5})).count > 0
