"""One-minute bars of the live quote poller, kept for a rolling 30 days.

``intraday_bars (symbol, minute)``: open/high/low/close of the quotes polled within the minute,
``volume`` traded within it (from the day's cumulative volume) and ``day_volume`` at its last quote.

* With TimescaleDB (the extension created by 0001 and ``TIMESCALEDB`` not ``off``): a hypertable
  with one-day chunks and a retention policy of 30 days (the extension's background job).
* Otherwise: a table natively partitioned by range of ``minute``, one partition per UTC day
  (``intraday_bars_pYYYYMMDD``; the US session, 14:30-21:00 UTC, never straddles two).

Both schemas have the same two functions, so callers do not care which one is in use:
``intraday_bars_prepare(days)`` creates the partitions of yesterday, today and the next
``days - 1`` days (a no-op on TimescaleDB, which creates chunks as rows arrive), and
``intraday_bars_retention(keep)`` drops the partitions (chunks) wholly older than ``now() - keep``
and returns how many. The poller calls both at the start of each run.

Revision ID: 0010_intraday_bars
Revises: 0007_staged_parts
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from stockscreen.db.timescale import mode_from_env

revision = "0010_intraday_bars"
down_revision = "0009_alert_state"
branch_labels = None
depends_on = None

RETENTION = "30 days"

_COLUMNS = """
    symbol varchar(16) NOT NULL,
    minute timestamptz NOT NULL,
    open double precision NOT NULL,
    high double precision NOT NULL,
    low double precision NOT NULL,
    close double precision NOT NULL,
    volume bigint NOT NULL DEFAULT 0,
    day_volume bigint,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, minute)
"""


def _timescale() -> bool:
    if mode_from_env() == "off":
        return False
    bind = op.get_bind()
    return bool(bind.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")).scalar_one())


def upgrade() -> None:
    if _timescale():
        op.execute(
            f"""
            CREATE TABLE intraday_bars ({_COLUMNS});
            SELECT create_hypertable('intraday_bars', 'minute', chunk_time_interval => interval '1 day');
            SELECT add_retention_policy('intraday_bars', interval '{RETENTION}');

            CREATE FUNCTION intraday_bars_prepare(days integer DEFAULT 2) RETURNS integer
            LANGUAGE sql AS $$ SELECT 0 $$;

            CREATE FUNCTION intraday_bars_retention(keep interval DEFAULT interval '{RETENTION}') RETURNS integer
            LANGUAGE sql AS $$
                SELECT count(*)::integer FROM drop_chunks('intraday_bars', older_than => now() - keep)
            $$;
            """
        )
        return
    op.execute(
        f"""
        CREATE TABLE intraday_bars ({_COLUMNS}) PARTITION BY RANGE (minute);

        CREATE FUNCTION intraday_bars_prepare(days integer DEFAULT 2) RETURNS integer
        LANGUAGE plpgsql AS $$
        DECLARE
            today date := (now() AT TIME ZONE 'UTC')::date;
            d date;
            created integer := 0;
            part text;
        BEGIN
            FOR i IN -1 .. greatest(days, 1) - 1 LOOP
                d := today + i;
                part := 'intraday_bars_p' || to_char(d, 'YYYYMMDD');
                IF to_regclass(part) IS NULL THEN
                    EXECUTE format(
                        'CREATE TABLE IF NOT EXISTS %I PARTITION OF intraday_bars FOR VALUES FROM (%L) TO (%L)',
                        part,
                        (d::timestamp AT TIME ZONE 'UTC'),
                        ((d + 1)::timestamp AT TIME ZONE 'UTC')
                    );
                    created := created + 1;
                END IF;
            END LOOP;
            RETURN created;
        END $$;

        CREATE FUNCTION intraday_bars_retention(keep interval DEFAULT interval '{RETENTION}') RETURNS integer
        LANGUAGE plpgsql AS $$
        DECLARE
            part record;
            dropped integer := 0;
        BEGIN
            FOR part IN
                SELECT c.relname FROM pg_inherits i
                JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'intraday_bars'::regclass AND c.relname ~ '^intraday_bars_p[0-9]{{8}}$'
            LOOP
                -- a partition holds the UTC day in its name; drop it once its whole day is older than keep
                IF (to_date(right(part.relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= now() - keep THEN
                    EXECUTE format('DROP TABLE %I', part.relname);
                    dropped := dropped + 1;
                END IF;
            END LOOP;
            RETURN dropped;
        END $$;

        SELECT intraday_bars_prepare(2);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION IF EXISTS intraday_bars_prepare(integer);
        DROP FUNCTION IF EXISTS intraday_bars_retention(interval);
        DROP TABLE IF EXISTS intraday_bars CASCADE;
        """
    )
