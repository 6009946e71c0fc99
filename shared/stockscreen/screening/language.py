"""The screen query language: a LALR grammar (lark), the transformer to the JSON AST, and the printer.

    market_cap > 10B and pe between 5 and 15 and (rsi14 < 30 or close > sma200)
    and sector in ("Information Technology", "Energy") and not new_low_52w
    volume > 2 * avg(volume, 50)        close > max(high, 252)[-1]
    sma50 crosses_above sma200 within 5 days     close > sma200 for 20 days
    close > close[-5]    rsi14[-1] < 30    weekly.rsi14 > 50

Keywords are case-insensitive. Numbers take K/M/B/T suffixes and ``%`` (percent points).
Syntax errors name the line and column and what was expected; unknown fields suggest the
nearest catalogue name. Types and limits are checked by ``validate.check``.
"""

from __future__ import annotations

import difflib
import math
import re
from functools import lru_cache
from typing import Any, TypeVar

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from pydantic import BaseModel

from stockscreen.errors import Invalid
from stockscreen.screening import ast as A
from stockscreen.screening.fields import BY_ID

MAX_QUERY_CHARS = 4000

GRAMMAR = r"""
?start: expr

?expr: or_
?or_: and_ (_OR and_)*
?and_: not_ (_AND not_)*
?not_: _NOT not_                           -> negate
     | quant
?quant: cmp
      | cmp _WITHIN INT _DAYS              -> within
      | cmp _FOR INT _DAYS                 -> for_
?cmp: sum
    | sum COMP sum                         -> compare
    | sum _BETWEEN sum _AND sum            -> between
    | sum _IN _LPAR literal ("," literal)* _RPAR        -> in_
    | sum _NOT _IN _LPAR literal ("," literal)* _RPAR   -> not_in
    | sum CROSS sum                        -> cross
?sum: product
    | sum ADD product                      -> arith
?product: unary
        | product MUL unary                -> arith
?unary: atom
      | "-" unary                          -> neg
?atom: NUMBER                              -> number
     | STRING                              -> string
     | field
     | func
     | _LPAR expr _RPAR
field: (TIMEFRAME ".")? NAME offset?
func: FUNC _LPAR expr "," INT _RPAR offset?
offset: "[" SIGNED "]"
?literal: NUMBER                           -> number
        | "-" NUMBER                       -> neg_number
        | STRING                           -> string

_LPAR: "("
_RPAR: ")"
_OR.3: /or\b/i
_AND.3: /and\b/i
_NOT.3: /not\b/i
_IN.3: /in\b/i
_BETWEEN.3: /between\b/i
_WITHIN.3: /within\b/i
_FOR.3: /for\b/i
_DAYS.3: /(days?|sessions?|bars?)\b/i
CROSS.3: /crosses_(above|below)\b/i
TIMEFRAME.3: /(daily|weekly|monthly)(?=\.)/i
FUNC.3: /(avg|min|max|sum|std)(?=\s*\()/i
COMP: ">=" | "<=" | "!=" | "<>" | "==" | ">" | "<" | "="
ADD: "+" | "-"
MUL: "*" | "/"
NUMBER.2: /(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[kKmMbBtT%]?(?![A-Za-z0-9_])/
INT: /\d+/
SIGNED: /[+-]?\d+/
STRING: /"(?:[^"\\\n]|\\.)*"/ | /'(?:[^'\\\n]|\\.)*'/
NAME: /(?!(?i:and|or|not|in|between|within|for|days?|crosses_above|crosses_below)\b)[A-Za-z_][A-Za-z0-9_]*/

%import common.WS
%ignore WS
"""

_FRIENDLY = {
    "_LPAR": "'('",
    "_RPAR": "')'",
    "LPAR": "'('",
    "RPAR": "')'",
    "_OR": "'or'",
    "_AND": "'and'",
    "_NOT": "'not'",
    "_IN": "'in'",
    "_BETWEEN": "'between'",
    "_WITHIN": "'within'",
    "_FOR": "'for'",
    "_DAYS": "'days'",
    "CROSS": "crosses_above/crosses_below",
    "TIMEFRAME": "weekly./monthly.",
    "FUNC": "a function (avg, min, max, sum, std)",
    "COMP": "a comparison (> >= < <= = !=)",
    "ADD": "'+' or '-'",
    "MUL": "'*' or '/'",
    "NUMBER": "a number",
    "INT": "a whole number",
    "SIGNED": "an offset such as -1",
    "STRING": "a quoted string",
    "NAME": "a field name",
    "MINUS": "'-'",
    "COMMA": "','",
    "LSQB": "'['",
    "RSQB": "']'",
    "DOT": "'.'",
    "$END": "end of query",
}

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_ESCAPE = re.compile(r"\\(.)")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False, cache=False)


N = TypeVar("N", bound=BaseModel)


class QueryError(Invalid):
    code = "invalid_query"


def _suggest(name: str) -> str:
    near = difflib.get_close_matches(name, list(BY_ID), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(near)}?" if near else ""


def unknown_field(name: str, where: str = "") -> QueryError:
    return QueryError(f"unknown field {name!r}{where}{_suggest(name)}", {"field": name, "suggestions": _near(name)})


def _near(name: str) -> list[str]:
    return difflib.get_close_matches(name, list(BY_ID), n=3, cutoff=0.6)


def parse_number(text: str) -> A.Num:
    text = text.replace("_", "")
    percent = text.endswith("%")
    mult = 1.0
    if percent:
        text = text[:-1]
    elif text and text[-1].lower() in _SUFFIX:
        mult = _SUFFIX[text[-1].lower()]
        text = text[:-1]
    value = float(text) * mult
    if not math.isfinite(value):
        raise QueryError(f"number {text!r} is out of range")
    return A.Num(value=value, percent=percent)


def _mk(cls: type[N], **kw: Any) -> N:
    """Build an AST node without re-validating it: the grammar already guarantees its shape and types
    (``validate.check`` still runs on the result, and JSON input goes through full validation)."""
    return cls.model_construct(**kw)


class _ToAst(Transformer[Token, Any]):
    def number(self, items: list[Token]) -> A.Num:
        return parse_number(str(items[0]))

    def neg_number(self, items: list[Token]) -> A.Num:
        n = parse_number(str(items[0]))
        return _mk(A.Num, value=-n.value, percent=n.percent)

    def string(self, items: list[Token]) -> A.Str:
        raw = str(items[0])[1:-1]
        return _mk(A.Str, value=_ESCAPE.sub(r"\1", raw))

    def neg(self, items: list[Any]) -> A.ExprNode:
        x = _as_expr(items[0])
        if isinstance(x, A.Num):
            return _mk(A.Num, value=-x.value, percent=x.percent)
        return _mk(A.Arith, op="*", left=_mk(A.Num, value=-1.0), right=x)

    def offset(self, items: list[Token]) -> int:
        value = int(str(items[0]))
        if value > 0:
            raise QueryError(
                f"offset [{value}] at line {items[0].line}, column {items[0].column} looks into the future; "
                "use 0 or a negative number of sessions such as [-1]"
            )
        return value

    def field(self, items: list[Any]) -> A.FieldRef | A.Num:
        if len(items) == 1 and str(items[0]).lower() in ("true", "false"):
            # flags are 1/0: ``new_high_52w = true`` is ``new_high_52w = 1``
            return _mk(A.Num, value=1.0 if str(items[0]).lower() == "true" else 0.0)
        timeframe = "daily"
        offset = 0
        rest = list(items)
        if isinstance(rest[0], Token) and rest[0].type == "TIMEFRAME":
            timeframe = str(rest.pop(0)).lower()
        name_tok = rest.pop(0)
        if rest:
            offset = rest.pop(0)
        name = str(name_tok).lower()
        if name not in BY_ID:
            raise unknown_field(name, f" at line {name_tok.line}, column {name_tok.column}")
        return _mk(A.FieldRef, name=name, offset=offset, timeframe=timeframe)

    def func(self, items: list[Any]) -> A.Func:
        name, arg, window = items[0], items[1], items[2]
        offset = items[3] if len(items) > 3 else 0
        return _mk(A.Func, name=str(name).lower(), arg=_as_expr(arg), window=int(str(window)), offset=offset)

    def arith(self, items: list[Any]) -> A.Arith:
        return _mk(A.Arith, left=_as_expr(items[0]), op=str(items[1]), right=_as_expr(items[2]))

    def compare(self, items: list[Any]) -> A.Compare:
        op = {"==": "=", "<>": "!="}.get(str(items[1]), str(items[1]))
        return _mk(A.Compare, left=_as_expr(items[0]), op=op, right=_as_expr(items[2]))

    def between(self, items: list[Any]) -> A.Between:
        return _mk(A.Between, expr=_as_expr(items[0]), low=_as_expr(items[1]), high=_as_expr(items[2]))

    def in_(self, items: list[Any]) -> A.In:
        return _mk(A.In, expr=_as_expr(items[0]), values=items[1:])

    def not_in(self, items: list[Any]) -> A.In:
        return _mk(A.In, expr=_as_expr(items[0]), values=items[1:], negated=True)

    def cross(self, items: list[Any]) -> A.Cross:
        direction = str(items[1]).lower().removeprefix("crosses_")
        return _mk(A.Cross, left=_as_expr(items[0]), direction=direction, right=_as_expr(items[2]))

    def within(self, items: list[Any]) -> A.Window:
        return _mk(A.Window, mode="within", days=int(str(items[1])), cond=_as_cond(items[0]))

    def for_(self, items: list[Any]) -> A.Window:
        return _mk(A.Window, mode="for", days=int(str(items[1])), cond=_as_cond(items[0]))

    def negate(self, items: list[Any]) -> A.Not:
        return _mk(A.Not, item=_as_cond(items[0]))

    def and_(self, items: list[Any]) -> A.And:
        flat: list[A.CondNode] = []
        for i in items:
            c = _as_cond(i)
            flat.extend(c.items if isinstance(c, A.And) else [c])
        return _mk(A.And, items=flat)

    def or_(self, items: list[Any]) -> A.Or:
        flat: list[A.CondNode] = []
        for i in items:
            c = _as_cond(i)
            flat.extend(c.items if isinstance(c, A.Or) else [c])
        return _mk(A.Or, items=flat)


_EXPR_TYPES = (A.Num, A.Str, A.FieldRef, A.Func, A.Arith)


def _as_cond(x: Any) -> A.CondNode:
    """A bare expression in a boolean position is a flag (``not new_low_52w``)."""
    if isinstance(x, _EXPR_TYPES):
        return _mk(A.Flag, expr=x)
    return x  # type: ignore[no-any-return]


def _as_expr(x: Any) -> A.ExprNode:
    if not isinstance(x, _EXPR_TYPES):
        raise QueryError(f"a condition ({to_text(x)}) cannot be used as a value; did you misplace a parenthesis?")
    return x


def _expected(exc: UnexpectedInput) -> list[str]:
    names: set[str] = set()
    if isinstance(exc, UnexpectedToken | UnexpectedEOF):
        names = set(exc.expected)
    elif isinstance(exc, UnexpectedCharacters):
        names = set(exc.allowed or ())
    return sorted({_FRIENDLY.get(n, n.lower()) for n in names if not n.startswith("__")})


def parse(text: str) -> A.CondNode | None:
    """Parse query text into the AST; ``None`` for an empty query. Raises ``QueryError``."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    if not text.strip():
        return None
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        line, column = exc.line, exc.column
        expected = _expected(exc)
        if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
            found = "end of query"
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        elif isinstance(exc, UnexpectedToken):
            found = repr(str(exc.token))
        else:
            found = repr(text[exc.pos_in_stream]) if exc.pos_in_stream is not None else "?"
        if line < 1:
            line, column = 1, 1
        msg = f"syntax error at line {line}, column {column}: unexpected {found}"
        if expected:
            msg += f"; expected {', '.join(expected[:14])}"
        raise QueryError(
            msg, {"line": line, "column": column, "expected": expected, "context": exc.get_context(text, 30)}
        ) from None
    except RecursionError:
        raise QueryError("query is nested too deeply") from None
    try:
        result = _ToAst().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, Invalid):
            raise exc.orig_exc from None
        if isinstance(exc.orig_exc, ValueError | OverflowError):
            raise QueryError(f"invalid value: {exc.orig_exc}") from None
        raise
    except RecursionError:
        raise QueryError("query is nested too deeply") from None
    if isinstance(result, Tree):  # pragma: no cover - every rule is transformed
        raise QueryError("could not understand the query")
    return _as_cond(result)


# ---------------------------------------------------------------- printing


def _num(n: A.Num) -> str:
    v = n.value
    body = str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return body + ("%" if n.percent else "")


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


def expr_text(e: A.ExprNode, parent_prec: int = 0, right: bool = False) -> str:
    if isinstance(e, A.Num):
        s = _num(e)
        return f"({s})" if e.value < 0 and parent_prec else s
    if isinstance(e, A.Str):
        return _quote(e.value)
    if isinstance(e, A.FieldRef):
        prefix = "" if e.timeframe == "daily" else f"{e.timeframe}."
        return f"{prefix}{e.name}" + (f"[{e.offset}]" if e.offset else "")
    if isinstance(e, A.Func):
        return f"{e.name}({expr_text(e.arg)}, {e.window})" + (f"[{e.offset}]" if e.offset else "")
    prec = _PREC[e.op]
    s = f"{expr_text(e.left, prec)} {e.op} {expr_text(e.right, prec, right=True)}"
    if prec < parent_prec or (right and prec == parent_prec):
        return f"({s})"
    return s


def to_text(c: A.CondNode | None, parent: str = "") -> str:
    """Print a condition in the canonical text form (parses back to the same AST)."""
    if c is None:
        return ""
    if isinstance(c, A.Compare):
        return f"{expr_text(c.left)} {c.op} {expr_text(c.right)}"
    if isinstance(c, A.Between):
        return f"{expr_text(c.expr)} between {expr_text(c.low)} and {expr_text(c.high)}"
    if isinstance(c, A.In):
        vals = ", ".join(_num(v) if isinstance(v, A.Num) else _quote(v.value) for v in c.values)
        return f"{expr_text(c.expr)} {'not in' if c.negated else 'in'} ({vals})"
    if isinstance(c, A.Cross):
        return f"{expr_text(c.left)} crosses_{c.direction} {expr_text(c.right)}"
    if isinstance(c, A.Flag):
        return expr_text(c.expr)
    if isinstance(c, A.Window):
        s = f"{to_text(c.cond, 'window')} {c.mode} {c.days} days"
        return f"({s})" if parent == "window" else s
    if isinstance(c, A.Not):
        s = f"not {to_text(c.item, 'not')}"
        return f"({s})" if parent == "window" else s
    joiner = " and " if isinstance(c, A.And) else " or "
    own = "and" if isinstance(c, A.And) else "or"
    s = joiner.join(to_text(i, own) for i in c.items)
    # and binds tighter than or; everything inside not/window/and needs parentheses for an or
    if parent and (own == "or" or parent in ("not", "window")):
        return f"({s})"
    return s
