"""Type checks and limits for a screen's AST (whether it came from text or from JSON)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from stockscreen.screening import ast as A
from stockscreen.screening.fields import BY_ID, FIELDS
from stockscreen.screening.language import QueryError, expr_text, to_text, unknown_field

MAX_DEPTH = 12
MAX_CLAUSES = 50
MAX_IN = 100
MAX_WINDOW = 1260  # five years of sessions
MAX_OFFSET = 1260
MAX_ABS_NUMBER = 1e15
MAX_STRING = 200
MAX_EXPR_DEPTH = 8
#: weekly/monthly values are rebuilt from bars cut at each day they are needed on; bound those days
MAX_TIMEFRAME_SPAN = 20
#: nested windows and rolling functions widen the range of dates a field is read over; bound it
MAX_SPAN = 2520

Kind = Literal["number", "string", "date"]


def field_kind(field_type: str) -> Kind:
    """Catalogue types folded into the three kinds the engine knows (booleans are 0/1 numbers)."""
    if field_type in ("string", "text", "category", "enum"):
        return "string"
    if field_type == "date":
        return "date"
    return "number"


#: every catalogue field's kind
KINDS: dict[str, Kind] = {f.id: field_kind(f.type) for f in FIELDS}


def _is_date(s: str) -> bool:
    try:
        dt.date.fromisoformat(s)
    except ValueError:
        return False
    return True


class _Checker:
    """One walk over the screen: kinds and limits (raised as found), and the span each field is read over
    (``spans``: a field needed on too many past sessions is reported after the walk, as the first such)."""

    def __init__(self) -> None:
        self.clauses = 0
        self.spans: list[tuple[str, int]] = []

    def kind(self, e: A.ExprNode, depth: int = 0, span: int = 1) -> Kind:
        if depth > MAX_EXPR_DEPTH:
            raise QueryError(f"expression is nested more than {MAX_EXPR_DEPTH} levels deep")
        t = type(e)
        if t is A.FieldRef:
            assert isinstance(e, A.FieldRef)
            k = KINDS.get(e.name)
            if k is None:
                raise unknown_field(e.name)
            if k != "number" and (e.offset or e.timeframe != "daily"):
                raise QueryError(f"{e.name} is {k}; it has no history, so offsets and timeframes do not apply")
            if not -MAX_OFFSET <= e.offset <= 0:
                raise QueryError(f"offset [{e.offset}] on {e.name} must be between -{MAX_OFFSET} and 0")
            self.spans.append((e.name if e.timeframe == "daily" else f"{e.timeframe}.{e.name}", span))
            return k
        if t is A.Num:
            assert isinstance(e, A.Num)
            if not math.isfinite(e.value) or abs(e.value) > MAX_ABS_NUMBER:
                raise QueryError(f"number {e.value!r} is out of range (at most {MAX_ABS_NUMBER:g} in magnitude)")
            return "number"
        if t is A.Str:
            assert isinstance(e, A.Str)
            if len(e.value) > MAX_STRING:
                raise QueryError(f"text value is {len(e.value)} characters; the limit is {MAX_STRING}")
            return "string"
        if t is A.Func:
            assert isinstance(e, A.Func)
            if not 1 <= e.window <= MAX_WINDOW:
                raise QueryError(f"{e.name}(..., {e.window}): the window must be between 1 and {MAX_WINDOW} sessions")
            if e.name == "std" and e.window < 2:
                raise QueryError("std(..., n) needs a window of at least 2 sessions")
            if not -MAX_OFFSET <= e.offset <= 0:
                raise QueryError(f"offset [{e.offset}] on {e.name}() must be between -{MAX_OFFSET} and 0")
            if self.kind(e.arg, depth + 1, span + e.window - 1) != "number":
                raise QueryError(f"{e.name}() needs a numeric argument, not {expr_text(e.arg)}")
            return "number"
        assert isinstance(e, A.Arith)
        lk, rk = self.kind(e.left, depth + 1, span), self.kind(e.right, depth + 1, span)
        if lk != "number" or rk != "number":
            raise QueryError(f"arithmetic needs numbers: {expr_text(e)}")
        return "number"

    def _percent(self, a: A.ExprNode, b: A.ExprNode, c: A.CondNode) -> None:
        if not (type(a) is A.Num and a.percent) and not (type(b) is A.Num and b.percent):
            return
        for x, y in ((a, b), (b, a)):
            if isinstance(x, A.Num) and x.percent and isinstance(y, A.FieldRef):
                f = BY_ID[y.name]
                if f.unit != "pct":
                    raise QueryError(
                        f"{to_text(c)}: {y.name} is not a percentage field ({f.unit or 'no unit'}); drop the %"
                    )

    def _comparable(self, a: A.ExprNode, b: A.ExprNode, c: A.CondNode, ordered: bool, span: int) -> None:
        ka, kb = self.kind(a, 0, span), self.kind(b, 0, span)
        self._percent(a, b, c)
        if ka == kb == "number":
            return
        kinds = {ka, kb}
        if kinds == {"string"}:
            if ordered:
                raise QueryError(f"{to_text(c)}: text can only be compared with =, != or in")
            return
        if kinds <= {"date", "string"} and "date" in kinds:
            for x in (a, b):
                if isinstance(x, A.Str) and not _is_date(x.value):
                    raise QueryError(f'{to_text(c)}: dates are written as "YYYY-MM-DD", not {x.value!r}')
            return
        names = {
            "number": "a number",
            "string": "text",
            "date": "a date",
        }
        clause = to_text(c)
        raise QueryError(
            f"{clause}: cannot compare {names[ka]} with {names[kb]}"
            + ("; quote text values and use =, != or in" if "string" in kinds else ""),
            {"clause": clause, "left": ka, "right": kb},
        )

    def cond(self, c: A.CondNode, depth: int = 1, span: int = 1) -> None:
        if depth > MAX_DEPTH:
            raise QueryError(f"the screen is nested more than {MAX_DEPTH} levels deep")
        if isinstance(c, A.And | A.Or):
            if not c.items:
                raise QueryError(f"an empty '{c.kind}' group")
            for i in c.items:
                self.cond(i, depth + 1, span)
            return
        if isinstance(c, A.Not):
            self.cond(c.item, depth + 1, span)
            return
        if isinstance(c, A.Window):
            if not 1 <= c.days <= MAX_WINDOW:
                raise QueryError(f"'{c.mode} {c.days} days': the window must be between 1 and {MAX_WINDOW} sessions")
            self.cond(c.cond, depth + 1, span + c.days - 1)
            return
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise QueryError(f"the screen has more than {MAX_CLAUSES} conditions")
        if isinstance(c, A.Compare):
            self._comparable(c.left, c.right, c, c.op not in ("=", "!="), span)
        elif isinstance(c, A.Between):
            self._comparable(c.expr, c.low, c, True, span)
            self._comparable(c.expr, c.high, c, True, span)
        elif isinstance(c, A.In):
            if not 1 <= len(c.values) <= MAX_IN:
                raise QueryError(f"{to_text(c)[:60]}...: 'in' takes 1 to {MAX_IN} values, not {len(c.values)}")
            k = self.kind(c.expr, 0, span)
            for v in c.values:
                vk = self.kind(v, 0, span)
                if k == "date" and vk == "string" and isinstance(v, A.Str) and _is_date(v.value):
                    continue
                if vk != k:
                    raise QueryError(f"{to_text(c)[:80]}: {expr_text(c.expr)} is {k}; {expr_text(v)} is {vk}")
        elif isinstance(c, A.Cross):
            if self.kind(c.left, 0, span + 1) != "number" or self.kind(c.right, 0, span + 1) != "number":
                raise QueryError(f"{to_text(c)}: crosses compare two numeric series")
        elif isinstance(c, A.Flag):
            k = self.kind(c.expr, 0, span)
            if k != "number":
                raise QueryError(
                    f'{to_text(c)}: {k} is not a condition; compare it, e.g. {expr_text(c.expr)} = "..."',
                )


def check(c: A.CondNode | None) -> frozenset[str]:
    """Raise ``QueryError`` with a precise message when the screen is ill-typed or too large; else
    the fields it reads (:func:`stockscreen.screening.ast.fields_of`)."""
    if c is None:
        return frozenset()
    checker = _Checker()
    checker.cond(c)
    for name, span in checker.spans:
        if span > MAX_SPAN:
            raise QueryError(
                f"{name} is needed on {span} past sessions by the windows and functions around it; "
                f"the limit is {MAX_SPAN}"
            )
        if "." in name and span > MAX_TIMEFRAME_SPAN:
            raise QueryError(
                f"{name} is needed on {span} past sessions by the windows around it; weekly/monthly fields "
                f"can look back at most {MAX_TIMEFRAME_SPAN} sessions this way (use an offset such as "
                f"{name}[-4] instead)"
            )
    return frozenset(A.fields_of(c))


def leaves(c: A.CondNode | None) -> list[A.CondNode]:
    """The clauses of a screen in order (and/or/not are structure; a window keeps its clause)."""
    if c is None:
        return []
    if isinstance(c, A.And | A.Or):
        return [x for i in c.items for x in leaves(i)]
    if isinstance(c, A.Not):
        return leaves(c.item)
    return [c]
