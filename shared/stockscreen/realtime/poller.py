"""The live quote poller: one loop, in production (functions/quotes, every minute) and in ``make dev``.

Each poll, while the market is open:

1. **Demand**: the symbols somebody needs (:class:`Demand`): open WebSocket subscriptions,
   watchlists of recently active users, and (a hook) armed alerts.
2. **Fetch** them from the :class:`~stockscreen.realtime.sources.QuoteSource` within the run's
   deadline and the provider's rate limit; timeouts and partial answers fail only their symbols,
   and symbols the rate limit deferred go first in the next poll.
3. **Write**: the latest quote of each changed symbol to Redis (``quote:{SYMBOL}``) and the
   minute bar of each quote to ``intraday_bars``.
4. **Publish** one :class:`~stockscreen.realtime.messages.QuoteBatch` (the changed quotes) to the
   consumers, in process: the broadcaster's fan-out and the alert evaluator. One consumer failing
   neither stops the others nor the loop.

A failure of one step is logged and counted in the poll's :class:`PollReport`; the loop goes on.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from stockscreen.core import correlation
from stockscreen.core.observability import logger, subsegment
from stockscreen.market.calendar import market_closed_reason
from stockscreen.realtime.broadcaster import Broadcaster
from stockscreen.realtime.connections import Registry, connection_registry
from stockscreen.realtime.messages import Quote, QuoteBatch
from stockscreen.realtime.sources import IntradayQuote, QuoteSource

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from stockscreen.core.config import QuoteSettings

#: A consumer of published quote batches (the broadcaster's fan-out, the alert evaluator).
QuoteConsumer = Callable[[QuoteBatch], object]


class MinuteBars(Protocol):
    """Where one-minute bars go (:class:`stockscreen.realtime.repository.IntradayRepository`)."""

    def write(self, quotes: Sequence[IntradayQuote]) -> int: ...


# --- demand -----------------------------------------------------------------------------------


@dataclass
class DemandSource:
    """One reason to poll a symbol; re-read at most every ``ttl`` seconds (0: every poll)."""

    name: str
    read: Callable[[], Iterable[str]]
    ttl: float = 0.0
    symbols: set[str] = field(default_factory=set)
    read_at: float | None = None


class Demand:
    """The union of its sources' symbols. A source that fails keeps its last known symbols."""

    def __init__(
        self, sources: Sequence[DemandSource], *, max_symbols: int = 2000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.sources = list(sources)
        self.max_symbols = max_symbols
        self._clock = clock

    def symbols(self) -> list[str]:
        now = self._clock()
        wanted: set[str] = set()
        for src in self.sources:
            if src.read_at is None or now - src.read_at >= src.ttl:
                try:
                    src.symbols = {s.upper() for s in src.read()}
                    src.read_at = now
                except Exception:  # one demand source down must not stop the quotes of the others
                    logger.exception("quote demand source failed", extra={"demand": src.name})
            wanted |= src.symbols
        ordered = sorted(wanted)
        if len(ordered) > self.max_symbols:
            logger.warning("quote demand above the limit", extra={"wanted": len(ordered), "limit": self.max_symbols})
        return ordered[: self.max_symbols]


# --- the poller -------------------------------------------------------------------------------


@dataclass
class PollReport:
    asof: dt.datetime
    #: why nothing was polled ("market closed: weekend", "no demand"), else None
    skipped: str | None = None
    batch_id: str | None = None
    wanted: int = 0
    fetched: int = 0
    published: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    deferred: list[str] = field(default_factory=list)
    requests: int = 0
    #: steps that failed this poll: "redis", "bars", "consumer:<name>"
    errors: list[str] = field(default_factory=list)
    fetch_s: float = 0.0
    redis_s: float = 0.0
    db_s: float = 0.0
    publish_s: float = 0.0


def _name(consumer: QuoteConsumer) -> str:
    return getattr(consumer, "__qualname__", None) or type(consumer).__name__


class QuotePoller:
    def __init__(
        self,
        source: QuoteSource,
        demand: Demand,
        *,
        latest: Callable[[list[Quote]], object],
        bars: MinuteBars | None,
        consumers: Sequence[QuoteConsumer] = (),
        prev_closes: Callable[[list[str], dt.date], Mapping[str, float | None]] | None = None,
        interval: float = 5.0,
        market_hours: bool = True,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.source = source
        self.demand = demand
        self.latest = latest
        self.bars = bars
        self.consumers = list(consumers)
        self.prev_closes = prev_closes
        self.interval = interval
        self.market_hours = market_hours
        self._clock = clock
        self._now = now
        self._last: dict[str, tuple[float, int | None]] = {}
        self._priority: list[str] = []
        self._prev: dict[tuple[str, dt.date], float | None] = {}

    # -- one poll ------------------------------------------------------------------------------

    def _order(self, symbols: list[str]) -> list[str]:
        """Symbols the rate limit deferred last time go first (no symbol starves)."""
        wanted = set(symbols)
        first = [s for s in self._priority if s in wanted]
        seen = set(first)
        return first + [s for s in symbols if s not in seen]

    def _with_prev_close(self, quotes: list[IntradayQuote]) -> list[IntradayQuote]:
        if self.prev_closes is None:
            return quotes
        need: dict[dt.date, list[str]] = {}
        for q in quotes:
            day = q.ts.date()
            if q.prev_close is None and (q.symbol, day) not in self._prev:
                need.setdefault(day, []).append(q.symbol)
        for day, symbols in need.items():
            try:
                found = self.prev_closes(symbols, day)
            except SQLAlchemyError:
                logger.exception("previous closes unavailable")
                continue
            for s in symbols:
                self._prev[(s, day)] = found.get(s)
        out = []
        for q in quotes:
            prev = self._prev.get((q.symbol, q.ts.date()))
            if q.prev_close is None and prev is not None:
                q = IntradayQuote(q.symbol, q.price, q.ts, q.open, q.high, q.low, q.volume, prev)
            out.append(q)
        return out

    def poll_once(self, deadline: float | None = None) -> PollReport:
        """One poll under the bound correlation id (the schedule tick's, in Lambda), else a new one: its
        batch's WebSocket frames and the alerts it fires carry it."""
        with (
            correlation.bound(correlation.current() or correlation.new_id()) as cid,
            subsegment("quote-poll", task="quote-poll", correlation_id=cid),
        ):
            return self._poll_once(deadline)

    def _poll_once(self, deadline: float | None) -> PollReport:
        now = self._now()
        report = PollReport(asof=now)
        if self.market_hours:
            closed = market_closed_reason(now)
            if closed is not None:
                report.skipped = f"market closed: {closed}"
                return report
        symbols = self.demand.symbols()
        report.wanted = len(symbols)
        if not symbols:
            report.skipped = "no demand"
            return report

        t0 = self._clock()
        result = self.source.fetch(self._order(symbols), deadline)
        report.fetch_s = self._clock() - t0
        report.failed, report.deferred, report.requests = result.failed, result.deferred, result.requests
        self._priority = list(result.deferred)
        by_symbol = {q.symbol: q for q in result.quotes}  # at most one quote per symbol
        quotes = self._with_prev_close(list(by_symbol.values()))
        report.fetched = len(quotes)
        changed = [q for q in quotes if self._last.get(q.symbol) != (q.price, q.volume)]
        wire = [q.to_quote() for q in changed]

        t0 = self._clock()
        try:
            if wire:
                self.latest(wire)
        except Exception:  # Redis down: the bars and the consumers still get the batch
            logger.exception("writing latest quotes failed")
            report.errors.append("redis")
        report.redis_s = self._clock() - t0

        t0 = self._clock()
        if self.bars is not None:
            fresh = [q for q in quotes if q.ts >= now - dt.timedelta(days=1)]  # a stale quote makes no bar
            try:
                self.bars.write(fresh)
            except SQLAlchemyError:
                logger.exception("writing minute bars failed")
                report.errors.append("bars")
        report.db_s = self._clock() - t0

        for q in changed:
            self._last[q.symbol] = (q.price, q.volume)
        if wire:
            batch = QuoteBatch(
                batch_id=f"{self.source.name}-{uuid.uuid4().hex[:16]}", source=self.source.name, asof=now, quotes=wire
            )
            report.batch_id = batch.batch_id
            report.published = len(wire)
            t0 = self._clock()
            for consumer in self.consumers:
                try:
                    consumer(batch)
                except Exception:  # consumers are independent: the others still get the batch
                    logger.exception("quote consumer failed", extra={"consumer": _name(consumer)})
                    report.errors.append(f"consumer:{_name(consumer)}")
            report.publish_s = self._clock() - t0
        if report.failed or report.deferred or report.errors:
            logger.warning(
                "quote poll incomplete",
                extra={
                    "fetched": report.fetched,
                    "failed": len(report.failed),
                    "deferred": len(report.deferred),
                    "errors": report.errors,
                    "sample": dict(list(report.failed.items())[:5]),
                },
            )
        return report

    # -- the loop ------------------------------------------------------------------------------

    def run(self, deadline: float | None = None, stop: threading.Event | None = None) -> list[PollReport]:
        """Poll every ``interval`` seconds (longer when the rate limit needs it) until ``deadline``
        (a ``clock()`` value), ``stop`` is set, or the market is closed."""
        reports: list[PollReport] = []
        stop = stop or threading.Event()
        while not stop.is_set():
            started = self._clock()
            try:
                report = self.poll_once(deadline)
            except Exception:  # never let one poll take the loop down (the next one may work)
                logger.exception("quote poll failed")
                report = PollReport(asof=self._now(), skipped="error")
            reports.append(report)
            if report.skipped and report.skipped.startswith("market closed"):
                break
            pace = max(self.interval, self.source.cycle_seconds(report.wanted))
            next_at = started + pace
            if deadline is not None and next_at >= deadline:
                break
            if stop.wait(max(0.0, next_at - self._clock())):
                break
        return reports


# --- wiring -----------------------------------------------------------------------------------


def quote_consumers(broadcaster: Broadcaster) -> list[QuoteConsumer]:
    """Who gets each published QuoteBatch, in this order, in process (see the README's "Live quotes"):
    the WebSocket fan-out to the symbols' subscribers, then the alert evaluator."""
    from stockscreen.alerts.events import on_quote_batch

    def fan_out(batch: QuoteBatch) -> int:
        return broadcaster.broadcast_quotes(batch.quotes)

    return [fan_out, on_quote_batch]


def demand_sources(settings: QuoteSettings, registry: Registry, engine: Engine) -> list[DemandSource]:
    """Why a symbol is polled. Subscriptions are re-read every poll (a new subscriber sees prices within
    one poll); watchlists once a minute, armed alerts every 30 s."""
    from stockscreen.alerts.rules import AlertRuleService
    from stockscreen.screening.saved import SavedScreenService
    from stockscreen.watchlists.service import WatchlistService

    watchlists = WatchlistService.from_engine(engine)
    alerts = AlertRuleService.from_engine(engine, lambda: SavedScreenService.from_engine(engine), lambda: watchlists)
    return [
        DemandSource("subscriptions", registry.subscribed_symbols),
        DemandSource("watchlists", lambda: watchlists.symbols_of_active_users(settings.quote_active_user_days), 60.0),
        DemandSource("alerts", alerts.armed_symbols, 30.0),
    ]


def quote_source(settings: QuoteSettings, engine: Engine) -> QuoteSource:
    from stockscreen.market.service import MarketService
    from stockscreen.realtime.sources import RateLimiter, ReplayQuotes, StooqQuotes

    if settings.quote_provider == "replay":
        market = MarketService.from_engine(engine)
        return ReplayQuotes(market.last_sessions)
    return StooqQuotes(
        settings.stooq_quotes_url,
        timeout=settings.quote_timeout_seconds,
        attempts=settings.quote_attempts,
        per_request=settings.quote_symbols_per_request,
        limiter=RateLimiter(settings.quote_requests_per_minute, settings.quote_burst),
    )


def build_poller(
    settings: QuoteSettings | None = None, *, source: QuoteSource | None = None, broadcaster: Broadcaster | None = None
) -> QuotePoller:
    """The poller wired to this process's Redis, database and @connections endpoint.

    ``make dev`` passes the replay source (always "open": it replays the last session at any hour) and a
    broadcaster posting through its gateway in process."""
    from stockscreen.core.config import quote_settings
    from stockscreen.db.engine import get_engine
    from stockscreen.market.service import MarketService
    from stockscreen.realtime.quotes import put_quotes
    from stockscreen.realtime.repository import IntradayRepository

    settings = settings or quote_settings()
    engine = get_engine()
    registry = connection_registry()
    source = source or quote_source(settings, engine)
    market = MarketService.from_engine(engine)

    def prev_closes(symbols: list[str], day: dt.date) -> dict[str, float | None]:
        sessions = market.last_sessions(symbols)
        return {s: (x.close if x.date < day else x.prev_close) for s, x in sessions.items()}

    return QuotePoller(
        source,
        Demand(demand_sources(settings, registry, engine), max_symbols=settings.quote_max_symbols),
        latest=put_quotes,
        bars=IntradayRepository(engine),
        consumers=quote_consumers(broadcaster or Broadcaster.from_settings(registry)),
        prev_closes=prev_closes,
        interval=settings.quote_poll_seconds,
        market_hours=source.name != "replay",
    )


def prepare_storage() -> tuple[int, int]:
    """Once a run: the coming days' partitions of ``intraday_bars`` and its retention (created, dropped)."""
    from stockscreen.db.engine import get_engine
    from stockscreen.realtime.repository import IntradayRepository

    repo = IntradayRepository(get_engine())
    return repo.prepare(), repo.apply_retention()


def run_scheduled(poller: QuotePoller, deadline: float, now: dt.datetime | None = None) -> dict[str, Any]:
    """One scheduled run: nothing at all while the market is closed (no database, no Redis, no provider);
    else the partitions and retention of ``intraday_bars``, then polls until ``deadline``. Returns a summary."""
    closed = market_closed_reason(now or dt.datetime.now(dt.UTC)) if poller.market_hours else None
    if closed is not None:
        return {"polls": 0, "skipped": [f"market closed: {closed}"]}
    try:
        created, dropped = prepare_storage()
    except SQLAlchemyError:
        logger.exception("intraday_bars maintenance failed")
        created = dropped = 0
    reports = poller.run(deadline=deadline)
    return {
        "polls": len(reports),
        "skipped": sorted({r.skipped for r in reports if r.skipped}),
        "fetched": sum(r.fetched for r in reports),
        "published": sum(r.published for r in reports),
        "failed": sum(len(r.failed) for r in reports),
        "deferred": sum(len(r.deferred) for r in reports),
        "errors": sorted({e for r in reports for e in r.errors}),
        "partitions_created": created,
        "partitions_dropped": dropped,
    }
