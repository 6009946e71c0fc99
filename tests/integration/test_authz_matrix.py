"""The authorization matrix, generated from the route table: every route x {anonymous, free, premium, admin}
-> expected status, plus owner vs another user (404) for routes that address one user's resource.

A route without an entry in EXPECTED fails ``test_every_route_has_an_entry``: adding a route means
deciding who may call it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client

from devstack.lambdas import load_api
from tests.integration.authkit import (
    PASSWORD,
    User,
    body,
    clear_rate_limits,
    make_user,
    notify,
    openapi_document,
    post,
    response_validator,
)

pytestmark = pytest.mark.sample_data

ROLES = ("anonymous", "free", "premium", "admin")
Req = tuple[str, Any, dict[str, str]]  # url, JSON payload (or None), extra headers
Make = Callable[[Client, User, str], Req]  # (client, owner, database_url)


@dataclass(frozen=True)
class Case:
    statuses: dict[str, int]
    make: Make
    other: int | None = None  # status for another user (same plan) on the owner's resource


def _open(ok: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, ok)


def _users(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "free": ok, "premium": ok, "admin": ok}


def _paid(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "free": 403, "premium": ok, "admin": ok}


def _admin(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "free": 403, "premium": 403, "admin": ok}


def _static(url: str, payload: Any = None) -> Make:
    return lambda c, o, db: (url, payload, {})


def _wl(c: Client, o: User, item: bool = False) -> str:
    wid = body(post(c, "/watchlists", {"name": f"w-{uuid.uuid4().hex[:6]}"}, o.auth))["id"]
    if item:
        post(c, f"/watchlists/{wid}/items", {"symbol": "AAPL"}, o.auth)
    return str(wid)


def _pf(c: Client, o: User, txn: bool = False) -> tuple[str, str | None]:
    pid = body(post(c, "/portfolios", {"name": f"p-{uuid.uuid4().hex[:6]}"}, o.auth))["id"]
    tid = None
    if txn:
        t = {"kind": "buy", "symbol": "AAPL", "date": "2018-01-02", "quantity": 1, "price": 1}
        tid = body(post(c, f"/portfolios/{pid}/transactions", t, o.auth))["id"]
    return str(pid), tid


def _alert(c: Client, o: User) -> str:
    return str(body(post(c, "/alerts", {"rule": {"type": "high_52w", "symbol": "AAPL"}}, o.auth))["id"])


def _unsubscribe(c: Client, o: User) -> str:
    from stockscreen.alerts import unsubscribe

    kid, keys = unsubscribe.keys()
    return unsubscribe.sign(o.id, _alert(c, o), kid, keys[kid])


def _report(c: Client, o: User, db: str) -> str:
    """A stored report of the owner (its PDF key is only signed, never fetched, by the download route)."""
    import psycopg

    with psycopg.connect(db.replace("+psycopg", ""), autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO report_runs (user_id, kind, period, status, pdf_key, pdf_bytes) "
            "VALUES (%s, 'daily', %s, 'stored', 'reports/x/report.pdf', 1) RETURNING id::text",
            (o.id, uuid.uuid4().hex),
        ).fetchone()
    assert row is not None
    return str(row[0])


def _report_unsubscribe(c: Client, o: User) -> str:
    from stockscreen.reports.wiring import sign_unsubscribe

    return sign_unsubscribe(o.id, "weekly")


def _screen_report(c: Client, o: User, db: str) -> Req:
    """The reports workflow deployed on moto (once) for the on-demand route to start."""
    import os

    from devstack.stepfunctions import ReportsStateMachine
    from stockscreen.reports import settings

    if "REPORTS_STATE_MACHINE_ARN" not in os.environ:
        os.environ["REPORTS_STATE_MACHINE_ARN"] = ReportsStateMachine(os.environ["AWS_ENDPOINT_URL"]).arn
        settings.reset()
    return "/reports/screen", {"screen_id": _screen(c, o)}, {}


def _screen(c: Client, o: User) -> str:
    return str(body(post(c, "/screens/saved", {"name": "s", "query": "close > 0", "sort": "symbol"}, o.auth))["id"])


def _shared(c: Client, o: User) -> str:
    return str(body(post(c, f"/screens/saved/{_screen(c, o)}/share", None, o.auth))["share_token"])


def _key(c: Client, o: User) -> str:
    resp = post(c, "/me/api-keys", {"name": "k"}, o.auth)
    return str(body(resp)["id"]) if resp.status_code == 201 else str(uuid.uuid4())


def _run_id(db: str) -> str:
    import psycopg

    with psycopg.connect(db.replace("+psycopg", "")) as conn:
        row = conn.execute("SELECT id FROM ingest_runs ORDER BY started_at DESC LIMIT 1").fetchone()
    assert row is not None
    return str(row[0])


TXN = {"kind": "buy", "symbol": "MSFT", "date": "2018-01-03", "quantity": 1, "price": 2}

EXPECTED: dict[tuple[str, str], Case] = {
    # public market data and the service itself: open to everyone (the SPA works signed out)
    ("GET", "/health"): Case(_open(200), _static("/health")),
    ("GET", "/securities"): Case(_open(200), _static("/securities?q=aa")),
    ("GET", "/securities/{symbol}"): Case(_open(200), _static("/securities/AAPL")),
    ("GET", "/securities/{symbol}/bars"): Case(_open(200), _static("/securities/AAPL/bars?limit=5")),
    ("GET", "/securities/{symbol}/intraday"): Case(_open(200), _static("/securities/AAPL/intraday?interval=5m")),
    ("GET", "/quotes"): Case(_open(200), _static("/quotes?symbols=AAPL,MSFT")),
    ("GET", "/screener/fields"): Case(_open(200), _static("/screener/fields")),
    ("POST", "/screens/run"): Case(_open(200), _static("/screens/run", {"sort": "symbol", "limit": 3})),
    ("GET", "/screens/explain"): Case(_open(200), _static("/screens/explain?symbol=AAPL&query=close%20%3E%20sma50")),
    ("GET", "/screens/presets"): Case(_open(200), _static("/screens/presets")),
    ("POST", "/screens/parse"): Case(_open(200), _static("/screens/parse", {"query": "close > sma50"})),
    ("POST", "/screens/backtest"): Case(
        _paid(200),
        _static("/screens/backtest", {"query": "close > sma50", "from": "2017-06-01", "to": "2017-09-30"}),
    ),
    # saved screens: the caller's own (another user's is 404); shared links are public
    ("GET", "/screens/saved"): Case(_users(200), _static("/screens/saved")),
    ("POST", "/screens/saved"): Case(_users(201), _static("/screens/saved", {"name": "S", "query": "close > 0"})),
    ("GET", "/screens/saved/{screen_id}"): Case(
        _users(200), lambda c, o, db: (f"/screens/saved/{_screen(c, o)}", None, {}), other=404
    ),
    ("PATCH", "/screens/saved/{screen_id}"): Case(
        _users(200), lambda c, o, db: (f"/screens/saved/{_screen(c, o)}", {"name": "R"}, {}), other=404
    ),
    ("DELETE", "/screens/saved/{screen_id}"): Case(
        _users(204), lambda c, o, db: (f"/screens/saved/{_screen(c, o)}", None, {}), other=404
    ),
    ("POST", "/screens/saved/{screen_id}/duplicate"): Case(
        _users(201), lambda c, o, db: (f"/screens/saved/{_screen(c, o)}/duplicate", {}, {}), other=404
    ),
    ("POST", "/screens/saved/{screen_id}/run"): Case(
        _users(200), lambda c, o, db: (f"/screens/saved/{_screen(c, o)}/run", {"limit": 3}, {}), other=404
    ),
    ("POST", "/screens/saved/{screen_id}/share"): Case(
        _users(200), lambda c, o, db: (f"/screens/saved/{_screen(c, o)}/share", None, {}), other=404
    ),
    ("DELETE", "/screens/saved/{screen_id}/share"): Case(
        _users(204), lambda c, o, db: (f"/screens/saved/{_screen(c, o)}/share", None, {}), other=404
    ),
    ("GET", "/screens/shared/{token}"): Case(
        _open(200), lambda c, o, db: (f"/screens/shared/{_shared(c, o)}", None, {})
    ),
    ("POST", "/screens/shared/{token}/run"): Case(
        _open(200), lambda c, o, db: (f"/screens/shared/{_shared(c, o)}/run", {"limit": 2}, {})
    ),
    ("GET", "/openapi.json"): Case(_open(200), _static("/openapi.json")),
    ("GET", "/docs"): Case(_open(200), _static("/docs")),
    ("GET", "/docs/docs.js"): Case(_open(200), _static("/docs/docs.js")),
    ("GET", "/docs/docs.css"): Case(_open(200), _static("/docs/docs.css")),
    # accounts
    ("POST", "/auth/register"): Case(
        _open(201),
        lambda c, o, db: ("/auth/register", {"email": f"r-{uuid.uuid4().hex}@example.com", "password": PASSWORD}, {}),
    ),
    ("POST", "/auth/login"): Case(
        _open(200), lambda c, o, db: ("/auth/login", {"email": o.email, "password": PASSWORD}, {})
    ),
    ("POST", "/auth/refresh"): Case(_open(200), lambda c, o, db: ("/auth/refresh", None, {"Cookie": o.cookie})),
    ("POST", "/auth/logout"): Case(_open(204), lambda c, o, db: ("/auth/logout", None, {"Cookie": o.cookie})),
    ("GET", "/me"): Case(_users(200), _static("/me")),
    ("PATCH", "/me"): Case(_users(200), _static("/me", {"display_name": "M"})),
    ("POST", "/me/password"): Case(
        _users(204), _static("/me/password", {"current_password": PASSWORD, "new_password": "another long passphrase"})
    ),
    ("GET", "/me/api-keys"): Case(_paid(200), _static("/me/api-keys")),
    ("POST", "/me/api-keys"): Case(_paid(201), _static("/me/api-keys", {"name": "k"})),
    ("DELETE", "/me/api-keys/{key_id}"): Case(
        _paid(204), lambda c, o, db: (f"/me/api-keys/{_key(c, o)}", None, {}), other=404
    ),
    # watchlists
    ("GET", "/watchlists"): Case(_users(200), _static("/watchlists")),
    ("POST", "/watchlists"): Case(_users(201), _static("/watchlists", {"name": "New"})),
    ("PUT", "/watchlists/order"): Case(_users(200), lambda c, o, db: ("/watchlists/order", {"ids": [_wl(c, o)]}, {})),
    ("GET", "/watchlists/{wl_id}"): Case(
        _users(200), lambda c, o, db: (f"/watchlists/{_wl(c, o)}", None, {}), other=404
    ),
    ("PATCH", "/watchlists/{wl_id}"): Case(
        _users(200), lambda c, o, db: (f"/watchlists/{_wl(c, o)}", {"name": "Renamed"}, {}), other=404
    ),
    ("DELETE", "/watchlists/{wl_id}"): Case(
        _users(204), lambda c, o, db: (f"/watchlists/{_wl(c, o)}", None, {}), other=404
    ),
    ("POST", "/watchlists/{wl_id}/items"): Case(
        _users(201), lambda c, o, db: (f"/watchlists/{_wl(c, o)}/items", {"symbol": "MSFT"}, {}), other=404
    ),
    ("PUT", "/watchlists/{wl_id}/items/order"): Case(
        _users(200),
        lambda c, o, db: (f"/watchlists/{_wl(c, o, True)}/items/order", {"symbols": ["AAPL"]}, {}),
        other=404,
    ),
    ("DELETE", "/watchlists/{wl_id}/items/{symbol}"): Case(
        _users(204), lambda c, o, db: (f"/watchlists/{_wl(c, o, True)}/items/AAPL", None, {}), other=404
    ),
    # portfolios
    ("GET", "/portfolios"): Case(_users(200), _static("/portfolios")),
    ("POST", "/portfolios"): Case(_users(201), _static("/portfolios", {"name": "P"})),
    ("GET", "/portfolios/{pf_id}"): Case(
        _users(200), lambda c, o, db: (f"/portfolios/{_pf(c, o)[0]}", None, {}), other=404
    ),
    ("PATCH", "/portfolios/{pf_id}"): Case(
        _users(200), lambda c, o, db: (f"/portfolios/{_pf(c, o)[0]}", {"name": "R"}, {}), other=404
    ),
    ("DELETE", "/portfolios/{pf_id}"): Case(
        _users(204), lambda c, o, db: (f"/portfolios/{_pf(c, o)[0]}", None, {}), other=404
    ),
    ("GET", "/portfolios/{pf_id}/transactions"): Case(
        _users(200), lambda c, o, db: (f"/portfolios/{_pf(c, o)[0]}/transactions", None, {}), other=404
    ),
    ("POST", "/portfolios/{pf_id}/transactions"): Case(
        _users(201), lambda c, o, db: (f"/portfolios/{_pf(c, o)[0]}/transactions", TXN, {}), other=404
    ),
    ("DELETE", "/portfolios/{pf_id}/transactions/{txn_id}"): Case(
        _users(204), lambda c, o, db: ("/portfolios/{}/transactions/{}".format(*_pf(c, o, True)), None, {}), other=404
    ),
    ("GET", "/portfolios/{pf_id}/performance"): Case(
        _users(200), lambda c, o, db: (f"/portfolios/{_pf(c, o, True)[0]}/performance", None, {}), other=404
    ),
    # alerts and notifications
    ("GET", "/alerts"): Case(_users(200), _static("/alerts")),
    ("POST", "/alerts"): Case(_users(201), _static("/alerts", {"rule": {"type": "low_52w", "symbol": "MSFT"}})),
    ("GET", "/alerts/{alert_id}"): Case(_users(200), lambda c, o, db: (f"/alerts/{_alert(c, o)}", None, {}), other=404),
    ("GET", "/alerts/history"): Case(_users(200), _static("/alerts/history")),
    ("GET", "/alerts/{alert_id}/history"): Case(
        _users(200), lambda c, o, db: (f"/alerts/{_alert(c, o)}/history", None, {}), other=404
    ),
    # the signed link is the credential: anyone holding it (signed in or not) may use it
    ("POST", "/alerts/unsubscribe"): Case(
        _open(200), lambda c, o, db: (f"/alerts/unsubscribe?token={_unsubscribe(c, o)}", None, {})
    ),
    ("PATCH", "/alerts/{alert_id}"): Case(
        _users(200), lambda c, o, db: (f"/alerts/{_alert(c, o)}", {"active": False}, {}), other=404
    ),
    ("DELETE", "/alerts/{alert_id}"): Case(
        _users(204), lambda c, o, db: (f"/alerts/{_alert(c, o)}", None, {}), other=404
    ),
    ("GET", "/notifications"): Case(_users(200), _static("/notifications")),
    ("POST", "/notifications/read"): Case(_users(200), _static("/notifications/read")),
    ("POST", "/notifications/{notification_id}/read"): Case(
        _users(200),
        lambda c, o, db: (
            f"/notifications/{notify(db, o.id, 'system', 'hi')}/read",
            None,
            {},
        ),
        other=404,
    ),
    ("GET", "/me/notification-preferences"): Case(_users(200), _static("/me/notification-preferences")),
    ("PUT", "/me/notification-preferences"): Case(
        _users(200), _static("/me/notification-preferences", {"timezone": "Europe/Berlin"})
    ),
    ("POST", "/me/notification-preferences/webhook-secret"): Case(
        _paid(200), _static("/me/notification-preferences/webhook-secret")
    ),
    # reports: the caller's own (another user's is 404); the signed unsubscribe link is the credential
    ("GET", "/reports"): Case(_users(200), _static("/reports")),
    ("GET", "/reports/schedule"): Case(_users(200), _static("/reports/schedule")),
    ("PUT", "/reports/schedule"): Case(
        _users(200), _static("/reports/schedule", {"daily_enabled": True, "time_zone": "Europe/Paris"})
    ),
    ("GET", "/reports/{report_id}/download"): Case(
        _users(200), lambda c, o, db: (f"/reports/{_report(c, o, db)}/download", None, {}), other=404
    ),
    ("POST", "/reports/screen"): Case(_users(202), _screen_report),
    ("POST", "/reports/unsubscribe"): Case(
        _open(200), lambda c, o, db: (f"/reports/unsubscribe?token={_report_unsubscribe(c, o)}", None, {})
    ),
    # administration
    ("GET", "/admin/alerts/dlq"): Case(_admin(200), _static("/admin/alerts/dlq")),
    ("POST", "/admin/alerts/dlq/redrive"): Case(_admin(200), _static("/admin/alerts/dlq/redrive")),
    ("GET", "/admin/users"): Case(_admin(200), _static("/admin/users")),
    ("PATCH", "/admin/users/{user_id}"): Case(
        _admin(200), lambda c, o, db: (f"/admin/users/{make_user(c, db).id}", {"role": "premium"}, {})
    ),
    ("GET", "/admin/ingest-runs"): Case(_admin(200), _static("/admin/ingest-runs")),
    ("GET", "/admin/ingest-runs/{run_id}"): Case(
        _admin(200), lambda c, o, db: (f"/admin/ingest-runs/{_run_id(db)}", None, {})
    ),
    ("GET", "/admin/audit"): Case(_admin(200), _static("/admin/audit")),
    ("GET", "/admin/operations"): Case(_admin(200), _static("/admin/operations?minutes=15")),
    ("GET", "/admin/throttles"): Case(_admin(200), _static("/admin/throttles")),
    ("DELETE", "/admin/throttles/{throttle_id}"): Case(_admin(204), lambda c, o, db: (_throttle(c, o), None, {})),
    ("GET", "/admin/findings"): Case(_admin(200), _static("/admin/findings?severity=error")),
    ("GET", "/admin/findings/trend"): Case(_admin(200), _static("/admin/findings/trend?days=7")),
    ("POST", "/admin/findings/{finding_id}/release"): Case(
        _admin(201), lambda c, o, db: (f"/admin/findings/{_quarantined(db)}/release", {"note": "reviewed"}, {})
    ),
    ("POST", "/admin/uploads"): Case(_admin(201), _static("/admin/uploads", {"filename": "bars.csv", "size": 100})),
    ("GET", "/admin/uploads/{upload_id}"): Case(
        _admin(200), lambda c, o, db: (f"/admin/uploads/{uuid.uuid4()}", None, {})
    ),
}


def _quarantined(db: str) -> int:
    """A fresh quarantined row a release may take (a bad print of its own symbol and date)."""
    import datetime as dt
    import json

    import psycopg

    day = dt.date(1990, 1, 1) + dt.timedelta(days=uuid.uuid4().int % 3000)
    raw = {"file": "matrix.csv", "line": 2, "open": 10, "high": 11, "low": 9, "close": 10.5, "volume": 100}
    with psycopg.connect(db.replace("+psycopg", ""), autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO quality_issues (run_id, rule, severity, action, symbol, date, message, raw) "
            "VALUES (%s, 'bad_print', 'error', 'quarantined', %s, %s, 'matrix', %s) RETURNING id",
            (_run_id(db), f"M{uuid.uuid4().hex[:6].upper()}", day, json.dumps(raw)),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _throttle(c: Client, o: User) -> str:
    """A failed sign-in from the test client's address; the URL of its (account, address) counter."""
    from stockscreen.accounts.service import login_keys

    assert post(c, "/auth/login", {"email": o.email, "password": "wrong password!"}).status_code == 401
    return f"/admin/throttles/{login_keys(o.email, '127.0.0.1')[0].id}"


def _route_table() -> set[tuple[str, str]]:
    app = load_api()
    # OPTIONS views are the CORS preflights generated for every path.
    return {
        (method, path)
        for path, entries in app.routes.items()
        if path != "/{proxy+}"
        for method in entries
        if method != "OPTIONS"
    }


def test_every_route_has_an_entry() -> None:
    routes = _route_table()
    missing = sorted(routes - set(EXPECTED))
    stale = sorted(set(EXPECTED) - routes)
    assert not missing, f"routes without an authorization-matrix entry: {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


def test_route_specs_agree_with_the_matrix() -> None:
    """A route the matrix expects anonymous callers to be refused must say so in its own declaration."""
    load_api()
    from chalicelib.http import ROUTES

    for key, case in EXPECTED.items():
        spec = ROUTES.get(key)
        assert spec is not None, f"{key} is not declared through chalicelib.http.route"
        if case.statuses["anonymous"] == 401:
            assert spec.auth == "required", key
        if case.other is not None:
            assert spec.owned, key


DOC = openapi_document()


def _call(client: Client, method: str, url: str, payload: Any, headers: dict[str, str]) -> Any:
    from tests.integration.authkit import send

    return send(client, method, url, payload, headers)


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
def test_matrix(client: Client, stack_env: dict[str, str], method: str, path: str) -> None:
    case = EXPECTED[(method, path)]
    db = stack_env["DATABASE_URL"]
    got: dict[str, int] = {}
    for role in ROLES:
        clear_rate_limits(stack_env["REDIS_URL"])
        owner = make_user(client, db, "free" if role == "anonymous" else role)
        url, payload, extra = case.make(client, owner, db)
        headers = dict(extra) if role == "anonymous" else {**owner.auth, **extra}
        resp = _call(client, method, url, payload, headers)
        got[role] = resp.status_code
        if resp.status_code >= 400:
            assert set(body(resp)) == {"error"}, resp.body
        documented = DOC["paths"].get(path, {}).get(method.lower())
        if documented is not None and path not in ("/docs", "/docs/docs.js", "/docs/docs.css"):
            # Every answer is documented, and its body matches the documented schema.
            validator = response_validator(DOC, method, path, resp.status_code)
            if validator is not None:
                validator.validate(body(resp))
    if case.other is not None:
        owner_role = "premium" if case.statuses["free"] == 403 else "free"
        owner = make_user(client, db, owner_role)
        other = make_user(client, db, owner_role)
        url, payload, extra = case.make(client, owner, db)
        got["other"] = _call(client, method, url, payload, {**other.auth, **extra}).status_code
    expected = {**case.statuses, **({"other": case.other} if case.other is not None else {})}
    assert got == expected
