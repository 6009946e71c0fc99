"""Hostile JSON bodies on every route that reads one: nesting past the depth limit and numbers with
thousands of digits are clear 400s with the uniform error body, never a 500 or a Python internal."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from chalice.test import Client

from stockscreen.core.jsonread import MAX_DEPTH, MAX_NUMBER_DIGITS
from tests.integration.authkit import PASSWORD, User, assert_error, body, make_user, post, send

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits")]

#: ``{"email": [[[...]]]}`` nested 1,000 levels: about 2 KB, far under the body size limit
DEEP = b'{"email": ' + b"[" * 1000 + b"]" * 1000 + b', "password": "x"}'
LONG_NUMBER = "9" * 5000
#: what Python says about its own limits; no answer may contain any of it
INTERNALS = re.compile(r"int_max_str_digits|integer string conversion|Traceback|RecursionError|sys\.", re.I)

#: the routes of the issue, each of which answered 500 internal_error
LISTED = [
    ("POST", "/auth/login", None),
    ("POST", "/auth/register", None),
    ("POST", "/watchlists", "premium"),
    ("POST", "/alerts", "premium"),
    ("POST", "/portfolios", "premium"),
    ("PATCH", "/me", "premium"),
]


@pytest.fixture(scope="module")
def admin(client: Client, stack_env: dict[str, str]) -> User:
    return make_user(client, stack_env["DATABASE_URL"], "admin")


@pytest.fixture(scope="module")
def path_ids(client: Client, admin: User) -> dict[str, str]:
    """Real resources of the admin, so every route with a path parameter gets as far as its body."""

    def created(path: str, payload: dict[str, Any]) -> str:
        resp = post(client, path, payload, admin.auth)
        assert resp.status_code == 201, (path, resp.body)
        return str(body(resp)["id"])

    screen_id = created("/screens/saved", {"name": "deep", "query": "close > 0"})
    share = post(client, f"/screens/saved/{screen_id}/share", {}, admin.auth)
    assert share.status_code == 200, share.body
    return {
        "user_id": admin.id,
        "alert_id": created("/alerts", {"rule": {"type": "low_52w", "symbol": "XOM"}}),
        "pf_id": created("/portfolios", {"name": "deep"}),
        "wl_id": created("/watchlists", {"name": "deep"}),
        "screen_id": screen_id,
        "token": str(body(share)["share_token"]),
        "notification_id": str(uuid.uuid4()),  # reads no body: a 404 is its answer
        "finding_id": "1",  # no such finding: the body is read first
        "upload_id": str(uuid.uuid4()),
        "report_id": str(uuid.uuid4()),
    }


def body_routes() -> list[tuple[str, str]]:
    """Every declared route that takes a request body."""
    from devstack.lambdas import load_api

    load_api()
    from chalicelib.http import ROUTES

    return sorted((m, p) for m, p in ROUTES if m in ("POST", "PUT", "PATCH"))


def _headers(role: str | None, admin: User) -> dict[str, str]:
    return admin.auth if role is not None else {}


def _assert_clear_400(resp: Any, fragment: str) -> dict[str, Any]:
    err = assert_error(resp, 400, "invalid_request")
    text = err["message"] + json.dumps(err["details"])
    assert fragment in err["message"], err
    assert not INTERNALS.search(text), err
    return err


@pytest.mark.parametrize(("method", "path", "role"), LISTED)
def test_deeply_nested_body_is_a_400_on_the_listed_routes(
    client: Client, admin: User, method: str, path: str, role: str | None
) -> None:
    resp = send(client, method, path, DEEP, _headers(role, admin))
    err = _assert_clear_400(resp, "nested too deeply")
    assert err["details"] == {"limit": MAX_DEPTH}


#: the routes with a JSON-ish content type that read no body (the one-click unsubscribe reads its query)
NO_BODY = {
    "POST /auth/logout",
    "POST /auth/refresh",
    "POST /notifications/read",
    "POST /notifications/{notification_id}/read",
    "POST /screens/saved/{screen_id}/share",
    "POST /alerts/unsubscribe",
    "POST /reports/unsubscribe",
    "POST /me/notification-preferences/webhook-secret",
    "POST /admin/alerts/dlq/redrive",
}
#: routes that end the session whose token they are sent with: each gets a session of its own (signing out
#: revokes the session's access tokens too), so the admin's session lives through the whole walk
ENDS_SESSION = {"POST /auth/logout"}


def _own_session(client: Client, user: User) -> dict[str, str]:
    token = body(post(client, "/auth/login", {"email": user.email, "password": PASSWORD}))["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_every_route_with_a_body_refuses_deep_nesting_and_long_numbers(
    client: Client, admin: User, path_ids: dict[str, str]
) -> None:
    routes = body_routes()
    assert len(routes) > 20
    assert {f"{m} {p}" for m, p in routes} >= NO_BODY  # the list names real routes
    checked = 0
    for method, template in routes:
        path = re.sub(r"\{(\w+)\}", lambda m: path_ids[m.group(1)], template)
        ends = f"{method} {template}" in ENDS_SESSION
        deep = send(client, method, path, DEEP, _own_session(client, admin) if ends else admin.auth)
        long = send(
            client,
            method,
            path,
            ('{"name": ' + LONG_NUMBER + "}").encode(),
            _own_session(client, admin) if ends else admin.auth,
        )
        assert long.status_code < 500 and not INTERNALS.search(long.body.decode()), (method, template, long.body)
        if f"{method} {template}" in NO_BODY:
            assert deep.status_code < 500, (method, template, deep.status_code, deep.body)
            continue
        # every route that reads a body refuses the deep one with the clear 400
        _assert_clear_400(deep, "nested too deeply")
        if long.status_code == 400:
            _assert_clear_400(long, "number at name has 5000 digits")
        checked += 1
    assert checked == len(routes) - len(NO_BODY)


def test_nesting_up_to_the_limit_is_parsed(client: Client) -> None:
    """At the limit the document is read (and refused by validation: email is no list), one deeper is not."""
    at_limit = b'{"email": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b', "password": "x"}'
    assert_error(post(client, "/auth/login", at_limit), 400, "validation_error")
    over = b'{"email": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b', "password": "x"}'
    _assert_clear_400(post(client, "/auth/login", over), "nested too deeply")
    # brackets inside strings are text, not nesting
    text = json.dumps({"email": "[" * 500 + "@example.com", "password": "x" * 12}).encode()
    assert post(client, "/auth/login", text).status_code in (400, 401)


def test_a_5000_digit_number_names_the_field_and_the_limit(client: Client, admin: User) -> None:
    resp = post(client, "/screens/run", ('{"limit": ' + LONG_NUMBER + "}").encode())
    err = _assert_clear_400(resp, "number at limit has 5000 digits")
    assert f"at most {MAX_NUMBER_DIGITS}" in err["message"]
    assert err["details"] == {"loc": "limit", "limit": MAX_NUMBER_DIGITS, "digits": 5000}
    signed_in = send(client, "POST", "/portfolios", ('{"name": ' + LONG_NUMBER + "}").encode(), admin.auth)
    _assert_clear_400(signed_in, "number at name has 5000 digits")
    nested = post(
        client, "/screens/run", ('{"filters": [{"field": "pe", "op": ">", "value": -' + LONG_NUMBER + "}]}").encode()
    )
    err = _assert_clear_400(nested, "number at filters.0.value has 5000 digits")
    # a float literal with thousands of digits too, anonymous, on the auth routes
    login = post(client, "/auth/login", ('{"email": 1.' + LONG_NUMBER + ', "password": "x"}').encode())
    _assert_clear_400(login, "number at email has 5001 digits")
    # a number within the limit reaches validation as before
    ok = send(client, "POST", "/screens/run", {"limit": int("9" * MAX_NUMBER_DIGITS)})
    assert_error(ok, 400, "validation_error")


#: malformed bodies besides depth and length: invalid UTF-8, a lone surrogate, non-finite numbers, operators
HOSTILE_BODIES = [
    b"\xff\xfe\x00{",
    b'{"name": "\\ud800"}',
    b'{"name": 1e999, "limit": NaN, "value": -Infinity}',
    b'{"name": {"$gt": ""}, "filters": [{"field": "pe", "op": ">", "value": 1e999}]}',
]
#: malformed query strings: a 5,000-digit number, NUL, invalid UTF-8, a deeply nested query expression
HOSTILE_QUERIES = [
    "limit=" + LONG_NUMBER,
    "q=%00&limit=NaN",
    "q=%ff&offset=-1",
    "query=" + "(" * 1000 + "pe>1" + ")" * 1000,
]


def test_no_route_answers_a_500_or_a_traceback_to_malformed_input(
    client: Client, admin: User, path_ids: dict[str, str]
) -> None:
    """Every declared route, signed in as an admin (so no policy check stops the request early)."""
    from chalicelib.http import ROUTES

    ids = {**path_ids, "symbol": "AAPL", "key_id": str(uuid.uuid4()), "run_id": str(uuid.uuid4())}
    ids["txn_id"] = str(uuid.uuid4())
    ids["throttle_id"] = "pair-" + uuid.uuid4().hex
    checked = 0
    for method, template in sorted(ROUTES):
        path = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)
        requests = [(path + "?" + q, b"") for q in HOSTILE_QUERIES]
        if method in ("POST", "PUT", "PATCH"):
            requests += [(path, b) for b in HOSTILE_BODIES]
        for target, payload in requests:
            resp = send(client, method, target, payload or None, admin.auth)
            where = (method, target[:80], payload[:40], resp.status_code, resp.body[:300])
            assert resp.status_code < 500 and not INTERNALS.search(resp.body.decode("utf-8", "replace")), where
            if resp.status_code >= 400:
                assert_error(resp, resp.status_code)  # the uniform error body
            checked += 1
    assert checked > 300
