"""The screener's own query and body (the screen, explain and backtest models are stockscreen.screening's)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from stockscreen.screening import ast as A


class RunParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["json", "csv"] = "json"


class ParseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: Annotated[str | None, Field(max_length=4000)] = None
    ast: A.Cond | None = None


class ExplainClause(BaseModel):
    """One clause of the screen, for one symbol: its value, the threshold and whether it passed."""

    model_config = ConfigDict(populate_by_name=True)
    clause: str
    value: float | str | None
    threshold: str | list[str | float] | None
    threshold_value: float | str | None
    passed: bool = Field(alias="pass")


class ExplainResult(BaseModel):
    symbol: str
    query: str
    as_of: str
    snapshot_version: int
    passed: bool = Field(alias="pass")
    clauses: list[ExplainClause]


def explain_query() -> type[BaseModel]:
    """The explain route's query parameters (the screening engine's own model)."""
    from stockscreen.screening.engine import ExplainQuery

    return ExplainQuery


def backtest_request() -> type[BaseModel]:
    """The backtest's body (the screening package's own model)."""
    from stockscreen.screening.backtest import BacktestRequest

    return BacktestRequest


def backtest_result() -> type[BaseModel]:
    """The backtest's result, each statistic defined in its field's description."""
    from stockscreen.screening.backtest import BacktestResult

    return BacktestResult
