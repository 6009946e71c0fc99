"""Listing and delisting dates in the security master, for survivorship-free backtests.

``listed_on`` is the first day a security traded as listed, ``delisted_on`` the last; both stay
NULL when the reference data does not say (a backtest then uses the first and last stored bar).

Revision ID: 0008_listing_dates
Revises: 0007_staged_parts
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0008_listing_dates"
down_revision = "0007_staged_parts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE securities ADD COLUMN listed_on date, ADD COLUMN delisted_on date;
        ALTER TABLE securities ADD CONSTRAINT securities_listing_order
            CHECK (listed_on IS NULL OR delisted_on IS NULL OR listed_on <= delisted_on);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE securities DROP CONSTRAINT securities_listing_order;
        ALTER TABLE securities DROP COLUMN delisted_on, DROP COLUMN listed_on;
        """
    )
