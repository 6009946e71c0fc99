"""Administration: users (search, role, disable), ingest runs. Every change is audited."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stockscreen.accounts.models import AccountsStore, Principal
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Invalid, NotFound
from stockscreen.core.paging import PageRequest

if TYPE_CHECKING:
    from sqlalchemy import Engine


class AdminService:
    def __init__(self, store: AccountsStore) -> None:
        self.store = store

    @classmethod
    def from_engine(cls, engine: Engine) -> AdminService:
        from stockscreen.accounts.repository import AccountsRepository

        return cls(AccountsRepository(engine))

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
                    tx.revoke_user_tokens(user_id)
        return user.public()

    def ingest_runs(self, page: PageRequest, status: str | None) -> tuple[list[dict[str, Any]], int]:
        with self.store.read() as tx:
            runs, total = tx.ingest_runs(status, page.limit, page.offset)
        return [r.public() for r in runs], total
