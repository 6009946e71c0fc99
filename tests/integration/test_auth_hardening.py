"""Security findings on accounts, through chalice.test.Client on the real PostgreSQL and Redis: sign-in
throttling that an attacker cannot turn against the owner, the owner's notice of repeated failures, the
guess limit on password changes, the common/breached password policy, and logout with the access token."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import redis
from chalice.test import Client

from tests.integration.authkit import PASSWORD, assert_error, body, from_ip, login, make_user, post, refresh_cookie

pytestmark = pytest.mark.usefixtures("fresh_limits")

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.20"


def _redis(stack_env: dict[str, str]) -> redis.Redis:
    return redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)


def lift_delays(stack_env: dict[str, str]) -> None:
    """Let the current delays run out (as waiting Retry-After seconds would), keeping the counts."""
    r = _redis(stack_env)
    for k in r.scan_iter("throttle:*"):
        r.hdel(k, "until")


def _actions(stack_env: dict[str, str], user_id: str) -> list[str]:
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        rows = conn.execute("SELECT action FROM audit_log WHERE actor_id = %s ORDER BY id", (user_id,)).fetchall()
    return [r[0] for r in rows]


# -- finding 1: nobody can lock the owner out ------------------------------------------------------------


def test_an_attackers_failures_do_not_lock_the_owner_out(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    # the old lock: 5 wrong passwords from anywhere locked the account for everyone, doubling up to 15 min
    for round_ in range(3):
        for _ in range(6):
            lift_delays(stack_env)  # the attacker waits out each delay: every guess is checked
            assert_error(login(client, u.email, "wrong password!", ATTACKER), 401, "unauthorized")
        # the attacker's pair is slowed down, even with the right password ...
        held = login(client, u.email, PASSWORD, ATTACKER)
        err = assert_error(held, 429, "rate_limited")
        assert int(held.headers["Retry-After"]) == err["details"]["retry_after"] >= 1
        # ... while the owner, elsewhere, signs in at once
        ok = login(client, u.email, PASSWORD, OWNER)
        assert ok.status_code == 200, (round_, ok.body)


def test_the_delay_grows_per_pair_and_a_success_clears_it(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    for _ in range(5):  # five free failures
        assert_error(login(client, u.email, "wrong password!", ATTACKER), 401)
    delays = []
    for _ in range(3):
        assert_error(login(client, u.email, "wrong password!", ATTACKER), 401)
        held = login(client, u.email, "wrong password!", ATTACKER)
        assert_error(held, 429, "rate_limited")
        delays.append(int(held.headers["Retry-After"]))
        lift_delays(stack_env)
    assert delays == [1, 2, 4]
    # the right password from that address, once its delay is over, works and clears the pair's count
    assert login(client, u.email, PASSWORD, ATTACKER).status_code == 200
    assert_error(login(client, u.email, "wrong password!", ATTACKER), 401)
    assert_error(login(client, u.email, "wrong password!", ATTACKER), 401)


def test_unknown_emails_are_throttled_the_same_way(client: Client) -> None:
    ghost = f"ghost-{uuid.uuid4().hex}@example.com"
    for _ in range(6):
        assert_error(login(client, ghost, "wrong password!", ATTACKER), 401)
    assert_error(login(client, ghost, "wrong password!", ATTACKER), 429, "rate_limited")
    assert_error(login(client, ghost, "wrong password!", OWNER), 401)


def test_one_address_failing_across_accounts_is_slowed_down(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    for i in range(21):  # a spray: one guess per account, 20 free for the address
        assert_error(login(client, f"spray-{i}-{uuid.uuid4().hex[:6]}@example.com", "Winter2026!", ATTACKER), 401)
    held = login(client, u.email, PASSWORD, ATTACKER)
    assert_error(held, 429, "rate_limited")
    assert int(held.headers["Retry-After"]) >= 1
    assert login(client, u.email, PASSWORD, OWNER).status_code == 200


def test_the_owner_is_notified_of_repeated_failures(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    for i in range(9):
        assert_error(login(client, u.email, "wrong password!", f"203.0.113.{i // 3 + 1}"), 401)
    assert body(client.http.get("/notifications", headers=u.auth))["count"] == 0
    assert_error(login(client, u.email, "wrong password!", "203.0.113.9"), 401)  # the 10th in the hour
    notes = body(client.http.get("/notifications", headers=u.auth))
    assert notes["count"] == 1
    note = notes["data"][0]
    assert note["kind"] == "security" and "failed" in note["title"].lower()
    assert note["data"] == {"failures": 10, "window_s": 3600}
    assert_error(login(client, u.email, "wrong password!", "203.0.113.10"), 401)  # once per hour, not per failure
    assert body(client.http.get("/notifications", headers=u.auth))["count"] == 1


# -- finding 2: password changes have a guess limit ------------------------------------------------------


def test_wrong_current_passwords_are_throttled(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    new = "a much better passphrase"
    with from_ip(client, ATTACKER):
        for _ in range(6):
            assert_error(
                post(client, "/me/password", {"current_password": "guess guess", "new_password": new}, u.auth), 403
            )
        held = post(client, "/me/password", {"current_password": PASSWORD, "new_password": new}, u.auth)
        err = assert_error(held, 429, "rate_limited")
        assert int(held.headers["Retry-After"]) == err["details"]["retry_after"] >= 1
        assert "auth.password_change_throttled" in _actions(stack_env, u.id)
        lift_delays(stack_env)
        assert_error(
            post(client, "/me/password", {"current_password": "guess guess", "new_password": new}, u.auth), 403
        )
        assert (
            int(
                post(client, "/me/password", {"current_password": "x", "new_password": new}, u.auth).headers[
                    "Retry-After"
                ]
            )
            == 2
        )  # the delay grew
        lift_delays(stack_env)
        ok = post(client, "/me/password", {"current_password": PASSWORD, "new_password": new}, u.auth)
    assert ok.status_code == 204, ok.body
    assert login(client, u.email, new, OWNER).status_code == 200


# -- finding 3: common, breached and email-derived passwords are refused ----------------------------------


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("password12", "common"),
        ("1234567890", "common"),
        ("aaaaaaaaaa", "common"),
        ("Password12", "common"),
        ("QWERTYUIOP", "common"),
        ("<email>", "email"),
        ("<EMAIL-NAME>-and-more", "email"),
    ],
)
def test_weak_passwords_are_refused_at_sign_up(client: Client, password: str, rule: str) -> None:
    name = f"walter{uuid.uuid4().hex[:6]}"
    email = f"{name}@example.com"
    password = password.replace("<email>", email).replace("<EMAIL-NAME>", name.upper())
    err = assert_error(post(client, "/auth/register", {"email": email, "password": password}), 400, "invalid_request")
    assert err["details"] == {"field": "password", "rule": rule}
    words = {"common": "common or breached", "email": "email address"}
    assert words[rule] in err["message"]
    assert post(client, "/auth/login", {"email": email, "password": password}).status_code == 401  # no account


def test_weak_new_passwords_are_refused_on_change(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    local = u.email.split("@")[0]
    for new, rule in (("password12", "common"), (u.email, "email"), (f"my {local} pass", "email")):
        resp = post(client, "/me/password", {"current_password": PASSWORD, "new_password": new}, u.auth)
        err = assert_error(resp, 400, "invalid_request")
        assert err["details"] == {"field": "new_password", "rule": rule}, new
    # the length rule still holds
    assert_error(post(client, "/me/password", {"current_password": PASSWORD, "new_password": "short"}, u.auth), 400)
    assert client.http.get("/me", headers=u.auth).status_code == 200  # nothing changed, still signed in


def test_a_short_email_name_is_no_rule(client: Client) -> None:
    email = f"jo@{uuid.uuid4().hex[:8]}.example.com"
    resp = post(client, "/auth/register", {"email": email, "password": "jo's own passphrase"})
    assert resp.status_code == 201, resp.body


# -- finding 4: logout with only the access token ends that session ---------------------------------------


def test_logout_with_only_the_access_token_revokes_that_session(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])  # session A: u.token, u.cookie
    other = post(client, "/auth/login", {"email": u.email, "password": PASSWORD})  # session B
    other_cookie = refresh_cookie(other)
    resp = post(client, "/auth/logout", b"", u.auth)  # the bearer token only, no cookie
    assert resp.status_code == 204 and "Max-Age=0" in resp.headers["Set-Cookie"]
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": u.cookie}), 401)
    # the other session goes on
    again = post(client, "/auth/refresh", b"", {"Cookie": other_cookie})
    assert again.status_code == 200, again.body
    # and the refreshed access token still names its session: logging out with it ends session B too
    assert (
        post(client, "/auth/logout", b"", {"Authorization": f"Bearer {body(again)['access_token']}"}).status_code == 204
    )
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": refresh_cookie(again)}), 401)


def test_logout_with_only_the_cookie_revokes_that_session(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    other = post(client, "/auth/login", {"email": u.email, "password": PASSWORD})
    assert post(client, "/auth/logout", b"", {"Cookie": u.cookie}).status_code == 204  # the cookie only
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": u.cookie}), 401)
    again = post(client, "/auth/refresh", b"", {"Cookie": refresh_cookie(other)})
    assert again.status_code == 200
    # another user's sign-out ends their own session only
    v = make_user(client, stack_env["DATABASE_URL"])
    assert post(client, "/auth/logout", b"", v.auth).status_code == 204
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": v.cookie}), 401)
    assert post(client, "/auth/refresh", b"", {"Cookie": refresh_cookie(again)}).status_code == 200
