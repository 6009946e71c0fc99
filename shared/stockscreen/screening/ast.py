"""The JSON form of a screen (what the UI builder and the API exchange).

Two families of nodes: *expressions* (numbers, text, field references, rolling functions,
arithmetic) and *conditions* (comparisons, between, in, crosses, window quantifiers,
and/or/not). ``kind`` discriminates them. The text language (``language.py``) parses to
these models and prints them back, so text and AST round-trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Timeframe = Literal["daily", "weekly", "monthly"]
FuncName = Literal["avg", "min", "max", "sum", "std"]
CompareOp = Literal[">", ">=", "<", "<=", "=", "!="]
ArithOp = Literal["+", "-", "*", "/"]

#: ``defer_build``: a node's validator is built when a node is first validated from JSON (``Screen``, an
#: ``ast`` field), not when this module is imported; the text parser builds nodes without one
#: (``language._mk``), so a query screened as text never builds them (README, "Cold start")
_CFG = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Num(BaseModel):
    model_config = _CFG
    kind: Literal["num"] = "num"
    value: float
    percent: bool = False


class Str(BaseModel):
    model_config = _CFG
    kind: Literal["str"] = "str"
    value: str


class FieldRef(BaseModel):
    model_config = _CFG
    kind: Literal["field"] = "field"
    name: str
    offset: int = 0
    timeframe: Timeframe = "daily"


class Func(BaseModel):
    model_config = _CFG
    kind: Literal["func"] = "func"
    name: FuncName
    arg: Expr
    window: int
    offset: int = 0


class Arith(BaseModel):
    model_config = _CFG
    kind: Literal["arith"] = "arith"
    op: ArithOp
    left: Expr
    right: Expr


Expr = Annotated[Num | Str | FieldRef | Func | Arith, Field(discriminator="kind")]


class Compare(BaseModel):
    model_config = _CFG
    kind: Literal["compare"] = "compare"
    left: Expr
    op: CompareOp
    right: Expr


class Between(BaseModel):
    model_config = _CFG
    kind: Literal["between"] = "between"
    expr: Expr
    low: Expr
    high: Expr


class In(BaseModel):
    model_config = _CFG
    kind: Literal["in"] = "in"
    expr: Expr
    values: list[Num | Str]
    negated: bool = False


class Cross(BaseModel):
    model_config = _CFG
    kind: Literal["cross"] = "cross"
    left: Expr
    direction: Literal["above", "below"]
    right: Expr


class Flag(BaseModel):
    """A bare field used as a condition: true when non-zero (``not new_low_52w``)."""

    model_config = _CFG
    kind: Literal["flag"] = "flag"
    expr: Expr


class Window(BaseModel):
    """``cond within N days`` (true on any of the last N sessions) or ``cond for N days`` (on all)."""

    model_config = _CFG
    kind: Literal["window"] = "window"
    mode: Literal["within", "for"]
    days: int
    cond: Cond


class And(BaseModel):
    model_config = _CFG
    kind: Literal["and"] = "and"
    items: list[Cond]


class Or(BaseModel):
    model_config = _CFG
    kind: Literal["or"] = "or"
    items: list[Cond]


class Not(BaseModel):
    model_config = _CFG
    kind: Literal["not"] = "not"
    item: Cond


Cond = Annotated[Compare | Between | In | Cross | Flag | Window | And | Or | Not, Field(discriminator="kind")]

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


class Screen(BaseModel):
    """Wrapper so a condition can be validated from plain JSON (``Screen.model_validate({"where": ...})``)."""

    model_config = _CFG
    where: Cond | None = None
