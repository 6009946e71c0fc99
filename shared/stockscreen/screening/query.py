"""A minimal text form of a screen: ``field op value [and field op value ...]``.

Numbers take K/M/B/T suffixes (``market_cap > 10B``) and ``%`` is accepted on percent
fields (``change_pct > 2%``); text values are quoted. The full query language (grammar,
OR/NOT, history functions) replaces this with the screener issue.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from stockscreen.errors import Invalid
from stockscreen.screening.engine import Filter

_CLAUSE = re.compile(
    r"""^\s*(?P<field>[a-z_][a-z0-9_]*)\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<value>"[^"]*"|'[^']*'|[-+]?[0-9][0-9_.]*[kmbt%]?)\s*$""",
    re.IGNORECASE,
)
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12, "%": 1.0}


def parse_number(text: str) -> float:
    text = text.replace("_", "")
    mult = 1.0
    if text and text[-1].lower() in _SUFFIX:
        mult = _SUFFIX[text[-1].lower()]
        text = text[:-1]
    return float(text) * mult


def parse(query: str) -> list[Filter]:
    query = query.strip()
    if not query:
        return []
    filters: list[Filter] = []
    position = 0
    for part in re.split(r"\s+and\s+", query, flags=re.IGNORECASE):
        m = _CLAUSE.match(part)
        if not m:
            raise Invalid(
                f"cannot parse clause {part.strip()!r} at offset {query.find(part.strip(), position)}: "
                "expected 'field op value' (op one of > >= < <= = !=)"
            )
        raw = m.group("value")
        value: float | str = raw[1:-1] if raw[0] in "\"'" else parse_number(raw)
        try:
            filters.append(Filter(field=m.group("field").lower(), op=m.group("op"), value=value))  # type: ignore[arg-type]
        except ValidationError as exc:
            raise Invalid(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        position += len(part)
    return filters
