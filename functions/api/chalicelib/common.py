"""Services the resource blueprints share, built once per process (on first use, not at cold start)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stockscreen.accounts.admin import AdminService
    from stockscreen.alerts.notifications import NotificationService
    from stockscreen.alerts.preferences import PreferencesService
    from stockscreen.alerts.rules import AlertRuleService
    from stockscreen.portfolios.service import PortfolioService
    from stockscreen.reports.service import ReportService
    from stockscreen.screening.saved import SavedScreenService
    from stockscreen.watchlists.service import WatchlistService


@cache
def watchlists() -> WatchlistService:
    from stockscreen.db.engine import get_engine
    from stockscreen.watchlists.service import WatchlistService

    return WatchlistService.from_engine(get_engine())


@cache
def saved_screens() -> SavedScreenService:
    from stockscreen.db.engine import get_engine
    from stockscreen.screening.saved import SavedScreenService

    return SavedScreenService.from_engine(get_engine())


@cache
def alert_rules() -> AlertRuleService:
    from stockscreen.alerts.rules import AlertRuleService
    from stockscreen.db.engine import get_engine

    return AlertRuleService.from_engine(get_engine(), saved_screens)


@cache
def notifications() -> NotificationService:
    from stockscreen.alerts.notifications import NotificationService
    from stockscreen.db.engine import get_engine

    return NotificationService.from_engine(get_engine())


@cache
def notification_preferences() -> PreferencesService:
    from stockscreen.alerts.preferences import PreferencesService
    from stockscreen.db.engine import get_engine

    return PreferencesService.from_engine(get_engine())


@cache
def admin() -> AdminService:
    from chalicelib.authn import close_sockets
    from stockscreen.accounts.admin import AdminService
    from stockscreen.db.engine import get_engine

    return AdminService.from_engine(get_engine(), on_revoked=close_sockets)


@cache
def portfolios() -> PortfolioService:
    from stockscreen.db.engine import get_engine
    from stockscreen.portfolios.service import PortfolioService

    return PortfolioService.from_engine(get_engine())


@cache
def reports() -> ReportService:
    from stockscreen.db.engine import get_engine
    from stockscreen.reports.wiring import api_service

    return api_service(get_engine())
