"""Settings of the reports functions (validated at cold start; a missing resource is a start-up error)."""

from __future__ import annotations

from functools import cache

from stockscreen.core.config import CoreSettings
from stockscreen.core.envsettings import Field


class ReportsStoreSettings(CoreSettings):
    """What reads or writes stored reports: the private, encrypted bucket (the render Lambda, the API)."""

    reports_bucket: str = Field(description="private S3 bucket (SSE) of report documents")


class ReportsSettings(ReportsStoreSettings):
    """The reports workflow's tasks: select, build, store, send, record failure."""

    ses_sender: str = Field(description="verified SES sender address of report emails")
    app_base_url: str = Field(description="public URL of the web app (links in emails)")
    alerts_unsubscribe_secret_arn: str = Field(description="the key signing one-click unsubscribe links")
    ses_configuration_set: str | None = Field(
        default=None, description="SES configuration set (suppression list, bounce and complaint events), as alerts'"
    )


class ReportsApiSettings(ReportsStoreSettings):
    """The API's report routes: downloads, and starting an on-demand screen report."""

    reports_state_machine_arn: str = Field(description="the reports workflow (on-demand screen reports)")


@cache
def store_settings() -> ReportsStoreSettings:
    return ReportsStoreSettings()  # type: ignore[call-arg]


@cache
def reports_settings() -> ReportsSettings:
    return ReportsSettings()  # type: ignore[call-arg]


@cache
def reports_api_settings() -> ReportsApiSettings:
    return ReportsApiSettings()  # type: ignore[call-arg]


def reset() -> None:
    """Forget the settings and the S3 client (tests, or after the environment changed)."""
    from stockscreen.reports.adapters import s3_client

    s3_client.cache_clear()
    store_settings.cache_clear()
    reports_settings.cache_clear()
    reports_api_settings.cache_clear()
