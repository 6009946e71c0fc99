"""Load: upsert the security master, fundamentals and clean bars, in one transaction."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from stockscreen.db.engine import psycopg_connection
from stockscreen.pipeline.binary import COPY_HEADER, COPY_TRAILER, PG_EPOCH_DAYS, Column, copy_rows, fetch_arrays, fixed
from stockscreen.pipeline.columns import EPOCH

US_STATES = {
    "Alabama",
    "Alaska",
    "Arizona",
    "Arkansas",
    "California",
    "Colorado",
    "Connecticut",
    "Delaware",
    "Florida",
    "Georgia",
    "Hawaii",
    "Idaho",
    "Illinois",
    "Indiana",
    "Iowa",
    "Kansas",
    "Kentucky",
    "Louisiana",
    "Maine",
    "Maryland",
    "Massachusetts",
    "Michigan",
    "Minnesota",
    "Mississippi",
    "Missouri",
    "Montana",
    "Nebraska",
    "Nevada",
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Ohio",
    "Oklahoma",
    "Oregon",
    "Pennsylvania",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "Tennessee",
    "Texas",
    "Utah",
    "Vermont",
    "Virginia",
    "Washington",
    "West Virginia",
    "Wisconsin",
    "Wyoming",
    "District of Columbia",
    "D.C.",
}

_FUND_NUMERIC = (
    "price",
    "pe",
    "dividend_yield",
    "eps",
    "low_52w",
    "high_52w",
    "market_cap",
    "ebitda",
    "price_sales",
    "price_book",
)


def _num(value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _file_date(name: str) -> dt.date | None:
    m = re.search(r"(\d{4}-\d{2}-\d{2})", name)
    return _date(m.group(1)) if m else None


def _issue(
    rule: str,
    severity: str,
    action: str,
    symbol: str | None,
    message: str,
    raw: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One quality_issues row of the reference files (parameters of ``_ISSUE``)."""
    return {
        "rule": rule,
        "sev": severity,
        "act": action,
        "sym": symbol,
        "msg": message,
        "raw": None if raw is None else json.dumps(raw),
    }


_ISSUE = (
    "INSERT INTO quality_issues (run_id, rule, severity, action, symbol, message, raw) "
    "VALUES (:r, :rule, :sev, :act, :sym, :msg, CAST(:raw AS jsonb))"
)


def _many(conn: Connection, sql: str, rows: list[dict[str, Any]]) -> None:
    """One statement for many rows (the driver pipelines them)."""
    if rows:
        conn.execute(text(sql), rows)


def load_reference(conn: Connection, run_id: str) -> dict[str, int]:
    rows = conn.execute(
        text("SELECT kind, file, line, row FROM raw_reference WHERE run_id = :r ORDER BY kind, file, line"),
        {"r": run_id},
    ).all()
    constituents = [(f, ln, r) for k, f, ln, r in rows if k == "constituents"]
    fundamentals = [(f, ln, r) for k, f, ln, r in rows if k == "fundamentals"]
    securities = []
    for _file, _line, r in constituents:
        hq = r.get("headquarters") or None
        state = hq.rsplit(",", 1)[-1].strip() if hq else None
        country = ("United States" if state in US_STATES else state) if state else None
        securities.append(
            {
                "symbol": r["symbol"].upper(),
                "name": r.get("name") or r["symbol"],
                "sector": r.get("sector") or None,
                "industry": r.get("industry") or None,
                "hq": hq,
                "state": state,
                "country": country,
                "added": _date(r.get("date_added")),
                "cik": r.get("cik") or None,
            }
        )
    _many(
        conn,
        "INSERT INTO securities (symbol, name, sector, industry, headquarters, hq_state, hq_country, "
        "date_added, cik) VALUES (:symbol, :name, :sector, :industry, :hq, :state, :country, :added, :cik) "
        "ON CONFLICT (symbol) DO UPDATE SET name = EXCLUDED.name, sector = EXCLUDED.sector, "
        "industry = EXCLUDED.industry, headquarters = EXCLUDED.headquarters, hq_state = EXCLUDED.hq_state, "
        "hq_country = EXCLUDED.hq_country, date_added = EXCLUDED.date_added, cik = EXCLUDED.cik",
        securities,
    )
    upserted = len(securities)

    if not fundamentals:
        return {"securities": upserted, "fundamentals": 0}

    parsed = [(file, line, r, {k: _num(r.get(k)) for k in _FUND_NUMERIC}) for file, line, r in fundamentals]
    # a symbol only known from the fundamentals file still gets a security row
    _many(
        conn,
        "INSERT INTO securities (symbol, name, sector) VALUES (:s, :n, :sec) ON CONFLICT (symbol) DO NOTHING",
        [
            {"s": r["symbol"].upper(), "n": r.get("name") or r["symbol"], "sec": r.get("sector") or None}
            for _f, _l, r, _v in parsed
        ],
    )

    # 52-week columns swapped? Decide per file by majority, correct and report each row.
    swapped = sum(
        1 for *_, v in parsed if v["low_52w"] is not None and v["high_52w"] is not None and v["low_52w"] > v["high_52w"]
    )
    with_both = sum(1 for *_, v in parsed if v["low_52w"] is not None and v["high_52w"] is not None)
    swap_all = with_both > 0 and swapped * 2 > with_both
    # Dividend yield unit: fractions never exceed 1 in practice; percent values do.
    yields = [v["dividend_yield"] for *_, v in parsed if v["dividend_yield"]]
    in_percent = bool(yields) and max(yields) > 1.0
    issues = [
        _issue(
            "dividend_yield_unit",
            "info",
            "corrected",
            None,
            "dividend yield detected in percent; stored as percent"
            if in_percent
            else "dividend yield detected as fractions; converted to percent",
        )
    ]

    reports = []
    for file, line, r, v in parsed:
        symbol = r["symbol"].upper()
        if swap_all and v["low_52w"] is not None and v["high_52w"] is not None and v["low_52w"] > v["high_52w"]:
            v["low_52w"], v["high_52w"] = v["high_52w"], v["low_52w"]
            issues.append(
                _issue(
                    "fundamentals_52w_swapped",
                    "warning",
                    "corrected",
                    symbol,
                    f"'52 Week Low' > '52 Week High' in {file}:{line}; columns swapped back",
                    {"file": file, "line": line},
                )
            )
        if not in_percent and v["dividend_yield"] is not None:
            v["dividend_yield"] *= 100.0
        missing = [k for k in ("pe", "dividend_yield", "eps", "market_cap") if v[k] is None]
        if missing:
            issues.append(
                _issue(
                    "fundamentals_missing", "info", "loaded", symbol, f"missing {', '.join(missing)} in {file}:{line}"
                )
            )
        if v["pe"] and v["eps"] and v["price"] and abs(v["pe"] * v["eps"] / v["price"] - 1) > 0.1:
            issues.append(
                _issue(
                    "pe_eps_mismatch",
                    "info",
                    "loaded",
                    symbol,
                    f"P/E x EPS = {v['pe'] * v['eps']:.2f} differs from price {v['price']:.2f}",
                )
            )
        reports.append({"s": symbol, "as_of": _file_date(file) or dt.date.today(), **v})
    _many(conn, _ISSUE, [{"r": run_id, **i} for i in issues])
    _many(
        conn,
        "INSERT INTO fundamentals (security_id, as_of, price, pe, dividend_yield, eps, low_52w, high_52w, "
        "market_cap, ebitda, price_sales, price_book) SELECT id, :as_of, :price, :pe, :dividend_yield, :eps, "
        ":low_52w, :high_52w, :market_cap, :ebitda, :price_sales, :price_book "
        "FROM securities WHERE symbol = :s "
        "ON CONFLICT (security_id, as_of) DO UPDATE SET price = EXCLUDED.price, pe = EXCLUDED.pe, "
        "dividend_yield = EXCLUDED.dividend_yield, eps = EXCLUDED.eps, low_52w = EXCLUDED.low_52w, "
        "high_52w = EXCLUDED.high_52w, market_cap = EXCLUDED.market_cap, ebitda = EXCLUDED.ebitda, "
        "price_sales = EXCLUDED.price_sales, price_book = EXCLUDED.price_book",
        reports,
    )
    return {"securities": upserted, "fundamentals": len(reports)}


def load_bars(conn: Connection, run_id: str, lo: str | None = None, hi: str | None = None) -> dict[str, Any]:
    """Upsert clean staged bars of symbols in [lo, hi] (all when None), in one statement.

    Unchanged rows are not rewritten, so a re-run changes nothing and says so. The update and the
    insert touch disjoint rows (existing vs new keys), so one snapshot serves both. New keys are
    inserted plainly (not ``ON CONFLICT``, whose speculative insertion doubles the cost of a
    backfill): only one run loads at a time (``ingest_runs.run_key``) and its batches are disjoint
    symbol ranges, so a key another writer added meanwhile fails the batch loudly, never silently.
    """
    rng = " AND symbol BETWEEN :lo AND :hi" if lo is not None and hi is not None else ""
    result = conn.execute(
        text(
            "WITH raw AS MATERIALIZED (SELECT symbol, date, open, high, low, close, volume, rejected_rule"
            " FROM raw_bars WHERE run_id = :r" + rng + "), "
            "staged AS MATERIALIZED (SELECT s.id AS security_id, s.symbol, r.date, r.open, r.high, r.low, r.close,"
            " r.volume::bigint AS volume FROM raw r JOIN securities s ON s.symbol = r.symbol"
            " WHERE r.rejected_rule IS NULL), "
            "up AS (UPDATE daily_bars b SET open = x.open, high = x.high, low = x.low, close = x.close,"
            " volume = x.volume FROM staged x WHERE b.security_id = x.security_id AND b.date = x.date"
            " AND (b.open, b.high, b.low, b.close, b.volume)"
            " IS DISTINCT FROM (x.open, x.high, x.low, x.close, x.volume)"
            " RETURNING x.security_id, x.symbol, x.date), "
            "ins AS (INSERT INTO daily_bars (security_id, date, open, high, low, close, volume)"
            " SELECT security_id, date, open, high, low, close, volume FROM staged x WHERE NOT EXISTS"
            " (SELECT 1 FROM daily_bars b WHERE b.security_id = x.security_id AND b.date = x.date)"
            " RETURNING security_id, date), "
            "changes AS (SELECT 'u' AS kind, security_id, min(date) AS first, count(*) AS n FROM up"
            " GROUP BY security_id"
            " UNION ALL SELECT 'i', security_id, min(date), count(*) FROM ins GROUP BY security_id) "
            "SELECT c.kind, c.security_id, s.symbol, c.first, c.n, "
            " (SELECT count(*) FROM raw WHERE rejected_rule IS NULL), (SELECT count(*) FROM raw"
            " WHERE rejected_rule IS NOT NULL) FROM changes c JOIN securities s ON s.id = c.security_id"
            " UNION ALL SELECT 'total', NULL, NULL, NULL, 0, (SELECT count(*) FROM raw WHERE rejected_rule IS NULL),"
            " (SELECT count(*) FROM raw WHERE rejected_rule IS NOT NULL)"
        ),
        {"r": run_id, "lo": lo, "hi": hi},
    ).all()
    n_ins = sum(int(r[4]) for r in result if r[0] == "i")
    n_upd = sum(int(r[4]) for r in result if r[0] == "u")
    clean, rejected = int(result[-1][5]), int(result[-1][6])
    # earliest changed date per security: the rollups from there on are rebuilt
    since: dict[int, dt.date] = {}
    for kind, sid, _sym, first, _n, _c, _r in result:
        if kind in ("i", "u"):
            since[int(sid)] = min(since.get(int(sid), first), first)
    rolled = refresh_rollups(conn, since)
    return {
        "inserted": n_ins,
        "updated": n_upd,
        "unchanged": clean - n_ins - n_upd,
        "quarantined": rejected,
        "rollup_rows": rolled,
        "changed_symbols": sorted({r[2] for r in result if r[0] in ("i", "u")}),
    }


#: rollup table -> date_trunc unit (whitelist: the only identifiers interpolated into SQL)
ROLLUPS = {"bars_weekly": "week", "bars_monthly": "month"}


def rollups_are_continuous_aggregates(conn: Connection) -> bool:
    """True on the TimescaleDB path, where continuous aggregates maintain the rollups."""
    # a continuous aggregate is a view over its materialisation hypertable; a native rollup is a table
    return bool(
        conn.execute(
            text("SELECT coalesce((SELECT relkind = 'v' FROM pg_class WHERE oid = to_regclass('bars_weekly')), false)")
        ).scalar()
    )


def _period_starts(days: npt.NDArray[np.int64], unit: str) -> npt.NDArray[np.int64]:
    """``date_trunc(unit, day)`` of days since 1970-01-01 (a Thursday): Monday-based weeks, months."""
    if unit == "week":
        return days - (days + 3) % 7
    return days.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


_ROLLUP_BARS = (
    "SELECT array_agg(b.security_id), array_agg(b.date - DATE '1970-01-01'), array_agg(b.open), array_agg(b.high), "
    "array_agg(b.low), array_agg(b.close), array_agg(b.volume) FROM daily_bars b "
    "JOIN unnest(%(ids)s::integer[], %(firsts)s::date[]) AS c(security_id, first) "
    "ON b.security_id = c.security_id "
    "AND b.date >= least(date_trunc('week', c.first), date_trunc('month', c.first))::date"
)


def refresh_rollups(conn: Connection, since: dict[int, dt.date]) -> int:
    """Rebuild weekly/monthly rows of each security from the period containing its first change.

    The bars from there on are read once in binary and rolled up with NumPy; the rows replace the
    old ones in the caller's transaction. Native path only (plain tables); on TimescaleDB the
    continuous aggregates' refresh policies do it.
    """
    if not since or rollups_are_continuous_aggregates(conn):
        return 0
    ids = sorted(since)
    firsts = [since[i] for i in ids]
    raw = psycopg_connection(conn)
    arrays = fetch_arrays(raw, _ROLLUP_BARS, {"ids": ids, "firsts": firsts})
    sid = fixed(arrays[0], ">i4").astype(np.int64)
    day = fixed(arrays[1], ">i4").astype(np.int64)
    o, h, lo, c = (fixed(a, ">f8") for a in arrays[2:6])
    volume = fixed(arrays[6], ">i8")
    order = np.lexsort((day, sid))
    sid, day, o, h, lo, c, volume = (a[order] for a in (sid, day, o, h, lo, c, volume))
    first_of = np.array([(f - EPOCH).days for f in firsts], dtype=np.int64)[np.searchsorted(ids, sid)]
    changed = (
        "WITH changed AS (SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:firsts AS date[])) "
        "AS c(security_id, first)) "
    )
    total = 0
    for table, unit in ROLLUPS.items():
        conn.execute(
            text(
                changed + f"DELETE FROM {table} t USING changed c WHERE t.security_id = c.security_id "
                f"AND t.period_start >= date_trunc('{unit}', c.first)::date"
            ),
            {"ids": ids, "firsts": firsts},
        )
        period = _period_starts(day, unit)
        keep = np.flatnonzero(period >= _period_starts(first_of, unit))
        if len(keep) == 0:
            continue
        k_sid, k_period, k_day = sid[keep], period[keep], day[keep]
        heads = np.flatnonzero(np.concatenate(([True], (k_sid[1:] != k_sid[:-1]) | (k_period[1:] != k_period[:-1]))))
        lasts = np.append(heads[1:], len(keep)) - 1
        columns: list[Column] = [
            k_sid[heads].astype(np.int32),
            (k_period[heads] - PG_EPOCH_DAYS).astype(np.int32),
            o[keep][heads],
            np.maximum.reduceat(h[keep], heads),
            np.minimum.reduceat(lo[keep], heads),
            c[keep][lasts],
            np.add.reduceat(volume[keep], heads),
            (k_day[heads] - PG_EPOCH_DAYS).astype(np.int32),
            (k_day[lasts] - PG_EPOCH_DAYS).astype(np.int32),
            (lasts - heads + 1).astype(np.int32),
        ]
        with (
            raw.cursor() as cur,
            cur.copy(
                f"COPY {table} (security_id, period_start, open, high, low, close, volume, first_date, last_date, "
                "bars) FROM STDIN (FORMAT binary)"
            ) as copy,
        ):
            copy.write(COPY_HEADER + copy_rows(len(heads), columns) + COPY_TRAILER)
        total += len(heads)
    return total
