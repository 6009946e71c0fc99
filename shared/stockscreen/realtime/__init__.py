"""Real-time quotes over WebSocket: connection registry, wire messages, quote cache, push."""

from stockscreen.realtime.broadcaster import Broadcaster, FanOut, ManagementClient
from stockscreen.realtime.connections import (
    CONNECTION_TTL_SECONDS,
    MAX_SYMBOLS_PER_CONNECTION,
    ConnectionRegistry,
    Registry,
    connection_registry,
)
from stockscreen.realtime.messages import (
    Ack,
    AlertMessage,
    ClientMessage,
    ErrorMessage,
    Quote,
    QuoteBatch,
    ServerMessage,
    parse_client_message,
)
from stockscreen.realtime.quotes import get_quotes, put_quotes

__all__ = [
    "CONNECTION_TTL_SECONDS",
    "MAX_SYMBOLS_PER_CONNECTION",
    "Ack",
    "AlertMessage",
    "Broadcaster",
    "ClientMessage",
    "ConnectionRegistry",
    "ErrorMessage",
    "FanOut",
    "ManagementClient",
    "Quote",
    "QuoteBatch",
    "Registry",
    "ServerMessage",
    "connection_registry",
    "get_quotes",
    "parse_client_message",
    "put_quotes",
]
