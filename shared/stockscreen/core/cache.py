"""Redis response cache for public reads, keyed on the snapshot version so a new snapshot invalidates it.

Entries are JSON bodies plus their ETag. A ``scope`` is part of every key: ``public`` for data
that is the same for every caller, ``user:{id}`` for anything personal, so one user's entry is
never served to another. When Redis is unavailable the cache is bypassed (reads miss, writes drop).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from stockscreen.core import resp
from stockscreen.core.clients import get_redis
from stockscreen.core.observability import logger

SNAPSHOT_VERSION_KEY = "snapshot:version"


@dataclass(frozen=True)
class Entry:
    body: str
    etag: str


def etag_of(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def cache_key(scope: str, method: str, path: str, params: dict[str, str] | None, version: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
    digest = hashlib.sha256(f"{method} {path}?{query}".encode()).hexdigest()[:40]
    return f"resp:v{version}:{scope}:{digest}"


class ResponseCache:
    def __init__(self, client: resp.Redis | None = None) -> None:
        self._client = client

    @property
    def client(self) -> resp.Redis:
        return self._client if self._client is not None else get_redis()

    def lookup(
        self, scope: str, method: str, path: str, params: dict[str, str] | None, version: str | None = None
    ) -> tuple[str, Entry | None]:
        """The key to store under and the entry when there is one; ("", None) when Redis is down.
        ``version``: the current snapshot version if the caller has read it already."""
        try:
            if version is None:
                version = str(self.client.get(SNAPSHOT_VERSION_KEY) or "0")
            key = cache_key(scope, method, path, params, version)
            raw = self.client.get(key)
        except resp.RedisError as exc:
            logger.warning("response cache unavailable", extra={"error": type(exc).__name__})
            return "", None
        if raw is None:
            return key, None
        data = json.loads(raw)
        return key, Entry(body=data["b"], etag=data["e"])

    def store(self, key: str, body: Any, ttl_s: int) -> Entry:
        text = json.dumps(body, separators=(",", ":"), default=str)
        entry = Entry(body=text, etag=etag_of(text))
        if key:
            try:
                self.client.set(key, json.dumps({"b": entry.body, "e": entry.etag}), ex=ttl_s)
            except resp.RedisError as exc:
                logger.warning("response cache unavailable", extra={"error": type(exc).__name__})
        return entry
