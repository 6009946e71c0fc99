"""Offset pagination shared by every list: a bounded limit, a bounded offset, a stable order, the total count.

The one paging rule: ``limit`` 1..``MAX_LIMIT`` (default ``DEFAULT_LIMIT``), ``offset`` 0..``MAX_OFFSET``.
The API's ``Page`` query schema is built from these numbers; the screener pages its results with the same
offset bound and its own, larger ``limit`` bound (``screening.engine.MAX_LIMIT``).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_OFFSET = 1_000_000


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise ValueError(f"offset must be between 0 and {MAX_OFFSET}")
