"""moto's DynamoDB Query, made to read only the partition it asks for (the local stack and the tests).

moto answers a Query on a table's own key by sorting every item of the table and keeping those of the
partition (``Table.all_items()``): per call, the whole table sorted with Python comparisons of its
attribute values. DynamoDB reads the one partition. The WebSocket connection registry queries a partition
per connection and per symbol, so under ``make dev`` with 50 WebSocket clients (~2,600 items) moto's sort
and compare were ~45% of the process's CPU during the load run (py-spy), slowing every route the process
serves. :func:`install` makes a Query without an index read its partition alone; what it returns is moto's
answer (items, order, pages, filters, projections: ``tests/unit/test_motofast.py`` compares both on random
tables). Queries of an index and tables without a sort key are moto's as they were.
"""

from __future__ import annotations

import threading
from typing import Any

_local = threading.local()
_original: dict[str, Any] = {}


def install() -> None:
    """Patch moto's DynamoDB ``Table`` (idempotent)."""
    from moto.dynamodb.models.table import Table

    if _original:
        return
    query, all_items = Table.query, Table.all_items
    _original.update(query=query, all_items=all_items)

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return query(self, hash_key, *args, **kwargs)
        _local.partition = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _local.partition = None

    def partition_items(self: Any) -> Any:
        partition = getattr(_local, "partition", None)
        if partition is None or partition[0] is not self:
            return all_items(self)
        # the items of that hash key (moto keeps them by hash key, then sort key); the Query sorts them
        found = self.items.get(partition[1])  # (.get: the table's defaultdict gains no empty partition)
        return list(found.values()) if found else []

    Table.query = partition_query  # type: ignore[method-assign]
    Table.all_items = partition_items  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto's own methods back (tests compare the two)."""
    from moto.dynamodb.models.table import Table

    if _original:
        Table.query = _original.pop("query")  # type: ignore[method-assign]
        Table.all_items = _original.pop("all_items")  # type: ignore[method-assign]
