"""stockscreen.core.collector.paused: the cyclic collector off for a block, restored as it was found."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from stockscreen.core import collector


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_back_on_after_even_when_the_block_raises() -> None:
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_and_concurrent_blocks_turn_it_back_on_only_when_the_last_one_leaves() -> None:
    inside, release = threading.Event(), threading.Event()

    def other_thread() -> None:
        with collector.paused():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=other_thread)
    with collector.paused():
        worker.start()
        assert inside.wait(5)
        with collector.paused():
            pass
        assert not gc.isenabled()  # the inner block left, ours and the other thread's have not
    assert not gc.isenabled()  # ours left; the other thread's block still runs
    release.set()
    worker.join(5)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_a_fan_out_builds_its_frames_with_the_collector_paused() -> None:
    from stockscreen.realtime.broadcaster import Broadcaster
    from stockscreen.realtime.messages import Quote

    seen: list[bool] = []

    class Registry:
        def subscribers_of(self, symbols: list[str]) -> dict[str, set[str]]:
            seen.append(gc.isenabled())
            return {s: {"c1"} for s in symbols}

    quote = Quote.model_validate({"symbol": "AAPL", "price": 1.0, "ts": "2024-01-02T15:30:00Z"})
    posts = Broadcaster(object(), Registry()).frames_for([quote])  # type: ignore[arg-type]
    assert [cid for cid, _ in posts] == ["c1"] and seen == [False] and gc.isenabled()
