"""Saved screens: per-user named screens with a revocable public read-only share link.

A screen is validated through the screening language when it is saved (a bad query is a 400 with
its position) and against the owner's field access (a free user cannot save premium fields). The
query is stored in canonical text form together with its AST. Another user's screen does not
exist as far as the caller can tell (404). Share tokens are 32 random URL-safe bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import Connection, Engine, text

from stockscreen.core import policy
from stockscreen.core.errors import NotFound
from stockscreen.core.paging import DEFAULT_LIMIT, MAX_OFFSET, PageRequest
from stockscreen.screening import ast as A
from stockscreen.screening.access import fields_in, require_fields
from stockscreen.screening.engine import MAX_LIMIT, ScreenRequest, compile_query
from stockscreen.screening.fields import BY_ID
from stockscreen.screening.language import to_text
from stockscreen.screening.validate import check

Name = Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
Description = Annotated[str, StringConstraints(max_length=2000)]
TOKEN_BYTES = 32


def _check_fields(sort: str | None, columns: list[str] | None) -> None:
    if sort is not None and sort not in BY_ID:
        raise ValueError(f"cannot sort by unknown field {sort!r}")
    for c in columns or ():
        if c not in BY_ID:
            raise ValueError(f"unknown column {c!r}")


class SavedScreenIn(BaseModel):
    """A new saved screen: the condition as query text or AST (or neither: every security)."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    description: Description | None = None
    query: Annotated[str | None, Field(max_length=4000)] = None
    ast: A.Cond | None = None
    sort: str = "market_cap"
    order: Literal["asc", "desc"] = "desc"
    columns: Annotated[list[str] | None, Field(max_length=100)] = None

    @model_validator(mode="after")
    def _check(self) -> SavedScreenIn:
        if self.query is not None and self.ast is not None:
            raise ValueError("give the screen as query or ast, not both")
        _check_fields(self.sort, self.columns)
        return self


class SavedScreenPatch(BaseModel):
    """A partial update; a new ``query`` or ``ast`` replaces the condition."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    description: Description | None = None
    query: Annotated[str | None, Field(max_length=4000)] = None
    ast: A.Cond | None = None
    sort: str | None = None
    order: Literal["asc", "desc"] | None = None
    columns: Annotated[list[str] | None, Field(max_length=100)] = None

    @model_validator(mode="after")
    def _check(self) -> SavedScreenPatch:
        if self.query is not None and self.ast is not None:
            raise ValueError("give the screen as query or ast, not both")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        _check_fields(self.sort, self.columns)
        return self


class RunPage(BaseModel):
    """Paging for running a saved or shared screen."""

    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0
    as_of: dt.date | None = None


def _condition(query: str | None, ast: A.CondNode | None) -> A.CondNode | None:
    if query is not None:
        return compile_query(query)
    if ast is not None:
        check(ast)
        return ast
    return None


_COLS = "id, name, description, query, ast, sort, sort_order, columns, share_token, shared_at, created_at, updated_at"


def _public(r: Any, *, owner: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(r["id"]),
        "name": r["name"],
        "description": r["description"],
        "query": r["query"],
        "ast": r["ast"],
        "sort": r["sort"],
        "order": r["sort_order"],
        "columns": r["columns"],
        "created_at": r["created_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(),
    }
    if owner:
        out["share_token"] = r["share_token"]
        out["shared_at"] = r["shared_at"].isoformat() if r["shared_at"] else None
    else:
        del out["id"]
    return out


def screen_request(screen: dict[str, Any], page: RunPage) -> ScreenRequest:
    """The ScreenRequest that runs a saved screen (as returned by the service) for one page."""
    return ScreenRequest(
        query=screen["query"] or None,
        sort=screen["sort"],
        order=screen["order"],
        columns=screen["columns"],
        limit=page.limit,
        offset=page.offset,
        as_of=page.as_of,
    )


def require_owned(conn: Connection, user_id: str, screen_id: str) -> None:
    """NotFound unless ``screen_id`` is one of ``user_id``'s saved screens (used by screen alerts)."""
    try:
        uuid.UUID(screen_id)
    except ValueError:
        raise NotFound(f"no saved screen {screen_id}", {"screen_id": screen_id}) from None
    found = conn.execute(
        text("SELECT 1 FROM saved_screens WHERE id = CAST(:id AS uuid) AND user_id = :u"),
        {"id": screen_id, "u": user_id},
    ).first()
    if found is None:
        raise NotFound(f"no saved screen {screen_id}", {"screen_id": screen_id})


class SavedScreenService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self, conn: Connection, user_id: str, role: str, values: dict[str, Any]) -> dict[str, Any]:
        conn.execute(text("SELECT 1 FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})
        used = conn.execute(text("SELECT count(*) FROM saved_screens WHERE user_id = :u"), {"u": user_id}).scalar_one()
        policy.check_quota(role, "saved_screens", int(used))
        row = (
            conn.execute(
                text(
                    "INSERT INTO saved_screens (user_id, name, description, query, ast, sort, sort_order, columns) "
                    "VALUES (:u, :n, :d, :q, CAST(:ast AS jsonb), :s, :o, CAST(:c AS jsonb)) "
                    f"RETURNING {_COLS}"
                ),
                {"u": user_id, **values},
            )
            .mappings()
            .one()
        )
        return _public(row)

    @staticmethod
    def _values(
        role: str,
        name: str,
        description: str | None,
        condition: A.CondNode | None,
        sort: str,
        order: str,
        columns: list[str] | None,
    ) -> dict[str, Any]:
        require_fields(role, fields_in(condition, sort, columns or ()))
        return {
            "n": name,
            "d": description,
            "q": to_text(condition),
            "ast": json.dumps(condition.model_dump(mode="json")) if condition is not None else None,
            "s": sort,
            "o": order,
            "c": json.dumps(columns) if columns is not None else None,
        }

    def create(self, user_id: str, role: str, body: SavedScreenIn) -> dict[str, Any]:
        cond = _condition(body.query, body.ast)
        values = self._values(role, body.name, body.description, cond, body.sort, body.order, body.columns)
        with self.engine.begin() as conn:
            return self._insert(conn, user_id, role, values)

    def list_mine(self, user_id: str, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            total = conn.execute(
                text("SELECT count(*) FROM saved_screens WHERE user_id = :u"), {"u": user_id}
            ).scalar_one()
            rows = conn.execute(
                text(
                    f"SELECT {_COLS} FROM saved_screens WHERE user_id = :u ORDER BY created_at, id LIMIT :l OFFSET :o"
                ),
                {"u": user_id, "l": page.limit, "o": page.offset},
            ).mappings()
            return [_public(r) for r in rows], int(total)

    def _row(self, conn: Connection, user_id: str, screen_id: str, *, lock: bool = False) -> Any:
        row = (
            conn.execute(
                text(
                    f"SELECT {_COLS} FROM saved_screens WHERE id = :id AND user_id = :u"
                    + (" FOR UPDATE" if lock else "")
                ),
                {"id": screen_id, "u": user_id},
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no saved screen {screen_id}")
        return row

    def get(self, user_id: str, screen_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return _public(self._row(conn, user_id, screen_id))

    def update(self, user_id: str, role: str, screen_id: str, patch: SavedScreenPatch) -> dict[str, Any]:
        with self.engine.begin() as conn:
            cur = _public(self._row(conn, user_id, screen_id, lock=True))
            given = patch.model_fields_set
            if "query" in given or "ast" in given:
                cond = _condition(patch.query, patch.ast)
            else:
                cond = compile_query(cur["query"]) if cur["query"] else None
            values = self._values(
                role,
                patch.name if patch.name is not None else cur["name"],
                patch.description if "description" in given else cur["description"],
                cond,
                patch.sort if patch.sort is not None else cur["sort"],
                patch.order if patch.order is not None else cur["order"],
                patch.columns if "columns" in given else cur["columns"],
            )
            row = (
                conn.execute(
                    text(
                        "UPDATE saved_screens SET name = :n, description = :d, query = :q, ast = CAST(:ast AS jsonb), "
                        "sort = :s, sort_order = :o, columns = CAST(:c AS jsonb), updated_at = now() "
                        f"WHERE id = :id RETURNING {_COLS}"
                    ),
                    {"id": screen_id, **values},
                )
                .mappings()
                .one()
            )
        return _public(row)

    def delete(self, user_id: str, screen_id: str) -> None:
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM saved_screens WHERE id = :id AND user_id = :u"), {"id": screen_id, "u": user_id}
            ).rowcount
        if n == 0:
            raise NotFound(f"no saved screen {screen_id}")

    def duplicate(self, user_id: str, role: str, screen_id: str, name: str | None = None) -> dict[str, Any]:
        """A private copy (never shared) named "<name> (copy)" unless a name is given; counts against the quota."""
        with self.engine.begin() as conn:
            cur = _public(self._row(conn, user_id, screen_id))
            cond = compile_query(cur["query"]) if cur["query"] else None
            new_name = name or (cur["name"][:113] + " (copy)")
            values = self._values(role, new_name, cur["description"], cond, cur["sort"], cur["order"], cur["columns"])
            return self._insert(conn, user_id, role, values)

    def share(self, user_id: str, screen_id: str) -> dict[str, Any]:
        """Publish a read-only link; an already shared screen keeps its token."""
        with self.engine.begin() as conn:
            cur = self._row(conn, user_id, screen_id, lock=True)
            if cur["share_token"] is None:
                conn.execute(
                    text("UPDATE saved_screens SET share_token = :t, shared_at = now() WHERE id = :id"),
                    {"t": secrets.token_urlsafe(TOKEN_BYTES), "id": screen_id},
                )
            return _public(self._row(conn, user_id, screen_id))

    def unshare(self, user_id: str, screen_id: str) -> None:
        """Revoke the link: the old token stops working at once (a new share gets a new token)."""
        with self.engine.begin() as conn:
            self._row(conn, user_id, screen_id, lock=True)
            conn.execute(
                text("UPDATE saved_screens SET share_token = NULL, shared_at = NULL WHERE id = :id"),
                {"id": screen_id},
            )

    def get_shared(self, token: str) -> dict[str, Any]:
        """The public view of a shared screen (no id, owner or token)."""
        if not 20 <= len(token) <= 100:
            raise NotFound("no shared screen with that link")
        with self.engine.connect() as conn:
            row = (
                conn.execute(text(f"SELECT {_COLS} FROM saved_screens WHERE share_token = :t"), {"t": token})
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound("no shared screen with that link")
        return _public(row, owner=False)
