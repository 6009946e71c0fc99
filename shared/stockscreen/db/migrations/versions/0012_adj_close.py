"""Adjusted close on the daily bars, and the snapshot's total-return performance columns.

``daily_bars.adj_close`` (``double precision``, like ``close``; NULL: the source gave none) holds
the adjusted close a bars file brings (Yahoo-style ``Adj Close``, a many-symbol file's
``adj_close``). Only the total-return performance fields (``perf_tr_*``) read it; every other
price field, indicator, pattern, alert and chart stays on the raw prices.

``snapshot_rows`` gets the ``perf_tr_*`` columns (``IF NOT EXISTS``: revision 0001 builds the
table from the catalogue as it stands when it runs, so a fresh database has them already).

Revision ID: 0012_adj_close
Revises: 0014_reports (the lead re-chains it at merge)
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0012_adj_close"
down_revision = "0014_reports"
branch_labels = None
depends_on = None

#: the snapshot columns this revision adds (a whitelist: identifiers, never input)
TOTAL_RETURN_COLUMNS = ("perf_tr_1w", "perf_tr_1m", "perf_tr_3m", "perf_tr_6m", "perf_tr_1y", "perf_tr_ytd")


def upgrade() -> None:
    # nullable, no default: a catalogue change only (no table rewrite), partitions and hypertables alike
    op.execute("ALTER TABLE daily_bars ADD COLUMN IF NOT EXISTS adj_close double precision")
    adds = ", ".join(f"ADD COLUMN IF NOT EXISTS {c} double precision" for c in TOTAL_RETURN_COLUMNS)
    op.execute(f"ALTER TABLE snapshot_rows {adds}")


def downgrade() -> None:
    drops = ", ".join(f"DROP COLUMN IF EXISTS {c}" for c in TOTAL_RETURN_COLUMNS)
    op.execute(f"ALTER TABLE snapshot_rows {drops}")
    op.execute("ALTER TABLE daily_bars DROP COLUMN IF EXISTS adj_close")
