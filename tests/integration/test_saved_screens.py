"""Saved screens through the API: CRUD, validation, quotas, owner scoping, field access, duplicate,
run with paging, public share links (read-only, anonymous run, revocable)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from chalice.test import Client

from tests.integration.authkit import assert_error, body, make_user, post, send

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits")]


CANON = "market_cap > 100000000000 and close > sma50"  # the canonical text of SCREEN["query"]
SCREEN: dict[str, Any] = {
    "name": "Large caps",
    "description": "mega caps above their 50-day average",
    "query": "market_cap  >  100B and close > sma50",
    "sort": "symbol",
    "order": "asc",
    "columns": ["symbol", "close", "market_cap"],
}


def _save(client: Client, headers: dict[str, str], **over: Any) -> Any:
    return post(client, "/screens/saved", {**SCREEN, **over}, headers)


def test_crud_round_trip_stores_the_canonical_query(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "free")
    resp = _save(client, u.auth)
    assert resp.status_code == 201, resp.body
    made = body(resp)
    assert made["query"] == CANON
    assert made["ast"]["kind"] == "and" and len(made["ast"]["items"]) == 2
    assert made["share_token"] is None and made["columns"] == SCREEN["columns"]
    sid = made["id"]
    assert body(client.http.get(f"/screens/saved/{sid}", headers=u.auth)) == made
    listed = body(client.http.get("/screens/saved", headers=u.auth))
    assert listed["count"] == 1 and listed["data"][0]["id"] == sid

    # the same screen given as an AST is stored with the same text
    from_ast = body(_save(client, u.auth, name="as ast", query=None, ast=made["ast"]))
    assert from_ast["query"] == made["query"]

    patched = body(send(client, "PATCH", f"/screens/saved/{sid}", {"name": " Renamed ", "order": "desc"}, u.auth))
    assert patched["name"] == "Renamed" and patched["order"] == "desc" and patched["query"] == made["query"]
    requery = send(client, "PATCH", f"/screens/saved/{sid}", {"query": "pe < 30"}, u.auth)
    assert body(requery)["query"] == "pe < 30" and body(requery)["description"] == SCREEN["description"]
    assert send(client, "DELETE", f"/screens/saved/{sid}", None, u.auth).status_code == 204
    assert_error(client.http.get(f"/screens/saved/{sid}", headers=u.auth), 404, "not_found")
    assert_error(send(client, "DELETE", f"/screens/saved/{sid}", None, u.auth), 404)
    assert_error(client.http.get("/screens/saved/not-a-uuid", headers=u.auth), 404)


@pytest.mark.parametrize(
    ("over", "status", "needle"),
    [
        ({"query": "close >> 5"}, 400, "column"),
        ({"query": "sector > 5"}, 400, "sector"),
        ({"query": "nosuchfield > 1"}, 400, "nosuchfield"),
        ({"sort": "nosuchfield"}, 400, "nosuchfield"),
        ({"columns": ["symbol", "bogus"]}, 400, "bogus"),
        ({"name": "   "}, 400, "name"),
        ({"query": "close > 1", "ast": {"kind": "flag", "expr": {"kind": "field", "name": "close"}}}, 400, "both"),
        ({"extra": 1}, 400, "extra"),
    ],
)
def test_bad_screens_are_400(
    client: Client, stack_env: dict[str, str], over: dict[str, Any], status: int, needle: str
) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "free")
    err = assert_error(_save(client, u.auth, **over), status)
    assert needle in (err["message"] + str(err["details"])).lower()
    assert body(client.http.get("/screens/saved", headers=u.auth))["count"] == 0


def test_syntax_error_names_the_position(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "free")
    direct = assert_error(send(client, "POST", "/screens/parse", {"query": "close > > 5"}), 400)
    saved = assert_error(_save(client, u.auth, query="close > > 5"), 400)
    assert saved["message"] == direct["message"] and saved["details"] == direct["details"]
    assert "column" in saved["message"]


def test_free_quota_is_three_and_duplicate_counts(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "free")
    ids = [body(_save(client, u.auth, name=f"s{i}"))["id"] for i in range(3)]
    err = assert_error(_save(client, u.auth, name="fourth"), 403, "forbidden")
    assert "saved_screens" in err["message"] + str(err["details"])
    # the list tells how much of the plan's quota is used, before any refusal
    listed = body(client.http.get("/screens/saved", headers=u.auth))
    assert (listed["count"], listed["limit"]) == (3, 3)
    assert_error(post(client, f"/screens/saved/{ids[0]}/duplicate", {}, u.auth), 403)
    assert send(client, "DELETE", f"/screens/saved/{ids[1]}", None, u.auth).status_code == 204
    copy = post(client, f"/screens/saved/{ids[0]}/duplicate", {}, u.auth)
    assert copy.status_code == 201
    assert body(copy)["name"] == "s0 (copy)" and body(copy)["query"] == CANON
    assert body(copy)["id"] not in ids
    p = make_user(client, stack_env["DATABASE_URL"], "premium")
    for i in range(5):
        assert _save(client, p.auth, name=f"p{i}").status_code == 201
    listed = body(client.http.get("/screens/saved?limit=2", headers=p.auth))
    assert (len(listed["data"]), listed["count"], listed["limit"]) == (2, 5, 100)


def test_another_users_screen_is_404_everywhere(client: Client, stack_env: dict[str, str]) -> None:
    owner = make_user(client, stack_env["DATABASE_URL"], "free")
    other = make_user(client, stack_env["DATABASE_URL"], "premium")
    sid = body(_save(client, owner.auth))["id"]
    for method, suffix, payload in [
        ("GET", "", None),
        ("PATCH", "", {"name": "x"}),
        ("DELETE", "", None),
        ("POST", "/duplicate", {}),
        ("POST", "/run", {}),
        ("POST", "/share", None),
        ("DELETE", "/share", None),
    ]:
        assert_error(send(client, method, f"/screens/saved/{sid}{suffix}", payload, other.auth), 404, "not_found")
    assert body(client.http.get("/screens/saved", headers=other.auth))["count"] == 0
    assert body(client.http.get(f"/screens/saved/{sid}", headers=owner.auth))["name"] == SCREEN["name"]
    assert_error(client.http.get("/screens/saved"), 401)


def test_free_user_cannot_save_premium_fields(client: Client, stack_env: dict[str, str]) -> None:
    free = make_user(client, stack_env["DATABASE_URL"], "free")
    err = assert_error(_save(client, free.auth, query="beta < 1 and close > 0"), 403, "forbidden")
    assert err["details"]["fields"] == ["beta"]
    assert assert_error(_save(client, free.auth, sort="atr14"), 403)["details"]["fields"] == ["atr14"]
    sid = body(_save(client, free.auth))["id"]
    err = assert_error(send(client, "PATCH", f"/screens/saved/{sid}", {"columns": ["macd_hist"]}, free.auth), 403)
    assert err["details"]["fields"] == ["macd_hist"]
    premium = make_user(client, stack_env["DATABASE_URL"], "premium")
    assert _save(client, premium.auth, query="beta < 5").status_code == 201


def test_run_pages_match_the_plain_screen(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "free")
    sid = body(_save(client, u.auth, query="close > 0"))["id"]
    full = body(
        send(
            client,
            "POST",
            "/screens/run",
            {"query": "close > 0", "sort": "symbol", "order": "asc", "columns": SCREEN["columns"], "limit": 100},
        )
    )
    assert full["count"] >= 4
    first = body(post(client, f"/screens/saved/{sid}/run", {"limit": 2}, u.auth))
    second = body(post(client, f"/screens/saved/{sid}/run", {"limit": 2, "offset": 2}, u.auth))
    assert first["count"] == full["count"] and first["columns"] == SCREEN["columns"]
    assert [r["symbol"] for r in first["data"] + second["data"]] == [r["symbol"] for r in full["data"][:4]]
    default = send(client, "POST", f"/screens/saved/{sid}/run", None, u.auth)
    assert default.status_code == 200 and len(body(default)["data"]) == min(50, full["count"])
    assert_error(post(client, f"/screens/saved/{sid}/run", {"limit": 0}, u.auth), 400)
    assert_error(post(client, f"/screens/saved/{sid}/run", {"page": 1}, u.auth), 400)


def test_share_link_is_public_read_only_and_revocable(client: Client, stack_env: dict[str, str]) -> None:
    owner = make_user(client, stack_env["DATABASE_URL"], "free")
    sid = body(_save(client, owner.auth))["id"]
    shared = body(post(client, f"/screens/saved/{sid}/share", None, owner.auth))
    token = shared["share_token"]
    assert token and len(token) >= 40 and shared["shared_at"]
    assert body(post(client, f"/screens/saved/{sid}/share", None, owner.auth))["share_token"] == token

    public = body(client.http.get(f"/screens/shared/{token}"))
    assert public["query"] == CANON and public["name"] == SCREEN["name"]
    assert "id" not in public and "share_token" not in public and "user_id" not in public
    run = post(client, f"/screens/shared/{token}/run", {"limit": 1})
    assert run.status_code == 200 and body(run)["columns"] == SCREEN["columns"] and len(body(run)["data"]) <= 1
    # read-only: the token is not an id of the owner's routes
    assert_error(send(client, "PATCH", f"/screens/saved/{token}", {"name": "x"}, owner.auth), 404)
    assert_error(client.http.get(f"/screens/shared/{uuid.uuid4().hex}{uuid.uuid4().hex}"), 404)
    assert_error(client.http.get("/screens/shared/short"), 404)

    assert send(client, "DELETE", f"/screens/saved/{sid}/share", None, owner.auth).status_code == 204
    assert_error(client.http.get(f"/screens/shared/{token}"), 404)
    assert_error(post(client, f"/screens/shared/{token}/run", {}), 404)
    again = body(post(client, f"/screens/saved/{sid}/share", None, owner.auth))["share_token"]
    assert again and again != token
    assert send(client, "DELETE", f"/screens/saved/{sid}", None, owner.auth).status_code == 204
    assert_error(client.http.get(f"/screens/shared/{again}"), 404)


def test_shared_premium_screen_runs_with_the_viewers_access(client: Client, stack_env: dict[str, str]) -> None:
    premium = make_user(client, stack_env["DATABASE_URL"], "premium")
    sid = body(_save(client, premium.auth, query="beta < 5"))["id"]
    token = body(post(client, f"/screens/saved/{sid}/share", None, premium.auth))["share_token"]
    assert client.http.get(f"/screens/shared/{token}").status_code == 200
    err = assert_error(post(client, f"/screens/shared/{token}/run", {}), 403, "forbidden")
    assert err["details"]["fields"] == ["beta"]
    other_premium = make_user(client, stack_env["DATABASE_URL"], "premium")
    assert post(client, f"/screens/shared/{token}/run", {}, other_premium.auth).status_code == 200
