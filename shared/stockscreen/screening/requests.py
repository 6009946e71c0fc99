"""The screener's requests as pydantic validates them: a screen body that is not plain (filters, an AST,
a date, a number given as a float...), the SPA's simple filters, and the explain route's query.

Imported when such a request comes, not with the engine: a screen given as text is checked by
:meth:`stockscreen.screening.engine.ScreenRequest.from_body` without pydantic (README, "Cold start").
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stockscreen.core.paging import DEFAULT_LIMIT, MAX_OFFSET
from stockscreen.screening import ast as A
from stockscreen.screening.engine import MAX_FILTERS, MAX_LIMIT, ScreenRequest
from stockscreen.screening.fields import BY_ID
from stockscreen.screening.validate import field_kind

Op = Literal[">", ">=", "<", "<=", "=", "!=", "between", "in"]
MAX_IN = 100
Scalar = bool | float | str


class Filter(BaseModel):
    """One simple filter as the SPA's filter builder sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # (validated as ScreenRequest's)

    field: str
    op: Op
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _check(self) -> Filter:
        f = BY_ID.get(self.field)
        if f is None:
            raise ValueError(f"unknown field {self.field!r}")
        if self.op == "between":
            if not (isinstance(self.value, list) and len(self.value) == 2):
                raise ValueError(f"{self.field} between needs [low, high]")
        elif self.op == "in":
            if not isinstance(self.value, list) or not self.value or len(self.value) > MAX_IN:
                raise ValueError(f"{self.field} in needs a list of 1 to {MAX_IN} values")
        elif isinstance(self.value, list):
            raise ValueError(f"{self.field} {self.op} needs a single value")
        values = self.value if isinstance(self.value, list) else [self.value]
        kind = field_kind(f.type)
        if f.type == "boolean":
            if self.op not in ("=", "!=") or not all(isinstance(v, bool) or v in (0, 1) for v in values):
                raise ValueError(f"{self.field} is a yes/no flag: use = or != with true or false")
            return self
        for v in values:
            if isinstance(v, bool):
                raise ValueError(f"{self.field} is not a yes/no flag; {v!r} is not a {kind}")
            if kind == "number" and not isinstance(v, float | int):
                raise ValueError(f"{self.field} is a number; {v!r} is not")
            if kind == "number" and not math.isfinite(float(v)):
                raise ValueError(f"{self.field}: {v!r} is not a finite number")
            if kind == "string" and not isinstance(v, str):
                raise ValueError(f"{self.field} is text; compare it with strings")
            if kind == "string" and self.op in (">", ">=", "<", "<=", "between"):
                raise ValueError(f"{self.field} is text; use =, != or in")
            if kind == "date":
                try:
                    dt.date.fromisoformat(str(v))
                except ValueError:
                    raise ValueError(f"{self.field} needs dates as YYYY-MM-DD, not {v!r}") from None
        return self

    def to_ast(self) -> A.CondNode:
        ref = A.FieldRef(name=self.field)

        def lit(v: Scalar) -> A.Num | A.Str:
            return A.Str(value=v) if isinstance(v, str) else A.Num(value=float(v))  # true is 1, false 0

        if self.op == "between":
            assert isinstance(self.value, list)
            return A.Between(expr=ref, low=lit(self.value[0]), high=lit(self.value[1]))
        if self.op == "in":
            assert isinstance(self.value, list)
            return A.In(expr=ref, values=[lit(v) for v in self.value])
        assert not isinstance(self.value, list)
        return A.Compare(left=ref, op=self.op, right=lit(self.value))


class ScreenRequestBody(BaseModel):
    """A screen to run: its condition as query text (``query``), as the JSON AST (``ast``) or as simple
    ``filters`` (at most one of the three; none screens every security), the sort, the columns and the page."""

    # ``defer_build``: its validator (with the whole AST's) is built on the first body that needs it
    model_config = ConfigDict(extra="forbid", defer_build=True)

    query: Annotated[str | None, Field(max_length=4000)] = None
    ast: A.Cond | None = None
    filters: Annotated[list[Filter], Field(max_length=MAX_FILTERS)] = []
    sort: str = "market_cap"
    order: Literal["asc", "desc"] = "desc"
    columns: Annotated[list[str] | None, Field(max_length=100)] = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0
    as_of: dt.date | None = None
    explain: bool = False

    @model_validator(mode="after")
    def _check(self) -> ScreenRequestBody:
        self.to_request().consistent()
        return self

    def to_request(self) -> ScreenRequest:
        return ScreenRequest(**{name: getattr(self, name) for name in type(self).model_fields})


class ExplainQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    symbol: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.\-]+$")]
    query: Annotated[str, Field(min_length=1, max_length=4000)]
    as_of: dt.date | None = None
