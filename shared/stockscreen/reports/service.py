"""Reports: the figures of each report (daily digest, weekly portfolio report, screen report), the
schedule settings, and the workflow's steps (select -> build -> render -> store -> send, and the
failure record), each idempotent per (user, kind, period).

The figures are plain JSON-able dicts (they travel through S3 from the build task to the render
Lambda); :mod:`stockscreen.reports.rendering` turns them into the email and the PDF.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from typing import Any, Protocol

from stockscreen.core.errors import Invalid, NotFound
from stockscreen.core.observability import logger
from stockscreen.core.paging import PageRequest
from stockscreen.reports import schedule
from stockscreen.reports.models import SCHEDULED, WEEKDAYS, Due, ScheduleSettings
from stockscreen.reports.repository import ReportRepository

#: Watchlist movers listed per list in the digest; holdings listed at the top and bottom of the week.
MOVERS = 5
TOP_BOTTOM = 3
#: Sessions of the weekly report's performance chart (about three months) and of a screen row's sparkline.
CHART_SESSIONS = 63
SPARK_SESSIONS = 60
#: Rows of a screen report (the PDF lists them all with their sparklines; the CSV too).
SCREEN_ROWS = 100
SCREEN_COLUMNS = ("symbol", "name", "sector", "close", "change_pct", "market_cap", "pe", "perf_1m")
#: The presigned download link of an emailed report lives as long as S3 allows (7 days).
LINK_SECONDS = 7 * 24 * 3600


class Store(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def presign(self, key: str, seconds: int, filename: str) -> str: ...


class Workflow(Protocol):
    def start(self, items: list[dict[str, Any]], name: str) -> str: ...


class Mailer(Protocol):
    def send(self, raw: bytes, *, sender: str, to: str) -> str: ...


def _pct(new: float | None, old: float | None) -> float | None:
    if new is None or not old:
        return None
    return round((new / old - 1) * 100, 4)


def _r(x: float) -> float:
    return round(x, 4)


class ReportFailed(Exception):
    """A report whose every attempt failed: the workflow's Catch records it."""


class ReportBuilder:
    """Computes each report's figures from the features' services (nothing here writes)."""

    def __init__(
        self,
        repo: ReportRepository,
        *,
        watchlists: Any,
        portfolios: Any,
        screens: Any,
        alerts: Any,
        run_screen: Callable[[Any], Any],
    ) -> None:
        self.repo = repo
        self.watchlists = watchlists
        self.portfolios = portfolios
        self.screens = screens
        self.alerts = alerts
        self.run_screen = run_screen

    # -- shared pieces --------------------------------------------------------------------------
    def _user(self, user_id: str) -> dict[str, Any]:
        who = self.repo.recipient(user_id)
        if who is None:
            raise NotFound(f"no user {user_id}")
        return {"id": user_id, "email": who["email"], "name": who["display_name"] or who["email"]}

    def _watchlists(self, user_id: str) -> list[dict[str, Any]]:
        lists = self.watchlists.list_mine(user_id, PageRequest(limit=100))[0]
        members = self.watchlists.members([w["id"] for w in lists]) if lists else {}
        return [{"id": w["id"], "name": w["name"], "symbols": members.get(w["id"], [])} for w in lists]

    def _membership(self, screen: dict[str, Any], as_of: dt.date) -> set[str]:
        from stockscreen.screening.engine import ScreenRequest

        out: set[str] = set()
        offset = 0
        while True:
            req = ScreenRequest.from_body({
                "query": screen["query"] or None, "sort": "symbol", "order": "asc", "columns": ["symbol"],
                "limit": 500, "offset": offset, "as_of": as_of,
            })  # fmt: skip
            res = self.run_screen(req)
            out.update(r["symbol"] for r in res.data)
            offset += 500
            if offset >= res.count or not res.data or offset > 10_000:
                return out

    def _day_pnl(self, user_id: str, pf: dict[str, Any], prev: dt.date, day: dt.date) -> dict[str, Any] | None:
        perf = self.portfolios.performance(user_id, pf["id"], prev, day)
        series = perf["data"]
        if not series or series[-1]["date"] != day.isoformat():
            return None
        last = series[-1]
        before = series[-2]["value"] if len(series) > 1 else 0.0
        pnl = last["value"] - before - last["net_flow"]
        return {
            "name": pf["name"],
            "value": _r(last["value"]),
            "day_pnl": _r(pnl),
            "day_pct": _pct(last["value"] - last["net_flow"], before) if before else None,
        }

    # -- daily digest ---------------------------------------------------------------------------
    def daily(self, user_id: str, session: dt.date | None = None) -> dict[str, Any]:
        """The digest of ``session`` (default: the last one): watchlists' biggest movers, the alerts that
        fired that market day, portfolios' day P&L, and each saved screen's entrants and leavers."""
        days = self.repo.sessions(session, 2)
        if not days or (session is not None and days[-1] != session):
            raise Invalid(f"no market session {session}" if session else "no market data yet")
        day = days[-1]
        prev = days[0] if len(days) > 1 else day
        lists = self._watchlists(user_id)
        symbols = sorted({s for w in lists for s in w["symbols"]})
        closes = self.repo.closes(symbols, prev, day)
        names = self.repo.names(symbols)
        out_lists = []
        for w in lists:
            moves = []
            for s in w["symbols"]:
                c = closes.get(s, {})
                chg = _pct(c.get(day), c.get(prev))
                if chg is not None:
                    moves.append({"symbol": s, "name": names.get(s, s), "close": c[day], "change_pct": chg})
            moves.sort(key=lambda m: (-abs(m["change_pct"]), m["symbol"]))
            out_lists.append({"name": w["name"], "movers": moves[:MOVERS], "count": len(w["symbols"])})
        start = dt.datetime.combine(day, dt.time(0), schedule.MARKET_TZ)
        end = start + dt.timedelta(days=1)
        fired = []
        for ev in self.alerts.history(user_id, None, PageRequest(limit=100))[0]:
            at = dt.datetime.fromisoformat(ev["fired_at"])
            if start <= at < end:
                fired.append({"symbol": ev["symbol"], "message": ev["message"], "fired_at": ev["fired_at"]})
        fired.reverse()  # oldest first
        pfs = []
        for pf in self.portfolios.list_mine(user_id, PageRequest(limit=100))[0]:
            row = self._day_pnl(user_id, pf, prev, day)
            if row is not None:
                pfs.append(row)
        screens = []
        for sc in self.screens.list_mine(user_id, PageRequest(limit=100))[0]:
            now, before = self._membership(sc, day), self._membership(sc, prev)
            screens.append(
                {"name": sc["name"], "query": sc["query"], "entrants": sorted(now - before),
                 "leavers": sorted(before - now), "count": len(now)}
            )  # fmt: skip
        changed = (
            bool(fired)
            or any(s["entrants"] or s["leavers"] for s in screens)
            or any(p["day_pnl"] != 0 for p in pfs)
            or any(m["change_pct"] != 0 for w in out_lists for m in w["movers"])
        )
        return {
            "kind": "daily",
            "title": f"Daily digest, {day.isoformat()}",
            "user": self._user(user_id),
            "session": day.isoformat(),
            "previous_session": prev.isoformat(),
            "watchlists": out_lists,
            "alerts": fired,
            "portfolios": pfs,
            "screens": screens,
            "changed": changed,
        }

    # -- weekly portfolio report ----------------------------------------------------------------
    def weekly(self, user_id: str, session: dt.date | None = None) -> dict[str, Any]:
        """The week to ``session`` (default: the last one): per portfolio its value, flows, realised and
        unrealised P&L, performance against the equal-weighted universe (chart), top and bottom holdings
        and holdings table; each watchlist's week."""
        from stockscreen.portfolios.service import replay

        last = self.repo.sessions(session, 1)
        if not last or (session is not None and last[-1] != session):
            raise Invalid(f"no market session {session}" if session else "no market data yet")
        day = last[-1]
        # the week: sessions after the last session at least 7 days before ``day``
        base_days = self.repo.sessions(day - dt.timedelta(days=7), 1)
        base = base_days[-1] if base_days else day
        chart_days = self.repo.sessions(day, CHART_SESSIONS)
        chart_start = chart_days[0] if chart_days else base
        portfolios = []
        for pf in self.portfolios.list_mine(user_id, PageRequest(limit=100))[0]:
            portfolios.append(self._portfolio_week(user_id, pf, base, day, chart_start, replay))
        lists = self._watchlists(user_id)
        symbols = sorted({s for w in lists for s in w["symbols"]})
        closes = self.repo.closes(symbols, base, day)
        names = self.repo.names(symbols)
        out_lists = []
        for w in lists:
            rows = []
            for s in w["symbols"]:
                c = closes.get(s, {})
                rows.append({"symbol": s, "name": names.get(s, s), "close": c.get(day),
                             "week_pct": _pct(c.get(day), c.get(base))})  # fmt: skip
            moved = [r["week_pct"] for r in rows if r["week_pct"] is not None]
            out_lists.append(
                {"name": w["name"], "items": rows, "average_pct": _r(sum(moved) / len(moved)) if moved else None}
            )
        return {
            "kind": "weekly",
            "title": f"Weekly report, week to {day.isoformat()}",
            "user": self._user(user_id),
            "session": day.isoformat(),
            "week_start": base.isoformat(),
            "portfolios": portfolios,
            "watchlists": out_lists,
            "changed": True,
        }

    def _portfolio_week(
        self, user_id: str, pf: dict[str, Any], base: dt.date, day: dt.date, chart_start: dt.date, replay: Any
    ) -> dict[str, Any]:
        perf = self.portfolios.performance(user_id, pf["id"], chart_start, day)
        series = perf["data"]
        by_date = {p["date"]: p for p in series}
        week = [p for p in series if base.isoformat() < p["date"] <= day.isoformat()]
        start_pt = by_date.get(base.isoformat())
        end_pt = by_date.get(day.isoformat())
        flows = _r(sum(p["net_flow"] for p in week))
        value_start = start_pt["value"] if start_pt else 0.0
        value_end = end_pt["value"] if end_pt else 0.0
        ret = uni = None
        if start_pt and end_pt:
            ret = _pct(end_pt["portfolio_index"], start_pt["portfolio_index"])
            uni = _pct(end_pt["universe_index"], start_pt["universe_index"])
        # holdings as of the session's close (FIFO), realised P&L to date and within the week
        txns = self.portfolios.transactions_until(user_id, pf["id"], day)
        book = replay(txns)
        book_base = replay([t for t in txns if t.date <= base])
        symbols = sorted(book)
        closes = self.repo.closes(symbols, base - dt.timedelta(days=10), day)
        holdings = []
        for s in symbols:
            pos = book[s]
            qty = float(pos.quantity)
            if qty == 0:
                continue
            c = closes.get(s, {})
            price = _close_at(c, day)
            cost = float(pos.cost_basis)
            value = qty * price if price is not None else None
            holdings.append(
                {
                    "symbol": s,
                    "quantity": _r(qty),
                    "average_cost": _r(cost / qty),
                    "price": price,
                    "market_value": _r(value) if value is not None else None,
                    "unrealised_pnl": _r(value - cost) if value is not None else None,
                    "unrealised_pct": _pct(value, cost) if value is not None else None,
                    "week_pct": _pct(price, _close_at(c, base)),
                    "weight_pct": None,
                }
            )
        total_value = sum(h["market_value"] or 0.0 for h in holdings)
        for h in holdings:
            h["weight_pct"] = _r((h["market_value"] or 0.0) / total_value * 100) if total_value else None
        ranked = sorted((h for h in holdings if h["week_pct"] is not None), key=lambda h: (-h["week_pct"], h["symbol"]))
        realised = sum(float(p.realised) for p in book.values())
        realised_base = sum(float(p.realised) for p in book_base.values())
        cost_total = sum(float(p.cost_basis) for p in book.values())
        first = series[0] if series else None
        chart = [
            {
                "date": p["date"],
                "portfolio": _r(p["portfolio_index"] / first["portfolio_index"] * 100),
                "universe": _r(p["universe_index"] / first["universe_index"] * 100),
            }
            for p in series
        ] if first else []  # fmt: skip
        return {
            "name": pf["name"],
            "value_start": _r(value_start),
            "value_end": _r(value_end),
            "net_flows": flows,
            "realised_pnl": _r(realised),
            "realised_week": _r(realised - realised_base),
            "unrealised_pnl": _r(total_value - cost_total),
            "return_pct": ret,
            "universe_pct": uni,
            "top": ranked[:TOP_BOTTOM],
            "bottom": list(reversed(ranked[-TOP_BOTTOM:])) if len(ranked) > TOP_BOTTOM else [],
            "holdings": holdings,
            "chart": chart,
        }

    # -- screen report --------------------------------------------------------------------------
    def screen(self, user_id: str, screen_id: str) -> dict[str, Any]:
        """A saved screen run on the last session: its rows' key fields and a sparkline of each."""
        from stockscreen.screening.engine import ScreenRequest

        sc = self.screens.get(user_id, screen_id)
        req = ScreenRequest.from_body({
            "query": sc["query"] or None, "sort": sc["sort"], "order": sc["order"],
            "columns": list(SCREEN_COLUMNS), "limit": SCREEN_ROWS,
        })  # fmt: skip
        res = self.run_screen(req)
        day = dt.date.fromisoformat(res.as_of)
        days = self.repo.sessions(day, SPARK_SESSIONS)
        symbols = [r["symbol"] for r in res.data]
        closes = self.repo.closes(symbols, days[0] if days else day, day)
        rows = []
        for r in res.data:
            c = closes.get(r["symbol"], {})
            rows.append({**{k: _jsonable(r.get(k)) for k in res.columns}, "spark": [c[d] for d in days if d in c]})
        return {
            "kind": "screen",
            "title": f"Screen report: {sc['name']}",
            "user": self._user(user_id),
            "session": res.as_of,
            "screen": {"id": sc["id"], "name": sc["name"], "query": sc["query"]},
            "columns": res.columns,
            "rows": rows,
            "count": res.count,
            "changed": True,
        }


def _close_at(c: dict[dt.date, float], day: dt.date) -> float | None:
    """The close on ``day``, else the last before it (a symbol that did not trade that day)."""
    if day in c:
        return c[day]
    before = [d for d in c if d <= day]
    return c[max(before)] if before else None


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and v != v:  # NaN
        return None
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


class ReportService:
    """Settings, the list of reports, and the workflow's steps."""

    def __init__(
        self,
        repo: ReportRepository,
        builder: ReportBuilder,
        *,
        store: Callable[[], Store],
        mailer: Callable[[], Mailer],
        sender: str,
        app_url: str,
        unsubscribe_url: Callable[[str, str], str],
        workflow: Callable[[], Workflow] | None = None,
    ) -> None:
        self.workflow = workflow
        self.repo = repo
        self.builder = builder
        self.store = store
        self.mailer = mailer
        self.sender = sender
        self.app_url = app_url
        self.unsubscribe_url = unsubscribe_url

    # -- settings and list ----------------------------------------------------------------------
    def get_settings(self, user_id: str) -> ScheduleSettings:
        row = self.repo.settings(user_id)
        if row is None:
            return ScheduleSettings()
        return ScheduleSettings(
            daily_enabled=row["daily_enabled"],
            weekly_enabled=row["weekly_enabled"],
            weekly_day=WEEKDAYS[row["weekly_day"]],  # type: ignore[arg-type]
            send_time=row["send_time"],
            time_zone=row["time_zone"],
        )

    def save_settings(self, user_id: str, s: ScheduleSettings) -> ScheduleSettings:
        self.repo.save_settings(user_id, {**s.model_dump(), "weekly_day": s.weekday_index})
        return self.get_settings(user_id)

    def opt_out(self, user_id: str, kind: str) -> ScheduleSettings:
        """Stop one scheduled report (the one-click unsubscribe); the next one is not sent."""
        if kind not in SCHEDULED:
            raise Invalid(f"unknown report {kind!r}")
        cur = self.get_settings(user_id)
        return self.save_settings(user_id, cur.model_copy(update={f"{kind}_enabled": False}))

    def address_suppressed(self, email: str) -> bool:
        """Whether ``email`` may not be mailed (bounce or complaint). One repository call; when the alerts
        feature publishes its SES suppression list this asks it instead."""
        return self.repo.is_suppressed(email)

    def list_mine(self, user_id: str, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        rows, total = self.repo.list_mine(user_id, page.limit, page.offset)
        return [_public(r) for r in rows], total

    def download(self, user_id: str, run_id: str, fmt: str = "pdf") -> dict[str, Any]:
        """A fresh presigned link (7 days) to one of the user's stored reports."""
        run = self.repo.run(run_id)
        if run is None or run["user_id"] != user_id or run["pdf_key"] is None:
            raise NotFound(f"no report {run_id}")
        key = run["csv_key"] if fmt == "csv" else run["pdf_key"]
        if key is None:
            raise NotFound(f"report {run_id} has no {fmt.upper()}")
        name = f"{run['kind']}-{run['period']}.{fmt}".replace(":", "-")
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LINK_SECONDS)
        return {"url": self.store().presign(key, LINK_SECONDS, name), "expires_at": expires.isoformat()}

    def last_session(self) -> dt.date | None:
        """The last market session with data (what a report asked for now covers)."""
        days = self.repo.sessions(None, 1)
        return days[-1] if days else None

    def start_screen_report(self, user_id: str, screen_id: str) -> dict[str, Any]:
        """Run a saved screen into a report (PDF + CSV) through the workflow; it joins the user's list
        when stored (it is not emailed)."""
        import uuid

        self.builder.screens.get(user_id, screen_id)  # NotFound unless it is the user's
        if self.workflow is None:
            raise RuntimeError("this process cannot start reports")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        period = f"{stamp}-{uuid.uuid4().hex[:6]}"
        item = Due(user_id=user_id, kind="screen", period=period, screen_id=screen_id, send=False)
        self.workflow().start([item.model_dump(mode="json")], f"screen-{period}")
        return {"period": period, "status": "started"}

    # -- the workflow ---------------------------------------------------------------------------
    def select(self, now: dt.datetime, user_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Every (user, kind, period) due at ``now`` that has not been done (the fan-out)."""
        sessions = self.repo.sessions(None, 1)
        last = sessions[-1] if sessions else None
        due: list[tuple[str, str, str]] = []
        for user_id, row in self.repo.scheduled(user_ids):
            s = ScheduleSettings.model_construct(
                daily_enabled=row["daily_enabled"],
                weekly_enabled=row["weekly_enabled"],
                weekly_day=WEEKDAYS[row["weekly_day"]],
                send_time=row["send_time"],
                time_zone=row["time_zone"],
            )
            try:
                due.extend((user_id, kind, period) for kind, period in schedule.due(s, now, last))
            except ValueError:
                logger.warning("report settings of %s name an unknown time zone", user_id)
        done = self.repo.settled(due)
        session = last.isoformat() if last else None
        return [
            Due(user_id=u, kind=k, period=p, session=session).model_dump(mode="json")  # type: ignore[arg-type]
            for u, k, p in due
            if (u, k, p) not in done
        ]

    def build(self, item: dict[str, Any]) -> dict[str, Any]:
        """Claim (user, kind, period) and compute the report's figures into the store; ``skip`` when
        another attempt has it, the user opted out or is suppressed, or (digest) nothing changed."""
        due = Due.model_validate(item)
        run = self.repo.claim(due.user_id, due.kind, due.period)
        if run is None:
            found = self.repo.run_of(due.user_id, due.kind, due.period)
            if found is not None and found["status"] == "failed":
                raise ReportFailed(f"gave up after {found['attempts']} attempts: {found['detail']}")
            return {"skip": True, "reason": "already done or in progress"}
        try:
            return self._build(due, run["id"])
        except Exception as exc:
            # the run is free again for this task's retry (and, after the last one, for the Catch to record)
            self.repo.advance(run["id"], ("building",), "failed", detail=f"{type(exc).__name__}: {exc}"[:1000])
            raise

    def _build(self, due: Due, run_id: str) -> dict[str, Any]:
        out = {"run_id": run_id, "skip": True}
        who = self.repo.recipient(due.user_id)
        if due.send and (who is None or who["disabled"] or self.address_suppressed(who["email"])):
            self.repo.advance(run_id, ("building",), "skipped", detail="address suppressed or account disabled")
            return {**out, "reason": "suppressed"}
        if (
            due.scheduled
            and due.kind in SCHEDULED
            and due.send
            and not getattr(self.get_settings(due.user_id), f"{due.kind}_enabled")
        ):
            self.repo.advance(run_id, ("building",), "skipped", detail="opted out")
            return {**out, "reason": "opted out"}
        session = due.session
        if due.kind == "daily":
            data = self.builder.daily(due.user_id, session)
        elif due.kind == "weekly":
            data = self.builder.weekly(due.user_id, session)
        else:
            if not due.screen_id:
                raise Invalid("a screen report needs screen_id")
            data = self.builder.screen(due.user_id, due.screen_id)
        if not data["changed"]:
            self.repo.advance(run_id, ("building",), "skipped", detail="nothing changed")
            return {**out, "reason": "nothing changed"}
        data["run_id"] = run_id
        data["period"] = due.period
        key = f"{_prefix(due.user_id, run_id)}/data.json"
        self.store().put(key, json.dumps(data, default=str).encode(), "application/json")
        self.repo.advance(run_id, ("building",), "built", data_key=key, title=data["title"])
        return {"run_id": run_id, "skip": False, "data_key": key, "send": due.send}

    def stored(self, event: dict[str, Any]) -> dict[str, Any]:
        """Record the rendered documents (the render Lambda put them in the store)."""
        run_id = event["run_id"]
        self.repo.advance(
            run_id, ("built",), "stored", pdf_key=event["pdf_key"], csv_key=event.get("csv_key"),
            pdf_bytes=int(event["pdf_bytes"]),
        )  # fmt: skip
        return {"run_id": run_id, "status": "stored"}

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        """Email the report once: the run moves stored -> sending (one attempt wins) -> sent. An SES
        error puts it back to stored, so the task's retry sends it; a crash after SES accepted it leaves
        it 'sending', never sent twice."""
        run_id = event["run_id"]
        if not event.get("send", True):
            return {"run_id": run_id, "status": "stored"}
        run = self.repo.run(run_id)
        if run is None:
            raise NotFound(f"no report run {run_id}")
        if not self.repo.advance(run_id, ("stored",), "sending"):
            return {"run_id": run_id, "status": run["status"]}
        who = self.repo.recipient(run["user_id"])
        if who is None or self.address_suppressed(who["email"]):
            self.repo.advance(run_id, ("sending",), "skipped", detail="address suppressed")
            return {"run_id": run_id, "status": "skipped"}
        try:
            parts = json.loads(self.store().get(event["email_key"]))
            name = f"{run['kind']}-{run['period']}.pdf"
            link = self.store().presign(run["pdf_key"], LINK_SECONDS, name)
            unsub = self.unsubscribe_url(run["user_id"], run["kind"])
            email = _fill(parts, link=link, unsubscribe=unsub, app_url=self.app_url)
            from stockscreen.alerts.email import mime

            raw = mime(email, sender=self.sender, to=who["email"])
            message_id = self.mailer().send(raw, sender=self.sender, to=who["email"])
        except Exception:
            self.repo.advance(run_id, ("sending",), "stored")
            raise
        self.repo.advance(run_id, ("sending",), "sent", message_id=message_id)
        return {"run_id": run_id, "status": "sent", "message_id": message_id}

    def record_failure(self, event: dict[str, Any]) -> dict[str, Any]:
        """The workflow's Catch: the run is marked failed with the error (a later tick retries it, up to
        the attempt limit)."""
        err = event.get("error") or {}
        cause = str(err.get("Cause", ""))
        with contextlib.suppress(ValueError, AttributeError):  # a Lambda error's cause is its JSON payload
            cause = str(json.loads(cause).get("errorMessage", cause))
        detail = f"{err.get('Error', 'Error')}: {cause}"[:1000]
        run_id = (event.get("build") or {}).get("run_id")
        if run_id is None:
            item = event.get("item") or {}
            found = self.repo.run_of(item.get("user_id", ""), item.get("kind", ""), item.get("period", ""))
            run_id = found["id"] if found else None
        if run_id is not None:
            self.repo.advance(run_id, ("building", "built", "stored", "sending"), "failed", detail=detail)
        logger.error("report failed", extra={"run_id": run_id, "detail": detail})
        return {"run_id": run_id, "status": "failed", "detail": detail}


def _prefix(user_id: str, run_id: str) -> str:
    return f"reports/{user_id}/{run_id}"


def _fill(parts: dict[str, Any], *, link: str, unsubscribe: str, app_url: str) -> Any:
    """The rendered email with the per-send values put in (the link is only known at send time)."""
    from html import escape

    from stockscreen.alerts.email import Email

    def put(s: str, html: bool) -> str:
        esc = escape if html else (lambda x: x)
        return (
            s.replace("__DOWNLOAD_URL__", esc(link))
            .replace("__UNSUBSCRIBE_URL__", esc(unsubscribe))
            .replace("__APP_URL__", esc(app_url.rstrip("/")))
        )

    return Email(
        subject=parts["subject"],
        text=put(parts["text"], False),
        html=put(parts["html"], True),
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def _public(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "kind": r["kind"],
        "period": r["period"],
        "title": r["title"],
        "status": r["status"],
        "has_csv": r["csv_key"] is not None,
        "pdf_bytes": r["pdf_bytes"],
        "created_at": r["created_at"].isoformat(),
        "sent_at": r["sent_at"].isoformat() if r["sent_at"] else None,
    }
