"""Alerts: prices.updated rule -> alerts function + WS broadcaster, queue + DLQ, SNS, SES."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
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
    ) -> None:
        super().__init__(scope, construct_id)

        self.dlq = sqs.Queue(
            self,
            "Dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        #: Outbox of triggered alert notifications (email/in-app), redriven to the DLQ after 5 tries.
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.minutes(2),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=c.ALERTS_QUEUE_MAX_RECEIVE_COUNT),
        )
        self.topic = sns.Topic(
            self,
            "Notifications",
            topic_name=c.NOTIFICATIONS_TOPIC_NAME,
            display_name="Stockscreen alerts and admin notifications",
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
            environment={
                c.ENV_ALERTS_QUEUE_URL: self.queue.queue_url,
                c.ENV_NOTIFICATIONS_TOPIC_ARN: self.topic.topic_arn,
                c.ENV_SES_SENDER: ses_sender,
            },
        )
        self.queue.grant_send_messages(self.function)
        self.topic.grant_publish(self.function)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[self.sender_identity_arn],
            )
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
