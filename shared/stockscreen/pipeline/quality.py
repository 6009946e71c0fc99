"""Data-quality rules over staged bars, each a named rule with a severity.

Errors are quarantined (recorded with the raw row, never loaded); warnings are loaded and
reported. Every finding lands in ``quality_issues`` for the run's report.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Connection, text

from stockscreen.market.calendar import sessions_before, trading_days


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str  # "error" quarantines, "warning" loads and reports
    description: str
    #: SQL selecting (symbol, date, message, raw) of offending staged rows for :run_id
    select: str
    #: True when the rule marks rows (errors), False when it only reports
    marks_rows: bool = True
    #: True when the SQL takes ``:days``, the NYSE trading days of the run's date range
    needs_calendar: bool = False


#: Sessions without a bar after which an active security is reported stale.
STALE_SESSIONS = 5

#: Per staged symbol: its dates (``dated``), its staged span and the span extended back to its
#: last bar already loaded before this run (``ext``), so a gap since the previous run is found too.
_SPANS = (
    "span AS (SELECT symbol, min(date) AS lo, max(date) AS hi FROM raw_bars WHERE run_id = :run_id "
    "AND date IS NOT NULL AND symbol IS NOT NULL GROUP BY symbol), "
    "ext AS (SELECT p.symbol, coalesce(prev.d, p.lo) AS lo, p.lo AS lo_staged, p.hi, "
    "(prev.d IS NOT NULL)::int AS has_prev "
    "FROM span p LEFT JOIN securities s ON s.symbol = p.symbol "
    "LEFT JOIN LATERAL (SELECT max(b.date) AS d FROM daily_bars b WHERE b.security_id = s.id AND b.date < p.lo) "
    "prev ON true)"
)


_ROW_RAW = (
    "jsonb_build_object('file', file, 'line', line, 'open', open, 'high', high, 'low', low, "
    "'close', close, 'volume', volume)"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "bad_date",
        "error",
        "date is not a valid YYYY-MM-DD date",
        "SELECT ctid, symbol, NULL::date, 'unparseable date in ' || file || ':' || line, "
        "jsonb_build_object('file', file, 'line', line, 'raw', raw) "
        "FROM raw_bars WHERE run_id = :run_id AND parse_error = 'bad_date'",
    ),
    Rule(
        "bad_number",
        "error",
        "a price or volume is not a number",
        "SELECT ctid, symbol, date, 'non-numeric value in ' || file || ':' || line, "
        "jsonb_build_object('file', file, 'line', line, 'raw', raw) "
        "FROM raw_bars WHERE run_id = :run_id AND parse_error = 'bad_number'",
    ),
    Rule(
        "missing_price",
        "error",
        "open, high, low, close or volume is missing",
        "SELECT ctid, symbol, date, 'missing value(s) in ' || file || ':' || line, "
        "jsonb_build_object('file', file, 'line', line, 'raw', raw) "
        "FROM raw_bars WHERE run_id = :run_id AND parse_error = 'missing_value'",
    ),
    Rule(
        "missing_symbol",
        "error",
        "the symbol column is empty",
        "SELECT ctid, symbol, date, 'empty symbol in ' || file || ':' || line, "
        + _ROW_RAW
        + " FROM raw_bars WHERE run_id = :run_id AND rejected_rule IS NULL AND symbol IS NULL",
    ),
    Rule(
        "non_positive_price",
        "error",
        "a price is zero or negative",
        "SELECT ctid, symbol, date, 'price <= 0', "
        + _ROW_RAW
        + " FROM raw_bars WHERE run_id = :run_id AND rejected_rule IS NULL "
        "AND least(open, high, low, close) <= 0",
    ),
    Rule(
        "bad_print",
        "error",
        "a one-day spike of more than 25% that reverts the next day",
        "SELECT ctid, symbol, date, format('close %s between %s and %s: a one-day bad print', close, prev, nxt), "
        + _ROW_RAW
        + " FROM (SELECT ctid, *, lag(close) OVER w AS prev, lead(close) OVER w AS nxt "
        "FROM raw_bars WHERE run_id = :run_id AND rejected_rule IS NULL "
        "WINDOW w AS (PARTITION BY symbol ORDER BY date)) j "
        "WHERE prev > 0 AND nxt > 0 AND abs(close / prev - 1) > 0.25 AND abs(nxt / prev - 1) < 0.05",
    ),
    Rule(
        "high_low_inconsistent",
        "error",
        "high/low do not contain open and close",
        "SELECT ctid, symbol, date, format('high %s / low %s do not contain open %s / close %s', "
        "high, low, open, close), " + _ROW_RAW + " FROM raw_bars WHERE run_id = :run_id AND rejected_rule IS NULL "
        "AND (high < greatest(open, close, low) OR low > least(open, close, high))",
    ),
    Rule(
        "bad_volume",
        "error",
        "volume is negative or not a whole number",
        "SELECT ctid, symbol, date, CASE WHEN volume < 0 THEN format('negative volume %s', volume) "
        "ELSE format('volume %s is not a whole number', volume) END, "
        + _ROW_RAW
        + " FROM raw_bars WHERE run_id = :run_id AND rejected_rule IS NULL "
        "AND (volume < 0 OR volume <> trunc(volume))",
    ),
    Rule(
        "future_date",
        "error",
        "the bar is dated after today",
        "SELECT ctid, symbol, date, 'date in the future', "
        + _ROW_RAW
        + " FROM raw_bars WHERE run_id = :run_id AND rejected_rule IS NULL AND date > current_date",
    ),
    Rule(
        "closed_day",
        "error",
        "the bar is dated on a weekend or an NYSE holiday (the exchange was closed)",
        "SELECT ctid, symbol, date, 'bar on a day the exchange was closed', "
        + _ROW_RAW
        + " FROM raw_bars WHERE run_id = :run_id AND rejected_rule IS NULL "
        "AND date <= current_date AND date NOT IN (SELECT unnest(CAST(:days AS date[])))",
        needs_calendar=True,
    ),
    Rule(
        "duplicate_bar",
        "error",
        "the same (symbol, date) appears more than once",
        "WITH dup AS (SELECT symbol, date FROM raw_bars WHERE run_id = :run_id AND rejected_rule IS NULL "
        "GROUP BY symbol, date HAVING count(*) > 1) "
        "SELECT ctid, symbol, date, 'duplicate of an earlier row for the same symbol and date', "
        + _ROW_RAW
        + " FROM (SELECT r.ctid, r.*, row_number() OVER (PARTITION BY r.symbol, r.date ORDER BY r.file, r.line) "
        "AS n FROM raw_bars r JOIN dup USING (symbol, date) WHERE r.run_id = :run_id AND r.rejected_rule IS NULL) d "
        "WHERE n > 1",
    ),
    Rule(
        "unknown_symbol",
        "error",
        "the symbol is neither listed nor in this run's constituents",
        "SELECT ctid, symbol, date, 'symbol not in the security master', "
        + _ROW_RAW
        + " FROM raw_bars r WHERE run_id = :run_id AND rejected_rule IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM securities s WHERE s.symbol = r.symbol) "
        "AND NOT EXISTS (SELECT 1 FROM raw_reference x WHERE x.run_id = r.run_id "
        "AND x.row->>'symbol' = r.symbol)",
    ),
    Rule(
        "suspicious_jump",
        "warning",
        "close moved more than 40% in a day (split, spin-off or bad print)",
        # the first staged bar of a symbol is compared with its last close already loaded (daily runs)
        "WITH " + _SPANS + ", prevc AS (SELECT e.symbol, pc.close FROM ext e "
        "JOIN securities s ON s.symbol = e.symbol CROSS JOIN LATERAL (SELECT b.close FROM daily_bars b "
        "WHERE b.security_id = s.id AND b.date = e.lo) pc WHERE e.has_prev = 1) "
        "SELECT NULL::tid, j.symbol, j.date, format('close %s after %s (%s%%)', j.close, j.prev, "
        "round(((j.close / j.prev - 1) * 100)::numeric, 1)), NULL::jsonb FROM ("
        "SELECT r.symbol, r.date, r.close, coalesce(lag(r.close) OVER (PARTITION BY r.symbol ORDER BY r.date), "
        "min(p.close) OVER (PARTITION BY r.symbol)) AS prev "
        "FROM raw_bars r LEFT JOIN prevc p ON p.symbol = r.symbol "
        "WHERE r.run_id = :run_id AND r.rejected_rule IS NULL) j "
        "WHERE j.prev > 0 AND abs(j.close / j.prev - 1) > 0.4",
        marks_rows=False,
    ),
    Rule(
        "calendar_gap",
        "warning",
        "an NYSE trading day is missing between a symbol's previous bar (loaded or staged) and its last",
        # Only symbols with fewer trading-day bars than trading days in their span are expanded day by day.
        "WITH cal AS MATERIALIZED (SELECT unnest(CAST(:days AS date[])) AS date), " + _SPANS + ", "
        "dated AS MATERIALIZED (SELECT DISTINCT symbol, date FROM raw_bars WHERE run_id = :run_id "
        "AND symbol IS NOT NULL AND date IN (SELECT date FROM cal)), "
        "counted AS (SELECT symbol, count(*) AS n FROM dated GROUP BY symbol), "
        "suspect AS MATERIALIZED (SELECT e.symbol, e.lo, e.hi FROM ext e JOIN counted k USING (symbol) "
        "WHERE (SELECT count(*) FROM cal c WHERE c.date >= e.lo AND c.date <= e.hi) > k.n + e.has_prev), "
        "missing AS (SELECT e.symbol, c.date FROM suspect e JOIN cal c ON c.date > e.lo AND c.date < e.hi "
        "EXCEPT SELECT symbol, date FROM dated WHERE symbol IN (SELECT symbol FROM suspect)) "
        "SELECT NULL::tid, symbol, date, 'no bar on an NYSE trading day', NULL::jsonb FROM missing "
        "ORDER BY symbol, date",
        marks_rows=False,
        needs_calendar=True,
    ),
    Rule(
        "late_start",
        "info",
        "the symbol's history starts after the run's first trading day",
        "WITH span AS (SELECT symbol, min(date) lo FROM raw_bars WHERE run_id = :run_id "
        "AND rejected_rule IS NULL GROUP BY symbol) "
        "SELECT NULL::tid, symbol, lo, 'history starts late (listing or spin-off)', NULL::jsonb FROM span "
        "WHERE lo > (SELECT min(lo) FROM span)",
        marks_rows=False,
    ),
    Rule(
        "stale_symbol",
        "warning",
        "the symbol has no bar on the run's last trading day",
        "WITH span AS (SELECT symbol, max(date) hi FROM raw_bars WHERE run_id = :run_id "
        "AND rejected_rule IS NULL GROUP BY symbol) "
        "SELECT NULL::tid, symbol, hi, 'last bar is older than the run''s last trading day', NULL::jsonb "
        "FROM span WHERE hi < (SELECT max(hi) FROM span)",
        marks_rows=False,
    ),
    Rule(
        "stale_security",
        "warning",
        f"an active security absent from this run has had no bar for more than {STALE_SESSIONS} sessions",
        "SELECT NULL::tid, s.symbol, last.d, format('last bar %s: stale (delisted, renamed or a provider gap?)', "
        "last.d), NULL::jsonb FROM securities s CROSS JOIN LATERAL (SELECT max(b.date) AS d FROM daily_bars b "
        "WHERE b.security_id = s.id) last WHERE s.is_active AND last.d < :stale_before "
        "AND NOT EXISTS (SELECT 1 FROM raw_bars r WHERE r.run_id = :run_id AND r.symbol = s.symbol) "
        "ORDER BY s.symbol",
        marks_rows=False,
        needs_calendar=True,
    ),
)


def _calendar(conn: Connection, run_id: str) -> list[dt.date]:
    lo, hi = conn.execute(text("WITH " + _SPANS + " SELECT min(lo), max(hi) FROM ext"), {"run_id": run_id}).one()
    if lo is None:
        return []
    return list(trading_days(lo, min(hi, dt.date.today())))


RULE_NAMES = frozenset(r.name for r in RULES)
#: rules whose findings are quarantined rows (never loaded)
QUARANTINING = frozenset(r.name for r in RULES if r.marks_rows and r.severity == "error")


def run_rules(conn: Connection, run_id: str) -> dict[str, int]:
    """Apply every rule in order; returns findings per rule."""
    found: dict[str, int] = {}
    days: list[dt.date] | None = None
    for rule in RULES:
        params: dict[str, object] = {"run_id": run_id}
        if rule.needs_calendar:
            if days is None:
                days = _calendar(conn, run_id)
            params["days"] = days
            params["stale_before"] = sessions_before(days[-1], STALE_SESSIONS) if days else dt.date.min
        action = "quarantined" if rule.marks_rows else "loaded"
        if rule.severity == "info":
            action = "loaded"
        rows = conn.execute(text(rule.select), params).all()
        if not rows:
            continue
        found[rule.name] = len(rows)
        conn.execute(
            text(
                "INSERT INTO quality_issues (run_id, rule, severity, action, symbol, date, message, raw) "
                "VALUES (:run_id, :rule, :severity, :action, :symbol, :date, :message, CAST(:raw AS jsonb))"
            ),
            [
                {
                    "run_id": run_id,
                    "rule": rule.name,
                    "severity": rule.severity,
                    "action": action,
                    "symbol": r[1],
                    "date": r[2],
                    "message": r[3],
                    "raw": None if r[4] is None else json.dumps(r[4]),
                }
                for r in rows
            ],
        )
        if rule.marks_rows:
            conn.execute(
                text(
                    "UPDATE raw_bars SET rejected_rule = :rule "
                    "WHERE run_id = :run_id AND ctid = ANY(CAST(:ids AS tid[]))"
                ),
                {"rule": rule.name, "run_id": run_id, "ids": [str(r[0]) for r in rows]},
            )
    return found
