"""Powertools idempotency for the ingest tasks (DynamoDB persistence layer).

A task invoked again with the same key (Step Functions retrying after a lost response, a
duplicate delivery) returns the stored result instead of running again, so nothing is loaded
twice. A task that raised leaves no record, so a genuine retry runs it again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from stockscreen.core.clients import aws_client
from stockscreen.core.config import ingest_settings

Task = Callable[[dict[str, Any]], dict[str, Any]]

#: Records outlive any execution (the state machine times out after 2 hours).
EXPIRES_AFTER_SECONDS = 24 * 3600


@functools.cache
def _store(table: str, endpoint: str | None, task: str) -> DynamoDBPersistenceLayer:
    # one store per task: Powertools configures a store once (key expression, function name)
    return DynamoDBPersistenceLayer(table_name=table, boto3_client=aws_client("dynamodb", endpoint))


def persistence_store(task: str) -> DynamoDBPersistenceLayer:
    s = ingest_settings()
    return _store(s.idempotency_table, s.aws_endpoint_url, task)


def idempotent_task(key: str) -> Callable[[Task], Callable[..., dict[str, Any]]]:
    """Make a task idempotent on the JMESPath ``key`` of its state (e.g. ``[run_id, batch.id]``)."""

    def decorate(fn: Task) -> Callable[..., dict[str, Any]]:
        config = IdempotencyConfig(
            event_key_jmespath=key,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=EXPIRES_AFTER_SECONDS,
        )

        @functools.wraps(fn)
        def run(state: dict[str, Any], context: Any = None) -> dict[str, Any]:
            if context is not None:
                config.register_lambda_context(context)  # in-progress records expire with the invocation
            wrapped = idempotent_function(
                data_keyword_argument="state", persistence_store=persistence_store(fn.__qualname__), config=config
            )(fn)
            result: dict[str, Any] = wrapped(state=state)
            return result

        return run

    return decorate
