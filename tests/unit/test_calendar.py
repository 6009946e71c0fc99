"""The NYSE trading calendar."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from stockscreen.market import measures
from stockscreen.market.calendar import (
    closure,
    easter,
    is_trading_day,
    month_keys,
    previous_trading_day,
    trading_days,
    week_keys,
)

D = dt.date


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (D(2018, 1, 1), "New Year's Day"),
        (D(2017, 1, 2), "New Year's Day"),  # Sunday -> observed Monday
        (D(2018, 1, 15), "Martin Luther King Jr. Day"),
        (D(2018, 2, 19), "Washington's Birthday"),
        (D(2018, 3, 30), "Good Friday"),
        (D(2016, 3, 25), "Good Friday"),
        (D(2018, 5, 28), "Memorial Day"),
        (D(2015, 7, 3), "Independence Day"),  # Saturday -> observed Friday
        (D(2017, 9, 4), "Labor Day"),
        (D(2018, 11, 22), "Thanksgiving Day"),
        (D(2016, 12, 26), "Christmas Day"),  # Sunday -> observed Monday
        (D(2022, 6, 20), "Juneteenth"),  # Sunday -> observed Monday
        (D(2012, 10, 29), "Hurricane Sandy"),
        (D(2012, 10, 30), "Hurricane Sandy"),
        (D(2018, 12, 5), "National day of mourning: George H. W. Bush"),
        (D(2025, 1, 9), "National day of mourning: Jimmy Carter"),
        (D(2018, 2, 10), "weekend"),
    ],
)
def test_closures(day: dt.date, why: str) -> None:
    assert closure(day) == why
    assert not is_trading_day(day)


def test_saturday_new_year_is_not_observed_on_the_friday_before() -> None:
    assert is_trading_day(D(2021, 12, 31))
    assert is_trading_day(D(2010, 12, 31))


def test_juneteenth_only_from_2022() -> None:
    assert is_trading_day(D(2020, 6, 19))


def test_easter() -> None:
    assert [easter(y) for y in (2013, 2016, 2019, 2024, 2025)] == [
        D(2013, 3, 31),
        D(2016, 3, 27),
        D(2019, 4, 21),
        D(2024, 3, 31),
        D(2025, 4, 20),
    ]


def test_trading_days_of_the_demo_period() -> None:
    # data/demo has 1,259 trading days from 2013-02-08 to 2018-02-07; the calendar agrees
    assert len(list(trading_days(D(2013, 2, 8), D(2018, 2, 7)))) == 1259
    assert len(list(trading_days(D(2018, 1, 1), D(2018, 12, 31)))) == 251
    assert previous_trading_day(D(2018, 2, 19)) == D(2018, 2, 16)


def test_scheduled_run_fetches_the_last_trading_day() -> None:
    from stockscreen.pipeline.service import _provider_range

    # Friday 22:30 UTC -> that Friday; Monday of Presidents' Day -> the Friday before
    assert _provider_range({"scheduled_time": "2018-02-16T22:30:00Z"}) == (D(2018, 2, 16), D(2018, 2, 16))
    assert _provider_range({"scheduled_time": "2018-02-19T22:30:00Z"}) == (D(2018, 2, 16), D(2018, 2, 16))


def test_sessions_before() -> None:
    from stockscreen.market.calendar import sessions_before

    assert sessions_before(D(2018, 2, 15), 5) == D(2018, 2, 8)
    assert sessions_before(D(2018, 2, 20), 1) == D(2018, 2, 16)  # over Presidents' Day weekend


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def test_week_keys_are_iso_weeks_across_year_ends() -> None:
    # 2015, 2020 and 2026 have an ISO week 53; 2024-12-30 opens 2025-W01; 2021-12-31 is in 2021-W52
    days = _days(D(2014, 12, 1), D(2027, 1, 31))
    keys = week_keys(np.array(days, dtype="datetime64[D]"))
    iso = [d.isocalendar()[:2] for d in days]
    for i in range(1, len(days)):
        assert (keys[i] == keys[i - 1]) == (iso[i] == iso[i - 1]), days[i]
        assert keys[i] - keys[i - 1] == (1 if days[i].weekday() == 0 else 0), days[i]
    by_day = dict(zip(days, keys.tolist(), strict=True))
    for first, last, week in [
        (D(2020, 12, 28), D(2021, 1, 3), (2020, 53)),
        (D(2021, 12, 27), D(2022, 1, 2), (2021, 52)),
        (D(2024, 12, 30), D(2025, 1, 5), (2025, 1)),
        (D(2026, 12, 28), D(2027, 1, 3), (2026, 53)),
    ]:
        assert first.isocalendar()[:2] == week == last.isocalendar()[:2]
        assert by_day[first] == by_day[last] == by_day[first - dt.timedelta(days=1)] + 1


def test_month_keys_are_calendar_months() -> None:
    keys = month_keys(np.array(["2020-12-31", "2021-01-01", "2021-01-31", "2021-02-01"], dtype="datetime64[D]"))
    assert keys.tolist() == [50 * 12 + 11, 51 * 12, 51 * 12, 51 * 12 + 1]  # months since January 1970


def test_weekly_bars_span_new_year_as_one_week() -> None:
    # Dec 28 2020 (Mon) .. Jan 8 2021: ISO 2020-W53 (New Year's Day closed) then 2021-W01
    sessions = [d for d in _days(D(2020, 12, 28), D(2021, 1, 8)) if is_trading_day(d)]
    dates = np.array(sessions, dtype="datetime64[D]")
    ohlcv = np.column_stack([np.arange(len(sessions), dtype=np.float64) + 1] * 4 + [np.ones(len(sessions))])
    ids, ends, bars = measures.resample_flat(np.zeros(len(sessions), np.int64), dates, ohlcv, "W")
    assert ends.tolist() == [D(2020, 12, 31), D(2021, 1, 8)]
    assert bars[:, 4].tolist() == [4.0, 5.0]  # volume: four sessions, then five
    assert ids.tolist() == [0, 0]
