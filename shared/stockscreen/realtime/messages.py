"""Wire format of the WebSocket API (pydantic v2).

Client -> server: ``{"action": "subscribe" | "unsubscribe", "symbols": ["AAPL", ...]}``, and the heartbeat
``{"action": "ping"}`` (answered ``{"type": "pong"}``; it keeps API Gateway's 10-minute idle timeout away
and tells the browser its socket still works: browsers cannot send protocol-level pings).

Server -> client: every message has a ``type`` discriminator: ``quote``, ``quotes`` (several quotes of one
batch for one connection, :class:`QuoteFrame`), ``subscribed`` / ``unsubscribed`` (:class:`Ack`), ``alert``,
``pong`` and ``error``. Every server message fits one WebSocket frame of API Gateway (32 KB,
:data:`MAX_FRAME_BYTES`): quote frames are split, an alert's text is trimmed.
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
MAX_FRAME_BYTES = 32 * 1024  # ...and for one frame: every server message fits in one


class Ping(BaseModel):
    """The browser's heartbeat: ``{"action": "ping"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["ping"]


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


_FRAME_HEAD = b'{"type":"quotes","quotes":['
_FRAME_TAIL = b"]}"


def quote_frames(parts: list[bytes], limit: int = MAX_FRAME_BYTES) -> list[bytes]:
    """Serialised quotes (``Quote.to_bytes()``) as frames of at most ``limit`` bytes: one quote alone is a
    ``quote`` message, several a ``quotes`` message (:class:`QuoteFrame`), split where a frame would overflow."""
    if len(parts) == 1:
        return list(parts)
    if sum(map(len, parts)) + len(parts) - 1 + len(_FRAME_HEAD) + len(_FRAME_TAIL) <= limit:
        return [_FRAME_HEAD + b",".join(parts) + _FRAME_TAIL]  # the usual case: one frame, one join
    frames: list[bytes] = []
    chunk: list[bytes] = []
    size = len(_FRAME_HEAD) + len(_FRAME_TAIL)
    for part in parts:
        extra = len(part) + (1 if chunk else 0)
        if chunk and size + extra > limit:
            frames.append(chunk[0] if len(chunk) == 1 else _FRAME_HEAD + b",".join(chunk) + _FRAME_TAIL)
            chunk, size, extra = [], len(_FRAME_HEAD) + len(_FRAME_TAIL), len(part)
        chunk.append(part)
        size += extra
    if chunk:
        frames.append(chunk[0] if len(chunk) == 1 else _FRAME_HEAD + b",".join(chunk) + _FRAME_TAIL)
    return frames


class QuoteFrame(_ServerMessage):
    """Several quotes of one batch for one connection, in one frame (fewer ``PostToConnection`` calls)."""

    type: Literal["quotes"] = "quotes"
    quotes: list[Quote]


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


class Pong(_ServerMessage):
    """The answer to the browser's ``ping``."""

    type: Literal["pong"] = "pong"


class AlertMessage(_ServerMessage):
    """An alert rule fired for the connected user."""

    type: Literal["alert"] = "alert"
    alert_id: str
    symbol: str
    message: str
    price: float | None = None
    triggered_at: datetime

    def to_bytes(self) -> bytes:
        """Within one frame: a text too long for it is cut (with an ellipsis), the rest kept."""
        data = super().to_bytes()
        text = self.message
        while len(data) > MAX_FRAME_BYTES and text:
            raw = text.encode("utf-8")
            text = raw[: max(0, len(raw) - (len(data) - MAX_FRAME_BYTES) - 16)].decode("utf-8", errors="ignore")
            data = self.model_copy(update={"message": text + "\u2026"}).model_dump_json().encode("utf-8")
        return data


ServerMessage = Quote | QuoteFrame | ErrorMessage | Ack | AlertMessage | Pong


def _describe(err: ValidationError, raw: Any) -> str:
    first = err.errors(include_url=False)[0]
    loc = [str(p) for p in first["loc"]]
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"unexpected field {loc[-1]!r}; a message has only 'action' and 'symbols'"
    if loc[:1] == ["action"]:
        if kind == "missing":
            return "missing 'action'; expected 'subscribe', 'unsubscribe' or 'ping'"
        got = raw.get("action") if isinstance(raw, dict) else None
        return f"unknown action {got!r}; expected 'subscribe', 'unsubscribe' or 'ping'"
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


def parse_client_message(body: str | bytes | None) -> ClientMessage | Ping:
    """Parse and validate a client frame, raising :class:`Invalid` with a readable message."""
    if body is None or (isinstance(body, str | bytes) and not body.strip()):
        raise Invalid('empty message; send JSON like {"action": "subscribe", "symbols": ["AAPL"]}')
    raw = read_json(body, max_bytes=MAX_MESSAGE_BYTES, what="message", malformed="message is not valid JSON")
    if not isinstance(raw, dict):
        raise Invalid("message must be a JSON object with 'action' and 'symbols'")
    if raw.get("action") == "ping":
        try:
            return Ping.model_validate(raw)
        except ValidationError as exc:
            raise Invalid('a ping is just {"action": "ping"}') from exc
    try:
        return ClientMessage.model_validate(raw)
    except ValidationError as exc:
        raise Invalid(_describe(exc, raw), exc.errors(include_url=False, include_context=False)) from exc
