"""The field catalogue and the metrics that fill it: one source of truth."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from stockscreen.market import measures as mt
from stockscreen.pipeline.snapshot import market_cap_bucket
from stockscreen.screening.fields import (
    BY_ID,
    FIELDS,
    FLAG_FIELDS,
    LABEL_FIELDS,
    METRIC_FIELDS,
    PROFILE_FIELDS,
    ROLES,
    SNAPSHOT_FIELDS,
    Field,
)
from tests.bars import read_bars_csv

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bars-sample.csv.gz"


def test_catalogue_shape() -> None:
    assert len(FIELDS) >= 70
    assert len(BY_ID) == len(FIELDS)  # unique ids
    for f in FIELDS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", f.id), f.id
        assert f.label and f.description, f.id
        assert f.group in ("descriptive", "fundamental", "technical")
        assert f.type in ("number", "string", "date", "boolean")
        assert set(f.roles) <= set(ROLES) and {"premium", "admin"} <= set(f.roles), f.id
        public = f.public()
        assert set(public) == {"id", "label", "group", "type", "unit", "description", "roles"}
    groups = {g: sum(f.group == g for f in FIELDS) for g in ("descriptive", "fundamental", "technical")}
    assert min(groups.values()) >= 15, groups


def fields_for(role: str) -> tuple[Field, ...]:
    """The catalogue as one role may use it."""
    return tuple(f for f in FIELDS if f.allowed(role))


def test_roles() -> None:
    free = {f.id for f in fields_for("free")}
    assert {"symbol", "sector", "close", "market_cap", "pe", "rsi14", "sma200", "perf_1y", "new_high_52w"} <= free
    assert "beta" not in free and "macd" not in free
    assert len(fields_for("premium")) == len(fields_for("admin")) == len(FIELDS)
    assert fields_for("nobody") == ()


def test_snapshot_columns_partition_the_catalogue() -> None:
    assert set(PROFILE_FIELDS) | set(SNAPSHOT_FIELDS) == set(BY_ID)
    assert not set(PROFILE_FIELDS) & set(SNAPSHOT_FIELDS)
    assert set(METRIC_FIELDS) | set(FLAG_FIELDS) | set(LABEL_FIELDS) == set(SNAPSHOT_FIELDS)
    assert all(BY_ID[f].type == "number" for f in METRIC_FIELDS)
    assert all(BY_ID[f].type == "boolean" for f in FLAG_FIELDS)


def test_every_metric_field_is_computed() -> None:
    _s, ids, dates, ohlcv = read_bars_csv(str(FIXTURE))
    panel = mt.panel_from_flat(ids, dates, ohlcv)
    funds = {k: np.full(panel.shape[1], 2.0) for k in mt.FUNDAMENTAL_INPUTS}
    out = mt.compute(panel, mt.market_index(panel), fundamentals=funds)
    assert set(METRIC_FIELDS) | set(FLAG_FIELDS) <= set(out)
    last = mt.last_rows(panel, out)
    for f in (*METRIC_FIELDS, *FLAG_FIELDS):
        assert out[f].shape == panel.shape, f
        # every field has a value at the last bar of the longest history
        assert not np.isnan(last[f][int(np.argmax(panel.lengths))]), f


def test_fundamentals_are_restated_at_each_close() -> None:
    close = np.array([100.0, 110.0])
    f = {
        "price": np.array(100.0),
        "market_cap": np.array(1e12),
        "eps": np.array(5.0),
        "dividend_yield": np.array(2.0),
        "price_book": np.array(4.0),
        "price_sales": np.array(5.0),
        "ebitda": np.array(4e10),
    }
    m = mt.fundamental_metrics(close, f)
    np.testing.assert_allclose(m["market_cap"], [1e12, 1.1e12])
    np.testing.assert_allclose(m["pe"], [20.0, 22.0])
    np.testing.assert_allclose(m["dividend_yield"], [2.0, 2.0 / 1.1])
    np.testing.assert_allclose(m["sales"], [2e11, 2e11])
    np.testing.assert_allclose(m["ebitda_margin"], [20.0, 20.0])
    np.testing.assert_allclose(m["market_cap_ebitda"], [25.0, 27.5])
    np.testing.assert_allclose(m["payout_ratio"], [40.0, 40.0])
    np.testing.assert_allclose(m["book_per_share"], [25.0, 25.0])
    losses = mt.fundamental_metrics(close, {**f, "eps": np.array(-1.0)})
    assert np.isnan(losses["pe"]).all() and (losses["earnings_yield"] < 0).all()


def test_market_cap_buckets() -> None:
    cases = {250e9: "mega", 200e9: "mega", 50e9: "large", 5e9: "mid", 1e9: "small", 100e6: "micro", 10e6: "nano"}
    for cap, bucket in cases.items():
        assert market_cap_bucket(cap) == bucket
    assert market_cap_bucket(None) is None and market_cap_bucket(float("nan")) is None
