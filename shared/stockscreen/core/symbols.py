"""What a ticker symbol is: the one rule the HTTP API, the WebSocket and the database agree on.

A symbol is given in any case with surrounding blanks; it is stripped and uppercased, and must then be
1 to 16 of ``A-Z``, digits, ``.`` and ``-`` (the ``securities.symbol`` column's CHECK). In the core, not
the market feature, because the OpenAPI builder (``core.apispec``) documents the ``{symbol}`` path with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from stockscreen.core.errors import Invalid

MAX_SYMBOL_LENGTH = 16
_CHARS = rf"[A-Za-z0-9.\-]{{1,{MAX_SYMBOL_LENGTH}}}"
_SYMBOL_RE = re.compile(_CHARS)
#: what a client may send once stripped, in any case (the OpenAPI ``pattern``)
SYMBOL_PATTERN = f"^{_CHARS}$"
SYMBOL_RULE = f"1-{MAX_SYMBOL_LENGTH} characters: letters A-Z, digits, '.' or '-'"


def parse_symbol(symbol: object) -> str:
    """``symbol`` stripped and uppercased, or ValueError saying why not (pydantic reports ValueError)."""
    if not isinstance(symbol, str):
        raise ValueError(f"invalid symbol {symbol!r}: must be a string of {SYMBOL_RULE}")
    norm = symbol.strip()
    if not _SYMBOL_RE.fullmatch(norm):  # ASCII only, so upper() below cannot turn "ß" into "SS"
        raise ValueError(f"invalid symbol {symbol[:20]!r}: expected {SYMBOL_RULE}")
    return norm.upper()


def normalize_symbol(symbol: object) -> str:
    """Return ``symbol`` stripped and uppercased, or raise :class:`Invalid`."""
    try:
        return parse_symbol(symbol)
    except ValueError as exc:
        raise Invalid(str(exc), {"symbol": symbol}) from None


def normalize_symbols(symbols: Iterable[object]) -> list[str]:
    """Normalise every symbol, dropping duplicates but keeping the first-seen order."""
    seen: dict[str, None] = {}
    for s in symbols:
        seen.setdefault(normalize_symbol(s), None)
    return list(seen)


#: A symbol in an API schema: validated and normalised by the same rule, documented by its pattern.
Symbol = Annotated[str, AfterValidator(parse_symbol), WithJsonSchema({"type": "string", "pattern": SYMBOL_PATTERN})]
