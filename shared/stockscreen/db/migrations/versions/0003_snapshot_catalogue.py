"""Snapshot columns for the full field catalogue, and per-security indicator state.

``snapshot_rows`` gets a column for every snapshot field of the catalogue that it lacks
(numbers ``double precision``, flags ``boolean``, labels ``text``). Revision 0001 builds
the table from the catalogue as it stands when it runs, so on a fresh database the
numeric columns already exist; ``IF NOT EXISTS`` makes this revision right either way.

``indicator_state`` keeps, per security, the recursive indicators (EMA, Wilder averages,
MACD) at its last bar, with the bar count and the sum of highs, lows and closes they were
computed over, so a daily run continues from it instead of recomputing the whole history.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

from stockscreen.screening.fields import BY_ID, SNAPSHOT_FIELDS

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

#: The snapshot columns 0001 created before the catalogue grew (kept on downgrade).
ORIGINAL_COLUMNS = frozenset(
    [
        "open",
        "high",
        "low",
        "close",
        "volume",
        "avg_volume_20",
        "avg_volume_50",
        "rel_volume",
        "market_cap",
        "pe",
        "eps",
        "dividend_yield",
        "price_book",
        "price_sales",
        "ebitda",
        "change_pct",
        "gap_pct",
        "change_from_open_pct",
        "sma20",
        "sma50",
        "sma200",
        "dist_sma20_pct",
        "dist_sma50_pct",
        "dist_sma200_pct",
        "ema12",
        "ema26",
        "rsi14",
        "macd",
        "macd_signal",
        "macd_hist",
        "atr14",
        "atr_pct",
        "bb_pctb",
        "bb_width",
        "high_52w",
        "low_52w",
        "dist_high_52w_pct",
        "dist_low_52w_pct",
        "perf_1w",
        "perf_1m",
        "perf_3m",
        "perf_6m",
        "perf_1y",
        "perf_ytd",
        "volatility_1m",
    ]
)

STATE_COLUMNS = ("ema12", "ema26", "macd_fast", "macd_signal", "avg_gain", "avg_loss", "atr14")


def upgrade() -> None:
    # identifiers come from the catalogue (a whitelist in code), never from input
    adds = ", ".join(f"ADD COLUMN IF NOT EXISTS {f} {BY_ID[f].sql_type}" for f in SNAPSHOT_FIELDS)
    op.execute(f"ALTER TABLE snapshot_rows {adds}")
    state_cols = ",\n".join(f"{c} double precision" for c in STATE_COLUMNS)
    op.execute(
        f"""
        CREATE TABLE indicator_state (
            security_id integer PRIMARY KEY REFERENCES securities(id) ON DELETE CASCADE,
            as_of date NOT NULL,
            bars integer NOT NULL CHECK (bars > 0),
            price_sum double precision NOT NULL,
            prev_close double precision NOT NULL,
            {state_cols},
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS indicator_state")
    drops = [f for f in SNAPSHOT_FIELDS if f not in ORIGINAL_COLUMNS]
    if drops:
        op.execute("ALTER TABLE snapshot_rows " + ", ".join(f"DROP COLUMN IF EXISTS {f}" for f in drops))
