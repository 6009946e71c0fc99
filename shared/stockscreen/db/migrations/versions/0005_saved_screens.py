"""Saved screens: per-user named screens (canonical query text + AST, sort, order, columns) with an
optional public read-only share token.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("saved_screens",)
depends_on = "0004"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE saved_screens (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
            description text CHECK (description IS NULL OR length(description) <= 2000),
            query text NOT NULL,
            ast jsonb,
            sort text NOT NULL,
            sort_order varchar(4) NOT NULL CHECK (sort_order IN ('asc', 'desc')),
            columns jsonb,
            share_token text UNIQUE,
            shared_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX saved_screens_user ON saved_screens (user_id, created_at, id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS saved_screens")
