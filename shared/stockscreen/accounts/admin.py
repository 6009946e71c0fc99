"""Administration: users (search, role, disable), sign-in throttles, ingest runs. Every change is audited."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from stockscreen.accounts.models import AccountsStore, Principal, SessionsRevoked, Throttle
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Invalid, NotFound
from stockscreen.core.paging import PageRequest

if TYPE_CHECKING:
    from sqlalchemy import Engine


class AdminService:
    def __init__(self, store: AccountsStore, throttle: Throttle, revoked: SessionsRevoked | None = None) -> None:
        self.store = store
        self.throttle = throttle
        self.revoked = revoked

    @classmethod
    def from_engine(cls, engine: Engine, on_revoked: SessionsRevoked | None = None) -> AdminService:
        from stockscreen.accounts.adapters import RedisThrottle
        from stockscreen.accounts.repository import AccountsRepository
        from stockscreen.accounts.service import revocation_chain

        return cls(AccountsRepository(engine), RedisThrottle(), revocation_chain(on_revoked))

    def users(
        self, page: PageRequest, q: str | None, role: str | None, disabled: bool | None
    ) -> tuple[list[dict[str, Any]], int]:
        pattern = None
        if q:
            pattern = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.store.read() as tx:
            users, total = tx.search_users(pattern, role, disabled, page.limit, page.offset)
        return [u.public() for u in users], total

    def update_user(
        self, actor: Principal, user_id: str, *, role: str | None, disabled: bool | None, origin: Origin
    ) -> dict[str, Any]:
        if user_id == actor.user_id and (role not in (None, "admin") or disabled):
            raise Invalid("admins cannot demote or disable themselves")
        revoked: list[str] = []
        with self.store.begin() as tx:
            cur = tx.role_and_disabled_for_update(user_id)
            if cur is None:
                raise NotFound(f"no user {user_id}")
            user = tx.update_user(user_id, role, disabled)
            if role is not None and role != cur[0]:
                tx.audit(
                    "admin.role_change",
                    actor_id=actor.user_id,
                    origin=origin,
                    target=user_id,
                    details={"from": cur[0], "to": role},
                )
            if disabled is not None and disabled != cur[1]:
                tx.audit(
                    "admin.user_disable" if disabled else "admin.user_enable",
                    actor_id=actor.user_id,
                    origin=origin,
                    target=user_id,
                )
                if disabled:
                    revoked = tx.revoke_user_tokens(user_id)
        if revoked and self.revoked is not None:  # a disabled account's sessions end now, sockets included
            self.revoked(revoked)
        return user.public()

    def ingest_runs(self, page: PageRequest, status: str | None) -> tuple[list[dict[str, Any]], int]:
        with self.store.read() as tx:
            runs, total = tx.ingest_runs(status, page.limit, page.offset)
        return [r.public() for r in runs], total

    # -- sign-in throttles ---------------------------------------------------------------------------------
    def throttles(self, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        """The live counters of failed password attempts, the ones holding callers back first."""
        entries = sorted(self.throttle.entries(), key=lambda e: (-e.retry_after_s, -e.failures, e.id))
        return [e.public() for e in entries[page.offset : page.offset + page.limit]], len(entries)

    def clear_throttle(self, actor: Principal, throttle_id: str, origin: Origin) -> None:
        removed = self.throttle.delete(throttle_id) if _THROTTLE_ID.fullmatch(throttle_id) else None
        if removed is None:
            raise NotFound(f"no throttle {throttle_id}")
        with self.store.begin() as tx:
            tx.audit(
                "admin.throttle_clear",
                actor_id=actor.user_id,
                origin=origin,
                target=throttle_id,
                details={"kind": removed.kind, "email": removed.email, "ip": removed.ip, "failures": removed.failures},
            )


_THROTTLE_ID = re.compile(r"[0-9a-f]{32}")
