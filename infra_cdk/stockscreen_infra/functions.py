"""A factory for the project's Python Lambda functions (same runtime, layer, VPC, tracing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stockscreen_infra.network import Network

#: Never shipped inside function assets.
ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", "tests", ".chalice"]


@dataclass(frozen=True)
class FunctionDefaults:
    network: Network
    layer: lambda_.ILayerVersion
    environment: dict[str, str] = field(default_factory=dict)

    def function(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_dir: Path,
        handler: str,
        description: str,
        timeout: Duration | None = None,
        memory_size: int = 512,
        environment: dict[str, str] | None = None,
    ) -> lambda_.Function:
        fn = lambda_.Function(
            scope,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.X86_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(source_dir), exclude=ASSET_EXCLUDES),
            description=description,
            layers=[self.layer],
            vpc=self.network.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.network.lambda_sg],
            timeout=timeout or Duration.seconds(30),
            memory_size=memory_size,
            tracing=lambda_.Tracing.ACTIVE,
            environment={**self.environment, **(environment or {})},
            log_group=logs.LogGroup(scope, f"{construct_id}Logs", retention=logs.RetentionDays.ONE_MONTH),
        )
        return fn
