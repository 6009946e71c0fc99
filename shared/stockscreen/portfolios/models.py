"""Portfolio domain types: a transaction and a position (FIFO lots)."""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

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
