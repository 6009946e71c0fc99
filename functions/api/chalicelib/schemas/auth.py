"""Accounts: registration and login bodies, the user, tokens and API keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.models import ApiModel
from chalicelib.schemas.common import Page as Page  # the API keys page like every list

Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]


Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$", max_length=254, strip_whitespace=True)
]


DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class RegisterBody(ApiModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    password: Password
    display_name: DisplayName | None = None


class LoginBody(ApiModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, StringConstraints(min_length=3, max_length=254, strip_whitespace=True)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class UserPublic(ApiModel):
    id: str
    email: str
    display_name: str | None
    role: str
    disabled: bool
    created_at: str
    last_login_at: str | None


class TokenPublic(ApiModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the scheme name)
    expires_in: int
    user: UserPublic


class MeUpdate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    display_name: DisplayName | None


class PasswordChange(ApiModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class ApiKeyCreate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class ApiKeyPublic(ApiModel):
    id: str
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret; shown once, stored only as a hash")


class ApiKeysPublic(ApiModel):
    data: list[ApiKeyPublic]
    count: int
