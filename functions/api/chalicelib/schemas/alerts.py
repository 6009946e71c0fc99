"""Alerts: create and update bodies (the rule types live in stockscreen.alerts.models), the alert list."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, StringConstraints

from chalicelib.models import ApiModel
from chalicelib.schemas.common import Page
from stockscreen.alerts.models import AlertOptions, AlertOptionsPatch, AlertRule

Name = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class AlertCreate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    rule: AlertRule
    active: bool = True
    options: AlertOptions | None = None


class AlertUpdate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    rule: AlertRule | None = None
    active: bool | None = None
    options: AlertOptionsPatch | None = None


class AlertsQuery(Page):
    active: bool | None = None


class AlertPublic(ApiModel):
    id: str
    name: str | None
    active: bool
    rule: dict[str, Any]
    created_at: str
    updated_at: str
    trigger: str
    hysteresis_pct: float
    expires_at: str | None
    snoozed_until: str | None
    completed_at: str | None
    fired_count: int
    last_fired_at: str | None
    cooldown_minutes: int


class AlertsPublic(ApiModel):
    data: list[AlertPublic]
    count: int


class UnsubscribeQuery(ApiModel):
    model_config = ConfigDict(extra="ignore")
    token: Annotated[str, StringConstraints(min_length=10, max_length=400)]


class UnsubscribePublic(ApiModel):
    unsubscribed: bool
    alert_id: str


class AlertHistoryQuery(Page):
    pass


class AlertEventPublic(ApiModel):
    id: int
    alert_id: str
    symbol: str | None
    fired_at: str
    source: str
    snapshot_version: int | None
    value: float | None
    level: float | None
    message: str
    details: dict[str, Any]
    delivery: dict[str, Any]


class AlertEventsPublic(ApiModel):
    data: list[AlertEventPublic]
    count: int
