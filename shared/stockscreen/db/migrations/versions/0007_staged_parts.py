"""A staged batch in parts of about a megabyte: one ``raw_batches`` row per part.

PostgreSQL writes and reads a value of tens of megabytes (a whole history's bars) about three
times slower than the same bytes as megabyte values (one huge allocation, and the protocol
buffer grown by copies). Staged rows are transient (every run empties the table), so the
downgrade just drops them.

Revision ID: 0007_staged_parts
Revises: 0006_staging
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0007_staged_parts"
down_revision = "0006_staging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE raw_batches ADD COLUMN part integer NOT NULL DEFAULT 0;
        ALTER TABLE raw_batches DROP CONSTRAINT raw_batches_pkey;
        ALTER TABLE raw_batches ADD PRIMARY KEY (run_id, stage, batch, part);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM raw_batches;
        ALTER TABLE raw_batches DROP CONSTRAINT raw_batches_pkey;
        ALTER TABLE raw_batches DROP COLUMN part;
        ALTER TABLE raw_batches ADD PRIMARY KEY (run_id, stage, batch);
        """
    )
