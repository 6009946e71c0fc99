"""The indicator state's ``revised_from``: history on or before the state's date was written since.

``indicator_state.revised_from`` (``date``, NULL: not revised) is set by the Load task, in the
transaction that writes the bars, on every security whose inserted or changed bars are dated on or
before its stored state's date (a corrected bar, a backfilled gap, older history): the earliest such
date. The snapshot's daily build recomputes those securities from their full history instead of
advancing their state, without scanning every security's history to find them (which grew with the
years on file), and keeps the rows of the securities whose last bar is before every date written.

Revision ID: 0015_state_revised
Revises: 0012_adj_close (the lead re-chains it at merge)
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0015_state_revised"
down_revision = "0012_adj_close"
branch_labels = None
depends_on = ("0003",)  # (indicator_state)


def upgrade() -> None:
    op.execute("ALTER TABLE indicator_state ADD COLUMN IF NOT EXISTS revised_from date")


def downgrade() -> None:
    op.execute("ALTER TABLE indicator_state DROP COLUMN IF EXISTS revised_from")
