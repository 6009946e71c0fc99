"""The reports workflow's tasks (Step Functions -> Lambda), each a thin call into ``stockscreen.reports``:

* ``select``: the fan-out (EventBridge Scheduler every 15 minutes): who is due now -> Map items.
  With ``items`` in its input (an on-demand report) those are the items.
* ``build``: claim (user, kind, period) and compute the figures into the bucket.
* ``store``: record the rendered documents (rendering is ``render/handlers.py``, its own Lambda).
* ``send``: email it once (SES), a presigned link to the PDF valid 7 days.
* ``record_failure``: the Catch of an item: the run is marked failed.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.core.observability import logger
from stockscreen.db.engine import get_engine
from stockscreen.reports.service import ReportService


@cache
def service() -> ReportService:
    from stockscreen.reports.wiring import workflow_service

    return workflow_service(get_engine())


@logger.inject_lambda_context(clear_state=True)
def select(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("items"):
        return {"items": list(event["items"])}
    at = event.get("now") or event.get("time")  # EventBridge Scheduler passes <aws.scheduler.scheduled-time>
    now = dt.datetime.fromisoformat(at.replace("Z", "+00:00")) if at else dt.datetime.now(dt.UTC)
    items = service().select(now, event.get("user_ids"))
    logger.info("reports due", extra={"count": len(items), "now": now.isoformat()})
    return {"items": items}


@logger.inject_lambda_context(clear_state=True)
def build(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service().build(event["item"])


@logger.inject_lambda_context(clear_state=True)
def store(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service().stored(event["render"])


@logger.inject_lambda_context(clear_state=True)
def send(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service().send({**event["render"], "send": event["build"].get("send", True)})


@logger.inject_lambda_context(clear_state=True)
def record_failure(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service().record_failure(event)
