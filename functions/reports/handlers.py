"""The reports workflow's tasks (Step Functions -> Lambda), each a thin call into ``stockscreen.reports``:

* ``select``: the fan-out (EventBridge Scheduler every 15 minutes): who is due now -> Map items.
  With ``items`` in its input (an on-demand report) those are the items.
* ``build``: claim (user, kind, period) and compute the figures into the bucket.
* ``store``: record the rendered documents (rendering is ``render/handlers.py``, its own Lambda).
* ``send``: email it once (SES), a presigned link to the PDF valid 7 days.
* ``record_failure``: the Catch of an item: the run is marked failed.

The execution's ``correlation_id`` (the schedule's execution id, or the API request of an on-demand report)
is returned by ``select`` and carried into each Map item.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockscreen.core import correlation
from stockscreen.core.observability import entry, logger
from stockscreen.db.engine import get_engine
from stockscreen.reports.service import ReportService

#: every task: traced, the Lambda context and the run's correlation id (its input) in each log line
task = entry(correlation.from_state, flush_metrics=False)


@cache
def service() -> ReportService:
    from stockscreen.reports.wiring import workflow_service

    return workflow_service(get_engine())


@task
def select(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cid = correlation.current()  # the Map's items carry it ($.select.correlation_id)
    if event.get("items"):
        return {"items": list(event["items"]), correlation.KEY: cid}
    at = event.get("now") or event.get("time")  # EventBridge Scheduler passes <aws.scheduler.scheduled-time>
    now = dt.datetime.fromisoformat(at.replace("Z", "+00:00")) if at else dt.datetime.now(dt.UTC)
    items = service().select(now, event.get("user_ids"))
    logger.info("reports due", extra={"count": len(items), "now": now.isoformat()})
    return {"items": items, correlation.KEY: cid}


@task
def build(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service().build(event["item"])


@task
def store(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service().stored(event["render"])


@task
def send(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service().send({**event["render"], "send": event["build"].get("send", True)})


@task
def record_failure(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service().record_failure(event)
