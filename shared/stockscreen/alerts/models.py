"""Alert rule types: each type of alert has its own validated parameters."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from stockscreen.core.symbols import Symbol

Above = Literal["above", "below"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceAbove(_Rule):
    type: Literal["price_above"]
    symbol: Symbol
    price: Annotated[float, Field(gt=0, lt=1e9)]


class PriceBelow(_Rule):
    type: Literal["price_below"]
    symbol: Symbol
    price: Annotated[float, Field(gt=0, lt=1e9)]


class ChangePct(_Rule):
    type: Literal["change_pct"]
    symbol: Symbol
    threshold_pct: Annotated[float, Field(gt=0, le=1000)]
    direction: Literal["up", "down", "either"] = "either"


class CrossesSma(_Rule):
    type: Literal["crosses_sma"]
    symbol: Symbol
    period: Literal[20, 50, 200]
    direction: Above


class RsiThreshold(_Rule):
    type: Literal["rsi"]
    symbol: Symbol
    threshold: Annotated[float, Field(gt=0, lt=100)]
    direction: Above
    period: Literal[14] = 14


class VolumeSpike(_Rule):
    type: Literal["volume_spike"]
    symbol: Symbol
    multiple: Annotated[float, Field(gt=1, le=100)] = Field(description="volume / 20-day average volume")


class High52w(_Rule):
    type: Literal["high_52w"]
    symbol: Symbol


class Low52w(_Rule):
    type: Literal["low_52w"]
    symbol: Symbol


class ScreenEnter(_Rule):
    type: Literal["screen_enter"]
    screen_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")


class ScreenLeave(_Rule):
    type: Literal["screen_leave"]
    screen_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")


AlertRule = Annotated[
    PriceAbove
    | PriceBelow
    | ChangePct
    | CrossesSma
    | RsiThreshold
    | VolumeSpike
    | High52w
    | Low52w
    | ScreenEnter
    | ScreenLeave,
    Field(discriminator="type"),
]
