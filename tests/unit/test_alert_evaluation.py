"""The alert evaluation core: edge triggers with hysteresis on random price paths (hypothesis), and the
level index giving exactly what a plain loop over every trigger gives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockscreen.alerts.evaluation import (
    ARMED,
    BAND_IN,
    BAND_OUT,
    DISARMED,
    DOWN,
    UNKNOWN,
    UP,
    Leg,
    Level,
    QuerySpec,
    ScreenSpec,
    TriggerRow,
    build_book,
    compile_rule,
)

prices = st.floats(min_value=50, max_value=150, allow_nan=False).map(lambda v: round(v, 1))
paths = st.lists(prices, min_size=1, max_size=60)


def _oracle_up(path: list[float], level: float, margin: float, first_fires: bool) -> list[int]:
    """Where an UP trigger must fire, from the path alone: at t when x_t > level and the last earlier
    observation outside the band (level - margin, level] was at or below level - margin (or, for a level
    condition, when there was none)."""
    fires = []
    for t, x in enumerate(path):
        if not x > level:
            continue
        decisive = next((u for u in reversed(path[:t]) if u > level or u <= level - margin), None)
        if (decisive is None and first_fires) or (decisive is not None and decisive <= level - margin):
            fires.append(t)
    return fires


def _run(path: list[float], rows: list[TriggerRow], live: bool) -> list[list[int]]:
    """Feed the path to a book, one observation at a time; the indices of the rows fired at each step."""
    book = build_book(rows)
    out = []
    for x in path:
        if live:
            fired, _ = book.on_prices(np.array([0]), np.array([x]), np.array([math.nan]))
        else:
            fired, _ = book.step(np.arange(len(rows)), np.full(len(rows), x))
        out.append(sorted(fired.tolist()))
    return out


@settings(max_examples=300, deadline=None)
@given(
    path=paths,
    levels=st.lists(prices, min_size=1, max_size=6),
    hyst=st.sampled_from([0.0, 0.5, 2.0]),
    first=st.booleans(),
    live=st.booleans(),
)
def test_an_up_trigger_fires_exactly_at_each_crossing(
    path: list[float], levels: list[float], hyst: float, first: bool, live: bool
) -> None:
    rows = [
        TriggerRow(k, "AAA", Leg(0, UP, "close", Level(const=lv), first_fires=first), lv, hysteresis_pct=hyst)
        for k, lv in enumerate(levels)
    ]
    fired = _run(path, rows, live)
    for k, lv in enumerate(levels):
        at = [t for t, f in enumerate(fired) if k in f]
        assert at == _oracle_up(path, lv, abs(lv) * hyst / 100, first)
        for t in at:  # never while the condition merely holds
            assert t == 0 or not path[t - 1] > lv


@settings(max_examples=200, deadline=None)
@given(path=paths, level=prices, live=st.booleans())
def test_a_crossing_without_hysteresis_fires_at_every_strict_crossing(
    path: list[float], level: float, live: bool
) -> None:
    rows = [
        TriggerRow(0, "AAA", Leg(0, UP, "close", Level(const=level), first_fires=False), level),
        TriggerRow(0, "AAA", Leg(1, DOWN, "close", Level(const=level), first_fires=False), level),
    ]
    fired = _run(path, rows, live)
    ups = [t for t in range(1, len(path)) if path[t - 1] <= level < path[t]]
    downs = [t for t in range(1, len(path)) if path[t - 1] >= level > path[t]]
    assert [t for t, f in enumerate(fired) if 0 in f] == ups
    assert [t for t, f in enumerate(fired) if 1 in f] == downs


@settings(max_examples=200, deadline=None)
@given(path=paths, lo=prices, width=st.floats(min_value=1, max_value=40), live=st.booleans())
def test_channel_enter_and_exit_fire_on_the_edges_only(path: list[float], lo: float, width: float, live: bool) -> None:
    hi = lo + round(width, 1)
    rows = [
        TriggerRow(0, "AAA", Leg(0, BAND_IN, "close", Level(const=lo), Level(const=hi), first_fires=False), lo, hi),
        TriggerRow(1, "AAA", Leg(0, BAND_OUT, "close", Level(const=lo), Level(const=hi), first_fires=False), lo, hi),
    ]
    fired = _run(path, rows, live)
    inside = [lo <= x <= hi for x in path]
    enters = [t for t in range(1, len(path)) if inside[t] and not inside[t - 1]]
    exits = [t for t in range(1, len(path)) if not inside[t] and inside[t - 1]]
    assert [t for t, f in enumerate(fired) if 0 in f] == enters
    assert [t for t, f in enumerate(fired) if 1 in f] == exits


def test_hysteresis_stops_noise_around_a_level_from_flapping() -> None:
    noise = [99.0, 100.2, 99.9, 100.1, 99.95, 100.3, 99.8, 100.4]  # within 0.5% of 100 after the first cross
    rows = [TriggerRow(0, "AAA", Leg(0, UP, "close", Level(const=100.0), first_fires=False), 100.0, hysteresis_pct=0.5)]
    assert [t for t, f in enumerate(_run(noise, rows, True)) if f] == [1]
    rows0 = [TriggerRow(0, "AAA", Leg(0, UP, "close", Level(const=100.0), first_fires=False), 100.0)]
    assert [t for t, f in enumerate(_run(noise, rows0, True)) if f] == [1, 3, 5, 7]  # what it stops
    # moving back beyond the band re-arms it
    assert [t for t, f in enumerate(_run([99.0, 100.2, 99.4, 100.2], rows, True)) if f] == [1, 3]


def test_a_level_condition_fires_when_first_seen_true_a_crossing_does_not() -> None:
    level = [TriggerRow(0, "AAA", Leg(0, UP, "close", Level(const=100.0)), 100.0)]
    cross = [TriggerRow(0, "AAA", Leg(0, UP, "close", Level(const=100.0), first_fires=False), 100.0)]
    assert _run([101.0, 102.0], level, True) == [[0], []]
    assert _run([101.0, 102.0], cross, True) == [[], []]
    book = build_book(cross)
    book.observe_all(np.array([101.0]), np.array([math.nan]))
    assert book.state.tolist() == [DISARMED]
    book = build_book(cross)
    book.observe_all(np.array([math.nan]), np.array([math.nan]))
    assert book.state.tolist() == [UNKNOWN]  # nothing known: nothing decided


def _random_rows(rng: np.random.Generator, n: int, symbols: list[str]) -> list[TriggerRow]:
    rows = []
    for k in range(n):
        kind = int(rng.choice([UP, DOWN, UP, DOWN, BAND_IN, BAND_OUT]))
        a = float(np.round(rng.uniform(80, 120), 2))
        b = a + float(rng.uniform(1, 10)) if kind in (BAND_IN, BAND_OUT) else math.nan
        fld = "volume" if kind == UP and rng.random() < 0.1 else "close"
        if fld == "volume":
            a = float(rng.uniform(1e5, 1e6))
        leg = Leg(0, kind, fld, Level(const=a), first_fires=bool(rng.random() < 0.5))
        state = int(rng.choice([UNKNOWN, ARMED, DISARMED]))
        rows.append(
            TriggerRow(k, str(rng.choice(symbols)), leg, a, b, state, hysteresis_pct=float(rng.choice([0, 0.3, 1])))
        )
    return rows


@pytest.mark.parametrize("seed", range(8))
def test_the_level_index_gives_what_a_loop_over_every_trigger_gives(seed: int) -> None:
    rng = np.random.default_rng(seed)
    symbols = [f"S{i}" for i in range(40)]
    rows = _random_rows(rng, 3000, symbols)
    fast, slow = build_book(rows, symbols), build_book(rows, symbols)
    start = rng.uniform(80, 120, len(symbols))
    vol0 = rng.uniform(1e5, 1e6, len(symbols))
    assert fast.observe_all(start, vol0)[0].tolist() == slow.observe_all(start, vol0)[0].tolist()
    assert np.array_equal(fast.state, slow.state)
    for _ in range(30):
        syms = np.sort(rng.choice(len(symbols), size=int(rng.integers(1, 15)), replace=False)).astype(np.intp)
        price = fast.last_price[syms] + rng.normal(0, 3, len(syms)).round(2)
        price[rng.random(len(syms)) < 0.05] = math.nan
        volume = rng.uniform(1e5, 1e6, len(syms))
        got, _ = fast.on_prices(syms, price, volume)
        want = slow.on_prices_naive(syms, price, volume)
        assert sorted(got.tolist()) == want
        assert np.array_equal(fast.state, slow.state)


def test_rules_compile_to_their_legs() -> None:
    legs = compile_rule("crossing", {"field": "close", "other": "sma50", "level": None})
    assert isinstance(legs, list) and [(g.kind, g.level.field, g.first_fires) for g in legs] == [
        (UP, "sma50", False),
        (DOWN, "sma50", False),
    ]
    up = compile_rule("crossing_up", {"field": "price", "level": 150})
    assert isinstance(up, list) and up[0].kind == UP and up[0].field == "close" and up[0].level.const == 150
    move = compile_rule("move_down_pct", {"pct": 5, "bars": 3})
    assert isinstance(move, list) and move[0].kind == DOWN and move[0].level.when == "ago"
    assert move[0].level.scale == pytest.approx(0.95)
    change = compile_rule("change_pct", {"threshold_pct": 5, "direction": "either"})
    assert isinstance(change, list) and len(change) == 2
    assert compile_rule("query", {"query": "rsi14 < 30"}) == QuerySpec("rsi14 < 30")
    assert compile_rule("screen_leave", {"screen_id": "x"}) == ScreenSpec("x", False)
    rsi = compile_rule("rsi", {"threshold": 30, "direction": "below", "period": 14})
    assert isinstance(rsi, list) and rsi[0].field == "rsi14" and not rsi[0].live
    with pytest.raises(ValueError, match="unknown alert type"):
        compile_rule("nope", {})
