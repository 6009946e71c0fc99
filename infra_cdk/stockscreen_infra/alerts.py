"""Alerts: prices.updated rule -> alert evaluation + WS broadcaster; fired alerts -> delivery queue (+ DLQ)
-> delivery function (SQS event source, partial batch responses) -> in-app, WebSocket, SES, SNS, webhooks.
A schedule releases held messages (quiet hours, daily-cap summaries) through a second function with the
same grants. SES sends through a configuration set (reputation metrics, account suppression of bounces
and complaints) whose bounce and complaint events go to an SNS topic -> the suppression function."""

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
from aws_cdk import aws_sns_subscriptions as subs
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

        # SES: a configuration set with reputation metrics and the account suppression list for bounces and
        # complaints; its bounce and complaint events go to a topic whose subscriber suppresses the address
        # in our own table too (a suppressed address gets nothing, and the user sees why).
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=c.SES_CONFIGURATION_SET_NAME,
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.ses_events_topic = sns.Topic(
            self,
            "SesEvents",
            topic_name=c.SES_EVENTS_TOPIC_NAME,
            display_name="Stockscreen SES bounces and complaints",
            enforce_ssl=True,
        )
        self.configuration_set.add_event_destination(
            "BouncesAndComplaints",
            destination=ses.EventDestination.sns_topic(self.ses_events_topic),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )
        self.configuration_set_arn = Stack.of(self).format_arn(
            service="ses", resource="configuration-set", resource_name=c.SES_CONFIGURATION_SET_NAME
        )
        self.suppression = defaults.function(
            self,
            "Suppression",
            source_dir=c.ALERTS_SOURCE_DIR,
            handler=c.ALERTS_SES_EVENTS_HANDLER,
            description="Stockscreen SES bounces and complaints -> suppressed addresses",
        )
        self.ses_events_topic.add_subscription(subs.LambdaSubscription(self.suppression))

        # delivery: sends mail (with the configuration set), posts to connections, publishes to its topic and
        # SMS, records idempotency; nothing else. The release function (held messages) is a delivery too.
        delivery_env = {
            c.ENV_ALERTS_DELIVERY_QUEUE_URL: self.queue.queue_url,
            c.ENV_ALERTS_DELIVERY_DLQ_URL: self.dlq.queue_url,
            c.ENV_ALERT_NOTIFICATIONS_TOPIC_ARN: self.alert_topic.topic_arn,
            c.ENV_SES_SENDER: ses_sender,
            c.ENV_SES_CONFIGURATION_SET: c.SES_CONFIGURATION_SET_NAME,
            c.ENV_IDEMPOTENCY_TABLE: idempotency_table.table_name,
            c.ENV_ALERTS_UNSUBSCRIBE_SECRET_ARN: unsubscribe_secret.secret_arn,
            c.ENV_WS_MANAGEMENT_URL: ws_management_url,
        }
        self.delivery = defaults.function(
            self,
            "Delivery",
            source_dir=c.ALERTS_SOURCE_DIR,
            handler=c.ALERTS_DELIVERY_HANDLER,
            description="Stockscreen alert delivery (in-app, WebSocket, email, SNS, webhook)",
            timeout=Duration.seconds(c.ALERTS_DELIVERY_TIMEOUT_SECONDS),
            environment=delivery_env,
        )
        self.delivery.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=c.ALERTS_DELIVERY_BATCH_SIZE, report_batch_item_failures=True)
        )
        self.release = defaults.function(
            self,
            "Release",
            source_dir=c.ALERTS_SOURCE_DIR,
            handler=c.ALERTS_RELEASE_HANDLER,
            description="Stockscreen held alert messages (after quiet hours; daily-cap summaries)",
            timeout=Duration.minutes(2),
            environment=delivery_env,
        )
        self.release_rule = events.Rule(
            self,
            "ReleaseSchedule",
            description="Release held alert messages that are due",
            schedule=events.Schedule.expression(c.ALERTS_RELEASE_SCHEDULE_EXPRESSION),
        )
        self.release_rule.add_target(targets.LambdaFunction(self.release, retry_attempts=0))
        self.delivery_functions = (self.delivery, self.release)
        for fn in self.delivery_functions:
            self.alert_topic.grant_publish(fn)
            idempotency_table.grant_read_write_data(fn)
            unsubscribe_secret.grant_read(fn)
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["ses:SendRawEmail"],
                    resources=[self.sender_identity_arn, self.configuration_set_arn],
                )
            )
            # SMS to a user's phone number (publishing to a phone has no resource ARN): every SNS ARN is
            # excluded, so this statement cannot publish to any topic
            fn.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], not_resources=["arn:aws:sns:*:*:*"]))
            fn.add_to_role_policy(
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
