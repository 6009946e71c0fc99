"""Helpers for the account tests: users of each role, signed in through the real API."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import redis
from chalice.test import Client

PASSWORD = "correct horse battery staple"


@dataclass
class User:
    id: str
    email: str
    role: str
    token: str
    cookie: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def body(resp: Any) -> Any:
    return json.loads(resp.body) if resp.body else None


def post(client: Client, path: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.http.post(path, body=raw, headers={"Content-Type": "application/json", **(headers or {})})


def send(client: Client, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None) -> Any:
    h = dict(headers or {})
    raw = b""
    if payload is not None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        h.setdefault("Content-Type", "application/json")
    return client.http.request(method, path, body=raw, headers=h)


@contextmanager
def from_ip(client: Client, ip: str) -> Iterator[None]:
    """Requests arrive with ``requestContext.identity.sourceIp`` = ``ip`` (as API Gateway sets it)."""
    converter: Any = client.http._local_gateway.event_converter  # type: ignore[attr-defined]
    converter.LOCAL_SOURCE_IP = ip
    try:
        yield
    finally:
        del converter.LOCAL_SOURCE_IP  # back to the class's 127.0.0.1


def login(client: Client, email: str, password: str, ip: str) -> Any:
    with from_ip(client, ip):
        return post(client, "/auth/login", {"email": email, "password": password})


def refresh_cookie(resp: Any) -> str:
    set_cookie = resp.headers["Set-Cookie"]
    return set_cookie.split(";", 1)[0]


def set_role(database_url: str, user_id: str, role: str) -> None:
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("UPDATE users SET role = %s WHERE id = %s", (role, user_id))


def notify(database_url: str, user_id: str, kind: str, title: str, data: dict[str, Any] | None = None) -> int:
    """Write an in-app notification for the user, as the alert evaluator will; returns its id."""
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO notifications (user_id, kind, title, data) VALUES (%s, %s, %s, %s) RETURNING id",
            (user_id, kind, title, json.dumps(data or {})),
        ).fetchone()
    assert row is not None
    return int(row[0])


def make_user(client: Client, database_url: str, role: str = "free") -> User:
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    resp = post(client, "/auth/register", {"email": email, "password": PASSWORD})
    assert resp.status_code == 201, resp.body
    uid = body(resp)["user"]["id"]
    if role != "free":
        set_role(database_url, uid, role)
    return User(id=uid, email=email, role=role, token=body(resp)["access_token"], cookie=refresh_cookie(resp))


def clear_rate_limits(redis_url: str) -> None:
    """Empty the rate-limit buckets and the counters of failed password attempts."""
    r = redis.Redis.from_url(redis_url)
    keys = [k for pattern in ("rl:*", "throttle:*", "loginfail:*") for k in r.scan_iter(pattern)]
    if keys:
        r.delete(*keys)


def assert_error(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.body)
    b = body(resp)
    assert set(b) == {"error"}
    assert set(b["error"]) == {"code", "message", "details", "request_id"}
    if code is not None:
        assert b["error"]["code"] == code, b
    return dict(b["error"])


def load_sample(stack_env: dict[str, str]) -> None:
    """The 8-symbol real-data sample, loaded by the real ingest state machine."""
    from devstack.stepfunctions import IngestStateMachine
    from tests.conftest import FIXTURES, truncate_all

    paths = [
        str(FIXTURES / n)
        for n in ("constituents-sample.csv", "fundamentals-sample-2018-02-08.csv", "bars-sample.csv.gz")
    ]
    truncate_all(stack_env["DATABASE_URL"])
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": paths}})
    assert result["status"] == "SUCCEEDED", result


def openapi_document() -> dict[str, Any]:
    from devstack.lambdas import load_api

    load_api()
    from chalicelib import apidocs

    return dict(json.loads(apidocs.DOCUMENT.read_text()))


def response_validator(doc: dict[str, Any], method: str, path: str, status: int) -> Any:
    """A JSON-schema validator for the documented body of ``status`` (None when it has no JSON body)."""
    from jsonschema import Draft202012Validator

    resp = doc["paths"][path][method.lower()]["responses"].get(str(status))
    assert resp is not None, f"{method} {path} does not document status {status}"
    content = resp.get("content")
    if not content or "application/json" not in content:
        return None
    schema = {**content["application/json"]["schema"], "components": doc["components"]}
    return Draft202012Validator(schema)
