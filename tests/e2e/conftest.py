"""The browser journeys share one `make dev` (the module's dev_stack fixture); the test that stops it runs last in
its module, so journeys added after it still find the stack running."""

from __future__ import annotations

import pytest

#: tests that end their module's shared stack
STOPS_THE_STACK = ("test_sigterm_to_the_process_group_stops_cleanly",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for stopper in [i for i in items if getattr(i, "originalname", i.name) in STOPS_THE_STACK]:
        same_module = [k for k, i in enumerate(items) if i.module is stopper.module]  # type: ignore[attr-defined]
        items.remove(stopper)
        items.insert(same_module[-1], stopper)
