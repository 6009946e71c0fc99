"""Screening domain types that are not API schemas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SavedScreenFields:
    """What a saved screen stores besides its owner, id, share link and times (validated by the service)."""

    name: str
    description: str | None
    query: str  # canonical query text ("" for every security)
    ast: dict[str, Any] | None  # the condition's AST as JSON data
    sort: str
    order: str
    columns: list[str] | None
