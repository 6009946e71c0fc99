"""The pagination query every list route takes (the rule itself is ``stockscreen.core.paging``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from chalicelib.models import ApiModel
from stockscreen.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, PageRequest


class Page(ApiModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0

    def request(self) -> PageRequest:
        return PageRequest(limit=self.limit, offset=self.offset)
