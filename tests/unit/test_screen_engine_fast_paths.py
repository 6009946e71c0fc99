"""The engine's shortcuts give what the general code gives: the first page of a sort without sorting
every row, comparisons of a field with a number, ``between`` and ``in`` over many values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockscreen.screening import ast as A
from stockscreen.screening.engine import ScreenRequest, run, sort_order
from stockscreen.screening.evaluate import Evaluator
from stockscreen.screening.universe import Universe, from_arrays

COLS = ["symbol", "market_cap"]
SECTORS = ["Energy", "Financials", "Health Care", "Industrials", "Materials", "Utilities", "Real Estate"]


def _universe(values: list[float], sectors: list[str | None]) -> Universe:
    n = len(values)
    return from_arrays(
        [f"S{i:04d}" for i in range(n)],
        {"market_cap": np.array(values), "pe": np.array(values[::-1])},
        {"sector": sectors},
        dt.date(2018, 2, 8),
    )


# values with many ties and missing ones, so the page boundary falls on ties and NaN often
_values = st.lists(st.sampled_from([np.nan, -1.0, 0.0, -0.0, 1.0, 2.0, 2.5, 1e12]), min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(values=_values, first=st.integers(1, 80), order=st.sampled_from(["asc", "desc"]))
def test_the_first_rows_of_a_sort_are_the_full_sorts_first_rows(values: list[float], first: int, order: str) -> None:
    u = _universe(values, [SECTORS[i % len(SECTORS)] for i in range(len(values))])
    rows = np.arange(u.n)[np.arange(u.n) % 3 != 1]  # the rows a screen kept
    for field in ("market_cap", "sector"):
        full = sort_order(u, rows, field, order, 0)
        assert np.array_equal(sort_order(u, rows, field, order, 0, first=first), full[:first])


def test_a_page_far_down_the_list_is_the_same_rows() -> None:
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(0, 3, 2000)).tolist()  # many ties
    u = _universe(values, [SECTORS[i % len(SECTORS)] for i in range(2000)])
    everything = run(u, ScreenRequest(sort="market_cap", order="desc", columns=COLS, limit=500)).data
    everything += run(u, ScreenRequest(sort="market_cap", order="desc", columns=COLS, limit=500, offset=500)).data
    page = run(u, ScreenRequest(sort="market_cap", order="desc", columns=COLS, limit=50, offset=120)).data
    assert [r["symbol"] for r in page] == [r["symbol"] for r in everything[120:170]]
    caps = [r["market_cap"] for r in everything]
    assert caps == sorted(caps, reverse=True)


def _general(c: A.CondNode) -> A.CondNode:
    """The same condition with its numbers as ``n + 0``: evaluated by the general path, not the shortcut."""

    def num(e: A.ExprNode) -> A.ExprNode:
        return A.Arith(op="+", left=e, right=A.Num(value=0)) if isinstance(e, A.Num | A.FieldRef) else e

    if isinstance(c, A.Compare):
        return A.Compare(left=c.left, op=c.op, right=num(c.right))
    assert isinstance(c, A.Between)
    return A.Between(expr=c.expr, low=num(c.low), high=num(c.high))


@settings(max_examples=200, deadline=None)
@given(
    values=_values,
    op=st.sampled_from([">", ">=", "<", "<=", "=", "!="]),
    x=st.sampled_from([-1.0, 0.0, 1.0, 2.0, 2.5]),
    y=st.sampled_from([-1.0, 0.0, 1.0, 2.0, 2.5]),
    offset=st.sampled_from([0, -1]),
)
def test_field_against_a_number_or_a_field_is_the_general_comparison(
    values: list[float], op: str, x: float, y: float, offset: int
) -> None:
    u = _universe(values, [None] * len(values))
    ev = Evaluator(u)
    field = A.FieldRef(name="market_cap", offset=offset)
    for c in (
        A.Compare(left=field, op=op, right=A.Num(value=x)),
        A.Compare(left=field, op=op, right=A.FieldRef(name="pe", offset=offset)),  # pe: the values reversed
        A.Between(expr=field, low=A.Num(value=x), high=A.Num(value=y)),
    ):
        assert np.array_equal(ev.mask(c, 0), ev.mask(_general(c), 0)), c
    expected = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal, "=": np.equal}
    arr = np.array(values)
    m = ev.mask(A.Compare(left=A.FieldRef(name="market_cap"), op=op, right=A.Num(value=x)), 0)
    want = expected[op](arr, x) if op in expected else (arr != x) & ~np.isnan(arr)
    assert np.array_equal(m, want[np.argsort([f"S{i:04d}" for i in range(len(values))], kind="stable")])


@pytest.mark.parametrize("count", [1, 2, 4, 5, 7])
@pytest.mark.parametrize("negated", [False, True])
def test_text_in_a_list_of_values(count: int, negated: bool) -> None:
    sectors: list[str | None] = [SECTORS[i % len(SECTORS)] if i % 5 else None for i in range(400)]
    u = _universe([1.0] * 400, sectors)
    wanted = [*SECTORS[:count], "No Such Sector"] if count > 4 else SECTORS[:count]
    node = A.In(expr=A.FieldRef(name="sector"), values=[A.Str(value=s) for s in wanted], negated=negated)
    got = Evaluator(u).mask(node, 0)
    labels = u.strings["sector"].values(np.arange(u.n))
    want = np.array([(s is not None and s not in wanted) if negated else s in wanted for s in labels])
    assert np.array_equal(got, want)
    assert u.strings["sector"].code("No Such Sector") == -2


# bodies as the JSON reader gives them: the fields' usual values, and values pydantic converts or refuses
_body_values = {
    "query": st.sampled_from([None, "pe < 9", "market_cap > 2B and pe between 5 and 40", "", "x" * 4001, 5, "é < 1"]),
    "ast": st.sampled_from([None, {}, {"kind": "num", "value": 1}]),
    "filters": st.sampled_from([[], None, [{"field": "pe", "op": "<", "value": 9}]]),
    "sort": st.sampled_from(["market_cap", "pe", "symbol", "bogus", "", 1, None]),
    "order": st.sampled_from(["asc", "desc", "ASC", None, 1]),
    "columns": st.sampled_from([None, [], ["symbol", "pe"], ["bogus"], ["pe"] * 101, "pe", [1], ["\ud800"]]),
    "limit": st.sampled_from([1, 50, 500, 0, 501, -1, 5.0, 5.5, "5", True, None]),
    "offset": st.sampled_from([0, 10, 1_000_000, 1_000_001, -1, 2.0, "3", False]),
    "explain": st.sampled_from([True, False, 0, 1, "true", None]),
    "as_of": st.sampled_from([None, "2018-02-08", "bogus"]),
    "nonsense": st.just(1),
}


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.sampled_from(sorted(_body_values)), st.none(), max_size=6).flatmap(
        lambda keys: st.fixed_dictionaries({k: _body_values[k] for k in keys})
    )
)
def test_a_request_read_by_the_fast_path_is_the_validated_one(body: dict[str, object]) -> None:
    """``ScreenRequest.from_body`` builds what pydantic's model of the body builds (every value, of the same
    type), or raises the same ValidationError: the fast path only takes bodies whose every value pydantic
    keeps as it is."""
    import pydantic

    from stockscreen.screening.requests import ScreenRequestBody

    try:
        expected: ScreenRequest | str = ScreenRequestBody.model_validate(body).to_request()
    except pydantic.ValidationError as exc:
        expected = str(exc)
    try:
        got: ScreenRequest | str = ScreenRequest.from_body(body)
    except pydantic.ValidationError as exc:
        got = str(exc)
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
        return
    assert got == expected
    assert [(k, type(v)) for k, v in vars(got).items()] == [(k, type(v)) for k, v in vars(expected).items()]


def test_a_screen_given_as_text_imports_no_pydantic() -> None:
    """The anonymous screen's usual body is read, checked and compiled without pydantic (nor, with it, the
    AST's validators): a new interpreter, the engine imported, one body read; a body with filters is
    pydantic's (imported then)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json, sys\n"
        "from stockscreen.screening.engine import ScreenRequest\n"
        "body = {'query': 'market_cap > 2B and pe between 5 and 40', 'sort': 'market_cap', 'order': 'desc',\n"
        "        'limit': 50, 'columns': ['symbol', 'pe'], 'offset': 0, 'explain': False}\n"
        "req = ScreenRequest.from_body(body)\n"
        "seen = [req.limit, req.condition() is not None, 'pydantic' in sys.modules]\n"
        "req = ScreenRequest.from_body({'filters': [{'field': 'pe', 'op': '<', 'value': 9}]})\n"
        "print(json.dumps([*seen, type(req).__name__, req.condition() is not None, 'pydantic' in sys.modules]))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [50, True, False, "ScreenRequest", True, True]


@settings(max_examples=100, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "query": st.sampled_from([None, "pe < 9", "sector = 'Energy' and pe > 3"]),
            "sort": st.sampled_from(["market_cap", "pe", "symbol"]),
            "order": st.sampled_from(["asc", "desc"]),
            "columns": st.sampled_from([None, [], ["symbol", "pe", "sector"]]),
            "limit": st.integers(1, 500),
            "offset": st.integers(0, 1_000_000),
            "explain": st.booleans(),
            "ast": st.none(),
            "filters": st.just([]),
        },
    )
)
def test_the_usual_bodies_take_the_fast_path(body: dict[str, object]) -> None:
    from stockscreen.screening import engine

    assert engine._plain(body)
    from stockscreen.screening.requests import ScreenRequestBody

    got, expected = ScreenRequest.from_body(body), ScreenRequestBody.model_validate(body).to_request()
    assert got == expected


def test_the_models_of_the_api_have_the_engines_fields() -> None:
    """The pydantic models that validate a screen's body and document its result name the fields of the
    engine's own request and result, in the same order and with the same defaults."""
    import dataclasses

    from chalicelib.schemas.screens import ScreenRunPublic
    from stockscreen.screening.engine import ScreenResult
    from stockscreen.screening.requests import ScreenRequestBody

    def defaults(cls: Any) -> dict[str, Any]:
        return {
            f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            for f in dataclasses.fields(cls)
        }

    for model, engine_cls in ((ScreenRequestBody, ScreenRequest), (ScreenRunPublic, ScreenResult)):
        want = defaults(engine_cls)
        assert list(model.model_fields) == list(want)
        for name, info in model.model_fields.items():
            if not info.is_required():
                assert info.default == want[name], name
    assert ScreenRequestBody.model_validate({}).to_request() == ScreenRequest()
