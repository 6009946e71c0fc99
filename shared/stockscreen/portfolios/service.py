"""Portfolios: transactions (buy, sell, dividend, split), holdings with FIFO cost basis, realised and
unrealised P&L, and a value series with its performance against the equal-weighted universe index."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from stockscreen.core import policy
from stockscreen.core.errors import Invalid, NotFound
from stockscreen.core.paging import PageRequest
from stockscreen.market.service import MarketService
from stockscreen.portfolios.models import ZERO, Position, Txn
from stockscreen.portfolios.repository import PortfolioRepository


def _plain(q: Decimal) -> str:
    """A quantity as people write it: no exponent, no trailing zeros (10, not 1E+1; 2.5, not 2.50)."""
    return f"{q.normalize():f}"


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
                    f"sell of {_plain(t.quantity)} {t.symbol} on {t.date} exceeds the {_plain(held)} held",
                    {"symbol": t.symbol, "date": t.date.isoformat(), "held": _plain(held)},
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


class PortfolioService:
    def __init__(self, repo: PortfolioRepository, market: MarketService) -> None:
        self.repo = repo
        self.market = market

    @classmethod
    def from_engine(cls, engine: Engine) -> PortfolioService:
        return cls(PortfolioRepository(engine), MarketService.from_engine(engine))

    # -- portfolios --------------------------------------------------------------------------
    def list_mine(self, user_id: str, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        return self.repo.list_mine(user_id, page.limit, page.offset)

    def create(self, user_id: str, role: str, name: str) -> dict[str, Any]:
        with self.repo.transaction() as tx:
            tx.lock_user(user_id)
            policy.check_quota(role, "portfolios", tx.count(user_id))
            return tx.insert(user_id, name)

    def _owned(self, user_id: str, pf_id: str) -> dict[str, Any]:
        found = self.repo.summary(user_id, pf_id)
        if found is None:
            raise NotFound(f"no portfolio {pf_id}")
        return found

    def get(self, user_id: str, pf_id: str) -> dict[str, Any]:
        return {**self._owned(user_id, pf_id), **self.holdings(user_id, pf_id)}

    def rename(self, user_id: str, pf_id: str, name: str) -> dict[str, Any]:
        if not self.repo.rename(user_id, pf_id, name):
            raise NotFound(f"no portfolio {pf_id}")
        return self._owned(user_id, pf_id)

    def delete(self, user_id: str, pf_id: str) -> None:
        if not self.repo.delete(user_id, pf_id):
            raise NotFound(f"no portfolio {pf_id}")

    # -- transactions ------------------------------------------------------------------------
    def transactions(self, user_id: str, pf_id: str, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        self._owned(user_id, pf_id)
        txns = self.repo.transactions(pf_id)
        window = txns[page.offset : page.offset + page.limit]
        return [_txn_public(t) for t in window], len(txns)

    def add_transaction(self, user_id: str, pf_id: str, t: Txn) -> dict[str, Any]:
        """Record ``t``; Invalid (and nothing recorded) when the history would then sell more than it holds."""
        with self.repo.transaction() as tx:
            tx.lock_owned(user_id, pf_id)
            if not tx.symbol_exists(t.symbol):
                raise Invalid(f"unknown symbol {t.symbol!r}", {"symbol": t.symbol})
            txn_id = tx.insert_transaction(pf_id, t)
            replay(tx.transactions(pf_id))  # raises, rolling the insert back, on an oversell
        return _txn_public(Txn(**{**t.__dict__, "id": txn_id}))

    def delete_transaction(self, user_id: str, pf_id: str, txn_id: str) -> None:
        """Delete a transaction; Invalid (and nothing deleted) when the rest would sell more than it holds."""
        with self.repo.transaction() as tx:
            tx.lock_owned(user_id, pf_id)
            if not tx.delete_transaction(pf_id, txn_id):
                raise NotFound(f"no transaction {txn_id}")
            replay(tx.transactions(pf_id))

    def transactions_until(self, user_id: str, pf_id: str, day: dt.date) -> list[Txn]:
        """The portfolio's transactions dated up to ``day``, in date order (a report values the book at a close)."""
        self._owned(user_id, pf_id)
        return [t for t in self.repo.transactions(pf_id) if t.date <= day]

    # -- derived -----------------------------------------------------------------------------
    def holdings(self, user_id: str, pf_id: str) -> dict[str, Any]:
        self._owned(user_id, pf_id)
        book = replay(self.repo.transactions(pf_id))
        prices = {q["symbol"]: q for q in self.market.latest_quotes(list(book))} if book else {}
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
        txns = self.repo.transactions(pf_id)
        if not txns:
            return {"data": [], "count": 0, "portfolio_return_pct": None, "universe_return_pct": None}
        first = max(start or txns[0].date, txns[0].date)
        symbols = sorted({t.symbol for t in txns})
        last = end or self.repo.last_bar_date()
        if last is None or last < first:
            return {"data": [], "count": 0, "portfolio_return_pct": None, "universe_return_pct": None}
        bars = self.repo.closes(symbols, first - dt.timedelta(days=10), last)
        uni = self.repo.universe_returns(first - dt.timedelta(days=10), last, first)
        closes: dict[dt.date, dict[str, float]] = defaultdict(dict)
        for d, sym, c in bars:
            closes[d][sym] = c
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
