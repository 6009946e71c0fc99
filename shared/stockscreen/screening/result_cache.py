"""Redis cache for screen results (``POST /screens/run`` and saved/shared screen runs).

Key: the snapshot version, the caller's field-access level and a canonical hash of the validated
request (the condition in canonical text form, sort, order, columns, page, as-of, explain), so the
same screen written as text, as an AST or with different spacing shares one entry, a new snapshot
invalidates every entry, and a free caller never receives an entry computed for premium access.
Nothing personal is in a key or an entry: results depend only on the request and the snapshot.
When Redis is unavailable the result is computed and returned uncached.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any, Literal

from stockscreen.core import policy, resp
from stockscreen.core.cache import SNAPSHOT_VERSION_KEY
from stockscreen.core.clients import get_redis
from stockscreen.core.observability import logger
from stockscreen.screening import ast as A
from stockscreen.screening.language import to_text

SCREEN_CACHE_TTL_S = 120
CacheStatus = Literal["HIT", "MISS", "BYPASS"]


def access_level(role: str) -> str:
    """The field-access level the result was computed under ("basic" or "all")."""
    return policy.quota(role if role in policy.QUOTAS else policy.ANONYMOUS).fields


def canonical_request(
    condition: A.CondNode | None,
    *,
    sort: str,
    order: str,
    columns: list[str] | None,
    limit: int,
    offset: int,
    as_of: str | None,
    explain: bool,
) -> str:
    """A stable text form of a validated screen request (what the cache key hashes)."""
    return json.dumps(
        {
            "q": to_text(condition),
            "s": sort,
            "o": order,
            "c": list(columns) if columns is not None else None,
            "l": limit,
            "f": offset,
            "a": as_of,
            "e": explain,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def screen_key(version: str, level: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:40]
    return f"screen:v{version}:{level}:{digest}"


def configured_ttl() -> int:
    """``SCREEN_CACHE_TTL_S`` (seconds, 0 turns the cache off; at most 300), default 120."""
    raw = os.environ.get("SCREEN_CACHE_TTL_S", "")
    try:
        value = int(raw) if raw.strip() else SCREEN_CACHE_TTL_S
    except ValueError:
        logger.warning("ignoring a malformed SCREEN_CACHE_TTL_S", extra={"value": raw[:20]})
        value = SCREEN_CACHE_TTL_S
    return max(0, min(300, value))


class ScreenResultCache:
    def __init__(self, client: resp.Redis | None = None, ttl_s: int | None = None) -> None:
        self._client = client
        self._ttl_s = ttl_s

    @property
    def ttl_s(self) -> int:
        return self._ttl_s if self._ttl_s is not None else configured_ttl()

    @property
    def client(self) -> resp.Redis:
        return self._client if self._client is not None else get_redis()

    def get_or_compute(
        self, level: str, canonical: str, compute: Callable[[], dict[str, Any]], version: str | None = None
    ) -> tuple[str, CacheStatus]:
        """The result as JSON text: the cached entry as stored (a hit is one GET, nothing re-encoded), or
        ``compute()`` encoded and stored for ``ttl_s``; BYPASS when Redis is down or the TTL is 0.

        ``version``: the current snapshot version when the caller has already read it (this request,
        along with its rate-limit check); otherwise it is read here."""
        ttl = self.ttl_s
        if ttl <= 0:
            return _encode(compute()), "BYPASS"
        try:
            if version is None:
                version = _text(self.client.get(SNAPSHOT_VERSION_KEY)) or "0"
            key = screen_key(version, level, canonical)
            raw = self.client.get(key)
        except resp.RedisError as exc:
            logger.warning("screen result cache unavailable", extra={"error": type(exc).__name__})
            return _encode(compute()), "BYPASS"
        if raw is not None:
            return _text(raw), "HIT"
        text = _encode(compute())
        try:
            self.client.set(key, text, ex=ttl)
        except resp.RedisError as exc:
            logger.warning("screen result cache unavailable", extra={"error": type(exc).__name__})
            return text, "BYPASS"
        return text, "MISS"


def _text(value: Any) -> str:
    """A Redis reply as text (the shared client decodes replies; another client may not)."""
    return value.decode() if isinstance(value, bytes) else "" if value is None else str(value)


def _encode(result: dict[str, Any]) -> str:
    """The response body (compact, as Chalice encodes a dict body)."""
    return json.dumps(result, separators=(",", ":"), default=str)


_CACHE = ScreenResultCache()


def run_cached(
    engine: Any, req: Any, role: str, cache: ScreenResultCache | None = None, version: str | None = None
) -> tuple[str, CacheStatus]:
    """Validate ``req`` (a ScreenRequest) for ``role`` and run it through the result cache: the
    ScreenResult as JSON text (the response body).

    ``engine``: the SQLAlchemy engine, or None for the process's database (built only if the universe
    must be loaded from PostgreSQL: see :func:`~stockscreen.screening.universe.get_universe`).
    Bad queries raise Invalid (400 with the position) and premium fields for a free caller raise
    Forbidden (403) before the cache is consulted, so an error is never cached. ``version``: the
    snapshot version if the caller has read it already.
    """
    from stockscreen.screening.access import fields_in, require_fields
    from stockscreen.screening.engine import run_screen

    condition = req.condition()
    require_fields(role, fields_in(condition, req.sort, req.columns or ()))
    canonical = canonical_request(
        condition,
        sort=req.sort,
        order=req.order,
        columns=req.columns,
        limit=req.limit,
        offset=req.offset,
        as_of=req.as_of.isoformat() if req.as_of is not None else None,
        explain=req.explain,
    )
    return (cache or _CACHE).get_or_compute(
        access_level(role), canonical, lambda: run_screen(engine, req).to_json(), version
    )
