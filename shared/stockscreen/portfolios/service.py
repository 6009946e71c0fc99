"""Portfolios: transactions (buy, sell, dividend, split), holdings with FIFO cost basis, realised and
unrealised P&L, and a value series with its performance against the equal-weighted universe index."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from stockscreen.core import policy
from stockscreen.core.errors import Conflict, Invalid, NotFound
from stockscreen.core.paging import PageRequest
from stockscreen.market.latest import latest_quotes

Kind = Literal["buy", "sell", "dividend", "split"]
ZERO = Decimal(0)


@dataclass(frozen=True)
class Txn:
    kind: str
    symbol: str
    date: dt.date
    quantity: Decimal  # shares (buy/sell/dividend: shares the dividend is paid on) or split ratio
    price: Decimal  # per share (dividend: amount per share; split: unused, 0)
    fees: Decimal = ZERO
    id: str = ""


@dataclass
class Position:
    lots: deque[list[Decimal]] = field(default_factory=deque)  # [quantity, cost per share incl. fees]
    realised: Decimal = ZERO
    dividends: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def quantity(self) -> Decimal:
        return sum((lot[0] for lot in self.lots), ZERO)

    @property
    def cost_basis(self) -> Decimal:
        return sum((lot[0] * lot[1] for lot in self.lots), ZERO)


def replay(txns: list[Txn]) -> dict[str, Position]:
    """Apply transactions in order (FIFO lots). A sell of more than is held is Invalid."""
    book: dict[str, Position] = defaultdict(Position)
    for t in txns:
        pos = book[t.symbol]
        if t.kind == "buy":
            pos.lots.append([t.quantity, (t.quantity * t.price + t.fees) / t.quantity])
            pos.fees += t.fees
        elif t.kind == "sell":
            held = pos.quantity
            if t.quantity > held:
                raise Invalid(
                    f"sell of {t.quantity.normalize()} {t.symbol} on {t.date} exceeds the {held.normalize()} held",
                    {"symbol": t.symbol, "date": t.date.isoformat(), "held": str(held.normalize())},
                )
            left = t.quantity
            cost = ZERO
            while left > 0:
                lot = pos.lots[0]
                take = min(left, lot[0])
                cost += take * lot[1]
                lot[0] -= take
                left -= take
                if lot[0] == 0:
                    pos.lots.popleft()
            pos.realised += t.quantity * t.price - t.fees - cost
            pos.fees += t.fees
        elif t.kind == "dividend":
            pos.dividends += t.quantity * t.price - t.fees
            pos.fees += t.fees
        elif t.kind == "split":
            for lot in pos.lots:
                lot[0] *= t.quantity
                lot[1] /= t.quantity
        else:
            raise Invalid(f"unknown transaction kind {t.kind!r}")
    return dict(book)


def _f(d: Decimal) -> float:
    return float(round(d, 6))


def _lock_owned(conn: Connection, user_id: str, pf_id: str) -> None:
    """Lock the caller's portfolio row for this transaction (NotFound when it isn't theirs)."""
    owned = conn.execute(
        text("SELECT 1 FROM portfolios WHERE id = :id AND user_id = :u FOR UPDATE"), {"id": pf_id, "u": user_id}
    ).first()
    if owned is None:
        raise NotFound(f"no portfolio {pf_id}")


def _check_history(conn: Connection, pf_id: str) -> None:
    """Replay the portfolio's history as it now stands in ``conn``: raises (so the change rolls back)
    when it sells more than is held at any point."""
    rows = conn.execute(
        text(
            "SELECT kind, symbol, date, quantity, price, fees FROM portfolio_transactions "
            "WHERE portfolio_id = :p ORDER BY date, seq"
        ),
        {"p": pf_id},
    ).all()
    replay([Txn(kind=r[0], symbol=r[1], date=r[2], quantity=r[3], price=r[4], fees=r[5]) for r in rows])


class PortfolioService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- portfolios --------------------------------------------------------------------------
    def list_mine(self, user_id: str, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            total = conn.execute(
                text("SELECT count(*) FROM portfolios WHERE user_id = :u"), {"u": user_id}
            ).scalar_one()
            rows = conn.execute(
                text(
                    "SELECT p.id, p.name, p.created_at, (SELECT count(*) FROM portfolio_transactions t "
                    "WHERE t.portfolio_id = p.id) AS n FROM portfolios p WHERE p.user_id = :u "
                    "ORDER BY p.created_at, p.id LIMIT :l OFFSET :o"
                ),
                {"u": user_id, "l": page.limit, "o": page.offset},
            ).all()
        return [
            {"id": str(r[0]), "name": r[1], "created_at": r[2].isoformat(), "transaction_count": int(r[3])}
            for r in rows
        ], int(total)

    def create(self, user_id: str, role: str, name: str) -> dict[str, Any]:
        try:
            with self.engine.begin() as conn:
                conn.execute(text("SELECT 1 FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})
                used = conn.execute(
                    text("SELECT count(*) FROM portfolios WHERE user_id = :u"), {"u": user_id}
                ).scalar_one()
                policy.check_quota(role, "portfolios", int(used))
                row = conn.execute(
                    text("INSERT INTO portfolios (user_id, name) VALUES (:u, :n) RETURNING id, name, created_at"),
                    {"u": user_id, "n": name},
                ).one()
        except IntegrityError:
            raise Conflict(f"you already have a portfolio named {name!r}") from None
        return {"id": str(row[0]), "name": row[1], "created_at": row[2].isoformat(), "transaction_count": 0}

    def _owned(self, user_id: str, pf_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT p.id, p.name, p.created_at, (SELECT count(*) FROM portfolio_transactions t "
                    "WHERE t.portfolio_id = p.id) FROM portfolios p WHERE p.id = :id AND p.user_id = :u"
                ),
                {"id": pf_id, "u": user_id},
            ).first()
        if row is None:
            raise NotFound(f"no portfolio {pf_id}")
        return {"id": str(row[0]), "name": row[1], "created_at": row[2].isoformat(), "transaction_count": int(row[3])}

    def get(self, user_id: str, pf_id: str) -> dict[str, Any]:
        return {**self._owned(user_id, pf_id), **self.holdings(user_id, pf_id)}

    def rename(self, user_id: str, pf_id: str, name: str) -> dict[str, Any]:
        try:
            with self.engine.begin() as conn:
                n = conn.execute(
                    text("UPDATE portfolios SET name = :n WHERE id = :id AND user_id = :u"),
                    {"n": name, "id": pf_id, "u": user_id},
                ).rowcount
        except IntegrityError:
            raise Conflict(f"you already have a portfolio named {name!r}") from None
        if n == 0:
            raise NotFound(f"no portfolio {pf_id}")
        return self._owned(user_id, pf_id)

    def delete(self, user_id: str, pf_id: str) -> None:
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM portfolios WHERE id = :id AND user_id = :u"), {"id": pf_id, "u": user_id}
            ).rowcount
        if n == 0:
            raise NotFound(f"no portfolio {pf_id}")

    # -- transactions ------------------------------------------------------------------------
    def _txns(self, pf_id: str) -> list[Txn]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, kind, symbol, date, quantity, price, fees FROM portfolio_transactions "
                    "WHERE portfolio_id = :p ORDER BY date, seq"
                ),
                {"p": pf_id},
            ).all()
        return [
            Txn(id=str(r[0]), kind=r[1], symbol=r[2], date=r[3], quantity=r[4], price=r[5], fees=r[6]) for r in rows
        ]

    def transactions(self, user_id: str, pf_id: str, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        self._owned(user_id, pf_id)
        txns = self._txns(pf_id)
        window = txns[page.offset : page.offset + page.limit]
        return [_txn_public(t) for t in window], len(txns)

    def add_transaction(self, user_id: str, pf_id: str, t: Txn) -> dict[str, Any]:
        with self.engine.begin() as conn:
            _lock_owned(conn, user_id, pf_id)
            if conn.execute(text("SELECT 1 FROM securities WHERE symbol = :s"), {"s": t.symbol}).first() is None:
                raise Invalid(f"unknown symbol {t.symbol!r}", {"symbol": t.symbol})
            row = conn.execute(
                text(
                    "INSERT INTO portfolio_transactions (portfolio_id, kind, symbol, date, quantity, price, fees) "
                    "VALUES (:p, :k, :s, :d, :q, :pr, :f) RETURNING id"
                ),
                {"p": pf_id, "k": t.kind, "s": t.symbol, "d": t.date, "q": t.quantity, "pr": t.price, "f": t.fees},
            ).one()
            _check_history(conn, pf_id)
        return _txn_public(Txn(**{**t.__dict__, "id": str(row[0])}))

    def delete_transaction(self, user_id: str, pf_id: str, txn_id: str) -> None:
        with self.engine.begin() as conn:
            _lock_owned(conn, user_id, pf_id)
            n = conn.execute(
                text("DELETE FROM portfolio_transactions WHERE id = :t AND portfolio_id = :p"),
                {"t": txn_id, "p": pf_id},
            ).rowcount
            if n == 0:
                raise NotFound(f"no transaction {txn_id}")
            _check_history(conn, pf_id)

    # -- derived -----------------------------------------------------------------------------
    def holdings(self, user_id: str, pf_id: str) -> dict[str, Any]:
        self._owned(user_id, pf_id)
        book = replay(self._txns(pf_id))
        prices = {q["symbol"]: q for q in latest_quotes(self.engine, list(book))} if book else {}
        out = []
        tot_cost = tot_value = tot_real = tot_div = ZERO
        for sym in sorted(book):
            pos = book[sym]
            qty, cost = pos.quantity, pos.cost_basis
            q = prices.get(sym)
            price = Decimal(str(q["price"])) if q and q["price"] is not None else None
            value = qty * price if price is not None else None
            unreal = value - cost if value is not None else None
            out.append(
                {
                    "symbol": sym,
                    "quantity": _f(qty),
                    "cost_basis": _f(cost),
                    "average_cost": _f(cost / qty) if qty else None,
                    "price": _f(price) if price is not None else None,
                    "price_as_of": q["ts"] if q else None,
                    "market_value": _f(value) if value is not None else None,
                    "unrealised_pnl": _f(unreal) if unreal is not None else None,
                    "unrealised_pct": _f(unreal / cost * 100) if unreal is not None and cost else None,
                    "realised_pnl": _f(pos.realised),
                    "dividends": _f(pos.dividends),
                    "fees": _f(pos.fees),
                }
            )
            tot_cost += cost
            tot_value += value or ZERO
            tot_real += pos.realised
            tot_div += pos.dividends
        return {
            "holdings": out,
            "totals": {
                "cost_basis": _f(tot_cost),
                "market_value": _f(tot_value),
                "unrealised_pnl": _f(tot_value - tot_cost),
                "realised_pnl": _f(tot_real),
                "dividends": _f(tot_div),
            },
        }

    def performance(self, user_id: str, pf_id: str, start: dt.date | None, end: dt.date | None) -> dict[str, Any]:
        """Daily value, time-weighted index (100 = first day) and the equal-weighted universe index."""
        self._owned(user_id, pf_id)
        txns = self._txns(pf_id)
        if not txns:
            return {"data": [], "count": 0, "portfolio_return_pct": None, "universe_return_pct": None}
        first = max(start or txns[0].date, txns[0].date)
        symbols = sorted({t.symbol for t in txns})
        with self.engine.connect() as conn:
            last = end or conn.execute(text("SELECT max(date) FROM daily_bars")).scalar()
            if last is None or last < first:
                return {"data": [], "count": 0, "portfolio_return_pct": None, "universe_return_pct": None}
            bars = conn.execute(
                text(
                    "SELECT b.date, s.symbol, b.close FROM daily_bars b JOIN securities s ON s.id = b.security_id "
                    "WHERE s.symbol = ANY(:syms) AND b.date BETWEEN :a AND :b ORDER BY b.date"
                ),
                {"syms": symbols, "a": first - dt.timedelta(days=10), "b": last},
            ).all()
            universe = conn.execute(
                text(
                    "SELECT date, avg(ret) FROM (SELECT date, close / NULLIF(lag(close) OVER "
                    "(PARTITION BY security_id ORDER BY date), 0) - 1 AS ret FROM daily_bars "
                    "WHERE date BETWEEN :a AND :b) r WHERE ret IS NOT NULL AND date > :first "
                    "GROUP BY date ORDER BY date"
                ),
                {"a": first - dt.timedelta(days=10), "b": last, "first": first},
            ).all()
        uni = {r[0]: float(r[1]) for r in universe}
        closes: dict[dt.date, dict[str, float]] = defaultdict(dict)
        for d, sym, c in bars:
            closes[d][sym] = float(c)
        days = sorted(d for d in closes if first <= d <= last)
        latest_close: dict[str, float] = {}
        for d in sorted(closes):
            if d >= first:
                break
            latest_close.update(closes[d])
        by_day: dict[dt.date, list[Txn]] = defaultdict(list)
        for t in txns:
            by_day[t.date].append(t)
        applied: list[Txn] = [t for t in txns if t.date < first]
        series = []
        prev_value: float | None = None
        p_index = u_index = 100.0
        pending = sorted(d for d in by_day if d >= first)
        book = replay(applied)
        for d in days:
            latest_close.update(closes[d])
            flow = income = 0.0
            changed = False
            while pending and pending[0] <= d:
                changed = True
                for t in by_day[pending.pop(0)]:
                    applied.append(t)
                    amount = float(t.quantity * t.price)
                    if t.kind == "buy":
                        flow += amount + float(t.fees)
                    elif t.kind == "sell":
                        flow -= amount - float(t.fees)
                    elif t.kind == "dividend":
                        income += amount - float(t.fees)
            if changed:
                book = replay(applied)
            value = sum(float(p.quantity) * latest_close.get(s, 0.0) for s, p in book.items())
            if prev_value:
                p_index *= (value - flow + income) / prev_value
                u_index *= 1 + uni.get(d, 0.0)
            series.append(
                {
                    "date": d.isoformat(),
                    "value": round(value, 4),
                    "net_flow": round(flow, 4),
                    "portfolio_index": round(p_index, 4),
                    "universe_index": round(u_index, 4),
                }
            )
            prev_value = value
        return {
            "data": series,
            "count": len(series),
            "portfolio_return_pct": round(p_index - 100, 4) if series else None,
            "universe_return_pct": round(u_index - 100, 4) if series else None,
        }


def _txn_public(t: Txn) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind,
        "symbol": t.symbol,
        "date": t.date.isoformat(),
        "quantity": _f(t.quantity),
        "price": _f(t.price),
        "fees": _f(t.fees),
    }
