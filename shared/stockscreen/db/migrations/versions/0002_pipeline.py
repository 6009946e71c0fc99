"""Ingest pipeline: batches, one running run at a time, provider findings, weekly/monthly rollups.

- ``raw_bars.batch`` / ``raw_reference.batch``: which Fetch batch staged a row, so a retried
  batch replaces exactly its own rows; ``raw_bars.symbol`` collates bytewise ("C") so the quality
  rules' per-symbol sorts do not pay for locale-aware comparisons.
- ``ingest_runs.run_key`` with a partial unique index: at most one *running* run per key, so two
  runs started at once cannot both write (the second is refused with a conflict).
- ``quality_issues.action`` also allows ``skipped`` (a provider gave nothing for a symbol).
- Weekly and monthly bars: TimescaleDB continuous aggregates with refresh policies when
  ``daily_bars`` is a hypertable (real-time: periods not yet materialised are computed from the
  hypertable); otherwise plain rollup tables the Load task maintains for the (security, period)
  pairs each batch touched, filled here from any bars already loaded.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ROLLUP_COLUMNS = """
    security_id integer NOT NULL,
    period_start date NOT NULL,
    open double precision NOT NULL,
    high double precision NOT NULL,
    low double precision NOT NULL,
    close double precision NOT NULL,
    volume bigint NOT NULL,
    first_date date NOT NULL,
    last_date date NOT NULL,
    bars integer NOT NULL,
    PRIMARY KEY (security_id, period_start)
"""


def _is_hypertable() -> bool:
    bind = op.get_bind()
    has_ext = bind.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")).scalar_one()
    if not has_ext:
        return False
    return bool(
        bind.execute(
            text("SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'daily_bars'")
        ).scalar_one()
    )


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE raw_bars ADD COLUMN batch text;
        -- staged symbols are sorted and grouped by the rules' windows: bytewise, not by locale
        ALTER TABLE raw_bars ALTER COLUMN symbol TYPE text COLLATE "C";
        ALTER TABLE raw_reference ADD COLUMN batch text;
        ALTER TABLE ingest_runs ADD COLUMN run_key text;
        CREATE UNIQUE INDEX ingest_runs_one_running ON ingest_runs (run_key) WHERE status = 'running';
        ALTER TABLE quality_issues DROP CONSTRAINT quality_issues_action_check;
        ALTER TABLE quality_issues ADD CONSTRAINT quality_issues_action_check
            CHECK (action IN ('quarantined', 'loaded', 'corrected', 'skipped'));
        """
    )
    if _is_hypertable():
        for name, bucket, start_offset in (
            ("bars_weekly", "1 week", "1 month"),
            ("bars_monthly", "1 month", "3 months"),
        ):
            # time_bucket('1 week') buckets start on Mondays, like date_trunc('week').
            op.execute(
                f"""
                CREATE MATERIALIZED VIEW {name}
                WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
                SELECT security_id, time_bucket(interval '{bucket}', date) AS period_start,
                       first(open, date) AS open, max(high) AS high, min(low) AS low,
                       last(close, date) AS close, sum(volume)::bigint AS volume,
                       min(date) AS first_date, max(date) AS last_date, count(*)::integer AS bars
                FROM daily_bars GROUP BY security_id, time_bucket(interval '{bucket}', date)
                WITH NO DATA
                """
            )
            op.execute(
                f"SELECT add_continuous_aggregate_policy('{name}', start_offset => interval '{start_offset}', "
                "end_offset => NULL, schedule_interval => interval '1 hour')"
            )
    else:
        for name, unit in (("bars_weekly", "week"), ("bars_monthly", "month")):
            op.execute(f"CREATE TABLE {name} ({_ROLLUP_COLUMNS})")
            # bars loaded before this revision get their rollups now
            op.execute(
                f"INSERT INTO {name} (security_id, period_start, open, high, low, close, volume, first_date, "
                f"last_date, bars) SELECT security_id, date_trunc('{unit}', date)::date, "
                "(array_agg(open ORDER BY date))[1], max(high), min(low), (array_agg(close ORDER BY date DESC))[1], "
                f"sum(volume), min(date), max(date), count(*) FROM daily_bars "
                f"GROUP BY security_id, date_trunc('{unit}', date)"
            )


def downgrade() -> None:
    if _is_hypertable():
        op.execute("DROP MATERIALIZED VIEW IF EXISTS bars_weekly, bars_monthly")
    else:
        op.execute("DROP TABLE IF EXISTS bars_weekly, bars_monthly")
    op.execute(
        """
        ALTER TABLE quality_issues DROP CONSTRAINT quality_issues_action_check;
        DELETE FROM quality_issues WHERE action = 'skipped';
        ALTER TABLE quality_issues ADD CONSTRAINT quality_issues_action_check
            CHECK (action IN ('quarantined', 'loaded', 'corrected'));
        DROP INDEX IF EXISTS ingest_runs_one_running;
        ALTER TABLE ingest_runs DROP COLUMN run_key;
        ALTER TABLE raw_reference DROP COLUMN batch;
        ALTER TABLE raw_bars ALTER COLUMN symbol TYPE text COLLATE "default";
        ALTER TABLE raw_bars DROP COLUMN batch;
        """
    )
