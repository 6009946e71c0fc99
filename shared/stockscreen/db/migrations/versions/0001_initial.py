"""Initial schema: securities, fundamentals, daily bars, ingest runs, quality, snapshot.

Daily bars are a TimescaleDB hypertable (compressed, with weekly/monthly continuous
aggregates) when the extension is installed and preloaded and ``TIMESCALEDB`` is not ``off``
(see :mod:`stockscreen.db.timescale`); otherwise a natively range-partitioned table (one
partition per year).

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

from stockscreen.db.timescale import use_timescaledb
from stockscreen.screening.fields import METRIC_FIELDS

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timescale_available() -> bool:
    # auto: only where the extension is installed AND preloaded (else one log line says why not)
    return use_timescaledb(op.get_bind())


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE securities (
            id serial PRIMARY KEY,
            symbol varchar(16) NOT NULL UNIQUE CHECK (symbol ~ '^[A-Z0-9.\\-]{1,16}$'),
            name text NOT NULL,
            sector text,
            industry text,
            headquarters text,
            hq_state text,
            hq_country text,
            date_added date,
            cik text,
            is_active boolean NOT NULL DEFAULT true
        );
        CREATE INDEX securities_name_prefix ON securities (lower(name) text_pattern_ops);

        CREATE TABLE fundamentals (
            security_id integer NOT NULL REFERENCES securities(id),
            as_of date NOT NULL,
            price double precision,
            pe double precision,
            dividend_yield double precision,
            eps double precision,
            low_52w double precision,
            high_52w double precision,
            market_cap double precision,
            ebitda double precision,
            price_sales double precision,
            price_book double precision,
            PRIMARY KEY (security_id, as_of)
        );

        CREATE TABLE ingest_runs (
            id uuid PRIMARY KEY,
            started_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            status varchar(16) NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
            source jsonb NOT NULL,
            stats jsonb NOT NULL DEFAULT '{}'::jsonb,
            error text
        );
        CREATE INDEX ingest_runs_started ON ingest_runs (started_at DESC);

        CREATE UNLOGGED TABLE raw_bars (
            run_id uuid NOT NULL,
            file text NOT NULL,
            line integer NOT NULL,
            symbol text,
            date date,
            open double precision,
            high double precision,
            low double precision,
            close double precision,
            volume double precision,
            parse_error text,
            raw text,
            rejected_rule text
        );
        CREATE INDEX raw_bars_run ON raw_bars (run_id);

        CREATE TABLE raw_reference (
            run_id uuid NOT NULL,
            kind varchar(16) NOT NULL,
            file text NOT NULL,
            line integer NOT NULL,
            row jsonb NOT NULL
        );
        CREATE INDEX raw_reference_run ON raw_reference (run_id);

        CREATE TABLE quality_issues (
            id bigserial PRIMARY KEY,
            run_id uuid NOT NULL REFERENCES ingest_runs(id) ON DELETE CASCADE,
            rule varchar(64) NOT NULL,
            severity varchar(8) NOT NULL CHECK (severity IN ('error', 'warning', 'info')),
            action varchar(16) NOT NULL CHECK (action IN ('quarantined', 'loaded', 'corrected')),
            symbol varchar(16),
            date date,
            message text NOT NULL,
            raw jsonb
        );
        CREATE INDEX quality_issues_run ON quality_issues (run_id, rule);

        CREATE TABLE snapshot_versions (
            version integer PRIMARY KEY,
            as_of date NOT NULL,
            run_id uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            is_current boolean NOT NULL DEFAULT false,
            row_count integer NOT NULL
        );
        CREATE UNIQUE INDEX snapshot_versions_one_current ON snapshot_versions (is_current) WHERE is_current;

        CREATE TABLE alert_invocations (
            id bigserial PRIMARY KEY,
            event_id text NOT NULL UNIQUE,
            received_at timestamptz NOT NULL DEFAULT now(),
            run_id text,
            snapshot_version integer,
            symbols integer NOT NULL
        );
        """
    )
    metric_cols = ",\n".join(f"{name} double precision" for name in METRIC_FIELDS)
    op.execute(
        f"""
        CREATE TABLE snapshot_rows (
            version integer NOT NULL REFERENCES snapshot_versions(version) ON DELETE CASCADE,
            security_id integer NOT NULL REFERENCES securities(id),
            as_of date NOT NULL,
            {metric_cols},
            PRIMARY KEY (version, security_id)
        )
        """
    )

    if _timescale_available():
        op.execute(
            """
            CREATE EXTENSION IF NOT EXISTS timescaledb;
            CREATE TABLE daily_bars (
                security_id integer NOT NULL,
                date date NOT NULL,
                open double precision NOT NULL,
                high double precision NOT NULL,
                low double precision NOT NULL,
                close double precision NOT NULL,
                volume bigint NOT NULL,
                PRIMARY KEY (security_id, date)
            );
            SELECT create_hypertable('daily_bars', 'date', chunk_time_interval => interval '1 year');
            ALTER TABLE daily_bars SET (timescaledb.compress, timescaledb.compress_segmentby = 'security_id',
                                        timescaledb.compress_orderby = 'date');
            SELECT add_compression_policy('daily_bars', interval '2 years');
            """
        )
    else:
        op.execute(
            """
            CREATE TABLE daily_bars (
                security_id integer NOT NULL,
                date date NOT NULL,
                open double precision NOT NULL,
                high double precision NOT NULL,
                low double precision NOT NULL,
                close double precision NOT NULL,
                volume bigint NOT NULL,
                PRIMARY KEY (security_id, date)
            ) PARTITION BY RANGE (date);
            CREATE TABLE daily_bars_default PARTITION OF daily_bars DEFAULT;
            """
        )
        for year in range(1990, 2031):
            op.execute(
                f"CREATE TABLE daily_bars_{year} PARTITION OF daily_bars "
                f"FOR VALUES FROM ('{year}-01-01') TO ('{year + 1}-01-01')"
            )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE IF EXISTS snapshot_rows, snapshot_versions, quality_issues, raw_reference, raw_bars,
            ingest_runs, fundamentals, daily_bars, alert_invocations, securities CASCADE;
        """
    )
