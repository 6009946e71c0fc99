"""Settings of the HTTP API: JWT issuer/audience, the signing-key secret, CORS allow-list."""

from __future__ import annotations

from functools import cache

from stockscreen.core.config import CoreSettings
from stockscreen.core.envsettings import Field, field_validator


class ApiSettings(CoreSettings):
    jwt_secret_arn: str = Field(description="Secrets Manager secret holding {kid, key} (JSON)")
    jwt_issuer: str = "stockscreen"
    jwt_audience: str = "stockscreen-api"
    access_token_ttl_s: int = 3600
    refresh_token_ttl_s: int = 7 * 24 * 3600
    rate_limit_multiplier: float = Field(
        default=1.0, gt=0, description="Scales every plan's requests/minute (load tests, private deployments)"
    )
    cors_allow_origins: tuple[str, ...] = Field(
        default=(), description="Comma-separated origins allowed by CORS; empty means same-origin only"
    )

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return tuple(o.strip().rstrip("/") for o in v.split(",") if o.strip())
        return v


@cache
def api_settings() -> ApiSettings:
    return ApiSettings()  # type: ignore[call-arg]
