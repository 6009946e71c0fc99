"""Load batches: symbol ranges sized by rows."""

from __future__ import annotations


def test_load_batches_are_symbol_ranges_of_about_max_rows() -> None:
    from stockscreen.pipeline.service import load_batches

    per_symbol = [("A", 1000), ("AA", 1000), ("B", 1500), ("C", 10), ("D", 5000)]
    assert load_batches(per_symbol, 2500) == [
        {"id": "b0", "lo": "A", "hi": "AA"},
        {"id": "b1", "lo": "B", "hi": "C"},
        {"id": "b2", "lo": "D", "hi": "D"},  # a symbol is never split, even when larger than a batch
    ]
    assert load_batches([], 10) == []


def test_bars_by_key_sort_by_security_and_day_only_when_needed() -> None:
    import numpy as np

    from stockscreen.pipeline.load import _Bars

    def bars(sid: list[int], day: list[int]) -> _Bars:
        n = len(sid)
        prices = {k: np.arange(n, dtype=np.float64) for k in ("open", "high", "low", "close")}
        return _Bars(np.array(sid, dtype=np.int64), np.array(day, dtype=np.int64), prices, np.arange(n, dtype=np.int64))

    ordered = bars([1, 1, 2, 2], [-5, 3, 1, 2])
    assert ordered.by_key() is ordered  # already so: not copied
    shuffled = bars([2, 1, 2, 1], [2, 3, 1, -5]).by_key()
    assert shuffled.sid.tolist() == [1, 1, 2, 2] and shuffled.day.tolist() == [-5, 3, 1, 2]
    assert shuffled.prices["close"].tolist() == [3, 1, 2, 0] and shuffled.volume.tolist() == [3, 1, 2, 0]
    assert bars([], []).by_key().sid.tolist() == []
