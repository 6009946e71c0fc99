"""The webhook channel (premium): an HTTPS POST of the firing as JSON, signed.

Signature scheme (Stripe-like), so a receiver can check the body and refuse replays:

* ``X-Stockscreen-Timestamp: <unix seconds>``
* ``X-Stockscreen-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``

The receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes with the secret shown
once by ``POST /api/me/notification-preferences/webhook-secret``, compares in constant time
(:func:`verify`), and rejects timestamps more than 5 minutes away from its clock.

Each delivery tries up to 3 times (3 s timeout each; 0.5 s then 1 s between tries) on a connection error,
a timeout, HTTP 429 or 5xx; other answers are final. Addresses are checked before connecting: the host is
resolved and every address must be public (no private, loopback, link-local, multicast or reserved
address), and the connection goes to the checked address (no second lookup an attacker could rebind).
Only ``make dev`` and tests (``ALERTS_WEBHOOK_ALLOW_PRIVATE=true``) may use http and local addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Stockscreen-Signature"
TIMESTAMP_HEADER = "X-Stockscreen-Timestamp"
TIMEOUT_S = 3.0
ATTEMPTS = 3
BACKOFF_S = 0.5
#: A webhook is disabled after this many deliveries in a row failed (each after its retries).
DISABLE_AFTER = 5
TOLERANCE_S = 300


class Refused(ValueError):
    """The URL may not be called (scheme, or an address that is not public)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_s: int = TOLERANCE_S) -> bool:
    """What a receiver does: the signature matches the body and the timestamp is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - t) > tolerance_s:
        return False
    want = sign(secret, t, body).split("v1=", 1)[1]
    return hmac.compare_digest(want, parts.get("v1", ""))


def check_url(url: str, allow_private: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL a webhook may use; Refused otherwise (no DNS lookup: a literal
    address is checked here, names at delivery)."""
    parts = urlsplit(url)
    if parts.scheme not in (("https", "http") if allow_private else ("https",)):
        raise Refused("the webhook URL must use https")
    if not parts.hostname or parts.username or parts.password:
        raise Refused("the webhook URL needs a host and no user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused("the webhook URL has an invalid port") from exc
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None:
        _check_address(literal, allow_private)
    if not allow_private and parts.hostname.lower() in ("localhost", "localhost.localdomain"):
        raise Refused("the webhook URL must not point at this machine")
    return parts.scheme, parts.hostname, port


def _check_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        raise Refused(f"the webhook address {ip} is not public (private, loopback, link-local or reserved)")


def resolve(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to: every address ``host`` resolves to must be public (one bad address
    refuses the URL, so a name cannot mix a public and an internal address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectionError(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(i[4][0]) for i in infos]
    for a in addresses:
        _check_address(ipaddress.ip_address(a.split("%", 1)[0]), allow_private)
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WebhookResult:
    ok: bool
    detail: str
    attempts: int


class WebhookSender:
    def __init__(
        self,
        allow_private: bool,
        *,
        timeout_s: float = TIMEOUT_S,
        attempts: int = ATTEMPTS,
        backoff_s: float = BACKOFF_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.clock = clock

    def post(self, url: str, secret: str, payload: dict[str, Any]) -> WebhookResult:
        try:
            scheme, host, port = check_url(url, self.allow_private)
        except Refused as exc:
            return WebhookResult(False, f"refused: {exc}", 0)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = json.dumps(payload, default=str, separators=(",", ":")).encode()
        detail = ""
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                self.sleep(self.backoff_s * 2 ** (attempt - 2))
            try:
                address = resolve(host, port, self.allow_private)
            except Refused as exc:
                return WebhookResult(False, f"refused: {exc}", attempt)
            except ConnectionError as exc:
                detail = str(exc)
                continue
            t = int(self.clock())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Stockscreen-Webhook/1",
                TIMESTAMP_HEADER: str(t),
                SIGNATURE_HEADER: sign(secret, t, body),
            }
            conn_cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
            conn = conn_cls(host, address, port, self.timeout_s)
            try:
                conn.request("POST", path, body=body, headers=headers)
                status = conn.getresponse().status
            except (OSError, http.client.HTTPException) as exc:
                detail = f"{type(exc).__name__}: {exc}"[:200]
                continue
            finally:
                conn.close()
            if 200 <= status < 300:
                return WebhookResult(True, f"HTTP {status}", attempt)
            detail = f"HTTP {status}"
            if status != 429 and status < 500:
                return WebhookResult(False, detail, attempt)
        return WebhookResult(False, detail, self.attempts)
