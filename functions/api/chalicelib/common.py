"""Pieces the resource blueprints share: pagination query, services built once per process."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import ConfigDict, Field

from chalicelib.models import ApiModel
from stockscreen.admin import AdminService
from stockscreen.alert_rules import AlertRuleService
from stockscreen.db.engine import get_engine
from stockscreen.notifications import NotificationService
from stockscreen.pagination import MAX_LIMIT, PageRequest
from stockscreen.portfolios import PortfolioService
from stockscreen.watchlists import WatchlistService


class Page(ApiModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 50
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0

    def request(self) -> PageRequest:
        return PageRequest(limit=self.limit, offset=self.offset)


@cache
def watchlists() -> WatchlistService:
    return WatchlistService(get_engine())


@cache
def alert_rules() -> AlertRuleService:
    return AlertRuleService(get_engine())


@cache
def notifications() -> NotificationService:
    return NotificationService(get_engine())


@cache
def admin() -> AdminService:
    return AdminService(get_engine())


@cache
def portfolios() -> PortfolioService:
    return PortfolioService(get_engine())
