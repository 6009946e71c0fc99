"""Reports: EventBridge Scheduler (one periodic fan-out schedule) -> the reports state machine (select ->
Map: build -> render -> store -> send) -> a private, encrypted bucket of documents and SES.

The render task is its own function: the PDF library (fpdf2) and the email templates are in its own
layer (``make render-layer``), in no other function's package."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as sm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stockscreen.reports.definition import HANDLERS, STATE_MACHINE_NAME, TASKS, build_definition
from stockscreen.reports.schedule import TICK_MINUTES
from stockscreen_infra import constants as c
from stockscreen_infra.functions import FunctionDefaults
from stockscreen_infra.layer import ensure_layer_dir

#: Reports (PDF, CSV, the figures and email parts beside them) are kept this long.
REPORTS_RETENTION_DAYS = 400
SCHEDULE_EXPRESSION = f"rate({TICK_MINUTES} minutes)"


class Reports(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: FunctionDefaults,
        render_layer_dir: Path,
        ses_sender: str,
        unsubscribe_secret: sm.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(REPORTS_RETENTION_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )

        env = {c.ENV_REPORTS_BUCKET: self.bucket.bucket_name}
        #: task name (Select, Build, ...) -> the function running it
        self.functions: dict[str, lambda_.Function] = {}
        for state, handler in HANDLERS.items():
            render = state == "Render"
            self.functions[state] = defaults.function(
                self,
                f"{state}Function",
                source_dir=c.REPORTS_RENDER_SOURCE_DIR if render else c.REPORTS_SOURCE_DIR,
                handler=handler,
                description=f"Stockscreen reports task {state}",
                timeout=Duration.minutes(2) if render else Duration.minutes(5),
                memory_size=1024 if state in ("Build", "Render") else 512,
                environment=env
                if render
                else {
                    **env,
                    c.ENV_SES_SENDER: ses_sender,
                    c.ENV_ALERTS_UNSUBSCRIBE_SECRET_ARN: unsubscribe_secret.secret_arn,
                },
            )
        self.render = self.functions["Render"]
        if ensure_layer_dir(render_layer_dir):
            Annotations.of(self).add_warning_v2(
                "stockscreen:placeholder-render-layer",
                f"Render layer {render_layer_dir} is a placeholder; run `make render-layer` before deploying.",
            )
        self.render_layer = lambda_.LayerVersion(
            self,
            "RenderLayer",
            code=lambda_.Code.from_asset(str(render_layer_dir)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_11],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="fpdf2 + jinja2 for the reports render function",
        )
        self.render.add_layers(self.render_layer)

        # least privilege: build writes the figures, render reads them and writes the documents, send
        # reads the email parts and signs links to the PDF; store and select touch no object.
        self.grant_objects(self.functions["Build"], "s3:PutObject")
        self.grant_objects(self.render, "s3:GetObject", "s3:PutObject")
        self.grant_objects(self.functions["Send"], "s3:GetObject")
        unsubscribe_secret.grant_read(self.functions["Send"])
        # ses:SendRawEmail (the sender identity with the alerts' configuration set): granted by the stack, which
        # owns the configuration set (see StockscreenStack)

        self.log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            log_group_name=f"/aws/vendedlogs/states/{STATE_MACHINE_NAME}",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        #: The ARN by name, so the API may name it without depending on the machine (whose Send task links to
        #: the web app, which fronts the API: a cycle otherwise).
        self.state_machine_arn = Stack.of(self).format_arn(
            service="states",
            resource="stateMachine",
            resource_name=STATE_MACHINE_NAME,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=STATE_MACHINE_NAME,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(build_definition())),
            definition_substitutions={
                placeholder: self.functions[state].function_arn for state, placeholder in TASKS.items()
            },
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.hours(1),
            tracing_enabled=True,
            # every event, without the execution data (user ids, S3 keys)
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        for fn in self.functions.values():
            fn.grant_invoke(self.state_machine)

        # one periodic fan-out schedule (see the reports README: why not one schedule per user)
        self.schedule_role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler -> start the reports state machine",
        )
        self.state_machine.grant_start_execution(self.schedule_role)
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description="Reports fan-out: every tick selects the users whose local report time has come",
            schedule_expression=SCHEDULE_EXPRESSION,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn,
                role_arn=self.schedule_role.role_arn,
                # the tick's execution id is the run's correlation id (the tasks read it from their input)
                input=json.dumps(
                    {"now": "<aws.scheduler.scheduled-time>", "correlation_id": "<aws.scheduler.execution-id>"}
                ),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=TICK_MINUTES * 60, maximum_retry_attempts=3
                ),
            ),
        )

    #: the objects every report lives under (``reports/<user>/<run>/...``)
    OBJECTS = "reports/*"

    def grant_objects(self, grantee: iam.IGrantable, *actions: str) -> None:
        """Exactly ``actions`` on the report objects (no bucket listing, no multipart wildcards)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=list(actions), resources=[self.bucket.arn_for_objects(self.OBJECTS)])
        )
