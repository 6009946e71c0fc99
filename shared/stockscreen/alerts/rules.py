"""Alert definitions (CRUD; evaluation is a later issue). The rule types are in ``alerts.models``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import Engine

from stockscreen.alerts.repository import AlertRuleRepository, AlertRuleTx
from stockscreen.core import policy
from stockscreen.core.errors import Invalid, NotFound
from stockscreen.core.paging import PageRequest

if TYPE_CHECKING:
    from stockscreen.screening.saved import SavedScreenService


def _split(rule: BaseModel) -> tuple[str, str | None, dict[str, Any]]:
    data = rule.model_dump()
    kind = data.pop("type")
    symbol = data.pop("symbol", None)
    return kind, symbol, data


def _check_symbol(tx: AlertRuleTx, symbol: str | None) -> None:
    if symbol is not None and not tx.symbol_exists(symbol):
        raise Invalid(f"unknown symbol {symbol!r}", {"symbol": symbol})


class AlertRuleService:
    def __init__(self, repo: AlertRuleRepository, screens: Callable[[], SavedScreenService]) -> None:
        """``screens`` gets the saved-screen service (only screen alerts need it, so it is built on their
        first use)."""
        self.repo = repo
        self.screens = screens

    @classmethod
    def from_engine(cls, engine: Engine, screens: Callable[[], SavedScreenService]) -> AlertRuleService:
        return cls(AlertRuleRepository(engine), screens)

    def _check_screen(self, user_id: str, kind: str, params: dict[str, Any]) -> None:
        """A screen alert must name one of the caller's own saved screens (404 otherwise)."""
        if kind in ("screen_enter", "screen_leave"):
            self.screens().require_owned(user_id, str(params["screen_id"]))

    def _check_active_quota(self, tx: AlertRuleTx, user_id: str, role: str) -> None:
        tx.lock_user(user_id)
        policy.check_quota(role, "active_alerts", tx.count_active(user_id))

    def list_mine(self, user_id: str, page: PageRequest, active: bool | None) -> tuple[list[dict[str, Any]], int]:
        return self.repo.list_mine(user_id, active, page.limit, page.offset)

    def create(self, user_id: str, role: str, name: str | None, rule: BaseModel, active: bool) -> dict[str, Any]:
        kind, symbol, params = _split(rule)
        with self.repo.transaction() as tx:
            _check_symbol(tx, symbol)
            self._check_screen(user_id, kind, params)
            if active:
                self._check_active_quota(tx, user_id, role)
            return tx.insert(user_id, name, kind, symbol, params, active)

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
    ) -> dict[str, Any]:
        """Change what is given (``name=None`` clears the name; leaving it out keeps it)."""
        with self.repo.transaction() as tx:
            cur = tx.get_for_update(user_id, alert_id)
            if cur is None:
                raise NotFound(f"no alert {alert_id}")
            kind, symbol, params = cur["type"], cur["symbol"], cur["params"]
            if rule is not None:
                kind, symbol, params = _split(rule)
                _check_symbol(tx, symbol)
                self._check_screen(user_id, kind, params)
            if active and not cur["active"]:
                self._check_active_quota(tx, user_id, role)
            return tx.update(
                alert_id,
                cur["name"] if name is ... else name,
                kind,
                symbol,
                params,
                cur["active"] if active is None else active,
            )

    def delete(self, user_id: str, alert_id: str) -> None:
        if not self.repo.delete(user_id, alert_id):
            raise NotFound(f"no alert {alert_id}")
