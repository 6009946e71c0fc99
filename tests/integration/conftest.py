"""Fixtures for the API tests: one signed-out ``chalice.test.Client`` per module.

A module marked ``pytest.mark.sample_data`` gets the 8-symbol real-data sample loaded through the
ingest state machine first; ``fresh_limits`` clears the rate-limit buckets before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import Client

from devstack.lambdas import load_api
from tests.integration.authkit import clear_rate_limits, load_sample


@pytest.fixture(scope="module")
def client(request: pytest.FixtureRequest, stack_env: dict[str, str]) -> Iterator[Client]:
    if request.node.get_closest_marker("sample_data") is not None:
        load_sample(stack_env)
    with Client(load_api()) as c:
        yield c


@pytest.fixture
def fresh_limits(stack_env: dict[str, str]) -> None:
    clear_rate_limits(stack_env["REDIS_URL"])


@pytest.fixture
def no_other_alerts(stack_env: dict[str, str]) -> None:
    """Alert evaluation tests see only the alerts they create: earlier tests' alerts are paused and the
    live evaluator's remembered prices forgotten."""
    import psycopg

    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("UPDATE alert_rules SET active = false")
        conn.execute("DELETE FROM alert_prices")
