"""The screener: field catalogue and running a screen."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.http import json_body, route
from stockscreen.db.engine import get_engine
from stockscreen.screening.engine import ScreenRequest, field_catalogue, run_screen

bp = Blueprint(__name__)


@route(bp, "/screener/fields", methods=["GET"])
def fields() -> dict[str, Any]:
    data = field_catalogue()
    return {"data": data, "count": len(data)}


@route(bp, "/screens/run", methods=["POST"], content_types=["application/json"])
def run() -> dict[str, Any]:
    req = json_body(bp.current_request, ScreenRequest)
    return run_screen(get_engine(), req).model_dump()
