"""The reports services wired to PostgreSQL, the features' services, S3, SES and the unsubscribe key."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Engine

from stockscreen.reports.repository import ReportRepository
from stockscreen.reports.service import ReportBuilder, ReportService

#: Purpose of report unsubscribe tokens (an alert's link cannot stop a report, nor the other way round).
UNSUBSCRIBE_PURPOSE = b"stockscreen-report-unsubscribe:"


def builder(engine: Engine) -> ReportBuilder:
    from stockscreen.alerts.rules import AlertRuleService
    from stockscreen.portfolios.service import PortfolioService
    from stockscreen.screening.engine import run_screen
    from stockscreen.screening.saved import SavedScreenService
    from stockscreen.watchlists.service import WatchlistService

    screens = SavedScreenService.from_engine(engine)
    return ReportBuilder(
        ReportRepository(engine),
        watchlists=WatchlistService.from_engine(engine),
        portfolios=PortfolioService.from_engine(engine),
        screens=screens,
        alerts=AlertRuleService.from_engine(engine, lambda: screens),
        run_screen=lambda req: run_screen(engine, req),
    )


def sign_unsubscribe(user_id: str, kind: str) -> str:
    from stockscreen.alerts import unsubscribe

    kid, keys = unsubscribe.keys()
    return unsubscribe.sign(user_id, kind, kid, keys[kid], purpose=UNSUBSCRIBE_PURPOSE)


def verify_unsubscribe(token: str) -> tuple[str, str]:
    """(user id, report kind) of a valid report unsubscribe token (Invalid otherwise)."""
    from stockscreen.alerts import unsubscribe

    parts = token.split(".")
    _, keys = unsubscribe.keys(refresh_for_kid=parts[1] if len(parts) == 3 else None)
    return unsubscribe.verify(token, keys, purpose=UNSUBSCRIBE_PURPOSE)


def _no_mailer() -> Any:
    raise RuntimeError("this process does not send reports")


def workflow_service(engine: Engine) -> ReportService:
    """For the workflow's tasks (and the CLI): builds, stores and sends."""
    from stockscreen.alerts.adapters import SesMailer
    from stockscreen.reports.adapters import S3Store
    from stockscreen.reports.settings import reports_settings

    s = reports_settings()

    def unsubscribe_url(user_id: str, kind: str) -> str:
        return f"{s.app_base_url.rstrip('/')}/api/reports/unsubscribe?token={sign_unsubscribe(user_id, kind)}"

    return ReportService(
        ReportRepository(engine),
        builder(engine),
        store=cache(lambda: S3Store(s.reports_bucket)),
        mailer=cache(lambda: SesMailer(configuration_set=s.ses_configuration_set)),
        sender=s.ses_sender,
        app_url=s.app_base_url,
        unsubscribe_url=unsubscribe_url,
    )


def api_service(engine: Engine) -> ReportService:
    """For the API: settings, the list, downloads (no email is sent from the API)."""
    from stockscreen.reports.adapters import S3Store, Workflow
    from stockscreen.reports.settings import reports_api_settings, store_settings

    return ReportService(
        ReportRepository(engine),
        builder(engine),
        store=cache(lambda: S3Store(store_settings().reports_bucket)),
        mailer=_no_mailer,
        sender="",
        app_url="",
        unsubscribe_url=lambda u, k: "",
        workflow=cache(lambda: Workflow(reports_api_settings().reports_state_machine_arn)),
    )
