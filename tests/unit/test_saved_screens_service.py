"""SavedScreenService over an in-memory fake repository (no database): validation through the screening
language, field access and quota per role, ownership (another user's screen does not exist), duplicates
and share links."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pydantic import ValidationError

from stockscreen.core.errors import Forbidden, Invalid, NotFound
from stockscreen.core.paging import PageRequest
from stockscreen.screening.models import SavedScreenFields
from stockscreen.screening.saved import (
    RunPage,
    SavedScreenIn,
    SavedScreenPatch,
    SavedScreenService,
    screen_request,
)

CANON = "market_cap > 100000000000 and close > sma50"
SCREEN: dict[str, Any] = {
    "name": "Large caps",
    "description": "mega caps above their 50-day average",
    "query": "market_cap  >  100B and close > sma50",
    "sort": "symbol",
    "order": "asc",
    "columns": ["symbol", "close", "market_cap"],
}


class FakeScreens:
    """The SavedScreenRepository interface over a dict; a transaction that raises leaves nothing behind."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}  # id -> owner view + "user_id"
        self.by_token_calls = 0
        self._clock = itertools.count()

    def _now(self) -> str:
        return (dt.datetime(2018, 2, 8, tzinfo=dt.UTC) + dt.timedelta(seconds=next(self._clock))).isoformat()

    @staticmethod
    def _view(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k != "user_id"}

    @contextmanager
    def transaction(self) -> Iterator[FakeScreens]:
        saved = copy.deepcopy(self.rows)
        try:
            yield self
        except BaseException:
            self.rows = saved
            raise

    def lock_user(self, user_id: str) -> None:
        pass

    def count(self, user_id: str) -> int:
        return sum(1 for r in self.rows.values() if r["user_id"] == user_id)

    def get(self, user_id: str, screen_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        row = self.rows.get(screen_id)
        return self._view(row) if row is not None and row["user_id"] == user_id else None

    def _fields(self, f: SavedScreenFields) -> dict[str, Any]:
        return {
            "name": f.name,
            "description": f.description,
            "query": f.query,
            "ast": copy.deepcopy(f.ast),
            "sort": f.sort,
            "order": f.order,
            "columns": list(f.columns) if f.columns is not None else None,
        }

    def insert(self, user_id: str, fields: SavedScreenFields) -> dict[str, Any]:
        screen_id = str(uuid.uuid4())
        now = self._now()
        self.rows[screen_id] = {
            "id": screen_id,
            **self._fields(fields),
            "created_at": now,
            "updated_at": now,
            "share_token": None,
            "shared_at": None,
            "user_id": user_id,
        }
        return self._view(self.rows[screen_id])

    def update(self, screen_id: str, fields: SavedScreenFields) -> dict[str, Any]:
        self.rows[screen_id].update(self._fields(fields), updated_at=self._now())
        return self._view(self.rows[screen_id])

    def set_share_token(self, screen_id: str, token: str | None) -> dict[str, Any]:
        self.rows[screen_id].update(share_token=token, shared_at=self._now() if token else None)
        return self._view(self.rows[screen_id])

    def list_mine(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        mine = [self._view(r) for r in self.rows.values() if r["user_id"] == user_id]
        return mine[offset : offset + limit], len(mine)

    def owns(self, user_id: str, screen_id: str) -> bool:
        return self.get(user_id, screen_id) is not None

    def delete(self, user_id: str, screen_id: str) -> bool:
        if self.get(user_id, screen_id) is None:
            return False
        del self.rows[screen_id]
        return True

    def by_token(self, token: str) -> dict[str, Any] | None:
        self.by_token_calls += 1
        return next((self._view(r) for r in self.rows.values() if r["share_token"] == token), None)


@pytest.fixture
def repo() -> FakeScreens:
    return FakeScreens()


@pytest.fixture
def svc(repo: FakeScreens) -> SavedScreenService:
    return SavedScreenService(repo)  # type: ignore[arg-type]


def _save(svc: SavedScreenService, user: str = "u1", role: str = "free", **over: Any) -> dict[str, Any]:
    return svc.create(user, role, SavedScreenIn(**{**SCREEN, **over}))


def test_a_screen_is_stored_with_its_canonical_query_and_ast(svc: SavedScreenService) -> None:
    made = _save(svc)
    assert made["query"] == CANON and made["ast"]["kind"] == "and" and len(made["ast"]["items"]) == 2
    assert (made["name"], made["sort"], made["order"]) == ("Large caps", "symbol", "asc")
    assert made["columns"] == SCREEN["columns"] and made["share_token"] is None
    assert svc.get("u1", made["id"]) == made
    from_ast = _save(svc, name="as ast", query=None, ast=made["ast"])
    assert from_ast["query"] == CANON and from_ast["ast"] == made["ast"]
    every = _save(svc, name="everything", query=None)
    assert every["query"] == "" and every["ast"] is None
    assert svc.list_mine("u1", PageRequest(limit=2, offset=1)) == ([from_ast, every], 3)


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"sort": "nosuchfield"}, "nosuchfield"),
        ({"columns": ["symbol", "bogus"]}, "bogus"),
        ({"name": "   "}, "name"),
        ({"query": "close > 1", "ast": {"kind": "flag", "expr": {"kind": "field", "name": "close"}}}, "both"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_malformed_body_is_refused_by_its_model(over: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        SavedScreenIn(**{**SCREEN, **over})


@pytest.mark.parametrize(
    ("query", "needle"),
    [("close >> 5", "column"), ("sector > 5", "sector"), ("nosuchfield > 1", "nosuchfield")],
)
def test_a_bad_query_is_invalid_and_nothing_is_saved(
    svc: SavedScreenService, repo: FakeScreens, query: str, needle: str
) -> None:
    with pytest.raises(Invalid) as err:
        _save(svc, query=query)
    assert needle in (err.value.message + str(err.value.details)).lower()
    assert repo.rows == {}


def test_the_quota_depends_on_the_role_and_a_duplicate_counts(svc: SavedScreenService) -> None:
    ids = [_save(svc, name=f"s{i}")["id"] for i in range(3)]
    with pytest.raises(Forbidden, match="saved screens is limited to 3 on the free plan"):
        _save(svc, name="fourth")
    with pytest.raises(Forbidden):
        svc.duplicate("u1", "free", ids[0])
    svc.delete("u1", ids[1])
    copied = svc.duplicate("u1", "free", ids[0])
    assert copied["name"] == "s0 (copy)" and copied["query"] == CANON and copied["id"] not in ids
    for i in range(5):
        _save(svc, "u2", "premium", name=f"p{i}")
    assert svc.list_mine("u2", PageRequest())[1] == 5


def test_a_free_user_cannot_save_premium_fields(svc: SavedScreenService, repo: FakeScreens) -> None:
    with pytest.raises(Forbidden) as err:
        _save(svc, query="beta < 1 and close > 0")
    assert err.value.details["fields"] == ["beta"]
    with pytest.raises(Forbidden) as err:
        _save(svc, sort="atr14")
    assert err.value.details["fields"] == ["atr14"]
    sid = _save(svc)["id"]
    with pytest.raises(Forbidden) as err:
        svc.update("u1", "free", sid, SavedScreenPatch(columns=["macd_hist"]))
    assert err.value.details["fields"] == ["macd_hist"]
    assert repo.rows[sid]["columns"] == SCREEN["columns"]
    assert _save(svc, "u2", "premium", query="beta < 5")["query"] == "beta < 5"


def test_an_update_changes_only_what_is_given(svc: SavedScreenService) -> None:
    made = _save(svc)
    patched = svc.update("u1", "free", made["id"], SavedScreenPatch(name=" Renamed ", order="desc"))
    assert patched["name"] == "Renamed" and patched["order"] == "desc"
    assert (patched["query"], patched["ast"], patched["columns"]) == (made["query"], made["ast"], made["columns"])
    requery = svc.update("u1", "free", made["id"], SavedScreenPatch(query="pe < 30"))
    assert requery["query"] == "pe < 30" and requery["ast"]["kind"] == "compare"
    assert requery["description"] == SCREEN["description"] and requery["name"] == "Renamed"
    cleared = svc.update("u1", "free", made["id"], SavedScreenPatch(description=None, columns=None, query=None))
    assert cleared["description"] is None and cleared["columns"] is None and cleared["query"] == ""
    with pytest.raises(Invalid):
        svc.update("u1", "free", made["id"], SavedScreenPatch(query="close > > 5"))
    assert svc.get("u1", made["id"])["query"] == ""
    with pytest.raises(ValidationError, match="name cannot be null"):
        SavedScreenPatch(name=None)


def test_another_users_screen_does_not_exist(svc: SavedScreenService) -> None:
    sid = _save(svc, "owner")["id"]
    for call in (
        lambda: svc.get("other", sid),
        lambda: svc.update("other", "premium", sid, SavedScreenPatch(name="x")),
        lambda: svc.delete("other", sid),
        lambda: svc.duplicate("other", "premium", sid),
        lambda: svc.share("other", sid),
        lambda: svc.unshare("other", sid),
        lambda: svc.require_owned("other", sid),
    ):
        with pytest.raises(NotFound, match=f"no saved screen {sid}"):
            call()
    with pytest.raises(NotFound):
        svc.require_owned("owner", "not-a-uuid")
    svc.require_owned("owner", sid)
    assert svc.list_mine("other", PageRequest()) == ([], 0)
    assert svc.get("owner", sid)["name"] == SCREEN["name"]


def test_a_share_link_is_stable_read_only_and_revocable(svc: SavedScreenService, repo: FakeScreens) -> None:
    made = _save(svc)
    shared = svc.share("u1", made["id"])
    token = shared["share_token"]
    assert len(token) == 43 and shared["shared_at"] is not None  # 32 random bytes, URL-safe base64
    assert svc.share("u1", made["id"])["share_token"] == token
    public = svc.get_shared(token)
    assert public == {k: v for k, v in shared.items() if k not in ("id", "share_token", "shared_at")}
    svc.unshare("u1", made["id"])
    with pytest.raises(NotFound, match="no shared screen"):
        svc.get_shared(token)
    again = svc.share("u1", made["id"])["share_token"]
    assert again != token and svc.get_shared(again)["name"] == SCREEN["name"]
    copied = svc.duplicate("u1", "free", made["id"], "mine")
    assert copied["name"] == "mine" and copied["share_token"] is None


def test_an_implausible_token_is_not_looked_up(svc: SavedScreenService, repo: FakeScreens) -> None:
    for token in ("short", "x" * 101):
        with pytest.raises(NotFound):
            svc.get_shared(token)
    assert repo.by_token_calls == 0


def test_a_long_name_is_cut_to_fit_its_copy_suffix(svc: SavedScreenService) -> None:
    made = _save(svc, "u1", "premium", name="n" * 120)
    copied = svc.duplicate("u1", "premium", made["id"])
    assert copied["name"] == "n" * 113 + " (copy)" and len(copied["name"]) == 120


def test_a_saved_screen_runs_as_its_screen_request() -> None:
    screen = {"query": CANON, "sort": "symbol", "order": "asc", "columns": ["symbol"]}
    req = screen_request(screen, RunPage(limit=10, offset=20, as_of=dt.date(2018, 2, 1)))
    assert (req.query, req.sort, req.order, req.columns) == (CANON, "symbol", "asc", ["symbol"])
    assert (req.limit, req.offset, req.as_of) == (10, 20, dt.date(2018, 2, 1))
    assert screen_request({**screen, "query": ""}, RunPage()).query is None
