"""Administration: user, ingest-run and audit-log queries and lists, the user update body."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from chalicelib.models import ApiModel
from chalicelib.schemas.auth import UserPublic
from chalicelib.schemas.common import Page

__all__ = [
    "AlertsDlqPublic",
    "AlertsDlqRedrive",
    "AuditEntry",
    "AuditPublic",
    "AuditQuery",
    "FindingPublic",
    "FindingsPublic",
    "FindingsQuery",
    "QualityRule",
    "ReleaseBody",
    "ReleasePublic",
    "RunProgress",
    "RunPublic",
    "RunReport",
    "RunsPublic",
    "RunsQuery",
    "StateProgress",
    "ThrottlePublic",
    "ThrottlesPublic",
    "ThrottlesQuery",
    "TrendPoint",
    "TrendPublic",
    "TrendQuery",
    "UploadBody",
    "UploadPublic",
    "UploadStatus",
    "UserAdminUpdate",
    "UserPublic",
    "UsersPublic",
    "UsersQuery",
]


class UsersQuery(Page):
    q: Annotated[str, StringConstraints(min_length=1, max_length=254, strip_whitespace=True)] | None = None
    role: Literal["free", "premium", "admin"] | None = None
    disabled: bool | None = None


class UsersPublic(ApiModel):
    data: list[UserPublic]
    count: int


class UserAdminUpdate(ApiModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["free", "premium", "admin"] | None = None
    disabled: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> UserAdminUpdate:
        if self.role is None and self.disabled is None:
            raise ValueError("give role and/or disabled")
        return self


class ThrottlesQuery(Page):
    pass


class ThrottlePublic(ApiModel):
    id: str = Field(description="Opaque; DELETE /admin/throttles/{id} clears it")
    kind: Literal["login", "address", "password"] = Field(
        description="login: one account from one address; address: any account from it; password: a user's "
        "wrong current passwords"
    )
    email: str | None = Field(description="The account behind the counter, when there is one")
    ip: str | None
    failures: int
    retry_after: int = Field(description="Seconds the caller must still wait (0: only counting)")


class ThrottlesPublic(ApiModel):
    data: list[ThrottlePublic]
    count: int


class RunsQuery(Page):
    status: Annotated[str, StringConstraints(max_length=16)] | None = None


class RunPublic(ApiModel):
    run_id: str
    status: str
    started_at: str
    finished_at: str | None
    duration_seconds: float | None = Field(default=None, description="From start to finish (to now while it runs)")
    stats: dict[str, Any]
    error: str | None


class RunsPublic(ApiModel):
    data: list[RunPublic]
    count: int


class QualityRule(ApiModel):
    rule: str
    severity: str
    action: str
    count: int


class RunReport(RunPublic):
    quality: list[QualityRule]


class AuditQuery(Page):
    action: Annotated[str, StringConstraints(max_length=64)] | None = None
    actor_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F-]{36}$")] | None = None


class AuditEntry(ApiModel):
    id: int
    at: str
    actor_id: str | None
    action: str
    target: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, Any]


class AuditPublic(ApiModel):
    data: list[AuditEntry]
    count: int


_Symbol = Annotated[str, StringConstraints(min_length=1, max_length=16, strip_whitespace=True)]
_Rule = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


class FindingsQuery(Page):
    run_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F-]{36}$")] | None = Field(
        default=None, description="One run's findings (default: every run's)"
    )
    rule: _Rule | None = None
    symbol: _Symbol | None = None
    severity: Literal["error", "warning", "info"] | None = None
    action: Literal["quarantined", "loaded", "corrected", "skipped"] | None = None


class FindingPublic(ApiModel):
    id: int
    run_id: str
    rule: str
    severity: str
    action: str
    symbol: str | None
    date: str | None
    file: str | None
    line: int | None
    message: str
    raw: dict[str, Any] | None = Field(description="The row as read (quarantined and reported rows)")
    values: dict[str, Any] | None = Field(description="open, high, low, close, volume of the row, when it has them")
    releasable: bool = Field(description="A quarantined row an admin may release (POST .../release)")
    released_at: str | None
    released_by: str | None
    loaded_run_id: str | None = Field(description="The run that loaded the released row")


class FindingsPublic(ApiModel):
    data: list[FindingPublic]
    count: int


class TrendQuery(ApiModel):
    model_config = ConfigDict(extra="forbid")
    days: Annotated[int, Field(ge=1, le=366)] = 30


class TrendPoint(ApiModel):
    day: str
    rule: str
    severity: str
    count: int


class TrendPublic(ApiModel):
    data: list[TrendPoint]


class ReleaseBody(ApiModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)] | None = None


class ReleasePublic(ApiModel):
    id: int
    finding_id: int
    run_id: str
    rule: str
    symbol: str
    date: str
    values: dict[str, float]
    note: str | None


class UploadBody(ApiModel):
    model_config = ConfigDict(extra="forbid")
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)]
    size: Annotated[int, Field(ge=1, description="The file's size in bytes")]


class UploadPublic(ApiModel):
    upload_id: str
    key: str = Field(description="Where the file lands: under the drop folder incoming/")
    url: str = Field(description="POST the form here: the fields, then the file as 'file'")
    fields: dict[str, str]
    content_type: str
    max_bytes: int
    expires_in: int


class StateProgress(ApiModel):
    state: str
    status: Literal["done", "running", "failed", "pending"]


class RunProgress(RunPublic):
    progress: list[StateProgress]


class UploadStatus(ApiModel):
    upload_id: str
    run: RunProgress | None = Field(description="The run the upload started (null until it has started)")


class AlertsDlqPublic(ApiModel):
    """The alert delivery dead-letter queue: its depth and up to 10 dead fired alerts (as queued)."""

    count: int
    messages: list[dict[str, Any]]


class AlertsDlqRedrive(ApiModel):
    moved: int
