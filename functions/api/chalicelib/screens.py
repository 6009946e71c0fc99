"""The screener: field catalogue, running a screen (JSON or CSV), explain, presets, parse, backtest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import Blueprint, Request

from chalicelib.authn import current, role_of
from chalicelib.http import Response, add_headers, json_body, json_object, json_text, query, route, snapshot_version
from chalicelib.lazy import LazyModule
from stockscreen.core import policy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chalicelib.schemas import screens as schema
    from stockscreen.screening.result_cache import CacheStatus
else:
    schema = LazyModule("chalicelib.schemas.screens")

# The screening package (lark, numpy) is imported by the views that use it, on their first call.

bp = Blueprint(__name__)
M = TypeVar("M", bound="BaseModel")


def _body(model: type[M]) -> M:
    return json_body(bp.current_request, model)


def mark_cache(request: Request, status: CacheStatus) -> None:
    """``X-Cache: HIT`` or ``MISS`` (Redis down is an uncached answer: MISS) and the hit/miss metric."""
    add_headers(request, {"X-Cache": "HIT" if status == "HIT" else "MISS"})
    if status != "BYPASS":
        request.context["stockscreen.core.cache"] = status.lower()


def _role() -> str:
    return role_of(current())


@route(
    bp,
    "/screener/fields",
    methods=["GET"],
    feature="market.read",
    cache_ttl=300,
    response=lambda: schema.FieldsPublic,
)
def fields() -> dict[str, Any]:
    from stockscreen.screening.engine import field_catalogue

    data = field_catalogue()
    return {"data": data, "count": len(data)}


@route(
    bp,
    "/screens/run",
    methods=["POST"],
    content_types=["application/json"],
    feature="screens.run",
    body=lambda: schema.screen_request(),
    params=lambda: schema.RunParams,
    response=lambda: schema.ScreenRunPublic,
    produces=("text/csv",),  # ?format=csv
    errors=(403,),  # a premium field, or the CSV export, outside the caller's plan
)
def run() -> Any:
    from stockscreen.screening.engine import ScreenRequest, ScreenResult, to_csv
    from stockscreen.screening.result_cache import run_cached

    request = bp.current_request
    # (no query string: RunParams' defaults, the screens' schemas not imported for them)
    fmt = query(request, schema.RunParams).format if request.query_params else "json"
    req = ScreenRequest.from_body(json_object(request))
    role = _role()
    if fmt == "csv":
        policy.require(role, "export.csv")
    text, status = run_cached(None, req, role, version=snapshot_version(bp.current_request))
    mark_cache(bp.current_request, status)
    if fmt == "csv":
        return Response(
            body=to_csv(ScreenResult.from_json(text)),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="screen.csv"',
            },
        )
    return json_text(text)


@route(
    bp,
    "/screens/explain",
    methods=["GET"],
    feature="screens.run",
    params=lambda: schema.explain_query(),
    response=lambda: schema.ExplainResult,
)
def explain_route() -> dict[str, Any]:
    from stockscreen.screening.access import fields_in, require_fields
    from stockscreen.screening.engine import compile_query, explain
    from stockscreen.screening.requests import ExplainQuery
    from stockscreen.screening.universe import get_universe

    q = query(bp.current_request, ExplainQuery)
    node = compile_query(q.query)  # a bad query is a 400 before any data is loaded
    require_fields(_role(), fields_in(node))
    return explain(get_universe(), q.symbol, q.query, q.as_of)


@route(
    bp,
    "/screens/presets",
    methods=["GET"],
    feature="market.read",
    cache_ttl=300,
    response=lambda: schema.PresetsPublic,
)
def presets() -> dict[str, Any]:
    """Every preset, flagged ``premium`` when it screens on fields outside the free plan."""
    from stockscreen.screening.access import blocked_fields, fields_in
    from stockscreen.screening.engine import compile_query
    from stockscreen.screening.presets import PRESETS

    data = []
    for p in PRESETS:
        item = p.public()
        item["premium"] = bool(blocked_fields("free", fields_in(compile_query(p.query), p.sort)))
        data.append(item)
    return {"data": data, "count": len(data)}


@route(
    bp,
    "/screens/parse",
    methods=["POST"],
    content_types=["application/json"],
    feature="screens.run",
    response=lambda: schema.ParseResult,
)
def parse_route() -> dict[str, Any]:
    """Text -> AST or AST -> text (what the UI builder uses to switch views)."""
    from stockscreen.screening.ast import to_json
    from stockscreen.screening.engine import compile_query
    from stockscreen.screening.language import to_text
    from stockscreen.screening.validate import check

    body = _body(schema.ParseBody)
    if body.query is not None:
        node = compile_query(body.query)
    else:
        node = body.ast
        check(node)
    return {"query": to_text(node), "ast": to_json(node) if node is not None else None}


@route(
    bp,
    "/screens/backtest",
    methods=["POST"],
    content_types=["application/json"],
    auth="required",
    feature="backtests",
    body=lambda: schema.backtest_request(),
    params=lambda: schema.RunParams,
    response=lambda: schema.backtest_result(),
)
def backtest() -> Any:
    """Backtest a screen: next-open entries, the benchmark over the same dates, costs, every holding.

    ``?format=csv``: one row per holding of every period."""
    from stockscreen.screening.backtest import BacktestRequest, run_backtest, to_csv
    from stockscreen.screening.universe import get_universe

    params = query(bp.current_request, schema.RunParams)
    req = _body(BacktestRequest)
    req.condition()
    result = run_backtest(get_universe(), req)
    if params.format == "csv":
        return Response(
            body=to_csv(result),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="backtest.csv"',
            },
        )
    return result.model_dump()
