"""The screener's own query, bodies and results (the screen, explain and backtest models are
stockscreen.screening's)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from chalicelib.models import ApiModel
from stockscreen.screening import ast as A
from stockscreen.screening.engine import ScreenResult
from stockscreen.screening.fields import FieldType, Group, Role, Unit


class RunParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["json", "csv"] = "json"


class ParseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    query: Annotated[str | None, Field(max_length=4000)] = None
    ast: A.Cond | None = None


class ExplainClause(BaseModel):
    """One clause of the screen, for one symbol: its value, the threshold and whether it passed."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)
    clause: str
    value: float | str | None
    threshold: str | list[str | float] | None
    threshold_value: float | str | None
    passed: bool = Field(alias="pass")


class ExplainResult(BaseModel):
    model_config = ConfigDict(defer_build=True)
    symbol: str
    query: str
    as_of: str
    snapshot_version: int
    passed: bool = Field(alias="pass")
    clauses: list[ExplainClause]


def screen_request() -> type[BaseModel]:
    """A screen's body: the condition as text, AST or filters, the sort, columns and page (the screening
    package's own model; a plain body is read without it)."""
    from stockscreen.screening.requests import ScreenRequestBody

    return ScreenRequestBody


def explain_query() -> type[BaseModel]:
    """The explain route's query parameters (the screening engine's own model)."""
    from stockscreen.screening.requests import ExplainQuery

    return ExplainQuery


def backtest_request() -> type[BaseModel]:
    """The backtest's body (the screening package's own model)."""
    from stockscreen.screening.backtest import BacktestRequest

    return BacktestRequest


def backtest_result() -> type[BaseModel]:
    """The backtest's result, each statistic defined in its field's description."""
    from stockscreen.screening.backtest import BacktestResult

    return BacktestResult


#: the engine's own result (``stockscreen.screening.engine.ScreenResult``) as a model, for the OpenAPI document
ScreenRunPublic = create_model(
    "ScreenRunPublic",
    __doc__="A page of a screen's results: the screener's own result (of /screens/run, and of a saved or shared "
    "screen).",
    __config__=ConfigDict(defer_build=True),
    **{  # type: ignore[call-overload]
        f.name: (get_type_hints(ScreenResult)[f.name], ... if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(ScreenResult)
    },
)


class ParseResult(ApiModel):
    """A screen as canonical query text and as the AST (null: no condition, every security)."""

    query: str = Field(description="canonical text (empty when there is no condition)")
    ast: A.Cond | None


class FieldPublic(ApiModel):
    """One field of the screener's catalogue."""

    id: str
    label: str
    group: Group
    type: FieldType
    unit: Unit
    description: str
    roles: list[Role] = Field(description="the roles that may screen on the field")


class FieldsPublic(ApiModel):
    data: list[FieldPublic]
    count: int


class PresetPublic(ApiModel):
    """A named screen: its condition as query text and as the AST, and its sort."""

    id: str
    name: str
    description: str
    query: str
    ast: dict[str, Any] | None
    sort: str
    order: Literal["asc", "desc"]
    premium: bool = Field(description="it screens on fields outside the free plan")


class PresetsPublic(ApiModel):
    data: list[PresetPublic]
    count: int
