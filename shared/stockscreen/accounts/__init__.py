"""Accounts and authentication: passwords (argon2id), JWT access tokens, refresh-token families, API keys."""
