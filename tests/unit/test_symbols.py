"""One symbol rule: the WebSocket and every HTTP API schema that takes a symbol accept and refuse the same
symbols, and normalise an accepted one to the same text (stripped, uppercased)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from chalicelib.schemas import alerts, portfolios, quotes, securities, watchlists
from stockscreen.core.apispec import PATH_SCHEMAS
from stockscreen.core.errors import Invalid
from stockscreen.core.symbols import MAX_SYMBOL_LENGTH, SYMBOL_PATTERN
from stockscreen.realtime.messages import parse_client_message

ACCEPTED = {
    "AAPL": "AAPL",
    "msft": "MSFT",
    " brk.b ": "BRK.B",
    "BF-B": "BF-B",
    "\tx\n": "X",
    "7": "7",
    "A" * MAX_SYMBOL_LENGTH: "A" * MAX_SYMBOL_LENGTH,
}
# (no comma: it separates the symbols of a list)
REFUSED = [
    "",
    "   ",
    "A" * (MAX_SYMBOL_LENGTH + 1),
    "AAPL$",
    "A B",
    "A/B",
    "ÄPL",
    "ß",
    "\uff21\uff21\uff30\uff2c",
    "AAPL;",
]


def _ws(symbol: str) -> str:
    message = parse_client_message(json.dumps({"action": "subscribe", "symbols": [symbol]}))
    return message.symbols[0]


# Each HTTP way in for a symbol: a path, a query, and the bodies of watchlists, portfolios and alerts.
HTTP: dict[str, Callable[[str], str]] = {
    "path /securities/{symbol}": lambda s: securities.SymbolPath(symbol=s).symbol,
    "query /quotes?symbols=": lambda s: quotes.QuotesQuery(symbols=s).symbols,
    "body watchlist item": lambda s: watchlists.ItemCreate(symbol=s).symbol,
    "body watchlist order": lambda s: watchlists.ItemOrder(symbols=[s]).symbols[0],
    "body transaction": lambda s: (
        portfolios.TransactionCreate(kind="buy", symbol=s, date=dt.date(2024, 1, 2), quantity=1, price=1).symbol
    ),
    "body alert": lambda s: (
        alerts.AlertCreate.model_validate({"rule": {"type": "price_above", "symbol": s, "price": 1}}).rule.symbol
    ),
}


@pytest.mark.parametrize("way", sorted(HTTP))
@pytest.mark.parametrize(("given", "normal"), sorted(ACCEPTED.items()))
def test_the_websocket_and_the_api_accept_the_same_symbols(way: str, given: str, normal: str) -> None:
    assert _ws(given) == normal
    assert HTTP[way](given) == normal


@pytest.mark.parametrize("way", sorted(HTTP))
@pytest.mark.parametrize("given", REFUSED)
def test_the_websocket_and_the_api_refuse_the_same_symbols(way: str, given: str) -> None:
    with pytest.raises(Invalid, match="invalid symbol"):
        _ws(given)
    with pytest.raises(ValidationError):
        HTTP[way](given)


def test_the_openapi_document_states_the_same_rule() -> None:
    schema = securities.SymbolPath.model_json_schema()["properties"]["symbol"]
    assert schema["pattern"] == SYMBOL_PATTERN == PATH_SCHEMAS["symbol"]["pattern"]
