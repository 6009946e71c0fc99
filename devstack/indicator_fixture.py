"""Write the SPA's indicator fixture: ``python -m devstack.indicator_fixture [--check]``.

The stock page computes its overlays (SMA, EMA, Bollinger bands) and panes (RSI, MACD) from the daily
bars in the browser (``frontend/src/features/securities/model/indicators.ts``). They must equal the
screener's fields for the same day, which ``stockscreen.market.measures`` computes. This writes one
symbol's real daily bars (the test sample's AAPL) and the screener's values on a few of its days to a
JSON fixture that a Vitest test checks the SPA's arithmetic against; ``tests/unit`` checks the fixture
is current and ``tests/integration`` that its last day is what the API's snapshot reports.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BARS = ROOT / "tests" / "fixtures" / "bars-sample.csv.gz"
FIXTURE = ROOT / "frontend" / "src" / "features" / "securities" / "model" / "indicators.fixture.json"
SYMBOL = "AAPL"
#: the screener's fields the chart draws
FIELDS = (
    "sma20",
    "sma50",
    "sma200",
    "ema12",
    "ema26",
    "rsi14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_lower",
)
#: bars (0-based) whose values are checked: warm-ups of each indicator, mid-history, the last day (-1)
CHECKED = (19, 25, 33, 199, 600, -1)


def read_bars(path: Path = BARS, symbol: str = SYMBOL) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["Name"] == symbol]
    rows.sort(key=lambda r: r["date"])
    return [
        {
            "date": r["date"],
            **{k: float(r[k]) for k in ("open", "high", "low", "close")},
            "volume": int(float(r["volume"])),
        }
        for r in rows
    ]


def build() -> dict[str, Any]:
    from stockscreen.market import measures

    bars = read_bars()
    metrics = measures.history(
        {
            "dates": np.array([b["date"] for b in bars], dtype="datetime64[D]"),
            **{k: np.array([b[k] for b in bars], dtype=np.float64) for k in ("open", "high", "low", "close", "volume")},
        }
    )
    expected = []
    for i in CHECKED:
        row = i % len(bars)
        values: dict[str, float | None] = {}
        for f in FIELDS:
            v = float(metrics[f][row])
            values[f] = None if math.isnan(v) else v
        expected.append({"index": row, "date": bars[row]["date"], "values": values})
    return {
        "source": f"tests/fixtures/bars-sample.csv.gz ({SYMBOL}); values by stockscreen.market.measures "
        "(python -m devstack.indicator_fixture)",
        "symbol": SYMBOL,
        "bars": bars,
        "expected": expected,
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n"


def main() -> int:
    text = render(build())
    if "--check" in sys.argv:
        if not FIXTURE.exists() or FIXTURE.read_text() != text:
            print(f"{FIXTURE} is stale; run `python -m devstack.indicator_fixture`", file=sys.stderr)
            return 1
        return 0
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(text)
    print(f"wrote {FIXTURE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
