"""Settings read from the environment without pydantic-settings, nor pydantic unless a value needs it
(:mod:`stockscreen.core.envsettings`), behave as the pydantic-settings models they replace did: variables by
field name or alias, any case; strings validated as pydantic validates them; a missing required one is an error
naming it; keyword arguments win."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pydantic
import pytest

from stockscreen.accounts.settings import ApiSettings
from stockscreen.core import envsettings
from stockscreen.core.config import AlertDeliverySettings, CoreSettings, IngestSettings, QuoteSettings, WebhookSettings
from stockscreen.screening.artifact import ArtifactSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "CORS_ALLOW_ORIGINS",
        "RATE_LIMIT_MULTIPLIER",
        "DATABASE_SECRET_ARN",
    ):
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
    with pytest.raises(pydantic.ValidationError, match="DATABASE_URL or DATABASE_SECRET_ARN"):
        CoreSettings()  # type: ignore[call-arg]
    env.setenv("DATABASE_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:db")  # AWS: either will do
    assert CoreSettings().database_url is None  # type: ignore[call-arg]
    env.delenv("EVENT_BUS_NAME", raising=False)  # (set by the integration tests' stack)
    with pytest.raises(pydantic.ValidationError, match="event_bus_name"):
        IngestSettings()  # type: ignore[call-arg]


# Values the fast path reads itself and values it leaves to pydantic (unusual spellings, wrong types, bounds).
_TRICKY = {
    "RATE_LIMIT_MULTIPLIER": ["2", "2.5", "0", "-1", "1e3", " 2", "2.", "nan", "inf", "x", "", "1_000"],
    "ACCESS_TOKEN_TTL_S": ["60", "050", "+5", "5.0", "5.5", "-3", " 7 ", "1_0", "9" * 20, "x", "\u0663", "0"],
    "TIMESCALEDB": ["on", "ON", "auto", "", "maybe"],
    "DATABASE_SSLMODE": ["verify-full", "VERIFY-FULL", "bogus"],
    "CORS_ALLOW_ORIGINS": ["https://a/, ,https://b", "", ","],
    "ALERTS_WEBHOOK_ALLOW_PRIVATE": ["true", "True", "1", "yes", "off", "F", " true", "maybe", "2"],
    "QUOTE_BURST": ["0", "1", "10"],
    "QUOTE_POLL_SECONDS": ["0.5", "0", "5", "050.5", "5.", ".5", "5.0.1", "\u0661"],
    "DATABASE_URL": ["", "postgresql://db/y"],
    "AWS_DEFAULT_REGION": ["eu-west-1", ""],
}


def _as_pydantic(cls: type[envsettings.EnvSettings], **values: Any) -> Any:
    """``cls`` as the pydantic model of its declaration, given what the environment holds for it."""
    model = envsettings._pydantic_model(cls)
    return model(**{**envsettings._from_environ(cls._specs or envsettings._build(cls)), **values})


def _outcome(make: Any) -> tuple[str, Any]:
    try:
        made = make()
    except pydantic.ValidationError as exc:
        return "error", (exc.title, exc.errors(include_url=False, include_context=False))
    names = type(made).model_fields if isinstance(made, pydantic.BaseModel) else envsettings._names(made)
    return "ok", {name: getattr(made, name) for name in names}


@pytest.mark.parametrize(("variable", "value"), [(k, v) for k, vs in _TRICKY.items() for v in vs])
def test_every_value_reads_as_the_pydantic_model_reads_it(env: pytest.MonkeyPatch, variable: str, value: str) -> None:
    """The fast path decides only what it is sure of: each class read from the same environment gives the
    values, or the ValidationError, of the same declaration built as a pydantic model."""
    env.setenv("JWT_SECRET_ARN", "arn:secret")
    env.setenv("WS_MANAGEMENT_URL", "https://ws")
    env.setenv(variable, value)
    for cls in (ApiSettings, CoreSettings, QuoteSettings, WebhookSettings, AlertDeliverySettings, ArtifactSettings):
        assert _outcome(cls) == _outcome(lambda: _as_pydantic(cls)), (cls.__name__, variable, value)


def test_keywords_by_the_variables_name_win_and_others_are_ignored(env: pytest.MonkeyPatch) -> None:
    env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    s = CoreSettings(AWS_DEFAULT_REGION="us-west-2", aws_region="ignored", nonsense=1)  # type: ignore[call-arg]
    assert s.aws_region == "us-west-2"
    assert ApiSettings(jwt_secret_arn="k", cors_allow_origins=["https://x"]).cors_allow_origins == ("https://x",)
    with pytest.raises(pydantic.ValidationError, match="redis_url\n  Input should be a valid string"):
        CoreSettings(redis_url=5)  # type: ignore[call-arg,arg-type]


def test_frozen_compared_and_shown_as_the_pydantic_model(env: pytest.MonkeyPatch) -> None:
    a, b = CoreSettings(), CoreSettings()  # type: ignore[call-arg]
    assert a == b and hash(a) == hash(b) and a != CoreSettings(log_level="DEBUG")  # type: ignore[call-arg]
    assert repr(a) == repr(_as_pydantic(CoreSettings))
    with pytest.raises(pydantic.ValidationError, match="Instance is frozen") as info:
        a.log_level = "DEBUG"  # type: ignore[misc]
    assert info.value.errors()[0]["type"] == "frozen_instance" and a.log_level == "INFO"
    with pytest.raises(pydantic.ValidationError):
        del a.log_level  # type: ignore[misc]


def test_reading_the_settings_imports_no_pydantic() -> None:
    """A cold ``/health`` reads the API's settings: neither pydantic nor its dependencies are imported for
    them (README, "Cold start"); pydantic is imported when a value needs it."""
    code = (
        "import json, os, sys\n"
        "os.environ.update(DATABASE_URL='postgresql://db/x', REDIS_URL='redis://r', JWT_SECRET_ARN='arn:k',\n"
        "                  RATE_LIMIT_MULTIPLIER='1000', CORS_ALLOW_ORIGINS='https://a.example')\n"
        "from stockscreen.accounts.settings import api_settings\n"
        "from stockscreen.core.config import chart_settings, core_settings, webhook_settings\n"
        "s = api_settings(); core_settings(); chart_settings(); webhook_settings()\n"
        "found = [s.rate_limit_multiplier, list(s.cors_allow_origins)]\n"
        "found.append(sorted(m for m in ('pydantic', 'pydantic_core', 'annotated_types') if m in sys.modules))\n"
        "os.environ['RATE_LIMIT_MULTIPLIER'] = '1e3'\n"
        "api_settings.cache_clear()\n"
        "found += [api_settings().rate_limit_multiplier, 'pydantic' in sys.modules]\n"
        "print(json.dumps(found))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [1000.0, ["https://a.example"], [], 1000.0, True]


class _Checked(envsettings.EnvSettings):
    region: str = envsettings.Field(default="eu", validation_alias="CHECKED_REGION")
    count: int = envsettings.Field(default=1, ge=1, le=9)

    @envsettings.field_validator("region", mode="before")
    @classmethod
    def _known(cls, v: object) -> object:
        if v == "mars":
            raise ValueError("no such region")
        return v


def test_a_validators_error_is_pydantics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("checked_region", "mars")
    with pytest.raises(pydantic.ValidationError, match="Value error, no such region") as info:
        _Checked()
    assert info.value.title == "_Checked" and info.value.errors()[0]["loc"] == ("CHECKED_REGION",)
    monkeypatch.setenv("CHECKED_REGION", "moon")
    assert (_Checked().region, _Checked(count=9).count) == ("moon", 9)
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 9"):
        _Checked(count=10)
