"""The demo account ``make dev`` prints: created once, its password generated and kept in .local/."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

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
    saved = state / "demo-login.json"
    password = None
    if saved.exists():
        password = json.loads(saved.read_text()).get("password")
    if not password:
        password = secrets.token_urlsafe(12)
    engine = get_engine()
    try:
        AuthService.from_engine(engine).register(DEMO_EMAIL, password, "Demo", Origin(user_agent="make dev"))
    except Conflict:
        # the account exists (a previous start); make sure the saved password opens it
        with engine.begin() as conn:
            stored = conn.execute(
                text("SELECT password_hash FROM users WHERE email = :e"), {"e": DEMO_EMAIL}
            ).scalar_one()
            if not saved.exists() or not verify_password(stored, password):
                conn.execute(
                    text("UPDATE users SET password_hash = :h WHERE email = :e"),
                    {"h": hash_password(password), "e": DEMO_EMAIL},
                )
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET role = :r, disabled = false WHERE email = :e"), {"r": DEMO_ROLE, "e": DEMO_EMAIL}
        )
    saved.write_text(json.dumps({"email": DEMO_EMAIL, "password": password}))
    os.chmod(saved, 0o600)
    return DEMO_EMAIL, password
