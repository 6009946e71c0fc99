"""``POST /api/screens/run`` through the local HTTP server (devstack.gateway under uvicorn on a free
loopback port), 16 concurrent keep-alive clients for a bounded time, with and without the Redis
screen-result cache. Figures only (the local server is not the production path); the test asserts
zero errors and that the cached phase was served from the cache.

Data: the synthetic 10,000-security universe of ``test_bench_screener`` (the real 2018 snapshot
replicated with noise), installed as the current snapshot; the 10-clause screen, first page of 50.
``BENCH_SCREEN_HTTP_SECONDS`` sets the duration of each phase (default 30).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from stockscreen.screening import universe as U
from tests.bench.test_api_bench import _load, _pct, bench
from tests.bench.test_bench_screener import QUERY, demo, synthetic  # noqa: F401  (fixtures)
from tests.integration.authkit import PASSWORD, set_role

VERSION = 987655
CLIENTS = 16


def _seconds() -> float:
    return float(os.environ.get("BENCH_SCREEN_HTTP_SECONDS", "30"))


@pytest.fixture
def current_universe(synthetic: tuple[U.Universe, dict[str, Any]], stack_env: dict[str, str]) -> Iterator[U.Universe]:  # noqa: F811
    """The synthetic universe as the current snapshot (as the warm-handler bench installs it)."""
    u, _ = synthetic
    engine = create_engine(stack_env["DATABASE_URL"])
    with engine.begin() as conn:
        previous = [r[0] for r in conn.execute(text("SELECT version FROM snapshot_versions WHERE is_current"))]
        conn.execute(text("UPDATE snapshot_versions SET is_current = false"))
        conn.execute(
            text(
                "INSERT INTO snapshot_versions (version, as_of, is_current, row_count, created_at) "
                "VALUES (:v, :d, true, :n, now())"
            ),
            {"v": VERSION, "d": u.as_of, "n": u.n},
        )
        created = conn.execute(
            text("SELECT created_at FROM snapshot_versions WHERE version = :v"), {"v": VERSION}
        ).scalar_one()
    u.version = VERSION
    u.cache_key = f"{VERSION}@{created}"
    U._cached = u
    r = redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)
    old_version = r.get("snapshot:version")
    r.set("snapshot:version", str(VERSION))
    os.environ["RATE_LIMIT_MULTIPLIER"] = "1000"  # the limiter still runs on every request
    from stockscreen.accounts.settings import api_settings

    api_settings.cache_clear()
    try:
        yield u
    finally:
        os.environ.pop("RATE_LIMIT_MULTIPLIER", None)
        os.environ.pop("SCREEN_CACHE_TTL_S", None)
        api_settings.cache_clear()
        if old_version is None:
            r.delete("snapshot:version")
        else:
            r.set("snapshot:version", old_version)
        U.reset_cache()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM snapshot_versions WHERE version = :v"), {"v": VERSION})
            for v in previous:
                conn.execute(text("UPDATE snapshot_versions SET is_current = true WHERE version = :v"), {"v": v})
        engine.dispose()


def test_http_screens_run_16_clients(current_universe: U.Universe, tmp_path: Path, stack_env: dict[str, str]) -> None:
    database_url = stack_env["DATABASE_URL"]
    import uvicorn

    from devstack.gateway import create_app
    from devstack.lambdas import load_api, load_module
    from devstack.services import free_port

    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    asgi = create_app(load_api(), ws, tmp_path)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    base = f"http://127.0.0.1:{port}/api"
    url = f"{base}/screens/run"
    payload = json.dumps({"query": QUERY, "sort": "market_cap", "order": "desc", "limit": 50}).encode()
    headers: dict[str, str] = {"Content-Type": "application/json"}
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):  # the API's structured request logs
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            # the screen uses premium fields (atr_pct): a premium caller, signed in with a bearer token
            email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
            reg = httpx.post(f"{base}/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
            assert reg.status_code == 201, reg.text
            set_role(database_url, reg.json()["user"]["id"], "premium")
            headers["Authorization"] = f"Bearer {reg.json()['access_token']}"
            first = httpx.post(url, content=payload, headers=headers, timeout=60)
            assert first.status_code == 200, first.text
            assert first.json()["count"] > 50 and len(first.json()["data"]) == 50
            for mode, ttl in (("uncached", "0"), ("cached", "120")):
                os.environ["SCREEN_CACHE_TTL_S"] = ttl
                probe = [httpx.post(url, content=payload, headers=headers, timeout=60) for _ in range(2)]
                assert [p.json()["data"] for p in probe] == [first.json()["data"]] * 2
                assert probe[1].headers["X-Cache"] == ("HIT" if mode == "cached" else "MISS")
                lat, errors, wall = _load(
                    url, CLIENTS, 0, method="POST", payload=payload, duration_s=_seconds(), headers=headers
                )
                bench(f"screens_http_{mode}_p50", _pct(lat, 50), "ms")
                bench(f"screens_http_{mode}_p99", _pct(lat, 99), "ms")
                bench(f"screens_http_{mode}_rps", len(lat) / wall, "req/s")
                bench(f"screens_http_{mode}_errors", errors, "count")
                assert errors == 0 and len(lat) > CLIENTS
        finally:
            server.should_exit = True
            thread.join(timeout=10)
