"""The pagination query the list routes share."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from chalicelib.models import ApiModel
from stockscreen.core.paging import MAX_LIMIT, PageRequest


class Page(ApiModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 50
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0

    def request(self) -> PageRequest:
        return PageRequest(limit=self.limit, offset=self.offset)
