"""Administration: users (search, role, disable), ingest runs. Every change is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from stockscreen.accounts.service import Principal, user_public
from stockscreen.core import audit
from stockscreen.core.audit import Origin
from stockscreen.core.errors import Invalid, NotFound
from stockscreen.core.paging import PageRequest

_USER_COLS = "id, email, display_name, role, disabled, created_at, last_login_at"


class AdminService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def users(
        self, page: PageRequest, q: str | None, role: str | None, disabled: bool | None
    ) -> tuple[list[dict[str, Any]], int]:
        pattern = None
        if q:
            pattern = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        cond = (
            "(CAST(:p AS text) IS NULL OR email LIKE :p OR lower(coalesce(display_name, '')) LIKE :p) "
            "AND (CAST(:r AS text) IS NULL OR role = :r) AND (CAST(:d AS boolean) IS NULL OR disabled = :d)"
        )
        params = {"p": pattern, "r": role, "d": disabled, "l": page.limit, "o": page.offset}
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM users WHERE {cond}"), params).scalar_one()
            rows = conn.execute(
                text(f"SELECT {_USER_COLS} FROM users WHERE {cond} ORDER BY created_at, id LIMIT :l OFFSET :o"), params
            ).mappings()
            return [user_public(r) for r in rows], int(total)

    def update_user(
        self, actor: Principal, user_id: str, *, role: str | None, disabled: bool | None, origin: Origin
    ) -> dict[str, Any]:
        if user_id == actor.user_id and (role not in (None, "admin") or disabled):
            raise Invalid("admins cannot demote or disable themselves")
        with self.engine.begin() as conn:
            cur = conn.execute(
                text("SELECT role, disabled FROM users WHERE id = :id FOR UPDATE"), {"id": user_id}
            ).first()
            if cur is None:
                raise NotFound(f"no user {user_id}")
            row = (
                conn.execute(
                    text(
                        "UPDATE users SET role = coalesce(:r, role), disabled = coalesce(:d, disabled), "
                        f"updated_at = now() WHERE id = :id RETURNING {_USER_COLS}"
                    ),
                    {"r": role, "d": disabled, "id": user_id},
                )
                .mappings()
                .one()
            )
            if role is not None and role != cur[0]:
                audit.record(
                    conn,
                    "admin.role_change",
                    actor_id=actor.user_id,
                    origin=origin,
                    target=user_id,
                    details={"from": cur[0], "to": role},
                )
            if disabled is not None and disabled != cur[1]:
                audit.record(
                    conn,
                    "admin.user_disable" if disabled else "admin.user_enable",
                    actor_id=actor.user_id,
                    origin=origin,
                    target=user_id,
                )
                if disabled:
                    conn.execute(
                        text("UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = :id AND revoked_at IS NULL"),
                        {"id": user_id},
                    )
        return user_public(row)

    def ingest_runs(self, page: PageRequest, status: str | None) -> tuple[list[dict[str, Any]], int]:
        params = {"s": status, "l": page.limit, "o": page.offset}
        cond = "(CAST(:s AS text) IS NULL OR status = :s)"
        with self.engine.connect() as conn:
            total = conn.execute(text(f"SELECT count(*) FROM ingest_runs WHERE {cond}"), params).scalar_one()
            rows = conn.execute(
                text(
                    "SELECT id, status, started_at, finished_at, stats, error FROM ingest_runs "
                    f"WHERE {cond} ORDER BY started_at DESC, id LIMIT :l OFFSET :o"
                ),
                params,
            ).all()
        data = [
            {
                "run_id": str(r[0]),
                "status": r[1],
                "started_at": r[2].isoformat(),
                "finished_at": r[3].isoformat() if r[3] else None,
                "stats": r[4],
                "error": r[5],
            }
            for r in rows
        ]
        return data, int(total)
