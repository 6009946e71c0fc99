"""WebSocket API Lambda handlers (API Gateway WebSocket proxy events).

Deployed with this directory as the code asset (``handlers.connect`` etc.), so it imports only
``stockscreen`` and third-party packages. Routes: ``$connect`` -> :func:`connect`,
``$disconnect`` -> :func:`disconnect`, ``subscribe`` / ``unsubscribe`` / ``$default`` ->
:func:`message`; the EventBridge rule for ``prices.updated`` invokes :func:`broadcast`; :func:`authorize`
is the REQUEST authorizer of ``$connect``.

Each invocation logs under its correlation id: a route's, API Gateway's request id; ``broadcast``'s, the
``correlation_id`` of the ``prices.updated`` event (the ingest run's), which its pushed frames carry as ``cid``.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from stockscreen.core.correlation import from_event, from_ws_event
from stockscreen.core.errors import DomainError, Invalid, Unauthorized, Unavailable, unavailable_from
from stockscreen.core.observability import entry
from stockscreen.core.symbols import normalize_symbol
from stockscreen.realtime.broadcaster import Broadcaster
from stockscreen.realtime.connections import Registry, connection_registry
from stockscreen.realtime.messages import Ack, ErrorMessage, Ping, Pong, parse_client_message
from stockscreen.realtime.quotes import get_quotes
from stockscreen.realtime.sessions import authorizer_response, principal_of_connect

logger = Logger(service="stockscreen-ws")
#: a WebSocket route's invocation: traced, under API Gateway's request id as its correlation id
ws_route = entry(from_ws_event, flush_metrics=False, lambda_context=False)

Event = dict[str, Any]
Response = dict[str, Any]


def _connection_id(event: Event) -> str:
    return str(event["requestContext"]["connectionId"])


def _response(status: int, payload: Any | None = None) -> Response:
    resp: Response = {"statusCode": status}
    if payload is not None:
        resp["body"] = json.dumps(payload)
    return resp


def _unavailable(route: str, connection_id: str, down: Unavailable) -> Response:
    """A dependency (Redis, the @connections API) is down: logged, and a 503 with the uniform error body."""
    logger.warning(
        "dependency unavailable",
        extra={"route": route, "connection_id": connection_id, "dependency": down.dependency, "reason": down.message},
    )
    return _response(down.status, {"error": {"code": down.code, "message": down.message, "details": down.details}})


@ws_route
def connect(event: Event, context: Any) -> Response:
    """Accept the socket: anonymous without ``access_token``; a bad token refuses it (401); a 503 refuses
    the handshake while Redis (the connection registry) is down."""
    connection_id = _connection_id(event)
    try:
        principal = principal_of_connect(event)
    except Unauthorized as exc:
        logger.info("connect refused", extra={"connection_id": connection_id, "reason": exc.message})
        return _response(401, {"error": {"code": exc.code, "message": exc.message}})
    try:
        connection_registry().register(connection_id, principal.user_id, principal.role)
    except Exception as exc:
        down = unavailable_from(exc)
        if down is None:
            raise
        return _unavailable("$connect", connection_id, down)
    logger.info(
        "connected", extra={"connection_id": connection_id, "user_id": principal.user_id, "role": principal.role}
    )
    return _response(200)


class AuthorizerDenied(Exception):
    """Raised by :func:`authorize` with the message "Unauthorized": API Gateway then answers 401."""


@ws_route
def authorize(event: Event, context: Any) -> dict[str, Any]:
    """Lambda REQUEST authorizer of ``$connect`` (stockscreen.realtime.sessions)."""
    try:
        return authorizer_response(event)
    except Unauthorized as exc:
        logger.info("connect denied by the authorizer", extra={"reason": exc.message})
        raise AuthorizerDenied("Unauthorized") from None


@ws_route
def disconnect(event: Event, context: Any) -> Response:
    """``$disconnect``: with Redis down the connection's keys are left to expire (their TTL)."""
    connection_id = _connection_id(event)
    try:
        symbols = connection_registry().unregister(connection_id)
    except Exception as exc:
        down = unavailable_from(exc)
        if down is None:
            raise
        return _unavailable("$disconnect", connection_id, down)
    logger.info("disconnected", extra={"connection_id": connection_id, "symbols": len(symbols)})
    return _response(200)


@ws_route
def message(event: Event, context: Any) -> Response:
    """``subscribe`` / ``unsubscribe`` / ``$default`` (which also answers the ``ping`` heartbeat with a ``pong``):
    answer through the @connections API.

    With Redis or the @connections API down the client is told so (an ``error`` message with code
    ``unavailable``, when the API can still deliver it) and the handler answers 503 instead of failing."""
    connection_id = _connection_id(event)
    registry = connection_registry()
    broadcaster = Broadcaster.from_settings(registry)
    try:
        return _message(event, connection_id, registry, broadcaster)
    except Exception as exc:
        down = unavailable_from(exc)
        if down is None:
            raise
        try:
            broadcaster.send(connection_id, ErrorMessage.from_error(down))
        except Exception as send_exc:
            if unavailable_from(send_exc) is None:
                raise
        return _unavailable(str(event.get("requestContext", {}).get("routeKey") or "$default"), connection_id, down)


@ws_route
def default(event: Event, context: Any) -> Response:
    """``$default`` (CDK wires it to its own function): the same answer as :func:`message` (errors, ``ping``)."""
    return message(event, context)


def _message(event: Event, connection_id: str, registry: Registry, broadcaster: Broadcaster) -> Response:
    try:
        msg = parse_client_message(event.get("body"))
        if isinstance(msg, Ping):
            registry.touch(connection_id)
            broadcaster.send(connection_id, Pong())
            return _response(200)
        if msg.action == "subscribe":
            symbols = registry.subscribe(connection_id, msg.symbols)
        else:
            symbols = registry.unsubscribe(connection_id, msg.symbols)
    except DomainError as exc:
        registry.touch(connection_id)  # a rejected message is activity too
        logger.info(
            "rejected message",
            extra={"connection_id": connection_id, "code": exc.code, "reason": exc.message},
        )
        broadcaster.send(connection_id, ErrorMessage.from_error(exc))
        return _response(exc.status, {"error": {"code": exc.code, "message": exc.message}})

    if msg.action == "subscribe":
        if broadcaster.send(connection_id, Ack(type="subscribed", symbols=symbols)):
            quotes = get_quotes(symbols)
            for symbol in symbols:
                if symbol in quotes and not broadcaster.send(connection_id, quotes[symbol]):
                    break
    else:
        broadcaster.send(connection_id, Ack(type="unsubscribed", symbols=symbols))
    logger.info(msg.action, extra={"connection_id": connection_id, "symbols": symbols})
    return _response(200)


@entry(from_event, flush_metrics=False, lambda_context=False)  # prices.updated: the id of the run that published it
def broadcast(event: Event, context: Any) -> Response:
    """EventBridge ``prices.updated``: push the latest quotes to their subscribers.

    ``detail.symbols`` lists the updated symbols; empty or missing means every subscribed one.
    With Redis or the @connections API down this round is skipped (logged): the next
    ``prices.updated`` carries newer quotes anyway.
    """
    try:
        return _broadcast(event)
    except Exception as exc:
        down = unavailable_from(exc)
        if down is None:
            raise
        logger.warning("broadcast skipped", extra={"dependency": down.dependency, "reason": down.message})
        return {"symbols": 0, "quotes": 0, "delivered": 0, "error": {"code": down.code, "message": down.message}}


def _broadcast(event: Event) -> Response:
    detail = event.get("detail") or {}
    requested = detail.get("symbols") or []
    registry = connection_registry()
    subscribed = registry.subscribed_symbols()
    if requested:
        wanted: set[str] = set()
        for s in requested:
            try:
                wanted.add(normalize_symbol(s))
            except Invalid:
                logger.warning("ignoring invalid symbol in prices.updated", extra={"symbol": repr(s)})
        targets = subscribed & wanted
    else:
        targets = subscribed
    quotes = get_quotes(sorted(targets))
    delivered = Broadcaster.from_settings(registry).broadcast_quotes(quotes.values()) if quotes else 0
    result = {"symbols": len(targets), "quotes": len(quotes), "delivered": delivered}
    logger.info("broadcast", extra=result)
    return result
