"""Evaluation entry points: the daily pipeline's "prices.updated" event and live quote batches.

``on_prices_updated(event)`` evaluates every armed alert against the snapshot version the event
published (point in time); ``on_quote_batch(batch)`` evaluates the armed alerts of the batch's
symbols against its quotes. Each event / batch is evaluated once (a redelivery returns
``recorded: False`` and changes nothing).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from stockscreen.alerts.delivery import DeliveryService
from stockscreen.alerts.dlq import DeadLetterService
from stockscreen.alerts.repository import AlertEvaluationRepository
from stockscreen.alerts.service import AlertEvaluationService
from stockscreen.core import correlation
from stockscreen.core.errors import Invalid
from stockscreen.core.observability import logger, subsegment

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from stockscreen.realtime.messages import QuoteBatch
    from stockscreen.screening.universe import Universe


def evaluation_service(engine: Engine) -> AlertEvaluationService:
    """The evaluator wired to the screener, watchlists, saved screens and the quote cache."""
    from stockscreen.realtime.quotes import get_quotes
    from stockscreen.screening import universe
    from stockscreen.screening.engine import compile_query
    from stockscreen.screening.evaluate import Evaluator
    from stockscreen.screening.saved import SavedScreenService
    from stockscreen.watchlists.service import WatchlistService

    def universe_of(version: int | None) -> Universe:
        return universe.get_universe(engine) if version is None else universe.universe_of_version(engine, version)

    def query_mask(u: Universe, cond: Any, t: int) -> NDArray[np.bool_]:
        return Evaluator(u).mask(cond, t)

    def latest_prices(symbols: list[str]) -> dict[str, tuple[float, float | None]]:
        return {s: (q.price, None if q.volume is None else float(q.volume)) for s, q in get_quotes(symbols).items()}

    def publish(firings: list[dict[str, Any]]) -> None:
        from stockscreen.alerts.adapters import SqsFiringQueue
        from stockscreen.core.config import alerts_settings

        SqsFiringQueue(alerts_settings().alerts_delivery_queue_url).publish(firings)

    watchlists = cache(lambda: WatchlistService.from_engine(engine))
    screens = cache(lambda: SavedScreenService.from_engine(engine))
    return AlertEvaluationService(
        AlertEvaluationRepository(engine),
        universe_of=universe_of,
        watchlists=watchlists,
        screens=screens,
        compile_query=compile_query,
        query_mask=query_mask,
        latest_prices=latest_prices,
        publish=publish,
    )


def delivery_service(engine: Engine) -> DeliveryService:
    """The delivery service wired to PostgreSQL, the WebSocket API, SES, SNS, webhooks and DynamoDB
    (idempotency)."""
    from stockscreen.accounts.tokens import load_keyring
    from stockscreen.alerts import unsubscribe
    from stockscreen.alerts.adapters import SesMailer, SnsTopic, powertools_once
    from stockscreen.alerts.notifications import NotificationService
    from stockscreen.alerts.preferences import PreferencesService
    from stockscreen.alerts.repository import DeliveryRepository
    from stockscreen.alerts.webhook import WebhookSender
    from stockscreen.core.config import alert_delivery_settings
    from stockscreen.realtime.broadcaster import Broadcaster

    s = alert_delivery_settings()
    ring = cache(lambda: load_keyring(s.alerts_unsubscribe_secret_arn))

    def unsubscribe_token(user_id: str, alert_id: str) -> str:
        r = ring()
        return unsubscribe.sign(user_id, alert_id, r.current_kid, r.keys[r.current_kid])

    return DeliveryService(
        DeliveryRepository(engine),
        NotificationService.from_engine(engine),
        PreferencesService.from_engine(engine),
        push=cache(Broadcaster.from_settings),
        mailer=cache(lambda: SesMailer(configuration_set=s.ses_configuration_set)),
        topic=cache(lambda: SnsTopic(s.alert_notifications_topic_arn)),
        webhook=cache(lambda: WebhookSender(s.alerts_webhook_allow_private)),
        once=powertools_once(s.idempotency_table),
        unsubscribe_token=unsubscribe_token,
        app_url=s.app_base_url,
        sender=s.ses_sender,
    )


def dead_letters() -> DeadLetterService:
    """The delivery dead-letter queue, as the CLI (``stockscreen alerts dlq``) and the admin API see it."""
    from stockscreen.alerts.adapters import DeadLetters
    from stockscreen.core.config import dead_letter_settings
    from stockscreen.db.engine import get_engine

    s = dead_letter_settings()
    return DeadLetterService(DeadLetters(s.alerts_delivery_dlq_url, s.alerts_delivery_queue_url), get_engine())


class PriceEventService:
    def __init__(self, evaluator: AlertEvaluationService) -> None:
        self.evaluator = evaluator

    @classmethod
    def from_engine(cls, engine: Engine) -> PriceEventService:
        return cls(evaluation_service(engine))

    def on_prices_updated(self, event: dict[str, Any]) -> dict[str, Any]:
        """Evaluate the alerts on an EventBridge "prices.updated" event, once per event id."""
        if event.get("detail-type") != "prices.updated" or not isinstance(event.get("detail"), dict):
            raise Invalid("expected an EventBridge 'prices.updated' event")
        event_id = str(event.get("id") or "")
        if not event_id:
            raise Invalid("the event has no id")
        detail = event["detail"]
        version = detail.get("snapshot_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise Invalid("the event's detail has no snapshot_version")
        with subsegment("alerts-evaluate", task="prices.updated", correlation_id=correlation.current()):
            result = self.evaluator.evaluate_daily(
                event_id, detail.get("run_id"), version, len(detail.get("symbols") or [])
            )
        logger.info(
            "prices.updated evaluated",
            extra={"event_id": event_id, "duplicate": not result["recorded"], "fired": result["fired"]},
        )
        return result

    def on_quote_batch(self, batch: QuoteBatch) -> dict[str, Any]:
        with subsegment("alerts-evaluate", task="quote-batch", correlation_id=correlation.current()):
            return self.evaluator.evaluate_quotes(batch)


@cache
def default_service() -> PriceEventService:
    from stockscreen.db.engine import get_engine

    return PriceEventService.from_engine(get_engine())


def on_prices_updated(event: dict[str, Any]) -> dict[str, Any]:
    """Entry point of the daily pipeline's "prices.updated" event (see :class:`PriceEventService`)."""
    return default_service().on_prices_updated(event)


def on_quote_batch(batch: QuoteBatch) -> dict[str, Any]:
    """Entry point of a live quote batch: what the quote source calls after publishing ``batch``."""
    return default_service().on_quote_batch(batch)
