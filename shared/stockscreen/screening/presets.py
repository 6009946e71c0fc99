"""Named screens (Finviz's signals and the usual technical/fundamental classics), written in the language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stockscreen.screening.ast import to_json
from stockscreen.screening.language import parse


@dataclass(frozen=True)
class Preset:
    id: str
    name: str
    description: str
    query: str
    sort: str
    order: str = "desc"

    def public(self) -> dict[str, Any]:
        node = parse(self.query)
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "query": self.query,
            "ast": to_json(node) if node is not None else None,
            "sort": self.sort,
            "order": self.order,
        }


PRESETS: tuple[Preset, ...] = (
    Preset("top_gainers", "Top Gainers", "Up more than 3% on the day", "change_pct > 3", "change_pct"),
    Preset("top_losers", "Top Losers", "Down more than 3% on the day", "change_pct < -3", "change_pct", "asc"),
    Preset(
        "new_high_52w",
        "New 52-Week High",
        "Made a new 52-week high today",
        "high >= high_52w",
        "perf_1y",
    ),
    Preset("new_low_52w", "New 52-Week Low", "Made a new 52-week low today", "low <= low_52w", "perf_1y", "asc"),
    Preset("most_active", "Most Active", "Highest volume, at least 5M shares", "volume > 5M", "volume"),
    Preset(
        "unusual_volume",
        "Unusual Volume",
        "Volume more than twice the 50-day average",
        "volume > 2 * avg(volume, 50)",
        "rel_volume",
    ),
    Preset("overbought", "Overbought", "RSI(14) above 70", "rsi14 > 70", "rsi14"),
    Preset("oversold", "Oversold", "RSI(14) below 30", "rsi14 < 30", "rsi14", "asc"),
    Preset(
        "golden_cross",
        "Golden Cross",
        "SMA 50 crossed above SMA 200 in the last 10 sessions",
        "sma50 crosses_above sma200 within 10 days",
        "market_cap",
    ),
    Preset(
        "death_cross",
        "Death Cross",
        "SMA 50 crossed below SMA 200 in the last 10 sessions",
        "sma50 crosses_below sma200 within 10 days",
        "market_cap",
    ),
    Preset(
        "above_all_mas",
        "Above All Moving Averages",
        "Close above SMA 20, 50 and 200",
        "close > sma20 and close > sma50 and close > sma200",
        "perf_3m",
    ),
    Preset(
        "high_dividend_value",
        "High Dividend Value",
        "Yield above 4% with a P/E under 15",
        "dividend_yield > 4% and pe between 0 and 15",
        "dividend_yield",
    ),
    Preset(
        "macd_bullish_cross",
        "MACD Bullish Cross",
        "MACD crossed above its signal line in the last 3 sessions",
        "macd crosses_above macd_signal within 3 days",
        "macd_hist",
    ),
    Preset(
        "bollinger_squeeze",
        "Bollinger Squeeze",
        "Bandwidth at its narrowest in 6 months",
        "bb_width <= min(bb_width, 126)",
        "bb_width",
        "asc",
    ),
    Preset(
        "pullback_in_uptrend",
        "Pullback in Uptrend",
        "Above the 200-day average but oversold short term",
        "close > sma200 for 20 days and rsi14 < 40",
        "rsi14",
        "asc",
    ),
    Preset(
        "breakout_volume",
        "Breakout on Volume",
        "Closed above the prior 50-session high on 1.5x average volume",
        "close > max(high, 50)[-1] and volume > 1.5 * avg(volume, 50)",
        "rel_volume",
    ),
    Preset(
        "low_volatility_large_caps",
        "Low-Volatility Large Caps",
        "Market cap above 10B, 1-month volatility under 1%",
        "market_cap > 10B and volatility_1m < 1%",
        "volatility_1m",
        "asc",
    ),
    Preset(
        "momentum_leaders",
        "Momentum Leaders",
        "Up more than 20% over 6 months and above the 50-day average",
        "perf_6m > 20% and close > sma50",
        "perf_6m",
    ),
    Preset(
        "value_large_caps",
        "Value Large Caps",
        "Large caps on P/E under 12 and P/B under 2",
        "market_cap > 10B and pe between 0 and 12 and price_book < 2",
        "pe",
        "asc",
    ),
    Preset("gap_up", "Gap Up", "Opened more than 2% above the previous close", "gap_pct > 2%", "gap_pct"),
    Preset("gap_down", "Gap Down", "Opened more than 2% below the previous close", "gap_pct < -2%", "gap_pct", "asc"),
)

BY_PRESET: dict[str, Preset] = {p.id: p for p in PRESETS}
