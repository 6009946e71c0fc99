"""Path parameter parsing shared by the resource blueprints."""

from __future__ import annotations

import uuid

from stockscreen.core.errors import NotFound


def uuid_path(value: str, what: str) -> str:
    """A resource id from the path; anything that is not a UUID cannot exist (404, not 500)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(f"no {what} {value[:64]!r}") from None
