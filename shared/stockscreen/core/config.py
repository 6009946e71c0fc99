"""Typed settings, validated at cold start (read from the environment as pydantic would: :mod:`.envsettings`).

Connection strings and resource names have no silent defaults: a missing one is a
start-up error naming the variable.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from stockscreen.core.envsettings import EnvSettings, Field, model_validator


class CoreSettings(EnvSettings):
    """What every function needs: the database, Redis and the AWS endpoint."""

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL, postgresql+psycopg://... (make dev, tests); unset on AWS"
    )
    database_secret_arn: str | None = Field(
        default=None,
        description="Secrets Manager secret of the database (RDS shape: username, password, host, port, "
        "dbname), read when DATABASE_URL is unset (stockscreen.db.url)",
    )
    database_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = Field(
        default="require", description="libpq sslmode of a URL built from DATABASE_SECRET_ARN"
    )
    redis_url: str = Field(description="redis://host:port/db")
    aws_region: str = Field(default="us-east-1", validation_alias="AWS_DEFAULT_REGION")
    aws_endpoint_url: str | None = Field(default=None, description="LocalStack/moto endpoint; unset on AWS")
    timescaledb: Literal["auto", "on", "off"] = Field(
        default="auto", description="Use TimescaleDB hypertables when TimescaleDB is preloaded"
    )
    log_level: str = "INFO"
    connections_table: str | None = Field(
        default=None,
        description="DynamoDB table of the WebSocket connection registry (stockscreen.realtime.dynamo); "
        "unset: the Redis registry (unit tests, a bare local gateway)",
    )

    @model_validator(mode="after")
    def _database_configured(self) -> CoreSettings:
        if not self.database_url and not self.database_secret_arn:
            raise ValueError("set DATABASE_URL or DATABASE_SECRET_ARN (where the database is)")
        return self


class EventSettings(CoreSettings):
    """Functions that publish domain events."""

    event_bus_name: str
    admin_topic_arn: str


class ChartSettings(EnvSettings):
    """What the API's chart routes need to know of the live feed (no connection strings: read by the API)."""

    quote_provider: Literal["stooq", "replay"] = Field(
        default="stooq",
        description="the live poller's provider; 'replay' (make dev) polls at any hour, so the chart's "
        "market session is then always open, as the poller's is",
    )


#: When the scheduled ingest runs: weekdays 22:30 UTC, after the US close (EventBridge cron syntax).
#: The one source of the schedule; CDK reads it from here.
INGEST_SCHEDULE_EXPRESSION = "cron(30 22 ? * MON-FRI *)"


class IngestSettings(EventSettings):
    """The ingest pipeline's task functions."""

    idempotency_table: str = Field(description="DynamoDB table of Powertools idempotency records (key 'id')")
    ingest_schedule: str = Field(default=INGEST_SCHEDULE_EXPRESSION, description="EventBridge schedule expression")
    ingest_batch_symbols: int = Field(default=50, ge=1, le=1000, description="symbols per provider fetch batch")
    ingest_load_batch_rows: int = Field(
        default=100_000, ge=1, description="about this many bars per load batch (one transaction each)"
    )
    ingest_bulk_load_rows: int = Field(
        default=1_000_000,
        ge=0,
        description="a run of at most this many clean bars, all into empty partitions, loads as one bulk batch "
        "(standalone partitions filled, indexed and swapped in); 0 turns the bulk path off",
    )
    ingest_max_concurrency: int = Field(default=4, ge=1, le=40, description="Map MaxConcurrency (for the record)")
    stooq_base_url: str = Field(default="https://stooq.com/q/d/l/", description="Stooq's daily-bars CSV endpoint")
    provider_timeout_seconds: float = Field(default=10.0, gt=0, description="per-request timeout of online providers")
    provider_attempts: int = Field(default=3, ge=1, le=10, description="attempts per symbol before it is reported")
    stale_run_minutes: int = Field(default=120, ge=1, description="a 'running' run older than this is abandoned")


class UploadSettings(CoreSettings):
    """The admins' uploads: presigned POSTs into the raw bucket's drop folder (``incoming/``)."""

    raw_bucket_name: str = Field(description="the raw bucket (its incoming/ prefix starts ingest runs)")
    upload_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1, description="the largest upload allowed")
    upload_expires_seconds: int = Field(default=900, ge=60, le=3600, description="how long a presigned POST lasts")


class WsSettings(CoreSettings):
    """WebSocket functions: where the @connections management API lives."""

    ws_management_url: str = Field(description="https://{api-id}.execute-api.{region}.amazonaws.com/{stage}")


#: When the quote poller runs: every minute (each run polls for the rest of its minute). The one source of the
#: schedule; CDK reads it from here. Outside market hours a run returns at once.
QUOTES_SCHEDULE_EXPRESSION = "rate(1 minute)"


class QuoteSettings(WsSettings):
    """The live quote poller (functions/quotes; ``make dev`` runs it with the replay provider)."""

    quote_provider: Literal["stooq", "replay"] = Field(default="stooq", description="where intraday quotes come from")
    stooq_quotes_url: str = Field(default="https://stooq.com/q/l/", description="Stooq's light quote CSV endpoint")
    quote_timeout_seconds: float = Field(default=3.0, gt=0, description="per-request timeout of the quote provider")
    quote_attempts: int = Field(default=2, ge=1, le=5, description="attempts per request before its symbols fail")
    quote_symbols_per_request: int = Field(default=50, ge=1, le=200, description="symbols in one provider request")
    quote_requests_per_minute: float = Field(default=60.0, gt=0, description="the provider's rate limit")
    quote_burst: int = Field(default=10, ge=1, description="requests the rate limit allows in a burst")
    quote_poll_seconds: float = Field(default=5.0, gt=0, description="seconds between polls within a run")
    quote_run_seconds: float = Field(default=55.0, gt=0, le=900, description="how long one scheduled run polls")
    quote_max_symbols: int = Field(default=2000, ge=1, description="at most this many symbols a poll")
    quote_active_user_days: int = Field(default=7, ge=1, description="watchlists of users active this recently")


class AlertsSettings(CoreSettings):
    """Functions that evaluate alerts: where fired alerts are queued for delivery."""

    alerts_delivery_queue_url: str = Field(description="SQS queue of fired alerts (the delivery function's source)")


class UnsubscribeSettings(CoreSettings):
    """Who signs (delivery) and verifies (the API's one-click route) alert emails' unsubscribe links."""

    alerts_unsubscribe_secret_arn: str = Field(
        description="Secrets Manager secret ({kid, key} JSON, or the key) signing unsubscribe links"
    )


class WebhookSettings(EnvSettings):
    """Who checks webhook URLs: the API (when a user saves one) and the delivery function (when it posts)."""

    alerts_webhook_allow_private: bool = Field(
        default=False,
        description="let webhooks use http and private/loopback addresses: make dev and tests only, never deployed",
    )


class DeadLetterSettings(AlertsSettings):
    """Who looks into the delivery dead-letter queue and redrives it (the CLI, the admin API, delivery)."""

    alerts_delivery_dlq_url: str = Field(description="dead-letter queue of fired alerts that could not be delivered")


class AlertDeliverySettings(DeadLetterSettings, UnsubscribeSettings, WebhookSettings):
    """The alert delivery function: in-app, WebSocket, email (SES), SNS and webhooks."""

    alert_notifications_topic_arn: str = Field(description="SNS topic fired alerts are published to")
    ses_sender: str = Field(description="verified SES sender address of alert emails")
    ses_configuration_set: str | None = Field(
        default=None,
        description="SES configuration set of alert emails (reputation metrics, suppression, bounce and "
        "complaint events); CDK always sets it, the local SES endpoint has none",
    )
    idempotency_table: str = Field(description="DynamoDB table of Powertools idempotency records (key 'id')")
    ws_management_url: str = Field(description="the WebSocket API's @connections endpoint")
    app_base_url: str = Field(description="public URL of the web app (links in emails), e.g. https://example.com")


@cache
def alerts_settings() -> AlertsSettings:
    return AlertsSettings()  # type: ignore[call-arg]


@cache
def unsubscribe_settings() -> UnsubscribeSettings:
    return UnsubscribeSettings()  # type: ignore[call-arg]


@cache
def dead_letter_settings() -> DeadLetterSettings:
    return DeadLetterSettings()  # type: ignore[call-arg]


@cache
def webhook_settings() -> WebhookSettings:
    return WebhookSettings()


@cache
def alert_delivery_settings() -> AlertDeliverySettings:
    return AlertDeliverySettings()  # type: ignore[call-arg]


@cache
def chart_settings() -> ChartSettings:
    return ChartSettings()


@cache
def core_settings() -> CoreSettings:
    return CoreSettings()  # type: ignore[call-arg]


@cache
def event_settings() -> EventSettings:
    return EventSettings()  # type: ignore[call-arg]


@cache
def ingest_settings() -> IngestSettings:
    return IngestSettings()  # type: ignore[call-arg]


@cache
def upload_settings() -> UploadSettings:
    return UploadSettings()  # type: ignore[call-arg]


@cache
def ws_settings() -> WsSettings:
    return WsSettings()  # type: ignore[call-arg]


@cache
def quote_settings() -> QuoteSettings:
    return QuoteSettings()  # type: ignore[call-arg]
