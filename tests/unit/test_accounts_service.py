"""The accounts service's rules on in-memory fakes (no database): sign-in and its throttle, refresh-token
rotation with reuse detection and expiry, logout, password changes and policy, API keys."""

from __future__ import annotations

import hashlib

import pytest

from stockscreen.accounts.models import AccountsStore, Session, Throttle
from stockscreen.accounts.service import AuthService
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited, Unauthorized
from tests.unit.accounts_fakes import Clock, FakeStore, FakeThrottle, FakeTokens, Notices

PASSWORD = "correct horse battery staple"
HERE = Origin(ip="198.51.100.7", user_agent="pytest")
ELSEWHERE = Origin(ip="203.0.113.66", user_agent="attacker")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> FakeStore:
    return FakeStore(clock)


@pytest.fixture
def throttle(clock: Clock) -> FakeThrottle:
    return FakeThrottle(clock)


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
def svc(store: FakeStore, clock: Clock, throttle: FakeThrottle, notices: Notices) -> AuthService:
    typed: AccountsStore = store  # the fakes satisfy the ports (mypy)
    limiter: Throttle = throttle
    return AuthService(typed, FakeTokens(clock), limiter, notices, refresh_ttl_s=7 * 24 * 3600, clock=clock)


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


def _fail(svc: AuthService, email: str, origin: Origin, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(Unauthorized):
            svc.login(email, "wrong password", origin)


def test_failures_slow_down_the_pair_not_the_owner(svc: AuthService, clock: Clock) -> None:
    svc.register("carl@example.com", PASSWORD, None, HERE)
    _fail(svc, "carl@example.com", ELSEWHERE, 5)  # free
    _fail(svc, "carl@example.com", ELSEWHERE)  # the 6th: the pair now waits 1 s
    with pytest.raises(RateLimited) as err:
        svc.login("carl@example.com", PASSWORD, ELSEWHERE)  # even the right password waits
    assert err.value.details == {"retry_after": 1}
    assert svc.login("carl@example.com", PASSWORD, HERE).user["email"] == "carl@example.com"  # the owner
    waits = []
    for _ in range(12):
        clock.advance(err.value.details["retry_after"])
        _fail(svc, "carl@example.com", ELSEWHERE)
        with pytest.raises(RateLimited) as err:
            svc.login("carl@example.com", "wrong password", ELSEWHERE)
        waits.append(err.value.details["retry_after"])
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]  # doubling, at most 15 min
    clock.advance(900)
    svc.login("carl@example.com", PASSWORD, ELSEWHERE)  # a success clears the pair's count (of 18) ...
    _fail(svc, "carl@example.com", ELSEWHERE, 2)  # ... so these are free again
    _fail(svc, "other@example.com", ELSEWHERE)  # but not the address's count: the 21st failure from it
    with pytest.raises(RateLimited):
        svc.login("carl@example.com", PASSWORD, ELSEWHERE)


def test_an_address_spraying_many_accounts_is_slowed_down(svc: AuthService, throttle: FakeThrottle) -> None:
    svc.register("dan@example.com", PASSWORD, None, HERE)
    for i in range(20):
        _fail(svc, f"user{i}@example.com", ELSEWHERE)
    _fail(svc, "user20@example.com", ELSEWHERE)  # the 21st from the address
    with pytest.raises(RateLimited):
        svc.login("dan@example.com", PASSWORD, ELSEWHERE)
    assert svc.login("dan@example.com", PASSWORD, HERE).user["email"] == "dan@example.com"
    kinds = sorted((e.kind, e.retry_after_s > 0) for e in throttle.entries() if e.ip == ELSEWHERE.ip)
    assert kinds[0] == ("address", True) and len(kinds) == 22


def test_failures_are_forgotten_after_an_hour(svc: AuthService, clock: Clock) -> None:
    svc.register("eli@example.com", PASSWORD, None, HERE)
    _fail(svc, "eli@example.com", ELSEWHERE, 5)
    clock.advance(3601)
    _fail(svc, "eli@example.com", ELSEWHERE)  # counted from 1 again
    _fail(svc, "eli@example.com", ELSEWHERE)


def test_the_owner_hears_of_the_tenth_failure_in_an_hour(
    svc: AuthService, clock: Clock, notices: Notices, store: FakeStore
) -> None:
    uid = svc.register("fay@example.com", PASSWORD, None, HERE).user["id"]
    for i in range(9):
        _fail(svc, "fay@example.com", Origin(ip=f"203.0.113.{i}"))
    _fail(svc, "ghost@example.com", ELSEWHERE, 3)  # nobody to tell
    assert notices.sent == []
    _fail(svc, "fay@example.com", ELSEWHERE)
    assert [(n["user_id"], n["kind"], n["data"]) for n in notices.sent] == [
        (uid, "security", {"failures": 10, "window_s": 3600})
    ]
    _fail(svc, "fay@example.com", HERE, 5)
    assert len(notices.sent) == 1  # once, not per failure
    clock.advance(3601)
    _fail(svc, "fay@example.com", Origin(ip="192.0.2.1"), 5)
    _fail(svc, "fay@example.com", Origin(ip="192.0.2.2"), 5)
    assert len(notices.sent) == 2  # a new hour, a new notice
    failed = [a for a in store.state.audit if a["action"] == "auth.login_failed" and a["actor_id"] == uid]
    assert len(failed) == 25 and failed[0]["details"]["failures"] == 1


def test_a_notice_that_fails_does_not_change_the_answer(store: FakeStore, clock: Clock) -> None:
    def broken(user_id: str, kind: str, title: str, body: str | None, data: dict[str, object]) -> object:
        raise RuntimeError("notifications are down")

    svc = AuthService(store, FakeTokens(clock), FakeThrottle(clock), broken, refresh_ttl_s=60, clock=clock)
    svc.register("gil@example.com", PASSWORD, None, HERE)
    for i in range(10):
        _fail(svc, "gil@example.com", Origin(ip=f"203.0.113.{i}"))


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


def test_logout_with_the_access_token_alone_ends_its_session(svc: AuthService, store: FakeStore) -> None:
    a = svc.register("hugo@example.com", PASSWORD, None, HERE)
    b = svc.login("hugo@example.com", PASSWORD, HERE)
    b2 = svc.refresh(b.refresh_token, HERE)
    svc.logout(None, svc.principal_from_token(b2.access_token), HERE)
    with pytest.raises(Unauthorized):
        svc.refresh(b2.refresh_token, HERE)
    assert svc.refresh(a.refresh_token, HERE).user["id"] == a.user["id"]
    # a token's session id only ever revokes its own user's tokens
    other = svc.register("ida@example.com", PASSWORD, None, HERE)
    forged = svc.principal_from_token(other.access_token)
    fam = next(
        t.token.family_id for t in store.state.tokens if t.token.user_id == a.user["id"] and not t.token.revoked_at
    )
    svc.logout(None, type(forged)(**{**forged.__dict__, "session_id": fam}), HERE)
    assert any(t.token.family_id == fam and t.token.revoked_at is None for t in store.state.tokens)


# -- password changes ------------------------------------------------------------------------------------


def test_wrong_current_passwords_are_throttled_per_user(svc: AuthService, clock: Clock, store: FakeStore) -> None:
    s = svc.register("jan@example.com", PASSWORD, None, HERE)
    me = svc.principal_from_token(s.access_token)
    new = "a much better passphrase"
    for _ in range(6):
        with pytest.raises(Forbidden):
            svc.change_password(me, "guess guess", new, ELSEWHERE)
    for origin in (ELSEWHERE, HERE):  # per user: a token thief gains nothing by moving
        with pytest.raises(RateLimited) as err:
            svc.change_password(me, PASSWORD, new, origin)
        assert err.value.details == {"retry_after": 1}
    assert store.actions().count("auth.password_change_throttled") == 2
    clock.advance(1)
    svc.change_password(me, PASSWORD, new, HERE)
    assert store.actions()[-1] == "auth.password_changed"


@pytest.mark.parametrize(
    ("new", "rule"),
    [
        ("password12", "common"),
        ("1234567890", "common"),
        ("aaaaaaaaaa", "common"),
        ("kim@example.com", "email"),
        ("KIM@EXAMPLE.COMpany", "email"),
        ("short", "length"),
        ("x" * 257, "length"),
    ],
)
def test_new_passwords_follow_the_policy(svc: AuthService, store: FakeStore, new: str, rule: str) -> None:
    with pytest.raises(Invalid) as err:
        svc.register("kim@example.com", new, None, HERE)
    assert err.value.details["rule"] == rule and err.value.details["field"] == "password"
    assert store.state.users == {}
    s = svc.register("kim@example.com", PASSWORD, None, HERE)
    with pytest.raises(Invalid) as err:
        svc.change_password(svc.principal_from_token(s.access_token), PASSWORD, new, HERE)
    assert err.value.details == {**err.value.details, "rule": rule, "field": "new_password"}
    assert svc.login("kim@example.com", PASSWORD, HERE)  # unchanged


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


def test_the_common_password_list_ships_inside_the_package() -> None:
    """The list is package data (so the Lambda layer's wheel carries it), not a file beside the repo."""
    import fnmatch
    import tomllib
    from pathlib import Path

    from stockscreen.accounts import passwords

    package = Path(passwords.__file__).resolve().parents[1]
    relative = passwords.COMMON_PASSWORDS.relative_to(package).as_posix()
    root = package.parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["stockscreen"]
    assert passwords.COMMON_PASSWORDS.is_file()
    assert any(fnmatch.fnmatch(relative, g) for g in globs), relative


# -- revoked sessions ------------------------------------------------------------------------------------


def test_revoked_sessions_are_reported_after_the_commit_and_their_access_tokens_refused(
    store: FakeStore, clock: Clock, throttle: FakeThrottle, notices: Notices
) -> None:
    told: list[list[str]] = []
    svc = AuthService(store, FakeTokens(clock), throttle, notices, refresh_ttl_s=3600, clock=clock, revoked=told.append)

    def family(s: Session) -> str:
        return next(t.token.family_id for t in store.state.tokens if t.token_hash == _sha(s.refresh_token))

    a = svc.register("kim@example.com", PASSWORD, None, HERE)
    b = svc.login("kim@example.com", PASSWORD, HERE)
    svc.logout(a.refresh_token, None, HERE)  # sign out: that session only
    assert told == [[family(a)]]
    with pytest.raises(Unauthorized):
        svc.principal_from_token(a.access_token)  # refused now, not when it expires
    assert svc.principal_from_token(b.access_token).session_id == family(b)

    b2 = svc.refresh(b.refresh_token, HERE)
    with pytest.raises(Unauthorized):
        svc.refresh(b.refresh_token, HERE)  # a replayed refresh token: the family is revoked
    assert told[-1] == [family(b)]
    with pytest.raises(Unauthorized):
        svc.principal_from_token(b2.access_token)

    c, d = svc.login("kim@example.com", PASSWORD, HERE), svc.login("kim@example.com", PASSWORD, HERE)
    svc.change_password(svc.principal_from_token(c.access_token), PASSWORD, "a much better passphrase", HERE)
    assert told[-1] == sorted([family(c), family(d)])  # every live session of the user
    with pytest.raises(Unauthorized):
        svc.principal_from_token(d.access_token)

    def broken(session_ids: list[str]) -> None:
        raise RuntimeError("the denylist is down")

    svc.revoked = broken  # a receiver that fails never fails the sign-out: the database holds the revocation
    e = svc.login("kim@example.com", "a much better passphrase", HERE)
    svc.logout(e.refresh_token, None, HERE)
    with pytest.raises(Unauthorized):
        svc.principal_from_token(e.access_token)
