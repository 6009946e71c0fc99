"""JWT access tokens (HS256) signed with keys from Secrets Manager, identified by ``kid``.

The key ring holds the secret's AWSCURRENT key (used to sign) and its AWSPREVIOUS key (still
accepted), so rotating the secret does not log anybody out. The secret may also list extra
verification keys: ``{"kid", "key", "previous": [{"kid", "key"}, ...]}``. A plain (non-JSON) secret
string, as CDK's generated secret is, is the key itself and its ``kid`` is the secret's version id.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stockscreen.accounts.models import AccessClaims
from stockscreen.accounts.settings import api_settings
from stockscreen.core.clients import aws_client
from stockscreen.core.errors import Unauthorized

ALGORITHM = "HS256"
RELOAD_AFTER_S = 300.0
MIN_RELOAD_INTERVAL_S = 10.0
MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class KeyRing:
    current_kid: str
    keys: dict[str, bytes]


def _parse_secret(raw: str, version_id: str) -> list[tuple[str, bytes]]:
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict | list):
        data = {"kid": f"v-{version_id[:12]}", "key": raw}
    entries = [data, *data.get("previous", [])] if isinstance(data, dict) else list(data)
    out: list[tuple[str, bytes]] = []
    for e in entries:
        kid, key = str(e["kid"]), str(e["key"]).encode()
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"signing key {kid!r} is shorter than {MIN_KEY_BYTES} bytes")
        out.append((kid, key))
    return out


def _secret_reader(secret_id: str) -> Callable[[str], dict[str, Any] | None]:
    """GetSecretValue of one version stage (None: the secret has no such version). Signed with the
    standard library when the credentials are in the environment (Lambda: no boto3 on a cold container's
    first signed-in request), else through the boto3 client."""
    from stockscreen.core import awsrequest

    credentials = awsrequest.light_credentials()
    if credentials is not None:
        creds = credentials

        def light(stage: str) -> dict[str, Any] | None:
            try:
                return awsrequest.get_secret_value(secret_id, stage, creds)
            except awsrequest.AwsError as exc:
                if exc.code == "ResourceNotFoundException":
                    return None
                raise

        return light
    sm = aws_client("secretsmanager")

    def boto(stage: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = sm.get_secret_value(SecretId=secret_id, VersionStage=stage)
        except sm.exceptions.ResourceNotFoundException:
            return None
        return result

    return boto


def load_keyring(secret_id: str) -> KeyRing:
    read = _secret_reader(secret_id)
    cur = read("AWSCURRENT")
    if cur is None:
        raise LookupError(f"the signing-key secret {secret_id} has no current version")
    current = _parse_secret(cur["SecretString"], cur["VersionId"])
    keys = dict(current)
    prev = read("AWSPREVIOUS")
    if prev is not None:
        for kid, key in _parse_secret(prev["SecretString"], prev["VersionId"]):
            keys.setdefault(kid, key)
    return KeyRing(current_kid=current[0][0], keys=keys)


class _RingCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ring: KeyRing | None = None
        self._loaded = 0.0

    def get(self, *, refresh_for_kid: str | None = None) -> KeyRing:
        now = time.monotonic()
        with self._lock:
            stale = self._ring is None or now - self._loaded > RELOAD_AFTER_S
            unknown = (
                refresh_for_kid is not None
                and self._ring is not None
                and refresh_for_kid not in self._ring.keys
                and now - self._loaded > MIN_RELOAD_INTERVAL_S
            )
            if stale or unknown:
                self._ring = load_keyring(api_settings().jwt_secret_arn)
                self._loaded = now
            assert self._ring is not None
            return self._ring

    def clear(self) -> None:
        with self._lock:
            self._ring = None


keyring = _RingCache()


def issue_access_token(
    user_id: str, role: str, *, session_id: str | None = None, now: dt.datetime | None = None
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds; ``session_id`` (claim ``sid``) names the
    refresh-token family it belongs to, so signing out with the access token alone ends that session."""
    import jwt  # lazy: PyJWT pulls in cryptography (cold start)

    s = api_settings()
    ring = keyring.get()
    issued = int((now or dt.datetime.now(dt.UTC)).timestamp())
    claims = {
        "iss": s.jwt_issuer,
        "aud": s.jwt_audience,
        "sub": user_id,
        "role": role,
        "iat": issued,
        "nbf": issued,
        "exp": issued + s.access_token_ttl_s,
        "jti": uuid.uuid4().hex,
    }
    if session_id is not None:
        claims["sid"] = session_id
    token = jwt.encode(claims, ring.keys[ring.current_kid], algorithm=ALGORITHM, headers={"kid": ring.current_kid})
    return token, s.access_token_ttl_s


INVALID_TOKEN = "invalid or expired access token"  # noqa: S105 (a message, not a secret)


LEEWAY_S = 5
MAX_VERIFIED = 4096


@dataclass(frozen=True)
class _Verified:
    claims: AccessClaims
    not_before: int
    kid: str
    key: bytes
    issuer: str
    audience: str


class _VerifiedTokens:
    """Tokens whose signature this process has verified, by their exact text (a bounded LRU). A signed-in
    caller sends the same token for its whole lifetime; the signature check, the costly part, need not be
    repeated. A hit still checks everything that can change: the token's times against the clock (as PyJWT
    does, with the same leeway), that its kid still maps to the same key in the key ring, and the issuer
    and audience settings; anything else is verified afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Verified] = OrderedDict()

    def get(self, token: str, issuer: str, audience: str) -> AccessClaims | None:
        with self._lock:
            hit = self._entries.get(token)
            if hit is None:
                return None
            self._entries.move_to_end(token)
        now = time.time()
        fresh = (
            now - LEEWAY_S < hit.claims.expires_at
            and hit.not_before <= now + LEEWAY_S
            and hit.claims.issued_at <= now + LEEWAY_S
            and (hit.issuer, hit.audience) == (issuer, audience)
            and keyring.get(refresh_for_kid=hit.kid).keys.get(hit.kid) == hit.key
        )
        if not fresh:
            with self._lock:
                self._entries.pop(token, None)
            return None
        return hit.claims

    def put(self, token: str, entry: _Verified) -> None:
        with self._lock:
            self._entries[token] = entry
            while len(self._entries) > MAX_VERIFIED:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


verified_tokens = _VerifiedTokens()


def decode_access_token(token: str) -> AccessClaims:
    """Verify signature, algorithm, kid, issuer, audience and times; any failure is Unauthorized."""
    s = api_settings()
    known = verified_tokens.get(token, s.jwt_issuer, s.jwt_audience)
    if known is not None:
        return known
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise Unauthorized(INVALID_TOKEN)
        ring = keyring.get(refresh_for_kid=kid)
        key = ring.keys.get(kid)
        if key is None:
            raise Unauthorized(INVALID_TOKEN)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
            leeway=LEEWAY_S,
        )
    except jwt.PyJWTError:
        raise Unauthorized(INVALID_TOKEN) from None
    role, sub = claims.get("role"), claims.get("sub")
    if not isinstance(role, str) or not isinstance(sub, str):
        raise Unauthorized(INVALID_TOKEN)
    sid = claims.get("sid")
    access = AccessClaims(
        user_id=sub,
        role=role,
        jti=str(claims["jti"]),
        expires_at=int(claims["exp"]),
        issued_at=int(claims["iat"]),
        session_id=sid if isinstance(sid, str) else None,
    )
    verified_tokens.put(token, _Verified(access, int(claims["nbf"]), kid, key, s.jwt_issuer, s.jwt_audience))
    return access


class JwtAccessTokens:
    """The service's access tokens (:class:`stockscreen.accounts.models.AccessTokens`): signed JWTs."""

    def issue(self, user_id: str, role: str, session_id: str) -> tuple[str, int]:
        return issue_access_token(user_id, role, session_id=session_id)

    def decode(self, token: str) -> AccessClaims:
        return decode_access_token(token)
