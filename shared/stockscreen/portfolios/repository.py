"""Portfolios, their transactions and the closes their performance is measured with, in PostgreSQL
(parameterised SQL only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from stockscreen.core.errors import Conflict, NotFound
from stockscreen.db.repository import Repository, UserRowsTx
from stockscreen.portfolios.models import Txn

_TXNS = (
    "SELECT id, kind, symbol, date, quantity, price, fees FROM portfolio_transactions "
    "WHERE portfolio_id = :p ORDER BY date, seq"
)


def _summary(r: Any) -> dict[str, Any]:
    return {"id": str(r[0]), "name": r[1], "created_at": r[2].isoformat(), "transaction_count": int(r[3])}


def _txns(conn: Connection, pf_id: str) -> list[Txn]:
    rows = conn.execute(text(_TXNS), {"p": pf_id}).all()
    return [Txn(id=str(r[0]), kind=r[1], symbol=r[2], date=r[3], quantity=r[4], price=r[5], fees=r[6]) for r in rows]


def _duplicate_name(name: str) -> Conflict:
    return Conflict(f"you already have a portfolio named {name!r}")


class PortfolioTx(UserRowsTx):
    """The statements of one write transaction (see :meth:`PortfolioRepository.transaction`)."""

    table = "portfolios"

    def insert(self, user_id: str, name: str) -> dict[str, Any]:
        """A new, empty portfolio (Conflict when the name is taken)."""
        try:
            row = self.conn.execute(
                text("INSERT INTO portfolios (user_id, name) VALUES (:u, :n) RETURNING id, name, created_at"),
                {"u": user_id, "n": name},
            ).one()
        except IntegrityError:
            raise _duplicate_name(name) from None
        return _summary((*row, 0))

    def lock_owned(self, user_id: str, pf_id: str) -> None:
        """Lock the user's portfolio row for this transaction (NotFound when it isn't theirs)."""
        owned = self.conn.execute(
            text("SELECT 1 FROM portfolios WHERE id = :id AND user_id = :u FOR UPDATE"), {"id": pf_id, "u": user_id}
        ).first()
        if owned is None:
            raise NotFound(f"no portfolio {pf_id}")

    def symbol_exists(self, symbol: str) -> bool:
        return self.conn.execute(text("SELECT 1 FROM securities WHERE symbol = :s"), {"s": symbol}).first() is not None

    def insert_transaction(self, pf_id: str, t: Txn) -> str:
        row = self.conn.execute(
            text(
                "INSERT INTO portfolio_transactions (portfolio_id, kind, symbol, date, quantity, price, fees) "
                "VALUES (:p, :k, :s, :d, :q, :pr, :f) RETURNING id"
            ),
            {"p": pf_id, "k": t.kind, "s": t.symbol, "d": t.date, "q": t.quantity, "pr": t.price, "f": t.fees},
        ).one()
        return str(row[0])

    def delete_transaction(self, pf_id: str, txn_id: str) -> bool:
        n = self.conn.execute(
            text("DELETE FROM portfolio_transactions WHERE id = :t AND portfolio_id = :p"),
            {"t": txn_id, "p": pf_id},
        ).rowcount
        return n > 0

    def transactions(self, pf_id: str) -> list[Txn]:
        """The portfolio's history as it stands in this transaction, in date order."""
        return _txns(self.conn, pf_id)


class PortfolioRepository(Repository[PortfolioTx]):
    tx_class = PortfolioTx

    def list_mine(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
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
                {"u": user_id, "l": limit, "o": offset},
            ).all()
        return [_summary(r) for r in rows], int(total)

    def summary(self, user_id: str, pf_id: str) -> dict[str, Any] | None:
        """The user's portfolio (id, name, created_at, transaction_count), or None when it isn't theirs."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT p.id, p.name, p.created_at, (SELECT count(*) FROM portfolio_transactions t "
                    "WHERE t.portfolio_id = p.id) FROM portfolios p WHERE p.id = :id AND p.user_id = :u"
                ),
                {"id": pf_id, "u": user_id},
            ).first()
        return _summary(row) if row is not None else None

    def rename(self, user_id: str, pf_id: str, name: str) -> bool:
        """False when the user has no such portfolio (Conflict when the name is taken)."""
        try:
            with self.engine.begin() as conn:
                n = conn.execute(
                    text("UPDATE portfolios SET name = :n WHERE id = :id AND user_id = :u"),
                    {"n": name, "id": pf_id, "u": user_id},
                ).rowcount
        except IntegrityError:
            raise _duplicate_name(name) from None
        return n > 0

    def delete(self, user_id: str, pf_id: str) -> bool:
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM portfolios WHERE id = :id AND user_id = :u"), {"id": pf_id, "u": user_id}
            ).rowcount
        return n > 0

    def transactions(self, pf_id: str) -> list[Txn]:
        """The portfolio's transactions in date order (entry order within a day)."""
        with self.engine.connect() as conn:
            return _txns(conn, pf_id)

    # -- prices for the performance series ------------------------------------------------------
    def last_bar_date(self) -> dt.date | None:
        with self.engine.connect() as conn:
            last: dt.date | None = conn.execute(text("SELECT max(date) FROM daily_bars")).scalar()
        return last

    def closes(self, symbols: list[str], start: dt.date, end: dt.date) -> list[tuple[dt.date, str, float]]:
        """(date, symbol, close) of each daily bar of ``symbols`` in [start, end], by date."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT b.date, s.symbol, b.close FROM daily_bars b JOIN securities s ON s.id = b.security_id "
                    "WHERE s.symbol = ANY(:syms) AND b.date BETWEEN :a AND :b ORDER BY b.date"
                ),
                {"syms": symbols, "a": start, "b": end},
            ).all()
        return [(r[0], r[1], float(r[2])) for r in rows]

    def universe_returns(self, start: dt.date, end: dt.date, after: dt.date) -> dict[dt.date, float]:
        """The equal-weighted mean daily return of every security, for each day after ``after`` up to
        ``end`` (returns measured from the bars in [start, end])."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT date, avg(ret) FROM (SELECT date, close / NULLIF(lag(close) OVER "
                    "(PARTITION BY security_id ORDER BY date), 0) - 1 AS ret FROM daily_bars "
                    "WHERE date BETWEEN :a AND :b) r WHERE ret IS NOT NULL AND date > :first "
                    "GROUP BY date ORDER BY date"
                ),
                {"a": start, "b": end, "first": after},
            ).all()
        return {r[0]: float(r[1]) for r in rows}
