"""The demo account ``make dev`` prints: created once, its password generated and kept in .local/."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import text

from stockscreen.accounts.passwords import hash_password, verify_password
from stockscreen.accounts.service import AuthService
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Conflict
from stockscreen.db.engine import get_engine

DEMO_EMAIL = "demo@stockscreen.local"
DEMO_ROLE = "premium"


def ensure_demo_user(state: Path) -> tuple[str, str]:
    """(email, password) of a premium demo account; the password never leaves the local state folder."""
    return _ensure_account(state / "demo-login.json", DEMO_EMAIL, DEMO_ROLE, "Demo")


#: The dev stack's administrator (the SPA's admin area): like the demo account, its password is
#: generated on the first start and kept in .local/admin-login.json (``make dev`` prints it).
ADMIN_EMAIL = "admin@stockscreen.local"


def ensure_admin_user(state: Path) -> tuple[str, str]:
    """(email, password) of the dev stack's admin account (dev only: make dev alone creates it)."""
    return _ensure_account(state / "admin-login.json", ADMIN_EMAIL, "admin", "Admin")


def _ensure_account(saved: Path, email: str, role: str, name: str) -> tuple[str, str]:
    password = None
    if saved.exists():
        password = json.loads(saved.read_text()).get("password")
    if not password:
        password = secrets.token_urlsafe(12)
    engine = get_engine()
    try:
        AuthService.from_engine(engine).register(email, password, name, Origin(user_agent="make dev"))
    except Conflict:
        # the account exists (a previous start); make sure the saved password opens it
        with engine.begin() as conn:
            stored = conn.execute(text("SELECT password_hash FROM users WHERE email = :e"), {"e": email}).scalar_one()
            if not saved.exists() or not verify_password(stored, password):
                conn.execute(
                    text("UPDATE users SET password_hash = :h WHERE email = :e"),
                    {"h": hash_password(password), "e": email},
                )
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET role = :r, disabled = false WHERE email = :e"), {"r": role, "e": email})
    saved.write_text(json.dumps({"email": email, "password": password}))
    os.chmod(saved, 0o600)
    return email, password


#: The demo account's alerts: the price crossing the middle of the last session's range, which the replay
#: feed walks through every replayed session (see devstack/feed.py), so they fire early in a session.
DEMO_ALERT_SYMBOLS = ("AAPL", "MSFT")


def ensure_demo_alerts(email: str = DEMO_EMAIL) -> list[str]:
    """Give the demo account its alerts once (an account that has any alert is left alone); their ids."""
    from pydantic import TypeAdapter

    from stockscreen.alerts.models import AlertOptions, AlertRule
    from stockscreen.alerts.rules import AlertRuleService
    from stockscreen.screening.saved import SavedScreenService

    engine = get_engine()
    with engine.connect() as conn:
        user_id = conn.execute(text("SELECT id::text FROM users WHERE email = :e"), {"e": email}).scalar_one()
        if conn.execute(text("SELECT 1 FROM alert_rules WHERE user_id = :u"), {"u": user_id}).first():
            return []
        mids: dict[str, Any] = dict(
            conn.execute(
                text(
                    "SELECT DISTINCT ON (s.symbol) s.symbol, (b.high + b.low) / 2 FROM daily_bars b "
                    "JOIN securities s ON s.id = b.security_id WHERE s.symbol = ANY(:syms) "
                    "ORDER BY s.symbol, b.date DESC"
                ),
                {"syms": list(DEMO_ALERT_SYMBOLS)},
            ).all()
        )
    service = AlertRuleService.from_engine(engine, lambda: SavedScreenService.from_engine(engine))
    rules = TypeAdapter(AlertRule)
    created = []
    for symbol, mid in sorted(mids.items()):
        rule = rules.validate_python({"type": "crossing", "symbol": symbol, "level": round(float(mid), 2)})
        # once per day: the first crossing of the day fires (every replayed session crosses it twice)
        alert = service.create(
            user_id, DEMO_ROLE, f"{symbol} crosses its mid-range", rule, True, AlertOptions(trigger="once_per_day")
        )
        created.append(str(alert["id"]))
    return created
