"""The one JSON reader for what clients send (HTTP request bodies, WebSocket messages).

``json.loads`` alone is not safe on untrusted input: a document nested a thousand levels deep raises
``RecursionError`` and a 5,000-digit integer raises a ``ValueError`` that talks about Python's
``int`` conversion limit. :func:`read_json` checks the size, the nesting depth (before parsing, so the
parser never recurses deeper than :data:`MAX_DEPTH`), the length of every number and the text of every
string, and raises :class:`~stockscreen.core.errors.Invalid` (400) or
:class:`~stockscreen.core.errors.PayloadTooLarge` (413) with a message that names the limit and where
the document broke it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from stockscreen.core.errors import Invalid, PayloadTooLarge

__all__ = ["MAX_DEPTH", "MAX_NUMBER_DIGITS", "bad_text", "read_json"]

#: Arrays and objects nested deeper than this are refused (no API body comes near it).
MAX_DEPTH = 32
#: Digits of one number literal, exponent included (a price or a count needs fewer than 20).
MAX_NUMBER_DIGITS = 100

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_DIGITS = re.compile(r"\d")


class _LongNumber:
    """Stands in for a number literal with too many digits until the walk finds where it is."""

    __slots__ = ("digits",)

    def __init__(self, literal: str) -> None:
        self.digits = len(_DIGITS.findall(literal))


def _number(convert: type[int] | type[float]) -> Any:
    def parse(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_DIGITS and len(_DIGITS.findall(literal)) > MAX_NUMBER_DIGITS:
            return _LongNumber(literal)
        return convert(literal)

    return parse


_parse_int = _number(int)
_parse_float = _number(float)


def _too_deep(text: str, max_depth: int) -> bool:
    """Whether arrays/objects nest deeper than ``max_depth`` (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def bad_text(value: str) -> bool:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL text is UTF-8 without NUL)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _loc(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _walk(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every key, string and long number of ``data`` with where it is (depth is bounded already)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*path, k), k
            yield from _walk(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _walk(v, (*path, i))
    elif isinstance(data, str | _LongNumber):
        yield path, data


def read_json(
    raw: str | bytes,
    *,
    max_bytes: int | None = None,
    max_depth: int = MAX_DEPTH,
    what: str = "request body",
    malformed: str = "malformed JSON",
) -> Any:
    """Parse ``raw`` (UTF-8/16/32 bytes or text) into plain JSON values, refusing what the API cannot take.

    ``what`` names the document in messages ("request body"); ``malformed`` prefixes a syntax error.
    Raises PayloadTooLarge above ``max_bytes``, Invalid for an empty document, malformed JSON, nesting
    deeper than ``max_depth``, a number longer than :data:`MAX_NUMBER_DIGITS` digits, or a string
    with NUL or unpaired surrogates.
    """
    size = len(raw.encode("utf-8", "surrogatepass")) if isinstance(raw, str) else len(raw)
    if max_bytes is not None and size > max_bytes:
        raise PayloadTooLarge(f"{what} is larger than {max_bytes} bytes", {"limit": max_bytes})
    if not raw.strip():
        raise Invalid(f"{what} is empty; expected a JSON object")
    try:
        text = raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError as exc:
        raise Invalid(f"{malformed}: {what} is not valid UTF-8 (byte {exc.start})") from None
    if _too_deep(text, max_depth):
        raise Invalid(
            f"{what} is nested too deeply: at most {max_depth} levels of arrays and objects",
            {"limit": max_depth},
        )
    try:
        data = json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as exc:
        raise Invalid(f"{malformed}: {exc}") from None
    except (ValueError, RecursionError):  # anything else the parser refuses: no Python internals out
        raise Invalid(f"{malformed}: {what} could not be parsed") from None
    for path, value in _walk(data):
        if isinstance(value, _LongNumber):
            raise Invalid(
                f"number at {_loc(path)} has {value.digits} digits; at most {MAX_NUMBER_DIGITS} are allowed",
                {"loc": _loc(path), "limit": MAX_NUMBER_DIGITS, "digits": value.digits},
            )
        if bad_text(value):
            raise Invalid(
                "strings must be valid UTF-8 without NUL characters",
                {"loc": _loc(path)},
            )
    return data
