"""Staged bars are found by symbol, not by run.

A run empties the staging tables when it starts (one running run at a time), so ``raw_bars``
only ever holds the running run's rows and its btree on ``run_id`` only slowed every staged
row down. The Load batches read symbol ranges of the rows, which Fetch stages by symbol: a
BRIN index on ``symbol`` finds a range's blocks for almost nothing.

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
        DROP INDEX IF EXISTS raw_bars_run;
        CREATE INDEX raw_bars_symbol ON raw_bars USING brin (symbol);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX IF EXISTS raw_bars_symbol;
        CREATE INDEX raw_bars_run ON raw_bars (run_id);
        """
    )
