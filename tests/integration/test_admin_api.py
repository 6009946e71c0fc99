"""Admin routes through chalice.test.Client: users, role changes, disabling, ingest runs, audit log."""

from __future__ import annotations

import pytest
from chalice.test import Client

from tests.integration.authkit import (
    PASSWORD,
    assert_error,
    body,
    login,
    make_user,
    post,
    send,
)

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits")]


def test_admin_manages_users_and_every_change_is_audited(client: Client, stack_env: dict[str, str]) -> None:
    admin = make_user(client, stack_env["DATABASE_URL"], "admin")
    u = make_user(client, stack_env["DATABASE_URL"])
    found = body(client.http.get(f"/admin/users?q={u.email[:12]}", headers=admin.auth))
    assert found["count"] == 1 and found["data"][0]["id"] == u.id
    assert body(client.http.get("/admin/users?role=admin&limit=100", headers=admin.auth))["count"] >= 1
    resp = send(client, "PATCH", f"/admin/users/{u.id}", {"role": "premium"}, {**admin.auth, "User-Agent": "ops-ua"})
    assert resp.status_code == 200 and body(resp)["role"] == "premium"
    # The new role applies at once (the role is read from the database, not the token).
    assert post(client, "/me/api-keys", {"name": "k"}, u.auth).status_code == 201
    assert body(send(client, "PATCH", f"/admin/users/{u.id}", {"disabled": True}, admin.auth))["disabled"] is True
    assert_error(client.http.get("/me", headers=u.auth), 401)
    assert_error(post(client, "/auth/refresh", b"", {"Cookie": u.cookie}), 401)
    assert_error(send(client, "PATCH", f"/admin/users/{admin.id}", {"role": "free"}, admin.auth), 400)
    assert_error(send(client, "PATCH", f"/admin/users/{u.id}", {}, admin.auth), 400)
    assert_error(send(client, "PATCH", f"/admin/users/{u.id}", {"role": "god"}, admin.auth), 400)
    assert_error(
        send(client, "PATCH", "/admin/users/00000000-0000-0000-0000-000000000000", {"role": "free"}, admin.auth), 404
    )
    log = body(client.http.get(f"/admin/audit?actor_id={admin.id}", headers=admin.auth))
    actions = [e["action"] for e in log["data"]]
    assert actions[:2] == ["admin.user_disable", "admin.role_change"]
    change = log["data"][1]
    assert change["target"] == u.id and change["details"] == {"from": "free", "to": "premium"}
    assert change["user_agent"] == "ops-ua" and change["request_id"]
    logins = body(client.http.get("/admin/audit?action=user.register&limit=5", headers=admin.auth))
    assert logins["count"] >= 2 and all(e["action"] == "user.register" for e in logins["data"])
    assert PASSWORD not in str(body(client.http.get("/admin/audit?limit=100", headers=admin.auth)))


def test_ingest_runs_and_quality_report(client: Client, stack_env: dict[str, str]) -> None:
    admin = make_user(client, stack_env["DATABASE_URL"], "admin")
    runs = body(client.http.get("/admin/ingest-runs", headers=admin.auth))
    assert runs["count"] >= 1
    run = runs["data"][0]
    assert run["status"] == "succeeded" and run["finished_at"] is not None
    assert body(client.http.get("/admin/ingest-runs?status=failed", headers=admin.auth))["count"] == 0
    report = body(client.http.get(f"/admin/ingest-runs/{run['run_id']}", headers=admin.auth))
    assert report["run_id"] == run["run_id"] and report["stats"] == run["stats"]
    assert all(set(q) == {"rule", "severity", "action", "count"} and q["count"] > 0 for q in report["quality"])
    assert_error(client.http.get("/admin/ingest-runs/00000000-0000-0000-0000-000000000000", headers=admin.auth), 404)
    assert_error(client.http.get("/admin/ingest-runs/xyz", headers=admin.auth), 404)


def test_non_admins_are_refused(client: Client, stack_env: dict[str, str]) -> None:
    prem = make_user(client, stack_env["DATABASE_URL"], "premium")
    for path in ("/admin/users", "/admin/ingest-runs", "/admin/audit", "/admin/throttles"):
        assert_error(client.http.get(path, headers=prem.auth), 403, "forbidden")
        assert_error(client.http.get(path), 401, "unauthorized")


def test_admin_lists_and_clears_sign_in_throttles(client: Client, stack_env: dict[str, str]) -> None:
    admin = make_user(client, stack_env["DATABASE_URL"], "admin")
    u = make_user(client, stack_env["DATABASE_URL"])
    ghost = f"ghost-{u.id[:8]}@example.com"
    for _ in range(6):
        assert_error(login(client, u.email, "wrong password!", "203.0.113.77"), 401)
    assert_error(login(client, ghost, "wrong password!", "203.0.113.78"), 401)
    assert_error(login(client, u.email, PASSWORD, "203.0.113.77"), 429)
    listed = body(client.http.get("/admin/throttles", headers=admin.auth))
    rows = {(r["kind"], r["ip"]): r for r in listed["data"]}
    assert listed["count"] == len(listed["data"]) == 4
    pair = rows[("login", "203.0.113.77")]
    assert pair["email"] == u.email and pair["failures"] == 6 and pair["retry_after"] >= 1
    assert rows[("address", "203.0.113.77")]["failures"] == 6 and rows[("address", "203.0.113.77")]["email"] is None
    assert rows[("login", "203.0.113.78")]["email"] is None  # no account behind it: none named
    assert listed["data"][0]["id"] == pair["id"]  # the longest wait first
    assert body(client.http.get("/admin/throttles?limit=1&offset=1", headers=admin.auth))["data"] == listed["data"][1:2]
    # clearing the pair lets that address try again at once (its address counter is still there)
    resp = send(client, "DELETE", f"/admin/throttles/{pair['id']}", None, {**admin.auth, "User-Agent": "ops-ua"})
    assert resp.status_code == 204
    assert login(client, u.email, PASSWORD, "203.0.113.77").status_code == 200
    assert_error(send(client, "DELETE", f"/admin/throttles/{pair['id']}", None, admin.auth), 404)
    assert_error(send(client, "DELETE", "/admin/throttles/not-an-id", None, admin.auth), 404)
    log = body(client.http.get(f"/admin/audit?actor_id={admin.id}&action=admin.throttle_clear", headers=admin.auth))
    assert log["count"] == 1
    entry = log["data"][0]
    assert entry["target"] == pair["id"] and entry["user_agent"] == "ops-ua"
    assert entry["details"] == {"kind": "login", "email": u.email, "ip": "203.0.113.77", "failures": 6}
    # admins only
    assert_error(client.http.get("/admin/throttles", headers=u.auth), 403, "forbidden")
    assert_error(send(client, "DELETE", f"/admin/throttles/{pair['id']}", None, u.auth), 403, "forbidden")
    assert_error(client.http.get("/admin/throttles"), 401, "unauthorized")
