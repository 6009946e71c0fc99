"""Daily bars from the demo CSVs as flat arrays, for tests and benchmarks."""

from __future__ import annotations

import csv
import gzip

import numpy as np

from stockscreen.market.indicators import F
from stockscreen.market.measures import I64, Dates


def read_bars_csv(path: str) -> tuple[list[str], I64, Dates, F]:
    """Daily bars from a ``date,open,high,low,close,volume,Name`` CSV (plain or .gz): rows with a missing
    price are dropped (the pipeline quarantines them), the rest sorted by (symbol, date). Returns symbols,
    ids, dates, ``(N, 5)`` OHLCV."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        idx = [header.index(k) for k in ("date", "open", "high", "low", "close", "volume")]
        sym_col = header.index("name") if "name" in header else header.index("symbol")
        raw = [r for r in reader if r and all(r[i] for i in idx)]
    symbols = sorted({r[sym_col] for r in raw})
    code = {s: i for i, s in enumerate(symbols)}
    ids = np.fromiter((code[r[sym_col]] for r in raw), dtype=np.int64, count=len(raw))
    dates = np.array([r[idx[0]] for r in raw], dtype="datetime64[D]")
    ohlcv = np.array([[float(r[i]) for i in idx[1:]] for r in raw], dtype=np.float64)
    order = np.lexsort((dates, ids))
    return symbols, ids[order], dates[order], ohlcv[order]
