"""Saved screens: per-user named screens with a revocable public read-only share link.

A screen is validated through the screening language when it is saved (a bad query is a 400 with
its position) and against the owner's field access (a free user cannot save premium fields). The
query is stored in canonical text form together with its AST. Another user's screen does not
exist as far as the caller can tell (404). Share tokens are 32 random URL-safe bytes.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import Engine

from stockscreen.core import policy
from stockscreen.core.errors import NotFound
from stockscreen.core.paging import DEFAULT_LIMIT, MAX_OFFSET, PageRequest
from stockscreen.screening import ast as A
from stockscreen.screening.access import fields_in, require_fields
from stockscreen.screening.engine import MAX_LIMIT, ScreenRequest, compile_query
from stockscreen.screening.fields import BY_ID
from stockscreen.screening.language import to_text
from stockscreen.screening.models import SavedScreenFields
from stockscreen.screening.repository import SavedScreenRepository
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


_PRIVATE = ("id", "share_token", "shared_at")


def _shared_view(screen: dict[str, Any]) -> dict[str, Any]:
    """What anyone with the link sees: the screen without its id, owner or token."""
    return {k: v for k, v in screen.items() if k not in _PRIVATE}


def screen_request(screen: dict[str, Any], page: RunPage) -> ScreenRequest:
    """The ScreenRequest that runs a saved screen (as returned by the service) for one page."""
    return ScreenRequest.from_body(
        {
            "query": screen["query"] or None,
            "sort": screen["sort"],
            "order": screen["order"],
            "columns": screen["columns"],
            "limit": page.limit,
            "offset": page.offset,
            "as_of": page.as_of,
        }
    )


class SavedScreenService:
    def __init__(self, repo: SavedScreenRepository) -> None:
        self.repo = repo

    @classmethod
    def from_engine(cls, engine: Engine) -> SavedScreenService:
        return cls(SavedScreenRepository(engine))

    @staticmethod
    def _fields(
        role: str,
        name: str,
        description: str | None,
        condition: A.CondNode | None,
        sort: str,
        order: str,
        columns: list[str] | None,
    ) -> SavedScreenFields:
        require_fields(role, fields_in(condition, sort, columns or ()))
        return SavedScreenFields(
            name=name,
            description=description,
            query=to_text(condition),
            ast=A.to_json(condition) if condition is not None else None,
            sort=sort,
            order=order,
            columns=columns,
        )

    def _insert(self, user_id: str, role: str, fields: SavedScreenFields) -> dict[str, Any]:
        """Save a new screen for the user, within the plan's saved-screen quota."""
        with self.repo.transaction() as tx:
            tx.lock_user(user_id)
            policy.check_quota(role, "saved_screens", tx.count(user_id))
            return tx.insert(user_id, fields)

    def create(self, user_id: str, role: str, body: SavedScreenIn) -> dict[str, Any]:
        cond = _condition(body.query, body.ast)
        fields = self._fields(role, body.name, body.description, cond, body.sort, body.order, body.columns)
        return self._insert(user_id, role, fields)

    def list_mine(self, user_id: str, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        return self.repo.list_mine(user_id, page.limit, page.offset)

    def get(self, user_id: str, screen_id: str) -> dict[str, Any]:
        found = self.repo.get(user_id, screen_id)
        if found is None:
            raise NotFound(f"no saved screen {screen_id}")
        return found

    def require_owned(self, user_id: str, screen_id: str) -> None:
        """NotFound unless ``screen_id`` is one of ``user_id``'s saved screens (used by screen alerts)."""
        try:
            uuid.UUID(screen_id)
        except ValueError:
            raise NotFound(f"no saved screen {screen_id}", {"screen_id": screen_id}) from None
        if not self.repo.owns(user_id, screen_id):
            raise NotFound(f"no saved screen {screen_id}", {"screen_id": screen_id})

    def update(self, user_id: str, role: str, screen_id: str, patch: SavedScreenPatch) -> dict[str, Any]:
        with self.repo.transaction() as tx:
            cur = tx.get(user_id, screen_id, lock=True)
            if cur is None:
                raise NotFound(f"no saved screen {screen_id}")
            given = patch.model_fields_set
            if "query" in given or "ast" in given:
                cond = _condition(patch.query, patch.ast)
            else:
                cond = compile_query(cur["query"]) if cur["query"] else None
            fields = self._fields(
                role,
                patch.name if patch.name is not None else cur["name"],
                patch.description if "description" in given else cur["description"],
                cond,
                patch.sort if patch.sort is not None else cur["sort"],
                patch.order if patch.order is not None else cur["order"],
                patch.columns if "columns" in given else cur["columns"],
            )
            return tx.update(screen_id, fields)

    def delete(self, user_id: str, screen_id: str) -> None:
        if not self.repo.delete(user_id, screen_id):
            raise NotFound(f"no saved screen {screen_id}")

    def duplicate(self, user_id: str, role: str, screen_id: str, name: str | None = None) -> dict[str, Any]:
        """A private copy (never shared) named "<name> (copy)" unless a name is given; counts against the quota."""
        cur = self.get(user_id, screen_id)
        cond = compile_query(cur["query"]) if cur["query"] else None
        new_name = name or (cur["name"][:113] + " (copy)")
        fields = self._fields(role, new_name, cur["description"], cond, cur["sort"], cur["order"], cur["columns"])
        return self._insert(user_id, role, fields)

    def share(self, user_id: str, screen_id: str) -> dict[str, Any]:
        """Publish a read-only link; an already shared screen keeps its token."""
        with self.repo.transaction() as tx:
            cur = tx.get(user_id, screen_id, lock=True)
            if cur is None:
                raise NotFound(f"no saved screen {screen_id}")
            if cur["share_token"] is not None:
                return cur
            return tx.set_share_token(screen_id, secrets.token_urlsafe(TOKEN_BYTES))

    def unshare(self, user_id: str, screen_id: str) -> None:
        """Revoke the link: the old token stops working at once (a new share gets a new token)."""
        with self.repo.transaction() as tx:
            if tx.get(user_id, screen_id, lock=True) is None:
                raise NotFound(f"no saved screen {screen_id}")
            tx.set_share_token(screen_id, None)

    def get_shared(self, token: str) -> dict[str, Any]:
        """The public view of a shared screen (no id, owner or token)."""
        if not 20 <= len(token) <= 100:
            raise NotFound("no shared screen with that link")
        found = self.repo.by_token(token)
        if found is None:
            raise NotFound("no shared screen with that link")
        return _shared_view(found)
