"""Saved screens: the duplicate body, saved and shared screens (the screen body and run page models are the
domain's, from stockscreen.screening.saved; a run's result is the screener's, from schemas.screens)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.models import ApiModel
from chalicelib.schemas.common import Page
from chalicelib.schemas.screens import ScreenRunPublic
from stockscreen.screening.saved import RunPage, SavedScreenIn, SavedScreenPatch

__all__ = [
    "DuplicateBody",
    "Page",
    "RunPage",
    "SavedScreenIn",
    "SavedScreenPatch",
    "SavedScreenPublic",
    "SavedScreensPublic",
    "ScreenRunPublic",
    "SharedScreenPublic",
]


class DuplicateBody(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)] | None = None


class SharedScreenPublic(ApiModel):
    name: str
    description: str | None
    query: str
    ast: dict[str, Any] | None
    sort: str
    order: str
    columns: list[str] | None
    created_at: str
    updated_at: str


class SavedScreenPublic(SharedScreenPublic):
    id: str
    share_token: str | None = Field(description="the public link is /screens/shared/{share_token}")
    shared_at: str | None


class SavedScreensPublic(ApiModel):
    data: list[SavedScreenPublic]
    count: int = Field(description="how many screens the caller has saved (all pages)")
    limit: int = Field(description="how many the caller's plan allows (the saved-screen quota)")
