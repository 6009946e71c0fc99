"""Database access: engine, table definitions and Alembic migrations."""
