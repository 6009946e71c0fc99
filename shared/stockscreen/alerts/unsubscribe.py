"""Signed one-click unsubscribe tokens (RFC 8058): they name a user and an alert and work without
signing in. HMAC-SHA256 with the API's signing key ring (a rotated key still verifies)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from typing import Any

from stockscreen.core.errors import Invalid

#: Keys are re-read this often (a rotated secret is picked up), and at once for an unknown kid.
RELOAD_AFTER_S = 300.0
_lock = threading.Lock()
_ring: tuple[float, Any] | None = None


def keys(refresh_for_kid: str | None = None) -> tuple[str, dict[str, bytes]]:
    """(current kid, every accepted key) of the unsubscribe secret (cached; reloaded after a while)."""
    global _ring
    from stockscreen.accounts.tokens import load_keyring
    from stockscreen.core.config import unsubscribe_settings

    with _lock:
        now = time.monotonic()
        if (
            _ring is None
            or now - _ring[0] > RELOAD_AFTER_S
            or (refresh_for_kid is not None and refresh_for_kid not in _ring[1].keys)
        ):
            _ring = (now, load_keyring(unsubscribe_settings().alerts_unsubscribe_secret_arn))
        ring = _ring[1]
    return ring.current_kid, dict(ring.keys)


def reset() -> None:
    global _ring
    with _lock:
        _ring = None


_PURPOSE = b"stockscreen-alert-unsubscribe:"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(user_id: str, alert_id: str, kid: str, key: bytes, purpose: bytes = _PURPOSE) -> str:
    """A token for (user, subject); ``purpose`` keeps one kind of link from opening another (reports
    sign theirs with their own purpose, so a report link is not an alert link)."""
    payload = f"{user_id}:{alert_id}".encode()
    mac = hmac.new(key, purpose + kid.encode() + b":" + payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{kid}.{_b64(mac)}"


def verify(token: str, keys: dict[str, bytes], purpose: bytes = _PURPOSE) -> tuple[str, str]:
    """(user id, alert id) of a valid token; Invalid otherwise."""
    try:
        payload_b64, kid, mac_b64 = token.split(".")
        payload, mac = _unb64(payload_b64), _unb64(mac_b64)
        key = keys[kid]
    except (ValueError, KeyError) as exc:
        raise Invalid("invalid unsubscribe link") from exc
    want = hmac.new(key, purpose + kid.encode() + b":" + payload, hashlib.sha256).digest()
    if not hmac.compare_digest(want, mac):
        raise Invalid("invalid unsubscribe link")
    user_id, _, alert_id = payload.decode().partition(":")
    if not user_id or not alert_id:
        raise Invalid("invalid unsubscribe link")
    return user_id, alert_id
