"""The NYSE trading calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from stockscreen.market.calendar import closure, easter, is_trading_day, previous_trading_day, trading_days

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
