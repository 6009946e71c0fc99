"""The accounts service's rules on in-memory fakes (no database): sign-in, refresh-token rotation with reuse
detection and expiry, API keys."""

from __future__ import annotations

import hashlib

import pytest

from stockscreen.accounts.models import AccountsStore
from stockscreen.accounts.service import AuthService
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized
from tests.unit.accounts_fakes import Clock, FakeStore, FakeTokens

PASSWORD = "correct horse battery staple"
HERE = Origin(ip="198.51.100.7", user_agent="pytest")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> FakeStore:
    return FakeStore(clock)


@pytest.fixture
def svc(store: FakeStore, clock: Clock) -> AuthService:
    typed: AccountsStore = store  # the fake satisfies the port (mypy)
    return AuthService(typed, FakeTokens(clock), refresh_ttl_s=7 * 24 * 3600, clock=clock)


def _sha(v: str) -> str:
    return hashlib.sha256(v.encode()).hexdigest()


# -- sign-in ---------------------------------------------------------------------------------------------


def test_register_then_sign_in(svc: AuthService, store: FakeStore) -> None:
    reg = svc.register("Ada@Example.com", PASSWORD, "Ada", HERE)
    assert reg.user["email"] == "ada@example.com" and reg.user["role"] == "free"
    with pytest.raises(Conflict):
        svc.register("ADA@example.com", PASSWORD, None, HERE)
    s = svc.login("ADA@EXAMPLE.COM", PASSWORD, HERE)
    assert s.user["id"] == reg.user["id"] and s.user["last_login_at"] is None  # as it was before this one
    assert svc.me(reg.user["id"])["last_login_at"] is not None
    assert s.refresh_token != reg.refresh_token
    assert store.actions() == ["user.register", "auth.login"]
    # the refresh token is stored only as its hash
    assert [t.token_hash for t in store.state.tokens] == [_sha(reg.refresh_token), _sha(s.refresh_token)]


def test_wrong_unknown_and_disabled_sign_ins_are_one_uniform_refusal(svc: AuthService, store: FakeStore) -> None:
    uid = svc.register("bob@example.com", PASSWORD, None, HERE).user["id"]
    messages = []
    for email, pw in (("bob@example.com", "wrong password"), ("ghost@example.com", PASSWORD)):
        with pytest.raises(Unauthorized) as err:
            svc.login(email, pw, HERE)
        messages.append(err.value.message)
    store.set_user(uid, disabled=True)
    with pytest.raises(Unauthorized) as err:
        svc.login("bob@example.com", PASSWORD, HERE)
    messages.append(err.value.message)
    assert len(set(messages)) == 1
    failed = [a for a in store.state.audit if a["action"] == "auth.login_failed"]
    assert [a["details"]["reason"] for a in failed] == ["bad_credentials", "bad_credentials", "disabled"]
    assert [a["actor_id"] for a in failed] == [uid, None, uid]
    assert all("wrong password" not in str(a) for a in store.state.audit)


def test_repeated_failures_slow_the_account_down(svc: AuthService, store: FakeStore, clock: Clock) -> None:
    svc.register("carl@example.com", PASSWORD, None, HERE)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            svc.login("carl@example.com", "wrong password", HERE)
    with pytest.raises(RateLimited) as err:
        svc.login("carl@example.com", PASSWORD, HERE)
    assert err.value.details["retry_after"] >= 1
    clock.advance(err.value.details["retry_after"])
    assert svc.login("carl@example.com", PASSWORD, HERE).user["email"] == "carl@example.com"


# -- refresh-token rotation ------------------------------------------------------------------------------


def test_refresh_rotates_within_the_family(svc: AuthService, store: FakeStore) -> None:
    first = svc.register("dora@example.com", PASSWORD, None, HERE)
    second = svc.refresh(first.refresh_token, HERE)
    third = svc.refresh(second.refresh_token, HERE)
    toks = {t.token_hash: t.token for t in store.state.tokens}
    a, b, c = (toks[_sha(s.refresh_token)] for s in (first, second, third))
    assert a.family_id == b.family_id == c.family_id
    assert a.rotated_at is not None and b.rotated_at is not None and c.rotated_at is None
    assert third.user["id"] == first.user["id"]


def test_reusing_a_rotated_token_revokes_the_whole_family(svc: AuthService, store: FakeStore) -> None:
    first = svc.register("eve@example.com", PASSWORD, None, HERE)
    other = svc.login("eve@example.com", PASSWORD, HERE)  # another device: another family
    second = svc.refresh(first.refresh_token, HERE)
    with pytest.raises(Unauthorized):
        svc.refresh(first.refresh_token, HERE)  # the thief replays the spent token
    with pytest.raises(Unauthorized):
        svc.refresh(second.refresh_token, HERE)  # and the victim's current one died with it
    reuse = [a for a in store.state.audit if a["action"] == "auth.refresh_reuse"]
    assert len(reuse) == 1 and reuse[0]["details"] == {"revoked_tokens": 2}
    # the other device's family is untouched
    assert svc.refresh(other.refresh_token, HERE).user["email"] == "eve@example.com"
    # a revoked (never rotated) token is refused too, without a reuse alarm
    with pytest.raises(Unauthorized):
        svc.refresh(second.refresh_token, HERE)
    assert store.actions().count("auth.refresh_reuse") == 1


def test_expired_unknown_and_disabled_refreshes_are_refused(svc: AuthService, store: FakeStore, clock: Clock) -> None:
    s = svc.register("finn@example.com", PASSWORD, None, HERE)
    with pytest.raises(Unauthorized):
        svc.refresh("made-up", HERE)
    clock.advance(7 * 24 * 3600 - 1)
    fresh = svc.refresh(s.refresh_token, HERE)  # one second before expiry
    clock.advance(7 * 24 * 3600)
    with pytest.raises(Unauthorized):
        svc.refresh(fresh.refresh_token, HERE)
    tok = next(t.token for t in store.state.tokens if t.token_hash == _sha(fresh.refresh_token))
    assert tok.rotated_at is None  # an expired token is refused, not spent
    again = svc.login("finn@example.com", PASSWORD, HERE)
    store.set_user(s.user["id"], disabled=True)
    with pytest.raises(Unauthorized):
        svc.refresh(again.refresh_token, HERE)


def test_logout_revokes_the_presented_family_only(svc: AuthService, store: FakeStore) -> None:
    a = svc.register("gus@example.com", PASSWORD, None, HERE)
    b = svc.login("gus@example.com", PASSWORD, HERE)
    svc.logout(a.refresh_token, None, HERE)
    with pytest.raises(Unauthorized):
        svc.refresh(a.refresh_token, HERE)
    assert svc.refresh(b.refresh_token, HERE).user["id"] == a.user["id"]
    assert store.actions()[-1] == "auth.logout"


# -- API keys --------------------------------------------------------------------------------------------


def _premium(svc: AuthService, store: FakeStore, email: str) -> str:
    uid = str(svc.register(email, PASSWORD, None, HERE).user["id"])
    store.set_user(uid, role="premium")
    return uid


def test_api_keys_create_authenticate_and_revoke(svc: AuthService, store: FakeStore) -> None:
    uid = _premium(svc, store, "hal@example.com")
    me = svc.principal_from_token(svc.login("hal@example.com", PASSWORD, HERE).access_token)
    created = svc.create_api_key(me, "bot", HERE)
    key = created["key"]
    assert key.startswith(created["prefix"] + "_") and created["prefix"].startswith("ssk_")
    assert [k.key_hash for k in store.state.keys] == [_sha(key)]
    listed, total = svc.list_api_keys(uid, 10, 0)
    assert total == 1 and "key" not in listed[0]
    p = svc.principal_from_api_key(key)
    assert (p.user_id, p.via, p.api_key_id) == (uid, "api_key", created["id"])
    for bad in (key + "x", "not-a-key", "ssk_" + "x" * 200):
        with pytest.raises(Unauthorized):
            svc.principal_from_api_key(bad)
    # a downgraded account's keys stop working; upgraded again, they work
    store.set_user(uid, role="free")
    with pytest.raises(Unauthorized):
        svc.principal_from_api_key(key)
    store.set_user(uid, role="premium")
    svc.revoke_api_key(me, created["id"], HERE)
    with pytest.raises(Unauthorized):
        svc.principal_from_api_key(key)
    assert [a["action"] for a in store.state.audit if a["target"] == created["id"]] == [
        "api_key.create",
        "api_key.revoke",
    ]


def test_api_keys_are_premium_owned_and_counted(svc: AuthService, store: FakeStore) -> None:
    free_id = str(svc.register("ivy@example.com", PASSWORD, None, HERE).user["id"])
    free = svc.principal_from_token(svc.login("ivy@example.com", PASSWORD, HERE).access_token)
    with pytest.raises(Forbidden):
        svc.create_api_key(free, "bot", HERE)
    assert store.state.keys == [] and free.user_id == free_id
    _premium(svc, store, "jon@example.com")
    jon = svc.principal_from_token(svc.login("jon@example.com", PASSWORD, HERE).access_token)
    made = [svc.create_api_key(jon, f"k{i}", HERE) for i in range(10)]
    with pytest.raises(Forbidden) as err:
        svc.create_api_key(jon, "one too many", HERE)
    assert err.value.details["quota"] == "api_keys" and err.value.details["used"] == 10
    _premium(svc, store, "kim@example.com")
    kim = svc.principal_from_token(svc.login("kim@example.com", PASSWORD, HERE).access_token)
    with pytest.raises(NotFound):
        svc.revoke_api_key(kim, made[0]["id"], HERE)  # not hers
    svc.revoke_api_key(jon, made[0]["id"], HERE)
    assert svc.create_api_key(jon, "room again", HERE)["name"] == "room again"


def test_access_tokens_issued_before_a_password_change_are_refused(
    svc: AuthService, store: FakeStore, clock: Clock
) -> None:
    s = svc.register("lee@example.com", PASSWORD, None, HERE)
    me = svc.principal_from_token(s.access_token)
    clock.advance(5)
    svc.change_password(me, PASSWORD, "another long passphrase", HERE)
    with pytest.raises(Unauthorized):
        svc.principal_from_token(s.access_token)
    with pytest.raises(Unauthorized):
        svc.refresh(s.refresh_token, HERE)  # every family was revoked
    with pytest.raises(Unauthorized):
        svc.principal_from_token("garbage")
