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
