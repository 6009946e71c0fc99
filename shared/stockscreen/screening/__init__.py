"""The screener: field catalogue, filters and the engine."""
