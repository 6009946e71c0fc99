"""Alert rules, notifications and the price events received, in PostgreSQL (parameterised SQL only)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, text

from stockscreen.db.repository import Repository, UserRowsTx

_RULE_COLS = (
    "id, name, type, symbol, params, active, created_at, updated_at, trigger, hysteresis_pct, expires_at, "
    "snoozed_until, completed_at, fired_count, last_fired_at, cooldown_minutes"
)
_OPTIONS = ("trigger", "hysteresis_pct", "expires_at", "snoozed_until", "cooldown_minutes")


def _iso(v: Any) -> str | None:
    return v.isoformat() if v is not None else None


_NOTIFICATION_COLS = "id, kind, title, body, data, created_at, read_at"


def _rule(r: Any) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "name": r["name"],
        "active": bool(r["active"]),
        "rule": {"type": r["type"], **({"symbol": r["symbol"]} if r["symbol"] else {}), **r["params"]},
        "created_at": r["created_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(),
        "trigger": r["trigger"],
        "hysteresis_pct": float(r["hysteresis_pct"]),
        "expires_at": _iso(r["expires_at"]),
        "snoozed_until": _iso(r["snoozed_until"]),
        "completed_at": _iso(r["completed_at"]),
        "fired_count": int(r["fired_count"]),
        "last_fired_at": _iso(r["last_fired_at"]),
        "cooldown_minutes": int(r["cooldown_minutes"]),
    }


def _notification(r: Any) -> dict[str, Any]:
    return {
        "id": int(r["id"]),
        "kind": r["kind"],
        "title": r["title"],
        "body": r["body"],
        "data": r["data"],
        "created_at": r["created_at"].isoformat(),
        "read_at": r["read_at"].isoformat() if r["read_at"] else None,
    }


class AlertRuleTx(UserRowsTx):
    """The statements of one write transaction (see :meth:`AlertRuleRepository.transaction`)."""

    table = "alert_rules"

    def symbol_exists(self, symbol: str) -> bool:
        return self.conn.execute(text("SELECT 1 FROM securities WHERE symbol = :s"), {"s": symbol}).first() is not None

    def count_active(self, user_id: str) -> int:
        return int(
            self.conn.execute(
                text("SELECT count(*) FROM alert_rules WHERE user_id = :u AND active"), {"u": user_id}
            ).scalar_one()
        )

    def count_active_scoped(self, user_id: str, scope: str, other_than: str | None = None) -> int:
        """Active alerts of the user over a watchlist (``scope='watchlist'``) or a screen (``'screen'``),
        not counting ``other_than``."""
        cond = "params ? 'watchlist_id'" if scope == "watchlist" else "type IN ('screen_enter', 'screen_leave')"
        return int(
            self.conn.execute(
                text(
                    f"SELECT count(*) FROM alert_rules WHERE user_id = :u AND active AND {cond} "
                    "AND (CAST(:x AS uuid) IS NULL OR id <> CAST(:x AS uuid))"
                ),
                {"u": user_id, "x": other_than},
            ).scalar_one()
        )

    def get_for_update(self, user_id: str, alert_id: str) -> dict[str, Any] | None:
        """The stored row (``type``, ``symbol``, ``params``, ``name``, ``active``, ...) locked, or None when
        the user has no such alert."""
        row = (
            self.conn.execute(
                text(f"SELECT {_RULE_COLS} FROM alert_rules WHERE id = :id AND user_id = :u FOR UPDATE"),
                {"id": alert_id, "u": user_id},
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def insert(
        self,
        user_id: str,
        name: str | None,
        kind: str,
        symbol: str | None,
        params: dict[str, Any],
        active: bool,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        row = (
            self.conn.execute(
                text(
                    "INSERT INTO alert_rules (user_id, name, type, symbol, params, active, trigger, hysteresis_pct, "
                    "expires_at, snoozed_until, cooldown_minutes) VALUES (:u, :n, :t, :s, CAST(:params AS jsonb), "
                    ":a, :trigger, :hysteresis_pct, :expires_at, :snoozed_until, :cooldown_minutes) "
                    f"RETURNING {_RULE_COLS}"
                ),
                {
                    "u": user_id,
                    "n": name,
                    "t": kind,
                    "s": symbol,
                    "params": json.dumps(params),
                    "a": active,
                    **{k: options[k] for k in _OPTIONS},
                },
            )
            .mappings()
            .one()
        )
        return _rule(row)

    def update(
        self,
        alert_id: str,
        name: str | None,
        kind: str,
        symbol: str | None,
        params: dict[str, Any],
        active: bool,
        options: dict[str, Any],
        *,
        reset: bool,
    ) -> dict[str, Any]:
        """``reset``: the rule changed or the alert resumed, so its trigger states start over (a resumed
        alert does not fire for a condition that became true while it was paused, unless it is a level
        condition that holds)."""
        if reset:
            self.conn.execute(text("DELETE FROM alert_state WHERE alert_id = :id"), {"id": alert_id})
            self.conn.execute(text("DELETE FROM alert_screen_members WHERE alert_id = :id"), {"id": alert_id})
        row = (
            self.conn.execute(
                text(
                    "UPDATE alert_rules SET name = :n, type = :t, symbol = :s, params = CAST(:params AS jsonb), "
                    "active = :a, trigger = :trigger, hysteresis_pct = :hysteresis_pct, expires_at = :expires_at, "
                    "snoozed_until = :snoozed_until, cooldown_minutes = :cooldown_minutes, "
                    "completed_at = CASE WHEN :a THEN NULL ELSE completed_at END, "
                    "blocked_until = CASE WHEN :reset THEN NULL ELSE blocked_until END, "
                    "members_version = CASE WHEN :reset THEN NULL ELSE members_version END, "
                    f"updated_at = now() WHERE id = :id RETURNING {_RULE_COLS}"
                ),
                {
                    "n": name,
                    "t": kind,
                    "s": symbol,
                    "params": json.dumps(params),
                    "a": active,
                    "id": alert_id,
                    "reset": reset,
                    **{k: options[k] for k in _OPTIONS},
                },
            )
            .mappings()
            .one()
        )
        return _rule(row)


class AlertRuleRepository(Repository[AlertRuleTx]):
    tx_class = AlertRuleTx

    def armed_symbols(self) -> list[str]:
        """The symbols of the single-symbol alerts that can fire now: active, not completed, expired or
        snoozed (what the live quote poller must fetch for them)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT DISTINCT symbol FROM alert_rules WHERE active AND symbol IS NOT NULL "
                    "AND completed_at IS NULL AND (expires_at IS NULL OR expires_at > now()) "
                    "AND (snoozed_until IS NULL OR snoozed_until <= now()) ORDER BY symbol"
                )
            ).scalars()
            return [str(s) for s in rows]

    def list_mine(self, user_id: str, active: bool | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        params = {"u": user_id, "a": active, "l": limit, "o": offset}
        cond = "user_id = :u AND (CAST(:a AS boolean) IS NULL OR active = :a)"
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM alert_rules WHERE {cond}"), params).scalar_one()
            rows = conn.execute(
                text(f"SELECT {_RULE_COLS} FROM alert_rules WHERE {cond} ORDER BY created_at, id LIMIT :l OFFSET :o"),
                params,
            ).mappings()
            return [_rule(r) for r in rows], int(total)

    def get(self, user_id: str, alert_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text(f"SELECT {_RULE_COLS} FROM alert_rules WHERE id = :id AND user_id = :u"),
                    {"id": alert_id, "u": user_id},
                )
                .mappings()
                .first()
            )
        return _rule(row) if row is not None else None

    def delete(self, user_id: str, alert_id: str) -> bool:
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM alert_rules WHERE id = :id AND user_id = :u"), {"id": alert_id, "u": user_id}
            ).rowcount
        return n > 0

    def unsubscribe_email(self, user_id: str, alert_id: str) -> bool:
        """Stop emails of one alert; False when the user has no such alert."""
        with self.engine.begin() as conn:
            n = conn.execute(
                text(
                    "UPDATE alert_rules SET channels = array_remove(channels, 'email') "
                    "WHERE id = CAST(:a AS uuid) AND user_id = CAST(:u AS uuid)"
                ),
                {"a": alert_id, "u": user_id},
            ).rowcount
        return n > 0

    def history(self, alert_id: str | None, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Firings newest first: of one alert, or of all the user's alerts."""
        params = {"a": alert_id, "u": user_id, "l": limit, "o": offset}
        cond = "user_id = :u AND (CAST(:a AS uuid) IS NULL OR alert_id = CAST(:a AS uuid))"
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM alert_events WHERE {cond}"), params).scalar_one()
            rows = conn.execute(
                text(
                    "SELECT id, alert_id::text AS alert_id, symbol, fired_at, source, snapshot_version, value, level, "
                    f"message, details, delivery FROM alert_events WHERE {cond} ORDER BY id DESC LIMIT :l OFFSET :o"
                ),
                params,
            ).mappings()
            out = [{**dict(r), "fired_at": r["fired_at"].isoformat()} for r in rows]
        return out, int(total)


class NotificationRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list_mine(
        self, user_id: str, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int, int]:
        """(notifications newest first, how many match, how many are unread)."""
        params = {"u": user_id, "unread": unread_only, "l": limit, "o": offset}
        cond = "user_id = :u AND (NOT :unread OR read_at IS NULL)"
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM notifications WHERE {cond}"), params).scalar_one()
            unread = conn.execute(
                text("SELECT count(*) FROM notifications WHERE user_id = :u AND read_at IS NULL"), params
            ).scalar_one()
            rows = conn.execute(
                text(
                    f"SELECT {_NOTIFICATION_COLS} FROM notifications WHERE {cond} ORDER BY id DESC LIMIT :l OFFSET :o"
                ),
                params,
            ).mappings()
            return [_notification(r) for r in rows], int(total), int(unread)

    def mark_read(self, user_id: str, notification_id: int) -> dict[str, Any] | None:
        """The notification, read (since its first read); None when the user has no such notification."""
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    text(
                        "UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = :id AND user_id = :u "
                        f"RETURNING {_NOTIFICATION_COLS}"
                    ),
                    {"id": notification_id, "u": user_id},
                )
                .mappings()
                .first()
            )
        return _notification(row) if row is not None else None

    def insert(self, user_id: str, kind: str, title: str, body: str | None, data: dict[str, Any]) -> dict[str, Any]:
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    text(
                        "INSERT INTO notifications (user_id, kind, title, body, data) "
                        f"VALUES (:u, :k, :t, :b, CAST(:d AS jsonb)) RETURNING {_NOTIFICATION_COLS}"
                    ),
                    {"u": user_id, "k": kind, "t": title, "b": body, "d": json.dumps(data)},
                )
                .mappings()
                .one()
            )
        return _notification(row)

    def mark_all_read(self, user_id: str) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    text("UPDATE notifications SET read_at = now() WHERE user_id = :u AND read_at IS NULL"),
                    {"u": user_id},
                ).rowcount
            )


class AlertInvocationRepository:
    """The price events the alert function received (one row per event id)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, event_id: str, run_id: Any, snapshot_version: Any, symbols: int) -> bool:
        """Record the event once; False when it was already recorded."""
        with self.engine.begin() as conn:
            inserted = conn.execute(
                text(
                    "INSERT INTO alert_invocations (event_id, run_id, snapshot_version, symbols) "
                    "VALUES (:e, :r, :v, :n) ON CONFLICT (event_id) DO NOTHING RETURNING id"
                ),
                {"e": event_id, "r": run_id, "v": snapshot_version, "n": symbols},
            ).first()
        return inserted is not None


_LIVE_COLS = (
    "r.id::text AS id, r.user_id::text AS user_id, r.name, r.type, r.symbol, r.params, r.trigger, "
    "r.hysteresis_pct, r.expires_at, r.snoozed_until, r.blocked_until, r.members_version"
)


class AlertEvaluationRepository:
    """What the evaluator reads (armed alerts, their trigger states, screen memberships) and writes
    (states, firings, completion, counters) in one transaction per evaluation."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def live_alerts(self) -> list[dict[str, Any]]:
        """Active, not completed, not expired alerts (snoozed ones included: the evaluator tracks their
        state and holds their firings)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {_LIVE_COLS} FROM alert_rules r WHERE r.active AND r.completed_at IS NULL "
                    "AND (r.expires_at IS NULL OR r.expires_at > now()) ORDER BY r.created_at, r.id"
                )
            ).mappings()
            return [dict(r) for r in rows]

    def fingerprint(self) -> str:
        """Changes whenever an alert is created, changed or deleted (not when it fires)."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT count(*), max(updated_at) FROM alert_rules")).one()
        return f"{row[0]}:{row[1]}"

    def states(self) -> dict[tuple[str, str, int], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.alert_id::text, s.symbol, s.leg, s.state FROM alert_state s "
                    "JOIN alert_rules r ON r.id = s.alert_id WHERE r.active AND r.completed_at IS NULL"
                )
            ).all()
        return {(str(a), str(s), int(g)): int(v) for a, s, g, v in rows}

    def mark_queued(self, event_ids: list[int]) -> None:
        """Record that these firings are on the delivery queue (the outbox's acknowledgement)."""
        if not event_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE alert_events SET delivery = delivery || jsonb_build_object('queued_at', now()) "
                    "WHERE id = ANY(:ids)"
                ),
                {"ids": event_ids},
            )

    def unqueued(self, older_than_seconds: float, limit: int = 500) -> list[dict[str, Any]]:
        """Firings committed but never acknowledged as queued (the queue was unreachable), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, alert_id::text AS alert_id, user_id::text AS user_id, symbol, fired_at, source, "
                    "source_id, snapshot_version, value, level, message, details FROM alert_events "
                    "WHERE NOT delivery ? 'queued_at' AND fired_at < now() - make_interval(secs => :s) "
                    "ORDER BY id LIMIT :l"
                ),
                {"s": older_than_seconds, "l": limit},
            ).mappings()
            return [dict(r) for r in rows]

    def last_prices(self) -> dict[str, float]:
        """The last price the live evaluator saw of each symbol."""
        with self.engine.connect() as conn:
            return {str(s): float(p) for s, p in conn.execute(text("SELECT symbol, price FROM alert_prices")).all()}

    def screen_members(self, alert_id: str) -> set[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT symbol FROM alert_screen_members WHERE alert_id = :a"), {"a": alert_id}
            ).all()
        return {str(r[0]) for r in rows}

    def seen(self, source: str, source_id: str) -> bool:
        """Whether this prices.updated event (``daily``) or quote batch (``live``) was evaluated."""
        sql = (
            "SELECT 1 FROM alert_invocations WHERE event_id = :i"
            if source == "daily"
            else "SELECT 1 FROM alert_batches WHERE batch_id = :i"
        )
        with self.engine.connect() as conn:
            return conn.execute(text(sql), {"i": source_id}).first() is not None

    def commit(
        self,
        *,
        source: str,
        source_id: str,
        run_id: Any = None,
        snapshot_version: int | None = None,
        symbols: int = 0,
        states: list[tuple[str, str, int, int]],
        events: list[dict[str, Any]],
        completed: list[str],
        blocked: dict[str, Any],
        members: dict[str, tuple[int, set[str]]],
        prices: list[tuple[str, float, Any]] | None = None,
    ) -> list[dict[str, Any]] | None:
        """Record one evaluation atomically; None (nothing written) when ``source_id`` was already
        evaluated. Returns the firings as stored (with their history ``id``)."""
        with self.engine.begin() as conn:
            if source == "daily":
                first = conn.execute(
                    text(
                        "INSERT INTO alert_invocations (event_id, run_id, snapshot_version, symbols) "
                        "VALUES (:e, :r, :v, :n) ON CONFLICT (event_id) DO NOTHING RETURNING id"
                    ),
                    {"e": source_id, "r": run_id, "v": snapshot_version, "n": symbols},
                ).first()
            else:
                first = conn.execute(
                    text(
                        "INSERT INTO alert_batches (batch_id, fired) VALUES (:b, :n) "
                        "ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id"
                    ),
                    {"b": source_id, "n": len(events)},
                ).first()
            if first is None:
                conn.rollback()
                return None
            if prices:
                conn.execute(
                    text(
                        "INSERT INTO alert_prices (symbol, price, at) VALUES (:s, :p, :t) "
                        "ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, at = EXCLUDED.at"
                    ),
                    [{"s": s, "p": p, "t": t} for s, p, t in prices],
                )
            if states:
                conn.execute(
                    text(
                        "INSERT INTO alert_state (alert_id, symbol, leg, state) VALUES (:a, :s, :g, :v) "
                        "ON CONFLICT (alert_id, symbol, leg) DO UPDATE SET state = EXCLUDED.state, updated_at = now()"
                    ),
                    [{"a": a, "s": s, "g": g, "v": v} for a, s, g, v in states],
                )
            stored: list[dict[str, Any]] = []
            for e in events:
                row = conn.execute(
                    text(
                        "INSERT INTO alert_events (alert_id, user_id, symbol, fired_at, source, source_id, "
                        "snapshot_version, value, level, message, details) VALUES (:alert_id, :user_id, :symbol, "
                        ":fired_at, :source, :source_id, :snapshot_version, :value, :level, :message, "
                        "CAST(:details AS jsonb)) ON CONFLICT (alert_id, symbol, source_id) DO NOTHING RETURNING id"
                    ),
                    {**e, "source": source, "source_id": source_id, "details": json.dumps(e["details"])},
                ).first()
                if row is not None:
                    stored.append({**e, "id": int(row[0]), "source": source, "source_id": source_id})
                    conn.execute(
                        text(
                            "UPDATE alert_rules SET fired_count = fired_count + 1, "
                            "last_fired_at = greatest(last_fired_at, :t) WHERE id = :a"
                        ),
                        {"a": e["alert_id"], "t": e["fired_at"]},
                    )
            if completed:
                conn.execute(
                    text(
                        "UPDATE alert_rules SET completed_at = now(), active = false "
                        "WHERE id = ANY(CAST(:ids AS uuid[]))"
                    ),
                    {"ids": completed},
                )
            for alert_id, day in blocked.items():
                conn.execute(text("UPDATE alert_rules SET blocked_until = :d WHERE id = :a"), {"a": alert_id, "d": day})
            for alert_id, (version, symbols_now) in members.items():
                conn.execute(text("DELETE FROM alert_screen_members WHERE alert_id = :a"), {"a": alert_id})
                if symbols_now:
                    conn.execute(
                        text("INSERT INTO alert_screen_members (alert_id, symbol) VALUES (:a, :s)"),
                        [{"a": alert_id, "s": s} for s in sorted(symbols_now)],
                    )
                conn.execute(
                    text("UPDATE alert_rules SET members_version = :v WHERE id = :a"), {"a": alert_id, "v": version}
                )
        return stored


_PREF_COLS = (
    "timezone, quiet_start, quiet_end, channels, daily_caps, sns_target, webhook_url, webhook_secret, "
    "webhook_status, webhook_disabled_reason, webhook_failures"
)


class DeliveryRepository:
    """What the delivery function reads (the alert's owner, address, plan and channels) and records (each
    channel's status on the firing; daily-cap counters; held messages; suppressed addresses)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def target(self, alert_id: str) -> dict[str, Any] | None:
        """The alert's owner, email, plan, channels and cooldown, whether the address is suppressed, and the
        owner's preferences row (``prefs``, None without one), in one round trip; None when the alert or its
        owner is gone or disabled."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text(
                        "SELECT r.user_id::text AS user_id, u.email, u.role, r.channels, r.name, r.cooldown_minutes, "
                        "s.email IS NOT NULL AS suppressed, p.user_id IS NOT NULL AS has_prefs, "
                        f"{', '.join(f'p.{c} AS pref_{c}' for c in _PREF_COLS.split(', '))} "
                        "FROM alert_rules r JOIN users u ON u.id = r.user_id "
                        "LEFT JOIN email_suppressions s ON s.email = lower(u.email) "
                        "LEFT JOIN notification_preferences p ON p.user_id = r.user_id "
                        "WHERE r.id = :a AND NOT u.disabled"
                    ),
                    {"a": alert_id},
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        r = dict(row)
        prefs = {c: r.pop(f"pref_{c}") for c in _PREF_COLS.split(", ")}
        return {**r, "channels": list(r["channels"]), "prefs": prefs if r.pop("has_prefs") else None}

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The owner of held messages: email and plan; None when gone or disabled."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text("SELECT id::text AS user_id, email, role FROM users WHERE id = :u AND NOT disabled"),
                    {"u": user_id},
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def record(self, event_id: int, statuses: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE alert_events SET delivery = delivery || CAST(:d AS jsonb) WHERE id = :id"),
                {"id": event_id, "d": json.dumps(statuses)},
            )

    def notified_within(self, alert_id: str, symbol: str | None, event_id: int, fired_at: Any, minutes: int) -> bool:
        """Whether an earlier firing of the alert on this symbol, within ``minutes`` before ``fired_at``,
        notified (was not itself cooled down)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT 1 FROM alert_events WHERE alert_id = CAST(:a AS uuid) AND symbol IS NOT DISTINCT FROM :s "
                    "AND id < :id AND fired_at > CAST(:t AS timestamptz) - make_interval(mins => :m) "
                    "AND NOT delivery ? 'cooldown' LIMIT 1"
                ),
                {"a": alert_id, "s": symbol, "id": event_id, "t": fired_at, "m": minutes},
            ).first()
        return row is not None

    def suppressed(self, email: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT 1 FROM email_suppressions WHERE email = :e"), {"e": email.lower()}).first()
        return row is not None

    def suppress(self, email: str, reason: str, details: dict[str, Any]) -> bool:
        """Suppress an address (the first reason is kept); False when it already was."""
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "INSERT INTO email_suppressions (email, reason, details) VALUES (:e, :r, CAST(:d AS jsonb)) "
                    "ON CONFLICT (email) DO NOTHING RETURNING email"
                ),
                {"e": email.lower(), "r": reason, "d": json.dumps(details)},
            ).first()
        return row is not None

    def take_slot(self, user_id: str, channel: str, day: Any, cap: int) -> bool:
        """Count one message of the user's local ``day`` on ``channel``; False (nothing counted) when the
        day already has ``cap`` messages."""
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "INSERT INTO alert_channel_days (user_id, channel, day, sent) VALUES (:u, :c, :d, 1) "
                    "ON CONFLICT (user_id, channel, day) DO UPDATE SET sent = alert_channel_days.sent + 1 "
                    "WHERE alert_channel_days.sent < :cap RETURNING sent"
                ),
                {"u": user_id, "c": channel, "d": day, "cap": cap},
            ).first()
        return row is not None

    def give_back_slot(self, user_id: str, channel: str, day: Any) -> None:
        """A counted message was not sent after all."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE alert_channel_days SET sent = greatest(sent - 1, 0) "
                    "WHERE user_id = :u AND channel = :c AND day = :d"
                ),
                {"u": user_id, "c": channel, "d": day},
            )

    def hold(self, user_id: str, channel: str, event_id: int, reason: str, release_at: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO alert_held (user_id, channel, event_id, reason, release_at) "
                    "VALUES (:u, :c, :e, :r, :t) ON CONFLICT (event_id, channel) DO NOTHING"
                ),
                {"u": user_id, "c": channel, "e": event_id, "r": reason, "t": release_at},
            )

    def due(self, now: Any, limit: int = 5000) -> list[dict[str, Any]]:
        """Held messages due at ``now``, with their firings, by user and channel, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT h.id AS held_id, h.user_id::text AS user_id, h.channel, h.reason, e.id, "
                    "e.alert_id::text AS alert_id, e.symbol, e.fired_at, e.source, e.message, e.value, e.level, "
                    "e.snapshot_version, e.details FROM alert_held h JOIN alert_events e ON e.id = h.event_id "
                    "WHERE h.released_at IS NULL AND h.release_at <= :now "
                    "ORDER BY h.user_id, h.channel, h.id LIMIT :l"
                ),
                {"now": now, "l": limit},
            ).mappings()
            return [dict(r) for r in rows]

    def released(self, held_ids: list[int], event_ids: list[int], channel: str, status: str) -> None:
        """Mark held messages released, and note the channel's final status on each firing."""
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE alert_held SET released_at = now() WHERE id = ANY(:ids)"), {"ids": held_ids})
            conn.execute(
                text("UPDATE alert_events SET delivery = delivery || CAST(:d AS jsonb) WHERE id = ANY(:ids)"),
                {"ids": event_ids, "d": json.dumps({channel: status})},
            )


class PreferencesRepository:
    """Notification preferences, one row per user (no row: the defaults)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, user_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    text(f"SELECT {_PREF_COLS} FROM notification_preferences WHERE user_id = :u"), {"u": user_id}
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def save(self, user_id: str, p: dict[str, Any]) -> None:
        """Write every column but the secret (an upsert)."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO notification_preferences (user_id, timezone, quiet_start, quiet_end, channels, "
                    "daily_caps, sns_target, webhook_url, webhook_status, webhook_disabled_reason, webhook_failures) "
                    "VALUES (:u, :timezone, :quiet_start, :quiet_end, CAST(:channels AS jsonb), "
                    "CAST(:daily_caps AS jsonb), :sns_target, :webhook_url, :webhook_status, "
                    ":webhook_disabled_reason, :webhook_failures) ON CONFLICT (user_id) DO UPDATE SET "
                    "timezone = EXCLUDED.timezone, quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end, "
                    "channels = EXCLUDED.channels, daily_caps = EXCLUDED.daily_caps, "
                    "sns_target = EXCLUDED.sns_target, webhook_url = EXCLUDED.webhook_url, "
                    "webhook_status = EXCLUDED.webhook_status, "
                    "webhook_disabled_reason = EXCLUDED.webhook_disabled_reason, "
                    "webhook_failures = EXCLUDED.webhook_failures, updated_at = now()"
                ),
                {
                    **p,
                    "u": user_id,
                    "channels": json.dumps(p["channels"]),
                    "daily_caps": json.dumps(p["daily_caps"]),
                },
            )

    def set_secret(self, user_id: str, secret: str, defaults: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO notification_preferences (user_id, channels, daily_caps, webhook_secret) "
                    "VALUES (:u, CAST(:channels AS jsonb), CAST(:daily_caps AS jsonb), :s) "
                    "ON CONFLICT (user_id) DO UPDATE SET webhook_secret = EXCLUDED.webhook_secret, updated_at = now()"
                ),
                {
                    "u": user_id,
                    "s": secret,
                    "channels": json.dumps(defaults["channels"]),
                    "daily_caps": json.dumps(defaults["daily_caps"]),
                },
            )

    def webhook_result(self, user_id: str, ok: bool, reason: str, disable_after: int) -> tuple[str, bool]:
        """Record a delivery's outcome: a success resets the failure count; the ``disable_after``-th failure
        in a row disables the webhook with ``reason``. (status now, whether this call disabled it)."""
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "UPDATE notification_preferences SET "
                    "webhook_failures = CASE WHEN :ok THEN 0 ELSE webhook_failures + 1 END, "
                    "webhook_status = CASE WHEN NOT :ok AND webhook_status = 'active' "
                    "AND webhook_failures + 1 >= :n THEN 'disabled' ELSE webhook_status END, "
                    "webhook_disabled_reason = CASE WHEN NOT :ok AND webhook_status = 'active' "
                    "AND webhook_failures + 1 >= :n THEN :reason ELSE webhook_disabled_reason END "
                    "WHERE user_id = :u RETURNING webhook_status, "
                    "(NOT :ok AND webhook_failures = :n AND webhook_disabled_reason = :reason) AS disabled_now"
                ),
                {"u": user_id, "ok": ok, "n": disable_after, "reason": reason},
            ).first()
        if row is None:
            return "none", False
        return str(row[0]), bool(row[1])
