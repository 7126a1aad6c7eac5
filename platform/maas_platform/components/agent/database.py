"""``storage: postgres``: the agent's Aurora Serverless v2 PostgreSQL cluster."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from ... import names
from ...config.agents import AgentSpec, PostgresStorage
from ...config.defaults import tier
from ...iam import Statement
from ...iam.grants import database_user_access, key_use
from ..base import encrypted_log_group
from ..contract import PlatformRefs
from .common import data_protected, moved, physical_name
from .datastore import Datastore, DatastoreArgs

POSTGRES_PORT = 5432
# The logs the cluster exports to CloudWatch Logs.
LOG_EXPORTS = ("postgresql",)


def database_log_group_names(spec: AgentSpec, platform: PlatformRefs) -> list[str]:
    """The log groups RDS writes the agent's cluster logs to; none unless its storage is postgres.

    RDS uses ``/aws/rds/cluster/<cluster identifier>/<log>`` when it exists, and otherwise creates
    it itself: unencrypted, never expiring and outside the stack, left behind by a destroy.
    (Checked on 2026-12-02 in awsdocs/amazon-aurora-user-guide ``doc_source/AuroraPostgreSQL.CloudWatch.md``:
    "If a log group with the specified name exists, Aurora uses that log group ... Otherwise, a
    new log group is automatically created using the default log retention period, Never Expire.")
    The cluster identifier is the agent's physical name.
    """
    if not isinstance(spec.storage, PostgresStorage):
        return []
    return [f"/aws/rds/cluster/{physical_name(spec, platform)}/{log}" for log in LOG_EXPORTS]


def database_user(agent: str) -> str:
    """The agent's database user (IAM authentication): its name with ``_`` for ``-``."""
    return agent.replace("-", "_")


class PostgresDatastore(pulumi.ComponentResource, Datastore):
    """IAM authentication, TLS only, in private subnets, reachable from the cluster only,
    encrypted with the agent's key; one instance per AZ the environment's tier asks for.

    A retired agent's cluster stays whole (subnet group, security group, parameters, log groups,
    instances: removing a protected instance would fail the update), protected with deletion
    protection on (:func:`.common.data_protected`) until the agent is deletable."""

    key_service = "rds"
    vpc_ports = (POSTGRES_PORT,)

    def __init__(self, name: str, args: DatastoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_AGENT_POSTGRES_DATASTORE, f"{name}-datastore", None, opts)
        spec, storage, platform = args.spec, args.spec.storage, args.platform
        assert isinstance(storage, PostgresStorage)
        self.spec, self.account, self.key_arn = spec, platform.account, args.key_arn
        agent = opts.parent if opts else None
        physical, protect = physical_name(spec, platform), data_protected(spec, platform)
        # Where the environment protects stateful resources, a deletion leaves a final snapshot
        # and changes wait for the maintenance window, whatever the agent's lifecycle.
        keep_snapshot = platform.protect_stateful
        subnets = aws.rds.SubnetGroup(
            f"{name}-db-subnets",
            name=physical,
            description=f"Private subnets of agent {spec.name}'s database",
            subnet_ids=platform.private_subnet_ids,
            opts=moved(self, agent),
        )
        security_group = aws.ec2.SecurityGroup(
            f"{name}-db-sg",
            name=f"{physical}-db",
            description=f"PostgreSQL of agent {spec.name}: from the cluster's pods only",
            vpc_id=platform.vpc_id,
            ingress=[{
                "description": "PostgreSQL from EKS pods and nodes",
                "protocol": "tcp", "from_port": POSTGRES_PORT, "to_port": POSTGRES_PORT,
                "security_groups": [platform.cluster_security_group_id],
            }],
            egress=[],
            opts=moved(self, agent),
        )
        parameters = aws.rds.ClusterParameterGroup(
            f"{name}-db-params",
            name=physical,
            family=f"aurora-postgresql{storage.engine_version.split('.')[0]}",
            description=f"Agent {spec.name}: TLS only, connections, schema changes and slow statements logged",
            parameters=[
                {"name": "rds.force_ssl", "value": "1"},
                {"name": "log_connections", "value": "1"},
                {"name": "log_min_duration_statement", "value": "1000"},
                # DDL is the audit trail of schema changes; row reads and writes stay out of the logs.
                {"name": "log_statement", "value": "ddl"},
            ],
            opts=moved(self, agent),
        )
        # Before the cluster, so that RDS finds them: under the agent's key (its policy lets
        # CloudWatch Logs use it for exactly these groups) and the environment's retention.
        log_groups = [
            encrypted_log_group(
                self, f"{name}-db-logs-{log}", group, retention_days=platform.log_retention_days,
                key_arn=args.key_arn, protect=protect,
            )
            for log, group in zip(LOG_EXPORTS, database_log_group_names(spec, platform))
        ]
        min_capacity = storage.min_capacity_acu if platform.scale_to_zero else max(storage.min_capacity_acu, 0.5)
        scaling: dict[str, Any] = {"min_capacity": min_capacity, "max_capacity": storage.max_capacity_acu}
        if min_capacity == 0:
            scaling["seconds_until_auto_pause"] = 900
        self.cluster = cluster = aws.rds.Cluster(
            f"{name}-db",
            cluster_identifier=physical,
            engine="aurora-postgresql",
            engine_mode="provisioned",
            engine_version=storage.engine_version,
            database_name=spec.database_name,
            master_username="maas_admin",
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.key_arn,
            iam_database_authentication_enabled=True,
            storage_encrypted=True,
            kms_key_id=args.key_arn,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[security_group.id],
            db_cluster_parameter_group_name=parameters.name,
            serverlessv2_scaling_configuration=scaling,
            backup_retention_period=storage.backup_retention_days,
            preferred_backup_window="03:00-04:00",
            copy_tags_to_snapshot=True,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            deletion_protection=protect,
            skip_final_snapshot=not keep_snapshot,
            final_snapshot_identifier=f"{physical}-final" if keep_snapshot else None,
            apply_immediately=not keep_snapshot,
            opts=moved(self, agent, protect=protect, depends_on=log_groups),
        )
        zones = pulumi.Output.from_input(platform.availability_zones)
        # The environment's tier decides the count (prod: a reader in another AZ), looked up by
        # the environment's name in config.defaults: PlatformRefs has no field for it.
        for index in range(tier(platform.environment).database_instances):
            aws.rds.ClusterInstance(
                f"{name}-db-{index}",
                identifier=f"{physical}-{index}",
                cluster_identifier=cluster.id,
                instance_class="db.serverless",
                engine=cluster.engine,
                engine_version=cluster.engine_version,
                availability_zone=zones.apply(lambda z, i=index: z[i % len(z)]),
                db_subnet_group_name=subnets.name,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                promotion_tier=index,
                # Query-level load, encrypted with the agent's key; 7 days is the free retention.
                performance_insights_enabled=True,
                performance_insights_kms_key_id=args.key_arn,
                performance_insights_retention_period=7,
                opts=moved(self, agent, protect=protect),
            )
        self.resource = cluster
        self.register_outputs({"endpoint": cluster.endpoint, "arn": cluster.arn})

    def arns(self) -> list[pulumi.Input[str]]:
        """The agent's database user: ``rds-db:connect`` names the cluster's resource id, not its ARN."""
        user, account = database_user(self.spec.name), self.account
        return [self.cluster.cluster_resource_id.apply(lambda rid: account.arn("rds-db", f"dbuser:{rid}/{user}"))]

    def grant_read_write(self) -> list[Statement]:
        return database_user_access(self.arns()) + key_use(self.key_arn, sid="OwnDatabaseKey")

    def environment(self) -> list[dict[str, Any]]:
        return [
            {"name": "PGHOST", "value": self.cluster.endpoint},
            {"name": "PGPORT", "value": str(POSTGRES_PORT)},
            {"name": "PGDATABASE", "value": self.spec.database_name},
            {"name": "PGUSER", "value": database_user(self.spec.name)},
            {"name": "PGSSLMODE", "value": "verify-full"},
        ]

    def outputs(self) -> dict[str, pulumi.Input]:
        return {"endpoint": self.cluster.endpoint, "reader_endpoint": self.cluster.reader_endpoint, "arn": self.cluster.arn}
