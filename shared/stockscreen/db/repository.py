"""What every feature's repository shares: the engine, and one transaction at a time.

A repository whose writes take several statements under one lock (a quota count, then the insert)
names the class of its transaction-scoped statements; ``transaction()`` yields one over a fresh
transaction, committed when the block ends and rolled back when it raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar, Generic, TypeVar

from sqlalchemy import Connection, Engine, text

TxT = TypeVar("TxT")


class UserRowsTx:
    """The statements of one write transaction over one user's rows of ``table``: the lock that
    serialises the user's quota-checked writes, and the count the quota is checked against."""

    table: ClassVar[str]

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_user(self, user_id: str) -> None:
        """Serialise the user's quota-checked writes."""
        self.conn.execute(text("SELECT 1 FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})

    def count(self, user_id: str) -> int:
        """How many rows of ``table`` the user has (``table`` is a class constant, never input)."""
        sql = f"SELECT count(*) FROM {self.table} WHERE user_id = :u"  # noqa: S608
        return int(self.conn.execute(text(sql), {"u": user_id}).scalar_one())


class Repository(Generic[TxT]):
    tx_class: Callable[[Connection], TxT]

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[TxT]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self.engine.begin() as conn:
            yield self.tx_class(conn)
