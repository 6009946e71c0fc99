"""Live quotes: the poller Lambda (functions/quotes) and its every-minute EventBridge rule.

Each invocation polls for about a minute (``QUOTE_RUN_SECONDS``), so the rule fires every minute and
the function's reserved concurrency of 1 keeps two runs from polling at once. A run that missed its
minute is not worth a retry (the next one starts within the minute): no retries, a 60 s event age.
The poller posts the fan-out itself (in-process consumers), so it may manage the WebSocket API's
connections, and it reads the database secret (granted by the stack, as for every function).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stockscreen_infra import constants as c
from stockscreen_infra.functions import FunctionDefaults


class Quotes(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: FunctionDefaults,
        ws_management_url: str,
        ws_connections_arn: str,
        alerts_queue: sqs.IQueue,
        schedule_expression: str = c.QUOTES_SCHEDULE_EXPRESSION,
    ) -> None:
        super().__init__(scope, construct_id)

        self.function = defaults.function(
            self,
            "Poller",
            source_dir=c.QUOTES_SOURCE_DIR,
            handler=c.QUOTES_HANDLER,
            description="Stockscreen live quote poller (polls every few seconds for a minute)",
            timeout=Duration.seconds(c.QUOTES_TIMEOUT_SECONDS),
            memory_size=512,
            environment={
                c.ENV_WS_MANAGEMENT_URL: ws_management_url,
                # each quote batch is evaluated against the armed alerts; firings go to the delivery queue
                c.ENV_ALERTS_DELIVERY_QUEUE_URL: alerts_queue.queue_url,
                "QUOTE_PROVIDER": "stooq",
                "QUOTE_RUN_SECONDS": str(c.QUOTES_RUN_SECONDS),
            },
        )
        alerts_queue.grant_send_messages(self.function)
        cfn = self.function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.reserved_concurrent_executions = 1  # one poller at a time: runs never overlap
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["execute-api:ManageConnections"], resources=[ws_connections_arn])
        )
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Start the live quote poller every minute (it returns at once outside market hours)",
            schedule=events.Schedule.expression(schedule_expression),
            targets=[targets.LambdaFunction(self.function, retry_attempts=0, max_event_age=Duration.seconds(60))],
        )
