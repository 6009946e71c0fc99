"""Alerts that fire: trigger options on the rules, per-(alert, symbol) edge state, screen membership,
the history of firings and the quote batches already evaluated.

* ``alert_rules`` gains the trigger option (``once`` / ``once_per_day`` / ``once_per_bar_close``),
  the hysteresis, expiry, snooze, the next session a once-per-day alert may fire
  again (``blocked_until``), when a once alert completed, counters, and the delivery channels
  (one-click unsubscribe takes ``email`` out).
* ``alert_state``: one row per (alert, symbol, leg): 1 armed, 0 disarmed (fired, waiting for the value
  to move back beyond the hysteresis band). No row = never evaluated.
* ``alert_screen_members``: the last membership of a screen alert's saved screen (entrants/leavers).
* ``alert_events``: the history of firings (values, message, details); ``alert_batches``: quote
  batches evaluated (a redelivered batch is not evaluated twice); ``alert_prices``: the last price the
  live evaluator saw per symbol (where a restarted evaluator starts from).

Revision ID: 0009_alert_state
Revises: 0007_staged_parts (the lead re-chains it at merge)
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0009_alert_state"
down_revision = "0008_listing_dates"
branch_labels = None
depends_on = "0004"  # alert_rules, users (on another branch of the history)


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE alert_rules
            ADD COLUMN trigger varchar(24) NOT NULL DEFAULT 'once_per_day'
                CHECK (trigger IN ('once', 'once_per_day', 'once_per_bar_close', 'every_time')),
            ADD COLUMN hysteresis_pct double precision NOT NULL DEFAULT 0.2
                CHECK (hysteresis_pct >= 0 AND hysteresis_pct <= 50),
            ADD COLUMN expires_at timestamptz,
            ADD COLUMN snoozed_until timestamptz,
            ADD COLUMN blocked_until date,
            ADD COLUMN completed_at timestamptz,
            ADD COLUMN members_version integer,
            ADD COLUMN fired_count integer NOT NULL DEFAULT 0,
            ADD COLUMN last_fired_at timestamptz,
            ADD COLUMN channels varchar(16)[] NOT NULL DEFAULT '{in_app,websocket,email,sns}';
        CREATE INDEX alert_rules_active ON alert_rules (symbol) WHERE active;

        CREATE TABLE alert_state (
            alert_id uuid NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
            symbol varchar(16) NOT NULL,
            leg smallint NOT NULL,
            state smallint NOT NULL CHECK (state IN (0, 1)),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (alert_id, symbol, leg)
        );

        CREATE TABLE alert_screen_members (
            alert_id uuid NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
            symbol varchar(16) NOT NULL,
            PRIMARY KEY (alert_id, symbol)
        );

        CREATE TABLE alert_events (
            id bigserial PRIMARY KEY,
            alert_id uuid NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            symbol varchar(16),
            fired_at timestamptz NOT NULL,
            source varchar(8) NOT NULL CHECK (source IN ('daily', 'live')),
            source_id text NOT NULL,
            snapshot_version integer,
            value double precision,
            level double precision,
            message text NOT NULL,
            details jsonb NOT NULL DEFAULT '{}'::jsonb,
            delivery jsonb NOT NULL DEFAULT '{}'::jsonb,
            UNIQUE (alert_id, symbol, source_id)
        );
        CREATE INDEX alert_events_alert ON alert_events (alert_id, id DESC);
        CREATE INDEX alert_events_user ON alert_events (user_id, id DESC);

        CREATE TABLE alert_prices (
            symbol varchar(16) PRIMARY KEY,
            price double precision NOT NULL,
            at timestamptz NOT NULL
        );

        CREATE TABLE alert_batches (
            batch_id text PRIMARY KEY,
            evaluated_at timestamptz NOT NULL DEFAULT now(),
            fired integer NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE IF EXISTS alert_batches, alert_prices, alert_events, alert_screen_members, alert_state;
        DROP INDEX IF EXISTS alert_rules_active;
        ALTER TABLE alert_rules
            DROP COLUMN IF EXISTS trigger, DROP COLUMN IF EXISTS hysteresis_pct,
            DROP COLUMN IF EXISTS expires_at,
            DROP COLUMN IF EXISTS snoozed_until, DROP COLUMN IF EXISTS blocked_until,
            DROP COLUMN IF EXISTS completed_at, DROP COLUMN IF EXISTS members_version,
            DROP COLUMN IF EXISTS fired_count, DROP COLUMN IF EXISTS last_fired_at,
            DROP COLUMN IF EXISTS channels;
        """
    )
