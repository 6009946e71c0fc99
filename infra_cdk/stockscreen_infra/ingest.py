"""Ingest: one function per task, the shared state machine definition, the bus and the schedule."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stockscreen.pipeline.definition import HANDLERS, STATE_MACHINE_NAME, TASKS, definition_json
from stockscreen_infra import constants as c
from stockscreen_infra.functions import FunctionDefaults


class Ingest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: FunctionDefaults,
        schedule_expression: str,
    ) -> None:
        super().__init__(scope, construct_id)

        self.bus = events.EventBus(self, "Bus", event_bus_name=c.EVENT_BUS_NAME)
        # Powertools idempotency records of the tasks (partition key ``id``, TTL ``expiration``).
        self.idempotency_table = dynamodb.Table(
            self,
            "IdempotencyTable",
            table_name=c.IDEMPOTENCY_TABLE_NAME,
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiration",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Failed runs are announced to the admins here.
        self.admin_topic = sns.Topic(self, "AdminTopic", topic_name=c.ADMIN_TOPIC_NAME, enforce_ssl=True)

        # Snapshot artifacts (stockscreen.screening.artifact): written by Aggregate, read by the API.
        self.snapshot_bucket = s3.Bucket(
            self,
            "SnapshotBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=False,
        )
        #: state name (Fetch, Validate, ...) -> function running it
        self.functions: dict[str, lambda_.Function] = {}
        for state, handler in HANDLERS.items():
            self.functions[state] = defaults.function(
                self,
                f"{state}Function",
                source_dir=c.INGEST_SOURCE_DIR,
                handler=handler,
                description=f"Stockscreen ingest task {state}",
                timeout=Duration.minutes(15),  # the ASL task timeout is 900 s
                memory_size=c.INGEST_MEMORY_MB.get(state, c.INGEST_DEFAULT_MEMORY_MB),
                environment={
                    c.ENV_EVENT_BUS_NAME: self.bus.event_bus_name,
                    c.ENV_IDEMPOTENCY_TABLE: self.idempotency_table.table_name,
                    c.ENV_ADMIN_TOPIC_ARN: self.admin_topic.topic_arn,
                },
            )
            self.idempotency_table.grant_read_write_data(self.functions[state])
        # Only the Aggregate task writes (and prunes) snapshot artifacts.
        aggregate = self.functions["Aggregate"]
        self.snapshot_bucket.grant_read_write(aggregate)
        self.snapshot_bucket.grant_delete(aggregate)
        aggregate.add_environment(c.ENV_SNAPSHOT_BUCKET, self.snapshot_bucket.bucket_name)
        # Only the Publish task emits domain events.
        self.bus.grant_put_events_to(self.functions["Publish"])
        # Only the failure branch notifies the admins.
        self.admin_topic.grant_publish(self.functions["RecordFailure"])

        self.log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            log_group_name=f"/aws/vendedlogs/states/{STATE_MACHINE_NAME}",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # The ASL comes from the one shared source (stockscreen.pipeline.definition); CDK only
        # fills the ``${XxxFunctionArn}`` placeholders.
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=STATE_MACHINE_NAME,
            definition_body=sfn.DefinitionBody.from_string(definition_json()),
            definition_substitutions={
                placeholder: self.functions[state].function_arn for state, placeholder in TASKS.items()
            },
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.hours(2),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        for fn in self.functions.values():
            fn.grant_invoke(self.state_machine)

        self.schedule_role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="EventBridge schedule -> start the ingest state machine",
        )
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Daily ingest after the US close (weekdays)",
            schedule=events.Schedule.expression(schedule_expression),
            targets=[
                # The run id and the correlation id are the scheduled event's id (the tick is the edge); the
                # provider fetches the trading day of its time.
                targets.SfnStateMachine(
                    self.state_machine,
                    role=self.schedule_role,
                    input=events.RuleTargetInput.from_object(
                        {
                            "run_id": events.EventField.event_id,
                            "correlation_id": events.EventField.event_id,
                            "source": {"provider": "stooq", "scheduled_time": events.EventField.time},
                        }
                    ),
                )
            ],
        )
