"""Signed-out sessions, for the callers that must refuse their access tokens before those expire.

An access token names its session (claim ``sid``: the refresh-token family it was issued for). When a
family is revoked (sign-out, password change, an administrator disabling the account, a replayed refresh
token) the database marks its refresh tokens ``revoked_at``: that is the truth, and the HTTP API reads it
with the account on every request (:meth:`~stockscreen.accounts.repository.AccountsRepository.account`,
no extra round trip). The WebSocket ``$connect`` authorizer and the local gateway have no database on
their hot path, so the revocation is also written to a Redis denylist, ``revoked-sid:<sid>``, which
expires when the last access token of the session can have expired (the access-token lifetime plus the
verifier's leeway): :func:`session_revoked` is one ``EXISTS``.

Redis down when checking: the database answers instead (the truth, one indexed query). Redis down when
revoking: the error is logged and the sign-out still succeeds; the HTTP API refuses the session anyway
(database), open sockets are still closed (:mod:`stockscreen.realtime.sessions`), and a new WebSocket of
that session is refused while Redis stays down (database fallback); the one gap is a socket opened, once
Redis is back, with an access token of that session issued before the sign-out (at most its lifetime).
"""

from __future__ import annotations

from collections.abc import Iterable

from stockscreen.core import resp
from stockscreen.core.clients import get_redis
from stockscreen.core.observability import logger

PREFIX = "revoked-sid:"


def denylist_key(session_id: str) -> str:
    return f"{PREFIX}{session_id}"


def _ttl_s() -> int:
    from stockscreen.accounts.settings import api_settings
    from stockscreen.accounts.tokens import LEEWAY_S

    return api_settings().access_token_ttl_s + LEEWAY_S


class RedisSessionDenylist:
    """The Redis denylist of revoked sessions (see the module doc)."""

    def __init__(self, client: resp.Redis | None = None, *, ttl_s: int | None = None) -> None:
        self._client = client
        self._ttl_s = ttl_s

    @property
    def client(self) -> resp.Redis:
        if self._client is None:
            self._client = get_redis()
        return self._client

    def revoke(self, session_ids: Iterable[str]) -> None:
        """Deny the sessions' access tokens (until they have expired); Redis down: logged, not raised."""
        sids = sorted(set(session_ids))
        if not sids:
            return
        ttl = self._ttl_s if self._ttl_s is not None else _ttl_s()
        try:
            pipe = self.client.pipeline(transaction=False)
            for sid in sids:
                pipe.set(denylist_key(sid), "1", ex=ttl)
            pipe.execute()
        except resp.RedisError:
            logger.exception("could not write revoked sessions to the Redis denylist", extra={"sessions": len(sids)})

    def revoked(self, session_id: str) -> bool:
        """Is the session on the denylist? Raises ``resp.RedisError`` when Redis cannot answer."""
        return bool(self.client.exists(denylist_key(session_id)))


def _revoked_in_database(session_id: str) -> bool:
    from stockscreen.accounts.repository import AccountsRepository

    # no engine: one row with psycopg alone (the $connect authorizer's fallback imports no SQLAlchemy)
    return AccountsRepository().session_revoked(session_id)


def session_revoked(session_id: str | None, denylist: RedisSessionDenylist | None = None) -> bool:
    """Has this session been signed out? The Redis denylist; the database when Redis cannot answer."""
    if not session_id:
        return False
    try:
        return (denylist or RedisSessionDenylist()).revoked(session_id)
    except resp.RedisError as exc:
        logger.warning("revoked-session check falls back to the database", extra={"reason": repr(exc)})
        return _revoked_in_database(session_id)
