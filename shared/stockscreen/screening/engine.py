"""Run a screen: parse/validate the request, evaluate it over the in-memory universe, page and shape.

A request carries the screen as query text (``query``), as the JSON AST (``ast``), or as the
SPA's list of simple ``filters``. Nothing of it reaches SQL: the universe is loaded with fixed
statements and the screen is evaluated with NumPy.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from stockscreen.core.errors import NotFound
from stockscreen.core.paging import DEFAULT_LIMIT, MAX_OFFSET
from stockscreen.screening import ast as A
from stockscreen.screening.evaluate import Evaluator, fields_read, remember_fields
from stockscreen.screening.fields import BY_ID, FIELDS
from stockscreen.screening.language import expr_text, parse, to_text
from stockscreen.screening.universe import EPOCH, Universe, get_universe
from stockscreen.screening.validate import KINDS, check, field_kind, leaves

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from stockscreen.screening.requests import Filter

MAX_FILTERS = 50
#: the screener pages its results with a larger limit than lists (offsets are bounded by core.paging)
MAX_LIMIT = 500
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


@dataclass(frozen=True, kw_only=True)
class ScreenRequest:
    """A screen to run: the condition as query text (``query``), as the JSON AST (``ast``) or as the
    SPA's list of simple ``filters`` (at most one of them), the sort, the columns and the page.

    Built checked by :meth:`from_body` (what the API, the CLI and the reports do); the constructor takes
    the fields as they are. A plain body is checked here; any other is pydantic's to validate
    (:class:`stockscreen.screening.requests.ScreenRequestBody`, imported then), so a screen given as text
    runs without pydantic (README, "Cold start")."""

    query: str | None = None
    ast: A.CondNode | None = None
    filters: list[Filter] = field(default_factory=list)
    sort: str = "market_cap"
    order: Literal["asc", "desc"] = "desc"
    columns: list[str] | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    as_of: dt.date | None = None
    explain: bool = False

    def consistent(self) -> None:
        """The rules across fields (ValueError): one form of the screen, known sort and column fields."""
        if sum(x is not None and x != [] for x in (self.query, self.ast, self.filters or None)) > 1:
            raise ValueError("give the screen as one of query, ast or filters, not several")
        if self.sort not in BY_ID:
            raise ValueError(f"cannot sort by unknown field {self.sort!r}")
        for c in self.columns or ():
            if c not in BY_ID:
                raise ValueError(f"unknown column {c!r}")

    @classmethod
    def from_body(cls, data: dict[str, Any]) -> ScreenRequest:
        """The request ``data`` describes, checked. A plain body (query text or none, sort, order, columns,
        page, explain, each of its exact type) is checked here; any other body, and any error, is
        pydantic's to decide (the same request, or the same ValidationError)."""
        if _plain(data):
            req = cls(**data)
            try:
                req.consistent()
            except ValueError:
                pass  # pydantic raises the same error, as a ValidationError
            else:
                return req
        from stockscreen.screening.requests import ScreenRequestBody

        return ScreenRequestBody.model_validate(data).to_request()

    def condition(self) -> A.CondNode | None:
        if self.query is not None:
            return compile_query(self.query)
        if self.ast is not None:
            check(self.ast)
            return self.ast
        if self.filters:
            items = [f.to_ast() for f in self.filters]
            return items[0] if len(items) == 1 else A.And(items=items)
        return None


def _text(v: Any, max_length: int) -> bool:
    """A str pydantic takes as it is: at most ``max_length`` characters, encodable (no lone surrogate)."""
    if type(v) is not str or len(v) > max_length:
        return False
    try:
        return v.isascii() or bool(v.encode())
    except UnicodeEncodeError:
        return False


def _whole(v: Any, low: int, high: int) -> bool:
    return type(v) is int and low <= v <= high


_PLAIN: dict[str, Callable[[Any], bool]] = {
    "query": lambda v: v is None or _text(v, 4000),
    "ast": lambda v: v is None,
    "filters": lambda v: type(v) is list and not v,
    "sort": lambda v: _text(v, 1 << 30),
    "order": lambda v: v in ("asc", "desc") and type(v) is str,
    "columns": lambda v: v is None or (type(v) is list and len(v) <= 100 and all(_text(c, 1 << 30) for c in v)),
    "limit": lambda v: _whole(v, 1, MAX_LIMIT),
    "offset": lambda v: _whole(v, 0, MAX_OFFSET),
    "explain": lambda v: type(v) is bool,
}


def _plain(data: dict[str, Any]) -> bool:
    """Every key a field of ScreenRequest's the fast path checks, every value of the type that field keeps
    as it is (``as_of``, filters, an AST, numbers as floats... are pydantic's)."""
    return all(k in _PLAIN and _PLAIN[k](v) for k, v in data.items())


@dataclass(kw_only=True)
class ScreenResult:
    """A page of a screen's results (its public schema: ``chalicelib.schemas.screens.ScreenRunPublic``)."""

    data: list[dict[str, Any]]
    count: int
    as_of: str
    snapshot_version: int
    columns: list[str]
    query: str | None = None
    clauses: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (the rows as they are: every value is JSON already)."""
        return dict(vars(self))

    @classmethod
    def from_json(cls, text: str) -> ScreenResult:
        """The result from its JSON text (:meth:`to_json`, encoded: the result cache's entries)."""
        return cls(**json.loads(text))


@lru_cache(maxsize=512)
def compile_query(text: str) -> A.CondNode | None:
    """Parse and validate query text (memoised: a screen is typically run page after page)."""
    node = parse(text)
    remember_fields(node, check(node))
    return node


_SHARES = frozenset(f.id for f in FIELDS if f.unit == "shares")
_FLAGS = frozenset(f.id for f in FIELDS if f.type == "boolean")


def _column_values(u: Universe, name: str, t: int, rows: np.ndarray[Any, Any]) -> list[Any]:
    kind = KINDS[name]
    if kind == "string":
        return list(u.label_values(name, rows, t))
    if kind == "date":
        out: list[Any] = []
        for v in u.dates[name][rows].tolist():
            out.append(None if math.isnan(v) else str(EPOCH + np.timedelta64(int(v), "D")))
        return out
    vals = u.column(name, t)[rows].tolist()
    if name in _SHARES:
        return [None if math.isnan(v) else round(v) for v in vals]  # whole shares (averages rounded)
    if name in _FLAGS:
        return [None if math.isnan(v) else bool(v) for v in vals]
    return [None if math.isnan(v) else v for v in vals]


def _page_columns(u: Universe, columns: list[str], t: int, rows: np.ndarray[Any, Any]) -> list[list[Any]]:
    """``_column_values`` of every column, the numeric ones read as one block (one NaN test for all)."""
    numeric = [c for c in columns if KINDS[c] == "number"]
    out: dict[str, list[Any]] = {}
    if numeric:
        block = np.array([u.column(c, t)[rows] for c in numeric]).reshape(len(numeric), len(rows))
        missing = np.isnan(block).any(axis=1).tolist()
        for name, vals, gaps in zip(numeric, block.tolist(), missing, strict=True):
            if name in _SHARES:  # whole shares (averages rounded)
                vals = [None if math.isnan(v) else round(v) for v in vals]
            elif name in _FLAGS:
                vals = [None if math.isnan(v) else bool(v) for v in vals]
            elif gaps:
                vals = [None if math.isnan(v) else v for v in vals]
            out[name] = vals
    return [out[c] if c in out else _column_values(u, c, t, rows) for c in columns]


def sort_order(
    u: Universe, rows: np.ndarray[Any, Any], sort: str, order: str, t: int, first: int | None = None
) -> np.ndarray[Any, Any]:
    """Row indices sorted by ``sort`` (missing values last), ties by symbol (the universe's order);
    with ``first``, only the first that many of them (the same rows, found without a full sort)."""
    kind = KINDS[sort]
    if kind == "string":
        codes = u.label_codes(sort, t, t)[rows, 0].astype(np.float64)
        key = np.where(codes < 0, np.nan, codes)
    elif kind == "date":
        key = u.dates[sort][rows]
    else:
        key = u.column(sort, t)[rows]
    if order == "desc":
        key = -key
    if first is not None and first > 0 and 4 * first < len(key):
        kth = np.partition(key, first - 1)[first - 1]
        if not np.isnan(kth):
            # every row that can be among the first (ties with the last one included), in universe order
            near = np.flatnonzero(key <= kth)
            return rows[near[np.argsort(key[near], kind="stable")[:first]]]
    ordered = rows[np.argsort(key, kind="stable")]
    return ordered if first is None else ordered[:first]


def evaluate(u: Universe, cond: A.CondNode | None, t: int) -> np.ndarray[Any, Any]:
    return np.flatnonzero(Evaluator(u).mask(cond, t))


def run(u: Universe, req: ScreenRequest) -> ScreenResult:
    cond = req.condition()
    t = u.date_index(req.as_of)
    columns = list(dict.fromkeys(["symbol", *(req.columns or DEFAULT_COLUMNS)]))
    columns = [c for c in columns if c in BY_ID]
    u.want({req.sort, *columns} | fields_read(cond))  # one pass computes every history the request reads
    rows = evaluate(u, cond, t)
    page = sort_order(u, rows, req.sort, req.order, t, first=req.offset + req.limit)[req.offset :]
    by_column = _page_columns(u, columns, t, page)
    data = [dict(zip(columns, row, strict=False)) for row in zip(*by_column, strict=False)]  # equal lengths
    clauses = None
    if req.explain and cond is not None:
        # per result row: which clauses pass (the same order as ``clauses``)
        ev = Evaluator(u)
        parts = leaves(cond)
        clauses = [to_text(p) for p in parts]
        checks = [ev.mask(p, t)[page] for p in parts]
        for i, row in enumerate(data):
            row["_explain"] = [bool(m[i]) for m in checks]
    return ScreenResult(
        data=data,
        count=len(rows),
        as_of=str(u.trading_dates[t]),
        snapshot_version=int(u.version),
        columns=columns,
        query=to_text(cond) if cond is not None else None,
        clauses=clauses,
    )


def run_all(u: Universe, req: ScreenRequest, limit: int | None = None) -> ScreenResult:
    """Every matching row (``limit`` None), or the first ``limit``, without the API's page cap: the
    screen run page by page (``MAX_LIMIT`` rows each) over one universe (one snapshot version)."""
    data: list[dict[str, Any]] = []
    result: ScreenResult | None = None
    while limit is None or len(data) < limit:
        size = MAX_LIMIT if limit is None else min(MAX_LIMIT, limit - len(data))
        result = run(u, dataclasses.replace(req, limit=size, offset=req.offset + len(data)))
        data += result.data
        if len(result.data) < size:
            break
    assert result is not None  # (the loop runs at least once: limit >= 1)
    return dataclasses.replace(result, data=data)


def run_screen(engine: Engine | None, req: ScreenRequest) -> ScreenResult:
    """``engine``: None for the process's database (see :func:`get_universe`)."""
    req.condition()  # bad screens fail before any data is loaded
    return run(get_universe(engine), req)


def to_csv(result: ScreenResult) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=result.columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.data)
    return buf.getvalue()


# ---------------------------------------------------------------- explain


def _threshold(c: A.CondNode) -> Any:
    if isinstance(c, A.Compare):
        return expr_text(c.right)
    if isinstance(c, A.Between):
        return [expr_text(c.low), expr_text(c.high)]
    if isinstance(c, A.In):
        return [v.value for v in c.values]
    if isinstance(c, A.Cross):
        return expr_text(c.right)
    if isinstance(c, A.Window):
        return _threshold(c.cond)
    return None


def _subject(c: A.CondNode) -> A.ExprNode | None:
    if isinstance(c, A.Compare | A.Cross):
        return c.left
    if isinstance(c, A.Between | A.In | A.Flag):
        return c.expr
    if isinstance(c, A.Window):
        return _subject(c.cond)
    return None


def _right(c: A.CondNode) -> A.ExprNode | None:
    if isinstance(c, A.Compare | A.Cross):
        return c.right
    if isinstance(c, A.Window):
        return _right(c.cond)
    return None


def _scalar(ev: Evaluator, e: A.ExprNode | None, row: int, t: int) -> Any:
    if e is None:
        return None
    if isinstance(e, A.Str):
        return e.value
    if isinstance(e, A.FieldRef) and field_kind(BY_ID[e.name].type) != "number":
        return _column_values(ev.u, e.name, t, np.array([row]))[0]
    v = float(ev.value(e, t)[row])
    return None if math.isnan(v) else v


def explain(u: Universe, symbol: str, query: str | A.CondNode, as_of: dt.date | None = None) -> dict[str, Any]:
    cond = compile_query(query) if isinstance(query, str) else query
    if not isinstance(query, str):
        check(cond)
    row = u.row_of(symbol)
    if row is None:
        raise NotFound(f"no security {symbol.upper()!r} in the screening universe")
    t = u.date_index(as_of)
    ev = Evaluator(u)
    clauses = []
    for leaf in leaves(cond):
        clauses.append(
            {
                "clause": to_text(leaf),
                "value": _scalar(ev, _subject(leaf), row, t),
                "threshold": _threshold(leaf),
                "threshold_value": _scalar(ev, _right(leaf), row, t)
                if not isinstance(_right(leaf), A.Num | A.Str | None)
                else None,
                "pass": bool(ev.mask(leaf, t)[row]),
            }
        )
    return {
        "symbol": str(u.symbols[row]),
        "query": to_text(cond),
        "as_of": str(u.trading_dates[t]),
        "snapshot_version": u.version,
        "pass": bool(ev.mask(cond, t)[row]),
        "clauses": clauses,
    }


def field_catalogue() -> list[dict[str, object]]:
    return [f.public() for f in FIELDS]
