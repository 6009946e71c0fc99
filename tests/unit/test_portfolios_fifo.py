"""FIFO lots, realised P&L, dividends and splits, worked by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from stockscreen.core.errors import Invalid
from stockscreen.portfolios.models import Txn
from stockscreen.portfolios.service import replay


def _t(kind: str, day: int, qty: str, price: str, fees: str = "0", symbol: str = "AAPL") -> Txn:
    return Txn(kind=kind, symbol=symbol, date=dt.date(2018, 1, day), quantity=D(qty), price=D(price), fees=D(fees))


def test_fifo_sell_realises_against_the_oldest_lots() -> None:
    book = replay(
        [
            _t("buy", 2, "10", "100", "10"),  # lot 10 @ 101 (fees in the cost)
            _t("buy", 3, "10", "120"),  # lot 10 @ 120
            _t("sell", 4, "15", "130", "5"),  # 10 @ 101 + 5 @ 120 = 1610 cost; 1945 proceeds
        ]
    )
    pos = book["AAPL"]
    assert pos.realised == D("335")
    assert pos.quantity == D("5") and pos.cost_basis == D("600")
    assert pos.fees == D("15")


def test_split_and_dividend() -> None:
    book = replay(
        [
            _t("buy", 2, "10", "100"),
            _t("split", 5, "2", "0"),  # 20 shares @ 50
            _t("dividend", 8, "20", "0.5", "1"),
            _t("sell", 9, "5", "60"),
        ]
    )
    pos = book["AAPL"]
    assert pos.dividends == D("9")
    assert pos.quantity == D("15") and pos.cost_basis == D("750")
    assert pos.realised == D("50")


def test_overselling_is_refused_with_the_symbol_and_date() -> None:
    with pytest.raises(Invalid) as err:
        replay([_t("buy", 2, "3", "10"), _t("sell", 3, "2", "11"), _t("sell", 4, "2", "11")])
    assert "AAPL" in err.value.message and "2018-01-04" in err.value.message and err.value.details["held"] == "1"


def test_symbols_are_independent() -> None:
    book = replay([_t("buy", 2, "1", "10"), _t("buy", 2, "2", "20", symbol="MSFT")])
    assert book["AAPL"].cost_basis == D("10") and book["MSFT"].cost_basis == D("40")
    with pytest.raises(Invalid):
        replay([_t("buy", 2, "1", "10"), _t("sell", 3, "1", "10", symbol="MSFT")])


def test_oversell_message_writes_quantities_without_exponents() -> None:
    """Ten shares held read "10", not Decimal's normalised "1E+1"."""
    with pytest.raises(Invalid, match=r"sell of 20 AAPL on 2018-01-02 exceeds the 10 held") as err:
        replay([_t("buy", 2, "10.000", "100"), _t("sell", 2, "20", "100")])
    assert err.value.details["held"] == "10"
