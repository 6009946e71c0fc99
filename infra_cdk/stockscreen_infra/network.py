"""VPC (2 AZs, one NAT gateway) and the security groups of the functions and the data stores."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from stockscreen_infra import constants as c


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=1,  # cheap: one NAT for both AZs (accepting an AZ-level egress SPOF)
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
                ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                logs.LogGroup(self, "FlowLogGroup", retention=logs.RetentionDays.ONE_MONTH)
            ),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

        #: Functions need outbound HTTPS (market data vendor, AWS APIs through the NAT) and the data stores.
        self.lambda_sg = ec2.SecurityGroup(
            self,
            "LambdaSg",
            vpc=self.vpc,
            description="Stockscreen Lambda functions",
            allow_all_outbound=True,
        )
        self.db_sg = ec2.SecurityGroup(
            self, "DbSg", vpc=self.vpc, description="Stockscreen PostgreSQL", allow_all_outbound=False
        )
        self.db_sg.add_ingress_rule(
            self.lambda_sg, ec2.Port.tcp(c.DB_PORT), "PostgreSQL from the Lambda functions only"
        )
        self.redis_sg = ec2.SecurityGroup(
            self, "RedisSg", vpc=self.vpc, description="Stockscreen Redis", allow_all_outbound=False
        )
        self.redis_sg.add_ingress_rule(
            self.lambda_sg, ec2.Port.tcp(c.REDIS_PORT), "Redis from the Lambda functions only"
        )

    @property
    def app_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

    @property
    def data_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
