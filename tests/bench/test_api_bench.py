"""API figures (BENCH lines, not pass/fail timing): cold import, warm handler p50/p99 with and without the
Redis response cache, and the local HTTP server under 16 concurrent clients.

Run with ``make bench``. Real data: the full 2018 constituents and fundamentals, the 8-symbol bar sample
loaded by the real ingest state machine, and live quotes for 50 symbols taken from the demo bars' last day.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
import pytest
import redis

from devstack.lambdas import load_api
from devstack.stepfunctions import IngestStateMachine
from tests.conftest import DEMO, FIXTURES, ROOT, truncate_all

BARS = "/securities/AAPL/bars"
BARS_QS = {"interval": "1d", "limit": "250"}


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.3f} {unit}", file=sys.__stdout__, flush=True)


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@pytest.fixture(scope="module")
def loaded(stack_env: dict[str, str]) -> Iterator[list[str]]:
    truncate_all(stack_env["DATABASE_URL"])
    paths = [
        str(DEMO / "sp500-constituents-2018-01-19.csv"),
        str(DEMO / "sp500-fundamentals-2018-02-08.csv"),
        str(FIXTURES / "bars-sample.csv.gz"),
    ]
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": paths}})
    assert result["status"] == "SUCCEEDED", result
    last: dict[str, dict[str, str]] = {}
    with gzip.open(DEMO / "sp500-daily-2013-2018.csv.gz", "rt") as f:
        for row in csv.DictReader(f):
            if row["date"] == "2018-02-07" and row["close"]:
                last[row["Name"]] = row
    symbols = sorted(last)[:50]
    r = redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)
    for s in symbols:
        row = last[s]
        r.hset(
            f"quote:{s}",
            mapping={"symbol": s, "price": row["close"], "volume": row["volume"], "ts": "2018-02-07T21:00:00+00:00"},
        )
    os.environ["RATE_LIMIT_MULTIPLIER"] = "1000"  # the limiter still runs on every request
    from stockscreen.accounts.settings import api_settings

    api_settings.cache_clear()
    yield symbols
    os.environ.pop("RATE_LIMIT_MULTIPLIER", None)
    api_settings.cache_clear()


_IMPORT = (
    "import sys, time; sys.path.insert(0, 'functions/api'); t = time.perf_counter(); "
    "{stmt}; print((time.perf_counter() - t) * 1000)"
)


def _fresh_ms(
    code: str, stdin: str | None = None, env: dict[str, str] | None = None, lines: list[str] | None = None
) -> float:
    """Run ``code`` in a fresh interpreter from the project root; it prints its own figure (ms) last.
    ``env``: variables to add; ``lines``: receives every line it printed.

    ``PYTHONDONTWRITEBYTECODE`` is dropped: the first run writes the project's bytecode, as a Lambda package
    built with its bytecode has it (site-packages, the floor, was compiled at install)."""
    child = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | (env or {})
    out = subprocess.run(
        [sys.executable, "-c", code], input=stdin, cwd=ROOT, env=child, capture_output=True, text=True, check=True
    )
    printed = out.stdout.strip().splitlines()
    if lines is not None:
        lines.extend(printed)
    return float(printed[-1])


def test_cold_import(stack_env: dict[str, str]) -> None:
    """Wall time of ``import app`` in a fresh interpreter, beside its floor measured in the same run.

    Floor: ``import chalice.app``, the framework the handler module cannot start without. The older peer
    (the data-access libraries most routes use) is kept for comparison with earlier runs. The runs are
    interleaved so that load from other processes falls on all three alike; the first run is not counted.
    """
    stmts = {
        "api_cold_import": "import app",
        "api_cold_import_floor": "import chalice.app",
        "peer_chalice_sqlalchemy_redis_boto3_import": "import chalice.app, sqlalchemy, redis, boto3, pydantic",
    }
    _fresh_ms(_IMPORT.format(stmt="import app"))
    runs: dict[str, list[float]] = {name: [] for name in stmts}
    for _ in range(7):
        for name, stmt in stmts.items():
            runs[name].append(_fresh_ms(_IMPORT.format(stmt=stmt)))
    medians = {name: statistics.median(samples) for name, samples in runs.items()}
    for name, value in medians.items():
        bench(name, value, "ms")
    bench("api_cold_import_over_floor", medians["api_cold_import"] - medians["api_cold_import_floor"], "ms")


def _event_factory(app: Any) -> Callable[[str, str, dict[str, str]], dict[str, Any]]:
    from chalice.config import Config
    from chalice.local import LocalGateway

    gw = LocalGateway(app, Config.create(chalice_app=app, app_name=app.app_name, chalice_stage="api"))

    def make(method: str, path: str, qs: dict[str, str]) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in qs.items())
        return dict(gw._generate_lambda_event(method, f"{path}?{query}" if query else path, {"host": "bench"}, None))

    return make


def _time_handler(app: Any, event: dict[str, Any], n: int, before: Callable[[], None] | None = None) -> list[float]:
    from chalice.local import LambdaContext

    ctx = LambdaContext("stockscreen-api", 512)
    samples = []
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):  # EMF lines; a Lambda writes them to CloudWatch Logs
        for _ in range(n):
            if before is not None:
                before()
            t = time.perf_counter()
            resp = app(dict(event), ctx)
            samples.append((time.perf_counter() - t) * 1000)
            assert resp["statusCode"] == 200, resp
            sink.seek(0)
            sink.truncate()
    return samples


_FIRST_REQUEST = """
import json, sys, time, types
sys.path.insert(0, "functions/api")
event = json.loads(sys.stdin.read())
ctx = types.SimpleNamespace(function_name="stockscreen-api", aws_request_id="bench", memory_limit_in_mb=512)
t, c = time.perf_counter(), time.process_time()
import app
resp = app.app(event, ctx)
ms, cpu = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
assert resp["statusCode"] == 200, resp
HEAVY = ("sqlalchemy", "boto3", "botocore.session", "pydantic_settings", "redis", "lark", "psycopg", "asyncio")
heavy = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps({"cpu": cpu, "heavy": heavy, "pydantic": "pydantic" in sys.modules}))
print(ms)
"""

#: the anonymous screen of the first request (fields of the 2018 fundamentals; a cache miss each run)
COLD_SCREEN = {"query": "market_cap > 2B and pe between 5 and 40", "sort": "market_cap", "order": "desc", "limit": 50}


def test_cold_first_request(loaded: list[str], stack_env: dict[str, str], tmp_path: Path) -> None:
    """What a cold Lambda spends before its first answer: ``import app`` plus the first request (settings,
    the signing key, the first database and Redis connections), each run in a fresh interpreter (a
    response-cache miss: the snapshot version moves before each run), interleaved with ``import app`` alone,
    the peer in the same run. Medians of the wall time and, beside it, of the CPU time (``_cpu``: what load
    from other processes on the machine does not inflate).

    ``screen``: an anonymous ``POST /screens/run``, the universe mapped from the snapshot artifact the
    first run downloaded into the cache directory; ``screen_empty_tmp``: the same in a new cache directory
    each run (a new Lambda execution environment: the artifact's files are downloaded from S3);
    ``screen_signed_in``: with a bearer token (the signing keys read from Secrets Manager, the caller's
    account read from the database); ``health_db_secret``: ``/health`` as deployed, with no DATABASE_URL but
    DATABASE_SECRET_ARN (the database's credentials read from moto's Secrets Manager first). Each run also
    reports the heavy packages it imported (expected: none but boto3 for ``screen_empty_tmp``; no psycopg
    nor asyncio: the one-row reads go through psycopg's libpq, ``stockscreen.db.libpq``) and whether it
    imported pydantic (not for ``/health``: it validates no body, and the settings are read without it; nor for
    the screens: a screen given as text is checked and parsed without it)."""
    from chalice.test import Client

    from tests.integration.authkit import make_user

    api = load_api()
    make = _event_factory(api)
    with Client(api) as client:
        token = make_user(client, stack_env["DATABASE_URL"]).token
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    db = psycopg.conninfo.conninfo_to_dict(stack_env["DATABASE_URL"].replace("+psycopg", ""))
    secret = {k: db[v] for k, v in (("host", "host"), ("port", "port"), ("username", "user"), ("dbname", "dbname"))}
    sm = boto3.client("secretsmanager", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    db_secret = sm.create_secret(
        Name=f"bench/db-{time.monotonic_ns()}", SecretString=json.dumps({**secret, "password": "unused by trust"})
    )["ARN"]
    env_of = {"health_db_secret": {"DATABASE_URL": "", "DATABASE_SECRET_ARN": db_secret, "DATABASE_SSLMODE": "prefer"}}

    def screen(headers: dict[str, str] | None = None) -> dict[str, Any]:
        event = make("POST", "/screens/run", {})
        event["headers"] = {**event["headers"], "content-type": "application/json", **(headers or {})}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        event["body"] = json.dumps(COLD_SCREEN)
        return event

    events: dict[str, tuple[dict[str, Any] | None, bool]] = {
        "import_only": (None, False),
        "health": (make("GET", "/health", {}), False),
        "health_db_secret": (make("GET", "/health", {}), False),
        "screen": (screen(), False),
        "screen_empty_tmp": (screen(), True),
        "screen_signed_in": (screen({"authorization": f"Bearer {token}"}), False),
        "bars": (make("GET", BARS, BARS_QS), False),
        "quotes50": (make("GET", "/quotes", {"symbols": ",".join(loaded)}), False),
    }
    heavy: dict[str, set[str]] = {name: set() for name in events}
    pydantic: set[str] = set()  # the runs that imported it

    def run(name: str) -> tuple[float, float]:
        event, empty_tmp = events[name]
        if event is None:
            return _fresh_ms(_IMPORT.format(stmt="import app")), math.nan
        r.incr("snapshot:version")
        extra = {"SNAPSHOT_CACHE_DIR": str(tmp_path / f"snapshots-{time.monotonic_ns()}")} if empty_tmp else {}
        extra |= env_of.get(name, {})
        lines: list[str] = []
        ms = _fresh_ms(_FIRST_REQUEST, json.dumps(event), env=extra, lines=lines)
        info = json.loads(lines[-2])
        heavy[name].update(info["heavy"])
        if info["pydantic"]:
            pydantic.add(name)
        return ms, float(info["cpu"])

    for name in events:  # not counted: writes the bytecode, downloads the artifact once
        run(name)
    heavy = {name: set() for name in events}
    pydantic.clear()
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in events}
    for _ in range(5):
        for name in events:
            runs[name].append(run(name))
    for name, samples in runs.items():
        bench(f"api_cold_first_request_{name}", statistics.median(ms for ms, _ in samples), "ms")
        if name != "import_only":
            bench(f"api_cold_first_request_{name}_cpu", statistics.median(cpu for _, cpu in samples), "ms")
            imported = sorted(heavy[name]) or "none of the heavy packages"
            print(f"api_cold_first_request_{name} imported: {imported}; pydantic: {name in pydantic}")
    sm.delete_secret(SecretId=db_secret, ForceDeleteWithoutRecovery=True)
    # nor does verifying a signed-in caller import SQLAlchemy (the screen route needs no engine either)
    assert not heavy["health"] and not heavy["screen"] and not heavy["screen_signed_in"], heavy
    assert not heavy["health_db_secret"], heavy
    # /health validates no body: the settings are read without pydantic (stockscreen.core.envsettings); nor does
    # a screen given as text (stockscreen.screening.engine.ScreenRequest.from_body, AST nodes of its own)
    assert not pydantic & {"health", "health_db_secret", "screen", "screen_empty_tmp", "screen_signed_in"}, pydantic


def test_warm_handler(loaded: list[str], stack_env: dict[str, str]) -> None:
    app = load_api()
    make = _event_factory(app)
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    bars = make("GET", BARS, BARS_QS)
    quotes = make("GET", "/quotes", {"symbols": ",".join(loaded)})
    _time_handler(app, bars, 50)  # warm up: connections, caches, code paths

    def new_version() -> None:
        r.incr("snapshot:version")

    for name, event, before in (
        ("bars_cached", bars, None),
        ("bars_uncached", bars, new_version),
    ):
        s = _time_handler(app, event, 500, before)
        bench(f"warm_handler_{name}_p50", _pct(s, 50), "ms")
        bench(f"warm_handler_{name}_p99", _pct(s, 99), "ms")
    s = _time_handler(app, quotes, 500)
    bench("warm_handler_quotes50_live_p50", _pct(s, 50), "ms")
    bench("warm_handler_quotes50_live_p99", _pct(s, 99), "ms")
    saved = {k: r.hgetall(k) for k in r.scan_iter("quote:*")}
    r.delete(*saved)
    try:
        s = _time_handler(app, quotes, 500)
        bench("warm_handler_quotes50_snapshot_p50", _pct(s, 50), "ms")
        bench("warm_handler_quotes50_snapshot_p99", _pct(s, 99), "ms")
    finally:
        for k, v in saved.items():
            r.hset(k, mapping=v)


def test_http_loopback_16_clients(loaded: list[str], stack_env: dict[str, str], tmp_path: Path) -> None:
    import uvicorn

    from devstack.gateway import create_app
    from devstack.lambdas import load_module
    from devstack.services import free_port

    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    asgi = create_app(load_api(), ws, tmp_path)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        thread.start()
        while not server.started:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}/api"
        try:
            for name, url in (
                ("bars", f"{base}{BARS}?interval=1d&limit=250"),
                ("quotes50", f"{base}/quotes?symbols={','.join(loaded)}"),
            ):
                lat, errors, wall = _load(url, clients=16, per_client=100)
                bench(f"http16_{name}_p50", _pct(lat, 50), "ms")
                bench(f"http16_{name}_p99", _pct(lat, 99), "ms")
                bench(f"http16_{name}_rps", len(lat) / wall, "req/s")
                bench(f"http16_{name}_errors", errors, "count")
                assert errors == 0
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def _load(
    url: str,
    clients: int,
    per_client: int,
    *,
    method: str = "GET",
    payload: bytes | None = None,
    duration_s: float | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[list[float], int, float]:
    """``clients`` keep-alive clients, each sending ``per_client`` requests (or, with ``duration_s``, as
    many as fit in that time); latencies in ms, the count of non-200 answers, and the wall time."""
    lat: list[float] = []
    errors = 0
    lock = threading.Lock()
    headers = {**({"Content-Type": "application/json"} if payload is not None else {}), **(headers or {})}

    def worker() -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as c:
            c.request(method, url, content=payload, headers=headers)  # connect
            deadline = time.perf_counter() + duration_s if duration_s is not None else None
            n = 0
            while (n < per_client) if deadline is None else (time.perf_counter() < deadline):
                n += 1
                t = time.perf_counter()
                resp = c.request(method, url, content=payload, headers=headers)
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    lat.append(ms)
                    if resp.status_code != 200:
                        errors += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors, time.perf_counter() - t0
