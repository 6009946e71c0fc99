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
    "QualityRule",
    "RunPublic",
    "RunReport",
    "RunsPublic",
    "RunsQuery",
    "ThrottlePublic",
    "ThrottlesPublic",
    "ThrottlesQuery",
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


class AlertsDlqPublic(ApiModel):
    """The alert delivery dead-letter queue: its depth and up to 10 dead fired alerts (as queued)."""

    count: int
    messages: list[dict[str, Any]]


class AlertsDlqRedrive(ApiModel):
    moved: int
