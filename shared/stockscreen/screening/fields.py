"""The field catalogue: one source of truth for the snapshot's columns and the screener."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Group = Literal["descriptive", "fundamental", "technical"]
FieldType = Literal["number", "string", "date"]
Unit = Literal["usd", "pct", "ratio", "shares", "days"] | None


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    group: Group
    type: FieldType
    unit: Unit
    description: str

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "group": self.group,
            "type": self.type,
            "unit": self.unit,
            "description": self.description,
        }


def _n(id_: str, label: str, group: Group, unit: Unit, description: str) -> Field:
    return Field(id_, label, group, "number", unit, description)


def _s(id_: str, label: str, description: str, type_: FieldType = "string") -> Field:
    return Field(id_, label, "descriptive", type_, None, description)


FIELDS: tuple[Field, ...] = (
    _s("symbol", "Ticker", "Exchange ticker symbol"),
    _s("name", "Company", "Company name"),
    _s("sector", "Sector", "GICS sector"),
    _s("industry", "Industry", "GICS sub-industry"),
    _s("hq_state", "HQ State", "Headquarters state or region"),
    _s("date_added", "Date Added", "Date first added to the S&P 500", "date"),
    _n("close", "Price", "descriptive", "usd", "Last close"),
    _n("open", "Open", "descriptive", "usd", "Open of the last session"),
    _n("high", "High", "descriptive", "usd", "High of the last session"),
    _n("low", "Low", "descriptive", "usd", "Low of the last session"),
    _n("volume", "Volume", "descriptive", "shares", "Shares traded in the last session"),
    _n("avg_volume_20", "Avg Volume (20d)", "descriptive", "shares", "Average daily volume over 20 sessions"),
    _n("avg_volume_50", "Avg Volume (50d)", "descriptive", "shares", "Average daily volume over 50 sessions"),
    _n("rel_volume", "Relative Volume", "descriptive", "ratio", "Volume / 50-day average volume"),
    _n("market_cap", "Market Cap", "fundamental", "usd", "Shares outstanding x last close"),
    _n("pe", "P/E", "fundamental", "ratio", "Price / trailing earnings per share"),
    _n("eps", "EPS (ttm)", "fundamental", "usd", "Trailing earnings per share"),
    _n("dividend_yield", "Dividend Yield", "fundamental", "pct", "Annual dividend / price, in percent"),
    _n("price_book", "P/B", "fundamental", "ratio", "Price / book value per share"),
    _n("price_sales", "P/S", "fundamental", "ratio", "Price / sales per share"),
    _n("ebitda", "EBITDA", "fundamental", "usd", "Earnings before interest, taxes, depreciation, amortisation"),
    _n("change_pct", "Change", "technical", "pct", "Change of the last close from the previous close"),
    _n("gap_pct", "Gap", "technical", "pct", "Open versus previous close"),
    _n("change_from_open_pct", "Change from Open", "technical", "pct", "Close versus open"),
    _n("sma20", "SMA 20", "technical", "usd", "20-day simple moving average"),
    _n("sma50", "SMA 50", "technical", "usd", "50-day simple moving average"),
    _n("sma200", "SMA 200", "technical", "usd", "200-day simple moving average"),
    _n("dist_sma20_pct", "Price vs SMA20", "technical", "pct", "Close relative to SMA 20"),
    _n("dist_sma50_pct", "Price vs SMA50", "technical", "pct", "Close relative to SMA 50"),
    _n("dist_sma200_pct", "Price vs SMA200", "technical", "pct", "Close relative to SMA 200"),
    _n("ema12", "EMA 12", "technical", "usd", "12-day exponential moving average"),
    _n("ema26", "EMA 26", "technical", "usd", "26-day exponential moving average"),
    _n("rsi14", "RSI (14)", "technical", None, "Wilder's 14-day relative strength index"),
    _n("macd", "MACD", "technical", None, "EMA 12 - EMA 26"),
    _n("macd_signal", "MACD Signal", "technical", None, "9-day EMA of MACD"),
    _n("macd_hist", "MACD Histogram", "technical", None, "MACD - signal"),
    _n("atr14", "ATR (14)", "technical", "usd", "Wilder's 14-day average true range"),
    _n("atr_pct", "ATR %", "technical", "pct", "ATR 14 / close"),
    _n("bb_pctb", "Bollinger %B", "technical", "ratio", "Position of close within the 20/2 Bollinger bands"),
    _n("bb_width", "Bollinger Bandwidth", "technical", "pct", "(upper - lower) / middle band"),
    _n("high_52w", "52W High", "technical", "usd", "Highest high over 252 sessions"),
    _n("low_52w", "52W Low", "technical", "usd", "Lowest low over 252 sessions"),
    _n("dist_high_52w_pct", "From 52W High", "technical", "pct", "Close relative to the 52-week high"),
    _n("dist_low_52w_pct", "From 52W Low", "technical", "pct", "Close relative to the 52-week low"),
    _n("perf_1w", "Perf Week", "technical", "pct", "Return over 5 sessions"),
    _n("perf_1m", "Perf Month", "technical", "pct", "Return over 21 sessions"),
    _n("perf_3m", "Perf Quarter", "technical", "pct", "Return over 63 sessions"),
    _n("perf_6m", "Perf Half Y", "technical", "pct", "Return over 126 sessions"),
    _n("perf_1y", "Perf Year", "technical", "pct", "Return over 252 sessions"),
    _n("perf_ytd", "Perf YTD", "technical", "pct", "Return since the last close of the previous year"),
    _n("volatility_1m", "Volatility (1M)", "technical", "pct", "Standard deviation of daily returns over 21 sessions"),
)

BY_ID: dict[str, Field] = {f.id: f for f in FIELDS}

#: Fields that come from the security's profile rather than the snapshot's metrics.
PROFILE_FIELDS = ("symbol", "name", "sector", "industry", "hq_state", "date_added")

#: Numeric snapshot columns, in catalogue order.
METRIC_FIELDS: tuple[str, ...] = tuple(f.id for f in FIELDS if f.id not in PROFILE_FIELDS)
