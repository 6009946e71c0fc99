"""The live quote store (Redis hashes ``quote:{SYMBOL}``, written by the realtime feed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from stockscreen.core import resp
from stockscreen.core.observability import logger
from stockscreen.realtime.messages import Quote
from stockscreen.realtime.quotes import get_quotes


class LiveQuotes(Protocol):
    def get(self, symbols: Iterable[str]) -> dict[str, Quote]:
        """The live quote of each symbol that has one, by uppercased symbol."""
        ...


class RedisLiveQuotes:
    """Live quotes from Redis (the process's client, looked up on each call). Redis being down degrades to
    no live quotes (callers fall back to the snapshot), never to an error."""

    def get(self, symbols: Iterable[str]) -> dict[str, Quote]:
        try:
            return get_quotes(symbols)
        except resp.RedisError as exc:
            logger.warning("live quotes unavailable", extra={"error": type(exc).__name__})
            return {}
