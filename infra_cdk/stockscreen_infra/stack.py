"""The Stockscreen stack: wires the per-concern constructs together."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from stockscreen_infra import constants as c
from stockscreen_infra.alerts import Alerts
from stockscreen_infra.api import RestApi
from stockscreen_infra.data import AppSecrets, Cache, Database
from stockscreen_infra.dropfolder import DropFolder, RawBucket
from stockscreen_infra.frontend import Frontend
from stockscreen_infra.functions import FunctionDefaults
from stockscreen_infra.ingest import Ingest
from stockscreen_infra.layer import SharedLayer
from stockscreen_infra.network import Network
from stockscreen_infra.observability import Observability
from stockscreen_infra.quotes import Quotes
from stockscreen_infra.reports import Reports
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

        self.raw = RawBucket(self, "Raw")
        self.reports = Reports(
            self,
            "Reports",
            defaults=defaults,
            render_layer_dir=settings.build_dir / "render-layer",
            ses_sender=settings.ses_sender,
            unsubscribe_secret=self.secrets.unsubscribe_secret,
        )
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
                c.ENV_RAW_BUCKET_NAME: self.raw.bucket.bucket_name,
                c.ENV_REPORTS_BUCKET: self.reports.bucket.bucket_name,
                c.ENV_REPORTS_STATE_MACHINE_ARN: self.reports.state_machine_arn,
            },
        )
        self.websocket = WebSocket(self, "WebSocket", defaults=defaults)
        self.ingest = Ingest(self, "Ingest", defaults=defaults, schedule_expression=settings.ingest_schedule)
        self.drop_folder = DropFolder(
            self,
            "DropFolder",
            raw=self.raw,
            state_machine=self.ingest.state_machine,
            fetch_function=self.ingest.functions["Fetch"],
            upload_signer=self.api.role,
        )
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
            upload_origin=self.raw.upload_origin,
        )
        # the poller (demand, fan-out) and alert delivery (the user channel) use the connection registry too
        for fn in (self.quotes.function, self.alerts.delivery):
            self.websocket.grant_registry(fn)
        # links in alert emails point at the web app
        for fn in self.alerts.delivery_functions:
            fn.add_environment(c.ENV_APP_BASE_URL, self.frontend.url)
        # the admin API's view of the delivery dead-letter queue (peek, redrive): read and delete dead
        # messages, send them back to the delivery queue; nothing else of either queue
        self.api.handler_resource.add_property_override(
            f"Environment.Variables.{c.ENV_ALERTS_DELIVERY_QUEUE_URL}", self.alerts.queue.queue_url
        )
        self.api.handler_resource.add_property_override(
            f"Environment.Variables.{c.ENV_ALERTS_DELIVERY_DLQ_URL}", self.alerts.dlq.queue_url
        )
        self.alerts.dlq.grant(
            self.api.role,
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
        )
        self.alerts.queue.grant_send_messages(self.api.role)
        # the admin Operations page reads the stack's metrics (stockscreen.core.operations): the two read
        # actions, which have no resource-level permissions; its queues are the stack's (names start with it)
        self.api.role.add_to_policy(iam.PolicyStatement(actions=list(c.OPERATIONS_METRICS_ACTIONS), resources=["*"]))
        self.api.add_environment("OPERATIONS_METRICS_SOURCE", "cloudwatch")
        self.api.add_environment("OPERATIONS_QUEUE_PREFIX", f"{self.stack_name}-")
        self.reports.functions["Send"].add_environment(c.ENV_APP_BASE_URL, self.frontend.url)
        # report emails go through the alerts' SES configuration set: the same suppression list and events
        self.reports.functions["Send"].add_environment(c.ENV_SES_CONFIGURATION_SET, c.SES_CONFIGURATION_SET_NAME)
        self.reports.functions["Send"].add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendRawEmail"],
                resources=[self.alerts.sender_identity_arn, self.alerts.configuration_set_arn],
            )
        )
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
            *self.alerts.delivery_functions,
            self.alerts.suppression,
            *(fn for name, fn in self.reports.functions.items() if name != "Render"),  # render reads no database
        ]
        for fn in functions:
            self.database.secret.grant_read(fn)
        self.database.secret.grant_read(self.api.role)
        self.secrets.jwt_secret.grant_read(self.api.role)
        self.secrets.unsubscribe_secret.grant_read(self.api.role)  # the one-click unsubscribe route
        # the report routes: presigned download links and on-demand screen reports
        self.reports.grant_objects(self.api.role, "s3:GetObject")  # presigned links are signed with it
        self.api.role.add_to_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[self.reports.state_machine_arn])
        )
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

        # --- monitoring: last, so that it finds every function, queue, state machine and table above ---
        self.observability = Observability(
            self,
            "Observability",
            topic=self.alerts.topic,
            api_function_name=self.api.handler_function_name,
            ws_api=self.websocket.api,
            redis=self.cache.replication_group,
            database=self.database.instance,
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
