"""Watchlists: named, ordered lists of symbols per user."""
