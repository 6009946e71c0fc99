"""Accounts and user resources: users, refresh-token families, API keys, login throttle, audit log,
watchlists, portfolios with transactions, alert definitions, notifications.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("accounts",)
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
            password_hash text NOT NULL,
            display_name text,
            role varchar(16) NOT NULL DEFAULT 'free' CHECK (role IN ('free', 'premium', 'admin')),
            disabled boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            password_changed_at timestamptz NOT NULL DEFAULT now(),
            last_login_at timestamptz
        );
        CREATE UNIQUE INDEX users_email ON users (email);
        CREATE INDEX users_created ON users (created_at, id);

        CREATE TABLE refresh_tokens (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            family_id uuid NOT NULL,
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_hash char(64) NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            rotated_at timestamptz,
            revoked_at timestamptz,
            ip text,
            user_agent text
        );
        CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
        CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

        CREATE TABLE api_keys (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name text NOT NULL,
            prefix varchar(16) NOT NULL,
            key_hash char(64) NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at timestamptz
        );
        CREATE INDEX api_keys_user ON api_keys (user_id, created_at);

        CREATE TABLE login_throttle (
            key char(64) PRIMARY KEY,
            failures integer NOT NULL,
            locked_until timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE audit_log (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT now(),
            actor_id uuid,
            action varchar(64) NOT NULL,
            target text,
            ip text,
            user_agent text,
            request_id text,
            details jsonb NOT NULL DEFAULT '{}'::jsonb
        );
        CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
        CREATE INDEX audit_log_actor ON audit_log (actor_id, at DESC);
        CREATE INDEX audit_log_action ON audit_log (action, at DESC);

        CREATE TABLE watchlists (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name text NOT NULL,
            position integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (user_id, name)
        );
        CREATE TABLE watchlist_items (
            watchlist_id uuid NOT NULL REFERENCES watchlists(id) ON DELETE CASCADE,
            symbol varchar(16) NOT NULL,
            position integer NOT NULL,
            note text,
            added_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (watchlist_id, symbol)
        );

        CREATE TABLE portfolios (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (user_id, name)
        );
        CREATE TABLE portfolio_transactions (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            portfolio_id uuid NOT NULL REFERENCES portfolios(id) ON DELETE CASCADE,
            seq bigserial NOT NULL,
            kind varchar(8) NOT NULL CHECK (kind IN ('buy', 'sell', 'dividend', 'split')),
            symbol varchar(16) NOT NULL,
            date date NOT NULL,
            quantity numeric(20, 8) NOT NULL,
            price numeric(20, 8) NOT NULL,
            fees numeric(20, 8) NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX portfolio_transactions_order ON portfolio_transactions (portfolio_id, date, seq);

        CREATE TABLE alert_rules (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name text,
            type varchar(32) NOT NULL,
            symbol varchar(16),
            params jsonb NOT NULL,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX alert_rules_user ON alert_rules (user_id, created_at, id);

        CREATE TABLE notifications (
            id bigserial PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind varchar(32) NOT NULL,
            title text NOT NULL,
            body text,
            data jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            read_at timestamptz
        );
        CREATE INDEX notifications_user ON notifications (user_id, id DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS notifications, alert_rules, portfolio_transactions, portfolios, watchlist_items, "
        "watchlists, audit_log, login_throttle, api_keys, refresh_tokens, users CASCADE"
    )
