"""Typed settings, validated at cold start (pydantic-settings).

Connection strings and resource names have no silent defaults: a missing one is a
start-up error naming the variable.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CoreSettings(BaseSettings):
    """What every function needs: the database, Redis and the AWS endpoint."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = Field(description="SQLAlchemy URL, postgresql+psycopg://...")
    redis_url: str = Field(description="redis://host:port/db")
    aws_region: str = Field(default="us-east-1", validation_alias="AWS_DEFAULT_REGION")
    aws_endpoint_url: str | None = Field(default=None, description="LocalStack/moto endpoint; unset on AWS")
    timescaledb: Literal["auto", "on", "off"] = Field(
        default="auto", description="Use TimescaleDB hypertables when the extension exists"
    )
    log_level: str = "INFO"


class EventSettings(CoreSettings):
    """Functions that publish domain events."""

    event_bus_name: str
    admin_topic_arn: str


class WsSettings(CoreSettings):
    """WebSocket functions: where the @connections management API lives."""

    ws_management_url: str = Field(description="https://{api-id}.execute-api.{region}.amazonaws.com/{stage}")


@cache
def core_settings() -> CoreSettings:
    return CoreSettings()  # type: ignore[call-arg]


@cache
def event_settings() -> EventSettings:
    return EventSettings()  # type: ignore[call-arg]


@cache
def ws_settings() -> WsSettings:
    return WsSettings()  # type: ignore[call-arg]
