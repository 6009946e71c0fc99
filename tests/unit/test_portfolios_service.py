"""PortfolioService over in-memory fakes (no database): transactions and their validation, FIFO holdings,
realised and unrealised P&L, splits and dividends, quotas, ownership and the performance series."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal as D
from typing import Any

import pytest

from stockscreen.core.errors import Conflict, Forbidden, Invalid, NotFound
from stockscreen.core.paging import PageRequest
from stockscreen.market.service import MarketService
from stockscreen.portfolios.models import Txn
from stockscreen.portfolios.service import PortfolioService
from stockscreen.realtime.messages import Quote

NOW = dt.datetime(2018, 2, 8, 12, 0, tzinfo=dt.UTC)


class FakePortfolios:
    """The PortfolioRepository interface over dicts; a transaction that raises leaves nothing behind."""

    def __init__(self, securities: set[str]) -> None:
        self.securities = securities
        self.portfolios: dict[str, dict[str, Any]] = {}  # id -> {user_id, name, created_at}
        self.txns: dict[str, list[tuple[int, Txn]]] = {}  # portfolio id -> [(seq, txn)]
        self.bars: list[tuple[dt.date, str, float]] = []
        self.universe: dict[dt.date, float] = {}
        self._ids = itertools.count(1)

    # the write transaction (the repository hands out a separate object; here the fake is both)
    @contextmanager
    def transaction(self) -> Iterator[FakePortfolios]:
        saved = copy.deepcopy((self.portfolios, self.txns))
        try:
            yield self
        except BaseException:
            self.portfolios, self.txns = saved
            raise

    def lock_user(self, user_id: str) -> None:
        pass

    def count(self, user_id: str) -> int:
        return sum(1 for p in self.portfolios.values() if p["user_id"] == user_id)

    def insert(self, user_id: str, name: str) -> dict[str, Any]:
        if any(p["user_id"] == user_id and p["name"] == name for p in self.portfolios.values()):
            raise Conflict(f"you already have a portfolio named {name!r}")
        pf_id = f"pf{next(self._ids)}"
        self.portfolios[pf_id] = {"user_id": user_id, "name": name, "created_at": NOW}
        self.txns[pf_id] = []
        return self._summary(pf_id)

    def lock_owned(self, user_id: str, pf_id: str) -> None:
        if self.summary(user_id, pf_id) is None:
            raise NotFound(f"no portfolio {pf_id}")

    def symbol_exists(self, symbol: str) -> bool:
        return symbol in self.securities

    def insert_transaction(self, pf_id: str, t: Txn) -> str:
        seq = next(self._ids)
        txn_id = f"t{seq}"
        self.txns[pf_id].append((seq, Txn(**{**t.__dict__, "id": txn_id})))
        return txn_id

    def delete_transaction(self, pf_id: str, txn_id: str) -> bool:
        before = len(self.txns[pf_id])
        self.txns[pf_id] = [(s, t) for s, t in self.txns[pf_id] if t.id != txn_id]
        return len(self.txns[pf_id]) < before

    # reads and single-statement writes
    def _summary(self, pf_id: str) -> dict[str, Any]:
        p = self.portfolios[pf_id]
        return {
            "id": pf_id,
            "name": p["name"],
            "created_at": p["created_at"].isoformat(),
            "transaction_count": len(self.txns[pf_id]),
        }

    def list_mine(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        mine = [self._summary(i) for i, p in self.portfolios.items() if p["user_id"] == user_id]
        return mine[offset : offset + limit], len(mine)

    def summary(self, user_id: str, pf_id: str) -> dict[str, Any] | None:
        p = self.portfolios.get(pf_id)
        return self._summary(pf_id) if p is not None and p["user_id"] == user_id else None

    def rename(self, user_id: str, pf_id: str, name: str) -> bool:
        if self.summary(user_id, pf_id) is None:
            return False
        self.portfolios[pf_id]["name"] = name
        return True

    def delete(self, user_id: str, pf_id: str) -> bool:
        if self.summary(user_id, pf_id) is None:
            return False
        del self.portfolios[pf_id], self.txns[pf_id]
        return True

    def transactions(self, pf_id: str) -> list[Txn]:
        return [t for _, t in sorted(self.txns[pf_id], key=lambda st: (st[1].date, st[0]))]

    def last_bar_date(self) -> dt.date | None:
        return max((d for d, _, _ in self.bars), default=None)

    def closes(self, symbols: list[str], start: dt.date, end: dt.date) -> list[tuple[dt.date, str, float]]:
        return sorted(b for b in self.bars if b[1] in symbols and start <= b[0] <= end)

    def universe_returns(self, start: dt.date, end: dt.date, after: dt.date) -> dict[dt.date, float]:
        return {d: r for d, r in self.universe.items() if after < d <= end}


class FakeMarket:
    """The MarketRepository part MarketService.latest_quotes reads: snapshot closes."""

    def __init__(self, closes: dict[str, float]) -> None:
        self.closes = closes

    def snapshot_quotes(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        return {
            s: {"symbol": s, "price": self.closes[s], "change_pct": None, "volume": None, "ts": "2018-02-07"}
            | {"source": "snapshot"}
            for s in symbols
            if s in self.closes
        }


class FakeLive:
    def __init__(self, quotes: dict[str, Quote] | None = None) -> None:
        self.quotes = quotes or {}

    def get(self, symbols: Any) -> dict[str, Quote]:
        return {s.upper(): self.quotes[s.upper()] for s in symbols if s.upper() in self.quotes}


def _service(
    closes: dict[str, float] | None = None, live: dict[str, Quote] | None = None
) -> tuple[PortfolioService, FakePortfolios]:
    repo = FakePortfolios({"AAPL", "MSFT", "XOM"})
    market = MarketService(FakeMarket(closes or {}), FakeLive(live))  # type: ignore[arg-type]
    return PortfolioService(repo, market), repo  # type: ignore[arg-type]


def _t(kind: str, symbol: str, day: int, quantity: Any, price: Any = 0, fees: Any = 0) -> Txn:
    return Txn(kind, symbol, dt.date(2018, 1, day), D(str(quantity)), D(str(price)), D(str(fees)))


def _new(svc: PortfolioService, user: str = "u1", role: str = "premium", name: str = "Main") -> str:
    return str(svc.create(user, role, name)["id"])


def test_fifo_holdings_realised_unrealised_and_dividends() -> None:
    svc, _ = _service(closes={"AAPL": 150.0})
    pf = _new(svc)
    for t in (
        _t("buy", "AAPL", 2, 10, 100, 10),  # cost 101/share incl. fees
        _t("buy", "AAPL", 3, 10, 120),
        _t("sell", "AAPL", 4, 15, 130, 5),  # FIFO: 10 @ 101 + 5 @ 120 = 1610; proceeds 1950 - 5
        _t("dividend", "AAPL", 5, 5, "0.63"),
    ):
        svc.add_transaction("u1", pf, t)
    got = svc.get("u1", pf)
    assert got["transaction_count"] == 4
    (h,) = got["holdings"]
    assert h["symbol"] == "AAPL" and h["quantity"] == 5 and h["cost_basis"] == 600 and h["average_cost"] == 120
    assert h["realised_pnl"] == 335 and h["dividends"] == pytest.approx(3.15) and h["fees"] == 15
    assert h["price"] == 150 and h["price_as_of"] == "2018-02-07"
    assert h["market_value"] == 750 and h["unrealised_pnl"] == 150 and h["unrealised_pct"] == 25
    assert got["totals"] == {
        "cost_basis": 600,
        "market_value": 750,
        "unrealised_pnl": 150,
        "realised_pnl": 335,
        "dividends": pytest.approx(3.15),
    }


def test_the_live_quote_prices_a_holding_before_the_snapshot() -> None:
    live = {"AAPL": Quote(symbol="AAPL", price=200.0, ts=NOW)}
    svc, _ = _service(closes={"AAPL": 150.0}, live=live)
    pf = _new(svc)
    svc.add_transaction("u1", pf, _t("buy", "AAPL", 2, 2, 100))
    (h,) = svc.holdings("u1", pf)["holdings"]
    assert h["price"] == 200 and h["price_as_of"] == NOW.isoformat() and h["unrealised_pnl"] == 200


def test_a_holding_without_any_price_has_no_value() -> None:
    svc, _ = _service()
    pf = _new(svc)
    svc.add_transaction("u1", pf, _t("buy", "MSFT", 2, 3, 10))
    (h,) = svc.holdings("u1", pf)["holdings"]
    assert h["price"] is None and h["market_value"] is None and h["unrealised_pnl"] is None
    assert h["cost_basis"] == 30


def test_a_split_keeps_the_cost_and_spreads_it_over_more_shares() -> None:
    svc, _ = _service(closes={"XOM": 60.0})
    pf = _new(svc)
    svc.add_transaction("u1", pf, _t("buy", "XOM", 2, 10, 100))
    svc.add_transaction("u1", pf, _t("split", "XOM", 3, 2))
    (h,) = svc.holdings("u1", pf)["holdings"]
    assert (h["quantity"], h["cost_basis"], h["average_cost"]) == (20, 1000, 50)
    # after the split, all 20 shares can be sold (the pre-split 10 could not cover them)
    svc.add_transaction("u1", pf, _t("sell", "XOM", 4, 20, 55))
    (h,) = svc.holdings("u1", pf)["holdings"]
    assert h["quantity"] == 0 and h["realised_pnl"] == 100 and h["average_cost"] is None


def test_selling_more_than_held_is_refused_and_nothing_is_recorded() -> None:
    svc, repo = _service()
    pf = _new(svc)
    svc.add_transaction("u1", pf, _t("buy", "AAPL", 2, 12, 100))
    with pytest.raises(Invalid, match="sell of 13 AAPL on 2018-01-03 exceeds the 12 held") as err:
        svc.add_transaction("u1", pf, _t("sell", "AAPL", 3, 13, 100))
    assert err.value.details == {"symbol": "AAPL", "date": "2018-01-03", "held": "12"}
    # a sell dated before the buy is also uncovered, even though the total would be
    with pytest.raises(Invalid, match="exceeds the 0 held"):
        svc.add_transaction("u1", pf, _t("sell", "AAPL", 1, 5, 100))
    assert [t.kind for t in repo.transactions(pf)] == ["buy"]
    assert svc.transactions("u1", pf, PageRequest())[1] == 1


def test_deleting_a_transaction_that_covers_a_sell_is_refused() -> None:
    svc, repo = _service()
    pf = _new(svc)
    buy = svc.add_transaction("u1", pf, _t("buy", "AAPL", 2, 10, 100))
    sell = svc.add_transaction("u1", pf, _t("sell", "AAPL", 3, 4, 110))
    with pytest.raises(Invalid, match="exceeds"):
        svc.delete_transaction("u1", pf, buy["id"])
    assert [t.id for t in repo.transactions(pf)] == [buy["id"], sell["id"]]
    svc.delete_transaction("u1", pf, sell["id"])
    assert [t.id for t in repo.transactions(pf)] == [buy["id"]]
    with pytest.raises(NotFound, match="no transaction"):
        svc.delete_transaction("u1", pf, sell["id"])


def test_an_unknown_symbol_is_invalid_and_the_answer_is_rounded() -> None:
    svc, _ = _service()
    pf = _new(svc)
    with pytest.raises(Invalid, match="unknown symbol 'NOPE'"):
        svc.add_transaction("u1", pf, _t("buy", "NOPE", 2, 1, 1))
    made = svc.add_transaction("u1", pf, _t("buy", "AAPL", 2, "1.5", "100.1234567", "0.5"))
    assert made == {
        "id": made["id"],
        "kind": "buy",
        "symbol": "AAPL",
        "date": "2018-01-02",
        "quantity": 1.5,
        "price": 100.123457,
        "fees": 0.5,
    }


def test_transactions_are_listed_in_date_order_one_page_at_a_time() -> None:
    svc, _ = _service()
    pf = _new(svc)
    for day in (5, 2, 4, 3):
        svc.add_transaction("u1", pf, _t("buy", "AAPL", day, 1, day))
    data, total = svc.transactions("u1", pf, PageRequest(limit=2, offset=1))
    assert total == 4 and [t["date"] for t in data] == ["2018-01-03", "2018-01-04"]


def test_another_users_portfolio_does_not_exist() -> None:
    svc, _ = _service()
    pf = _new(svc, "owner")
    for call in (
        lambda: svc.get("other", pf),
        lambda: svc.holdings("other", pf),
        lambda: svc.rename("other", pf, "x"),
        lambda: svc.delete("other", pf),
        lambda: svc.transactions("other", pf, PageRequest()),
        lambda: svc.add_transaction("other", pf, _t("buy", "NOPE", 2, 1, 1)),  # 404 before the symbol's 400
        lambda: svc.performance("other", pf, None, None),
    ):
        with pytest.raises(NotFound, match=f"no portfolio {pf}"):
            call()
    assert svc.list_mine("other", PageRequest()) == ([], 0)
    assert svc.get("owner", pf)["name"] == "Main"


def test_quota_per_role() -> None:
    svc, _ = _service()
    _new(svc, "free-user", "free")
    with pytest.raises(Forbidden):
        _new(svc, "free-user", "free", "Second")
    for i in range(10):
        _new(svc, "paying", "premium", f"p{i}")
    with pytest.raises(Forbidden):
        _new(svc, "paying", "premium", "p10")
    data, total = svc.list_mine("paying", PageRequest(limit=3))
    assert total == 10 and [p["name"] for p in data] == ["p0", "p1", "p2"]


def test_rename_and_delete() -> None:
    svc, _ = _service()
    pf = _new(svc)
    assert svc.rename("u1", pf, "Renamed")["name"] == "Renamed"
    svc.delete("u1", pf)
    with pytest.raises(NotFound):
        svc.get("u1", pf)


def test_performance_is_time_weighted_and_counts_dividends_as_income() -> None:
    svc, repo = _service()
    d = [dt.date(2018, 1, i) for i in (1, 2, 3, 4)]
    repo.bars = [(d[0], "AAPL", 90.0), (d[1], "AAPL", 100.0), (d[2], "AAPL", 110.0), (d[3], "AAPL", 121.0)]
    repo.bars += [(day, "MSFT", 50.0) for day in d]
    repo.universe = {d[2]: 0.05, d[3]: -0.1}
    pf = _new(svc)
    svc.add_transaction("u1", pf, _t("buy", "AAPL", 2, 10, 100, 5))
    svc.add_transaction("u1", pf, _t("dividend", "AAPL", 3, 10, 1))
    svc.add_transaction("u1", pf, _t("buy", "MSFT", 4, 10, 50))  # new money is a flow, not a return
    got = svc.performance("u1", pf, None, None)
    assert [p["date"] for p in got["data"]] == ["2018-01-02", "2018-01-03", "2018-01-04"]
    assert [p["value"] for p in got["data"]] == [1000, 1100, 1710]
    assert [p["net_flow"] for p in got["data"]] == [1005, 0, 500]
    # day 2: (1100 + 10 dividend) / 1000; day 3: (1710 - 500) / 1100
    assert [p["portfolio_index"] for p in got["data"]] == [100, 111, pytest.approx(122.1)]
    assert [p["universe_index"] for p in got["data"]] == [100, 105, 94.5]
    assert got["count"] == 3 and got["portfolio_return_pct"] == pytest.approx(22.1)
    assert got["universe_return_pct"] == pytest.approx(-5.5)
    later = svc.performance("u1", pf, dt.date(2018, 1, 3), None)
    assert [p["value"] for p in later["data"]] == [1100, 1710] and later["data"][0]["portfolio_index"] == 100


def test_performance_of_an_empty_portfolio_or_range_is_empty() -> None:
    svc, repo = _service()
    empty = {"data": [], "count": 0, "portfolio_return_pct": None, "universe_return_pct": None}
    pf = _new(svc)
    assert svc.performance("u1", pf, None, None) == empty
    svc.add_transaction("u1", pf, _t("buy", "AAPL", 5, 1, 1))
    assert svc.performance("u1", pf, None, None) == empty  # no bars at all
    repo.bars = [(dt.date(2018, 1, 4), "AAPL", 1.0)]
    assert svc.performance("u1", pf, None, None) == empty  # the last bar is before the first transaction
