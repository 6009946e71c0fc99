"""Services the resource blueprints share, built once per process (on first use, not at cold start)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stockscreen.admin import AdminService
    from stockscreen.alert_rules import AlertRuleService
    from stockscreen.notifications import NotificationService
    from stockscreen.portfolios import PortfolioService
    from stockscreen.watchlists import WatchlistService


@cache
def watchlists() -> WatchlistService:
    from stockscreen.db.engine import get_engine
    from stockscreen.watchlists import WatchlistService

    return WatchlistService(get_engine())


@cache
def alert_rules() -> AlertRuleService:
    from stockscreen.alert_rules import AlertRuleService
    from stockscreen.db.engine import get_engine

    return AlertRuleService(get_engine())


@cache
def notifications() -> NotificationService:
    from stockscreen.db.engine import get_engine
    from stockscreen.notifications import NotificationService

    return NotificationService(get_engine())


@cache
def admin() -> AdminService:
    from stockscreen.admin import AdminService
    from stockscreen.db.engine import get_engine

    return AdminService(get_engine())


@cache
def portfolios() -> PortfolioService:
    from stockscreen.db.engine import get_engine
    from stockscreen.portfolios import PortfolioService

    return PortfolioService(get_engine())
