"""Deploy-time settings, read from CDK context (``cdk.json`` or ``-c key=value``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs import Node

from stockscreen_infra import constants as c


def _path(value: Any, default: Path) -> Path:
    if value in (None, ""):
        return default
    p = Path(str(value))
    # Relative paths are relative to the repository root so that ``-c layer_dir=infra_cdk/build/layer``
    # means the same thing from infra_cdk/ (cdk CLI) and from the repo root (pytest).
    return p if p.is_absolute() else (c.REPO_ROOT / p)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    layer_dir: Path
    build_dir: Path
    api_source_dir: Path
    frontend_dist_dir: Path
    timescale_endpoint: str | None
    timescale_secret_arn: str | None
    ses_sender: str
    ingest_schedule: str
    alarm_email: str | None
    nag: bool

    @classmethod
    def from_context(cls, node: Node) -> Settings:
        def get(key: str) -> Any:
            return node.try_get_context(key)

        return cls(
            layer_dir=_path(get(c.CTX_LAYER_DIR), c.DEFAULT_LAYER_DIR),
            build_dir=_path(get(c.CTX_BUILD_DIR), c.DEFAULT_BUILD_DIR),
            api_source_dir=_path(get(c.CTX_API_SOURCE_DIR), c.API_SOURCE_DIR),
            frontend_dist_dir=_path(get(c.CTX_FRONTEND_DIST_DIR), c.FRONTEND_DIST_DIR),
            timescale_endpoint=get(c.CTX_TIMESCALE_ENDPOINT) or None,
            timescale_secret_arn=get(c.CTX_TIMESCALE_SECRET_ARN) or None,
            ses_sender=get(c.CTX_SES_SENDER) or c.DEFAULT_SES_SENDER,
            ingest_schedule=get(c.CTX_INGEST_SCHEDULE) or c.INGEST_SCHEDULE_EXPRESSION,
            alarm_email=get(c.CTX_ALARM_EMAIL) or None,
            nag=_truthy(get(c.CTX_NAG)) if get(c.CTX_NAG) is not None else False,
        )
