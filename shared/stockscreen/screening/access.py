"""Which screener fields a caller's role may use (free: the basic set; premium and admin: all)."""

from __future__ import annotations

from collections.abc import Iterable

from stockscreen.core.errors import Forbidden
from stockscreen.core.policy import ANONYMOUS
from stockscreen.screening import ast as A
from stockscreen.screening.fields import BY_ID


def _effective(role: str) -> str:
    # anonymous visitors screen with the free plan's fields
    return "free" if role == ANONYMOUS else role


def blocked_fields(role: str, names: Iterable[str]) -> list[str]:
    """The fields among ``names`` that the role may not use, sorted."""
    return sorted({n for n in names if n in BY_ID and not BY_ID[n].allowed(_effective(role))})


def require_fields(role: str, names: Iterable[str]) -> None:
    """Forbidden (403) naming every field the role may not use."""
    blocked = blocked_fields(role, names)
    if blocked:
        raise Forbidden(
            f"{', '.join(blocked)} {'is a premium field' if len(blocked) == 1 else 'are premium fields'}; "
            "upgrade to premium to screen on them",
            {"fields": blocked, "role": role},
        )


def fields_in(condition: A.CondNode | None, sort: str | None = None, columns: Iterable[str] = ()) -> set[str]:
    """Every catalogue field a screen touches: its condition, sort key and chosen columns."""
    used = A.fields_of(condition)
    if sort:
        used.add(sort)
    used.update(columns)
    return used
