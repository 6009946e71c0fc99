"""The cyclic garbage collector paused around work that builds many objects and no cycles.

A fan-out builds tens of thousands of short-lived containers (each connection's quote list, the posts) that
reference counting frees as soon as it returns. With the collector on, every young collection during the
build re-scans what it has built so far and promotes it, so the build pays for repeated scans (a tenth of a
10,000-connection tick) and the promoted objects bring on full collections of the whole heap (a long-running
process: a pause of tens of milliseconds, a second with 10,000 open WebSockets). :func:`paused` turns the
collector off for the block only; nothing is lost: what the block leaves behind is collected afterwards as usual.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # blocks inside paused(), over every thread
_resume = False  # whether the first of them found the collector on


@contextmanager
def paused() -> Iterator[None]:
    """Pause the cyclic collector for the block. Process-wide: nested and concurrent blocks are counted, and the
    last one out turns the collector back on, only if it was on when the first one came in."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
