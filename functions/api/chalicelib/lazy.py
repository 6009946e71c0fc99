"""Modules imported on their first use, not when the routes are registered.

A Lambda imports ``app.py`` on every cold start, before its first request. The route modules name their
pydantic models through a :class:`LazyModule` (``body=lambda: schema.LoginBody``), so registering every
route imports neither pydantic nor the domain; each request then imports what it uses, once per process.
``tests/unit/test_api_cold_start.py`` checks what the import leaves out.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for the module ``name`` and imports it on first attribute access.

    ``importlib.import_module`` holds the import lock, so a second thread waits for the first one's import
    to finish rather than seeing half a module. Each attribute is kept once read (the modules behind these
    hold classes defined once), so later reads are plain attribute lookups.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(importlib.import_module(self._name), attr)
        setattr(self, attr, value)
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
