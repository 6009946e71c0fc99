"""Alert evaluation: the daily run ("prices.updated", point in time) and live quote batches.

Both build a :class:`~stockscreen.alerts.evaluation.TriggerBook` of the armed alerts (one trigger per
alert x symbol x leg; watchlist alerts expand to the list's current symbols), step it, and commit
the new trigger states and the firings in one transaction keyed by the event id / batch id, so a
redelivered event or batch is evaluated once.

* Daily: every leg is observed on the snapshot's bar (``x`` and levels from the universe of the
  snapshot version the event names); query alerts are evaluated with the screener's vectorised
  engine; screen alerts compare the saved screen's membership with the last one stored.
* Live: legs watching the price or volume, except ``once_per_bar_close`` alerts. The book is kept
  in the process and rebuilt when alerts, watchlists or the snapshot change; each batch steps only
  the triggers whose levels lie between a changed symbol's last and new price.

Trigger options: ``once`` (the alert completes after firing), ``once_per_day`` (then quiet until
the next session), ``once_per_bar_close`` (daily run only), ``every_time`` (every edge). Expired
alerts are not evaluated; paused ones neither; snoozed ones are evaluated (their state follows the
price) but their firings are dropped until the snooze ends.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from stockscreen.alerts.evaluation import (
    QUERY_LEG,
    UNKNOWN,
    Leg,
    Level,
    QuerySpec,
    ScreenSpec,
    TriggerBook,
    TriggerRow,
    build_book,
    compile_rule,
    describe,
)
from stockscreen.alerts.repository import AlertEvaluationRepository
from stockscreen.core.errors import DomainError, NotFound
from stockscreen.core.observability import logger
from stockscreen.market.calendar import is_trading_day

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from stockscreen.realtime.messages import QuoteBatch
    from stockscreen.screening.saved import SavedScreenService
    from stockscreen.screening.universe import Universe
    from stockscreen.watchlists.service import WatchlistService

NEW_YORK = ZoneInfo("America/New_York")
#: A firing the delivery queue has not taken after this long is queued again.
REQUEUE_AFTER_SECONDS = 60.0


def session_day(at: dt.datetime) -> dt.date:
    """The exchange's calendar day of an instant."""
    return at.astimezone(NEW_YORK).date()


def next_session(day: dt.date) -> dt.date:
    """The first trading day after ``day``."""
    day += dt.timedelta(days=1)
    while not is_trading_day(day):
        day += dt.timedelta(days=1)
    return day


@dataclass
class _Alert:
    id: str
    user_id: str
    name: str | None
    type: str
    params: dict[str, Any]
    trigger: str
    hysteresis_pct: float
    expires_at: dt.datetime | None
    snoozed_until: dt.datetime | None
    blocked_until: dt.date | None
    members_version: int | None
    symbols: list[str]
    spec: list[Leg] | QuerySpec | ScreenSpec
    done: bool = False

    @classmethod
    def of(cls, row: dict[str, Any], symbols: list[str]) -> _Alert:
        params = dict(row["params"])
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            name=row["name"],
            type=row["type"],
            params=params,
            trigger=row["trigger"],
            hysteresis_pct=float(row["hysteresis_pct"]),
            expires_at=row["expires_at"],
            snoozed_until=row["snoozed_until"],
            blocked_until=row["blocked_until"],
            members_version=row["members_version"],
            symbols=symbols,
            spec=compile_rule(row["type"], {**params, **({"symbol": row["symbol"]} if row["symbol"] else {})}),
        )

    def may_fire(self, at: dt.datetime, day: dt.date) -> bool:
        if self.done or (self.expires_at is not None and at >= self.expires_at):
            return False
        if self.snoozed_until is not None and at < self.snoozed_until:
            return False
        return self.blocked_until is None or day >= self.blocked_until


@dataclass
class _Firings:
    """Firings gated by the alerts' trigger options, and what that changes on the alerts."""

    at: dt.datetime
    day: dt.date
    events: list[dict[str, Any]] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    blocked: dict[str, dt.date] = field(default_factory=dict)
    _fired_now: set[str] = field(default_factory=set)

    def offer(self, alert: _Alert, event: dict[str, Any]) -> None:
        # every symbol an alert fires on in one evaluation is reported; the option applies after it
        if alert.id not in self._fired_now and not alert.may_fire(self.at, self.day):
            return
        self._fired_now.add(alert.id)
        self.events.append({"alert_id": alert.id, "user_id": alert.user_id, "fired_at": self.at, **event})
        if alert.trigger == "once":
            alert.done = True
            if alert.id not in self.completed:
                self.completed.append(alert.id)
        elif alert.trigger in ("once_per_day", "once_per_bar_close"):
            alert.blocked_until = self.blocked[alert.id] = next_session(self.day)


class _Levels:
    """Level and field values of every universe row on the bar evaluated (``t``), point in time.

    ``live``: the values seen by quotes of the session after bar ``t`` (``prior`` = bar ``t``)."""

    def __init__(self, u: Universe, t: int, live: bool) -> None:
        self.u, self.t, self.live = u, t, live
        self._cache: dict[Any, NDArray[np.float64]] = {}

    def _col(self, name: str, col: int) -> NDArray[np.float64]:
        if col < 0:
            return np.full(self.u.n, np.nan)
        key = (name, col)
        if key not in self._cache:
            self._cache[key] = np.asarray(self.u.numeric(name)[:, col], dtype=np.float64)
        return self._cache[key]

    def field(self, name: str) -> NDArray[np.float64]:
        return self._col(name, self.t)

    def level(self, lv: Level | None) -> NDArray[np.float64]:
        if lv is None:
            return np.full(self.u.n, np.nan)
        if lv.const is not None:
            return np.full(self.u.n, lv.const)
        assert lv.field is not None
        if lv.when == "now":
            col = self.t
        elif lv.when == "prior":
            col = self.t if self.live else self.t - 1
        else:
            col = self.t + 1 - lv.ago if self.live else self.t - lv.ago
        return self._col(lv.field, col) * lv.scale


def _fields_of(alerts: Iterable[_Alert]) -> set[str]:
    names = {"close", "volume"}
    for a in alerts:
        if isinstance(a.spec, list):
            for leg in a.spec:
                names.add(leg.field)
                names.update(lv.field for lv in (leg.level, leg.upper) if lv is not None and lv.field)
    return names


@dataclass
class _Built:
    book: TriggerBook
    alerts: list[_Alert]
    legs: list[Leg]  # per trigger
    keys: list[tuple[str, str, int]]  # per trigger: (alert id, symbol, leg)
    version: int  # the snapshot version the levels came from


class AlertEvaluationService:
    def __init__(
        self,
        repo: AlertEvaluationRepository,
        *,
        universe_of: Callable[[int | None], Universe],
        watchlists: Callable[[], WatchlistService],
        screens: Callable[[], SavedScreenService],
        compile_query: Callable[[str], Any],
        query_mask: Callable[[Universe, Any, int], NDArray[np.bool_]],
        latest_prices: Callable[[list[str]], dict[str, tuple[float, float | None]]],
        publish: Callable[[list[dict[str, Any]]], None],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        """``universe_of(version)``: the screening universe of a snapshot version (None = current);
        ``latest_prices``: the last live price and volume of symbols (the quote cache); ``publish``: queues
        fired alerts (as stored in the history) for delivery."""
        self.repo = repo
        self.universe_of = universe_of
        self.watchlists = watchlists
        self.screens = screens
        self.compile_query = compile_query
        self.query_mask = query_mask
        self.latest_prices = latest_prices
        self.publish = publish
        self.clock = clock
        self._requeued_at: dt.datetime | None = None
        self._live: _Built | None = None
        self._live_key: tuple[str, str, str] | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ shared

    def _queue(self, stored: list[dict[str, Any]]) -> None:
        """Queue the committed firings for delivery (the history is the outbox: a firing is marked
        ``queued_at`` once the queue took it; one the queue did not take is re-queued later by
        :meth:`requeue_unqueued`). Delivery is idempotent, so a firing queued twice is delivered once."""
        if not stored:
            return
        try:
            self.publish(stored)
        except Exception:
            logger.exception("queueing %d fired alerts failed; they are re-queued later", len(stored))
            return
        self.repo.mark_queued([int(e["id"]) for e in stored])

    def requeue_unqueued(self, older_than_seconds: float = REQUEUE_AFTER_SECONDS) -> int:
        """Queue again the firings the queue never took; returns how many were found."""
        pending = self.repo.unqueued(older_than_seconds)
        if pending:
            logger.info("re-queueing %d fired alerts", len(pending))
            self._queue(pending)
        self._requeued_at = self.clock()
        return len(pending)

    def _requeue_now_and_then(self) -> None:
        if self._requeued_at is None or (self.clock() - self._requeued_at).total_seconds() >= REQUEUE_AFTER_SECONDS:
            try:
                self.requeue_unqueued()
            except Exception:
                logger.exception("re-queueing fired alerts failed")

    def _alerts(self, rows: list[dict[str, Any]]) -> list[_Alert]:
        wl_ids = sorted({str(r["params"]["watchlist_id"]) for r in rows if r["params"].get("watchlist_id")})
        members = self.watchlists().members(wl_ids) if wl_ids else {}
        out = []
        for r in rows:
            wl = r["params"].get("watchlist_id")
            symbols = members.get(str(wl), []) if wl else ([r["symbol"]] if r["symbol"] else [])
            try:
                out.append(_Alert.of(r, symbols))
            except (KeyError, ValueError, TypeError):
                logger.exception("alert %s has a rule the evaluator cannot read; skipped", r["id"])
        return out

    def _build(
        self,
        alerts: list[_Alert],
        levels: _Levels,
        states: dict[tuple[str, str, int], int],
        *,
        live: bool,
    ) -> tuple[_Built, list[NDArray[np.float64]]]:
        """The book of the alerts' legs (live: only legs a quote can move) and, per trigger, the value
        observed on the bar (daily)."""
        u = levels.u
        rows: list[TriggerRow] = []
        legs: list[Leg] = []
        keys: list[tuple[str, str, int]] = []
        xs: list[float] = []
        masks: dict[str, NDArray[np.bool_]] = {}
        for k, a in enumerate(alerts):
            if isinstance(a.spec, ScreenSpec) or (live and a.trigger == "once_per_bar_close"):
                continue
            if isinstance(a.spec, QuerySpec):
                if live:
                    continue
                if a.spec.query not in masks:
                    masks[a.spec.query] = self.query_mask(u, self.compile_query(a.spec.query), levels.t)
                truth = masks[a.spec.query].astype(np.float64)
                alert_legs: list[tuple[Leg, Any]] = [(QUERY_LEG, truth)]
            else:
                alert_legs = [(leg, None) for leg in a.spec if not live or leg.live]
            for leg, truth in alert_legs:
                lo = levels.level(leg.level)
                hi = levels.level(leg.upper)
                xv = truth if truth is not None else (levels.field(leg.field) if not live else None)
                for s in a.symbols:
                    row = u.row_of(s)
                    a_lv = float(lo[row]) if row is not None else math.nan
                    b_lv = float(hi[row]) if row is not None else math.nan
                    hyst = 0.0 if leg is QUERY_LEG else a.hysteresis_pct
                    key = (a.id, s, leg.leg)
                    rows.append(TriggerRow(k, s, leg, a_lv, b_lv, states.get(key, UNKNOWN), hyst))
                    legs.append(leg)
                    keys.append(key)
                    if xv is not None:
                        xs.append(float(xv[row]) if row is not None else math.nan)
        book = build_book(rows)
        return _Built(book, alerts, legs, keys, u.version), [np.array(xs, dtype=np.float64)]

    def _offer(
        self, built: _Built, fired: NDArray[np.intp], x: NDArray[np.float64], out: _Firings, extra: dict[str, Any]
    ) -> None:
        book = built.book
        for i in fired.tolist():
            alert = built.alerts[int(book.alert[i])]
            leg = built.legs[i]
            symbol = built.keys[i][1]
            value, level = float(x[i]), float(book.a[i])
            upper = None if math.isnan(book.b[i]) else float(book.b[i])
            message = describe(leg, symbol, value, level, upper)
            details = {"type": alert.type, "rule": alert.params, "leg": leg.leg, "name": alert.name, **extra}
            if upper is not None:
                details["upper"] = upper
            if leg is QUERY_LEG:
                value = level = math.nan
                details["query"] = alert.params.get("query")
            out.offer(
                alert,
                {
                    "symbol": symbol,
                    "value": None if math.isnan(value) else value,
                    "level": None if math.isnan(level) else level,
                    "message": message,
                    "details": details,
                },
            )

    @staticmethod
    def _changed(built: _Built, changed: NDArray[np.intp]) -> list[tuple[str, str, int, int]]:
        out = []
        for i in changed.tolist():
            a, s, g = built.keys[i]
            st = int(built.book.state[i])
            if st != UNKNOWN:
                out.append((a, s, g, st))
        return out

    # ------------------------------------------------------------------------------- daily

    def evaluate_daily(self, event_id: str, run_id: Any, version: int, symbols: int) -> dict[str, Any]:
        """Evaluate every armed alert on the bar of snapshot ``version`` (the one the event published)."""
        self._requeue_now_and_then()
        if self.repo.seen("daily", event_id):
            return {"event_id": event_id, "recorded": False, "fired": 0, "firings": []}
        u = self.universe_of(version)
        t = u.date_index(None)
        as_of = dt.date.fromisoformat(str(u.trading_dates[t])[:10])
        alerts = self._alerts(self.repo.live_alerts())
        u.want(_fields_of(alerts))
        levels = _Levels(u, t, live=False)
        built, (x,) = self._build(alerts, levels, self.repo.states(), live=False)
        fired, changed = built.book.step(np.arange(len(built.book), dtype=np.intp), x)
        out = _Firings(self.clock(), as_of)
        extra = {"as_of": as_of.isoformat(), "snapshot_version": version}
        self._offer(built, fired, x, out, extra)
        members = self._screens(alerts, u, t, version, out, extra)
        for e in out.events:
            e["snapshot_version"] = version
        stored = self.repo.commit(
            source="daily",
            source_id=event_id,
            run_id=run_id,
            snapshot_version=version,
            symbols=symbols,
            states=self._changed(built, changed),
            events=out.events,
            completed=out.completed,
            blocked=out.blocked,
            members=members,
        )
        if stored is None:
            return {"event_id": event_id, "recorded": False, "fired": 0, "firings": []}
        self._live_key = None  # states and levels changed: the live book is rebuilt on its next batch
        self._queue(stored)
        logger.info("alerts evaluated", extra={"event_id": event_id, "version": version, "fired": len(stored)})
        return {"event_id": event_id, "recorded": True, "fired": len(stored), "firings": stored}

    def _screens(
        self, alerts: list[_Alert], u: Universe, t: int, version: int, out: _Firings, extra: dict[str, Any]
    ) -> dict[str, tuple[int, set[str]]]:
        """Screen alerts: entrants / leavers since the membership stored last (the first run stores it)."""
        members: dict[str, tuple[int, set[str]]] = {}
        for a in alerts:
            if not isinstance(a.spec, ScreenSpec):
                continue
            try:
                screen = self.screens().get(a.user_id, a.spec.screen_id)
            except NotFound:
                logger.info("screen alert %s: its saved screen is gone; skipped", a.id)
                continue
            try:
                cond = self.compile_query(screen["query"]) if screen.get("query") else None
            except DomainError:
                logger.exception("screen alert %s: the saved screen no longer compiles; skipped", a.id)
                continue
            now = {str(s) for s in u.symbols[self.query_mask(u, cond, t)].tolist()}
            members[a.id] = (version, now)
            if a.members_version is None:
                continue  # the first membership seen is the baseline
            before = self.repo.screen_members(a.id)
            entrants, leavers = sorted(now - before), sorted(before - now)
            changed = entrants if a.spec.enter else leavers
            if not changed:
                continue
            verb = "entered" if a.spec.enter else "left"
            message = f"{len(changed)} stock{'s' if len(changed) != 1 else ''} {verb} {screen['name']}: " + ", ".join(
                changed[:20]
            )
            details = {
                "type": a.type,
                "rule": a.params,
                "name": a.name,
                "screen": screen["name"],
                "entrants": entrants,
                "leavers": leavers,
                **extra,
            }
            out.offer(a, {"symbol": None, "value": None, "level": None, "message": message, "details": details})
        return members

    # -------------------------------------------------------------------------------- live

    def _live_book(self) -> tuple[_Built, list[tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]]]:
        u = self.universe_of(None)
        key = (self.repo.fingerprint(), self.watchlists().members_fingerprint(), u.cache_key or str(u.version))
        if self._live is not None and key == self._live_key:
            return self._live, []
        alerts = self._alerts(self.repo.live_alerts())
        u.want(_fields_of(alerts))
        levels = _Levels(u, u.date_index(None), live=True)
        built, _ = self._build(alerts, levels, self.repo.states(), live=True)
        book = built.book
        # start from the last price evaluated (the previous book, else the one stored by the last batch),
        # else the quote cache, else the snapshot's close
        price = np.full(len(book.symbols), np.nan)
        volume = np.full(len(book.symbols), np.nan)
        seen = self.repo.last_prices() if self._live is None else {}
        quotes = self.latest_prices([s for s in book.symbols if s not in seen])
        close = levels.field("close")
        old = self._live.book if self._live is not None else None
        for s, name in enumerate(book.symbols):
            prev = old.symbol_index(name) if old is not None else None
            if prev is not None and old is not None and not math.isnan(old.last_price[prev]):
                price[s] = old.last_price[prev]
            elif name in seen:
                price[s] = seen[name]
            elif name in quotes:
                price[s], vol = quotes[name]
                volume[s] = math.nan if vol is None else vol
            else:
                row = u.row_of(name)
                price[s] = close[row] if row is not None else math.nan
        fired, changed = book.observe_all(price, volume)
        self._live, self._live_key = built, key
        x = np.where(book.watch_volume, volume[book.sym], price[book.sym])
        return built, [(fired, changed, x)]

    def evaluate_quotes(self, batch: QuoteBatch) -> dict[str, Any]:
        """Evaluate the armed alerts of the batch's symbols against its quotes (once per ``batch_id``)."""
        with self._lock:
            self._requeue_now_and_then()
            if self.repo.seen("live", batch.batch_id):
                return {"batch_id": batch.batch_id, "recorded": False, "fired": 0, "firings": []}
            try:
                return self._evaluate_quotes(batch)
            except BaseException:
                # the book may have moved ahead of what was committed: start again from the database
                self._live, self._live_key = None, None
                raise

    def _evaluate_quotes(self, batch: QuoteBatch) -> dict[str, Any]:
        built, pending = self._live_book()
        book = built.book
        out = _Firings(batch.asof, session_day(batch.asof))
        extra = {"batch_id": batch.batch_id, "source": batch.source}
        changed_all: list[NDArray[np.intp]] = []
        for fired, changed, x in pending:
            self._offer(built, fired, x, out, extra)
            changed_all.append(changed)
        syms, prices, vols = [], [], []
        for q in batch.quotes:
            s = book.symbol_index(q.symbol.upper())
            if s is not None:
                syms.append(s)
                prices.append(q.price)
                vols.append(math.nan if q.volume is None else float(q.volume))
        if syms:
            sa = np.array(syms, dtype=np.intp)
            fired, changed = book.on_prices(sa, np.array(prices), np.array(vols))
            newp = np.full(len(book.symbols), np.nan)
            newv = np.full(len(book.symbols), np.nan)
            newp[sa], newv[sa] = prices, vols
            x = np.where(book.watch_volume, newv[book.sym], newp[book.sym])
            self._offer(built, fired, x, out, extra)
            changed_all.append(changed)
        changed = np.unique(np.concatenate(changed_all)) if changed_all else np.empty(0, dtype=np.intp)
        for e in out.events:
            e["snapshot_version"] = built.version  # the snapshot the levels came from
        stored = self.repo.commit(
            source="live",
            source_id=batch.batch_id,
            states=self._changed(built, changed),
            events=out.events,
            completed=out.completed,
            blocked=out.blocked,
            members={},
            prices=[
                (q.symbol.upper(), q.price, q.ts)
                for q in batch.quotes
                if not math.isnan(q.price) and book.symbol_index(q.symbol.upper()) is not None
            ],
        )
        if stored is None:  # another process took this batch: our book may be ahead of the database
            self._live, self._live_key = None, None
            return {"batch_id": batch.batch_id, "recorded": False, "fired": 0, "firings": []}
        self._queue(stored)
        return {"batch_id": batch.batch_id, "recorded": True, "fired": len(stored), "firings": stored}
