"""Peak resident memory measured by the market-scale benchmarks, kept in ``measured_peaks.json``.

One entry per Lambda function (``api``, ``ingest.<State>``): its peak in MB, what was run, on which data
set and when. ``tests/infra/test_memory_sizes.py`` checks every entry against the function's declared
MemorySize; commit the file after a benchmark run (see ``infra_cdk/README.md``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

PEAKS = Path(__file__).with_name("measured_peaks.json")


def load_peaks() -> dict[str, dict[str, Any]]:
    return json.loads(PEAKS.read_text()) if PEAKS.exists() else {}


def record_peak(function: str, peak_mb: float, what: str, dataset: str, **extra: Any) -> None:
    """Record (replace) one function's measured peak."""
    measured = load_peaks()
    measured[function] = {
        "peak_rss_mb": math.ceil(peak_mb),
        "what": what,
        "dataset": dataset,
        "measured_on": dt.date.today().isoformat(),
        **extra,
    }
    PEAKS.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n")
