"""What every feature's repository shares: the engine, and one transaction at a time.

A repository whose writes take several statements under one lock (a quota count, then the insert)
names the class of its transaction-scoped statements; ``transaction()`` yields one over a fresh
transaction, committed when the block ends and rolled back when it raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine

TxT = TypeVar("TxT")


class Repository(Generic[TxT]):
    tx_class: Callable[[Connection], TxT]

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[TxT]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self.engine.begin() as conn:
            yield self.tx_class(conn)
