"""One paging rule: the API's Page query, every list schema built on it and the domain's PageRequest
accept and refuse the same limits and offsets."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from chalicelib.schemas import admin, alerts, auth, common, notifications, portfolios, saved_screens, watchlists
from stockscreen.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, PageRequest

# every query schema a list route reads its page from
LISTS: list[type[BaseModel]] = [
    common.Page,
    auth.Page,
    watchlists.Page,
    portfolios.Page,
    saved_screens.Page,
    admin.UsersQuery,
    admin.RunsQuery,
    admin.AuditQuery,
    alerts.AlertsQuery,
    notifications.NotificationsQuery,
]
GOOD = [(1, 0), (MAX_LIMIT, 0), (DEFAULT_LIMIT, MAX_OFFSET)]
BAD = [(0, 0), (MAX_LIMIT + 1, 0), (1, -1), (1, MAX_OFFSET + 1)]


@pytest.mark.parametrize("schema", LISTS, ids=lambda m: m.__name__)
def test_every_list_pages_by_the_one_rule(schema: type[BaseModel]) -> None:
    assert issubclass(schema, common.Page)
    default = schema.model_validate({})
    assert (default.limit, default.offset) == (DEFAULT_LIMIT, 0)  # type: ignore[attr-defined]
    for limit, offset in GOOD:
        page = schema.model_validate({"limit": limit, "offset": offset})
        assert PageRequest(limit=limit, offset=offset) == page.request()  # type: ignore[attr-defined]
    for limit, offset in BAD:
        with pytest.raises(ValidationError):
            schema.model_validate({"limit": limit, "offset": offset})
        with pytest.raises(ValueError, match="between"):
            PageRequest(limit=limit, offset=offset)
