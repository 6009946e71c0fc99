"""The JSON form of a screen (what the UI builder and the API exchange).

Two families of nodes: *expressions* (numbers, text, field references, rolling functions,
arithmetic) and *conditions* (comparisons, between, in, crosses, window quantifiers,
and/or/not). ``kind`` discriminates them. The text language (``language.py``) parses to
these nodes and prints them back, so text and AST round-trip.

The nodes are frozen dataclasses, so that a screen given as text is parsed, checked and run without
pydantic (README, "Cold start"). JSON is validated by pydantic all the same, when it comes: a model
field typed :data:`Cond` validates a condition (unknown keys refused, the union discriminated by
``kind``), and :func:`from_json` validates one outside a model; :func:`to_json` is the other way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema

Timeframe = Literal["daily", "weekly", "monthly"]
FuncName = Literal["avg", "min", "max", "sum", "std"]
CompareOp = Literal[">", ">=", "<", "<=", "=", "!="]
ArithOp = Literal["+", "-", "*", "/"]

#: pydantic's config for each node (read when a schema is built): unknown keys are an error
_STRICT_KEYS = {"extra": "forbid"}


class _ByKind:
    """``Annotated`` metadata: pydantic validates the union as discriminated by ``kind`` (one branch
    tried, and its errors reported, as with ``Field(discriminator="kind")``). Its own class so that
    declaring the unions imports no pydantic."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic import Discriminator

        return handler.generate_schema(Annotated[source, Discriminator("kind")])


_BY_KIND = _ByKind()


@dataclass(frozen=True, kw_only=True)
class Num:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["num"] = "num"
    value: float
    percent: bool = False


@dataclass(frozen=True, kw_only=True)
class Str:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["str"] = "str"
    value: str


@dataclass(frozen=True, kw_only=True)
class FieldRef:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["field"] = "field"
    name: str
    offset: int = 0
    timeframe: Timeframe = "daily"


@dataclass(frozen=True, kw_only=True)
class Func:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["func"] = "func"
    name: FuncName
    arg: Expr
    window: int
    offset: int = 0


@dataclass(frozen=True, kw_only=True)
class Arith:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["arith"] = "arith"
    op: ArithOp
    left: Expr
    right: Expr


Expr = Annotated[Num | Str | FieldRef | Func | Arith, _BY_KIND]


@dataclass(frozen=True, kw_only=True)
class Compare:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["compare"] = "compare"
    left: Expr
    op: CompareOp
    right: Expr


@dataclass(frozen=True, kw_only=True)
class Between:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["between"] = "between"
    expr: Expr
    low: Expr
    high: Expr


@dataclass(frozen=True, kw_only=True)
class In:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["in"] = "in"
    expr: Expr
    values: list[Num | Str]
    negated: bool = False


@dataclass(frozen=True, kw_only=True)
class Cross:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["cross"] = "cross"
    left: Expr
    direction: Literal["above", "below"]
    right: Expr


@dataclass(frozen=True, kw_only=True)
class Flag:
    """A bare field used as a condition: true when non-zero (``not new_low_52w``)."""

    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["flag"] = "flag"
    expr: Expr


@dataclass(frozen=True, kw_only=True)
class Window:
    """``cond within N days`` (true on any of the last N sessions) or ``cond for N days`` (on all)."""

    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["window"] = "window"
    mode: Literal["within", "for"]
    days: int
    cond: Cond


@dataclass(frozen=True, kw_only=True)
class And:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["and"] = "and"
    items: list[Cond]


@dataclass(frozen=True, kw_only=True)
class Or:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["or"] = "or"
    items: list[Cond]


@dataclass(frozen=True, kw_only=True)
class Not:
    __pydantic_config__ = _STRICT_KEYS
    kind: Literal["not"] = "not"
    item: Cond


Cond = Annotated[Compare | Between | In | Cross | Flag | Window | And | Or | Not, _BY_KIND]

ExprNode = Num | Str | FieldRef | Func | Arith
CondNode = Compare | Between | In | Cross | Flag | Window | And | Or | Not

#: the nodes under each kind of node (``And``/``Or`` hold a list, ``items``)
_CHILDREN: dict[type, tuple[str, ...]] = {
    Num: (),
    Str: (),
    Func: ("arg",),
    Arith: ("left", "right"),
    Compare: ("left", "right"),
    Between: ("expr", "low", "high"),
    In: ("expr",),
    Cross: ("left", "right"),
    Flag: ("expr",),
    Window: ("cond",),
    Not: ("item",),
}


def field_refs(node: CondNode | ExprNode | None) -> Iterator[FieldRef]:
    """Every field reference in a condition or an expression (with its offset and timeframe)."""
    stack: list[CondNode | ExprNode | None] = [node]
    while stack:
        n = stack.pop()
        t = type(n)
        if t is FieldRef:
            yield n  # type: ignore[misc]
        elif t is And or t is Or:
            stack += n.items  # type: ignore[union-attr]
        elif n is not None:
            stack += [getattr(n, k) for k in _CHILDREN[t]]


def fields_of(node: CondNode | ExprNode | None) -> set[str]:
    """The catalogue fields a condition or an expression reads."""
    return {ref.name for ref in field_refs(node)}


def to_json(node: CondNode | ExprNode) -> dict[str, Any]:
    """The node as JSON-ready data, every field in declaration order (``kind`` first), as pydantic dumps it."""
    out: dict[str, Any] = {}
    for name, value in vars(node).items():
        if isinstance(value, list):
            out[name] = [to_json(v) for v in value]
        elif type(value) in _NODES:
            out[name] = to_json(value)
        else:
            out[name] = value
    return out


_NODES = frozenset({*_CHILDREN, FieldRef, And, Or})


@cache
def _adapter() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(Cond)


def from_json(data: Any) -> CondNode:
    """A condition validated from JSON data (pydantic's ``ValidationError`` when it is not one)."""
    return _adapter().validate_python(data)  # type: ignore[no-any-return]
