"""Saved screens: per-user CRUD, duplicate, run (paged, cached), public read-only share links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from chalicelib.authn import current, principal, role_of
from chalicelib.common import saved_screens as saved
from chalicelib.http import json_body, json_text, query, route, snapshot_version
from chalicelib.lazy import LazyModule
from chalicelib.paths import uuid_path
from chalicelib.screens import mark_cache

if TYPE_CHECKING:
    from chalicelib.schemas import saved_screens as schema
else:
    schema = LazyModule("chalicelib.schemas.saved_screens")

bp = Blueprint(__name__)


def _id(screen_id: str) -> str:
    return uuid_path(screen_id, "saved screen")


def _body(model: Any, *, optional: bool = False) -> Any:
    request = bp.current_request
    if optional and not (request.raw_body or b"").strip():
        return model()
    return json_body(request, model)


def _run(screen: dict[str, Any]) -> Response:
    from stockscreen.screening.result_cache import run_cached
    from stockscreen.screening.saved import screen_request

    page = _body(schema.RunPage, optional=True)
    text, status = run_cached(
        None, screen_request(screen, page), role_of(current()), version=snapshot_version(bp.current_request)
    )
    mark_cache(bp.current_request, status)
    return json_text(text)


_JSON = ["application/json"]


@route(
    bp,
    "/screens/saved",
    methods=["GET"],
    params=lambda: schema.Page,
    response=lambda: schema.SavedScreensPublic,
    auth="required",
    feature="screens.save",
)
def list_saved() -> dict[str, Any]:
    """The caller's saved screens, oldest first, with the plan's saved-screen quota."""
    from stockscreen.core import policy

    q = query(bp.current_request, schema.Page)
    p = principal()
    data, total = saved().list_mine(p.user_id, q.request())
    return {"data": data, "count": total, "limit": policy.quota(p.role).saved_screens}


@route(
    bp,
    "/screens/saved",
    methods=["POST"],
    content_types=_JSON,
    body=lambda: schema.SavedScreenIn,
    response=lambda: schema.SavedScreenPublic,
    status=201,
    errors=(403,),
    auth="required",
    feature="screens.save",
)
def create_saved() -> dict[str, Any]:
    """Save a screen (validated; counts against the plan's saved-screen quota)."""
    b = _body(schema.SavedScreenIn)
    p = principal()
    return saved().create(p.user_id, p.role, b)


@route(
    bp,
    "/screens/saved/{screen_id}",
    methods=["GET"],
    response=lambda: schema.SavedScreenPublic,
    owned=True,
    auth="required",
    feature="screens.save",
)
def get_saved(screen_id: str) -> dict[str, Any]:
    """One saved screen."""
    return saved().get(principal().user_id, _id(screen_id))


@route(
    bp,
    "/screens/saved/{screen_id}",
    methods=["PATCH"],
    content_types=_JSON,
    body=lambda: schema.SavedScreenPatch,
    response=lambda: schema.SavedScreenPublic,
    owned=True,
    auth="required",
    feature="screens.save",
)
def update_saved(screen_id: str) -> dict[str, Any]:
    """Rename, describe or change a saved screen."""
    b = _body(schema.SavedScreenPatch)
    p = principal()
    return saved().update(p.user_id, p.role, _id(screen_id), b)


@route(
    bp,
    "/screens/saved/{screen_id}",
    methods=["DELETE"],
    status=204,
    owned=True,
    auth="required",
    feature="screens.save",
)
def delete_saved(screen_id: str) -> Response:
    """Delete a saved screen (its share link stops working)."""
    saved().delete(principal().user_id, _id(screen_id))
    return Response(body="", status_code=204)


@route(
    bp,
    "/screens/saved/{screen_id}/duplicate",
    methods=["POST"],
    content_types=_JSON,
    body=lambda: schema.DuplicateBody,
    response=lambda: schema.SavedScreenPublic,
    status=201,
    owned=True,
    errors=(403,),
    auth="required",
    feature="screens.save",
)
def duplicate_saved(screen_id: str) -> dict[str, Any]:
    """Copy a saved screen (not shared; counts against the quota)."""
    b = _body(schema.DuplicateBody, optional=True)
    p = principal()
    return saved().duplicate(p.user_id, p.role, _id(screen_id), b.name)


@route(
    bp,
    "/screens/saved/{screen_id}/run",
    methods=["POST"],
    content_types=_JSON,
    body=lambda: schema.RunPage,
    response=lambda: schema.ScreenRunPublic,
    owned=True,
    auth="required",
    feature="screens.save",
)
def run_saved(screen_id: str) -> Response:
    """Run a saved screen, one page at a time (cached per snapshot)."""
    return _run(saved().get(principal().user_id, _id(screen_id)))


@route(
    bp,
    "/screens/saved/{screen_id}/share",
    methods=["POST"],
    response=lambda: schema.SavedScreenPublic,
    owned=True,
    auth="required",
    feature="screens.save",
)
def share_saved(screen_id: str) -> dict[str, Any]:
    """Publish a read-only link to the screen (idempotent: the same token while shared)."""
    return saved().share(principal().user_id, _id(screen_id))


@route(
    bp,
    "/screens/saved/{screen_id}/share",
    methods=["DELETE"],
    status=204,
    owned=True,
    auth="required",
    feature="screens.save",
)
def unshare_saved(screen_id: str) -> Response:
    """Revoke the share link."""
    saved().unshare(principal().user_id, _id(screen_id))
    return Response(body="", status_code=204)


@route(
    bp, "/screens/shared/{token}", methods=["GET"], feature="screens.run", response=lambda: schema.SharedScreenPublic
)
def get_shared(token: str) -> dict[str, Any]:
    """A shared screen, read-only, for anyone with the link."""
    return saved().get_shared(token)


@route(
    bp,
    "/screens/shared/{token}/run",
    methods=["POST"],
    content_types=_JSON,
    feature="screens.run",
    body=lambda: schema.RunPage,
    response=lambda: schema.ScreenRunPublic,
)
def run_shared(token: str) -> Response:
    """Run a shared screen (with the caller's own field access)."""
    return _run(saved().get_shared(token))
