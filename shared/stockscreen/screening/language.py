"""The screen query language: a LALR grammar, the builders of the JSON AST, and the printer.
Valid queries are read by a recursive-descent fast path over the same terminals and rules; the grammar's
own parser (lark, in :mod:`stockscreen.screening.lalr`, imported only then) reads whatever that path is
not sure of and reports every error (see "the fast path" below).

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

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

from stockscreen.core.errors import Invalid
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

_SAME_OP = {"==": "=", "<>": "!="}
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_ESCAPE = re.compile(r"\\(.)")


N = TypeVar("N")


class QueryError(Invalid):
    code = "invalid_query"


def _suggest(name: str) -> str:
    near = _near(name)
    return f"; did you mean {' or '.join(near)}?" if near else ""


def unknown_field(name: str, where: str = "") -> QueryError:
    return QueryError(f"unknown field {name!r}{where}{_suggest(name)}", {"field": name, "suggestions": _near(name)})


def _near(name: str) -> list[str]:
    import difflib  # (errors only: not imported by every cold start)

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
    return _mk(A.Num, value=value, percent=percent)


_set = object.__setattr__
_TEMPLATES: dict[type, dict[str, Any]] = {}


def _template(cls: type) -> dict[str, Any]:
    """Every field of ``cls`` in declaration order, with its default (immutable here) or a placeholder."""
    return {f.name: None if f.default is dataclasses.MISSING else f.default for f in dataclasses.fields(cls)}


def _mk(cls: type[N], **kw: Any) -> N:
    """Build an AST node without its ``__init__``: the grammar already guarantees its shape and types
    (``validate.check`` still runs on the result, and JSON input goes through full validation).

    The same node as ``cls(**kw)`` (a unit test holds them equal), its fields set at once rather than
    one frozen ``__setattr__`` at a time; a query builds a few dozen nodes."""
    template = _TEMPLATES.get(cls)
    if template is None:
        template = _TEMPLATES[cls] = _template(cls)
    values = template.copy()
    values.update(kw)  # keeps the fields' declaration order (to_json, repr)
    node = cls.__new__(cls)
    _set(node, "__dict__", values)
    return node


# ---------------------------------------------------------------- building the AST
# One set of builders, shared by the grammar's transformer and the fast path.

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


def _string(token: str) -> A.Str:
    raw = token[1:-1]
    return _mk(A.Str, value=_ESCAPE.sub(r"\1", raw) if "\\" in raw else raw)


def _neg(x: Any) -> A.ExprNode:
    x = _as_expr(x)
    if isinstance(x, A.Num):
        return _mk(A.Num, value=-x.value, percent=x.percent)
    return _mk(A.Arith, op="*", left=_mk(A.Num, value=-1.0), right=x)


def _flag_literal(name: str) -> A.Num | None:
    """``true``/``false`` as a bare name: flags are 1/0 (``new_high_52w = true`` is ``new_high_52w = 1``)."""
    low = name.lower()
    return _mk(A.Num, value=1.0 if low == "true" else 0.0) if low in ("true", "false") else None


def _arith(left: Any, op: str, right: Any) -> A.Arith:
    return _mk(A.Arith, left=_as_expr(left), op=op, right=_as_expr(right))


def _compare(left: Any, op: str, right: Any) -> A.Compare:
    return _mk(A.Compare, left=_as_expr(left), op=_SAME_OP.get(op, op), right=_as_expr(right))


def _cross(left: Any, word: str, right: Any) -> A.Cross:
    direction = word.lower().removeprefix("crosses_")
    return _mk(A.Cross, left=_as_expr(left), direction=direction, right=_as_expr(right))


def _group(kind: type[A.And] | type[A.Or], items: list[Any]) -> Any:
    """``a and (b and c)`` is one flat group of three."""
    flat: list[A.CondNode] = []
    for i in items:
        c = _as_cond(i)
        flat.extend(c.items if isinstance(c, kind) else [c])
    return _mk(kind, items=flat)


# ---------------------------------------------------------------- the fast path
# A recursive-descent reading of GRAMMAR for the queries it accepts: the same terminals (TERMINALS,
# which a unit test holds equal to what lark compiles from GRAMMAR, and the sorting of words checked
# against them), the same rules, the same builders. It gives up (``_Decline``) on anything it is not
# sure of, and on every error, and the query is then parsed by lark, so the AST of a valid query and
# every error message are the grammar's own. Differential property tests hold both to the same AST on
# random screens, token soups and strings.

_WS = "(?:[ \t\x0c\r\n])+"  # the characters themselves, as lark compiles them
TERMINALS = {  # name: the regular expression lark compiles for it
    "WS": _WS,
    "_OR": r"(?i:or\b)",
    "_AND": r"(?i:and\b)",
    "_NOT": r"(?i:not\b)",
    "_IN": r"(?i:in\b)",
    "_BETWEEN": r"(?i:between\b)",
    "_WITHIN": r"(?i:within\b)",
    "_FOR": r"(?i:for\b)",
    "_DAYS": r"(?i:(days?|sessions?|bars?)\b)",
    "CROSS": r"(?i:crosses_(above|below)\b)",
    "TIMEFRAME": r"(?i:(daily|weekly|monthly)(?=\.))",
    "FUNC": r"(?i:(avg|min|max|sum|std)(?=\s*\())",
    "COMP": r"(?:>=|<=|!=|<>|==|>|<|=)",
    "NUMBER": r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[kKmMbBtT%]?(?![A-Za-z0-9_])",
    "SIGNED": r"[+-]?\d+",
    "STRING": "(?:\"(?:[^\"\\\\\n]|\\\\.)*\"|'(?:[^'\\\\\n]|\\\\.)*')",
    "NAME": r"(?!(?i:and|or|not|in|between|within|for|days?|crosses_above|crosses_below)\b)[A-Za-z_][A-Za-z0-9_]*",
}
# One token at a time, whitespace first. A word is read whole and then sorted, as lark's priorities
# sort it: a keyword (_OR ... _DAYS), CROSS, TIMEFRAME before a ".", FUNC before "(", else NAME. The
# grammar's word terminals end at a word boundary (``\b``, or NAME's own end), so a word followed by
# any other word character (a non-ASCII letter or digit) is declined. The other terminals start with
# other characters, and "[" only ever opens an offset, so ``[ SIGNED ]`` is one token.
_TOKEN = re.compile(
    f"(?:{_WS})?(?:"
    r"(?P<WORD>[A-Za-z_][A-Za-z0-9_]*)"
    rf"|(?P<NUMBER>{TERMINALS['NUMBER']})"
    rf"|(?P<COMP>{TERMINALS['COMP']})"
    r"|(?P<SYM>[-+*/(),.])"
    rf"|(?P<STRING>{TERMINALS['STRING']})"
    rf"|(?P<OFFSET>\[(?:{_WS})?(?P<SIGNED>{TERMINALS['SIGNED']})(?:{_WS})?\])"
    r"|(?P<END>\Z))"
)
_WORDS = {w: w for w in ("and", "or", "not", "in", "between", "within", "for")}  # what each keyword lexes as
_WORDS |= dict.fromkeys(("day", "days", "session", "sessions", "bar", "bars"), "days")
_WORDS |= dict.fromkeys(("crosses_above", "crosses_below"), "cross")
_TIMEFRAMES = frozenset({"daily", "weekly", "monthly"})
_FUNCS = frozenset({"avg", "min", "max", "sum", "std"})
_FUNC_AHEAD = re.compile(r"\s*\(")  # FUNC's lookahead
_INT = re.compile(r"\d+\Z")
_LONGER = frozenset({"+", "-", "*", "/", "off"})  # tokens that would continue an operand
_TOKEN_KINDS = {"NUMBER": "num", "STRING": "str", "COMP": "cmp", "END": "end"}


class _Decline(Exception):
    """The fast path does not read this query: lark will (and report what is wrong with it)."""


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """Token kinds (a keyword or a symbol is its own kind) and texts, ending with "end"."""
    kinds: list[str] = []
    values: list[str] = []
    match = _TOKEN.match
    pos = 0
    while True:
        m = match(text, pos)
        if m is None:
            raise _Decline
        group = m.lastgroup
        pos = m.end()
        if group == "WORD":
            word = m["WORD"]
            after = text[pos : pos + 1]
            if after.isalnum():  # a word character the ASCII word stopped at: no word boundary here
                raise _Decline
            low = word.lower()
            kind = _WORDS.get(low)
            if kind is None:
                if low in _TIMEFRAMES and after == ".":
                    kind = "tf"
                elif low in _FUNCS and _FUNC_AHEAD.match(text, pos):
                    kind = "func"
                else:
                    kind = "name"
            kinds.append(kind)
            values.append(word)
        elif group == "SYM":
            kinds.append(m["SYM"])
            values.append(m["SYM"])
        elif group == "OFFSET":
            kinds.append("off")
            values.append(m["SIGNED"])
        else:
            assert group is not None
            kinds.append(_TOKEN_KINDS[group])
            values.append(m[group])
            if group == "END":
                return kinds, values


class _Fast:
    """Recursive descent over GRAMMAR's rules, one method per rule (``?expr`` is ``or_``)."""

    __slots__ = ("i", "kinds", "values")

    def __init__(self, text: str) -> None:
        self.kinds, self.values = _tokens(text)
        self.i = 0

    def take(self, kind: str) -> str:
        if self.kinds[self.i] != kind:
            raise _Decline
        self.i += 1
        return self.values[self.i - 1]

    def or_(self) -> Any:
        return self.group("or", A.Or, self.and_)

    def and_(self) -> Any:
        return self.group("and", A.And, self.not_)

    def group(self, word: str, kind: type[A.And] | type[A.Or], item: Callable[[], Any]) -> Any:
        """``item (word item)*``: one item as it is, more as a flat group."""
        first = item()
        if self.kinds[self.i] != word:
            return first
        items = [first]
        while self.kinds[self.i] == word:
            self.i += 1
            items.append(item())
        return _group(kind, items)

    def not_(self) -> Any:
        if self.kinds[self.i] == "not":
            self.i += 1
            return _mk(A.Not, item=_as_cond(self.not_()))
        return self.quant()

    def quant(self) -> Any:
        c = self.cmp()
        mode = self.kinds[self.i]
        if mode != "within" and mode != "for":
            return c
        self.i += 1
        days = self.int_()
        self.take("days")
        return _mk(A.Window, mode=mode, days=days, cond=_as_cond(c))

    def int_(self) -> int:
        text = self.take("num")
        if _INT.match(text) is None:
            raise _Decline
        return int(text)

    def cmp(self) -> Any:
        left = self.operand()
        kind = self.kinds[self.i]
        if kind == "cmp":
            op = self.values[self.i]
            self.i += 1
            return _compare(left, op, self.operand())
        if kind == "between":
            self.i += 1
            low = self.operand()
            self.take("and")
            high = self.operand()
            return _mk(A.Between, expr=_as_expr(left), low=_as_expr(low), high=_as_expr(high))
        if kind == "in":
            self.i += 1
            return _mk(A.In, expr=_as_expr(left), values=self.literals())
        if kind == "not" and self.kinds[self.i + 1] == "in":
            self.i += 2
            return _mk(A.In, expr=_as_expr(left), values=self.literals(), negated=True)
        if kind == "cross":
            word = self.values[self.i]
            self.i += 1
            return _cross(left, word, self.operand())
        return left

    def operand(self) -> Any:
        """``sum``. A lone number or daily field, the usual operand, is read without descending
        sum/product/unary/atom (the same node as that descent builds)."""
        kind = self.kinds[self.i]
        if (kind == "name" or kind == "num") and self.kinds[self.i + 1] not in _LONGER:
            value = self.values[self.i]
            self.i += 1
            if kind == "num":
                return parse_number(value)
            if (flag := _flag_literal(value)) is not None:
                return flag
            name = value.lower()
            if name not in BY_ID:
                raise _Decline
            return _mk(A.FieldRef, name=name, offset=0, timeframe="daily")
        return self.sum_()

    def literals(self) -> list[A.Num | A.Str]:
        self.take("(")
        out = [self.literal()]
        while self.kinds[self.i] == ",":
            self.i += 1
            out.append(self.literal())
        self.take(")")
        return out

    def literal(self) -> A.Num | A.Str:
        kind = self.kinds[self.i]
        self.i += 1
        if kind == "num":
            return parse_number(self.values[self.i - 1])
        if kind == "str":
            return _string(self.values[self.i - 1])
        if kind == "-":
            n = parse_number(self.take("num"))
            return _mk(A.Num, value=-n.value, percent=n.percent)
        raise _Decline

    def sum_(self) -> Any:
        return self.arith(("+", "-"), self.product)

    def product(self) -> Any:
        return self.arith(("*", "/"), self.unary)

    def arith(self, ops: tuple[str, str], item: Callable[[], Any]) -> Any:
        """``item (op item)*``, left-associative."""
        x = item()
        while (op := self.kinds[self.i]) in ops:
            self.i += 1
            x = _arith(x, op, item())
        return x

    def unary(self) -> Any:
        if self.kinds[self.i] == "-":
            self.i += 1
            return _neg(self.unary())
        return self.atom()

    def atom(self) -> Any:
        kind = self.kinds[self.i]
        value = self.values[self.i]
        self.i += 1
        if kind == "name":
            if self.kinds[self.i] != "off" and (flag := _flag_literal(value)) is not None:
                return flag
            return self.field("daily", value)
        if kind == "num":
            return parse_number(value)
        if kind == "tf":
            self.take(".")
            return self.field(value.lower(), self.take("name"))
        if kind == "str":
            return _string(value)
        if kind == "(":
            inner = self.or_()
            self.take(")")
            return inner
        if kind == "func":
            self.take("(")
            arg = self.or_()
            self.take(",")
            window = self.int_()
            self.take(")")
            return _mk(A.Func, name=value.lower(), arg=_as_expr(arg), window=window, offset=self.offset())
        raise _Decline

    def field(self, timeframe: str, name: str) -> A.FieldRef:
        name = name.lower()
        if name not in BY_ID:
            raise _Decline
        return _mk(A.FieldRef, name=name, offset=self.offset(), timeframe=timeframe)

    def offset(self) -> int:
        if self.kinds[self.i] != "off":
            return 0
        value = int(self.values[self.i])
        if value > 0:
            raise _Decline
        self.i += 1
        return value


def _parse_fast(text: str) -> Any:
    p = _Fast(text)
    result = p.or_()
    if p.kinds[p.i] != "end":
        raise _Decline
    return result


def parse(text: str) -> A.CondNode | None:
    """Parse query text into the AST; ``None`` for an empty query. Raises ``QueryError``."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    if not text.strip():
        return None
    try:
        return _as_cond(_parse_fast(text))
    except (_Decline, Invalid, ValueError, OverflowError, RecursionError):
        # not sure, or wrong: lark reads it and reports any error (position, what was expected, and
        # the first problem in reading order) exactly as it always has
        from stockscreen.screening import lalr

        return lalr.parse(text)


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
