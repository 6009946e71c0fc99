"""The Stockscreen stack: wires the per-concern constructs together."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from stockscreen_infra import constants as c
from stockscreen_infra.alerts import Alerts
from stockscreen_infra.api import RestApi
from stockscreen_infra.data import AppSecrets, Cache, Database
from stockscreen_infra.frontend import Frontend
from stockscreen_infra.functions import FunctionDefaults
from stockscreen_infra.ingest import Ingest
from stockscreen_infra.layer import SharedLayer
from stockscreen_infra.network import Network
from stockscreen_infra.observability import Observability
from stockscreen_infra.quotes import Quotes
from stockscreen_infra.settings import Settings
from stockscreen_infra.websocket import WebSocket


class StockscreenStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings = Settings.from_context(self.node)
        Tags.of(self).add("app", c.APP_TAG)

        self.network = Network(self, "Network")
        self.database = Database(
            self,
            "Database",
            network=self.network,
            timescale_endpoint=settings.timescale_endpoint,
            timescale_secret_arn=settings.timescale_secret_arn,
        )
        self.cache = Cache(self, "Cache", network=self.network)
        self.secrets = AppSecrets(self, "Secrets")
        self.layer = SharedLayer(self, "SharedLayer", layer_dir=settings.layer_dir)

        # Plain environment shared by every function. The database URL is never in here: functions
        # read the credentials from the secret named by DATABASE_SECRET_ARN.
        common_env = {
            c.ENV_DATABASE_SECRET_ARN: self.database.secret.secret_arn,
            c.ENV_REDIS_URL: self.cache.url,
            c.ENV_EVENT_BUS_NAME: c.EVENT_BUS_NAME,
            "POWERTOOLS_SERVICE_NAME": "stockscreen",
            "LOG_LEVEL": "INFO",
        }
        defaults = FunctionDefaults(network=self.network, layer=self.layer.layer, environment=common_env)

        self.api = RestApi(
            self,
            "Api",
            source_dir=settings.api_source_dir,
            build_dir=settings.build_dir,
            network=self.network,
            layer=self.layer.layer,
            environment={
                **common_env,
                c.ENV_JWT_SECRET_ARN: self.secrets.jwt_secret.secret_arn,
                c.ENV_ALERTS_UNSUBSCRIBE_SECRET_ARN: self.secrets.unsubscribe_secret.secret_arn,
            },
        )
        self.websocket = WebSocket(self, "WebSocket", defaults=defaults)
        self.ingest = Ingest(self, "Ingest", defaults=defaults, schedule_expression=settings.ingest_schedule)
        # the API maps the snapshot artifacts (read only)
        self.ingest.snapshot_bucket.grant_read(self.api.role)
        self.api.add_environment(c.ENV_SNAPSHOT_BUCKET, self.ingest.snapshot_bucket.bucket_name)
        self.alerts = Alerts(
            self,
            "Alerts",
            defaults=defaults,
            bus=self.ingest.bus,
            broadcaster=self.websocket.broadcast,
            ses_sender=settings.ses_sender,
            idempotency_table=self.ingest.idempotency_table,
            unsubscribe_secret=self.secrets.unsubscribe_secret,
            ws_management_url=self.websocket.management_url,
            ws_connections_arn=self.websocket.connections_arn,
        )
        self.quotes = Quotes(
            self,
            "Quotes",
            defaults=defaults,
            ws_management_url=self.websocket.management_url,
            ws_connections_arn=self.websocket.connections_arn,
            alerts_queue=self.alerts.queue,
        )
        self.frontend = Frontend(
            self,
            "Frontend",
            rest_api_domain=self.api.domain_name,
            ws_api_domain=self.websocket.domain_name,
            dist_dir=settings.frontend_dist_dir,
        )
        self.observability = Observability(
            self,
            "Observability",
            topic=self.alerts.topic,
            state_machine=self.ingest.state_machine,
            dlq=self.alerts.dlq,
            api_function_name=self.api.handler_function_name,
        )
        # links in alert emails point at the web app
        self.alerts.delivery.add_environment(c.ENV_APP_BASE_URL, self.frontend.url)
        if settings.alarm_email:
            self.alerts.topic.add_subscription(subs.EmailSubscription(settings.alarm_email))

        # --- least-privilege grants -----------------------------------------------------------
        # Every function's settings (stockscreen.core.config.CoreSettings) need the database; only the
        # REST API and the WebSocket $connect authorizer and handler verify JWTs.
        functions = [
            *self.websocket.all_functions,
            *self.ingest.functions.values(),
            self.alerts.function,
            self.quotes.function,
            self.alerts.delivery,
        ]
        for fn in functions:
            self.database.secret.grant_read(fn)
        self.database.secret.grant_read(self.api.role)
        self.secrets.jwt_secret.grant_read(self.api.role)
        self.secrets.unsubscribe_secret.grant_read(self.api.role)  # the one-click unsubscribe route
        for verifier in (self.websocket.functions["handlers.connect"], self.websocket.authorizer_function):
            self.secrets.jwt_secret.grant_read(verifier)
            verifier.add_environment(c.ENV_JWT_SECRET_ARN, self.secrets.jwt_secret.secret_arn)
        # The Chalice handler's log group, with a retention (chalice's SAM template has none).
        logs.LogGroup(
            self.api,
            "HandlerLogs",
            log_group_name=f"/aws/lambda/{self.api.handler_function_name}",
            retention=logs.RetentionDays.ONE_MONTH,
        )

        # --- outputs ------------------------------------------------------------------------------
        CfnOutput(self, c.OUTPUT_CLOUDFRONT_URL, value=self.frontend.url, description="Web app URL")
        CfnOutput(self, c.OUTPUT_REST_API_URL, value=self.api.url, description="REST API (stage api)")
        CfnOutput(self, c.OUTPUT_WEBSOCKET_URL, value=self.websocket.url, description="WebSocket API (stage ws)")
        CfnOutput(
            self,
            c.OUTPUT_STATE_MACHINE_ARN,
            value=self.ingest.state_machine.state_machine_arn,
            description="Ingest state machine",
        )
        CfnOutput(self, c.OUTPUT_FRONTEND_BUCKET, value=self.frontend.bucket.bucket_name)
