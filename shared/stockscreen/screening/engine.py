"""Run a screen against the current snapshot. Fields are whitelisted; values are bound."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine, text

from stockscreen.errors import Unavailable
from stockscreen.screening.fields import BY_ID, FIELDS, PROFILE_FIELDS

Op = Literal[">", ">=", "<", "<=", "=", "!=", "between", "in"]
_SQL_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "=", "!=": "<>"}
MAX_FILTERS = 50
MAX_IN = 100
DEFAULT_COLUMNS = (
    "symbol",
    "name",
    "sector",
    "industry",
    "close",
    "change_pct",
    "volume",
    "market_cap",
    "pe",
    "dividend_yield",
    "rsi14",
    "sma50",
    "sma200",
    "perf_1m",
)

Scalar = float | str


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    op: Op
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _check(self) -> Filter:
        f = BY_ID.get(self.field)
        if f is None:
            raise ValueError(f"unknown field {self.field!r}")
        if self.op == "between":
            if not (isinstance(self.value, list) and len(self.value) == 2):
                raise ValueError(f"{self.field} between needs [low, high]")
        elif self.op == "in":
            if not isinstance(self.value, list) or not self.value or len(self.value) > MAX_IN:
                raise ValueError(f"{self.field} in needs a list of 1 to {MAX_IN} values")
        elif isinstance(self.value, list):
            raise ValueError(f"{self.field} {self.op} needs a single value")
        values = self.value if isinstance(self.value, list) else [self.value]
        for v in values:
            if f.type == "number" and not isinstance(v, float | int):
                raise ValueError(f"{self.field} is a number; {v!r} is not")
            if f.type == "string" and not isinstance(v, str):
                raise ValueError(f"{self.field} is text; compare it with strings")
            if f.type == "string" and self.op in (">", ">=", "<", "<=", "between"):
                raise ValueError(f"{self.field} is text; use =, != or in")
            if f.type == "date":
                try:
                    dt.date.fromisoformat(str(v))
                except ValueError:
                    raise ValueError(f"{self.field} needs dates as YYYY-MM-DD, not {v!r}") from None
        return self


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filters: Annotated[list[Filter], Field(max_length=MAX_FILTERS)] = []
    sort: str = "market_cap"
    order: Literal["asc", "desc"] = "desc"
    columns: list[str] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Annotated[int, Field(ge=0, le=100_000)] = 0

    @model_validator(mode="after")
    def _check(self) -> ScreenRequest:
        if self.sort not in BY_ID:
            raise ValueError(f"cannot sort by unknown field {self.sort!r}")
        for c in self.columns or ():
            if c not in BY_ID:
                raise ValueError(f"unknown column {c!r}")
        return self


class ScreenResult(BaseModel):
    data: list[dict[str, Any]]
    count: int
    as_of: str
    snapshot_version: int
    columns: list[str]


_INTEGER_FIELDS = frozenset(f.id for f in FIELDS if f.unit == "shares")


def _col(field: str) -> str:
    # field ids come from the catalogue (whitelist), never from the request as text
    return f"s.{field}" if field in PROFILE_FIELDS else f"r.{field}"


def run_screen(engine: Engine, req: ScreenRequest) -> ScreenResult:
    where: list[str] = []
    params: dict[str, Any] = {}
    for i, f in enumerate(req.filters):
        col = _col(BY_ID[f.field].id)
        if f.op == "between":
            assert isinstance(f.value, list)
            lo, hi = f.value
            if isinstance(lo, float | int) and isinstance(hi, float | int) and lo > hi:
                lo, hi = hi, lo
            where.append(f"{col} BETWEEN :p{i}a AND :p{i}b")
            params[f"p{i}a"], params[f"p{i}b"] = lo, hi
        elif f.op == "in":
            where.append(f"{col} = ANY(:p{i})")
            params[f"p{i}"] = list(f.value) if isinstance(f.value, list) else [f.value]
        else:
            where.append(f"{col} {_SQL_OPS[f.op]} :p{i}")
            params[f"p{i}"] = f.value
    columns = list(dict.fromkeys(["symbol", *(req.columns or DEFAULT_COLUMNS)]))
    select = ", ".join(f"{_col(c)} AS {c}" for c in columns)
    direction = "ASC" if req.order == "asc" else "DESC"
    sql = (
        f"SELECT {select}, count(*) OVER () AS _total FROM snapshot_rows r "
        "JOIN snapshot_versions v ON v.version = r.version AND v.is_current "
        "JOIN securities s ON s.id = r.security_id "
        + ("WHERE " + " AND ".join(where) + " " if where else "")
        + f"ORDER BY {_col(req.sort)} {direction} NULLS LAST, s.symbol ASC LIMIT :limit OFFSET :offset"
    )
    params.update(limit=req.limit, offset=req.offset)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version, as_of FROM snapshot_versions WHERE is_current")).first()
        if version is None:
            raise Unavailable("no screening snapshot yet: run the ingest pipeline first")
        rows = conn.execute(text(sql), params).mappings().all()
        total = int(rows[0]["_total"]) if rows else 0
        if not rows and req.offset:
            # a page past the end still reports how many rows match
            first = conn.execute(text(sql), {**params, "offset": 0, "limit": 1}).mappings().first()
            total = int(first["_total"]) if first else 0
    data = []
    for r in rows:
        item: dict[str, Any] = {}
        for c in columns:
            value = r[c]
            if c in _INTEGER_FIELDS and value is not None:
                value = int(value)
            elif isinstance(value, dt.date):
                value = value.isoformat()
            item[c] = value
        data.append(item)
    return ScreenResult(
        data=data, count=total, as_of=version[1].isoformat(), snapshot_version=int(version[0]), columns=columns
    )


def field_catalogue() -> list[dict[str, object]]:
    return [f.public() for f in FIELDS]
