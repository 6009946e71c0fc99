"""The one JSON reader: size, depth, number and text limits, each a clear Invalid naming the limit."""

from __future__ import annotations

import json
import time

import pytest

from stockscreen.core.errors import Invalid, PayloadTooLarge
from stockscreen.core.jsonread import MAX_DEPTH, MAX_NUMBER_DIGITS, read_json


def nested(levels: int, open_: str = "[", close: str = "]") -> str:
    return '{"a": ' + open_ * levels + close * levels + "}"


def test_plain_documents_read_as_json_loads_does() -> None:
    doc = {"a": [1, 2.5, -3e2, None, True, "x"], "b": {"c": "ü€"}}
    for raw in (json.dumps(doc), json.dumps(doc).encode(), json.dumps(doc).encode("utf-16")):
        assert read_json(raw) == doc
    assert read_json(b"\xef\xbb\xbf" + json.dumps(doc).encode()) == doc  # a UTF-8 BOM


@pytest.mark.parametrize("levels", [MAX_DEPTH, 1000, 100_000])
def test_nesting_past_the_limit_is_invalid_not_a_recursion_error(levels: int) -> None:
    arrays = nested(levels)  # the outer object is one level more
    objects = '{"a": ' + '{"k": ' * levels + "1" + "}" * levels + "}"
    for raw in (arrays, objects):
        with pytest.raises(Invalid) as exc:
            read_json(raw)
        assert exc.value.message == (
            f"request body is nested too deeply: at most {MAX_DEPTH} levels of arrays and objects"
        )
        assert exc.value.details == {"limit": MAX_DEPTH}


def test_the_limit_itself_is_allowed_and_brackets_in_strings_do_not_count() -> None:
    node = read_json(nested(MAX_DEPTH - 1))  # MAX_DEPTH levels: the object and MAX_DEPTH - 1 arrays
    depth = 0
    while isinstance(node, dict | list):
        depth += 1
        node = node["a"] if isinstance(node, dict) else (node[0] if node else None)
    assert depth == MAX_DEPTH
    text = {"q": "[" * 5000 + '\\"{' * 100, "r": ["]]]"]}
    assert read_json(json.dumps(text)) == text
    with pytest.raises(Invalid, match="at most 5 levels"):
        read_json(nested(5), max_depth=5)


def test_long_numbers_name_where_they_are_and_the_limit() -> None:
    with pytest.raises(Invalid) as exc:
        read_json('{"items": [1, {"qty": -' + "7" * 5000 + "}]}")
    assert exc.value.message == f"number at items.1.qty has 5000 digits; at most {MAX_NUMBER_DIGITS} are allowed"
    assert exc.value.details == {"loc": "items.1.qty", "limit": MAX_NUMBER_DIGITS, "digits": 5000}
    with pytest.raises(Invalid, match=r"number at \(top level\) has 4301 digits"):
        read_json("1." + "0" * 4300)
    with pytest.raises(Invalid, match="number at x has 203 digits"):
        read_json('{"x": 1' + "0" * 100 + "." + "5" * 100 + "e10}")
    ok = "9" * MAX_NUMBER_DIGITS
    assert read_json('{"x": -' + ok + "}") == {"x": -int(ok)}
    assert read_json('{"x": 1e-5}') == {"x": 1e-5}


def test_size_empty_malformed_and_bad_text() -> None:
    with pytest.raises(PayloadTooLarge, match="larger than 10 bytes"):
        read_json('{"a": "0123456789"}', max_bytes=10)
    with pytest.raises(Invalid, match="request body is empty"):
        read_json(b"  \n")
    with pytest.raises(Invalid, match=r"^malformed JSON: Expecting"):
        read_json(b"{not json")
    with pytest.raises(Invalid, match=r"^message is not valid JSON: "):
        read_json("[1,", what="message", malformed="message is not valid JSON")
    with pytest.raises(Invalid, match="not valid UTF-8"):
        read_json(b'{"a": "\xff"}')
    for bad in ('{"a": "x\\u0000"}', '{"a\\u0000": 1}', '["\\ud800"]'):
        with pytest.raises(Invalid, match="without NUL"):
            read_json(bad)


def test_a_large_bracket_heavy_document_is_checked_quickly() -> None:
    raw = json.dumps({"a": ["[{" * 10_000] * 3, "b": [[1]] * 5000})
    started = time.perf_counter()
    assert len(read_json(raw)["b"]) == 5000
    assert time.perf_counter() - started < 2.0  # linear work; seconds would mean a pathological scan
