"""Push server messages to WebSocket clients through API Gateway's ``@connections`` API."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from stockscreen.core.clients import aws_client
from stockscreen.core.config import ws_settings
from stockscreen.realtime.connections import ConnectionRegistry
from stockscreen.realtime.messages import Quote, ServerMessage

log = logging.getLogger(__name__)


class ManagementClient(Protocol):
    """The part of boto3's ``apigatewaymanagementapi`` client used here."""

    @property
    def exceptions(self) -> Any: ...

    def post_to_connection(self, *, Data: bytes, ConnectionId: str) -> Any: ...


def _is_gone(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) == "GoneException"


class Broadcaster:
    """Sends messages to connections; a connection that answers ``GoneException`` is unregistered."""

    def __init__(self, management_client: ManagementClient, registry: ConnectionRegistry | None = None) -> None:
        self.client = management_client
        self._registry = registry
        gone = getattr(getattr(management_client, "exceptions", None), "GoneException", None)
        self._gone: type[BaseException] | None = (
            gone if isinstance(gone, type) and issubclass(gone, BaseException) else None
        )

    @classmethod
    def from_settings(cls, registry: ConnectionRegistry | None = None) -> Broadcaster:
        client = aws_client("apigatewaymanagementapi", endpoint_url=ws_settings().ws_management_url)
        return cls(client, registry)

    @property
    def registry(self) -> ConnectionRegistry:
        if self._registry is None:
            self._registry = ConnectionRegistry()
        return self._registry

    def _post(self, connection_id: str, data: bytes) -> bool:
        """True when delivered; False when the connection is gone (it is then unregistered)."""
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=data)
            return True
        except Exception as exc:
            gone = (self._gone is not None and isinstance(exc, self._gone)) or (
                isinstance(exc, ClientError) and _is_gone(exc)
            )
            if not gone:
                raise
        log.info("connection %s is gone; unregistering it", connection_id)
        self.registry.unregister(connection_id)
        return False

    def send(self, connection_id: str, message: ServerMessage) -> bool:
        """Send one message; False (and the connection forgotten) when it is gone."""
        return self._post(connection_id, message.to_bytes())

    def push_to_user(self, user_id: str, message: ServerMessage) -> int:
        """Send ``message`` to every open connection of the user (the user channel).

        Returns the number of connections reached; gone ones are forgotten, and a failing post
        is logged and skipped so that one bad connection does not stop the others.
        """
        data = message.to_bytes()
        delivered = 0
        for connection_id in sorted(self.registry.connections_of(user_id)):
            try:
                delivered += self._post(connection_id, data)
            except (ClientError, BotoCoreError):
                log.exception("post_to_connection failed for %s", connection_id)
        return delivered

    def broadcast_quotes(self, quotes: Iterable[Quote]) -> int:
        """Fan each quote out to its symbol's subscribers; returns the number of deliveries.

        A failure other than ``GoneException`` is logged and skipped so that one bad
        connection does not stop the fan-out.
        """
        delivered = 0
        gone: set[str] = set()
        for quote in quotes:
            data = quote.to_bytes()
            for connection_id in sorted(self.registry.subscribers(quote.symbol) - gone):
                try:
                    if self._post(connection_id, data):
                        delivered += 1
                    else:
                        gone.add(connection_id)
                except (ClientError, BotoCoreError):
                    log.exception("post_to_connection failed for %s", connection_id)
        return delivered
