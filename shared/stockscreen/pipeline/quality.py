"""Data-quality rules over staged bars, each a named rule with a severity.

Errors are quarantined (recorded with the raw row, never loaded); warnings are loaded and
reported. Every finding lands in ``quality_issues`` for the run's report.

The rules run in order over the run's staged bars held in memory as NumPy columns (the Fetch
batches, read in one query): each sees only the rows no earlier error rule quarantined, as the
order of :data:`RULES` says. :func:`evaluate` is the rules themselves, a pure function of the rows
and of what the database knows (:class:`Context`); :func:`run_rules` reads, evaluates and writes.

The fundamentals file has rules of its own (:data:`REFERENCE_RULES`), applied by LoadReference:
:func:`check_fundamentals`, a pure function of the parsed rows that corrects them (52-week columns
swapped back, dividend yields in percent) and reports what it found.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from stockscreen.db.engine import psycopg_connection
from stockscreen.market.calendar import sessions_before, trading_days
from stockscreen.market.formats import SYMBOL
from stockscreen.market.providers import BAR_COLUMNS
from stockscreen.pipeline.columns import (
    ADJ_CLOSE,
    BAD_DATE,
    BAD_NUMBER,
    EPOCH,
    MISSING_VALUE,
    NAT,
    PRICE_COLUMNS,
    TypedBars,
)
from stockscreen.pipeline.reference import Fundamentals, StagedReference, reference_symbol
from stockscreen.pipeline.staging import UNKNOWN_KEY, clear_batch, read_fetched, stage_rows


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str  # "error" quarantines, "warning" loads and reports, "info" reports
    description: str
    #: True when the rule marks rows (errors), False when it only reports
    marks_rows: bool = True


#: Sessions without a bar after which an active security is reported stale.
STALE_SESSIONS = 5
#: A change of the adjusted close / close ratio between consecutive bars beyond this factor (either
#: way) is a jump (``adj_close_jump``) unless the raw close moved by it (a split in unadjusted prices).
ADJ_JUMP = 1.25

RULES: tuple[Rule, ...] = (
    Rule("bad_date", "error", "date is not a valid YYYY-MM-DD date"),
    Rule("bad_number", "error", "a price or volume is not a number"),
    Rule("missing_price", "error", "open, high, low, close or volume is missing"),
    Rule("missing_symbol", "error", "the symbol column is empty"),
    Rule("non_positive_price", "error", "a price is zero or negative"),
    Rule("bad_print", "error", "a one-day spike of more than 25% that reverts the next day"),
    Rule("high_low_inconsistent", "error", "high/low do not contain open and close"),
    Rule("bad_volume", "error", "volume is negative or not a whole number"),
    Rule("future_date", "error", "the bar is dated after today"),
    Rule("closed_day", "error", "the bar is dated on a weekend or an NYSE holiday (the exchange was closed)"),
    Rule("duplicate_bar", "error", "the same (symbol, date) appears more than once"),
    Rule(
        "unknown_symbol",
        "error",
        "the symbol is neither listed nor in this run's constituents (a provider run, --known-only), "
        "or is not a ticker",
    ),
    Rule(
        "new_symbol",
        "info",
        "a symbol new to the security master, added from a bars file given explicitly "
        "(name and sector unknown until a listing provides them)",
        False,
    ),
    Rule("suspicious_jump", "warning", "close moved more than 40% in a day (split, spin-off or bad print)", False),
    Rule(
        "calendar_gap",
        "warning",
        "an NYSE trading day is missing between a symbol's previous bar (loaded or staged) and its last",
        False,
    ),
    Rule("late_start", "info", "the symbol's history starts after the run's first trading day", False),
    Rule("stale_symbol", "warning", "the symbol has no bar on the run's last trading day", False),
    Rule(
        "stale_security",
        "warning",
        f"an active security absent from this run has had no bar for more than {STALE_SESSIONS} sessions",
        False,
    ),
    Rule("released", "info", "an admin released the row from quarantine after review: loaded despite its rule", False),
    Rule(
        "bad_adj_close",
        "warning",
        "the adjusted close is not a number, not finite or not positive: the bar is loaded without it",
        False,
    ),
    Rule(
        "adj_close_jump",
        "warning",
        f"the adjusted close / close ratio moved more than {round((ADJ_JUMP - 1) * 100)}% from one bar to the next "
        "and the adjusted close moved with it: neither a split (which moves the close, not the adjusted close) "
        "nor a dividend (a few percent) explains it",
        False,
    ),
)

RULE_NAMES = frozenset(r.name for r in RULES)
#: rules whose findings are quarantined rows (never loaded)
QUARANTINING = frozenset(r.name for r in RULES if r.marks_rows and r.severity == "error")
_BY_NAME = {r.name: r for r in RULES}
#: quarantining rules whose rows an admin may release after review: the row has a symbol, a date and
#: numeric values (what it failed is a judgement about them, not its form, its identity or its date)
RELEASABLE = QUARANTINING - {
    "bad_date",
    "bad_number",
    "missing_price",
    "missing_symbol",
    "duplicate_bar",
    "unknown_symbol",
    "future_date",
}
#: the file name of the released rows a run stages itself (their line: the release's id)
RELEASED_FILE = "quarantine_releases"


def action(rule: Rule) -> str:
    return "quarantined" if rule.marks_rows and rule.severity == "error" else "loaded"


# --- values as PostgreSQL prints them (the messages and raw rows the SQL rules wrote) ----------


def pg_float(x: float) -> str:
    """``float8`` as PostgreSQL prints it: shortest round-trip digits, exponent from 1e15 / below 1e-4."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exponent, int)
    shown = "".join(map(str, digits))
    point = len(shown) + exponent  # the decimal exponent of the first digit, plus one
    if -4 < point <= 15:
        if point <= 0:
            body = "0." + "0" * -point + shown
        elif point >= len(shown):
            body = shown + "0" * (point - len(shown))
        else:
            body = shown[:point] + "." + shown[point:]
    else:
        mantissa = shown[0] + ("." + shown[1:] if len(shown) > 1 else "")
        body = f"{mantissa}e{point - 1:+03d}"
    return ("-" if sign else "") + body


def _pg(x: Any) -> str:
    return pg_float(float(x))


def _json_number(x: float) -> float | int | None:
    """A float8 as ``jsonb_build_object`` stores it (numeric: 100, not 100.0)."""
    if math.isnan(x):
        return None
    return int(x) if x.is_integer() and abs(x) < 1e15 else x


def _percent(ratio: float) -> str:
    """``round(((ratio) * 100)::numeric, 1)`` as PostgreSQL prints it."""
    return str(Decimal(format(ratio * 100, ".15g")).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --- the rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What the rules need from outside the staged rows."""

    today: dt.date
    #: symbols of the security master and of this run's constituents / fundamentals files
    known_symbols: frozenset[str]
    #: symbol -> (date, close) of its last bar already loaded before its first staged date
    previous: Mapping[str, tuple[dt.date, float]] = field(default_factory=dict)
    #: a symbol not known yet is added to the security master (``new_symbol``), not quarantined
    #: (bars files given explicitly, unless ``--known-only``)
    add_new: bool = False
    #: (symbol, date) -> open, high, low, close, volume of the row an admin released after review: a
    #: staged row with these values is not quarantined by the rules of :data:`RELEASABLE`
    released: Mapping[tuple[str, dt.date], tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    rule: str
    row: int | None  # the staged row (quarantined or reported), None for a per-symbol finding
    symbol: str | None
    date: dt.date | None
    message: str
    raw: dict[str, Any] | None


@dataclass
class Outcome:
    findings: list[Finding]
    #: per staged row: index in RULES of the rule that quarantined it, or -1 (loaded)
    rejected: npt.NDArray[np.int16]
    #: the NYSE trading days of the run's date range
    days: list[dt.date]
    #: symbols to add to the security master (``Context.add_new``)
    new_symbols: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for f in self.findings:
            found[f.rule] = found.get(f.rule, 0) + 1
        return found


def _date(day: int) -> dt.date | None:
    return None if day == NAT else EPOCH + dt.timedelta(days=int(day))


def _ordinal(day: dt.date) -> int:
    return (day - EPOCH).days


def first_days(bars: TypedBars) -> dict[str, dt.date]:
    """Each symbol's first staged date (over every row with a symbol and a date, quarantined or not)."""
    dated = (bars.symbol >= 0) & (bars.day != NAT)
    out: dict[str, dt.date] = {}
    for code, lo in _per_symbol(bars.symbol[dated], bars.day[dated], np.minimum):
        out[bars.symbols[code]] = EPOCH + dt.timedelta(days=lo)
    return out


def _per_symbol(
    codes: npt.NDArray[np.int32], days: npt.NDArray[np.int32], ufunc: np.ufunc
) -> Iterator[tuple[int, int]]:
    """(symbol code, ufunc-reduced day) per symbol present, in symbol order."""
    if len(codes) == 0:
        return iter(())
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    heads = np.flatnonzero(np.concatenate(([True], sorted_codes[1:] != sorted_codes[:-1])))
    reduced = ufunc.reduceat(days[order], heads)
    return zip(sorted_codes[heads].tolist(), reduced.tolist(), strict=True)


def _neighbours(codes: npt.NDArray[np.int32], values: npt.NDArray[np.float64]) -> tuple[Any, Any]:
    """The previous and next value within the same symbol (NaN at a symbol's ends); rows pre-sorted."""
    prev = np.full(len(values), np.nan)
    nxt = np.full(len(values), np.nan)
    same = codes[1:] == codes[:-1]
    prev[1:] = np.where(same, values[:-1], np.nan)
    nxt[:-1] = np.where(same, values[1:], np.nan)
    return prev, nxt


class _Rules:
    """One evaluation: the rows still in play and the findings so far."""

    def __init__(
        self, bars: TypedBars, released: Mapping[tuple[str, dt.date], tuple[float, ...]] | None = None
    ) -> None:
        self.bars = bars
        self.released = released or {}
        #: released row -> the first rule it was let through
        self.released_rows: dict[int, str] = {}
        self.alive = np.ones(len(bars), dtype=bool)
        self.rejected = np.full(len(bars), -1, dtype=np.int16)
        self.findings: list[Finding] = []
        self.index = {r.name: i for i, r in enumerate(RULES)}
        self.v = bars.values
        self._order: npt.NDArray[np.intp] | None = None

    def symbol(self, i: int) -> str | None:
        code = int(self.bars.symbol[i])
        return self.bars.symbols[code] if code >= 0 else None

    def where(self, i: int) -> str:
        return f"{self.bars.files[self.bars.file[i]]}:{self.bars.line[i]}"

    def row_raw(self, i: int) -> dict[str, Any]:
        raw: dict[str, Any] = {"file": self.bars.files[self.bars.file[i]], "line": int(self.bars.line[i])}
        raw.update({k: _json_number(float(self.v[k][i])) for k in PRICE_COLUMNS})
        return raw

    def text_raw(self, i: int) -> dict[str, Any]:
        return {"file": self.bars.files[self.bars.file[i]], "line": int(self.bars.line[i]), "raw": self.bars.raw.get(i)}

    def alive_rows(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.alive)

    def order(self) -> npt.NDArray[np.intp]:
        """Every row by symbol and date (then as staged), sorted once (not at all when staged so)."""
        if self._order is None:
            keys = self.bars.symbol.astype(np.int64) * 2**32 + (self.bars.day.astype(np.int64) - np.int64(NAT))
            if (keys[1:] >= keys[:-1]).all():
                self._order = np.arange(len(keys))
            else:
                self._order = np.argsort(keys, kind="stable")
        return self._order

    def sorted_alive(self) -> npt.NDArray[np.intp]:
        """Rows still in play, by symbol and date (then as staged)."""
        order = self.order()
        return order[self.alive[order]]

    def quarantine(self, rule: str, rows: npt.NDArray[np.intp], message: Any, raw: Any = None) -> None:
        """Mark ``rows`` (still in play) as quarantined by ``rule``; message/raw are per-row callables."""
        rows = np.sort(rows[self.alive[rows]])
        if self.released:
            rows = self._unreleased(rule, rows)
        self.alive[rows] = False
        self.rejected[rows] = self.index[rule]
        for i in rows.tolist():
            day = None if rule == "bad_date" else _date(int(self.bars.day[i]))
            self.findings.append(Finding(rule, i, self.symbol(i), day, message(i), (raw or self.row_raw)(i)))

    def _unreleased(self, rule: str, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        """``rows`` but those an admin released (each reported once as ``released``)."""
        if rule not in RELEASABLE:
            return rows
        keep: list[int] = []
        for i in rows.tolist():
            symbol, day = self.symbol(i), _date(int(self.bars.day[i]))
            values = self.released.get((symbol, day)) if symbol is not None and day is not None else None
            row = [float(self.v[k][i]) for k in PRICE_COLUMNS]
            if values is None or not np.allclose(row, values, rtol=1e-9, atol=0.0):
                keep.append(i)
                continue
            self.released_rows.setdefault(i, rule)
        return np.array(keep, dtype=np.intp)

    def report_released(self) -> None:
        """One ``released`` finding per released row still loaded (a later rule may have quarantined it)."""
        for i, rule in sorted(self.released_rows.items()):
            if self.alive[i]:
                message = f"released by an admin after review: loaded although {rule} would quarantine it"
                self.findings.append(
                    Finding("released", i, self.symbol(i), _date(int(self.bars.day[i])), message, self.row_raw(i))
                )

    def masked(self, rule: str, mask: npt.NDArray[np.bool_], message: Any, raw: Any = None) -> None:
        self.quarantine(rule, np.flatnonzero(mask & self.alive), message, raw)

    def report(self, rule: str, row: int | None, symbol: str | None, day: dt.date | None, message: str) -> None:
        self.findings.append(Finding(rule, row, symbol, day, message, None))


def evaluate(bars: TypedBars, ctx: Context) -> Outcome:
    """Apply every rule in order to the run's staged rows."""
    r = _Rules(bars, ctx.released)
    o, h, lo, c, vol = (bars.values[k] for k in PRICE_COLUMNS)
    code, day = bars.symbol, bars.day
    today = _ordinal(ctx.today)

    r.masked("bad_date", bars.error == BAD_DATE, lambda i: f"unparseable date in {r.where(i)}", r.text_raw)
    r.masked("bad_number", bars.error == BAD_NUMBER, lambda i: f"non-numeric value in {r.where(i)}", r.text_raw)
    r.masked("missing_price", bars.error == MISSING_VALUE, lambda i: f"missing value(s) in {r.where(i)}", r.text_raw)
    r.masked("missing_symbol", code < 0, lambda i: f"empty symbol in {r.where(i)}")
    with np.errstate(invalid="ignore"):
        r.masked("non_positive_price", np.fmin(np.fmin(o, h), np.fmin(lo, c)) <= 0, lambda i: "price <= 0")

        rows = r.sorted_alive()
        prev, nxt = _neighbours(code[rows], c[rows])
        cs = c[rows]
        spike = (prev > 0) & (nxt > 0) & (np.abs(cs / prev - 1) > 0.25) & (np.abs(nxt / prev - 1) < 0.05)
        around = {int(i): (p, q) for i, p, q in zip(rows[spike], prev[spike], nxt[spike], strict=True)}
        r.quarantine(
            "bad_print",
            rows[spike],
            lambda i: (
                f"close {_pg(c[i])} between {pg_float(around[i][0])} and {pg_float(around[i][1])}: a one-day bad print"
            ),
        )

    r.masked(
        "high_low_inconsistent",
        (h < np.maximum(np.maximum(o, c), lo)) | (lo > np.minimum(np.minimum(o, c), h)),
        lambda i: f"high {_pg(h[i])} / low {_pg(lo[i])} do not contain open {_pg(o[i])} / close {_pg(c[i])}",
    )
    r.masked(
        "bad_volume",
        (vol < 0) | (vol != np.trunc(vol)),
        lambda i: f"negative volume {_pg(vol[i])}" if vol[i] < 0 else f"volume {_pg(vol[i])} is not a whole number",
    )
    r.masked("future_date", day > today, lambda i: "date in the future")

    days = _calendar(bars, ctx, today)
    open_days = np.array([_ordinal(d) for d in days], dtype=np.int32)
    r.masked(
        "closed_day",
        (day <= today) & ~np.isin(day, open_days),
        lambda i: "bar on a day the exchange was closed",
    )

    step = np.diff(bars.file)
    in_file_order = bars.files == sorted(bars.files) and bool(
        ((step > 0) | ((step == 0) & (bars.line[1:] >= bars.line[:-1]))).all()
    )
    if in_file_order:
        rows = r.sorted_alive()  # (rows as read, files in name order: by file and line once by symbol and date)
    else:
        rows = r.alive_rows()
        file_rank = np.argsort(np.argsort(np.array(bars.files, dtype=object), kind="stable"))
        rows = rows[np.lexsort((bars.line[rows], file_rank[bars.file[rows]], day[rows], code[rows]))]
    repeat = np.zeros(len(rows), dtype=bool)
    repeat[1:] = (code[rows][1:] == code[rows][:-1]) & (day[rows][1:] == day[rows][:-1])
    r.quarantine("duplicate_bar", rows[repeat], lambda i: "duplicate of an earlier row for the same symbol and date")

    valid = np.array([bool(SYMBOL.match(s)) for s in bars.symbols] + [True], dtype=bool)
    unknown = np.array([s not in ctx.known_symbols for s in bars.symbols] + [False], dtype=bool)
    if ctx.add_new:
        r.masked("unknown_symbol", ~valid[code], lambda i: f"{r.symbol(i)!r} is not a ticker")
        counts = np.bincount(code[r.alive & unknown[code]], minlength=len(bars.symbols))
        new_symbols = [bars.symbols[k] for k in np.flatnonzero(counts).tolist()]
        for s, n in zip(new_symbols, counts[counts > 0].tolist(), strict=True):
            r.report("new_symbol", None, s, None, f"new symbol: added to the security master with {n} bar(s)")
    else:
        new_symbols = []
        r.masked(
            "unknown_symbol",
            unknown[code] | ~valid[code],
            lambda i: "symbol not in the security master" if valid[code[i]] else f"{r.symbol(i)!r} is not a ticker",
        )

    r.report_released()
    if ADJ_CLOSE in bars.values:
        _adjusted_closes(r)
    _suspicious_jumps(r, ctx)
    _calendar_gaps(r, ctx, open_days)
    _late_and_stale(r)
    return Outcome(r.findings, r.rejected, days, new_symbols)


def _calendar(bars: TypedBars, ctx: Context, today: int) -> list[dt.date]:
    """The trading days from the earliest first bar (staged, or the last loaded before it) to the last."""
    dated = (bars.symbol >= 0) & (bars.day != NAT)
    if not dated.any():
        return []
    starts = [min(first, ctx.previous[s][0]) if s in ctx.previous else first for s, first in first_days(bars).items()]
    hi = int(bars.day[dated].max())
    return list(trading_days(min(starts), EPOCH + dt.timedelta(days=min(hi, today))))


def _adjusted_closes(r: _Rules) -> None:
    """``bad_adj_close`` (unreadable, or not positive: loaded without it) and ``adj_close_jump`` (the
    ratio to the close moved between two consecutive staged bars of a symbol, and the raw close did
    not move the other way: not a split) over the rows still in play. Both report, neither quarantines."""
    bars = r.bars
    adj, c = bars.values[ADJ_CLOSE], bars.values["close"]
    alive = r.alive_rows()
    unreadable = alive[np.isnan(adj[alive]) & np.isin(alive, np.fromiter(bars.raw, np.int64, len(bars.raw)))]
    for i in unreadable.tolist():
        text = (bars.raw.get(i) or "").rsplit(",", 1)[-1]
        message = f"adjusted close {text!r} in {r.where(i)} is not a finite number: loaded without it"
        r.findings.append(Finding("bad_adj_close", i, r.symbol(i), _date(int(bars.day[i])), message, r.text_raw(i)))
    with np.errstate(invalid="ignore"):
        non_positive = alive[adj[alive] <= 0]
    for i in non_positive.tolist():
        message = f"adjusted close {_pg(adj[i])} <= 0 in {r.where(i)}: loaded without it"
        raw = {**r.row_raw(i), ADJ_CLOSE: _json_number(float(adj[i]))}
        r.findings.append(Finding("bad_adj_close", i, r.symbol(i), _date(int(bars.day[i])), message, raw))
    rows = r.sorted_alive()
    rows = rows[adj[rows] > 0]  # (NaN compares false)
    codes = bars.symbol[rows]
    same = codes[1:] == codes[:-1]
    a_now, a_then, c_now, c_then = adj[rows][1:], adj[rows][:-1], c[rows][1:], c[rows][:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        moved = np.abs(np.log((a_now / c_now) / (a_then / c_then)))
        adj_move = np.abs(np.log(a_now / a_then))
        jump = same & (moved > np.log(ADJ_JUMP)) & (adj_move >= moved / 2)
    for k in np.flatnonzero(jump).tolist():
        i, before = int(rows[k + 1]), int(rows[k])
        ratio, previous = float(a_now[k] / c_now[k]), float(a_then[k] / c_then[k])
        r.report(
            "adj_close_jump",
            i,
            r.symbol(i),
            _date(int(bars.day[i])),
            f"adjusted/close ratio {ratio:.4f} after {previous:.4f} on {_date(int(bars.day[before]))} "
            f"({_percent(ratio / previous - 1)}%) while the close moved {_percent(float(c_now[k] / c_then[k]) - 1)}% "
            f"in {r.where(i)}: the adjusted close is suspect",
        )


def _suspicious_jumps(r: _Rules, ctx: Context) -> None:
    bars = r.bars
    c = bars.values["close"]
    rows = r.sorted_alive()
    codes = bars.symbol[rows]
    prev, _ = _neighbours(codes, c[rows])
    first = np.ones(len(rows), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    loaded = np.array([ctx.previous[s][1] if s in ctx.previous else np.nan for s in bars.symbols] + [np.nan])
    prev[first] = loaded[codes[first]]
    with np.errstate(invalid="ignore", divide="ignore"):
        jump = (prev > 0) & (np.abs(c[rows] / prev - 1) > 0.4)
    for i, before in zip(rows[jump].tolist(), prev[jump].tolist(), strict=True):
        close = float(c[i])
        r.report(
            "suspicious_jump",
            i,
            r.symbol(i),
            _date(int(bars.day[i])),
            f"close {pg_float(close)} after {pg_float(before)} ({_percent(close / before - 1)}%)",
        )


def _calendar_gaps(r: _Rules, ctx: Context, open_days: npt.NDArray[np.int32]) -> None:
    """Trading days with no bar between each symbol's previous bar (loaded or staged) and its last."""
    bars = r.bars
    dated = (bars.symbol >= 0) & (bars.day != NAT)
    codes, days = bars.symbol[dated].astype(np.int64), bars.day[dated].astype(np.int64)
    count = len(bars.symbols)
    if len(codes) == 0:
        return
    lo = np.full(count, np.iinfo(np.int64).max)
    hi = np.full(count, np.iinfo(np.int64).min)
    np.minimum.at(lo, codes, days)
    np.maximum.at(hi, codes, days)
    # distinct trading days with a bar, per symbol
    trading = np.isin(days, open_days)
    pairs = np.sort(codes[trading] * 2**32 + (days[trading] - np.int64(NAT)))
    distinct = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] if len(pairs) else pairs
    present = np.bincount(distinct // 2**32, minlength=count)
    has_prev = np.array([s in ctx.previous for s in bars.symbols], dtype=bool)
    first = np.array([_ordinal(ctx.previous[s][0]) if s in ctx.previous else 0 for s in bars.symbols], dtype=np.int64)
    first = np.where(has_prev, first, lo)
    span = np.searchsorted(open_days, hi, side="right") - np.searchsorted(open_days, first, side="left")
    suspect = (present > 0) & (span > present + has_prev)
    for code in np.flatnonzero(suspect).tolist():
        mine = days[codes == code]
        between = open_days[(open_days > first[code]) & (open_days < hi[code])]
        for missing in between[~np.isin(between, mine)].tolist():
            r.report("calendar_gap", None, bars.symbols[code], _date(missing), "no bar on an NYSE trading day")


def _late_and_stale(r: _Rules) -> None:
    rows = r.alive_rows()
    if RELEASED_FILE in r.bars.files:  # released rows of other dates say nothing of the run's range
        rows = rows[r.bars.file[rows] != r.bars.files.index(RELEASED_FILE)]
    codes, days = r.bars.symbol[rows], r.bars.day[rows]
    firsts = list(_per_symbol(codes, days, np.minimum))
    lasts = list(_per_symbol(codes, days, np.maximum))
    if not firsts:
        return
    earliest = min(lo for _, lo in firsts)
    latest = max(hi for _, hi in lasts)
    for code, lo in firsts:
        if lo > earliest:
            r.report("late_start", None, r.bars.symbols[code], _date(lo), "history starts late (listing or spin-off)")
    for code, hi in lasts:
        if hi < latest:
            r.report(
                "stale_symbol",
                None,
                r.bars.symbols[code],
                _date(hi),
                "last bar is older than the run's last trading day",
            )


# --- the fundamentals file's rules (LoadReference) ----------------------------------------------

REFERENCE_RULES: tuple[Rule, ...] = (
    Rule(
        "dividend_yield_unit",
        "info",
        "the file's dividend yields are in percent or fractions (stored as percent)",
        False,
    ),
    Rule(
        "fundamentals_52w_swapped",
        "warning",
        "'52 Week Low' > '52 Week High' in most rows: the columns swapped back",
        False,
    ),
    Rule("fundamentals_missing", "info", "P/E, dividend yield, EPS or market cap is missing", False),
    Rule("pe_eps_mismatch", "info", "P/E x EPS differs from the price by more than 10%", False),
    Rule(
        "unknown_column",
        "warning",
        "a column of a fundamentals file that maps onto no field (its values are not loaded; --map names it)",
        False,
    ),
    Rule("bad_symbol", "error", "a listing or fundamentals row whose symbol is not a ticker: skipped", False),
)
_REFERENCE_BY_NAME = {r.name: r for r in REFERENCE_RULES}


@dataclass(frozen=True)
class ReferenceIssue:
    """A finding of the fundamentals rules (a quality_issues row without a date)."""

    rule: str
    action: str  # "corrected" or "loaded"
    symbol: str | None
    message: str
    raw: dict[str, Any] | None = None

    @property
    def severity(self) -> str:
        return _REFERENCE_BY_NAME[self.rule].severity


def check_reference_rows(staged: list[StagedReference]) -> tuple[list[StagedReference], list[ReferenceIssue]]:
    """The staged listing and fundamentals rows with a valid symbol, and the findings of the rest
    (``bad_symbol``) and of the files' columns that map onto no field (``unknown_column``)."""
    issues: list[ReferenceIssue] = []
    unknown: dict[tuple[str, str], int] = {}
    kept: list[StagedReference] = []
    for s in staged:
        for column, value in (s.row.get(UNKNOWN_KEY) or {}).items():
            key = (s.file, column)
            unknown[key] = unknown.get(key, 0) + (1 if str(value).strip() else 0)
        symbol = reference_symbol(str(s.row.get("symbol") or ""))
        if SYMBOL.match(symbol):
            kept.append(s)
        else:
            raw = {k: v for k, v in s.row.items() if k != UNKNOWN_KEY}
            message = f"symbol {s.row.get('symbol')!r} in {s.file}:{s.line} is not a ticker: row skipped"
            issues.append(ReferenceIssue("bad_symbol", "skipped", None, message, raw))
    for (file, column), filled in sorted(unknown.items()):
        issues.append(
            ReferenceIssue(
                "unknown_column",
                "skipped",
                None,
                f"column {column!r} of {file} maps onto no field: its {filled} value(s) were not loaded "
                f"(--map '{column}=FIELD' loads it)",
                {"file": file, "column": column},
            )
        )
    return kept, issues


def _low_high(f: Fundamentals) -> tuple[float, float] | None:
    low, high = f.values["low_52w"], f.values["high_52w"]
    return None if low is None or high is None else (low, high)


def swapped_52w(rows: list[Fundamentals]) -> bool:
    """Are the 52-week columns swapped? By majority of the rows having both (low > high)."""
    pairs = [p for p in map(_low_high, rows) if p is not None]
    swapped = sum(1 for low, high in pairs if low > high)
    return bool(pairs) and swapped * 2 > len(pairs)


def yields_in_percent(rows: list[Fundamentals]) -> bool:
    """The dividend yield unit: fractions never exceed 1 in practice; percent values do."""
    yields = [f.values["dividend_yield"] for f in rows if f.values["dividend_yield"]]
    return bool(yields) and max(y for y in yields if y is not None) > 1.0


def check_fundamentals(rows: list[Fundamentals]) -> list[ReferenceIssue]:
    """Apply :data:`REFERENCE_RULES` to the parsed fundamentals: correct the rows in place (52-week
    columns swapped back, dividend yields in percent) and return the findings, in order."""
    swap_all = swapped_52w(rows)
    in_percent = yields_in_percent(rows)
    issues = [
        ReferenceIssue(
            "dividend_yield_unit",
            "corrected",
            None,
            "dividend yield detected in percent; stored as percent"
            if in_percent
            else "dividend yield detected as fractions; converted to percent",
        )
    ]
    for f in rows:
        v = f.values
        low, high = v["low_52w"], v["high_52w"]
        if swap_all and low is not None and high is not None and low > high:
            v["low_52w"], v["high_52w"] = high, low
            issues.append(
                ReferenceIssue(
                    "fundamentals_52w_swapped",
                    "corrected",
                    f.symbol,
                    f"'52 Week Low' > '52 Week High' in {f.file}:{f.line}; columns swapped back",
                    {"file": f.file, "line": f.line},
                )
            )
        dividend_yield = v["dividend_yield"]
        if not in_percent and dividend_yield is not None:
            v["dividend_yield"] = dividend_yield * 100.0
        missing = [k for k in ("pe", "dividend_yield", "eps", "market_cap") if v[k] is None]
        if missing:
            issues.append(
                ReferenceIssue(
                    "fundamentals_missing", "loaded", f.symbol, f"missing {', '.join(missing)} in {f.file}:{f.line}"
                )
            )
        pe, eps, price = v["pe"], v["eps"], v["price"]
        if pe and eps and price and abs(pe * eps / price - 1) > 0.1:
            issues.append(
                ReferenceIssue(
                    "pe_eps_mismatch", "loaded", f.symbol, f"P/E x EPS = {pe * eps:.2f} differs from price {price:.2f}"
                )
            )
    return issues


# --- reading the staged rows, writing the findings ----------------------------------------------


#: each symbol's last bar before a date (``lo``), within ``{bound}``; a probe of every partition of daily_bars
#: below it (a default partition keeps PostgreSQL from reading them newest first): bounded first
_PREVIOUS = (
    "SELECT x.symbol, b.date, b.close FROM unnest(CAST(:s AS text[]), CAST(:d AS date[])) AS x(symbol, lo) "
    "JOIN securities s ON s.symbol = x.symbol CROSS JOIN LATERAL (SELECT date, close FROM daily_bars "
    "WHERE security_id = s.id AND date < x.lo{bound} ORDER BY date DESC LIMIT 1) b"
)

#: active securities absent from the run with bars but none on or after ``before``, and their last bar's
#: date: those with a recent bar are set aside first (a scan of the recent partitions), so only the
#: stale ones are probed for their last bar in every partition
_STALE = (
    "WITH candidates AS MATERIALIZED (SELECT s.id, s.symbol FROM securities s WHERE s.is_active "
    "AND s.symbol <> ALL(CAST(:staged AS text[])) "
    "AND NOT EXISTS (SELECT 1 FROM daily_bars r WHERE r.security_id = s.id AND r.date >= :before)) "
    "SELECT c.symbol, last.d FROM candidates c CROSS JOIN LATERAL (SELECT max(b.date) AS d FROM daily_bars b "
    "WHERE b.security_id = c.id) last WHERE last.d < :before ORDER BY c.symbol"
)


def _context(conn: Connection, run_id: str, bars: TypedBars, add_new: bool = False) -> Context:
    today = conn.execute(text("SELECT current_date")).scalar_one()
    known = conn.execute(
        text(
            "SELECT symbol FROM securities UNION SELECT row->>'symbol' FROM raw_reference "
            "WHERE run_id = :r AND row->>'symbol' IS NOT NULL"
        ),
        {"r": run_id},
    ).scalars()
    firsts = first_days(bars)
    # the last bar of the month before (one or two partitions probed per symbol), then, for the symbols
    # without one (a long gap, a new listing), the last bar of any date (every older partition probed)
    previous = list(
        conn.execute(
            # (the earliest bound as a constant too: the partitions before it are pruned when planned)
            text(_PREVIOUS.format(bound=" AND date >= x.lo - 31 AND date >= :floor")),
            {
                "s": list(firsts),
                "d": list(firsts.values()),
                "floor": min(firsts.values(), default=dt.date.min + dt.timedelta(days=31)) - dt.timedelta(days=31),
            },
        ).all()
    )
    found = {p[0] for p in previous}
    rest = [sym for sym in firsts if sym not in found]
    if rest:
        previous += conn.execute(text(_PREVIOUS.format(bound="")), {"s": rest, "d": [firsts[r] for r in rest]}).all()
    released = conn.execute(
        text(
            "SELECT symbol, date, open, high, low, close, volume FROM quarantine_releases "
            "WHERE symbol = ANY(CAST(:s AS text[]))"
        ),
        {"s": bars.symbols},
    ).all()
    return Context(
        today,
        frozenset(known),
        {p[0]: (p[1], float(p[2])) for p in previous},
        add_new=add_new,
        released={(r[0], r[1]): tuple(float(x) for x in r[2:]) for r in released},
    )


def _value(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def stage_pending_releases(conn: Connection, run_id: str, bars: TypedBars) -> int:
    """Stage the released rows no run has loaded yet (a fetch batch of their own, file
    :data:`RELEASED_FILE`, line = the release id), but those the run's files bring again; how many."""
    pending = conn.execute(
        text(
            "SELECT id, symbol, date, open, high, low, close, volume FROM quarantine_releases "
            "WHERE loaded_run_id IS NULL ORDER BY symbol, date, id"
        )
    ).all()
    code = {s: i for i, s in enumerate(bars.symbols)}
    rows: list[tuple[str, int, tuple[str, ...]]] = []
    seen: set[tuple[str, dt.date]] = set()
    for rid, symbol, day, *values in pending:
        c = code.get(symbol)
        if (symbol, day) in seen or (c is not None and bool(((bars.symbol == c) & (bars.day == _ordinal(day))).any())):
            continue
        seen.add((symbol, day))
        by_name = dict(zip(PRICE_COLUMNS, map(_value, values), strict=True))
        by_name.update(symbol=symbol, date=day.isoformat())
        rows.append((RELEASED_FILE, int(rid), tuple(by_name.get(k, "") for k in BAR_COLUMNS)))
    clear_batch(conn, run_id, RELEASED_FILE)
    if rows:
        stage_rows(conn, run_id, RELEASED_FILE, rows)
    return len(rows)


@dataclass
class Validation:
    found: dict[str, int]
    #: the run's staged bars, and per row the index in RULES of the rule that quarantined it (or -1)
    bars: TypedBars
    rejected: npt.NDArray[np.int16]
    #: symbols new to the security master, for the caller to add (``add_new``)
    new_symbols: list[str] = field(default_factory=list)


def run_rules(conn: Connection, run_id: str, add_new: bool = False) -> Validation:
    """Apply every rule to the run's staged bars and record the findings; ``add_new``: symbols not
    known yet are reported as ``new_symbol`` (for the caller to add), not quarantined."""
    bars = read_fetched(conn, run_id)
    if stage_pending_releases(conn, run_id, bars):
        bars = read_fetched(conn, run_id)
    ctx = _context(conn, run_id, bars, add_new)
    outcome = evaluate(bars, ctx)
    stale_before = sessions_before(outcome.days[-1], STALE_SESSIONS) if outcome.days else dt.date.min
    stale = conn.execute(text(_STALE), {"before": stale_before, "staged": bars.symbols}).all()
    outcome.findings += [
        Finding("stale_security", None, s, d, f"last bar {d}: stale (delisted, renamed or a provider gap?)", None)
        for s, d in stale
    ]
    raw = psycopg_connection(conn)
    columns = "run_id, rule, severity, action, symbol, date, message, raw"
    with raw.cursor() as cur, cur.copy(f"COPY quality_issues ({columns}) FROM STDIN") as copy:
        for f in outcome.findings:
            rule = _BY_NAME[f.rule]
            raw_json = None if f.raw is None else json.dumps(f.raw)
            copy.write_row((run_id, f.rule, rule.severity, action(rule), f.symbol, f.date, f.message, raw_json))
    return Validation(outcome.counts(), bars, outcome.rejected, outcome.new_symbols)
