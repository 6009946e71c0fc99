"""Reports in ``make dev``: the reports workflow deployed on the local Step Functions, the demo account's
schedule and a first digest, and the stand-in for EventBridge Scheduler (the fan-out every 15 minutes)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from stockscreen.db.engine import get_engine

log = logging.getLogger("stockscreen.dev")

#: The demo account's things a digest reports on (created once, when the account has none of them).
DEMO_WATCHLIST = ("Demo: large caps", ["AAPL", "MSFT", "AMZN", "GOOGL", "JPM", "XOM", "JNJ", "WMT"])
DEMO_SCREEN = ("Demo: cheap and large", "market_cap > 100B and pe < 20")
DEMO_BUYS = (("AAPL", 20), ("MSFT", 30), ("XOM", 25))


def ensure_demo_reports(email: str) -> str:
    """Give the demo account a watchlist, a saved screen, a portfolio (bought 30 sessions before the
    last) and a daily + weekly schedule, each once; its user id."""
    from stockscreen.portfolios.models import Txn
    from stockscreen.portfolios.service import PortfolioService
    from stockscreen.reports.models import ScheduleSettings
    from stockscreen.reports.wiring import workflow_service
    from stockscreen.screening.saved import SavedScreenIn, SavedScreenService
    from stockscreen.watchlists.service import WatchlistService

    engine = get_engine()
    with engine.connect() as conn:
        user_id, role = conn.execute(text("SELECT id::text, role FROM users WHERE email = :e"), {"e": email}).one()
        has = {
            t: conn.execute(text(f"SELECT 1 FROM {t} WHERE user_id = :u"), {"u": user_id}).first() is not None  # noqa: S608
            for t in ("watchlists", "saved_screens", "portfolios", "report_settings")
        }
        days = [r[0] for r in conn.execute(text("SELECT DISTINCT date FROM daily_bars ORDER BY date DESC LIMIT 31"))]
        prices: dict[str, Decimal] = dict(
            conn.execute(
                text(
                    "SELECT s.symbol, b.close FROM daily_bars b JOIN securities s ON s.id = b.security_id "
                    "WHERE b.date = :d AND s.symbol = ANY(:syms)"
                ),
                {"d": days[-1] if days else None, "syms": [s for s, _ in DEMO_BUYS]},
            ).all()
        )
    if not has["watchlists"]:
        lists = WatchlistService.from_engine(engine)
        wl = lists.create(user_id, role, DEMO_WATCHLIST[0])
        for sym in DEMO_WATCHLIST[1]:
            try:
                lists.add_item(user_id, role, wl["id"], sym, None)
            except Exception:  # noqa: S112 - a symbol missing from a smaller data set
                continue
    if not has["saved_screens"]:
        SavedScreenService.from_engine(engine).create(
            user_id, role, SavedScreenIn(name=DEMO_SCREEN[0], query=DEMO_SCREEN[1])
        )
    if not has["portfolios"] and days:
        pfs = PortfolioService.from_engine(engine)
        pf = pfs.create(user_id, role, "Demo portfolio")
        for sym, qty in DEMO_BUYS:
            if sym in prices:
                pfs.add_transaction(
                    user_id,
                    pf["id"],
                    Txn(kind="buy", symbol=sym, date=days[-1], quantity=Decimal(qty), price=Decimal(str(prices[sym]))),
                )
    if not has["report_settings"]:
        svc = workflow_service(engine)
        svc.save_settings(user_id, ScheduleSettings(daily_enabled=True, weekly_enabled=True))
    return str(user_id)


def send_first_digest(machine: Any, user_id: str) -> dict[str, Any]:
    """The demo account's digest of the last session, through the workflow (once per session: a restart
    finds it sent). Its result."""
    from stockscreen.reports.wiring import workflow_service

    last = workflow_service(get_engine()).last_session()
    if last is None:
        return {"status": "no data"}
    day = last.isoformat()
    item = {"user_id": user_id, "kind": "daily", "period": day, "session": day, "scheduled": False}
    result = machine.run({"items": [item]}, timeout=300)
    outcome = result.get("output") or [{"status": result["status"], "reason": result.get("cause")}]
    return dict(outcome[0])


def start_scheduler(machine: Any, stop: threading.Event, every_s: float) -> threading.Thread:
    """EventBridge Scheduler's stand-in: start the workflow every ``every_s`` (it selects who is due)."""

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                machine.start({"now": dt.datetime.now(dt.UTC).isoformat()})
            except Exception:
                log.exception("the reports tick failed")

    t = threading.Thread(target=loop, name="reports-scheduler", daemon=True)
    t.start()
    return t
