"""Alert evaluation core: edge triggers with hysteresis, indexed by symbol and level.

Every alert rule compiles to one or more *legs* (:func:`compile_rule`); a leg applied to one symbol
is a *trigger*, with its own state (per alert, symbol and leg):

* ``ARMED``: the condition is false; the next observation where it holds fires (and disarms).
* ``DISARMED``: it fired (or it was first seen inside the condition, for crossings); it re-arms only
  once the value has moved back beyond the hysteresis band, so noise around a level cannot flap.
* ``UNKNOWN``: never observed. A *level* condition (``price_above``, a query, ...) that already
  holds when first observed fires; a *crossing* (``crossing_up``, ``channel_enter``, ...) needs to
  be seen on the other side first.

Leg kinds, with ``a``/``b`` the levels and ``m`` the hysteresis margin (``hysteresis_pct`` of the
level):

=========  ==================  ===========================
kind       holds               re-arms when
=========  ==================  ===========================
UP         x > a               x <= a - m
DOWN       x < a               x >= a + m
BAND_IN    a <= x <= b         x < a - m or x > b + m
BAND_OUT   x < a or x > b      a + m <= x <= b - m
=========  ==================  ===========================

``holds`` and ``re-arms`` never overlap, so a trigger changes state at most once per observation.

The :class:`TriggerBook` holds every trigger in NumPy arrays. :meth:`TriggerBook.step` applies one
observation per trigger (vectorised); :meth:`TriggerBook.on_prices` applies a batch of new prices
using per-symbol arrays sorted by level: an UP trigger can only fire when the price moves from
``p0`` to ``p1`` past its level (``p0 <= a < p1``), and only re-arm when it moves back past its
re-arm level, so a batch touches the triggers whose levels lie between each changed symbol's old
and new price: the cost grows with the symbols that changed (and the levels crossed), not with the
number of alerts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

UP, DOWN, BAND_IN, BAND_OUT = 0, 1, 2, 3
UNKNOWN, DISARMED, ARMED = -1, 0, 1

F = NDArray[np.float64]
I = NDArray[np.intp]  # noqa: E741 - index arrays

#: Fields a live quote carries: legs watching anything else are evaluated on the daily close only.
LIVE_FIELDS = frozenset({"close", "volume"})


# ------------------------------------------------------------------------------------------ legs


@dataclass(frozen=True)
class Level:
    """A level: a constant, or ``scale`` times a field's value.

    ``when``: ``now`` the bar being evaluated (live: the last snapshot bar), ``prior`` the bar before
    it (live: the last snapshot bar, the session before the quotes), ``ago`` the close ``ago``
    sessions before the bar being evaluated.
    """

    const: float | None = None
    field: str | None = None
    when: Literal["now", "prior", "ago"] = "now"
    ago: int = 0
    scale: float = 1.0

    def label(self) -> str:
        if self.const is not None:
            return f"{self.const:g}"
        name = {"now": str(self.field), "prior": f"previous {self.field}", "ago": f"close {self.ago} bars ago"}[
            self.when
        ]
        return name if self.scale == 1.0 else f"{self.scale:g} x {name}"


@dataclass(frozen=True)
class Leg:
    """One edge trigger of a rule. ``field`` is the value watched (``close`` is the price)."""

    leg: int
    kind: int
    field: str
    level: Level
    upper: Level | None = None
    first_fires: bool = True

    @property
    def live(self) -> bool:
        return self.field in LIVE_FIELDS


@dataclass(frozen=True)
class QuerySpec:
    """A query-language alert: one UP leg on the expression's truth (1.0 / 0.0) per symbol."""

    query: str


@dataclass(frozen=True)
class ScreenSpec:
    """A saved screen's membership: fire on entrants (``enter``) or leavers."""

    screen_id: str
    enter: bool


#: The leg of a query alert: the expression's truth value against 0.5, no hysteresis.
QUERY_LEG = Leg(0, UP, "__query__", Level(const=0.5))


def _field(name: Any) -> str:
    return "close" if name in (None, "price") else str(name)


def compile_rule(kind: str, params: Mapping[str, Any]) -> list[Leg] | QuerySpec | ScreenSpec:
    """The legs of a stored rule (``type`` and ``params`` as in ``alert_rules``)."""
    p = params
    if kind == "price_above":
        return [Leg(0, UP, "close", Level(const=float(p["price"])))]
    if kind == "price_below":
        return [Leg(0, DOWN, "close", Level(const=float(p["price"])))]
    if kind == "change_pct":
        pct = float(p["threshold_pct"]) / 100
        up = Leg(0, UP, "close", Level(field="close", when="prior", scale=1 + pct))
        down = Leg(1, DOWN, "close", Level(field="close", when="prior", scale=1 - pct))
        return {"up": [up], "down": [down]}.get(str(p.get("direction", "either")), [up, down])
    if kind == "crosses_sma":
        sma = Level(field=f"sma{int(p['period'])}")
        return [Leg(0, UP if p["direction"] == "above" else DOWN, "close", sma, first_fires=False)]
    if kind == "rsi":
        lvl = Level(const=float(p["threshold"]))
        return [Leg(0, UP if p["direction"] == "above" else DOWN, f"rsi{int(p.get('period', 14))}", lvl)]
    if kind == "volume_spike":
        return [Leg(0, UP, "volume", Level(field="avg_volume_20", when="prior", scale=float(p["multiple"])))]
    if kind == "high_52w":
        return [Leg(0, UP, "close", Level(field="high_52w", when="prior"))]
    if kind == "low_52w":
        return [Leg(0, DOWN, "close", Level(field="low_52w", when="prior"))]
    if kind in ("crossing", "crossing_up", "crossing_down"):
        lvl = Level(const=float(p["level"])) if p.get("level") is not None else Level(field=_field(p["other"]))
        watched = _field(p.get("field"))
        up = Leg(0, UP, watched, lvl, first_fires=False)
        down = Leg(1, DOWN, watched, lvl, first_fires=False)
        return {"crossing_up": [up], "crossing_down": [down]}.get(kind, [up, down])
    if kind in ("channel_enter", "channel_exit"):
        return [
            Leg(
                0,
                BAND_IN if kind == "channel_enter" else BAND_OUT,
                _field(p.get("field")),
                Level(const=float(p["lower"])),
                Level(const=float(p["upper"])),
                first_fires=False,
            )
        ]
    if kind in ("move_up_pct", "move_down_pct"):
        pct = float(p["pct"]) / 100
        rising = kind == "move_up_pct"
        lvl = Level(field="close", when="ago", ago=int(p["bars"]), scale=1 + pct if rising else 1 - pct)
        return [Leg(0, UP if rising else DOWN, "close", lvl)]
    if kind == "query":
        return QuerySpec(str(p["query"]))
    if kind in ("screen_enter", "screen_leave"):
        return ScreenSpec(str(p["screen_id"]), kind == "screen_enter")
    raise ValueError(f"unknown alert type {kind!r}")


def describe(leg: Leg, symbol: str, value: float, level: float, upper: float | None) -> str:
    """One sentence saying why a trigger fired."""
    name = "price" if leg.field == "close" else leg.field
    if leg.field == "__query__":
        return f"{symbol} now matches the alert's query"
    if leg.kind == UP:
        return f"{symbol} {name} {value:g} rose above {leg.level.label()} ({level:g})"
    if leg.kind == DOWN:
        return f"{symbol} {name} {value:g} fell below {leg.level.label()} ({level:g})"
    if leg.kind == BAND_IN:
        return f"{symbol} {name} {value:g} entered the channel {level:g} to {upper:g}"
    return f"{symbol} {name} {value:g} left the channel {level:g} to {upper:g}"


# ------------------------------------------------------------------------------------- vectorised


def holds(kind: NDArray[np.int8], a: F, b: F, x: F) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        return np.select(
            [kind == UP, kind == DOWN, kind == BAND_IN],
            [x > a, x < a, (x >= a) & (x <= b)],
            (x < a) | (x > b),
        )


def rearms(kind: NDArray[np.int8], ra: F, rb: F, x: F) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        return np.select(
            [kind == UP, kind == DOWN, kind == BAND_IN],
            [x <= ra, x >= ra, (x < ra) | (x > rb)],
            (x >= ra) & (x <= rb),
        )


def rearm_levels(kind: NDArray[np.int8], a: F, b: F, hysteresis_pct: F) -> tuple[F, F]:
    """The re-arm levels ``ra``, ``rb`` of each trigger (see the table in the module docstring)."""
    ma = np.abs(a) * hysteresis_pct / 100
    mb = np.abs(b) * hysteresis_pct / 100
    ra = np.select([kind == UP, kind == DOWN, kind == BAND_IN], [a - ma, a + ma, a - ma], a + ma)
    rb = np.select([kind == BAND_IN, kind == BAND_OUT], [b + mb, b - mb], b)
    return ra, rb


def step_states(
    state: NDArray[np.int8],
    first_fires: NDArray[np.bool_],
    kind: NDArray[np.int8],
    a: F,
    b: F,
    ra: F,
    rb: F,
    x: F,
) -> tuple[NDArray[np.int8], NDArray[np.bool_]]:
    """One observation ``x`` per trigger: (new states, which fired). Pure; the reference semantics."""
    h = holds(kind, a, b, x)
    r = rearms(kind, ra, rb, x)
    known = ~np.isnan(x) & ~np.isnan(a)
    st = state.copy()
    new = known & (st == UNKNOWN)
    st[new] = np.where(first_fires[new] | r[new], ARMED, DISARMED)
    fire = known & (st == ARMED) & h
    st[fire] = DISARMED
    st[known & (st == DISARMED) & r] = ARMED
    return st, fire


def step_one(
    state: int, first_fires: bool, kind: int, a: float, b: float, ra: float, rb: float, x: float
) -> tuple[int, bool]:
    """:func:`step_states` for one trigger in plain Python (the naive evaluator the benchmark compares)."""
    if math.isnan(x) or math.isnan(a):
        return state, False
    if kind == UP:
        h, r = x > a, x <= ra
    elif kind == DOWN:
        h, r = x < a, x >= ra
    elif kind == BAND_IN:
        h, r = a <= x <= b, x < ra or x > rb
    else:
        h, r = x < a or x > b, ra <= x <= rb
    if state == UNKNOWN:
        state = ARMED if first_fires or r else DISARMED
    if state == ARMED and h:
        return DISARMED, True
    if state == DISARMED and r:
        return ARMED, False
    return state, False


def _ranges(starts: I, ends: I) -> I:
    """Concatenated ``arange(s, e)`` for each pair (vectorised)."""
    lengths = ends - starts
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.intp)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return (np.arange(total) + offsets).astype(np.intp)


@dataclass
class _Sorted:
    """Triggers of one kind sorted by (symbol, level): ``perm`` into the book, ``vals`` their levels,
    ``start[s]:start[s+1]`` the segment of symbol ``s``."""

    perm: I
    vals: F
    start: I

    @classmethod
    def of(cls, idx: I, sym: I, level: F, n_symbols: int) -> _Sorted:
        order = np.lexsort((level[idx], sym[idx]))
        perm = idx[order]
        start = np.searchsorted(sym[perm], np.arange(n_symbols + 1), side="left").astype(np.intp)
        return cls(perm, level[perm], start)

    def between(self, syms: I, lo: F, hi: F, side: Literal["left", "right"]) -> I:
        """Book positions of the triggers of each ``syms[k]`` whose level lies in [lo, hi) (``left``) or
        (lo, hi] (``right``)."""
        starts = np.empty(len(syms), dtype=np.intp)
        ends = np.empty(len(syms), dtype=np.intp)
        for k, s in enumerate(syms.tolist()):
            s0, s1 = int(self.start[s]), int(self.start[s + 1])
            if s0 == s1:
                starts[k] = ends[k] = 0
                continue
            seg = self.vals[s0:s1]
            starts[k] = s0 + int(np.searchsorted(seg, lo[k], side=side))
            ends[k] = s0 + int(np.searchsorted(seg, hi[k], side=side))
        return self.perm[_ranges(starts, ends)]


@dataclass
class TriggerBook:
    """Every trigger of the alerts being evaluated, as arrays (one row per alert x symbol x leg).

    ``alert`` indexes the caller's alert list, ``sym`` the book's ``symbols``. ``a``/``b`` are the
    resolved levels (``b`` NaN unless a band), ``hyst`` the hysteresis in percent.
    """

    symbols: list[str]
    alert: I
    sym: I
    leg: NDArray[np.int16]
    kind: NDArray[np.int8]
    watch_volume: NDArray[np.bool_]
    first_fires: NDArray[np.bool_]
    a: F
    b: F
    state: NDArray[np.int8]
    hyst: F
    ra: F = field(init=False)
    rb: F = field(init=False)
    last_price: F = field(init=False)
    _sym_ix: dict[str, int] = field(init=False)
    _idx: dict[str, _Sorted] = field(init=False)
    _other: _Sorted = field(init=False)

    def __post_init__(self) -> None:
        self.ra, self.rb = rearm_levels(self.kind, self.a, self.b, self.hyst)
        self.last_price = np.full(len(self.symbols), np.nan)
        self._sym_ix = {s: i for i, s in enumerate(self.symbols)}
        n = len(self.symbols)
        price = ~self.watch_volume
        up = np.flatnonzero(price & (self.kind == UP)).astype(np.intp)
        down = np.flatnonzero(price & (self.kind == DOWN)).astype(np.intp)
        other = np.flatnonzero(~(price & ((self.kind == UP) | (self.kind == DOWN)))).astype(np.intp)
        self._idx = {
            "up_fire": _Sorted.of(up, self.sym, self.a, n),
            "up_rearm": _Sorted.of(up, self.sym, self.ra, n),
            "down_fire": _Sorted.of(down, self.sym, self.a, n),
            "down_rearm": _Sorted.of(down, self.sym, self.ra, n),
        }
        self._other = _Sorted.of(other, self.sym, np.zeros(len(self.a)), n)

    def __len__(self) -> int:
        return len(self.a)

    def symbol_index(self, symbol: str) -> int | None:
        return self._sym_ix.get(symbol)

    def step(self, idx: I, x: F) -> tuple[I, I]:
        """Apply observation ``x[k]`` to trigger ``idx[k]``; returns (triggers that fired, triggers whose
        state changed)."""
        if len(idx) == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        old = self.state[idx]
        new, fire = step_states(
            old, self.first_fires[idx], self.kind[idx], self.a[idx], self.b[idx], self.ra[idx], self.rb[idx], x
        )
        self.state[idx] = new
        return idx[fire], idx[new != old]

    def observe_all(self, price: F, volume: F) -> tuple[I, I]:
        """Observe every trigger at once: ``price[s]`` / ``volume[s]`` per book symbol (NaN = unknown).
        Sets the last prices (the starting point of :meth:`on_prices`)."""
        idx = np.arange(len(self.a), dtype=np.intp)
        x = np.where(self.watch_volume, volume[self.sym], price[self.sym])
        self.last_price = price.astype(np.float64).copy()
        return self.step(idx, x)

    def on_prices(self, syms: I, price: F, volume: F) -> tuple[I, I]:
        """A batch of new quotes: ``price[k]``/``volume[k]`` of book symbol ``syms[k]``. Only the triggers
        whose level lies between each symbol's last and new price are stepped (see the module docstring)."""
        p0 = self.last_price[syms]
        p1 = price
        fresh = np.isnan(p0)
        rise = ~fresh & (p1 > p0)
        fall = ~fresh & (p1 < p0)
        parts = [
            self._idx["up_fire"].between(syms[rise], p0[rise], p1[rise], "left"),
            self._idx["down_rearm"].between(syms[rise], p0[rise], p1[rise], "right"),
            self._idx["down_fire"].between(syms[fall], p1[fall], p0[fall], "right"),
            self._idx["up_rearm"].between(syms[fall], p1[fall], p0[fall], "left"),
        ]
        # symbols seen for the first time: every trigger; bands and volume legs: every one of the symbol
        if fresh.any():
            for key in ("up_fire", "down_fire"):
                srt = self._idx[key]
                parts.append(srt.perm[_ranges(srt.start[syms[fresh]], srt.start[syms[fresh] + 1])])
        parts.append(self._other.perm[_ranges(self._other.start[syms], self._other.start[syms + 1])])
        idx = np.unique(np.concatenate(parts))
        newp = np.full(len(self.symbols), np.nan)
        newv = np.full(len(self.symbols), np.nan)
        newp[syms] = p1
        newv[syms] = volume
        x = np.where(self.watch_volume[idx], newv[self.sym[idx]], newp[self.sym[idx]])
        self.last_price[syms] = np.where(np.isnan(p1), p0, p1)
        return self.step(idx, x)

    def on_prices_naive(self, syms: I, price: F, volume: F) -> list[int]:
        """The same batch by a plain loop over every trigger (the benchmark's baseline); returns fired."""
        newp = dict(zip(syms.tolist(), price.tolist(), strict=True))
        newv = dict(zip(syms.tolist(), volume.tolist(), strict=True))
        fired = []
        state, first, kind = self.state, self.first_fires, self.kind
        a, b, ra, rb, sym, vol = self.a, self.b, self.ra, self.rb, self.sym.tolist(), self.watch_volume
        for i in range(len(a)):
            s = sym[i]
            if s not in newp:
                continue
            x = newv[s] if vol[i] else newp[s]
            st, f = step_one(int(state[i]), bool(first[i]), int(kind[i]), a[i], b[i], ra[i], rb[i], x)
            state[i] = st
            if f:
                fired.append(i)
        for s, p in newp.items():
            if not math.isnan(p):
                self.last_price[s] = p
        return fired


@dataclass(frozen=True)
class TriggerRow:
    """One trigger to put in a book: alert index, symbol, leg, its resolved levels and known state."""

    alert: int
    symbol: str
    leg: Leg
    a: float
    b: float = math.nan
    state: int = UNKNOWN
    hysteresis_pct: float = 0.0


def build_book(rows: Sequence[TriggerRow], symbols: Iterable[str] = ()) -> TriggerBook:
    names = sorted({r.symbol for r in rows} | set(symbols))
    ix = {s: i for i, s in enumerate(names)}
    return TriggerBook(
        symbols=names,
        alert=np.array([r.alert for r in rows], dtype=np.intp),
        sym=np.array([ix[r.symbol] for r in rows], dtype=np.intp),
        leg=np.array([r.leg.leg for r in rows], dtype=np.int16),
        kind=np.array([r.leg.kind for r in rows], dtype=np.int8),
        watch_volume=np.array([r.leg.field == "volume" for r in rows], dtype=np.bool_),
        first_fires=np.array([r.leg.first_fires for r in rows], dtype=np.bool_),
        a=np.array([r.a for r in rows], dtype=np.float64),
        b=np.array([r.b for r in rows], dtype=np.float64),
        state=np.array([r.state for r in rows], dtype=np.int8),
        hyst=np.array([r.hysteresis_pct for r in rows], dtype=np.float64),
    )
