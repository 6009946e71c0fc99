"""The parser's fast path reads queries exactly as the grammar does (lark stays the reference).

``language.parse`` reads a query with a recursive-descent fast path and hands anything that path
declines, and every error, to the grammar's LALR parser. These tests hold the two to the same
result: the same terminals, the same AST on random queries, and the same outcome, AST or error
message, on random token soups.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockscreen.core.errors import Invalid
from stockscreen.screening import ast as A
from stockscreen.screening import lalr
from stockscreen.screening import language as L
from tests.unit.test_query_language import TOKENS, conditions


def _fast(text: str) -> A.CondNode | None:
    """The fast path's reading, or None when it declines (or finds an error: lark reports those)."""
    try:
        return L._as_cond(L._parse_fast(text))
    except (L._Decline, Invalid, ValueError, OverflowError, RecursionError):
        return None


def _outcome(fn: Any, text: str) -> tuple[str, Any]:
    if not text.strip():
        return "ok", None  # parse's answer for an empty query, before either parser
    try:
        return "ok", fn(text)
    except L.QueryError as exc:
        return "error", (exc.message, exc.details)


def test_the_fast_lexer_uses_the_grammars_terminals() -> None:
    compiled = {t.name: t.pattern.to_regexp() for t in lalr.parser().terminals}
    for name, pattern in L.TERMINALS.items():
        assert compiled[name] == pattern, name
    # the rest are single characters (the fast lexer's symbols) and INT (a NUMBER of digits only there);
    # a terminal added to the grammar fails here until the fast path knows it
    assert set(compiled) - set(L.TERMINALS) == {"_LPAR", "_RPAR", "ADD", "MUL", "INT", "COMMA", "MINUS", "DOT"} | {
        "LSQB",
        "RSQB",
    }
    assert compiled["INT"] == r"\d+"


WORDS = [
    *("and", "OR", "Not", "in", "between", "WITHIN", "for", "day", "Days", "session", "SESSIONS", "bar", "bars"),
    *("crosses_above", "Crosses_Below", "daily", "Weekly", "monthly", "avg", "MIN", "max", "sum", "std"),
    *("andx", "or_", "notable", "into", "dayss", "barsx", "crosses_abovex", "crosses_", "weeklyx", "avgx", "close"),
    *("_x", "x1", "true", "False"),
]


@pytest.mark.parametrize("after", [" ", ".", "(", " (", "\t(", ",", ""])
def test_words_lex_as_the_grammars_terminals_would(after: str) -> None:
    """The fast lexer reads a word whole and sorts it; lark tries the word terminals by priority."""
    import re

    order = [(k, k.strip("_").lower()) for k in ("_OR", "_AND", "_NOT", "_IN", "_BETWEEN", "_WITHIN", "_FOR")]
    order += [("_DAYS", "days"), ("CROSS", "cross"), ("TIMEFRAME", "tf"), ("FUNC", "func"), ("NAME", "name")]
    for word in WORDS:
        text = word + after
        expected = None
        for terminal, kind in order:
            m = re.compile(L.TERMINALS[terminal]).match(text)
            if m is not None and m.end() == len(word):
                expected = kind
                break
        assert L._tokens(text)[0][0] == expected, text


@pytest.mark.parametrize(
    "cls, kw",
    [
        (A.Num, {"value": 2.5}),
        (A.Num, {"value": -1.0, "percent": True}),
        (A.Str, {"value": "Energy"}),
        (A.FieldRef, {"name": "close", "offset": -1, "timeframe": "weekly"}),
        (A.FieldRef, {"name": "close"}),
        (A.Compare, {"left": A.FieldRef(name="close"), "op": ">", "right": A.Num(value=1)}),
        (A.In, {"expr": A.FieldRef(name="sector"), "values": [A.Str(value="x")], "negated": True}),
        (A.And, {"items": [A.Flag(expr=A.FieldRef(name="close"))]}),
    ],
)
def test_nodes_are_built_as_their_constructor_builds_them(cls: type[Any], kw: dict[str, Any]) -> None:
    fast, ref = L._mk(cls, **kw), cls(**kw)
    assert fast == ref and type(fast) is cls
    assert repr(fast) == repr(ref)
    assert A.to_json(fast) == A.to_json(ref) and list(A.to_json(fast)) == list(A.to_json(ref))
    if cls not in (A.In, A.And):  # nodes holding a list are not hashable
        assert hash(fast) == hash(ref)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.kind = "x"
    if isinstance(fast, A.CondNode):  # a condition: validated back from its JSON, the same node
        assert A.from_json(A.to_json(fast)) == ref


@pytest.mark.parametrize(
    "text",
    [
        "CLOSE > 5",
        "close>5",
        "market_cap >= 2B and Volume > 500k",
        "weekly. close > 1",
        "Monthly.close[-1] < monthly.close",
        "avg (close, 5) > 1",
        "AVG(close,5)[ -1 ] > 1",
        "rsi14 [ -1 ] < 30",
        "close > sma50 WITHIN 5 SESSIONS",
        "close > sma50 for 3 bars",
        "close > sma50 for 1 day",
        "sector in('Energy')",
        "sector NOT IN ('a', \"b\\\"c\", 'd\\'e')",
        "pe in (5, -5, 2.5%, 1e3)",
        "pe between 40 and 5",
        "not not close > 1",
        "not (close > 1 or pe < 5) and pe > 1",
        "close > 1 and (pe < 5 or pe > 10) and (rsi14 > 1 and rsi14 < 99)",
        "((close > 1))",
        "-close < -5",
        "- - 5 < close",
        "-(close + open) / 2 < 5 - -5",
        "close - 1 - 2 > 3 / 4 / 5",
        "change_pct > -5%",
        "new_high_52w",
        "not new_low_52w",
        "new_high_52w = TRUE and new_low_52w != false",
        "close > .5 and close < 5. and volume > 1E+3 and volume > 1e-3",
        "sma50 Crosses_Above sma200 within 3 days",
        "close <> open and close == close",
        "(close + 1) * 2 > 3",
        "max(high, 252)[-1] < close",
        "std(close - open, 20) > 0",
        'date_added > "2010-01-01"',
        "close > 1 or pe > 2 or rsi14 > 3",
        "close\n>\t5\r\n",
    ],
)
def test_the_fast_path_reads_these_as_the_grammar_does(text: str) -> None:
    fast = _fast(text)
    assert fast is not None, "the fast path declined a valid query"
    assert fast == lalr.parse(text)
    assert L.parse(text) == fast


@pytest.mark.parametrize(
    "text",
    [
        "close > 5days",  # lark reads "5" and "days" here; the fast path declines (and lark answers)
        "close > sma50 within 5days",
        "clse > 5",
        "close > close[3]",
        "close > 1 and",
        "(close > 1) + 2 > 3",
        "close > 1e400",
        "close > 1 close",
        "close > 5 within 2.5 days",
        "avg(close > 1, 5) > 2",
        "closé > 5",
        "close > 5 and\u0663",  # "and" then an Arabic-Indic 3: a NUMBER for lark, no keyword
        "close > 5 and\u00e9",
        "close\v> 5",
        "and > 5",
        "(" * 300 + "close > 1" + ")" * 300,
    ],
)
def test_whatever_the_fast_path_declines_is_answered_by_the_grammar(text: str) -> None:
    assert _outcome(L.parse, text) == _outcome(lalr.parse, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions)
def test_the_fast_path_reads_every_printed_screen(node: A.CondNode) -> None:
    text = L.to_text(node)
    fast = _fast(text)
    assert fast is not None, text
    assert fast == lalr.parse(text) == node


SOUP = [
    *TOKENS,
    *("SESSIONS", "bars", "day", "DAYS", "Weekly.", "monthly.", "[-1]", "[ -2 ]", "[3]", "'x'", "'a\\'b'"),
    *("true", "FALSE", "<>", "==", ">=", "!=", "crosses_below", "std(", "sum(", "5.", ".5", "1e-3", "2B"),
    *("close", "pe", "new_high_52w", "AND", "Or", "NOT", "In", "BETWEEN", "20", "0", "%", "K", "é", "\t"),
]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SOUP), st.sampled_from([" ", " ", "", "\n"])), max_size=16))
def test_random_token_soup_reads_the_same_either_way(parts: list[tuple[str, str]]) -> None:
    text = "".join(tok + sep for tok, sep in parts)
    fast = _fast(text)
    reference = _outcome(lalr.parse, text)
    if fast is not None:
        assert reference == ("ok", fast), text
    assert _outcome(L.parse, text) == reference


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("closepe<>=!()[],.-+*/'\"5019BK% \n\tandortwk_y")), max_size=40))
def test_random_text_reads_the_same_either_way(text: str) -> None:
    fast = _fast(text)
    reference = _outcome(lalr.parse, text)
    if fast is not None:
        assert reference == ("ok", fast), text
    assert _outcome(L.parse, text) == reference
