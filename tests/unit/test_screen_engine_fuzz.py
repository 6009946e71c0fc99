"""Random valid screens never crash the engine, and its masks obey boolean algebra."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockscreen.screening import ast as A
from stockscreen.screening.engine import ScreenRequest, explain, run
from stockscreen.screening.evaluate import Evaluator
from stockscreen.screening.language import QueryError, parse, to_text
from stockscreen.screening.universe import Universe, from_csv
from stockscreen.screening.validate import check
from tests.unit.test_query_language import conditions, num_expr

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def universe() -> Universe:
    return from_csv(
        str(FIXTURES / "bars-sample.csv.gz"),
        str(FIXTURES / "constituents-sample.csv"),
        str(FIXTURES / "fundamentals-sample-2018-02-08.csv"),
    )


_DATES = st.sampled_from([None, dt.date(2013, 2, 11), dt.date(2014, 6, 4), dt.date(2016, 12, 30), dt.date(2018, 1, 3)])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(node=conditions, as_of=_DATES)
def test_random_screens_evaluate_or_fail_with_a_typed_error(
    universe: Universe, node: A.CondNode, as_of: dt.date | None
) -> None:
    try:
        check(node)
    except QueryError:
        return
    res = run(universe, ScreenRequest(ast=node, as_of=as_of, limit=500, explain=True))
    assert 0 <= res.count <= universe.n and len(res.data) == res.count
    t = universe.date_index(as_of)
    ev = Evaluator(universe)
    m = ev.mask(node, t)
    assert m.shape == (universe.n,) and int(m.sum()) == res.count
    assert int(ev.mask(A.Not(item=node), t).sum()) == universe.n - res.count
    # the text form evaluates identically
    assert np.array_equal(ev.mask(parse(to_text(node)), t), m)  # type: ignore[arg-type]
    report = explain(universe, "AAPL", node, as_of)
    assert report["pass"] == bool(m[universe.row_of("AAPL")])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(a=num_expr, b=num_expr)
def test_and_or_are_intersection_and_union(universe: Universe, a: A.ExprNode, b: A.ExprNode) -> None:
    x = A.Compare(left=a, op=">", right=b)
    y = A.Compare(left=a, op="<=", right=b)
    try:
        check(A.And(items=[x, y]))
    except QueryError:
        return
    ev = Evaluator(universe)
    t = universe.date_index(None)
    mx, my = ev.mask(x, t), ev.mask(y, t)
    assert np.array_equal(ev.mask(A.And(items=[x, y]), t), mx & my)
    assert np.array_equal(ev.mask(A.Or(items=[x, y]), t), mx | my)
    assert not (mx & my).any()  # > and <= never both hold (missing values satisfy neither)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 50, 252])
def test_fast_rolling_functions_equal_the_sliding_window_definition(n: int) -> None:
    from stockscreen.screening.history import roll_extreme, roll_std

    def roll_reduce(x: np.ndarray, n: int, how: str) -> np.ndarray:
        out = np.full_like(x, np.nan)
        w = np.lib.stride_tricks.sliding_window_view(x, n, axis=1)
        out[:, n - 1 :] = {"max": w.max, "min": w.min, "std": w.std}[how](axis=-1)
        return out

    rng = np.random.default_rng(n)
    x = rng.normal(100, 10, (6, 400))
    x[1, 50] = np.nan
    assert np.allclose(roll_extreme(x, n, "max"), roll_reduce(x, n, "max"), equal_nan=True)
    assert np.allclose(roll_extreme(x, n, "min"), roll_reduce(x, n, "min"), equal_nan=True)
    if n > 1:
        assert np.allclose(roll_std(x, n), roll_reduce(x, n, "std"), equal_nan=True, rtol=1e-7)


def test_nested_windows_are_bounded() -> None:
    check(parse("(max(close, 1000) > 5 within 1000 days) for 100 days"))
    with pytest.raises(QueryError, match="limit is 2520"):
        check(parse("((max(close, 1260) > 5 within 1260 days) for 1260 days) within 1260 days"))


def test_timeframe_history_is_bounded() -> None:
    check(parse("weekly.rsi14 > 50 within 10 days"))
    with pytest.raises(QueryError, match=r"weekly\.rsi14 is needed on 300 past sessions"):
        check(parse("avg(weekly.rsi14, 200) > 50 within 101 days"))
