"""Sources of intraday quotes: one interface, a real HTTP provider (Stooq) and the replay feed.

A :class:`QuoteSource` answers "the latest quote of these symbols" with a :class:`FetchResult`:
the quotes it got, the symbols it could not get and why (``failed``), and the symbols it did not
try because the deadline or the provider's rate limit left no room (``deferred``). It never
raises for one symbol's or one request's trouble: a poller has to carry on with the rest.

* :class:`StooqQuotes`: delayed quotes from Stooq's light quote CSV
  (``/q/l/?s=aapl.us+msft.us&f=sd2t2ohlcv&h&e=csv``), many symbols per request, with a
  per-request timeout, retries of transient failures and a token-bucket rate limit.
* :class:`ReplayQuotes`: ``make dev``'s feed. It replays each symbol's last daily session as an
  intraday tape: from the open through the nearer extreme, the other extreme, to the close (with a
  little noise), then starts the session again; prices stay within the real last day's range.
"""

from __future__ import annotations

import csv
import datetime as dt
import http.client
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from stockscreen.core.observability import logger
from stockscreen.realtime.messages import Quote

# --- the model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntradayQuote:
    """The latest trade of a symbol and its day so far. ``volume`` is the day's cumulative volume."""

    symbol: str
    price: float
    ts: dt.datetime
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: int | None = None
    #: the previous session's close (None when the source does not say; the poller may fill it in)
    prev_close: float | None = None

    @property
    def change_pct(self) -> float | None:
        if not self.prev_close:
            return None
        return round((self.price / self.prev_close - 1) * 100, 2)

    def to_quote(self) -> Quote:
        """The wire message (``type: quote``) the broadcaster and the quote store use."""
        return Quote(symbol=self.symbol, price=self.price, change_pct=self.change_pct, volume=self.volume, ts=self.ts)


@dataclass
class FetchResult:
    quotes: list[IntradayQuote] = field(default_factory=list)
    #: symbol -> why no quote (unknown to the provider, timed out after retries, malformed row...)
    failed: dict[str, str] = field(default_factory=dict)
    #: symbols not requested this time: the deadline or the rate limit left no room
    deferred: list[str] = field(default_factory=list)
    #: requests sent (attempts included)
    requests: int = 0


class QuoteSource(Protocol):
    """A source of intraday quotes."""

    name: str

    def fetch(self, symbols: Sequence[str], deadline: float | None = None) -> FetchResult:
        """The latest quote of each symbol; ``deadline`` is a ``time.monotonic()`` value not to pass."""
        ...

    def cycle_seconds(self, n_symbols: int) -> float:
        """The shortest time in which the rate limit allows fetching ``n_symbols`` once."""
        ...


# --- errors and the rate limit ----------------------------------------------------------------


class QuoteSourceError(Exception):
    """A request that will not work by retrying (HTTP 4xx, a body that is not the expected CSV)."""


class QuoteSourceUnavailable(QuoteSourceError):
    """A transient failure (timeout, connection refused, HTTP 5xx): worth retrying."""


class QuoteSourceRateLimited(QuoteSourceUnavailable):
    """The provider says slow down (HTTP 429 or its quota notice); ``retry_after`` seconds, when it says."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """A token bucket: ``per_minute`` requests a minute on average, bursts up to ``burst``.

    :meth:`acquire` waits for a token unless the wait would pass ``deadline`` (then it returns
    False without taking one). :meth:`pause` empties the bucket for a while (after an HTTP 429).
    Thread-safe; the clock and sleep are injectable for tests.
    """

    def __init__(
        self,
        per_minute: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self, deadline: float | None = None) -> bool:
        with self._lock:
            now = self._clock()
            self._refill(now)
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if deadline is not None and now + wait > deadline:
                return False
            if wait > 0:
                self._sleep(wait)
                self.waited += wait
                self._refill(self._clock())
            self._tokens = max(0.0, self._tokens - 1)
            return True

    def pause(self, seconds: float) -> None:
        """No token for ``seconds`` from now (the provider asked to back off)."""
        with self._lock:
            self._refill(self._clock())
            self._tokens = 1 - seconds * self.rate

    def cycle_seconds(self, requests: int) -> float:
        """How long ``requests`` requests take at the sustained rate (a loop repeating them is paced so)."""
        return requests / self.rate


# --- Stooq ------------------------------------------------------------------------------------

STOOQ_QUOTE_HEADER = ["Symbol", "Date", "Time", "Open", "High", "Low", "Close", "Volume"]
#: Stooq stamps quotes in its own (Warsaw) local time.
STOOQ_TZ = "Europe/Warsaw"


@cache
def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class StooqQuotes:
    """Delayed quotes from Stooq's light quote CSV, ``per_request`` symbols a request.

    Body: a header ``Symbol,Date,Time,Open,High,Low,Close,Volume`` and one row per requested
    ticker in Stooq's spelling (``AAPL.US``); a ticker Stooq does not know answers ``N/D`` in every
    field. ``Close`` is the last price, ``Open/High/Low/Volume`` the day so far, ``Date`` and
    ``Time`` the last trade in Stooq's local time (``tz``). The answer has no previous close.
    """

    name = "stooq"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 3.0,
        attempts: int = 2,
        per_request: int = 50,
        limiter: RateLimiter | None = None,
        tz: str = STOOQ_TZ,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {base_url}")
        self.base_url = base_url
        self.timeout = timeout
        self.attempts = attempts
        self.per_request = per_request
        self.limiter = limiter or RateLimiter(per_minute=60, burst=5, clock=clock, sleep=sleep)
        self.tz = _zone(tz)
        #: seconds without requests after an HTTP 429 that does not say how long (Retry-After)
        self.rate_limit_pause = 10.0
        self._sleep = sleep
        self._clock = clock

    @staticmethod
    def ticker(symbol: str) -> str:
        return symbol.lower().replace(".", "-") + ".us"

    def url(self, symbols: Sequence[str]) -> str:
        tickers = "+".join(self.ticker(s) for s in symbols)
        # '+' separates tickers in Stooq's syntax: keep it literal
        return f"{self.base_url}?s={urllib.parse.quote(tickers, safe='+')}&f=sd2t2ohlcv&h&e=csv"

    def cycle_seconds(self, n_symbols: int) -> float:
        return self.limiter.cycle_seconds(-(-n_symbols // self.per_request))

    # -- one request ---------------------------------------------------------------------------

    def _get(self, url: str) -> str:
        request = urllib.request.Request(url, headers={"User-Agent": "stockscreen-quotes/1.0"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                body: bytes = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                try:
                    seconds = float(retry_after) if retry_after else None
                except ValueError:
                    seconds = None
                raise QuoteSourceRateLimited("stooq answered HTTP 429", seconds) from exc
            if exc.code >= 500:
                raise QuoteSourceUnavailable(f"stooq answered HTTP {exc.code}") from exc
            raise QuoteSourceError(f"stooq answered HTTP {exc.code}") from exc
        except TimeoutError as exc:
            raise QuoteSourceUnavailable(f"stooq timed out after {self.timeout:g}s") from exc
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise QuoteSourceUnavailable(f"stooq timed out after {self.timeout:g}s") from exc
            raise QuoteSourceUnavailable(f"stooq unreachable: {reason}") from exc
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise QuoteSourceError("stooq sent non-UTF-8 data") from exc

    def parse(self, body: str, symbols: Sequence[str]) -> FetchResult:
        """Quotes of the requested ``symbols`` in a body; symbols missing from it, or N/D, are ``failed``."""
        lines = [line for line in body.splitlines() if line.strip()]
        first = lines[0].strip() if lines else ""
        if "exceeded" in first.lower() and "limit" in first.lower():
            raise QuoteSourceRateLimited(f"stooq quota: {first}")
        header = [h.strip() for h in next(csv.reader([first]))] if first else []
        if header[: len(STOOQ_QUOTE_HEADER)] != STOOQ_QUOTE_HEADER:
            raise QuoteSourceError(f"unexpected stooq quote header {first[:80]!r}")
        by_ticker = {self.ticker(s).upper(): s.upper() for s in symbols}
        result = FetchResult()
        seen: set[str] = set()
        for row in csv.reader(lines[1:]):
            if not row:
                continue
            symbol = by_ticker.get(row[0].strip().upper())
            if symbol is None or symbol in seen:
                continue  # not asked for (or twice): ignore
            seen.add(symbol)
            try:
                result.quotes.append(self._quote(symbol, row))
            except ValueError as exc:
                result.failed[symbol] = str(exc)
        for symbol in by_ticker.values():
            if symbol not in seen:
                result.failed[symbol] = "missing from stooq's answer"
        return result

    def _quote(self, symbol: str, row: list[str]) -> IntradayQuote:
        if len(row) < len(STOOQ_QUOTE_HEADER):
            raise ValueError(f"expected {len(STOOQ_QUOTE_HEADER)} fields, found {len(row)}")
        _, date, hhmmss, open_, high, low, close, volume = (x.strip() for x in row[:8])
        if close.upper() == "N/D":
            raise ValueError("stooq has no quote for this symbol (N/D)")
        try:
            local = dt.datetime.strptime(f"{date} {hhmmss}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=self.tz)
            price = float(close)
            values = [float(v) if v.upper() != "N/D" else None for v in (open_, high, low)]
            vol = int(float(volume)) if volume.upper() != "N/D" else None
        except ValueError as exc:
            raise ValueError(f"malformed stooq row {','.join(row)!r}: {exc}") from None
        if not price > 0:
            raise ValueError(f"non-positive price {close!r}")
        return IntradayQuote(
            symbol=symbol,
            price=price,
            ts=local.astimezone(dt.UTC),
            open=values[0],
            high=values[1],
            low=values[2],
            volume=vol,
        )

    # -- many symbols --------------------------------------------------------------------------

    def _fetch_chunk(self, chunk: list[str], deadline: float | None, result: FetchResult) -> bool:
        """Fetch one request's symbols into ``result``; False when the run should stop (rate limit, deadline)."""
        url = self.url(chunk)
        last_error = "not requested"
        for attempt in range(1, self.attempts + 1):
            if not self.limiter.acquire(deadline):
                if attempt == 1:
                    result.deferred.extend(chunk)
                else:
                    result.failed.update({s: f"{last_error} (no time left to retry)" for s in chunk})
                return False
            result.requests += 1
            try:
                part = self.parse(self._get(url), chunk)
            except QuoteSourceRateLimited as exc:
                pause = exc.retry_after if exc.retry_after is not None else self.rate_limit_pause
                self.limiter.pause(pause)
                logger.warning("quote source rate limited", extra={"source": self.name, "pause_s": pause})
                result.deferred.extend(chunk)
                return False
            except QuoteSourceUnavailable as exc:
                last_error = str(exc)
                if attempt < self.attempts:
                    backoff = 0.2 * 2 ** (attempt - 1)
                    if deadline is not None and self._clock() + backoff > deadline:
                        break
                    self._sleep(backoff)
                continue
            except QuoteSourceError as exc:
                result.failed.update({s: str(exc) for s in chunk})
                return True
            result.quotes.extend(part.quotes)
            result.failed.update(part.failed)
            return True
        result.failed.update({s: f"{last_error} after {self.attempts} attempts" for s in chunk})
        return True

    def fetch(self, symbols: Sequence[str], deadline: float | None = None) -> FetchResult:
        result = FetchResult()
        wanted = list(dict.fromkeys(s.upper() for s in symbols))
        chunks = _chunks(wanted, self.per_request)
        for i, chunk in enumerate(chunks):
            if not self._fetch_chunk(chunk, deadline, result):
                for rest in chunks[i + 1 :]:
                    result.deferred.extend(rest)
                break
        return result


# --- the replay feed --------------------------------------------------------------------------


class _Session(Protocol):
    @property
    def prev_close(self) -> float | None: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> int: ...


@dataclass(frozen=True)
class ReplaySession:
    prev_close: float | None
    open: float
    high: float
    low: float
    close: float
    volume: int


class ReplayQuotes:
    """``make dev``'s quote source: each symbol's last daily session replayed as an intraday tape.

    Every :meth:`fetch` is one step of ``STEPS_PER_SESSION``; after the close the tape starts again.
    Sessions are looked up once per symbol (``sessions``, e.g. ``MarketService.last_sessions``).
    """

    name = "replay"
    STEPS_PER_SESSION = 60

    def __init__(
        self,
        sessions: Callable[[list[str]], Mapping[str, _Session]],
        *,
        seed: int = 7,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._lookup = sessions
        self._sessions: dict[str, _Session | None] = {}
        self._tick = 0
        self._rng = random.Random(seed)  # a demo tape, not cryptography
        self._now = now
        self._lock = threading.Lock()

    def cycle_seconds(self, n_symbols: int) -> float:
        return 0.0

    def _load(self, symbols: list[str]) -> None:
        missing = [s for s in symbols if s not in self._sessions]
        if missing:
            found = self._lookup(missing)
            for s in missing:
                self._sessions[s] = found.get(s)

    def quote(self, symbol: str, tick: int) -> IntradayQuote | None:
        """The tape's quote of ``symbol`` at step ``tick`` (None without a session to replay)."""
        session = self._sessions.get(symbol)
        if session is None:
            return None
        open_, high, low, close = session.open, session.high, session.low, session.close
        # waypoints of the session: open, the nearer extreme, the other extreme, close
        first, second = (low, high) if abs(open_ - low) < abs(open_ - high) else (high, low)
        waypoints = [open_, first, second, close]
        step = tick % self.STEPS_PER_SESSION
        frac = step / (self.STEPS_PER_SESSION - 1)
        pos = frac * (len(waypoints) - 1)
        i = min(int(pos), len(waypoints) - 2)
        base = waypoints[i] + (waypoints[i + 1] - waypoints[i]) * (pos - i)
        noise = self._rng.gauss(0, (high - low) * 0.02) if high > low else 0.0
        price = round(min(high, max(low, base + noise)), 2)
        # the day so far: the extremes the tape has reached
        visited = [*waypoints[: i + 1], price]
        return IntradayQuote(
            symbol=symbol,
            price=price,
            ts=self._now(),
            open=open_,
            high=round(max(visited), 4),
            low=round(min(visited), 4),
            volume=int(session.volume * max(frac, 1 / self.STEPS_PER_SESSION)),
            prev_close=session.prev_close,
        )

    def fetch(self, symbols: Sequence[str], deadline: float | None = None) -> FetchResult:
        wanted = list(dict.fromkeys(s.upper() for s in symbols))
        with self._lock:
            self._load(wanted)
            tick = self._tick
            self._tick += 1
            result = FetchResult(requests=1)
            for s in wanted:
                q = self.quote(s, tick)
                if q is None:
                    result.failed[s] = "no daily bars to replay"
                else:
                    result.quotes.append(q)
        return result
