"""Lambda memory sizes against the peaks measured on the 10,000-security x 20-year synthetic market.

``tests/bench/measured_peaks.json`` is written by the market-scale benchmarks (``make bench``, or
``pytest -s tests/bench/test_bench_market_scale.py tests/bench/test_bench_ingest_scale.py``); commit it
after a run. Each entry names a function (``api``, or ``ingest.<State>``) and its peak resident memory:
the declared MemorySize must hold the peak with ``MEMORY_HEADROOM`` to spare, or this test fails.
"""

from __future__ import annotations

from typing import Any

from stockscreen_infra import constants as c

from stockscreen.pipeline.definition import HANDLERS
from tests.bench.measured import load_peaks
from tests.infra.conftest import Synth


def _declared(synth: Synth) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    (api,) = synth.resources("AWS::Serverless::Function").values()
    out["api"] = api["Properties"]
    by_handler = {
        r["Properties"]["Handler"]: r["Properties"] for r in synth.resources("AWS::Lambda::Function").values()
    }
    for state, handler in HANDLERS.items():
        out[f"ingest.{state}"] = by_handler[handler]
    return out


def test_api_has_the_snapshot_bucket_and_room_in_tmp(synth: Synth) -> None:
    api = _declared(synth)["api"]
    assert api["MemorySize"] == c.API_MEMORY_MB
    assert api["EphemeralStorage"] == {"Size": c.API_EPHEMERAL_STORAGE_MB}
    assert c.ENV_SNAPSHOT_BUCKET in api["Environment"]["Variables"]
    aggregate = _declared(synth)["ingest.Aggregate"]
    assert c.ENV_SNAPSHOT_BUCKET in aggregate["Environment"]["Variables"]
    assert _declared(synth)["ingest.Fetch"]["MemorySize"] == c.INGEST_DEFAULT_MEMORY_MB


def test_every_measured_peak_fits_its_declared_memory_with_headroom(synth: Synth) -> None:
    """Each function measured on the 10k x 20y market (``measured_peaks.json``) declares at least its peak
    times ``MEMORY_HEADROOM``, within Lambda's 10,240 MB; the API and the Aggregate task are measured."""
    peaks = load_peaks()
    assert {"api", "ingest.Aggregate"} <= peaks.keys(), sorted(peaks)
    declared = _declared(synth)
    too_small = {
        name: (entry["peak_rss_mb"], declared[name]["MemorySize"])
        for name, entry in peaks.items()
        if declared[name]["MemorySize"] < entry["peak_rss_mb"] * c.MEMORY_HEADROOM
    }
    assert not too_small, f"measured peak (MB) x {c.MEMORY_HEADROOM} above MemorySize: {too_small}"
    assert all(p["MemorySize"] <= 10240 for p in declared.values())
    for entry in peaks.values():
        assert entry["dataset"] and entry["measured_on"] and entry["what"]


def test_memory_rule() -> None:
    assert c.memory_for(100) == c.MEMORY_FLOOR_MB == 1024
    assert c.memory_for(1000) == 1536  # 1,500 rounded up to the next 128
    assert c.memory_for(1025) == 1664
    assert c.memory_for(load_peaks()["api"]["peak_rss_mb"]) == c.API_MEMORY_MB
