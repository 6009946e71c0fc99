"""Build an OpenAPI 3.1 document from operation descriptions and pydantic models (no web framework here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from stockscreen.core.paging import MAX_LIMIT, MAX_OFFSET
from stockscreen.core.symbols import SYMBOL_PATTERN

REF = "#/components/schemas/{model}"


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None
    request_id: str


class ErrorBody(BaseModel):
    """The one error shape of every 4xx and 5xx response."""

    error: ErrorDetail


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    operation_id: str
    summary: str
    tag: str
    auth: str  # "none" | "optional" | "required"
    feature: str | None
    cache_ttl: int | None
    status: int
    errors: tuple[int, ...]
    content_type: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    roles: list[str] | None
    produces: tuple[str, ...] = ()  # content types of the success response besides ``content_type`` (text bodies)


_ERRORS = {
    "400": "Invalid input (malformed JSON, wrong types, unknown fields, bad parameters)",
    "401": "Missing, invalid or expired credentials",
    "403": "The caller's plan does not include this feature, or a quota is reached",
    "404": "No such resource (or it belongs to another user)",
    "405": "Method not allowed on this path (a path parameter containing '/', '?' or '#' changes the path)",
    "409": "Conflicts with an existing resource (duplicate name or item)",
    "413": "Request body too large",
    "429": "Rate limit exceeded; see Retry-After and RateLimit-* headers",
    "503": "A dependency the route needs is down",
}


PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "symbol": {"type": "string", "pattern": SYMBOL_PATTERN},
    "notification_id": {"type": "string", "pattern": "^[0-9]{1,18}$"},
}


def _path_schema(name: str) -> dict[str, Any]:
    if name in PATH_SCHEMAS:
        return PATH_SCHEMAS[name]
    if name.endswith("_id"):
        return {
            "type": "string",
            "format": "uuid",
            "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        }
    return {"type": "string"}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        desc = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if desc:
            param["description"] = desc
        out.append(param)
    return out


def build(operations: list[Operation], *, title: str, version: str, server_url: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorBody}
    for op in operations:
        for m in (op.body, op.response):
            if m is not None:
                models.add(m)
    ordered = sorted(models, key=lambda m: m.__name__)
    mode: Literal["validation"] = "validation"
    keys = [(m, mode) for m in ordered]
    _, defs = models_json_schema(keys, ref_template=REF)
    schemas = dict(sorted(defs.get("$defs", {}).items()))
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(operations, key=lambda o: (o.path, o.method)):
        item: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
        }
        params = [
            {"name": n, "in": "path", "required": True, "schema": _path_schema(n)}
            for n in re.findall(r"{(\w+)}", op.path)
        ]
        if op.query is not None:
            params += _query_params(op.query)
        if params:
            item["parameters"] = params
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if op.response is not None and op.status != 204:
            ok["content"] = {"application/json": {"schema": {"$ref": REF.format(model=op.response.__name__)}}}
        elif op.status != 204 and op.content_type == "application/json":
            ok["content"] = {"application/json": {"schema": {"type": "object"}}}
        elif op.status != 204:
            ok["content"] = {op.content_type: {"schema": {"type": "string"}}}
        if op.status != 204:
            for other in op.produces:
                ok.setdefault("content", {})[other] = {"schema": {"type": "string"}}
        responses: dict[str, Any] = {str(op.status): ok}
        if op.cache_ttl:
            responses["304"] = {"description": "Not modified (If-None-Match matched the ETag)"}
        wanted = {"400", "404", "405", "413", "429"}
        if op.method in ("post", "put", "patch"):
            wanted.add("409")
        wanted.update(str(code) for code in op.errors)
        if op.auth != "none":
            wanted.add("401")
        if (
            op.feature is not None
            and op.roles is not None
            and set(op.roles) != {"anonymous", "free", "premium", "admin"}
        ):
            wanted.add("403")
        for code in sorted(wanted):
            responses[code] = {
                "description": _ERRORS[code],
                "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}},
            }
        item["responses"] = responses
        security: list[dict[str, list[str]]] = []
        if op.auth != "none":
            security.append({"bearerAuth": []})
            if op.method == "get":
                security.append({"apiKey": []})
            if op.auth == "optional":
                security.append({})
        item["security"] = security
        if op.roles is not None:
            item["x-roles"] = op.roles
        if op.cache_ttl:
            item["x-cache-ttl"] = op.cache_ttl
        paths.setdefault(op.path, {})[op.method] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "The Stockscreen public API. Errors always have the body "
                '`{"error": {"code", "message", "details", "request_id"}}`. Lists are paginated with '
                f"`limit` (max {MAX_LIMIT}) and `offset` (max {MAX_OFFSET}) and return `count`."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
