"""Staged bars as columns: one row per batch instead of one row per bar.

Fetch types each batch (a file, a group of symbols) into NumPy columns and stages them as one
value; Validate reads the run's batches back in one query, applies the rules in memory and
stages each load batch's clean bars the same way; Load reads its batch in one query. Nothing
stages or re-reads bar by bar. ``raw_batches`` replaces ``raw_bars`` (unlogged, emptied by
every run, so no data is lost); its values are stored uncompressed (``EXTERNAL``): they are
written once and read once.

Revision ID: 0006_staging
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0006_staging"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DROP TABLE raw_bars;
        CREATE UNLOGGED TABLE raw_batches (
            run_id uuid NOT NULL,
            stage varchar(8) NOT NULL CHECK (stage IN ('fetch', 'load')),
            batch text NOT NULL,
            rows integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (run_id, stage, batch)
        );
        ALTER TABLE raw_batches ALTER COLUMN data SET STORAGE EXTERNAL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE raw_batches;
        CREATE UNLOGGED TABLE raw_bars (
            run_id uuid NOT NULL,
            file text NOT NULL,
            line integer NOT NULL,
            symbol text COLLATE "C",
            date date,
            open double precision,
            high double precision,
            low double precision,
            close double precision,
            volume double precision,
            parse_error text,
            raw text,
            rejected_rule text,
            batch text
        );
        CREATE INDEX raw_bars_run ON raw_bars (run_id);
        """
    )
