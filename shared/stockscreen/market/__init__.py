"""Market data: providers (where bars come from) and repositories (how they are read)."""
