"""Vectorised evaluation of a screen's AST over a universe.

Every node is evaluated over a range of trading-date columns ``[lo, hi]`` for all securities
at once: expressions give float arrays (securities x dates), conditions boolean masks.
Offsets, rolling functions, crosses and window quantifiers widen the range they ask their
children for, so a screen on date ``t`` only ever reads columns ``<= t`` (point in time).
Missing values never match a comparison; ``not`` negates the match.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from stockscreen.screening import ast as A
from stockscreen.screening.fields import BY_ID
from stockscreen.screening.history import F2, roll_extreme, roll_std, roll_sum
from stockscreen.screening.universe import Universe, day_number
from stockscreen.screening.validate import KINDS as _KINDS
from stockscreen.screening.validate import field_kind

if TYPE_CHECKING:
    from numpy.typing import NDArray

B2: TypeAlias = "NDArray[np.bool_]"

_READS: dict[int, tuple[object, frozenset[str]]] = {}


def fields_read(node: A.CondNode | A.ExprNode | None) -> frozenset[str]:
    """The fields a screen reads (memoised per AST object: a screen is run page after page)."""
    hit = _READS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    names = frozenset(A.fields_of(node))
    remember_fields(node, names)  # holding the node keeps its id from being reused
    return names


def remember_fields(node: A.CondNode | A.ExprNode | None, names: frozenset[str]) -> None:
    """``fields_read(node)`` already known (``validate.check`` returns it)."""
    if len(_READS) >= 1024:
        _READS.clear()
    _READS[id(node)] = (node, names)


class Evaluator:
    def __init__(self, u: Universe) -> None:
        self.u = u

    # ------------------------------------------------------------- expressions
    def expr(self, e: A.ExprNode, lo: int, hi: int) -> F2:
        n = hi - lo + 1
        if isinstance(e, A.Num):
            return np.full((1, n), e.value)
        if isinstance(e, A.FieldRef):
            kind = field_kind(BY_ID[e.name].type)
            if kind == "date":
                return np.broadcast_to(self.u.dates[e.name][:, None], (self.u.n, n))
            if e.timeframe != "daily":
                cols = [
                    self.u.timeframe_value(e.name, e.timeframe, t, e.offset) if t >= 0 else None
                    for t in range(lo, hi + 1)
                ]
                return np.stack([c if c is not None else np.full(self.u.n, np.nan) for c in cols], axis=1)
            return self.u.cols(e.name, lo + e.offset, hi + e.offset)
        if isinstance(e, A.Func):
            a, b = lo + e.offset, hi + e.offset
            x = self.expr(e.arg, a - e.window + 1, b)
            x = np.broadcast_to(x, (max(x.shape[0], 1), x.shape[1])) if x.shape[0] == 1 else x
            if e.name == "avg":
                r = roll_sum(np.ascontiguousarray(x), e.window) / e.window
            elif e.name == "sum":
                r = roll_sum(np.ascontiguousarray(x), e.window)
            elif e.name == "std":
                r = roll_std(np.ascontiguousarray(x), e.window)
            else:
                r = roll_extreme(np.ascontiguousarray(x), e.window, e.name)
            return r[:, e.window - 1 :]
        if isinstance(e, A.Arith):
            left, right = self.expr(e.left, lo, hi), self.expr(e.right, lo, hi)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if e.op == "+":
                    out = left + right
                elif e.op == "-":
                    out = left - right
                elif e.op == "*":
                    out = left * right
                else:
                    out = left / right
            if e.op == "/":
                out = np.where(np.isfinite(out), out, np.nan)
            return out
        raise TypeError(f"not a numeric expression: {e!r}")  # Str is handled by the conditions

    def _date_or_num(self, e: A.ExprNode, lo: int, hi: int) -> F2:
        if isinstance(e, A.Str):  # a date literal compared with a date field (validated)
            return np.full((1, hi - lo + 1), day_number(dt.date.fromisoformat(e.value)))
        return self.expr(e, lo, hi)

    # ------------------------------------------------------------- text
    def _string_field(self, e: A.ExprNode) -> str | None:
        if isinstance(e, A.FieldRef) and field_kind(BY_ID[e.name].type) == "string":
            return e.name
        return None

    def _text_eq(self, name: str, values: list[str], lo: int, hi: int, negated: bool) -> B2:
        """Which securities' text field equals one of ``values`` on columns lo..hi (``negated``: has a
        value, and not one of those)."""
        cat = self.u.strings[name]
        wanted = [cat.code(v) for v in values]
        have = self.u.label_codes(name, lo, hi)
        if len(wanted) <= 4:
            m = have == wanted[0]
            for w in wanted[1:]:
                m |= have == w
        else:  # a lookup table over the codes; its last entry answers the missing code -1
            table = np.zeros(len(cat.categories) + 1, dtype=bool)
            table[[w for w in wanted if w >= 0]] = True
            m = table.take(have)
        if negated:
            m = ~m & (have >= 0)
        shape = (self.u.n, hi - lo + 1)
        return m if m.shape == shape else np.broadcast_to(m, shape)

    # ------------------------------------------------------------- conditions
    def _daily_number(self, e: A.ExprNode, lo: int, hi: int) -> F2 | None:
        """A daily numeric field's columns lo..hi (the common operand, read without the general walk)."""
        if type(e) is not A.FieldRef or e.timeframe != "daily" or _KINDS[e.name] != "number":
            return None
        return self.u.cols(e.name, lo + e.offset, hi + e.offset)

    def cond(self, c: A.CondNode, lo: int, hi: int) -> B2:
        n = hi - lo + 1
        if type(c) is A.Compare:  # field > 5 (the most common clause), field > field
            x = self._daily_number(c.left, lo, hi)
            if x is not None:
                if type(c.right) is A.Num:
                    return _cmp_scalar(x, c.op, c.right.value)
                y = self._daily_number(c.right, lo, hi)
                if y is not None:
                    return _cmp(x, c.op, y, self.u.n)
        elif type(c) is A.Between and type(c.low) is A.Num and type(c.high) is A.Num:
            x = self._daily_number(c.expr, lo, hi)
            if x is not None:
                bounds = sorted((c.low.value, c.high.value))
                return (x >= bounds[0]) & (x <= bounds[1])
        if isinstance(c, A.And):
            m = self.cond(c.items[0], lo, hi) & self.cond(c.items[1], lo, hi) if len(c.items) > 1 else None
            if m is None:
                return self.cond(c.items[0], lo, hi)
            for i in c.items[2:]:
                m &= self.cond(i, lo, hi)  # in place: m is this group's own array
            return m
        if isinstance(c, A.Or):
            m = self.cond(c.items[0], lo, hi)
            for i in c.items[1:]:
                m = m | self.cond(i, lo, hi)
            return m
        if isinstance(c, A.Not):
            return ~self.cond(c.item, lo, hi)
        if isinstance(c, A.Window):
            inner = self.cond(c.cond, lo - c.days + 1, hi).astype(np.float64)
            inner = np.broadcast_to(inner, (self.u.n, inner.shape[1]))
            hits = roll_sum(np.ascontiguousarray(inner), c.days)[:, c.days - 1 :]
            return hits > 0 if c.mode == "within" else hits >= c.days
        if isinstance(c, A.Compare):
            sf = self._string_field(c.left) or self._string_field(c.right)
            if sf is not None:
                other = c.right if isinstance(c.right, A.Str) else c.left
                if isinstance(other, A.Str):
                    return self._text_eq(sf, [other.value], lo, hi, negated=c.op != "=")
                return self._compare_text_fields(c, lo, hi)
            left, right = self._date_or_num(c.left, lo, hi), self._date_or_num(c.right, lo, hi)
            return _cmp(left, c.op, right, self.u.n)
        if isinstance(c, A.Between):
            x = self._date_or_num(c.expr, lo, hi)
            a, b = self._date_or_num(c.low, lo, hi), self._date_or_num(c.high, lo, hi)
            low, high = np.minimum(a, b), np.maximum(a, b)
            return np.broadcast_to((x >= low) & (x <= high), (self.u.n, n))
        if isinstance(c, A.In):
            sf = self._string_field(c.expr)
            if sf is not None:
                return self._text_eq(sf, [v.value for v in c.values if isinstance(v, A.Str)], lo, hi, c.negated)
            x = self._date_or_num(c.expr, lo, hi)
            vals = np.array([self._date_or_num(v, 0, 0)[0, 0] if isinstance(v, A.Str) else v.value for v in c.values])
            m = np.isin(x, vals)
            if c.negated:
                m = ~m & ~np.isnan(x)
            return np.broadcast_to(m, (self.u.n, n))
        if isinstance(c, A.Cross):
            a, b = self.expr(c.left, lo - 1, hi), self.expr(c.right, lo - 1, hi)
            if c.direction == "above":
                m = (a[:, 1:] > b[:, 1:]) & (a[:, :-1] <= b[:, :-1])
            else:
                m = (a[:, 1:] < b[:, 1:]) & (a[:, :-1] >= b[:, :-1])
            return np.broadcast_to(m, (self.u.n, n))
        if isinstance(c, A.Flag):
            x = self.expr(c.expr, lo, hi)
            return np.broadcast_to((x != 0) & ~np.isnan(x), (self.u.n, n))
        raise TypeError(f"unknown condition {c!r}")

    def _compare_text_fields(self, c: A.Compare, lo: int, hi: int) -> B2:
        assert isinstance(c.left, A.FieldRef) and isinstance(c.right, A.FieldRef)
        shape = (self.u.n, hi - lo + 1)
        sides = []
        for name in (c.left.name, c.right.name):
            cats = np.array([*self.u.strings[name].categories, ""], dtype=object)
            codes = np.broadcast_to(self.u.label_codes(name, lo, hi), shape)
            sides.append((cats[codes], codes >= 0))  # code -1 picks the trailing ""
        (a, ka), (b, kb) = sides
        known = ka & kb
        eq = np.asarray(a == b, dtype=bool) & known
        return eq if c.op == "=" else (~eq & known)

    def mask(self, c: A.CondNode | None, t: int) -> NDArray[np.bool_]:
        """Which securities pass on date column ``t``."""
        if c is None:
            return np.ones(self.u.n, dtype=bool)
        self.u.want(fields_read(c))
        return np.ascontiguousarray(self.cond(c, t, t)[:, 0])

    def value(self, e: A.ExprNode, t: int) -> NDArray[np.float64]:
        self.u.want(fields_read(e))
        v = self.expr(e, t, t)[:, 0]
        return np.broadcast_to(v, (self.u.n,)) if v.shape[0] == 1 else v


def _cmp_scalar(a: F2, op: str, b: float) -> B2:
    """``_cmp`` against a finite number (NaN compares false; numpy 2 raises no FP error for it)."""
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == "=":
        eq: B2 = a == b
        return eq
    ne: B2 = a != b
    return ne & ~np.isnan(a)


def _cmp(a: F2, op: str, b: F2, n: int) -> B2:
    if op == ">":
        m = a > b
    elif op == ">=":
        m = a >= b
    elif op == "<":
        m = a < b
    elif op == "<=":
        m = a <= b
    elif op == "=":
        m = a == b
    else:
        m = (a != b) & ~np.isnan(a) & ~np.isnan(b)
    if m.shape[0] != n:
        m = np.broadcast_to(m, (n, m.shape[1]))
    return m
