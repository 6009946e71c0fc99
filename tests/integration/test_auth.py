"""Accounts through chalice.test.Client: register/login/refresh/logout, the JWT attack battery,
refresh-token reuse detection, password change, signing-key rotation and API keys."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import uuid
from typing import Any

import boto3
import jwt
import psycopg
import pytest
from chalice.test import Client

from tests.integration.authkit import (
    PASSWORD,
    assert_error,
    body,
    make_user,
    post,
    refresh_cookie,
    send,
    set_role,
)

pytestmark = pytest.mark.usefixtures("fresh_limits")


def _sql(stack_env: dict[str, str], sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        cur = conn.execute(sql, args)
        return cur.fetchall() if cur.description else []


def _secret(stack_env: dict[str, str]) -> dict[str, str]:
    sm = boto3.client("secretsmanager", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    return dict(json.loads(sm.get_secret_value(SecretId=stack_env["JWT_SECRET_ARN"])["SecretString"]))


def _claims(user_id: str, **over: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    c = {
        "iss": "stockscreen",
        "aud": "stockscreen-api",
        "sub": user_id,
        "role": "admin",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def test_register_sets_a_strict_refresh_cookie_and_returns_a_token(client: Client, stack_env: dict[str, str]) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@Example.com"
    resp = post(client, "/auth/register", {"email": email, "password": PASSWORD, "display_name": "Ada"})
    assert resp.status_code == 201, resp.body
    b = body(resp)
    assert b["token_type"] == "Bearer" and b["expires_in"] == 3600
    assert b["user"]["email"] == email.lower() and b["user"]["role"] == "free"
    cookie = resp.headers["Set-Cookie"]
    for attr in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth", "Max-Age=604800"):
        assert attr in cookie
    header = jwt.get_unverified_header(b["access_token"])
    assert header["alg"] == "HS256" and header["kid"] == _secret(stack_env)["kid"]
    stored = _sql(stack_env, "SELECT password_hash FROM users WHERE email = %s", email.lower())[0][0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert_error(post(client, "/auth/register", {"email": email.upper(), "password": PASSWORD}), 409, "conflict")


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "a@example.com", "password": "short"},
        {"email": "a@example.com", "password": PASSWORD, "role": "admin"},
        {"email": "a@example.com"},
        {"email": 5, "password": PASSWORD},
    ],
)
def test_register_rejects_bad_input(client: Client, payload: dict[str, Any]) -> None:
    assert_error(post(client, "/auth/register", payload), 400, "validation_error")


def test_register_rejects_malformed_and_oversized_bodies(client: Client) -> None:
    assert_error(post(client, "/auth/register", b"{not json"), 400)
    assert_error(post(client, "/auth/register", b"[]"), 400)
    big = json.dumps({"email": "a@example.com", "password": "x" * 70_000}).encode()
    assert_error(post(client, "/auth/register", big), 413, "payload_too_large")


def test_login_failures_are_uniform_and_audited(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    ok = post(client, "/auth/login", {"email": u.email.upper(), "password": PASSWORD})
    assert ok.status_code == 200 and body(ok)["user"]["id"] == u.id
    wrong = assert_error(post(client, "/auth/login", {"email": u.email, "password": "nope"}), 401, "unauthorized")
    unknown = assert_error(
        post(client, "/auth/login", {"email": f"ghost-{uuid.uuid4().hex}@example.com", "password": "nope"}),
        401,
        "unauthorized",
    )
    assert wrong["message"] == unknown["message"]
    actions = [r[0] for r in _sql(stack_env, "SELECT action FROM audit_log WHERE actor_id = %s ORDER BY id", u.id)]
    assert actions[:3] == ["user.register", "auth.login", "auth.login_failed"]
    details = _sql(
        stack_env, "SELECT details FROM audit_log WHERE actor_id = %s AND action = 'auth.login_failed'", u.id
    )[0][0]
    assert details["reason"] == "bad_credentials" and "nope" not in json.dumps(details)


def test_me_requires_a_token_and_can_be_updated(client: Client, stack_env: dict[str, str]) -> None:
    resp = client.http.get("/me")
    assert_error(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    u = make_user(client, stack_env["DATABASE_URL"])
    assert body(client.http.get("/me", headers=u.auth))["email"] == u.email
    resp = send(client, "PATCH", "/me", {"display_name": "  Grace "}, u.auth)
    assert resp.status_code == 200 and body(resp)["display_name"] == "Grace"
    assert_error(send(client, "PATCH", "/me", {"role": "admin"}, u.auth), 400, "validation_error")
    assert body(client.http.get("/me", headers=u.auth))["role"] == "free"


def _forge(user_id: str, secret: dict[str, str], alg: str = "HS256", **over: Any) -> str:
    headers = {"kid": over.pop("kid", secret["kid"])}
    key = over.pop("key", secret["key"])
    return jwt.encode(_claims(user_id, **over), key, algorithm=alg, headers=headers)


def _alg_none(user_id: str, kid: str) -> str:
    def seg(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{seg({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{seg(_claims(user_id))}."


def test_jwt_attack_battery_is_always_401(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    s = _secret(stack_env)
    now = int(dt.datetime.now(dt.UTC).timestamp())
    valid = _forge(u.id, s)
    assert client.http.get("/me", headers={"Authorization": f"Bearer {valid}"}).status_code == 200
    head, payload, sig = valid.split(".")
    tampered_payload = base64.urlsafe_b64encode(json.dumps(_claims(str(uuid.uuid4()))).encode()).rstrip(b"=").decode()
    attacks = {
        "alg none": _alg_none(u.id, s["kid"]),
        "HS512 with the real key": _forge(u.id, s, alg="HS512"),
        "HS384 with the real key": _forge(u.id, s, alg="HS384"),
        "wrong key": _forge(u.id, s, key=secrets.token_urlsafe(48)),
        "unknown kid": _forge(u.id, s, kid="attacker"),
        "wrong issuer": _forge(u.id, s, iss="evil"),
        "wrong audience": _forge(u.id, s, aud="other-api"),
        "expired": _forge(u.id, s, iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        "not yet valid": _forge(u.id, s, nbf=now + 3600, exp=now + 7200),
        "no exp": _forge(u.id, s, exp=None),
        "sub not a uuid": _forge("'; DROP TABLE users; --", s),
        "unknown user": _forge(str(uuid.uuid4()), s),
        "tampered payload": f"{head}.{tampered_payload}.{sig}",
        "garbage": "not.a.jwt",
        "empty signature": f"{head}.{payload}.",
        "non-ascii": "é" * 20,
    }
    for name, token in attacks.items():
        resp = client.http.get("/me", headers={"Authorization": f"Bearer {token}"})
        err = assert_error(resp, 401, "unauthorized")
        assert err["message"] == "invalid or expired access token", name
    assert_error(client.http.get("/me", headers={"Authorization": f"Basic {valid}"}), 401)
    assert_error(client.http.get("/me", headers={"Authorization": "Bearer "}), 401)
    # A bad token is refused even on routes anonymous callers may use.
    assert_error(client.http.get("/screener/fields", headers={"Authorization": "Bearer x.y.z"}), 401)


def test_refresh_rotates_and_reuse_revokes_the_family(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    first = u.cookie
    r1 = post(client, "/auth/refresh", b"", {"Cookie": first})
    assert r1.status_code == 200, r1.body
    second = refresh_cookie(r1)
    assert second != first
    assert client.http.get("/me", headers={"Authorization": f"Bearer {body(r1)['access_token']}"}).status_code == 200
    # The thief replays the first (rotated) token: refused, and the whole family dies, its access tokens too.
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": first}), 401, "unauthorized")
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": second}), 401, "unauthorized")
    for token in (u.token, body(r1)["access_token"]):
        assert_error(client.http.get("/me", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized")
    rows = _sql(
        stack_env, "SELECT count(*) FILTER (WHERE revoked_at IS NULL) FROM refresh_tokens WHERE user_id = %s", u.id
    )
    assert rows[0][0] == 0
    audit = _sql(stack_env, "SELECT details FROM audit_log WHERE actor_id = %s AND action = 'auth.refresh_reuse'", u.id)
    assert len(audit) == 1 and audit[0][0]["revoked_tokens"] >= 1
    assert_error(post(client, "/auth/refresh", b"", {}), 401)
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": "refresh_token=made-up"}), 401)


def test_expired_refresh_token_is_refused(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    _sql(stack_env, "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = %s", u.id)
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": u.cookie}), 401)


def test_logout_revokes_the_session(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    again = post(client, "/auth/login", {"email": u.email, "password": PASSWORD})  # a second device
    other = {"Authorization": f"Bearer {body(again)['access_token']}"}
    assert client.http.get("/me", headers=u.auth).status_code == 200
    resp = post(client, "/auth/logout", b"", {"Cookie": u.cookie, **u.auth})
    assert resp.status_code == 204
    assert "Max-Age=0" in resp.headers["Set-Cookie"]
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": u.cookie}), 401)
    # the signed-out session's access token is refused at once (not when it expires); the other device stays in
    err = assert_error(client.http.get("/me", headers=u.auth), 401, "unauthorized")
    assert err["message"] == "invalid or expired access token"
    assert client.http.get("/me", headers=other).status_code == 200
    # signing out with the access token alone (no cookie) ends that session just the same
    assert post(client, "/auth/logout", b"", other).status_code == 204
    assert_error(client.http.get("/me", headers=other), 401, "unauthorized")


def test_password_change_signs_out_other_sessions(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    new = "a much better passphrase"
    assert_error(post(client, "/me/password", {"current_password": "wrong", "new_password": new}, u.auth), 403)
    assert_error(post(client, "/me/password", {"current_password": PASSWORD, "new_password": "short"}, u.auth), 400)
    resp = post(client, "/me/password", {"current_password": PASSWORD, "new_password": new}, u.auth)
    assert resp.status_code == 204, resp.body
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": u.cookie}), 401)
    _sql(stack_env, "UPDATE users SET password_changed_at = now() + interval '2 seconds' WHERE id = %s", u.id)
    assert_error(client.http.get("/me", headers=u.auth), 401)  # access tokens from before the change
    _sql(stack_env, "UPDATE users SET password_changed_at = now() - interval '2 seconds' WHERE id = %s", u.id)
    assert_error(post(client, "/auth/login", {"email": u.email, "password": PASSWORD}), 401)
    fresh = post(client, "/auth/login", {"email": u.email, "password": new})
    assert fresh.status_code == 200
    assert client.http.get("/me", headers={"Authorization": f"Bearer {body(fresh)['access_token']}"}).status_code == 200
    actions = {r[0] for r in _sql(stack_env, "SELECT action FROM audit_log WHERE actor_id = %s", u.id)}
    assert {"auth.password_change_failed", "auth.password_changed"} <= actions


def test_disabled_user_tokens_stop_working(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    _sql(stack_env, "UPDATE users SET disabled = true WHERE id = %s", u.id)
    assert_error(client.http.get("/me", headers=u.auth), 401)
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": u.cookie}), 401)
    assert_error(post(client, "/auth/login", {"email": u.email, "password": PASSWORD}), 401)


def test_signing_key_rotation_keeps_old_tokens_valid(client: Client, stack_env: dict[str, str]) -> None:
    from stockscreen.accounts.tokens import keyring

    u = make_user(client, stack_env["DATABASE_URL"])
    old = _secret(stack_env)
    sm = boto3.client("secretsmanager", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    new = {"kid": f"rotated-{uuid.uuid4().hex[:6]}", "key": secrets.token_urlsafe(48)}
    sm.put_secret_value(SecretId=stack_env["JWT_SECRET_ARN"], SecretString=json.dumps(new))
    keyring.clear()
    try:
        assert client.http.get("/me", headers=u.auth).status_code == 200  # signed with the previous key
        token = body(post(client, "/auth/login", {"email": u.email, "password": PASSWORD}))["access_token"]
        assert jwt.get_unverified_header(token)["kid"] == new["kid"]
        assert client.http.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        sm.put_secret_value(SecretId=stack_env["JWT_SECRET_ARN"], SecretString=json.dumps(old))
        keyring.clear()


def test_api_keys_for_premium_users(client: Client, stack_env: dict[str, str]) -> None:
    free = make_user(client, stack_env["DATABASE_URL"])
    assert_error(post(client, "/me/api-keys", {"name": "bot"}, free.auth), 403, "forbidden")
    prem = make_user(client, stack_env["DATABASE_URL"], "premium")
    other = make_user(client, stack_env["DATABASE_URL"], "premium")
    resp = post(client, "/me/api-keys", {"name": "bot"}, prem.auth)
    assert resp.status_code == 201, resp.body
    created = body(resp)
    key = created["key"]
    assert key.startswith(created["prefix"] + "_")
    listed = body(client.http.get("/me/api-keys", headers=prem.auth))
    assert listed["count"] == 1 and "key" not in listed["data"][0] and listed["data"][0]["prefix"] == created["prefix"]
    stored = _sql(stack_env, "SELECT key_hash FROM api_keys WHERE id = %s", created["id"])[0][0]
    assert key not in stored and len(stored) == 64
    # Accepted on read routes, refused on writes.
    me = client.http.get("/me", headers={"X-API-Key": key})
    assert me.status_code == 200 and body(me)["id"] == prem.id
    assert_error(send(client, "PATCH", "/me", {"display_name": "x"}, {"X-API-Key": key}), 401)
    assert_error(client.http.get("/me", headers={"X-API-Key": key + "x"}), 401)
    # Another user cannot see or revoke it.
    assert body(client.http.get("/me/api-keys", headers=other.auth))["count"] == 0
    assert_error(send(client, "DELETE", f"/me/api-keys/{created['id']}", None, other.auth), 404)
    assert_error(send(client, "DELETE", "/me/api-keys/not-a-uuid", None, prem.auth), 404)
    # A downgraded account's keys stop working.
    set_role(stack_env["DATABASE_URL"], prem.id, "free")
    assert_error(client.http.get("/me", headers={"X-API-Key": key}), 401)
    set_role(stack_env["DATABASE_URL"], prem.id, "premium")
    assert send(client, "DELETE", f"/me/api-keys/{created['id']}", None, prem.auth).status_code == 204
    assert_error(client.http.get("/me", headers={"X-API-Key": key}), 401)
    actions = [
        r[0] for r in _sql(stack_env, "SELECT action FROM audit_log WHERE target = %s ORDER BY id", created["id"])
    ]
    assert actions == ["api_key.create", "api_key.revoke"]
