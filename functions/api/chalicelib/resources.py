"""The account and resource blueprints of the public API, registered by one call from app.py."""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib import admin, alerts, apidocs, auth, http, notifications, portfolios, quotes, reports, watchlists


def register(app: Chalice) -> None:
    for bp in (
        auth.bp,
        quotes.bp,
        watchlists.bp,
        portfolios.bp,
        alerts.bp,
        notifications.bp,
        reports.bp,
        admin.bp,
        apidocs.bp,
    ):
        app.register_blueprint(bp)
    http.add_preflight_routes(app)
