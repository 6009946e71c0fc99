from __future__ import annotations

import pytest

from stockscreen.errors import Invalid
from stockscreen.screening.query import parse


def test_numbers_suffixes_and_strings() -> None:
    filters = parse('market_cap > 10B and pe <= 15 and sector = "Energy" and change_pct > 2%')
    assert [(f.field, f.op, f.value) for f in filters] == [
        ("market_cap", ">", 10e9),
        ("pe", "<=", 15.0),
        ("sector", "=", "Energy"),
        ("change_pct", ">", 2.0),
    ]
    assert parse("") == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("market_cap >", "cannot parse"),
        ("nope > 1", "unknown field"),
        ("sector > 5", "text"),
        ("pe > 'x'", "number"),
    ],
)
def test_errors_are_specific(query: str, fragment: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse(query)
    assert fragment in str(exc.value)
