"""Capture the JSON lines Powertools loggers write (as CloudWatch receives them), for assertions on their keys."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class JsonLines:
    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines() if line.startswith("{")]


@contextmanager
def json_logs(*loggers: Any) -> Iterator[JsonLines]:
    """Every line the given Powertools loggers write while the block runs, parsed, each formatted by its own
    logger's formatter (the one that writes to stdout)."""
    out = JsonLines()
    added: list[tuple[Any, logging.Handler]] = []
    for log in loggers:
        handler = logging.StreamHandler(out.buffer)
        handler.setFormatter(log.registered_formatter)
        log.addHandler(handler)
        added.append((log, handler))
    try:
        yield out
    finally:
        for log, handler in added:
            log.removeHandler(handler)
