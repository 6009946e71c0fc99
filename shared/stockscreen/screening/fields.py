"""The field catalogue: one source of truth for the snapshot's columns and the screener.

Three groups as on Finviz (descriptive, fundamental, technical). Every price-based field (prices,
indicators, patterns, 52-week figures, the ``perf_*`` price returns) is computed from the raw
prices as delivered; only the total-return fields (``perf_tr_*``) read the adjusted close, where
the bars file provided one (:data:`TOTAL_RETURN_NOTE`). Profile fields live on
``securities``; every other field is a column of ``snapshot_rows`` computed by
:mod:`stockscreen.market.measures` (numbers as ``double precision``, flags as ``boolean``, labels
as ``text``).

Left out because the data cannot support them honestly: *founded* (the constituents file
has no founding year), forward P/E and PEG (no estimates), EV/EBITDA and other
enterprise-value ratios (no debt or cash figures; the catalogue offers market cap /
EBITDA and the EBITDA yield instead, labelled as such), float, short interest, insider
and institutional ownership, analyst recommendations, earnings dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Group = Literal["descriptive", "fundamental", "technical"]
FieldType = Literal["number", "string", "date", "boolean"]
Unit = Literal["usd", "pct", "ratio", "shares", "days", "index"] | None
Role = Literal["free", "premium", "admin"]

ROLES: tuple[Role, ...] = ("free", "premium", "admin")
ALL: tuple[Role, ...] = ROLES
PAID: tuple[Role, ...] = ("premium", "admin")


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    group: Group
    type: FieldType
    unit: Unit
    description: str
    roles: tuple[Role, ...] = ALL

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "group": self.group,
            "type": self.type,
            "unit": self.unit,
            "description": self.description,
            "roles": list(self.roles),
        }

    def allowed(self, role: str) -> bool:
        return role in self.roles

    @property
    def sql_type(self) -> str:
        """The ``snapshot_rows`` column type of a snapshot field."""
        return {"number": "double precision", "boolean": "boolean", "string": "text", "date": "date"}[self.type]


#: what every total-return field says of its source (the only fields that read the adjusted close)
TOTAL_RETURN_NOTE = " incl. dividends, from adjusted close when the source provides it; equals price return otherwise"


def _n(id_: str, label: str, group: Group, unit: Unit, description: str, roles: tuple[Role, ...] = ALL) -> Field:
    return Field(id_, label, group, "number", unit, description, roles)


def _s(id_: str, label: str, description: str, type_: FieldType = "string", roles: tuple[Role, ...] = ALL) -> Field:
    return Field(id_, label, "descriptive", type_, None, description, roles)


def _b(id_: str, label: str, description: str, roles: tuple[Role, ...] = PAID) -> Field:
    return Field(id_, label, "technical", "boolean", None, description, roles)


FIELDS: tuple[Field, ...] = (
    # --- descriptive -------------------------------------------------------------------
    _s("symbol", "Ticker", "Exchange ticker symbol"),
    _s("name", "Company", "Company name"),
    _s("sector", "Sector", "GICS sector"),
    _s("industry", "Industry", "GICS sub-industry"),
    _s("headquarters", "Headquarters", "Headquarters city and state or country, as listed"),
    _s("hq_state", "HQ State", "Headquarters state (or country outside the US)"),
    _s("hq_country", "HQ Country", "Headquarters country"),
    _s("date_added", "Date Added", "Date first added to the S&P 500", "date"),
    _s("index_membership", "Index", "Index membership (S&P 500 when the security is in the constituents list)"),
    _s(
        "market_cap_bucket",
        "Market Cap Size",
        "mega (>= 200B), large (10-200B), mid (2-10B), small (300M-2B), micro (50-300M), nano (< 50M)",
    ),
    _n("close", "Price", "descriptive", "usd", "Last close"),
    _n("open", "Open", "descriptive", "usd", "Open of the last session"),
    _n("high", "High", "descriptive", "usd", "High of the last session"),
    _n("low", "Low", "descriptive", "usd", "Low of the last session"),
    _n("prev_close", "Previous Close", "descriptive", "usd", "Close of the session before the last"),
    _n("volume", "Volume", "descriptive", "shares", "Shares traded in the last session"),
    _n("avg_volume_20", "Avg Volume (20d)", "descriptive", "shares", "Average daily volume over 20 sessions"),
    _n("avg_volume_50", "Avg Volume (50d)", "descriptive", "shares", "Average daily volume over 50 sessions"),
    _n("rel_volume", "Relative Volume", "descriptive", "ratio", "Volume / 50-day average volume"),
    _n("dollar_volume", "Dollar Volume", "descriptive", "usd", "Close x volume of the last session", PAID),
    _n("history_days", "History", "descriptive", "days", "Number of daily bars on file up to this date", PAID),
    # --- fundamental ---------------------------------------------------------------------
    _n("market_cap", "Market Cap", "fundamental", "usd", "Shares outstanding x last close"),
    _n(
        "shares_outstanding",
        "Shares Outstanding",
        "fundamental",
        "shares",
        "Market cap / price as of the fundamentals report",
        PAID,
    ),
    _n("pe", "P/E", "fundamental", "ratio", "Price / trailing earnings per share (positive earnings only)"),
    _n("eps", "EPS (ttm)", "fundamental", "usd", "Trailing earnings per share"),
    _n("earnings_yield", "Earnings Yield", "fundamental", "pct", "EPS / price, in percent (negative for losses)", PAID),
    _n("dividend_yield", "Dividend Yield", "fundamental", "pct", "Annual dividend / price, in percent"),
    _n(
        "dividend_per_share",
        "Dividend per Share",
        "fundamental",
        "usd",
        "Annual dividend per share implied by the reported yield and price",
        PAID,
    ),
    _n("payout_ratio", "Payout Ratio", "fundamental", "pct", "Dividend per share / EPS, in percent", PAID),
    _n("price_book", "P/B", "fundamental", "ratio", "Price / book value per share"),
    _n("book_per_share", "Book/sh", "fundamental", "usd", "Book value per share implied by the reported P/B", PAID),
    _n("price_sales", "P/S", "fundamental", "ratio", "Price / sales per share"),
    _n("sales", "Sales", "fundamental", "usd", "Trailing revenue implied by market cap / (P/S)", PAID),
    _n("ebitda", "EBITDA", "fundamental", "usd", "Earnings before interest, taxes, depreciation, amortisation"),
    _n("ebitda_margin", "EBITDA Margin", "fundamental", "pct", "EBITDA / sales, in percent", PAID),
    _n(
        "ebitda_yield",
        "EBITDA Yield",
        "fundamental",
        "pct",
        "EBITDA / market cap, in percent (no debt or cash in the data: not an EV ratio)",
        PAID,
    ),
    _n(
        "market_cap_ebitda",
        "Market Cap / EBITDA",
        "fundamental",
        "ratio",
        "Market cap / EBITDA (equity value only: EV/EBITDA needs debt and cash, which the data lacks)",
        PAID,
    ),
    _n("net_income", "Net Income", "fundamental", "usd", "EPS x shares outstanding", PAID),
    _n("profit_margin", "Profit Margin", "fundamental", "pct", "Net income / sales, in percent", PAID),
    _n("range_52w_pct", "52W Range", "fundamental", "pct", "(52-week high - low) / low, in percent"),
    _n(
        "pos_52w_pct",
        "52W Range Position",
        "fundamental",
        "pct",
        "Where the close sits in the 52-week range: 0 at the low, 100 at the high",
    ),
    # --- technical -----------------------------------------------------------------------
    _n("change", "Change $", "technical", "usd", "Last close - previous close"),
    _n("change_pct", "Change", "technical", "pct", "Change of the last close from the previous close"),
    _n("gap_pct", "Gap", "technical", "pct", "Open versus previous close"),
    _n("change_from_open_pct", "Change from Open", "technical", "pct", "Close versus open"),
    _n("sma20", "SMA 20", "technical", "usd", "20-day simple moving average"),
    _n("sma50", "SMA 50", "technical", "usd", "50-day simple moving average"),
    _n("sma200", "SMA 200", "technical", "usd", "200-day simple moving average"),
    _n("dist_sma20_pct", "Price vs SMA20", "technical", "pct", "Close relative to SMA 20"),
    _n("dist_sma50_pct", "Price vs SMA50", "technical", "pct", "Close relative to SMA 50"),
    _n("dist_sma200_pct", "Price vs SMA200", "technical", "pct", "Close relative to SMA 200"),
    _n("dist_sma50_sma200_pct", "SMA50 vs SMA200", "technical", "pct", "SMA 50 relative to SMA 200", PAID),
    _n("ema12", "EMA 12", "technical", "usd", "12-day exponential moving average", PAID),
    _n("ema26", "EMA 26", "technical", "usd", "26-day exponential moving average", PAID),
    _n("rsi14", "RSI (14)", "technical", "index", "Wilder's 14-day relative strength index"),
    _n("macd", "MACD", "technical", None, "EMA 12 - EMA 26 (TA-Lib seeding)", PAID),
    _n("macd_signal", "MACD Signal", "technical", None, "9-day EMA of MACD", PAID),
    _n("macd_hist", "MACD Histogram", "technical", None, "MACD - signal", PAID),
    _n("atr14", "ATR (14)", "technical", "usd", "Wilder's 14-day average true range", PAID),
    _n("atr_pct", "ATR %", "technical", "pct", "ATR 14 / close", PAID),
    _n("bb_upper", "Bollinger Upper", "technical", "usd", "SMA 20 + 2 standard deviations", PAID),
    _n("bb_lower", "Bollinger Lower", "technical", "usd", "SMA 20 - 2 standard deviations", PAID),
    _n("bb_pctb", "Bollinger %B", "technical", "ratio", "Position of close within the 20/2 Bollinger bands", PAID),
    _n("bb_width", "Bollinger Bandwidth", "technical", "pct", "(upper - lower) / middle band", PAID),
    _n("high_20d", "20D High", "technical", "usd", "Highest high over 20 sessions", PAID),
    _n("low_20d", "20D Low", "technical", "usd", "Lowest low over 20 sessions", PAID),
    _n("high_50d", "50D High", "technical", "usd", "Highest high over 50 sessions", PAID),
    _n("low_50d", "50D Low", "technical", "usd", "Lowest low over 50 sessions", PAID),
    _n("high_52w", "52W High", "technical", "usd", "Highest high over 252 sessions"),
    _n("low_52w", "52W Low", "technical", "usd", "Lowest low over 252 sessions"),
    _n("dist_high_20d_pct", "From 20D High", "technical", "pct", "Close relative to the 20-day high", PAID),
    _n("dist_low_20d_pct", "From 20D Low", "technical", "pct", "Close relative to the 20-day low", PAID),
    _n("dist_high_50d_pct", "From 50D High", "technical", "pct", "Close relative to the 50-day high", PAID),
    _n("dist_low_50d_pct", "From 50D Low", "technical", "pct", "Close relative to the 50-day low", PAID),
    _n("dist_high_52w_pct", "From 52W High", "technical", "pct", "Close relative to the 52-week high"),
    _n("dist_low_52w_pct", "From 52W Low", "technical", "pct", "Close relative to the 52-week low"),
    _b("new_high_20d", "New 20D High", "The session's high is the highest of the last 20 sessions"),
    _b("new_low_20d", "New 20D Low", "The session's low is the lowest of the last 20 sessions"),
    _b("new_high_50d", "New 50D High", "The session's high is the highest of the last 50 sessions"),
    _b("new_low_50d", "New 50D Low", "The session's low is the lowest of the last 50 sessions"),
    _b("new_high_52w", "New 52W High", "The session's high is the highest of the last 252 sessions", ALL),
    _b("new_low_52w", "New 52W Low", "The session's low is the lowest of the last 252 sessions", ALL),
    _n("perf_1w", "Perf Week", "technical", "pct", "Price return (raw close) over 5 sessions"),
    _n("perf_1m", "Perf Month", "technical", "pct", "Price return (raw close) over 21 sessions"),
    _n("perf_3m", "Perf Quarter", "technical", "pct", "Price return (raw close) over 63 sessions"),
    _n("perf_6m", "Perf Half Y", "technical", "pct", "Price return (raw close) over 126 sessions"),
    _n("perf_1y", "Perf Year", "technical", "pct", "Price return (raw close) over 252 sessions"),
    _n("perf_ytd", "Perf YTD", "technical", "pct", "Price return since the last close of the previous year"),
    *(
        _n(f"perf_tr_{key}", f"Total Return {label}", "technical", "pct", f"Total return {span}{TOTAL_RETURN_NOTE}")
        for key, label, span in (
            ("1w", "Week", "over 5 sessions"),
            ("1m", "Month", "over 21 sessions"),
            ("3m", "Quarter", "over 63 sessions"),
            ("6m", "Half Y", "over 126 sessions"),
            ("1y", "Year", "over 252 sessions"),
            ("ytd", "YTD", "since the last close of the previous year"),
        )
    ),
    _n(
        "volatility_1w",
        "Volatility (1W)",
        "technical",
        "pct",
        "Standard deviation of daily returns over 5 sessions",
        PAID,
    ),
    _n("volatility_1m", "Volatility (1M)", "technical", "pct", "Standard deviation of daily returns over 21 sessions"),
    _n(
        "beta",
        "Beta",
        "technical",
        "ratio",
        "Slope of daily returns on an equal-weighted index of the universe over 252 sessions",
        PAID,
    ),
)

BY_ID: dict[str, Field] = {f.id: f for f in FIELDS}

#: Fields that come from the security's profile (``securities``) rather than the snapshot.
PROFILE_FIELDS = ("symbol", "name", "sector", "industry", "headquarters", "hq_state", "hq_country", "date_added")

#: Every ``snapshot_rows`` column, in catalogue order.
SNAPSHOT_FIELDS: tuple[str, ...] = tuple(f.id for f in FIELDS if f.id not in PROFILE_FIELDS)

#: Numeric snapshot columns (``double precision``), in catalogue order.
METRIC_FIELDS: tuple[str, ...] = tuple(f for f in SNAPSHOT_FIELDS if BY_ID[f].type == "number")

#: Boolean and text snapshot columns (added by migration 0003).
FLAG_FIELDS: tuple[str, ...] = tuple(f for f in SNAPSHOT_FIELDS if BY_ID[f].type == "boolean")
LABEL_FIELDS: tuple[str, ...] = tuple(f for f in SNAPSHOT_FIELDS if BY_ID[f].type == "string")


#: Finviz's size buckets of ``market_cap_bucket``: the first floor a market cap reaches.
MARKET_CAP_BUCKETS: tuple[tuple[float, str], ...] = (
    (200e9, "mega"),
    (10e9, "large"),
    (2e9, "mid"),
    (300e6, "small"),
    (50e6, "micro"),
    (0.0, "nano"),
)
