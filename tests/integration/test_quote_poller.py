"""The quote poller on real PostgreSQL and Redis, fetching from a local Stooq-like server with faults."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis

from stockscreen.core.clients import reset_clients
from stockscreen.db.engine import get_engine
from stockscreen.realtime.connections import connection_registry
from stockscreen.realtime.messages import QuoteBatch
from stockscreen.realtime.poller import Demand, DemandSource, QuotePoller, build_poller, run_scheduled
from stockscreen.realtime.quotes import get_quotes, put_quotes
from stockscreen.realtime.repository import IntradayRepository
from stockscreen.realtime.sources import RateLimiter, StooqQuotes
from tests.quotes_server import FakeStooqQuotes

SYMBOLS = ["AAPL", "JPM", "MSFT", "XOM"]


def _plain(url: str) -> str:
    return url.replace("+psycopg", "")


def _bars(url: str) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(_plain(url)) as conn:
        rows = conn.execute("SELECT symbol, open, high, low, close, volume, day_volume FROM intraday_bars").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.fixture
def env(stack_env: dict[str, str]) -> Iterator[dict[str, str]]:
    reset_clients()
    with psycopg.connect(_plain(stack_env["DATABASE_URL"]), autocommit=True) as conn:
        conn.execute("TRUNCATE intraday_bars")
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    for key in r.scan_iter("quote:*"):
        r.delete(key)
    for key in r.scan_iter("ws:*"):
        r.delete(key)
    IntradayRepository(get_engine()).prepare()
    yield stack_env
    reset_clients()


@pytest.fixture
def fake() -> Iterator[FakeStooqQuotes]:
    server = FakeStooqQuotes()
    server.stamp = dt.datetime.now(dt.UTC)  # the recorded rows, as quotes of this minute
    yield server
    server.close()


def _poller(fake: FakeStooqQuotes, batches: list[QuoteBatch], **kw: Any) -> QuotePoller:
    registry = connection_registry()
    conn = f"c-{uuid.uuid4().hex[:8]}"
    registry.register(conn)
    registry.subscribe(conn, [*SYMBOLS, "AOS"])
    source = StooqQuotes(
        fake.url, timeout=0.3, attempts=2, per_request=2, limiter=kw.pop("limiter", RateLimiter(6000, 100))
    )
    return QuotePoller(
        source,
        Demand([DemandSource("subscriptions", registry.subscribed_symbols)]),
        latest=put_quotes,
        bars=IntradayRepository(get_engine()),
        consumers=[batches.append],
        prev_closes=lambda symbols, day: {"AAPL": 160.0},
        market_hours=False,
        **kw,
    )


def test_a_poll_lands_in_redis_and_the_minute_bars_and_publishes_one_batch(
    env: dict[str, str], fake: FakeStooqQuotes
) -> None:
    batches: list[QuoteBatch] = []
    report = _poller(fake, batches).poll_once()
    assert report.fetched == 4 and list(report.failed) == ["AOS"]
    assert sorted(get_quotes([*SYMBOLS, "AOS"])) == SYMBOLS
    assert get_quotes(["AAPL"])["AAPL"].change_pct == pytest.approx(-0.29)  # 159.54 against 160
    bars = _bars(env["DATABASE_URL"])
    assert bars["XOM"] == (76.94, 76.94, 76.94, 76.94, 21_994_450, 21_994_450)
    (batch,) = batches
    assert sorted(q.symbol for q in batch.quotes) == SYMBOLS and batch.source == "stooq"


def test_the_minute_bar_moves_with_later_quotes_and_counts_the_volume_traded_in_it(
    env: dict[str, str], fake: FakeStooqQuotes
) -> None:
    now = dt.datetime.now(dt.UTC).replace(hour=15, minute=1, second=5, microsecond=0)  # today's partition
    repo = IntradayRepository(get_engine())
    from stockscreen.realtime.sources import IntradayQuote

    repo.write([IntradayQuote("ZZZ", 10.0, now - dt.timedelta(minutes=1), volume=1000)])
    repo.write([IntradayQuote("ZZZ", 11.0, now, volume=1500)])
    repo.write([IntradayQuote("ZZZ", 9.5, now + dt.timedelta(seconds=20), volume=1700)])
    repo.write([IntradayQuote("ZZZ", 10.5, now + dt.timedelta(seconds=40), volume=1800)])
    first, last = repo.minute_bars("ZZZ", now - dt.timedelta(minutes=5), now + dt.timedelta(minutes=5))
    assert (last["open"], last["high"], last["low"], last["close"]) == (11.0, 11.0, 9.5, 10.5)
    assert first["volume"] == 1000  # the day's first bar: all the volume traded so far
    assert last["volume"] == 800  # 1800 - 1000: traded within the minute


def test_provider_timeout_fails_only_that_request_and_the_rest_is_written(
    env: dict[str, str], fake: FakeStooqQuotes
) -> None:
    fake.slow.add("jpm.us")  # the request of JPM and MSFT times out (twice); AOS is N/D
    batches: list[QuoteBatch] = []
    report = _poller(fake, batches).poll_once()
    assert set(report.failed) == {"AOS", "JPM", "MSFT"} and "timed out" in report.failed["MSFT"]
    assert fake.requests.count(["jpm.us", "msft.us"]) == 2
    assert sorted(get_quotes(SYMBOLS)) == ["AAPL", "XOM"]
    assert sorted(_bars(env["DATABASE_URL"])) == ["AAPL", "XOM"]
    assert sorted(q.symbol for q in batches[0].quotes) == ["AAPL", "XOM"]


def test_partial_batch_and_a_garbled_row_fail_only_their_symbols(env: dict[str, str], fake: FakeStooqQuotes) -> None:
    fake.dropped.add("msft.us")
    fake.garbled.add("xom.us")
    batches: list[QuoteBatch] = []
    report = _poller(fake, batches).poll_once()
    assert report.failed["MSFT"] == "missing from stooq's answer"
    assert "malformed stooq row" in report.failed["XOM"]
    assert sorted(get_quotes(SYMBOLS)) == ["AAPL", "JPM"]
    assert sorted(q.symbol for q in batches[0].quotes) == ["AAPL", "JPM"]


def test_rate_limit_defers_symbols_to_the_next_poll_and_the_loop_slows_down(
    env: dict[str, str], fake: FakeStooqQuotes
) -> None:
    fake.rate_limit_after = 1
    fake.retry_after = "1.5"  # longer than the poll's own writes and demand read (a DynamoDB Query) take
    batches: list[QuoteBatch] = []
    poller = _poller(fake, batches, interval=0.05)
    first = poller.poll_once(deadline=time.monotonic() + 5)
    assert first.fetched == 1 and first.deferred == ["JPM", "MSFT", "XOM"]  # AAPL (and N/D AOS) came first
    fake.rate_limit_after = None
    second = poller.poll_once(deadline=time.monotonic() + 5)
    assert sorted(q.symbol for q in batches[1].quotes) == ["JPM", "MSFT", "XOM"]  # the deferred ones first
    assert second.deferred == [] and second.fetch_s >= 0.5  # it waited out the provider's Retry-After
    assert fake.requests[2][:2] == ["jpm.us", "msft.us"]
    assert sorted(get_quotes(SYMBOLS)) == SYMBOLS


def test_intraday_retention_drops_old_partitions_only(env: dict[str, str]) -> None:
    url = _plain(env["DATABASE_URL"])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS intraday_bars_p20200102 PARTITION OF intraday_bars "
            "FOR VALUES FROM ('2020-01-02 00:00+00') TO ('2020-01-03 00:00+00')"
        )
    repo = IntradayRepository(get_engine())
    assert repo.apply_retention() == 1
    assert repo.prepare() == 0  # yesterday, today and tomorrow exist already
    with psycopg.connect(url) as conn:
        parts = {
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'intraday_bars'::regclass"
            )
        }
    today = dt.datetime.now(dt.UTC).date()
    assert "intraday_bars_p20200102" not in parts
    assert {f"intraday_bars_p{(today + dt.timedelta(days=d)):%Y%m%d}" for d in (-1, 0, 1)} <= parts


def test_a_scheduled_run_does_nothing_while_the_market_is_closed(
    env: dict[str, str], fake: FakeStooqQuotes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WS_MANAGEMENT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("STOOQ_QUOTES_URL", fake.url)
    reset_clients()
    poller = build_poller()
    saturday = dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC)
    assert run_scheduled(poller, time.monotonic() + 5, now=saturday) == {
        "polls": 0,
        "skipped": ["market closed: weekend"],
    }
    assert fake.requests == []


@pytest.mark.sample_data
def test_make_dev_runs_the_same_poller_with_the_replay_provider(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.authkit import load_sample

    load_sample(stack_env)
    monkeypatch.setenv("WS_MANAGEMENT_URL", "http://127.0.0.1:9")  # nobody is connected: no post is made
    monkeypatch.setenv("QUOTE_PROVIDER", "replay")
    reset_clients()
    registry = connection_registry()
    registry.register("dev-conn")
    registry.subscribe("dev-conn", ["AAPL", "NOPE"])
    poller = build_poller()
    assert poller.source.name == "replay" and not poller.market_hours
    got: list[QuoteBatch] = []
    poller.consumers = [got.append]
    summary = run_scheduled(poller, time.monotonic() + 0.5, now=dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC))
    assert summary["polls"] >= 1 and summary["fetched"] >= 1 and summary["failed"] >= 1  # NOPE has no bars
    aapl = get_quotes(["AAPL"])["AAPL"]
    assert aapl.change_pct is not None and 150 < aapl.price < 170  # within the sample's last AAPL session
    assert "AAPL" in _bars(stack_env["DATABASE_URL"])
    assert got and got[0].source == "replay"

    # make dev starts this very poller on a thread, FEED_INTERVAL apart
    import threading

    from devstack import dev

    monkeypatch.delenv("QUOTE_PROVIDER")
    monkeypatch.setenv("QUOTE_POLL_SECONDS", "0")  # (recorded, so that what dev sets is undone after the test)
    monkeypatch.delenv("QUOTE_POLL_SECONDS")
    monkeypatch.setenv("FEED_INTERVAL", "0.2")
    reset_clients()
    stop = threading.Event()
    try:
        poller = dev.start_quote_poller(stop)
        assert poller.source.name == "replay" and poller.interval == 0.2
        before = get_quotes(["AAPL"])["AAPL"].ts
        deadline = time.monotonic() + 5
        while get_quotes(["AAPL"])["AAPL"].ts == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert get_quotes(["AAPL"])["AAPL"].ts > before  # the dev thread keeps the price moving
    finally:
        stop.set()
        registry.unregister("dev-conn")


def test_watchlists_of_recently_active_users_are_in_demand(env: dict[str, str]) -> None:
    from stockscreen.watchlists.service import WatchlistService

    url = _plain(env["DATABASE_URL"])
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(url, autocommit=True) as conn:
        for who, login, symbol in (("active", "now()", "QQA"), ("idle", "now() - interval '30 days'", "QQB")):
            uid = conn.execute(
                f"INSERT INTO users (email, password_hash, last_login_at) VALUES (%s, 'x', {login}) RETURNING id",
                (f"{who}-{tag}@example.com",),
            ).fetchone()[0]  # type: ignore[index]
            wl = conn.execute(
                "INSERT INTO watchlists (user_id, name, position) VALUES (%s, 'w', 0) RETURNING id", (uid,)
            ).fetchone()[0]  # type: ignore[index]
            conn.execute(
                "INSERT INTO watchlist_items (watchlist_id, symbol, position) VALUES (%s, %s, 0)", (wl, symbol)
            )
    try:
        symbols = WatchlistService.from_engine(get_engine()).symbols_of_active_users(7)
        assert "QQA" in symbols and "QQB" not in symbols
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM users WHERE email LIKE %s", (f"%-{tag}@example.com",))


def test_0010_creates_the_partitioned_intraday_table_and_downgrades_cleanly(pg_server_url: str) -> None:
    from stockscreen.db.migrate import downgrade, upgrade

    name = f"stockscreen_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server_url.rsplit("/", 1)[0] + f"/{name}"
    functions = "SELECT count(*) FROM pg_proc WHERE proname IN ('intraday_bars_prepare', 'intraday_bars_retention')"
    try:
        upgrade(url, "0010_intraday_bars")
        with psycopg.connect(_plain(url)) as conn:
            assert conn.execute("SELECT relkind FROM pg_class WHERE relname = 'intraday_bars'").fetchone() == ("p",)
            assert conn.execute(functions).fetchone() == (2,)
            n_parts = conn.execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'intraday_bars'::regclass"
            ).fetchone()
            assert n_parts == (3,)  # yesterday, today, tomorrow (UTC)
        downgrade(url, "0009_alert_state")
        with psycopg.connect(_plain(url)) as conn:
            assert conn.execute("SELECT to_regclass('intraday_bars')").fetchone() == (None,)
            assert conn.execute(functions).fetchone() == (0,)
    finally:
        with psycopg.connect(_plain(pg_server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_lambda_handler_polls_until_its_run_ends_and_returns_a_summary(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from devstack.lambdas import LocalContext, load_module

    monkeypatch.setenv("WS_MANAGEMENT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("QUOTE_PROVIDER", "replay")  # no market hours: the handler polls at any time of day
    monkeypatch.setenv("QUOTE_RUN_SECONDS", "0.35")
    monkeypatch.setenv("QUOTE_POLL_SECONDS", "0.1")
    reset_clients()
    handlers = load_module("functions/quotes/handlers.py", "stockscreen_quotes_handlers")
    handlers.poller.cache_clear()
    registry = connection_registry()
    conn = f"c-{uuid.uuid4().hex[:8]}"
    registry.register(conn)
    open_now = registry.open_connections()
    summary = handlers.poll({"source": "aws.events"}, LocalContext("stockscreen-quotes"))
    registry.unregister(conn)
    handlers.poller.cache_clear()
    # the minute's gauge of open WebSocket connections, in the EMF document the handler flushed
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [doc["WsConnections"] for doc in emf if "WsConnections" in doc] == [[float(open_now)]]
    # the run ends by itself after a few polls; whatever the demand left by other tests, nothing failed
    assert 2 <= summary["polls"] <= 5 and summary["failed"] == 0 and summary["errors"] == []
    assert summary["skipped"] in ([], ["no demand"]) and summary["published"] <= summary["fetched"]
    assert summary["partitions_dropped"] == 0
