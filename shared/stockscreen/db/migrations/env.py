"""Alembic environment: the URL comes from the caller (``stockscreen.db.migrate``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from stockscreen.db.tables import metadata

config = context.config
url = config.attributes.get("database_url")
if not url:
    raise RuntimeError("stockscreen.db.migrate must pass the database URL")

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
