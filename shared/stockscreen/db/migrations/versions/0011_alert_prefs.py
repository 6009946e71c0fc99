"""Notification preferences and the controls against alert fatigue; webhooks; SES suppression.

* ``notification_preferences``: one row per user (none = the defaults): time zone, quiet hours,
  channel choices, daily caps per channel, the SNS target, the webhook (URL, signing secret, status,
  why it was disabled, consecutive failures).
* ``alert_rules.channels`` gains ``webhook`` (delivered only when the owner's preferences turn it on).
* ``alert_rules.cooldown_minutes``: after an alert notified (per symbol), its next firings within
  this many minutes reach the history and the in-app list only.
* ``alert_channel_days``: messages sent per (user, channel, local day), the daily cap's counter.
* ``alert_held``: firings held for a channel (quiet hours, or over the daily cap) until ``release_at``;
  released as one message per (user, channel): the firing itself, or one summary of several.
* ``email_suppressions``: addresses SES reported as bounced (permanently) or complained about; they
  get no email.

Revision ID: 0011_alert_prefs
Revises: 0010_intraday_bars
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0011_alert_prefs"
down_revision = "0010_intraday_bars"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE notification_preferences (
            user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            timezone text NOT NULL DEFAULT 'UTC',
            quiet_start time,
            quiet_end time,
            channels jsonb NOT NULL,
            daily_caps jsonb NOT NULL,
            sns_target text,
            webhook_url text,
            webhook_secret text,
            webhook_status varchar(8) NOT NULL DEFAULT 'none'
                CHECK (webhook_status IN ('none', 'active', 'disabled')),
            webhook_disabled_reason text,
            webhook_failures integer NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now(),
            CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
        );

        ALTER TABLE alert_rules ADD COLUMN cooldown_minutes integer NOT NULL DEFAULT 0
            CHECK (cooldown_minutes >= 0 AND cooldown_minutes <= 10080);
        -- the webhook is one more channel of every alert (the user's preferences turn it on)
        ALTER TABLE alert_rules ALTER COLUMN channels SET DEFAULT '{in_app,websocket,email,sns,webhook}';
        UPDATE alert_rules SET channels = array_append(channels, 'webhook') WHERE NOT 'webhook' = ANY(channels);

        CREATE TABLE alert_channel_days (
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            channel varchar(16) NOT NULL,
            day date NOT NULL,
            sent integer NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, channel, day)
        );

        CREATE TABLE alert_held (
            id bigserial PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            channel varchar(16) NOT NULL,
            event_id bigint NOT NULL REFERENCES alert_events(id) ON DELETE CASCADE,
            reason varchar(8) NOT NULL CHECK (reason IN ('quiet', 'cap')),
            release_at timestamptz NOT NULL,
            released_at timestamptz,
            UNIQUE (event_id, channel)
        );
        CREATE INDEX alert_held_due ON alert_held (release_at) WHERE released_at IS NULL;

        CREATE TABLE email_suppressions (
            email text PRIMARY KEY CHECK (email = lower(email)),
            reason varchar(16) NOT NULL CHECK (reason IN ('bounce', 'complaint')),
            details jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE IF EXISTS email_suppressions, alert_held, alert_channel_days, notification_preferences;
        ALTER TABLE alert_rules DROP COLUMN IF EXISTS cooldown_minutes;
        UPDATE alert_rules SET channels = array_remove(channels, 'webhook');
        ALTER TABLE alert_rules ALTER COLUMN channels SET DEFAULT '{in_app,websocket,email,sns}';
        """
    )
