"""The render Lambda: a report's figures (JSON in the bucket) -> PDF, email parts, CSV (in the bucket).

Its own function so the PDF library (fpdf2; charts drawn as PDF vectors) is in no other package; it
imports neither the database nor the features (see tests/unit/test_reports_package.py for its size
and cold import time)."""

from __future__ import annotations

import sys
from functools import cache
from typing import Any

# fpdf2 imports NumPy when it can (only to parse some PNGs faster); the shared layer ships NumPy for the
# screener, and importing it would be half of this function's cold start. Nothing here needs it.
if "numpy" not in sys.modules:
    sys.modules["numpy"] = None  # type: ignore[assignment]

from stockscreen.core.correlation import from_state
from stockscreen.core.observability import entry
from stockscreen.reports.adapters import S3Store
from stockscreen.reports.rendering import render_to_store
from stockscreen.reports.settings import store_settings


@cache
def _store() -> S3Store:
    return S3Store(store_settings().reports_bucket)


@entry(from_state, flush_metrics=False)
def render(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return render_to_store(_store(), event["build"]["data_key"])
