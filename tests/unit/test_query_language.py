"""The query language: grammar, AST, printer, type checks, limits; property-based round trips."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockscreen.core.errors import Invalid
from stockscreen.screening import ast as A
from stockscreen.screening.language import QueryError, parse, to_text
from stockscreen.screening.presets import PRESETS
from stockscreen.screening.validate import check

ISSUE_EXAMPLE = (
    "market_cap > 10B and pe between 5 and 15 and (rsi14 < 30 or close > sma200) "
    'and sector in ("Information Technology", "Energy") and not perf_1y'
)


def q(text: str) -> A.CondNode:
    node = parse(text)
    assert node is not None
    check(node)
    return node


def test_issue_example_parses_to_the_expected_tree() -> None:
    node = q(ISSUE_EXAMPLE)
    assert isinstance(node, A.And) and len(node.items) == 5
    cap, pe, group, sector, negated = node.items
    assert cap == A.Compare(left=A.FieldRef(name="market_cap"), op=">", right=A.Num(value=10e9))
    assert pe == A.Between(expr=A.FieldRef(name="pe"), low=A.Num(value=5), high=A.Num(value=15))
    assert isinstance(group, A.Or) and len(group.items) == 2
    assert group.items[1] == A.Compare(left=A.FieldRef(name="close"), op=">", right=A.FieldRef(name="sma200"))
    assert isinstance(sector, A.In) and [v.value for v in sector.values] == ["Information Technology", "Energy"]
    assert negated == A.Not(item=A.Flag(expr=A.FieldRef(name="perf_1y")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("volume > 2 * avg(volume, 50)", "volume > 2 * avg(volume, 50)"),
        ("close > max(high, 252)[-1]", "close > max(high, 252)[-1]"),
        ("SMA50 CROSSES_ABOVE sma200 WITHIN 5 DAYS", "sma50 crosses_above sma200 within 5 days"),
        ("close > close[-5]", "close > close[-5]"),
        ("rsi14[-1] < 30", "rsi14[-1] < 30"),
        ("rsi14 < 30 within 10 days", "rsi14 < 30 within 10 days"),
        ("close > sma200 for 20 days", "close > sma200 for 20 days"),
        ("weekly.rsi14 > 50", "weekly.rsi14 > 50"),
        ("monthly.close[-1] < monthly.close", "monthly.close[-1] < monthly.close"),
        ("change_pct > 2.5%", "change_pct > 2.5%"),
        ("volume >= 1.5M and market_cap < 2T", "volume >= 1500000 and market_cap < 2000000000000"),
        ("close - open > -(high - low) / 2", "close - open > (-1) * (high - low) / 2"),
        ("sector != 'Energy' and industry not in ('Banks')", 'sector != "Energy" and industry not in ("Banks")'),
        ('date_added > "2010-01-01"', 'date_added > "2010-01-01"'),
        ("std(close, 20) < 2 and sum(volume, 5) > min(volume, 5) * 5", None),
    ],
)
def test_constructs_parse_and_print(text: str, expected: str | None) -> None:
    node = q(text)
    printed = to_text(node)
    if expected is not None:
        assert printed == expected
    assert parse(printed) == node


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("market_cap >", ["line 1, column 13", "expected", "a number"]),
        ("pe between 5", ["line 1", "'and'"]),
        ("close > sma20 within days", ["column 22", "a whole number"]),
        ("rsi14 > 30 )", ["column 12", "end of query"]),
        ("close >\n  and pe < 5", ["line 2, column 3"]),
        ("close @ 5", ["'@'", "a comparison"]),
        ("clse > 5", ["unknown field 'clse'", "did you mean close"]),
        ("rsi > 70", ["unknown field 'rsi'", "rsi14"]),
        ("sector > 5", ["cannot compare text with a number"]),
        ('sector > "Energy"', ["text can only be compared with =, != or in"]),
        ('pe > "x"', ["cannot compare a number with text"]),
        ("rsi14 > 50%", ["not a percentage field"]),
        ("sector", ["not a condition"]),
        ("close > close[3]", ["looks into the future"]),
        ("avg(close, 0) > 1", ["window must be between 1"]),
        ("avg(close, 100000) > 1", ["window must be between 1"]),
        ("close > 1e400", ["out of range"]),
        ("close > 1e20", ["out of range"]),
        ("rsi14 < 30 within 99999 days", ["window must be between"]),
        ("sector[-1] = 'x'", ["no history"]),
        ('date_added > "yesterday"', ["YYYY-MM-DD"]),
        ("avg(sector, 5) > 1", ["numeric argument"]),
        ("(close > 1) + 2 > 3", ["cannot be used as a value"]),
    ],
)
def test_errors_point_at_the_problem(text: str, fragments: list[str]) -> None:
    with pytest.raises(QueryError) as exc:
        check(parse(text))
    message = str(exc.value)
    for f in fragments:
        assert f in message, message
    assert isinstance(exc.value, Invalid)


def test_limits_on_size_depth_and_lists() -> None:
    with pytest.raises(QueryError, match="more than 50 conditions"):
        q(" and ".join(["close > 1"] * 51))
    with pytest.raises(QueryError, match="nested"):
        q("not " * 20 + "close > 1")
    with pytest.raises(QueryError, match="1 to 100 values"):
        q("sector in (" + ", ".join(f'"s{i}"' for i in range(101)) + ")")
    with pytest.raises(QueryError, match="limit is 4000"):
        parse("close > 1 and " * 400)
    assert parse("(" * 1500 + "close > 1" + ")" * 1500) == parse("close > 1")
    with pytest.raises(QueryError, match="nested"):
        check(parse("not " * 990 + "close > 1"))
    with pytest.raises(QueryError, match="nested"):
        check(parse("-(" * 600 + "close" + ")" * 600 + " > 1"))


def test_injection_text_is_only_ever_a_value() -> None:
    node = q("sector = 'x\\' OR \\'1\\'=\\'1; DROP TABLE securities; --'")
    assert isinstance(node, A.Compare) and isinstance(node.right, A.Str)
    assert node.right.value.startswith("x' OR")


def test_ast_json_round_trip() -> None:
    """``to_json`` dumps a node as pydantic does (key order too); ``from_json`` validates it back."""
    from pydantic import TypeAdapter

    node = q(ISSUE_EXAMPLE + " and sma50 crosses_above sma200 within 5 days and weekly.rsi14[-1] > 50")
    data = json.loads(json.dumps(A.to_json(node)))
    assert data == TypeAdapter(A.Cond).dump_python(node, mode="json")
    assert json.dumps(data) == TypeAdapter(A.Cond).dump_json(node).decode().replace(":", ": ").replace(",", ", ")
    assert A.from_json(data) == node


@pytest.mark.parametrize(
    "data, where",
    [
        (
            {
                "kind": "compare",
                "left": {"kind": "num", "value": 1, "extra": 1},
                "op": ">",
                "right": {"kind": "num", "value": 2},
            },
            "compare.left.num.extra",
        ),
        (
            {"kind": "compare", "left": {"kind": "nope"}, "op": ">", "right": {"kind": "num", "value": 2}},
            "compare.left",
        ),
        ({"kind": "and", "items": [{"kind": "flag"}]}, "and.items.0.flag.expr"),
        ({"kind": "num", "value": 1}, ""),  # an expression where a condition belongs: its tag is wrong
    ],
)
def test_ast_json_errors_name_the_node(data: dict[str, object], where: str) -> None:
    """Bad JSON is refused at the node that is wrong (unknown keys too), one union branch tried by ``kind``."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as exc:
        A.from_json(data)
    assert where in {".".join(map(str, e["loc"])) for e in exc.value.errors()}


def test_every_preset_is_valid() -> None:
    for p in PRESETS:
        check(parse(p.query))  # parses and type-checks against the current catalogue
    assert len(PRESETS) >= 20
    assert len({p.id for p in PRESETS}) == len(PRESETS)


# ---------------------------------------------------------------- property-based

NUMERIC = ["close", "open", "high", "low", "volume", "sma50", "sma200", "rsi14", "pe", "market_cap", "perf_1m"]
PCT = ["change_pct", "perf_1m", "dividend_yield"]
TEXT = ["sector", "industry", "name"]

numbers = st.builds(
    A.Num,
    value=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
)
field_refs = st.builds(
    A.FieldRef,
    name=st.sampled_from(NUMERIC),
    offset=st.integers(min_value=-300, max_value=0),
    timeframe=st.sampled_from(["daily", "daily", "weekly", "monthly"]),
)
num_expr = st.recursive(
    st.one_of(numbers, field_refs),
    lambda inner: st.one_of(
        st.builds(A.Arith, op=st.sampled_from(["+", "-", "*", "/"]), left=inner, right=inner),
        st.builds(
            A.Func,
            name=st.sampled_from(["avg", "min", "max", "sum", "std"]),
            arg=inner,
            window=st.integers(min_value=2, max_value=300),
            offset=st.integers(min_value=-10, max_value=0),
        ),
    ),
    max_leaves=4,
)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20).filter(lambda s: "\n" not in s)
leaf = st.one_of(
    st.builds(A.Compare, left=num_expr, op=st.sampled_from([">", ">=", "<", "<=", "=", "!="]), right=num_expr),
    st.builds(A.Between, expr=num_expr, low=numbers, high=numbers),
    st.builds(
        A.In,
        expr=st.builds(A.FieldRef, name=st.sampled_from(TEXT)),
        values=st.lists(st.builds(A.Str, value=texts), min_size=1, max_size=4),
        negated=st.booleans(),
    ),
    st.builds(
        A.Compare,
        left=st.builds(A.FieldRef, name=st.sampled_from(PCT)),
        op=st.sampled_from([">", "<"]),
        right=st.builds(A.Num, value=st.floats(-100, 100), percent=st.just(True)),
    ),
    st.builds(A.Cross, left=field_refs, direction=st.sampled_from(["above", "below"]), right=field_refs),
    st.builds(A.Flag, expr=field_refs),
)


def _normalise(items: list[A.CondNode], kind: type[A.And] | type[A.Or]) -> list[A.CondNode]:
    out: list[A.CondNode] = []
    for i in items:
        out.extend(i.items if isinstance(i, kind) else [i])
    return out


conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: A.And(items=_normalise(xs, A.And))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: A.Or(items=_normalise(xs, A.Or))),
        st.builds(A.Not, item=inner),
        st.builds(A.Window, mode=st.sampled_from(["within", "for"]), days=st.integers(1, 60), cond=inner),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions)
def test_random_asts_round_trip_through_text(node: A.CondNode) -> None:
    text = to_text(node)
    assert parse(text) == node, text


def _field_names(data: object) -> set[str]:
    """The field names in an AST's JSON, by a walk that knows nothing of the kinds of node."""
    if isinstance(data, dict):
        found = {data["name"]} if data.get("kind") == "field" else set()
        return found.union(*(_field_names(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(_field_names(v) for v in data))
    return set()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions)
def test_fields_of_finds_every_field_a_screen_reads(node: A.CondNode) -> None:
    fields = A.fields_of(node)
    assert fields == _field_names(A.to_json(node))
    assert {r.name for r in A.field_refs(node)} == fields
    with contextlib.suppress(QueryError):  # an ill-typed screen has no fields to report
        assert check(node) == fields
    assert check(None) == frozenset() and A.fields_of(None) == set()


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120))
def test_random_strings_never_crash_the_parser(text: str) -> None:
    try:
        check(parse(text))
    except QueryError as exc:
        assert exc.message


TOKENS = [
    "close", "sma50", "sector", "rsi14", "and", "or", "not", "(", ")", ">", "<=", "=", "between", "in",
    "within", "for", "days", "5", "10B", "2%", "-", "*", "/", "+", "[", "]", "-1", ",", '"Energy"',
    "avg(", "max(", "weekly.", "crosses_above", "1e400", "nope",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=14))
def test_random_token_soup_never_crashes(tokens: list[str]) -> None:
    text = " ".join(tokens)
    try:
        node = parse(text)
        check(node)
    except QueryError as exc:
        assert exc.message
    else:
        assert node is None or parse(to_text(node)) == node
