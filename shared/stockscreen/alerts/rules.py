"""Alert definitions (CRUD, options, pause/resume, snooze). Rule types and options are in
``alerts.models``; evaluation is ``alerts.service``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import Engine

from stockscreen.alerts.models import FREE_EXPIRY_DAYS, AlertOptions
from stockscreen.alerts.repository import AlertRuleRepository, AlertRuleTx
from stockscreen.core import policy
from stockscreen.core.errors import Invalid, NotFound
from stockscreen.core.paging import PageRequest

if TYPE_CHECKING:
    from stockscreen.screening.saved import SavedScreenService
    from stockscreen.watchlists.service import WatchlistService


def _check_query(role: str, query: str) -> None:
    """A query alert's expression must be valid screener language (errors carry line and column, as the
    screener gives them) and read only fields of the caller's plan."""
    from stockscreen.screening.access import fields_in, require_fields
    from stockscreen.screening.engine import compile_query

    require_fields(role, fields_in(compile_query(query)))


def _split(rule: BaseModel) -> tuple[str, str | None, dict[str, Any]]:
    data = rule.model_dump(exclude_none=True)
    kind = data.pop("type")
    symbol = data.pop("symbol", None)
    return kind, symbol, data


def _check_symbol(tx: AlertRuleTx, symbol: str | None) -> None:
    if symbol is not None and not tx.symbol_exists(symbol):
        raise Invalid(f"unknown symbol {symbol!r}", {"symbol": symbol})


class AlertRuleService:
    def __init__(
        self,
        repo: AlertRuleRepository,
        screens: Callable[[], SavedScreenService],
        watchlists: Callable[[], WatchlistService],
    ) -> None:
        """``screens`` / ``watchlists`` get the saved-screen and watchlist services (only screen and
        watchlist alerts need them, so they are built on first use)."""
        self.repo = repo
        self.screens = screens
        self.watchlists = watchlists

    @classmethod
    def from_engine(
        cls,
        engine: Engine,
        screens: Callable[[], SavedScreenService],
        watchlists: Callable[[], WatchlistService] | None = None,
    ) -> AlertRuleService:
        def default_watchlists() -> WatchlistService:
            from stockscreen.watchlists.service import WatchlistService

            return WatchlistService.from_engine(engine)

        return cls(AlertRuleRepository(engine), screens, watchlists or default_watchlists)

    def armed_symbols(self) -> list[str]:
        """The symbols single-symbol alerts watch and could fire on now (the live poller's demand)."""
        return self.repo.armed_symbols()

    def _check_screen(self, user_id: str, kind: str, params: dict[str, Any]) -> None:
        """A screen alert must name one of the caller's own saved screens, a watchlist alert one of their
        watchlists (404 otherwise); a query alert must be valid for the caller's plan."""
        if kind in ("screen_enter", "screen_leave"):
            self.screens().require_owned(user_id, str(params["screen_id"]))
        if params.get("watchlist_id"):
            self.watchlists().require_owned(user_id, str(params["watchlist_id"]))

    @staticmethod
    def _options(role: str, options: AlertOptions | None) -> dict[str, Any]:
        opts = (options or AlertOptions()).model_dump()
        if opts["expires_at"] is None and role == "free":
            opts["expires_at"] = dt.datetime.now(dt.UTC) + dt.timedelta(days=FREE_EXPIRY_DAYS)
        return opts

    def _check_active_quota(self, tx: AlertRuleTx, user_id: str, role: str) -> None:
        tx.lock_user(user_id)
        policy.check_quota(role, "active_alerts", tx.count_active(user_id))

    @staticmethod
    def _check_scope_quota(
        tx: AlertRuleTx, user_id: str, role: str, kind: str, params: dict[str, Any], alert_id: str | None = None
    ) -> None:
        """Watchlist and screen alerts have their own, smaller quotas (see ``core.policy.Quota``)."""
        scope = "watchlist" if params.get("watchlist_id") else "screen" if kind.startswith("screen_") else None
        if scope is not None:
            tx.lock_user(user_id)
            policy.check_quota(role, f"{scope}_alerts", tx.count_active_scoped(user_id, scope, alert_id))

    def list_mine(self, user_id: str, page: PageRequest, active: bool | None) -> tuple[list[dict[str, Any]], int]:
        return self.repo.list_mine(user_id, active, page.limit, page.offset)

    def create(
        self,
        user_id: str,
        role: str,
        name: str | None,
        rule: BaseModel,
        active: bool,
        options: AlertOptions | None = None,
    ) -> dict[str, Any]:
        kind, symbol, params = _split(rule)
        if kind == "query":
            _check_query(role, str(params["query"]))
        with self.repo.transaction() as tx:
            _check_symbol(tx, symbol)
            self._check_screen(user_id, kind, params)
            if active:
                self._check_active_quota(tx, user_id, role)
                self._check_scope_quota(tx, user_id, role, kind, params)
            return tx.insert(user_id, name, kind, symbol, params, active, self._options(role, options))

    def get(self, user_id: str, alert_id: str) -> dict[str, Any]:
        found = self.repo.get(user_id, alert_id)
        if found is None:
            raise NotFound(f"no alert {alert_id}")
        return found

    def update(
        self,
        user_id: str,
        role: str,
        alert_id: str,
        *,
        name: Any = ...,
        rule: BaseModel | None = None,
        active: bool | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Change what is given (``name=None`` clears the name; leaving it out keeps it). ``active=False``
        pauses, ``active=True`` resumes (within the quota); ``options`` holds the options to change
        (``snoozed_until`` snoozes, ``None`` un-snoozes). A new rule or a resume starts the alert's trigger
        states over."""
        with self.repo.transaction() as tx:
            cur = tx.get_for_update(user_id, alert_id)
            if cur is None:
                raise NotFound(f"no alert {alert_id}")
            kind, symbol, params = cur["type"], cur["symbol"], cur["params"]
            if rule is not None:
                kind, symbol, params = _split(rule)
                if kind == "query":
                    _check_query(role, str(params["query"]))
                _check_symbol(tx, symbol)
                self._check_screen(user_id, kind, params)
            resumed = bool(active) and not cur["active"]
            if resumed:
                self._check_active_quota(tx, user_id, role)
            if (resumed or rule is not None) and (cur["active"] if active is None else active):
                self._check_scope_quota(tx, user_id, role, kind, params, alert_id)
            merged = {
                k: cur[k] for k in ("trigger", "hysteresis_pct", "expires_at", "snoozed_until", "cooldown_minutes")
            }
            if options:
                merged.update(AlertOptions.model_validate({**merged, **options}).model_dump(include=set(options)))
            return tx.update(
                alert_id,
                cur["name"] if name is ... else name,
                kind,
                symbol,
                params,
                cur["active"] if active is None else active,
                merged,
                reset=rule is not None or resumed,
            )

    def delete(self, user_id: str, alert_id: str) -> None:
        if not self.repo.delete(user_id, alert_id):
            raise NotFound(f"no alert {alert_id}")

    def history(self, user_id: str, alert_id: str | None, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        """Firings newest first, with the values that made them fire and each channel's delivery status:
        of one of the user's alerts (404 when it is not theirs), or of all their alerts."""
        if alert_id is not None:
            self.get(user_id, alert_id)
        return self.repo.history(alert_id, user_id, page.limit, page.offset)

    def unsubscribe_email(self, token: str) -> dict[str, Any]:
        """One-click unsubscribe (RFC 8058): the signed token names the user and the alert whose emails
        stop; no sign-in needed. The alert's other channels are kept."""
        from stockscreen.alerts import unsubscribe

        parts = token.split(".")
        _, keys = unsubscribe.keys(refresh_for_kid=parts[1] if len(parts) == 3 else None)
        user_id, alert_id = unsubscribe.verify(token, keys)
        if not self.repo.unsubscribe_email(user_id, alert_id):
            raise NotFound("this alert no longer exists")
        return {"unsubscribed": True, "alert_id": alert_id}
