"""Alert definitions (CRUD; evaluation is a later issue). Each type has its own validated parameters."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import Connection, Engine, text

from stockscreen.core import policy
from stockscreen.core.errors import Invalid, NotFound
from stockscreen.core.paging import PageRequest
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
RULE = TypeAdapter(AlertRule)
ALERT_TYPES = (
    "price_above",
    "price_below",
    "change_pct",
    "crosses_sma",
    "rsi",
    "volume_spike",
    "high_52w",
    "low_52w",
    "screen_enter",
    "screen_leave",
)

_COLS = "id, name, type, symbol, params, active, created_at, updated_at"


def _public(r: Any) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "name": r["name"],
        "active": bool(r["active"]),
        "rule": {"type": r["type"], **({"symbol": r["symbol"]} if r["symbol"] else {}), **r["params"]},
        "created_at": r["created_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(),
    }


def _split(rule: Any) -> tuple[str, str | None, dict[str, Any]]:
    data = rule.model_dump()
    kind = data.pop("type")
    symbol = data.pop("symbol", None)
    return kind, symbol, data


class AlertRuleService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _check_symbol(self, conn: Connection, symbol: str | None) -> None:
        if (
            symbol is not None
            and conn.execute(text("SELECT 1 FROM securities WHERE symbol = :s"), {"s": symbol}).first() is None
        ):
            raise Invalid(f"unknown symbol {symbol!r}", {"symbol": symbol})

    def _check_screen(self, conn: Connection, user_id: str, kind: str, params: dict[str, Any]) -> None:
        """A screen alert must name one of the caller's own saved screens (404 otherwise)."""
        if kind in ("screen_enter", "screen_leave"):
            from stockscreen.screening.saved import require_owned

            require_owned(conn, user_id, str(params["screen_id"]))

    def _check_active_quota(self, conn: Connection, user_id: str, role: str) -> None:
        conn.execute(text("SELECT 1 FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})
        used = conn.execute(
            text("SELECT count(*) FROM alert_rules WHERE user_id = :u AND active"), {"u": user_id}
        ).scalar_one()
        policy.check_quota(role, "active_alerts", int(used))

    def list_mine(self, user_id: str, page: PageRequest, active: bool | None) -> tuple[list[dict[str, Any]], int]:
        params = {"u": user_id, "a": active, "l": page.limit, "o": page.offset}
        cond = "user_id = :u AND (CAST(:a AS boolean) IS NULL OR active = :a)"
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM alert_rules WHERE {cond}"), params).scalar_one()
            rows = conn.execute(
                text(f"SELECT {_COLS} FROM alert_rules WHERE {cond} ORDER BY created_at, id LIMIT :l OFFSET :o"),
                params,
            ).mappings()
            return [_public(r) for r in rows], int(total)

    def create(self, user_id: str, role: str, name: str | None, rule: Any, active: bool) -> dict[str, Any]:
        kind, symbol, params = _split(rule)
        with self.engine.begin() as conn:
            self._check_symbol(conn, symbol)
            self._check_screen(conn, user_id, kind, params)
            if active:
                self._check_active_quota(conn, user_id, role)
            row = (
                conn.execute(
                    text(
                        "INSERT INTO alert_rules (user_id, name, type, symbol, params, active) "
                        f"VALUES (:u, :n, :t, :s, CAST(:params AS jsonb), :a) RETURNING {_COLS}"
                    ),
                    {"u": user_id, "n": name, "t": kind, "s": symbol, "params": json.dumps(params), "a": active},
                )
                .mappings()
                .one()
            )
        return _public(row)

    def get(self, user_id: str, alert_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text(f"SELECT {_COLS} FROM alert_rules WHERE id = :id AND user_id = :u"),
                    {"id": alert_id, "u": user_id},
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        return _public(row)

    def update(
        self, user_id: str, role: str, alert_id: str, *, name: Any = ..., rule: Any = None, active: bool | None = None
    ) -> dict[str, Any]:
        with self.engine.begin() as conn:
            cur = (
                conn.execute(
                    text(f"SELECT {_COLS} FROM alert_rules WHERE id = :id AND user_id = :u FOR UPDATE"),
                    {"id": alert_id, "u": user_id},
                )
                .mappings()
                .first()
            )
            if cur is None:
                raise NotFound(f"no alert {alert_id}")
            kind, symbol, params = cur["type"], cur["symbol"], cur["params"]
            if rule is not None:
                kind, symbol, params = _split(rule)
                self._check_symbol(conn, symbol)
                self._check_screen(conn, user_id, kind, params)
            if active and not cur["active"]:
                self._check_active_quota(conn, user_id, role)
            row = (
                conn.execute(
                    text(
                        "UPDATE alert_rules SET name = :n, type = :t, symbol = :s, params = CAST(:params AS jsonb), "
                        f"active = :a, updated_at = now() WHERE id = :id RETURNING {_COLS}"
                    ),
                    {
                        "n": cur["name"] if name is ... else name,
                        "t": kind,
                        "s": symbol,
                        "params": json.dumps(params),
                        "a": cur["active"] if active is None else active,
                        "id": alert_id,
                    },
                )
                .mappings()
                .one()
            )
        return _public(row)

    def delete(self, user_id: str, alert_id: str) -> None:
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM alert_rules WHERE id = :id AND user_id = :u"), {"id": alert_id, "u": user_id}
            ).rowcount
        if n == 0:
            raise NotFound(f"no alert {alert_id}")
