"""Latest quote per symbol, kept in Redis hashes ``quote:{SYMBOL}``.

Fields: ``symbol``, ``price``, ``change_pct``, ``volume``, ``ts`` (ISO 8601); optional fields
are left out of the hash when unknown. :func:`put_quotes` can also publish each quote as JSON
on the pub/sub channel ``quotes``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from stockscreen.core import resp
from stockscreen.core.clients import get_redis
from stockscreen.realtime.messages import Quote

QUOTES_CHANNEL = "quotes"

log = logging.getLogger(__name__)


def quote_key(symbol: str) -> str:
    return f"quote:{symbol.upper()}"


def _to_hash(q: Quote) -> Mapping[Any, str]:
    # (Any key: redis-py's hset wants a Mapping with a union key type, and Mapping keys are invariant)
    fields: dict[Any, str] = {"symbol": q.symbol.upper(), "price": repr(q.price), "ts": q.ts.isoformat()}
    if q.change_pct is not None:
        fields["change_pct"] = repr(q.change_pct)
    if q.volume is not None:
        fields["volume"] = str(q.volume)
    return fields


def put_quotes(quotes: Iterable[Quote], *, publish: bool = False, client: resp.Redis | None = None) -> int:
    """Store (replace) the latest quote of each symbol in one round trip; returns how many."""
    r = client if client is not None else get_redis()
    pipe = r.pipeline(transaction=False)
    n = 0
    for q in quotes:
        key = quote_key(q.symbol)
        pipe.delete(key)  # drop optional fields the new quote no longer has
        pipe.hset(key, mapping=_to_hash(q))
        if publish:
            pipe.publish(QUOTES_CHANNEL, q.model_copy(update={"symbol": q.symbol.upper()}).to_json())
        n += 1
    if n:
        pipe.execute()
    return n


def get_quotes(symbols: Iterable[str], *, client: resp.Redis | None = None) -> dict[str, Quote]:
    """The stored quote of each symbol that has one, keyed by uppercased symbol."""
    wanted = list(dict.fromkeys(s.upper() for s in symbols))
    if not wanted:
        return {}
    r = client if client is not None else get_redis()
    pipe = r.pipeline(transaction=False)
    for s in wanted:
        pipe.hgetall(quote_key(s))
    out: dict[str, Quote] = {}
    for symbol, data in zip(wanted, pipe.execute(), strict=True):
        if not data:
            continue
        try:
            out[symbol] = Quote.model_validate({**data, "symbol": symbol})
        except ValidationError as exc:
            log.warning("ignoring malformed quote hash %s: %s", quote_key(symbol), exc)
    return out
