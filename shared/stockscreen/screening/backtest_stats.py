"""A backtest's statistics from its per-period returns (fractions: 0.05 = 5%).

The definitions here are the ones the API schema and the CLI help quote."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

DEFINITIONS = {
    "total_return": "compounded return over the whole test: product of (1 + period return) - 1",
    "cagr": "compound annual growth rate: (1 + total_return) ** (365.25 / calendar days from first entry "
    "to last exit) - 1",
    "volatility": "annualised volatility: sample standard deviation of the period returns x sqrt(periods "
    "per year: 12 monthly, 52 weekly)",
    "sharpe": "annualised Sharpe ratio, risk-free rate 0: mean period return / its sample standard "
    "deviation x sqrt(periods per year)",
    "max_drawdown": "largest fall of the equity curve (measured at period ends) from its running peak, "
    "as a positive fraction; max_drawdown_peak and max_drawdown_trough are its dates",
    "hit_rate": "share of the invested periods whose net return beat the benchmark's return over the same "
    "dates (a period's own hit_rate: share of its holdings that beat it)",
    "avg_excess": "mean of (net return - benchmark return) over all periods, cash periods included: both "
    "series cover exactly the same periods and dates",
    "avg_excess_invested": "the same mean over the invested periods only",
    "avg_turnover": "mean over the periods after the first of max(value bought, value sold) at the entry / "
    "portfolio value (1 = everything replaced)",
    "total_cost": "sum over the periods of gross return - net return; every buy and every sell costs "
    "(cost_bps + slippage_bps) / 10000 of its value",
    "benchmark": "the equal-weighted universe: every security listed on the signal date with an entry price, "
    "bought and sold on the strategy's own dates at the same kind of price, without costs",
}


class BacktestStats(BaseModel):
    """Statistics of one return series, measured over the backtest's periods."""

    total_return: float = Field(description=DEFINITIONS["total_return"])
    cagr: float | None = Field(description=DEFINITIONS["cagr"])
    volatility: float | None = Field(description=DEFINITIONS["volatility"])
    sharpe: float | None = Field(description=DEFINITIONS["sharpe"])
    max_drawdown: float = Field(description=DEFINITIONS["max_drawdown"])
    max_drawdown_peak: str | None = Field(description="Date of the peak before the largest drawdown.")
    max_drawdown_trough: str | None = Field(description="Date of the largest drawdown's trough.")


def equity_of(returns: NDArray[np.float64]) -> NDArray[np.float64]:
    """1, then the value after each period."""
    return np.concatenate([[1.0], np.cumprod(1.0 + returns)])


def drawdowns(equity: NDArray[np.float64]) -> NDArray[np.float64]:
    return equity / np.maximum.accumulate(equity) - 1.0


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def stats_of(returns: NDArray[np.float64], days: list[dt.date], per_year: int) -> BacktestStats:
    """``days``: the first entry date, then each period's exit date (one more than ``returns``)."""
    eq = equity_of(returns)
    total = float(eq[-1] - 1.0)
    span = (days[-1] - days[0]).days / 365.25
    cagr = _finite(float(eq[-1] ** (1.0 / span) - 1.0)) if span > 0 and eq[-1] > 0 else None
    vol = sharpe = None
    if len(returns) >= 2:
        sd = float(np.std(returns, ddof=1))
        vol = sd * math.sqrt(per_year)
        sharpe = float(np.mean(returns)) / sd * math.sqrt(per_year) if sd > 0 else None
    dd = drawdowns(eq)
    k = int(np.argmin(dd))
    worst = float(-dd[k])
    peak = trough = None
    if worst > 0:
        peak = days[int(np.argmax(eq[: k + 1]))].isoformat()
        trough = days[k].isoformat()
    return BacktestStats(
        total_return=total,
        cagr=cagr,
        volatility=vol,
        sharpe=sharpe,
        max_drawdown=worst,
        max_drawdown_peak=peak,
        max_drawdown_trough=trough,
    )
