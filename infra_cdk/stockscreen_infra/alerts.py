"""Alerts: prices.updated rule -> alert evaluation + WS broadcaster; fired alerts -> delivery queue (+ DLQ)
-> delivery function (SQS event source, partial batch responses) -> in-app, WebSocket, SES, SNS."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as sm
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stockscreen_infra import constants as c
from stockscreen_infra.functions import FunctionDefaults


class Alerts(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: FunctionDefaults,
        bus: events.IEventBus,
        broadcaster: lambda_.Function,
        ses_sender: str,
        idempotency_table: dynamodb.ITable,
        unsubscribe_secret: sm.ISecret,
        ws_management_url: str,
        ws_connections_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)

        self.dlq = sqs.Queue(
            self,
            "Dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        #: The delivery queue: fired alerts, redriven to the DLQ after 5 receives; its visibility timeout is
        #: 6x the delivery function's timeout.
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(6 * c.ALERTS_DELIVERY_TIMEOUT_SECONDS),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=c.ALERTS_QUEUE_MAX_RECEIVE_COUNT),
        )
        self.topic = sns.Topic(
            self,
            "Notifications",
            topic_name=c.NOTIFICATIONS_TOPIC_NAME,
            display_name="Stockscreen alerts and admin notifications",
            enforce_ssl=True,
        )
        #: Fired alerts for SMS / topic subscribers (message attributes user_id, alert_id for filtering).
        self.alert_topic = sns.Topic(
            self,
            "AlertNotifications",
            topic_name=c.ALERT_NOTIFICATIONS_TOPIC_NAME,
            display_name="Stockscreen alerts",
            enforce_ssl=True,
        )
        self.email_identity = ses.EmailIdentity(self, "SenderIdentity", identity=ses.Identity.email(ses_sender))
        self.sender_identity_arn = Stack.of(self).format_arn(
            service="ses", resource="identity", resource_name=ses_sender
        )

        self.function = defaults.function(
            self,
            "Function",
            source_dir=c.ALERTS_SOURCE_DIR,
            handler=c.ALERTS_HANDLER,
            description="Stockscreen alert evaluation (prices.updated)",
            timeout=Duration.minutes(2),
            environment={c.ENV_ALERTS_DELIVERY_QUEUE_URL: self.queue.queue_url},
        )
        self.queue.grant_send_messages(self.function)

        # delivery: sends mail, posts to connections, publishes to its topic, records idempotency; nothing else
        self.delivery = defaults.function(
            self,
            "Delivery",
            source_dir=c.ALERTS_SOURCE_DIR,
            handler=c.ALERTS_DELIVERY_HANDLER,
            description="Stockscreen alert delivery (in-app, WebSocket, email, SNS)",
            timeout=Duration.seconds(c.ALERTS_DELIVERY_TIMEOUT_SECONDS),
            environment={
                c.ENV_ALERTS_DELIVERY_QUEUE_URL: self.queue.queue_url,
                c.ENV_ALERTS_DELIVERY_DLQ_URL: self.dlq.queue_url,
                c.ENV_ALERT_NOTIFICATIONS_TOPIC_ARN: self.alert_topic.topic_arn,
                c.ENV_SES_SENDER: ses_sender,
                c.ENV_IDEMPOTENCY_TABLE: idempotency_table.table_name,
                c.ENV_ALERTS_UNSUBSCRIBE_SECRET_ARN: unsubscribe_secret.secret_arn,
                c.ENV_WS_MANAGEMENT_URL: ws_management_url,
            },
        )
        self.delivery.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=c.ALERTS_DELIVERY_BATCH_SIZE, report_batch_item_failures=True)
        )
        self.alert_topic.grant_publish(self.delivery)
        idempotency_table.grant_read_write_data(self.delivery)
        unsubscribe_secret.grant_read(self.delivery)
        self.delivery.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[self.sender_identity_arn],
            )
        )
        self.delivery.add_to_role_policy(
            iam.PolicyStatement(actions=["execute-api:ManageConnections"], resources=[ws_connections_arn])
        )

        # Asynchronous invocations that still fail after Lambda's retries land in the DLQ too.
        for fn in (self.function, broadcaster):
            fn.configure_async_invoke(
                retry_attempts=2,
                max_event_age=Duration.hours(1),
                on_failure=destinations.SqsDestination(self.dlq),
            )

        self.rule = events.Rule(
            self,
            "PricesUpdated",
            event_bus=bus,
            description="prices.updated -> alert evaluation and WebSocket broadcast",
            event_pattern=events.EventPattern(
                source=[c.EVENT_SOURCE_INGEST], detail_type=[c.EVENT_DETAIL_TYPE_PRICES_UPDATED]
            ),
        )
        for fn in (self.function, broadcaster):
            self.rule.add_target(
                targets.LambdaFunction(
                    fn, dead_letter_queue=self.dlq, retry_attempts=4, max_event_age=Duration.hours(2)
                )
            )
