"""The raw bucket and its drop folder: a file put under ``incoming/`` (by hand, or by an admin's
upload from the SPA through a presigned POST) starts an ingest run.

S3 sends the bucket's events to EventBridge (``event_bridge_enabled``); a rule on the default bus
matches "Object Created" under ``incoming/`` (the pattern and the input transformer's paths come
from :mod:`stockscreen.pipeline.definition`, which ``make dev`` applies the same way) and starts
the ingest state machine with ``{"run_id": <event id>, "source": {"s3": {"bucket", "key"}}}``.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stockscreen.pipeline.definition import DROP_INPUT_PATHS, DROP_PREFIX, drop_event_pattern, drop_input_template
from stockscreen_infra.buckets import private_bucket

#: Objects in the drop folder are kept this long (the run keeps what it loaded and what it refused).
INCOMING_RETENTION_DAYS = 30


class RawBucket(Construct):
    """The bucket (private, encrypted, TLS only, its events sent to EventBridge)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = private_bucket(
            self,
            "Bucket",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-incoming",
                    prefix=DROP_PREFIX,
                    expiration=Duration.days(INCOMING_RETENTION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            # The SPA posts uploads straight to the bucket. Any origin may send the POST: what it may
            # write is decided by the presigned policy (one key, its type, its size), not by CORS; naming
            # the distribution's domain here would make the bucket and the distribution depend on each
            # other (its CSP names this bucket).
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                    max_age=600,
                )
            ],
        )

        # EventBridge notifications as the bucket's own property (``event_bridge_enabled`` would add a
        # custom-resource Lambda allowed s3:PutBucketNotification on every bucket).
        cfn = self.bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )

    @property
    def upload_origin(self) -> str:
        """The origin presigned POSTs go to (the bucket's regional virtual-hosted endpoint)."""
        return f"https://{self.bucket.bucket_regional_domain_name}"


class DropFolder(Construct):
    """The rule that turns an object created under ``incoming/`` into an ingest run, and the grants."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        raw: RawBucket,
        state_machine: sfn.IStateMachine,
        fetch_function: lambda_.IFunction,
        upload_signer: iam.IGrantable,
    ) -> None:
        super().__init__(scope, construct_id)
        bucket = raw.bucket
        self.role = iam.Role(
            self,
            "RuleRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="EventBridge drop-folder rule -> start the ingest state machine",
        )
        pattern = drop_event_pattern("BUCKET")
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"A file under {DROP_PREFIX} of the raw bucket starts an ingest run",
            event_pattern=events.EventPattern(
                source=pattern["source"],
                detail_type=pattern["detail-type"],
                detail={
                    "bucket": {"name": [bucket.bucket_name]},
                    "object": pattern["detail"]["object"],
                },
            ),
            targets=[
                targets.SfnStateMachine(
                    state_machine,
                    role=self.role,
                    input=events.RuleTargetInput.from_object(
                        drop_input_template({k: events.EventField.from_path(p) for k, p in DROP_INPUT_PATHS.items()})
                    ),
                )
            ],
        )
        # Fetch reads the dropped files; the API signs uploads into the drop folder; nothing else.
        incoming = bucket.arn_for_objects(f"{DROP_PREFIX}*")
        iam.Grant.add_to_principal(grantee=fetch_function, actions=["s3:GetObject"], resource_arns=[incoming])
        iam.Grant.add_to_principal(grantee=upload_signer, actions=["s3:PutObject"], resource_arns=[incoming])
