"""Auth building blocks without network: the policy table, the secret formats of the key ring, token checks
against an in-memory ring, password hashing, rate-limit headers and the OpenAPI builder's error documentation."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import jwt
import pytest

from stockscreen.accounts import tokens
from stockscreen.accounts.passwords import hash_password, verify_password
from stockscreen.core import policy
from stockscreen.core.errors import Forbidden, Unauthorized
from stockscreen.core.ratelimit import Decision


def test_policy_table_matches_the_plans() -> None:
    assert policy.quota("free").requests_per_minute == 60 and policy.quota("premium").requests_per_minute == 600
    assert (
        policy.quota("free").saved_screens,
        policy.quota("free").active_alerts,
        policy.quota("free").portfolios,
    ) == (3, 5, 1)
    assert (policy.quota("premium").active_alerts, policy.quota("premium").portfolios) == (30, 10)
    assert policy.quota("free").fields == "basic" and policy.quota("premium").fields == "all"
    for feature in ("backtests", "export.csv", "api_keys", "fields.all"):
        assert (
            not policy.allowed("free", feature)
            and policy.allowed("premium", feature)
            and policy.allowed("admin", feature)
        )
    for feature in ("admin.users", "admin.ingest", "admin.audit"):
        assert [policy.allowed(r, feature) for r in ("anonymous", "free", "premium", "admin")] == [
            False,
            False,
            False,
            True,
        ]
    with pytest.raises(KeyError, match="unknown feature"):
        policy.allowed("admin", "teleport")
    with pytest.raises(Forbidden) as err:
        policy.check_quota("free", "portfolios", 1)
    assert err.value.details == {"quota": "portfolios", "limit": 1, "used": 1, "role": "free"}
    policy.check_quota("free", "portfolios", 0)


def test_secret_formats() -> None:
    key = secrets.token_urlsafe(48)
    assert tokens._parse_secret(json.dumps({"kid": "k1", "key": key}), "v") == [("k1", key.encode())]
    both = tokens._parse_secret(json.dumps({"kid": "k2", "key": key, "previous": [{"kid": "k1", "key": key}]}), "v")
    assert [k for k, _ in both] == ["k2", "k1"]
    assert tokens._parse_secret(key, "abcdef0123456789") == [("v-abcdef012345", key.encode())]
    with pytest.raises(ValueError, match="shorter"):
        tokens._parse_secret(json.dumps({"kid": "k", "key": "short"}), "v")


@pytest.fixture
def ring(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    from stockscreen.accounts import settings

    keys = {"new": secrets.token_bytes(32), "old": secrets.token_bytes(32)}
    monkeypatch.setenv("JWT_SECRET_ARN", "arn:test")
    monkeypatch.setenv("DATABASE_URL", "postgresql://unused/none")
    monkeypatch.setenv("REDIS_URL", "redis://unused:1/0")
    settings.api_settings.cache_clear()
    monkeypatch.setattr(tokens.keyring, "get", lambda **_: tokens.KeyRing(current_kid="new", keys=keys))
    yield keys
    settings.api_settings.cache_clear()


def test_tokens_round_trip_and_old_keys_verify(ring: dict[str, bytes]) -> None:
    token, ttl = tokens.issue_access_token("u-1", "premium")
    assert ttl == 3600 and jwt.get_unverified_header(token)["kid"] == "new"
    claims = tokens.decode_access_token(token)
    assert (claims.user_id, claims.role) == ("u-1", "premium")
    now = int(dt.datetime.now(dt.UTC).timestamp())
    base = {
        "iss": "stockscreen",
        "aud": "stockscreen-api",
        "sub": "u-2",
        "role": "free",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "j",
    }
    old = jwt.encode(base, ring["old"], algorithm="HS256", headers={"kid": "old"})
    assert tokens.decode_access_token(old).user_id == "u-2"
    for bad in (
        jwt.encode(base, ring["old"], algorithm="HS256", headers={"kid": "new"}),  # key/kid mismatch
        jwt.encode({**base, "exp": now - 60}, ring["new"], algorithm="HS256", headers={"kid": "new"}),
        jwt.encode(
            {k: v for k, v in base.items() if k != "jti"}, ring["new"], algorithm="HS256", headers={"kid": "new"}
        ),
        jwt.encode(base, ring["new"], algorithm="HS256"),  # no kid
        "",
    ):
        with pytest.raises(Unauthorized):
            tokens.decode_access_token(bad)


def test_a_verified_token_is_not_verified_again_but_still_expires_and_follows_the_ring(
    ring: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from stockscreen.accounts import settings

    now = int(dt.datetime.now(dt.UTC).timestamp())
    base = {"iss": "stockscreen", "aud": "stockscreen-api", "sub": "u-3", "role": "free", "jti": "j"}
    token = jwt.encode({**base, "iat": now, "nbf": now, "exp": now + 60}, ring["new"], headers={"kid": "new"})
    assert tokens.decode_access_token(token).user_id == "u-3"

    def no_more_verifying(*_: object, **__: object) -> None:
        raise AssertionError("verified again")

    with monkeypatch.context() as m:  # the second use is answered without PyJWT
        m.setattr(jwt, "decode", no_more_verifying)
        m.setattr(jwt, "get_unverified_header", no_more_verifying)
        assert tokens.decode_access_token(token).user_id == "u-3"
        # ...until the clock passes its expiry (with PyJWT's leeway): then PyJWT is asked again
        m.setattr(tokens.time, "time", lambda: now + 60 + tokens.LEEWAY_S)
        with pytest.raises(AssertionError, match="verified again"):
            tokens.decode_access_token(token)

    # a token not yet valid is refused, and is not remembered
    early = jwt.encode({**base, "iat": now, "nbf": now + 600, "exp": now + 900}, ring["new"], headers={"kid": "new"})
    for _ in range(2):
        with pytest.raises(Unauthorized):
            tokens.decode_access_token(early)

    # a key dropped from the ring, or replaced under the same kid, no longer vouches for its tokens
    old = jwt.encode({**base, "iat": now, "nbf": now, "exp": now + 60}, ring["old"], headers={"kid": "old"})
    assert tokens.decode_access_token(old).user_id == "u-3"
    for keys in ({"new": ring["new"]}, {"new": ring["new"], "old": secrets.token_bytes(32)}):
        monkeypatch.setattr(tokens.keyring, "get", lambda _k=keys, **__: tokens.KeyRing(current_kid="new", keys=_k))
        with pytest.raises(Unauthorized):
            tokens.decode_access_token(old)

    # another issuer setting: verified afresh, and refused
    fresh = jwt.encode({**base, "iat": now, "nbf": now, "exp": now + 60}, ring["new"], headers={"kid": "new"})
    assert tokens.decode_access_token(fresh).user_id == "u-3"
    monkeypatch.setenv("JWT_ISSUER", "someone-else")
    settings.api_settings.cache_clear()
    with pytest.raises(Unauthorized):
        tokens.decode_access_token(fresh)


def test_the_verified_tokens_are_bounded(ring: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "MAX_VERIFIED", 3)
    issued = [tokens.issue_access_token(f"u-{i}", "free")[0] for i in range(5)]
    for token in issued:
        tokens.decode_access_token(token)
    assert len(tokens.verified_tokens._entries) == 3
    assert list(tokens.verified_tokens._entries) == issued[2:]


def test_passwords() -> None:
    h = hash_password("a long enough passphrase")
    assert h.startswith("$argon2id$") and "m=19456,t=2,p=1" in h
    assert verify_password(h, "a long enough passphrase")
    assert not verify_password(h, "wrong")
    assert not verify_password(None, "a long enough passphrase")  # unknown account: dummy hash, always False
    assert not verify_password("not-a-hash", "x")


def test_rate_limit_headers() -> None:
    ok = Decision(allowed=True, limit=60, remaining=59, retry_after_s=0, reset_s=1, window_s=60)
    assert ok.headers() == {
        "RateLimit-Limit": "60",
        "RateLimit-Remaining": "59",
        "RateLimit-Reset": "1",
        "RateLimit-Policy": "60;w=60",
    }
    denied = Decision(allowed=False, limit=60, remaining=0, retry_after_s=2, reset_s=60, window_s=60)
    assert denied.headers()["Retry-After"] == "2"


def test_the_common_password_list_is_the_shipped_one_and_kept_small() -> None:
    import gzip

    from stockscreen.accounts import passwords

    raw = gzip.decompress(passwords.COMMON_PASSWORDS.read_bytes()).decode().splitlines()
    assert len(raw) == 100_000 and raw[:3] == ["123456", "password", "12345678"]
    words = passwords.common_passwords()
    assert words is passwords.common_passwords()  # loaded once per process
    # only what the length rule lets through is kept, lower-cased
    assert words == {w.lower() for w in raw if len(w) >= passwords.MIN_LENGTH}
    assert 2_000 < len(words) < 2_500
    assert {"password12", "1234567890", "aaaaaaaaaa", "qwertyuiop"} <= words
    assert "correct horse battery staple" not in words
