"""The dev replay feed stays inside the real last session and ends on its close."""

from __future__ import annotations

from devstack.feed import ReplayFeed


def test_replay_walks_the_last_session() -> None:
    feed = ReplayFeed()
    feed._sessions["AAPL"] = (163.03, 163.085, 163.4, 159.0685, 159.54, 51_608_580)
    prices = [q.price for t in range(ReplayFeed.STEPS_PER_SESSION) if (q := feed.quote("AAPL", t))]
    assert len(prices) == ReplayFeed.STEPS_PER_SESSION
    assert all(159.06 <= p <= 163.41 for p in prices)
    assert min(prices) < 160 and max(prices) > 162.5  # it visits both extremes
    last = feed.quote("AAPL", ReplayFeed.STEPS_PER_SESSION - 1)
    assert last is not None and abs(last.price - 159.54) < 0.2
    assert last.change_pct is not None and round(last.change_pct) == -2
    feed._sessions["NEW"] = None
    assert feed.quote("NEW", 0) is None
