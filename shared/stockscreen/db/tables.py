"""Table definitions (SQLAlchemy Core). The schema itself is owned by Alembic."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

securities = Table(
    "securities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("symbol", String(16), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("sector", Text),
    Column("industry", Text),
    Column("headquarters", Text),
    Column("hq_state", Text),
    Column("hq_country", Text),
    Column("date_added", Date),
    Column("cik", Text),
    Column("is_active", Boolean, nullable=False),
    Column("listed_on", Date),  # first day listed; NULL: unknown (a backtest uses the first bar)
    Column("delisted_on", Date),  # last day listed; NULL: still listed or unknown (the last bar)
)

fundamentals = Table(
    "fundamentals",
    metadata,
    Column("security_id", Integer, ForeignKey("securities.id"), primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("price", Float),
    Column("pe", Float),
    Column("dividend_yield", Float),
    Column("eps", Float),
    Column("low_52w", Float),
    Column("high_52w", Float),
    Column("market_cap", Float),
    Column("ebitda", Float),
    Column("price_sales", Float),
    Column("price_book", Float),
)

daily_bars = Table(
    "daily_bars",
    metadata,
    Column("security_id", Integer, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("open", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("close", Float, nullable=False),
    Column("volume", BigInteger, nullable=False),
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),
    Column("source", JSONB, nullable=False),
    Column("stats", JSONB, nullable=False),
    Column("error", Text),
)

quality_issues = Table(
    "quality_issues",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("run_id", UUID(as_uuid=False), ForeignKey("ingest_runs.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("action", String(16), nullable=False),
    Column("symbol", String(16)),
    Column("date", Date),
    Column("message", Text, nullable=False),
    Column("raw", JSONB),
)

snapshot_versions = Table(
    "snapshot_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("run_id", UUID(as_uuid=False)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("row_count", Integer, nullable=False),
)

alert_invocations = Table(
    "alert_invocations",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("event_id", Text, nullable=False, unique=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Text),
    Column("snapshot_version", Integer),
    Column("symbols", Integer, nullable=False),
)
