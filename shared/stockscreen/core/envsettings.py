"""Typed settings read from the environment: a pydantic model, without pydantic-settings.

pydantic-settings costs three times pydantic's own import (its sources package, the CLI provider,
``importlib.metadata``), paid by every cold container before its first request (README, "Cold start").
What the settings here use of it is small: each field from the environment variable of its name
(or its ``validation_alias``), matched case-insensitively, validated by pydantic. That is all this does.

Values reach the model as the strings they are in the environment (pydantic's lax mode turns ``"50"``
into 50 and ``"true"`` into True); a field of a collection type parses its string in a ``before``
validator (``ApiSettings.cors_allow_origins``). Keyword arguments override the environment, as they do
with pydantic-settings.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict


class EnvSettings(BaseModel):
    """Settings from the environment; a missing required one is a ValidationError naming its variable."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_from_environ(type(self)), **values})


def _from_environ(cls: type[BaseModel]) -> dict[str, str]:
    env = {k.lower(): v for k, v in os.environ.items()}
    found: dict[str, str] = {}
    for name, field in cls.model_fields.items():
        key = field.validation_alias if isinstance(field.validation_alias, str) else name
        value = env.get(key.lower())
        if value is not None:
            found[key] = value
    return found
