"""The reference reading of the query language: the grammar's LALR parser (lark) and its transformer to the
AST. :func:`stockscreen.screening.language.parse` reads valid queries by its fast path and comes here only
for what that path declines (and for every error, whose message is the grammar's own), so a cold process
imports lark only when a query needs it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from stockscreen.core.errors import Invalid
from stockscreen.screening import ast as A
from stockscreen.screening.fields import BY_ID
from stockscreen.screening.language import (
    _FRIENDLY,
    GRAMMAR,
    QueryError,
    _arith,
    _as_cond,
    _as_expr,
    _compare,
    _cross,
    _flag_literal,
    _group,
    _mk,
    _neg,
    _string,
    parse_number,
    unknown_field,
)


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The grammar's LALR parser (lark), building a parse tree. Built on first use: valid queries are read
    by the fast path below, so a warm or cold process only pays for it when a query fails."""
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False, cache=False)


class _ToAst(Transformer[Token, Any]):
    """Parse-tree rules to AST nodes."""

    def number(self, items: list[Token]) -> A.Num:
        return parse_number(str(items[0]))

    def neg_number(self, items: list[Token]) -> A.Num:
        n = parse_number(str(items[0]))
        return _mk(A.Num, value=-n.value, percent=n.percent)

    def string(self, items: list[Token]) -> A.Str:
        return _string(str(items[0]))

    def neg(self, items: list[Any]) -> A.ExprNode:
        return _neg(items[0])

    def offset(self, items: list[Token]) -> int:
        value = int(str(items[0]))
        if value > 0:
            raise QueryError(
                f"offset [{value}] at line {items[0].line}, column {items[0].column} looks into the future; "
                "use 0 or a negative number of sessions such as [-1]"
            )
        return value

    def field(self, items: list[Any]) -> A.FieldRef | A.Num:
        if len(items) == 1 and (flag := _flag_literal(str(items[0]))) is not None:
            return flag
        timeframe = "daily"
        rest = list(items)
        if isinstance(rest[0], Token) and rest[0].type == "TIMEFRAME":
            timeframe = str(rest.pop(0)).lower()
        name_tok = rest.pop(0)
        offset = rest.pop(0) if rest else 0
        name = str(name_tok).lower()
        if name not in BY_ID:
            raise unknown_field(name, f" at line {name_tok.line}, column {name_tok.column}")
        return _mk(A.FieldRef, name=name, offset=offset, timeframe=timeframe)

    def func(self, items: list[Any]) -> A.Func:
        name, arg, window = items[0], items[1], items[2]
        offset = items[3] if len(items) > 3 else 0
        return _mk(A.Func, name=str(name).lower(), arg=_as_expr(arg), window=int(str(window)), offset=offset)

    def arith(self, items: list[Any]) -> A.Arith:
        return _arith(items[0], str(items[1]), items[2])

    def compare(self, items: list[Any]) -> A.Compare:
        return _compare(items[0], str(items[1]), items[2])

    def between(self, items: list[Any]) -> A.Between:
        return _mk(A.Between, expr=_as_expr(items[0]), low=_as_expr(items[1]), high=_as_expr(items[2]))

    def in_(self, items: list[Any]) -> A.In:
        return _mk(A.In, expr=_as_expr(items[0]), values=items[1:])

    def not_in(self, items: list[Any]) -> A.In:
        return _mk(A.In, expr=_as_expr(items[0]), values=items[1:], negated=True)

    def cross(self, items: list[Any]) -> A.Cross:
        return _cross(items[0], str(items[1]), items[2])

    def within(self, items: list[Any]) -> A.Window:
        return _mk(A.Window, mode="within", days=int(str(items[1])), cond=_as_cond(items[0]))

    def for_(self, items: list[Any]) -> A.Window:
        return _mk(A.Window, mode="for", days=int(str(items[1])), cond=_as_cond(items[0]))

    def negate(self, items: list[Any]) -> A.Not:
        return _mk(A.Not, item=_as_cond(items[0]))

    def and_(self, items: list[Any]) -> A.And:
        return _group(A.And, items)  # type: ignore[no-any-return]

    def or_(self, items: list[Any]) -> A.Or:
        return _group(A.Or, items)  # type: ignore[no-any-return]


def _expected(exc: UnexpectedInput) -> list[str]:
    names: set[str] = set()
    if isinstance(exc, UnexpectedToken | UnexpectedEOF):
        names = set(exc.expected)
    elif isinstance(exc, UnexpectedCharacters):
        names = set(exc.allowed or ())
    return sorted({_FRIENDLY.get(n, n.lower()) for n in names if not n.startswith("__")})


def parse(text: str) -> A.CondNode | None:
    """Parse with the grammar's LALR parser (lark) to a tree, then transform it to the AST."""
    try:
        tree = parser().parse(text)
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
