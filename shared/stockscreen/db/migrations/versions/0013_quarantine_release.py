"""Quarantined rows an admin released after review.

``quarantine_releases``: one row per (symbol, date) an admin released, with the rule that had
quarantined it, the values reviewed (open, high, low, close, volume), who released it and when, and
the run that loaded it. The value rules no longer quarantine a staged bar of that symbol and date
with those values (a re-run of the same file loads it: the release survives re-runs), and the next
run stages a release not loaded yet, so it is loaded even when no file brings the row again.

Revision ID: 0013_quarantine_release
Revises: 0010_intraday_bars
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0013_quarantine_release"
down_revision = "0011_alert_prefs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE quarantine_releases (
            id bigserial PRIMARY KEY,
            issue_id bigint REFERENCES quality_issues(id) ON DELETE SET NULL,
            run_id uuid,
            rule varchar(64) NOT NULL,
            symbol varchar(16) NOT NULL,
            date date NOT NULL,
            open double precision NOT NULL,
            high double precision NOT NULL,
            low double precision NOT NULL,
            close double precision NOT NULL,
            volume double precision NOT NULL,
            file text,
            line integer,
            note text,
            released_by uuid REFERENCES users(id) ON DELETE SET NULL,
            released_at timestamptz NOT NULL DEFAULT now(),
            loaded_run_id uuid,
            loaded_at timestamptz,
            UNIQUE (symbol, date)
        );
        CREATE INDEX quarantine_releases_pending ON quarantine_releases (symbol, date) WHERE loaded_run_id IS NULL;
        CREATE INDEX quality_issues_quarantined ON quality_issues (run_id, id) WHERE action = 'quarantined';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX IF EXISTS quality_issues_quarantined;
        DROP TABLE IF EXISTS quarantine_releases;
        """
    )
