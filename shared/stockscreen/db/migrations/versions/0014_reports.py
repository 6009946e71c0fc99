"""Reports: each user's report schedule and every report built for them.

* ``report_settings``: one row per user: which scheduled reports they get (daily digest, weekly
  portfolio report), the weekday of the weekly one, the local time and the IANA time zone both are
  sent at, and ``suppressed`` (the address bounced or complained: nothing is sent to it). No row =
  no scheduled report.
* ``report_runs``: one row per (user, kind, period), the idempotency key of the reports workflow: a
  retried task or a duplicate schedule tick finds the row and does not build or send again. It is
  also the list the SPA shows (status, the stored PDF's S3 key, when it was sent).

Revision ID: 0014_reports
Revises: 0010_intraday_bars (the lead re-chains it at merge)
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0014_reports"
down_revision = "0013_quarantine_release"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE report_settings (
            user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
            daily_enabled boolean NOT NULL DEFAULT false,
            weekly_enabled boolean NOT NULL DEFAULT false,
            weekly_day smallint NOT NULL DEFAULT 5 CHECK (weekly_day BETWEEN 0 AND 6),
            send_time time NOT NULL DEFAULT '08:00',
            time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
            suppressed boolean NOT NULL DEFAULT false,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX report_settings_enabled ON report_settings (user_id)
            WHERE (daily_enabled OR weekly_enabled) AND NOT suppressed;

        CREATE TABLE report_runs (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            kind varchar(16) NOT NULL CHECK (kind IN ('daily', 'weekly', 'screen')),
            period text NOT NULL CHECK (length(period) BETWEEN 1 AND 80),
            title text NOT NULL DEFAULT '',
            status varchar(16) NOT NULL DEFAULT 'building'
                CHECK (status IN ('building', 'built', 'stored', 'sending', 'sent', 'skipped', 'failed')),
            attempts integer NOT NULL DEFAULT 1,
            detail text,
            data_key text,
            pdf_key text,
            csv_key text,
            pdf_bytes integer,
            message_id text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz,
            UNIQUE (user_id, kind, period)
        );
        CREATE INDEX report_runs_user ON report_runs (user_id, created_at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS report_runs; DROP TABLE IF EXISTS report_settings;")
