"""Ticker symbol validation shared by the WebSocket messages and the connection registry."""

from __future__ import annotations

import re
from collections.abc import Iterable

from stockscreen.core.errors import Invalid

SYMBOL_RE = re.compile(r"[A-Z0-9.\-]{1,10}")
SYMBOL_RULE = "1-10 characters: letters A-Z, digits, '.' or '-'"


def normalize_symbol(symbol: object) -> str:
    """Return ``symbol`` stripped and uppercased, or raise :class:`Invalid`."""
    if not isinstance(symbol, str):
        raise Invalid(f"invalid symbol {symbol!r}: must be a string of {SYMBOL_RULE}", {"symbol": symbol})
    norm = symbol.strip().upper()
    if not SYMBOL_RE.fullmatch(norm):
        raise Invalid(f"invalid symbol {symbol!r}: expected {SYMBOL_RULE}", {"symbol": symbol})
    return norm


def normalize_symbols(symbols: Iterable[object]) -> list[str]:
    """Normalise every symbol, dropping duplicates but keeping the first-seen order."""
    seen: dict[str, None] = {}
    for s in symbols:
        seen.setdefault(normalize_symbol(s), None)
    return list(seen)
