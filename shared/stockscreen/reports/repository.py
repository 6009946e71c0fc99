"""Reports in PostgreSQL (parameterised SQL only): schedule settings, the report runs (the workflow's
idempotency key and the user's list of reports), and the closes reports are computed from."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, text

_RUN_COLS = (
    "id::text AS id, user_id::text AS user_id, kind, period, title, status, attempts, detail, data_key, "
    "pdf_key, csv_key, pdf_bytes, message_id, created_at, updated_at, sent_at"
)
#: A failed run is tried again by a later tick up to this many times in all.
MAX_ATTEMPTS = 3


def _settings(r: Any) -> dict[str, Any]:
    return {
        "daily_enabled": r["daily_enabled"],
        "weekly_enabled": r["weekly_enabled"],
        "weekly_day": int(r["weekly_day"]),
        "send_time": r["send_time"],
        "time_zone": r["time_zone"],
    }


class ReportRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- users --------------------------------------------------------------------------------
    def user_by_email(self, email: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text("SELECT id::text AS id, email, display_name FROM users WHERE email = :e"),
                    {"e": email.strip().lower()},
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def recipient(self, user_id: str) -> dict[str, Any] | None:
        """The user's address, name, and whether it may receive email (enabled, not suppressed)."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text(
                        "SELECT u.email, u.display_name, u.disabled, COALESCE(s.suppressed, false) AS suppressed "
                        "FROM users u LEFT JOIN report_settings s ON s.user_id = u.id WHERE u.id = CAST(:u AS uuid)"
                    ),
                    {"u": user_id},
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def is_suppressed(self, email: str) -> bool:
        """Whether the address is suppressed (bounced or complained): one statement."""
        with self.engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT 1 FROM report_settings s JOIN users u ON u.id = s.user_id "
                    "WHERE u.email = :e AND s.suppressed"
                ),
                {"e": email.strip().lower()},
            ).first()
        return found is not None

    def set_suppressed(self, user_id: str, suppressed: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO report_settings (user_id, suppressed) VALUES (CAST(:u AS uuid), :s) "
                    "ON CONFLICT (user_id) DO UPDATE SET suppressed = EXCLUDED.suppressed, updated_at = now()"
                ),
                {"u": user_id, "s": suppressed},
            )

    # -- settings -----------------------------------------------------------------------------
    def settings(self, user_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text(
                        "SELECT daily_enabled, weekly_enabled, weekly_day, send_time, time_zone FROM report_settings "
                        "WHERE user_id = CAST(:u AS uuid)"
                    ),
                    {"u": user_id},
                )
                .mappings()
                .first()
            )
        return _settings(row) if row is not None else None

    def save_settings(self, user_id: str, s: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO report_settings (user_id, daily_enabled, weekly_enabled, weekly_day, send_time, "
                    "time_zone) VALUES (CAST(:u AS uuid), :d, :w, :wd, :t, :tz) ON CONFLICT (user_id) DO UPDATE SET "
                    "daily_enabled = EXCLUDED.daily_enabled, weekly_enabled = EXCLUDED.weekly_enabled, "
                    "weekly_day = EXCLUDED.weekly_day, send_time = EXCLUDED.send_time, "
                    "time_zone = EXCLUDED.time_zone, updated_at = now()"
                ),
                {
                    "u": user_id,
                    "d": s["daily_enabled"],
                    "w": s["weekly_enabled"],
                    "wd": s["weekly_day"],
                    "t": s["send_time"],
                    "tz": s["time_zone"],
                },
            )

    def scheduled(self, user_ids: list[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(user id, settings) of every enabled, unsuppressed user with a scheduled report (or of ``user_ids``)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.user_id::text AS user_id, s.daily_enabled, s.weekly_enabled, s.weekly_day, s.send_time, "
                    "s.time_zone FROM report_settings s JOIN users u ON u.id = s.user_id "
                    "WHERE (s.daily_enabled OR s.weekly_enabled) AND NOT s.suppressed AND NOT u.disabled "
                    "AND (CAST(:ids AS uuid[]) IS NULL OR s.user_id = ANY(CAST(:ids AS uuid[]))) ORDER BY s.user_id"
                ),
                {"ids": user_ids},
            ).mappings()
            return [(r["user_id"], _settings(r)) for r in rows]

    # -- runs ---------------------------------------------------------------------------------
    def settled(self, keys: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Which (user, kind, period) keys already have a run that needs no more work (sent, skipped,
        in progress, or failed ``MAX_ATTEMPTS`` times)."""
        if not keys:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT r.user_id::text, r.kind, r.period FROM report_runs r "
                    "JOIN unnest(CAST(:u AS uuid[]), CAST(:k AS text[]), CAST(:p AS text[])) AS w(u, k, p) "
                    "ON r.user_id = w.u AND r.kind = w.k AND r.period = w.p "
                    "WHERE r.status <> 'failed' OR r.attempts >= :max"
                ),
                {"u": [k[0] for k in keys], "k": [k[1] for k in keys], "p": [k[2] for k in keys], "max": MAX_ATTEMPTS},
            ).all()
        return {(r[0], r[1], r[2]) for r in rows}

    def claim(self, user_id: str, kind: str, period: str) -> dict[str, Any] | None:
        """Start the run of (user, kind, period): a new row, or a failed one tried again (attempts + 1).
        None when a run exists that is not to be redone (in progress, done, or out of attempts)."""
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    text(
                        "INSERT INTO report_runs (user_id, kind, period) VALUES (CAST(:u AS uuid), :k, :p) "
                        "ON CONFLICT (user_id, kind, period) DO UPDATE SET status = 'building', "
                        "attempts = report_runs.attempts + 1, detail = NULL, updated_at = now() "
                        "WHERE report_runs.status = 'failed' AND report_runs.attempts < :max "
                        f"RETURNING {_RUN_COLS}"
                    ),
                    {"u": user_id, "k": kind, "p": period, "max": MAX_ATTEMPTS},
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def advance(self, run_id: str, from_status: tuple[str, ...], to_status: str, **fields: Any) -> bool:
        """Move a run from one of ``from_status`` to ``to_status`` (setting ``fields``); False when it was
        not in one of them (another attempt moved it: the caller does nothing)."""
        allowed = {"title", "detail", "data_key", "pdf_key", "csv_key", "pdf_bytes", "message_id"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not report run fields: {sorted(unknown)}")
        sets = "".join(f", {k} = :{k}" for k in sorted(fields))
        sent = ", sent_at = now()" if to_status == "sent" else ""
        with self.engine.begin() as conn:
            n = conn.execute(
                text(
                    f"UPDATE report_runs SET status = :to, updated_at = now(){sets}{sent} "
                    "WHERE id = CAST(:id AS uuid) AND status = ANY(:from)"
                ),
                {"id": run_id, "to": to_status, "from": list(from_status), **fields},
            ).rowcount
        return n > 0

    def run(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(text(f"SELECT {_RUN_COLS} FROM report_runs WHERE id = CAST(:id AS uuid)"), {"id": run_id})
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def run_of(self, user_id: str, kind: str, period: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text(
                        f"SELECT {_RUN_COLS} FROM report_runs WHERE user_id = CAST(:u AS uuid) AND kind = :k "
                        "AND period = :p"
                    ),
                    {"u": user_id, "k": kind, "p": period},
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def list_mine(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """The user's reports that have a document (stored or sent), newest first."""
        cond = "user_id = CAST(:u AS uuid) AND pdf_key IS NOT NULL"
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM report_runs WHERE {cond}"), {"u": user_id}).scalar_one()
            rows = conn.execute(
                text(
                    f"SELECT {_RUN_COLS} FROM report_runs WHERE {cond} ORDER BY created_at DESC, id LIMIT :l OFFSET :o"
                ),
                {"u": user_id, "l": limit, "o": offset},
            ).mappings()
            return [dict(r) for r in rows], int(total)

    # -- market data the reports are computed from ----------------------------------------------
    def sessions(self, upto: dt.date | None, count: int) -> list[dt.date]:
        """The last ``count`` trading dates at or before ``upto`` (all dates when None), ascending."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT DISTINCT date FROM daily_bars WHERE (CAST(:d AS date) IS NULL OR date <= :d) "
                    "ORDER BY date DESC LIMIT :n"
                ),
                {"d": upto, "n": count},
            ).all()
        return sorted(r[0] for r in rows)

    def closes(self, symbols: list[str], start: dt.date, end: dt.date) -> dict[str, dict[dt.date, float]]:
        """symbol -> {date: close} of the daily bars of ``symbols`` in [start, end]."""
        out: dict[str, dict[dt.date, float]] = {}
        if not symbols:
            return out
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.symbol, b.date, b.close FROM daily_bars b JOIN securities s ON s.id = b.security_id "
                    "WHERE s.symbol = ANY(:syms) AND b.date BETWEEN :a AND :b"
                ),
                {"syms": symbols, "a": start, "b": end},
            ).all()
        for sym, d, c in rows:
            out.setdefault(sym, {})[d] = float(c)
        return out

    def names(self, symbols: list[str]) -> dict[str, str]:
        if not symbols:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT symbol, COALESCE(name, symbol) FROM securities WHERE symbol = ANY(:s)"), {"s": symbols}
            ).all()
        return {r[0]: r[1] for r in rows}
