"""PostgreSQL 15 (RDS, or an external TimescaleDB endpoint), Redis, and the JWT signing-key secret."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from stockscreen_infra import constants as c
from stockscreen_infra.network import Network


class Database(Construct):
    """The database and the secret that describes how to reach it.

    The secret always has the RDS-secret shape (``host``, ``port``, ``username``, ``password``,
    ``dbname``, ``engine``); functions receive its ARN as ``DATABASE_SECRET_ARN`` and build the
    SQLAlchemy URL at cold start. No connection string is ever put in plain environment variables.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: Network,
        timescale_endpoint: str | None = None,
        timescale_secret_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.instance: rds.DatabaseInstance | None = None

        if timescale_endpoint:
            # External TimescaleDB (e.g. Timescale Cloud). Reached through the NAT; the provider's
            # allow-list must contain the NAT's Elastic IP.
            if timescale_secret_arn:
                self.secret: sm.ISecret = sm.Secret.from_secret_complete_arn(
                    self, "TimescaleSecret", timescale_secret_arn
                )
            else:
                host, _, port = timescale_endpoint.partition(":")
                self.secret = sm.Secret(
                    self,
                    "TimescaleSecret",
                    description="TimescaleDB connection (set the real password after the first deploy)",
                    generate_secret_string=sm.SecretStringGenerator(
                        secret_string_template=Stack.of(self).to_json_string(
                            {
                                "engine": "postgres",
                                "host": host,
                                "port": int(port or c.DB_PORT),
                                "username": "tsdbadmin",
                                "dbname": "tsdb",
                            }
                        ),
                        generate_string_key="password",
                        exclude_punctuation=True,
                    ),
                )
            return

        self.instance = rds.DatabaseInstance(
            self,
            "Postgres",
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_15),
            instance_type=ec2.InstanceType.of(ec2.InstanceClass.BURSTABLE4_GRAVITON, ec2.InstanceSize.MICRO),
            vpc=network.vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[network.db_sg],
            credentials=rds.Credentials.from_generated_secret(c.DB_USERNAME),
            database_name=c.DB_NAME,
            port=c.DB_PORT,
            storage_encrypted=True,
            allocated_storage=20,
            max_allocated_storage=100,
            multi_az=False,
            publicly_accessible=False,
            backup_retention=Duration.days(7),
            deletion_protection=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
            auto_minor_version_upgrade=True,
            enable_performance_insights=False,
            cloudwatch_logs_exports=["postgresql"],
            iam_authentication=True,
        )
        assert self.instance.secret is not None
        self.secret = self.instance.secret


class Cache(Construct):
    """ElastiCache Redis replication group: TLS in transit, encrypted at rest, isolated subnets."""

    def __init__(self, scope: Construct, construct_id: str, *, network: Network) -> None:
        super().__init__(scope, construct_id)
        subnets = elasticache.CfnSubnetGroup(
            self,
            "Subnets",
            description="Stockscreen Redis subnets",
            subnet_ids=network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
        )
        self.replication_group = elasticache.CfnReplicationGroup(
            self,
            "Redis",
            replication_group_description="Stockscreen quotes cache and pub/sub",
            engine="redis",
            engine_version="7.1",
            cache_node_type="cache.t4g.micro",
            num_cache_clusters=1,  # cheap; raise to 2 and enable automatic_failover for HA
            automatic_failover_enabled=False,
            cache_subnet_group_name=subnets.ref,
            security_group_ids=[network.redis_sg.security_group_id],
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            port=c.REDIS_PORT,
            snapshot_retention_limit=1,
        )

    @property
    def url(self) -> str:
        """``rediss://`` (TLS) URL of the primary endpoint."""
        rg = self.replication_group
        return f"rediss://{rg.attr_primary_end_point_address}:{rg.attr_primary_end_point_port}/0"


class AppSecrets(Construct):
    """Application secrets: the JWT signing key (HS256, 64 random characters)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.jwt_secret = sm.Secret(
            self,
            "JwtSigningKey",
            description="Stockscreen JWT signing key",
            generate_secret_string=sm.SecretStringGenerator(password_length=64, exclude_punctuation=True),
        )
        #: Signs alert emails' one-click unsubscribe links (alert delivery signs, the API verifies): its
        #: own key, so the delivery function never holds the JWT key.
        self.unsubscribe_secret = sm.Secret(
            self,
            "AlertsUnsubscribeKey",
            description="Stockscreen alert email unsubscribe-link signing key",
            generate_secret_string=sm.SecretStringGenerator(password_length=64, exclude_punctuation=True),
        )
