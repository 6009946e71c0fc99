"""Base of the edge models: schema building is deferred to first use, keeping the Lambda cold start short."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    model_config = ConfigDict(defer_build=True)
