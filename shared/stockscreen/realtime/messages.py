"""Wire format of the WebSocket API (pydantic v2).

Client -> server: ``{"action": "subscribe" | "unsubscribe", "symbols": ["AAPL", ...]}``.

Server -> client: every message has a ``type`` discriminator: ``quote``, ``subscribed`` /
``unsubscribed`` (:class:`Ack`), ``alert`` and ``error``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stockscreen.core.errors import DomainError, Invalid
from stockscreen.core.jsonread import read_json
from stockscreen.core.symbols import SYMBOL_RULE, normalize_symbols

MAX_SYMBOLS_PER_MESSAGE = 50
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's limit for a WebSocket message


class ClientMessage(BaseModel):
    """A request from the browser. Symbols come out validated, uppercased and de-duplicated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["subscribe", "unsubscribe"]
    symbols: list[str] = Field(min_length=1, max_length=MAX_SYMBOLS_PER_MESSAGE)

    @field_validator("symbols", mode="after")
    @classmethod
    def _normalize(cls, value: list[str]) -> list[str]:
        try:
            return normalize_symbols(value)
        except Invalid as exc:  # pydantic wants ValueError to report a field error
            raise ValueError(exc.message) from exc


class _ServerMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_json(self) -> str:
        return self.model_dump_json()

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class Quote(_ServerMessage):
    """Latest price of one symbol."""

    type: Literal["quote"] = "quote"
    symbol: str
    price: float
    change_pct: float | None = None
    volume: int | None = None
    ts: datetime


class QuoteBatch(BaseModel):
    """One poll's quotes: what the quote source publishes and every consumer reads.

    The broadcaster fans it out to the symbols' subscribers and the alert evaluator evaluates
    the armed alerts of its symbols. ``batch_id`` is the consumers' idempotency key; ``quotes``
    holds at most one quote per symbol (the symbols whose price changed since the last batch).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_id: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1, max_length=32, description="the provider, e.g. 'replay'")
    asof: datetime
    quotes: list[Quote]


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    message: str


class ErrorMessage(_ServerMessage):
    type: Literal["error"] = "error"
    error: ErrorBody

    @classmethod
    def of(cls, code: str, message: str) -> ErrorMessage:
        return cls(error=ErrorBody(code=code, message=message))

    @classmethod
    def from_error(cls, exc: DomainError) -> ErrorMessage:
        return cls.of(exc.code, exc.message)


class Ack(_ServerMessage):
    """Confirms a (un)subscription; ``symbols`` are the normalised symbols of the request."""

    type: Literal["subscribed", "unsubscribed"]
    symbols: list[str]


class AlertMessage(_ServerMessage):
    """An alert rule fired for the connected user."""

    type: Literal["alert"] = "alert"
    alert_id: str
    symbol: str
    message: str
    price: float | None = None
    triggered_at: datetime


ServerMessage = Quote | ErrorMessage | Ack | AlertMessage


def _describe(err: ValidationError, raw: Any) -> str:
    first = err.errors(include_url=False)[0]
    loc = [str(p) for p in first["loc"]]
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"unexpected field {loc[-1]!r}; a message has only 'action' and 'symbols'"
    if loc[:1] == ["action"]:
        if kind == "missing":
            return "missing 'action'; expected 'subscribe' or 'unsubscribe'"
        got = raw.get("action") if isinstance(raw, dict) else None
        return f"unknown action {got!r}; expected 'subscribe' or 'unsubscribe'"
    if loc[:1] == ["symbols"]:
        if kind == "missing":
            return "missing 'symbols': a list of 1 to 50 ticker symbols"
        if kind in ("too_short", "too_long", "list_type"):
            return f"'symbols' must be a list of 1 to {MAX_SYMBOLS_PER_MESSAGE} ticker symbols"
        if len(loc) > 1 and kind != "value_error":
            bad = first.get("input")
            return f"invalid symbol {bad!r} at symbols[{loc[1]}]: expected a string of {SYMBOL_RULE}"
        return str(first["msg"]).removeprefix("Value error, ")
    return str(first["msg"])


def parse_client_message(body: str | bytes | None) -> ClientMessage:
    """Parse and validate a client frame, raising :class:`Invalid` with a readable message."""
    if body is None or (isinstance(body, str | bytes) and not body.strip()):
        raise Invalid('empty message; send JSON like {"action": "subscribe", "symbols": ["AAPL"]}')
    raw = read_json(body, max_bytes=MAX_MESSAGE_BYTES, what="message", malformed="message is not valid JSON")
    if not isinstance(raw, dict):
        raise Invalid("message must be a JSON object with 'action' and 'symbols'")
    try:
        return ClientMessage.model_validate(raw)
    except ValidationError as exc:
        raise Invalid(_describe(exc, raw), exc.errors(include_url=False, include_context=False)) from exc
