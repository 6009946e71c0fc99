"""Settings read from the environment without pydantic-settings (:mod:`stockscreen.core.envsettings`) behave as
the pydantic-settings models they replace did: variables by field name or alias, any case; strings validated
by pydantic; a missing required one is an error naming it; keyword arguments win."""

from __future__ import annotations

import pydantic
import pytest

from stockscreen.accounts.settings import ApiSettings
from stockscreen.core.config import CoreSettings, IngestSettings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "CORS_ALLOW_ORIGINS", "RATE_LIMIT_MULTIPLIER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("redis_url", "redis://r")  # any case, as pydantic-settings matched
    return monkeypatch


def test_fields_from_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # validation_alias
    env.setenv("TIMESCALEDB", "off")
    s = CoreSettings()  # type: ignore[call-arg]
    assert (s.database_url, s.redis_url, s.aws_region, s.aws_endpoint_url, s.timescaledb) == (
        "postgresql://db/x",
        "redis://r",
        "eu-west-1",
        None,
        "off",
    )
    with pytest.raises(pydantic.ValidationError):
        s.redis_url = "redis://other"  # type: ignore[misc]  # frozen


def test_strings_are_validated_and_keywords_win(env: pytest.MonkeyPatch) -> None:
    env.setenv("JWT_SECRET_ARN", "arn:secret")
    env.setenv("RATE_LIMIT_MULTIPLIER", "1000")
    env.setenv("CORS_ALLOW_ORIGINS", "https://a.example/, https://b.example")
    s = ApiSettings()  # type: ignore[call-arg]
    assert s.rate_limit_multiplier == 1000.0
    assert s.cors_allow_origins == ("https://a.example", "https://b.example")
    assert ApiSettings(rate_limit_multiplier=2).rate_limit_multiplier == 2.0  # type: ignore[call-arg]
    env.setenv("RATE_LIMIT_MULTIPLIER", "0")
    with pytest.raises(pydantic.ValidationError, match="rate_limit_multiplier"):
        ApiSettings()  # type: ignore[call-arg]


def test_a_missing_required_variable_is_named(env: pytest.MonkeyPatch) -> None:
    env.delenv("DATABASE_URL")
    with pytest.raises(pydantic.ValidationError, match="database_url"):
        CoreSettings()  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError, match="event_bus_name"):
        IngestSettings()  # type: ignore[call-arg]
