"""Accounts: register (password policy), login with throttling, refresh-token rotation with reuse detection,
logout, password change, API keys.

The service holds the rules; every statement is the repository's (``AccountsStore``), the access tokens,
the Redis throttle and the owner's notifications are adapters (``AccessTokens``, ``Throttle``, ``Notify``),
so unit tests run it on in-memory fakes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stockscreen.accounts.models import (
    AccessTokens,
    AccountsStore,
    AccountsUnit,
    Notify,
    Principal,
    Session,
    SessionsRevoked,
    Throttle,
    ThrottleKey,
    ThrottleRule,
    User,
)
from stockscreen.accounts.passwords import check_password, hash_password, needs_rehash, verify_password
from stockscreen.core import policy
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Forbidden, Invalid, NotFound, RateLimited, Unauthorized
from stockscreen.core.observability import logger

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: failed sign-ins to one account from one address: 5 free, then 1 s doubling per failure up to 15 min
LOGIN_PAIR = ThrottleRule(free=5, base_s=1, max_s=15 * 60, window_s=3600)
#: failed sign-ins from one address to any account (people behind one NAT share it)
LOGIN_ADDRESS = ThrottleRule(free=20, base_s=1, max_s=15 * 60, window_s=3600)
#: wrong current passwords of one signed-in user (POST /me/password)
PASSWORD_USER = ThrottleRule(free=5, base_s=1, max_s=15 * 60, window_s=3600)
#: the owner hears of the failed sign-ins on their account at this count within an hour
NOTIFY_AFTER_FAILURES = 10
API_KEY_PREFIX = "ssk_"
INVALID_LOGIN = "invalid email or password"
INVALID_REFRESH = "invalid or expired refresh token"

__all__ = ["API_KEY_PREFIX", "AuthService", "Principal", "Session"]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _throttle_key(kind: str, subject: str, rule: ThrottleRule, **who: str | None) -> ThrottleKey:
    return ThrottleKey(kind=kind, id=_sha256(f"{kind}|{subject}")[:32], rule=rule, **who)


def login_keys(email: str, ip: str | None, user_id: str | None = None) -> list[ThrottleKey]:
    """The counters a sign-in attempt is held to: this account from this address, and this address."""
    address = ip or "unknown"
    return [
        _throttle_key(
            "login",
            f"{email}|{address}",
            LOGIN_PAIR,
            ip=address,
            email=email if user_id else None,  # only accounts that exist are named
            user_id=user_id,
        ),
        _throttle_key("address", address, LOGIN_ADDRESS, ip=address),
    ]


def password_keys(principal: Principal, ip: str | None) -> list[ThrottleKey]:
    address = ip or "unknown"
    return [
        _throttle_key("password", principal.user_id, PASSWORD_USER, email=principal.email, user_id=principal.user_id),
        _throttle_key("address", address, LOGIN_ADDRESS, ip=address),
    ]


class AuthService:
    def __init__(
        self,
        store: AccountsStore,
        tokens: AccessTokens,
        throttle: Throttle,
        notify: Notify,
        *,
        refresh_ttl_s: int,
        clock: Callable[[], dt.datetime] = _utcnow,
        revoked: SessionsRevoked | None = None,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.throttle = throttle
        self.notify = notify
        self.refresh_ttl_s = refresh_ttl_s
        self.clock = clock
        self.revoked = revoked

    def _sessions_revoked(self, session_ids: list[str]) -> None:
        """After the commit: tell the denylist (and, wired at the edge, the open WebSockets); a failure there is
        logged, never the caller's error (the database already holds the revocation)."""
        if session_ids and self.revoked is not None:
            try:
                self.revoked(sorted(set(session_ids)))
            except Exception:
                logger.exception("could not propagate revoked sessions", extra={"sessions": len(session_ids)})

    @classmethod
    def from_engine(
        cls, engine: Engine | None = None, notify: Notify | None = None, on_revoked: SessionsRevoked | None = None
    ) -> AuthService:
        """The service over the database, signed JWTs, the Redis throttle and the settings (the API edge and
        the dev stack). ``notify`` reaches the notifications feature; without it, notices are only logged.
        Revoked sessions go to the Redis denylist, then to ``on_revoked`` (the edge closes their WebSockets).
        Without an engine, the process's database, whose SQLAlchemy engine the first transaction builds."""
        from stockscreen.accounts.adapters import RedisThrottle
        from stockscreen.accounts.repository import AccountsRepository
        from stockscreen.accounts.settings import api_settings
        from stockscreen.accounts.tokens import JwtAccessTokens

        return cls(
            AccountsRepository(engine),
            JwtAccessTokens(),
            RedisThrottle(),
            notify or _log_notice,
            refresh_ttl_s=api_settings().refresh_token_ttl_s,
            revoked=revocation_chain(on_revoked),
        )

    # -- accounts ---------------------------------------------------------------------------
    def register(self, email: str, password: str, display_name: str | None, origin: Origin) -> Session:
        check_password(password, email)
        pw_hash = hash_password(password)
        with self.store.begin() as tx:
            user = tx.insert_user(email.lower(), pw_hash, display_name)
            tx.audit("user.register", actor_id=user.id, origin=origin, target=user.id)
            return self._new_session(tx, user, None, origin)

    def login(self, email: str, password: str, origin: Origin) -> Session:
        """Sign in. Failures are counted per (account, address) and per address, never per account alone, so
        nobody can lock an owner out from elsewhere: past a few failures that pair (or address) must wait a
        growing delay (429 with Retry-After), and a success clears the pair's count (OWASP ASVS 2.2.1)."""
        email = email.lower()
        keys = login_keys(email, origin.ip)
        wait = self.throttle.wait_s(keys)
        if wait > 0:
            with self.store.begin() as tx:
                tx.audit("auth.login_throttled", actor_id=None, origin=origin, details={"email": email})
            raise RateLimited("too many failed sign-in attempts; try again later", {"retry_after": wait})
        with self.store.begin() as tx:
            session, user = self._login(tx, email, password, origin)
        if session is None:  # the failure's audit row is committed, then the attempt refused
            if user is not None and self.throttle.account_failure(user.id) == NOTIFY_AFTER_FAILURES:
                self._notify_owner(user)
            raise Unauthorized(INVALID_LOGIN)
        self.throttle.clear(keys[0])
        return session

    def _login(self, tx: AccountsUnit, email: str, password: str, origin: Origin) -> tuple[Session | None, User | None]:
        found = tx.user_by_email(email)
        user, stored = found if found is not None else (None, None)
        ok = verify_password(stored, password)
        if not ok or user is None or stored is None or user.disabled:
            failures = self.throttle.fail(login_keys(email, origin.ip, user.id if user else None))
            reason = "disabled" if (ok and user is not None) else "bad_credentials"
            tx.audit(
                "auth.login_failed",
                actor_id=user.id if user else None,
                origin=origin,
                details={"email": email, "reason": reason, "failures": failures},
            )
            return None, user
        if needs_rehash(stored):
            tx.rehash_password(user.id, hash_password(password))
        tx.touch_login(user.id)
        tx.audit("auth.login", actor_id=user.id, origin=origin)
        return self._new_session(tx, user, None, origin), user

    def _notify_owner(self, user: User) -> None:
        try:
            self.notify(
                user.id,
                "security",
                "Repeated failed sign-ins",
                f"There were {NOTIFY_AFTER_FAILURES} failed attempts to sign in to your account within an hour. "
                "If it was not you, nobody got in, but choose a stronger password if yours is weak.",
                {"failures": NOTIFY_AFTER_FAILURES, "window_s": 3600},
            )
        except Exception:  # a notice that cannot be written must not turn a refused sign-in into a 500
            logger.exception("could not notify the owner of failed sign-ins", extra={"user_id": user.id})

    def _new_session(self, tx: AccountsUnit, user: User, family: str | None, origin: Origin) -> Session:
        refresh = secrets.token_urlsafe(32)
        family = family or str(uuid.uuid4())
        tx.insert_refresh_token(
            family,
            user.id,
            _sha256(refresh),
            self.refresh_ttl_s,
            origin.ip,
            (origin.user_agent or "")[:512] or None,
        )
        token, ttl = self.tokens.issue(user.id, user.role, family)
        return Session(access_token=token, expires_in=ttl, refresh_token=refresh, user=user.public())

    def refresh(self, refresh_token: str, origin: Origin) -> Session:
        """Rotate: the presented token is spent and a new one of the same family is issued.

        Presenting an already-rotated (or revoked) token means it was stolen or replayed: the whole
        family is revoked, so neither the thief nor the victim can continue, and it is audited.
        """
        failure: Exception | None = None
        revoked_family: str | None = None
        with self.store.begin() as tx:
            result = self._refresh(tx, refresh_token, origin)
            if isinstance(result, tuple):
                failure, revoked_family = result
        if failure is not None:
            self._sessions_revoked([revoked_family] if revoked_family else [])
            raise failure
        assert isinstance(result, Session)
        return result

    def _refresh(self, tx: AccountsUnit, refresh_token: str, origin: Origin) -> Session | tuple[Exception, str | None]:
        """A new session, or (the failure to raise once committed, the family revoked by it if any)."""
        tok = tx.refresh_token(_sha256(refresh_token), for_update=True)
        if tok is None:
            raise Unauthorized(INVALID_REFRESH)
        if tok.rotated_at is not None or tok.revoked_at is not None:
            revoked = tx.revoke_family(tok.family_id)
            if tok.rotated_at is not None:
                tx.audit(
                    "auth.refresh_reuse",
                    actor_id=tok.user_id,
                    origin=origin,
                    target=tok.family_id,
                    details={"revoked_tokens": revoked},
                )
            return Unauthorized(INVALID_REFRESH), tok.family_id if revoked else None
        if tok.expires_at <= self.clock():
            raise Unauthorized(INVALID_REFRESH)
        user = tx.user(tok.user_id)
        if user is None or user.disabled:
            raise Unauthorized(INVALID_REFRESH)
        tx.mark_rotated(tok.id)
        return self._new_session(tx, user, tok.family_id, origin)

    def logout(self, refresh_token: str | None, principal: Principal | None, origin: Origin) -> None:
        """Revoke this device's session: the refresh token's family, or, given only the access token, the
        family it was issued for (its ``sid`` claim)."""
        revoked: list[str] = []
        with self.store.begin() as tx:
            tok = tx.refresh_token(_sha256(refresh_token)) if refresh_token else None
            if tok is not None:
                tx.revoke_family(tok.family_id)
                revoked.append(tok.family_id)
            elif (
                principal is not None
                and principal.via == "jwt"
                and principal.session_id is not None
                and tx.revoke_family(principal.session_id, principal.user_id)
            ):
                revoked.append(principal.session_id)
            actor = tok.user_id if tok is not None else (principal.user_id if principal else None)
            if actor:
                tx.audit("auth.logout", actor_id=actor, origin=origin)
        self._sessions_revoked(revoked)

    # -- the caller ---------------------------------------------------------------------------
    def principal_from_token(self, token: str) -> Principal:
        claims = self.tokens.decode(token)
        user_id = _uuid_or_none(claims.user_id)
        session_id = _uuid_or_none(claims.session_id) if claims.session_id else None
        account = self.store.account(user_id, session_id) if user_id is not None else None
        # Disabled accounts, signed-out sessions and tokens issued before the last password change are refused.
        if (
            account is None
            or account.disabled
            or account.session_revoked
            or claims.issued_at < int(account.password_changed_at.timestamp())
        ):
            raise Unauthorized("invalid or expired access token")
        return Principal(
            user_id=claims.user_id, role=account.role, email=account.email, via="jwt", session_id=claims.session_id
        )

    def principal_from_api_key(self, key: str) -> Principal:
        if not key.startswith(API_KEY_PREFIX) or len(key) > 128:
            raise Unauthorized("invalid API key")
        with self.store.begin() as tx:
            owner = tx.use_api_key(_sha256(key))
        if owner is None or not policy.allowed(owner.role, "api_keys"):
            raise Unauthorized("invalid API key")
        return Principal(
            user_id=owner.user_id, role=owner.role, email=owner.email, via="api_key", api_key_id=owner.key_id
        )

    def me(self, user_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            user = tx.user(user_id)
        if user is None:
            raise NotFound("no such user")
        return user.public()

    def update_me(self, user_id: str, display_name: str | None) -> dict[str, Any]:
        with self.store.begin() as tx:
            return tx.update_display_name(user_id, display_name).public()

    def change_password(self, principal: Principal, current: str, new: str, origin: Origin) -> None:
        """Change the password and revoke every refresh-token family (sign out other devices).

        Wrong current passwords are throttled like sign-ins: per user and per address."""
        keys = password_keys(principal, origin.ip)
        wait = self.throttle.wait_s(keys)
        if wait > 0:
            with self.store.begin() as tx:
                tx.audit("auth.password_change_throttled", actor_id=principal.user_id, origin=origin)
            raise RateLimited("too many wrong passwords; try again later", {"retry_after": wait})
        wrong = False
        revoked: list[str] = []
        with self.store.begin() as tx:
            stored = tx.password_hash_for_update(principal.user_id)
            if not verify_password(stored, current):
                tx.audit("auth.password_change_failed", actor_id=principal.user_id, origin=origin)
                wrong = True
            elif current == new:
                raise Invalid("the new password must differ from the current one", {"field": "new_password"})
            else:
                check_password(new, principal.email, field="new_password")
                tx.change_password(principal.user_id, hash_password(new))
                revoked = tx.revoke_user_tokens(principal.user_id)
                tx.audit("auth.password_changed", actor_id=principal.user_id, origin=origin)
        self._sessions_revoked(revoked)
        if wrong:
            self.throttle.fail(keys)
            raise Forbidden("the current password is wrong")
        self.throttle.clear(keys[0])

    # -- API keys -------------------------------------------------------------------------------
    def create_api_key(self, principal: Principal, name: str, origin: Origin) -> dict[str, Any]:
        policy.require(principal.role, "api_keys")
        prefix = secrets.token_hex(4)
        key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        with self.store.begin() as tx:
            tx.lock_user(principal.user_id)
            policy.check_quota(principal.role, "api_keys", tx.active_api_keys(principal.user_id))
            created = tx.insert_api_key(principal.user_id, name, API_KEY_PREFIX + prefix, _sha256(key))
            tx.audit(
                "api_key.create",
                actor_id=principal.user_id,
                origin=origin,
                target=created.id,
                details={"prefix": created.prefix, "name": name},
            )
        return {**created.public(), "key": key}

    def list_api_keys(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        with self.store.read() as tx:
            keys, total = tx.api_keys(user_id, limit, offset)
        return [k.public() for k in keys], total

    def revoke_api_key(self, principal: Principal, key_id: str, origin: Origin) -> None:
        with self.store.begin() as tx:
            prefix = tx.revoke_api_key(key_id, principal.user_id)
            if prefix is None:
                raise NotFound(f"no API key {key_id}")
            tx.audit(
                "api_key.revoke", actor_id=principal.user_id, origin=origin, target=key_id, details={"prefix": prefix}
            )


def revocation_chain(then: SessionsRevoked | None = None) -> SessionsRevoked:
    """Revoked sessions to the Redis denylist, then to ``then`` (the edge's: close their WebSockets)."""
    from stockscreen.accounts.revocations import RedisSessionDenylist

    denylist = RedisSessionDenylist()

    def revoked(session_ids: list[str]) -> None:
        denylist.revoke(session_ids)
        if then is not None:
            try:
                then(session_ids)
            except Exception:  # the revocation is committed; closing sockets is best effort
                logger.exception(
                    "could not close the revoked sessions' connections", extra={"sessions": len(session_ids)}
                )

    return revoked


def _log_notice(user_id: str, kind: str, title: str, body: str | None, data: dict[str, Any]) -> object:
    logger.warning("account notice", extra={"user_id": user_id, "kind": kind, "title": title})
    return None


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
