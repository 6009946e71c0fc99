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
