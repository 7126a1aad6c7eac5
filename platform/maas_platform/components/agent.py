"""``AgentService``: one agent as a bounded context.

Everything an agent owns is created here and nowhere else, from one :class:`AgentSpec`:

* a namespace under Pod Security ``restricted`` with a quota, default limits and a
  default-deny network policy that opens only DNS, the load balancer, monitoring and
  the AWS endpoints;
* an IAM role only pods of this namespace's service account can assume (EKS Pod
  Identity, or IRSA), and the External Secrets controller on the agent's behalf;
* its own KMS key, its datastore (DynamoDB, Aurora Serverless v2 PostgreSQL or S3)
  and its Secrets Manager secrets, all encrypted with that key;
* a role policy that names only those resources (built by :mod:`.grants`);
* the workload: a hardened Deployment, Service, PodDisruptionBudget, CPU autoscaler
  and the REST entry (an Ingress on the shared load balancer, HTTPS when public);
* in a team stack, its monthly AWS Budget (the platform stack budgets its own agents).

The platform stack creates one per entry of ``maas:agents``; a team stack calls it
directly with the platform's outputs (:class:`PlatformRefs`).
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field

from ..config.agents import (
    AgentSpec, DynamoDBStorage, PostgresStorage, PublicExposure, S3Storage,
    cpu_millicores, memory_bytes, name_limits, secret_env_name, topic_env_name,
)
from ..config.loader import ConfigError
from ..iam import Statement, Trust, policy_document, pod_identity, trust_policy
from ..slo import agent_dashboard, dashboard_uid, openslo_documents, otel_environment, prometheus_rule_spec
from ..tagging import tag_transformation
from .base import RESTRICTED_NAMESPACE_LABELS, AccountContext, ComponentArgs, ListInput, StrInput, child, encrypted_log_group
from .observability import agent_log_group_prefix
from .budgets import BudgetNotifications, agent_budget_name, monthly_budget
from .encryption import KEY_ADMIN_ACTIONS, KEY_USE_ACTIONS
from ..iam.grants import agent_statements

# The EKS Pod Identity agent answers credential requests on this link-local address.
POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"
INSTANCE_METADATA_CIDR = "169.254.169.254/32"
SECRET_STORE = "aws-secrets-manager"
RUN_AS = 10001
MONITORING_NAMESPACE = "monitoring"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
POSTGRES_PORT = 5432
# Ports of the optional brokers in the VPC: AMQPS (Amazon MQ), Kafka with IAM auth (MSK).
BROKER_PORTS = {"rabbitmq": 5671, "msk-serverless": 9098}
# Services the agent key may be used through, on the agent's behalf.
KEY_SERVICES = ("dynamodb", "rds", "s3", "secretsmanager", "sqs")


def image_pull_policy(image: str) -> str:
    """``IfNotPresent`` for an image pinned by digest (its content cannot change); ``Always``
    for a tag, which can be moved: a node must not keep running its stale copy of the tag."""
    return "IfNotPresent" if "@sha256:" in image else "Always"


class TopicRef(ComponentArgs):
    arn: StrInput
    ordered: bool = False


class MessagingRefs(ComponentArgs):
    """The environment's broker, as agents see it (``maas:broker`` and the platform's outputs)."""

    backend: str = Field("sns-sqs", description="sns-sqs, rabbitmq or msk-serverless.")
    topics: dict[str, TopicRef] = Field(default_factory=dict, description="Declared topics by name.")
    broker_key_arn: Optional[StrInput] = Field(None, description="Key of the topics.")
    alert_topic_arn: Optional[StrInput] = Field(None, description="Where alarms go.")
    kafka_cluster_arn: Optional[StrInput] = Field(None, description="MSK Serverless cluster (msk-serverless).")
    max_receive_count: int = 5
    visibility_timeout_seconds: int = 60
    inbox_retention_days: int = 4
    dlq_retention_days: int = 14
    max_message_age_seconds: int = 900
    keda_authentication: Optional[str] = Field(
        "keda-aws", description="ClusterTriggerAuthentication of KEDA; None scales on CPU only."
    )


class PlatformRefs(ComponentArgs):
    """What an agent needs from its environment: the platform stack's outputs."""

    environment: str = Field(description="dev, staging or prod.")
    prefix: str = Field(description="Prefix of physical names, <name>-<environment>.")
    account: AccountContext
    cluster_name: StrInput
    cluster_arn: StrInput
    vpc_id: StrInput
    vpc_cidr: StrInput
    private_subnet_ids: ListInput
    availability_zones: ListInput
    cluster_security_group_id: StrInput
    external_secrets_role_arn: StrInput = Field(description="Role of the External Secrets controller.")
    oidc_provider_arn: Optional[StrInput] = Field(None, description="IRSA: the cluster's IAM OIDC provider.")
    oidc_issuer: Optional[StrInput] = Field(None, description="IRSA: the cluster's OIDC issuer URL.")
    ingress_class: str = Field("alb", description="IngressClass of the AWS Load Balancer Controller.")
    protect_stateful: bool = Field(False, description="Protect data and keys (prod).")
    scale_to_zero: bool = Field(True, description="Idle datastores may pause (not in prod).")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags of the environment.")
    messaging: MessagingRefs = Field(MessagingRefs(), description="The environment's broker.")
    trace_sample_ratio: float = Field(0.1, ge=0, le=1, description="Share of new traces agents sample.")
    logs_key_arn: Optional[StrInput] = Field(None, description="Platform key of CloudWatch log groups.")
    log_retention_days: int = Field(30, description="Retention of the agent's container log group.")
    runbook_base: str = Field(
        "https://github.com/acme/maas/blob/main/docs/runbooks", description="Where alert runbook links point."
    )
    taken_names: list[str] = Field(
        default_factory=list, description="Agent names the platform stack already deploys (their namespaces exist)."
    )
    agent_budgets: Optional[BudgetNotifications] = Field(
        None,
        description="How the agent's own monthly budget (budget.monthly_usd) notifies: the platform's thresholds, "
                    "alert topic and e-mails (a team stack reads them from the agent_budgets output). None where "
                    "the platform stack budgets the agent itself (maas:agents), so no agent is budgeted twice.",
    )

    @classmethod
    def from_stack_reference(cls, reference: pulumi.StackReference, environment: str, prefix: str, region: str,
                             account_id: str, **overrides: Any) -> "PlatformRefs":
        """Refs read from a platform stack's outputs (as ``Platform.outputs()`` names them)."""
        out = reference.require_output
        fields: dict[str, Any] = dict(
            environment=environment,
            prefix=prefix,
            account=AccountContext(account_id=account_id, region=region),
            cluster_name=out("cluster_name"),
            cluster_arn=out("cluster_arn"),
            vpc_id=out("vpc_id"),
            vpc_cidr=out("vpc_cidr"),
            private_subnet_ids=out("private_subnet_ids"),
            availability_zones=out("availability_zones"),
            cluster_security_group_id=out("cluster_security_group_id"),
            external_secrets_role_arn=out("external_secrets_role_arn"),
            oidc_provider_arn=reference.get_output("oidc_provider_arn"),
            oidc_issuer=out("cluster_oidc_issuer"),
            logs_key_arn=out("logs_key_arn"),
            protect_stateful=environment == "prod",
            scale_to_zero=environment != "prod",
        )
        return cls(**{**fields, **overrides})


class AgentServiceArgs(ComponentArgs):
    spec: AgentSpec
    platform: PlatformRefs


class AgentService(pulumi.ComponentResource):
    """One agent's bounded context. Give it the AWS and Kubernetes providers via ``opts.providers``."""

    role: aws.iam.Role
    key: aws.kms.Key
    namespace: k8s.core.v1.Namespace
    datastore: Optional[pulumi.CustomResource]
    secrets: dict[str, aws.secretsmanager.Secret]
    deployment: k8s.apps.v1.Deployment

    def __init__(self, name: str, args: AgentServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        spec, platform = args.spec, args.platform
        problem = name_limits(platform.prefix, spec.name)
        if problem:
            raise ConfigError(f"agent '{spec.name}': name {problem}")
        if spec.name in platform.taken_names:
            raise ConfigError(f"agent '{spec.name}': name is taken by an agent of the platform stack; choose another")
        declared = platform.messaging.topics if platform.messaging.backend == "sns-sqs" else None
        for field, topics in (("publishes", spec.messaging.publishes), ("subscribes", [s.topic for s in spec.messaging.subscribes])):
            for topic in topics:
                if declared is not None and topic not in declared:
                    raise ConfigError(
                        f"agent '{spec.name}': messaging.{field}: topic '{topic}' is not declared by the platform "
                        f"(maas:broker.topics); declared: {', '.join(sorted(declared)) or 'none'}"
                    )
        if declared and len({declared[s.topic].ordered for s in spec.messaging.subscribes}) > 1:
            raise ConfigError(
                f"agent '{spec.name}': messaging.subscribes: an inbox is FIFO or standard; "
                "subscribe to ordered or to unordered topics, not both"
            )
        self.spec, self.platform = spec, platform
        self.physical = f"{platform.prefix}-{spec.name}"
        self.labels = {
            "app.kubernetes.io/name": spec.name,
            "app.kubernetes.io/part-of": "maas",
            "app.kubernetes.io/managed-by": "pulumi",
            "maas.dev/agent": spec.name,
            "maas.dev/team": spec.team,
            "maas.dev/environment": platform.environment,
            "maas.dev/cost-center": spec.cost_center,
        }
        tags = {**platform.tags, "team": spec.team, "agent": spec.name, "cost-center": spec.cost_center}
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=[tag_transformation(tags)]))
        super().__init__("maas:agent:AgentService", name, None, opts)
        # What the caller made the agent wait for (the cluster add-ons): its namespace waits,
        # and every Kubernetes object waits for the namespace.
        after = opts.depends_on if isinstance(opts.depends_on, list) else ([opts.depends_on] if opts.depends_on else [])
        self._after = [r for r in after if isinstance(r, pulumi.Resource)]

        self.role = self._role(name)
        self.key = self._key(name)
        self.datastore = self._datastore(name)
        self.secrets = self._secrets(name)
        self.inbox, self.dead_letters = self._messaging(name)
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-access",
            role=self.role.id,
            policy=policy_document(*agent_statements(
                key_arn=self.key.arn,
                storage=spec.storage,
                datastore=self.datastore_arns(),
                secret_arns=[s.arn for s in self.secrets.values()],
                inbox_arn=self.inbox.arn if self.inbox else None,
                publish_arns=[self.platform.messaging.topics[t].arn for t in spec.messaging.publishes
                              if t in self.platform.messaging.topics],
                broker_key_arn=self.platform.messaging.broker_key_arn if spec.messaging.publishes else None,
                kafka=self._kafka_grants(),
            )),
            opts=child(self),
        )

        self.namespace = self._namespace(name)
        self.service_account = self._service_account(name)
        self._network_policies(name)
        self._quota(name)
        secret_sync = self._secret_sync(name) if self.secrets else None
        self.deployment = self._deployment(name, secret_sync)
        self._exposure(name)
        self._observability(name)
        self.budget = self._budget(name)

        self.register_outputs({
            "namespace": spec.name,
            "slos": openslo_documents(spec, spec.namespace),
            "role_arn": self.role.arn,
            "key_arn": self.key.arn,
            "secret_arns": {n: s.arn for n, s in self.secrets.items()},
            **{f"datastore_{k}": v for k, v in self.datastore_outputs().items()},
        })

    # -- identity --------------------------------------------------------------------------

    def _role(self, name: str) -> aws.iam.Role:
        platform, spec = self.platform, self.spec
        if spec.identity == "irsa":
            if platform.oidc_provider_arn is None or platform.oidc_issuer is None:
                raise ConfigError(f"agent '{spec.name}': IRSA needs the cluster's OIDC provider (maas:cluster.irsa: true)")
            issuer = pulumi.Output.from_input(platform.oidc_issuer).apply(lambda url: url.removeprefix("https://"))
            workload = Trust(
                sid="IrsaOfTheAgentServiceAccount",
                principal={"Federated": platform.oidc_provider_arn},
                actions=("sts:AssumeRoleWithWebIdentity",),
                conditions=issuer.apply(lambda host: {"StringEquals": {
                    f"{host}:sub": f"system:serviceaccount:{spec.namespace}:{spec.name}",
                    f"{host}:aud": "sts.amazonaws.com",
                }}),
            )
        else:
            workload = pod_identity(platform.account.account_id, platform.cluster_arn, spec.namespace, spec.name)
        # External Secrets reads the agent's secrets by assuming this role, never with its own.
        secret_sync = Trust(
            sid="ExternalSecretsOnBehalfOfTheAgent",
            principal={"AWS": platform.external_secrets_role_arn},
            actions=("sts:AssumeRole", "sts:TagSession"),
        )
        return aws.iam.Role(
            f"{name}-role",
            name=f"{platform.prefix}-agent-{spec.name}",
            description=f"Agent {spec.name} (team {spec.team}) in {platform.prefix}",
            assume_role_policy=trust_policy(workload, secret_sync),
            max_session_duration=3600,
            opts=child(self),
        )

    def _key(self, name: str) -> aws.kms.Key:
        """The agent's own key: usable by its role, and by AWS services only on the account's behalf."""
        account = self.platform.account
        root = {"AWS": account.root_principal}
        statements = [
            Statement(sid="RootAdministersKey", principals=root, actions=KEY_ADMIN_ACTIONS, resources=("*",)),
            Statement(
                sid="AgentUsesKey",
                principals={"AWS": self.role.arn},
                actions=KEY_USE_ACTIONS,
                resources=("*",),
            ),
            Statement(
                sid="ServicesOfTheAgentUseKey",
                principals=root,
                actions=KEY_USE_ACTIONS + ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"),
                resources=("*",),
                conditions={"StringEquals": {
                    "kms:CallerAccount": account.account_id,
                    "kms:ViaService": [account.regional_service(s) for s in KEY_SERVICES],
                }},
            ),
        ]
        subscribed = self._subscribed_topic_arns()
        if subscribed:
            # SNS encrypts what it delivers into the agent's inbox with the agent's key.
            statements.append(Statement(
                sid="SubscribedTopicsDeliverToInbox",
                principals={"Service": account.service_principal("sns")},
                actions=("kms:Decrypt", "kms:GenerateDataKey"),
                resources=("*",),
                conditions={"ArnEquals": {"aws:SourceArn": subscribed}},
            ))
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{self.physical}: data and secrets of agent {self.spec.name}",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30 if self.platform.protect_stateful else 7,
            policy=policy_document(*statements),
            opts=child(self, protect=self.platform.protect_stateful),
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{self.physical}", target_key_id=key.key_id, opts=child(self))
        return key

    # -- data --------------------------------------------------------------------------------

    def _datastore(self, name: str) -> Optional[pulumi.CustomResource]:
        storage = self.spec.storage
        if isinstance(storage, DynamoDBStorage):
            return self._table(name, storage)
        if isinstance(storage, PostgresStorage):
            return self._postgres(name, storage)
        if isinstance(storage, S3Storage):
            return self._bucket(name, storage)
        return None

    def _table(self, name: str, storage: DynamoDBStorage) -> aws.dynamodb.Table:
        attributes = [{"name": storage.partition_key, "type": "S"}]
        if storage.sort_key:
            attributes.append({"name": storage.sort_key, "type": "S"})
        protect = self.platform.protect_stateful
        return aws.dynamodb.Table(
            f"{name}-table",
            name=self.physical,
            billing_mode="PAY_PER_REQUEST",
            hash_key=storage.partition_key,
            range_key=storage.sort_key,
            attributes=attributes,
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": self.key.arn},
            ttl={"enabled": True, "attribute_name": storage.ttl_attribute} if storage.ttl_attribute else None,
            deletion_protection_enabled=protect,
            opts=child(self, protect=protect),
        )

    def _postgres(self, name: str, storage: PostgresStorage) -> aws.rds.Cluster:
        platform, protect = self.platform, self.platform.protect_stateful
        subnets = aws.rds.SubnetGroup(
            f"{name}-db-subnets",
            name=self.physical,
            description=f"Private subnets of agent {self.spec.name}'s database",
            subnet_ids=platform.private_subnet_ids,
            opts=child(self),
        )
        security_group = aws.ec2.SecurityGroup(
            f"{name}-db-sg",
            name=f"{self.physical}-db",
            description=f"PostgreSQL of agent {self.spec.name}: from the cluster's pods only",
            vpc_id=platform.vpc_id,
            ingress=[{
                "description": "PostgreSQL from EKS pods and nodes",
                "protocol": "tcp", "from_port": POSTGRES_PORT, "to_port": POSTGRES_PORT,
                "security_groups": [platform.cluster_security_group_id],
            }],
            egress=[],
            opts=child(self),
        )
        parameters = aws.rds.ClusterParameterGroup(
            f"{name}-db-params",
            name=self.physical,
            family=f"aurora-postgresql{storage.engine_version.split('.')[0]}",
            description=f"Agent {self.spec.name}: TLS only, connections, schema changes and slow statements logged",
            parameters=[
                {"name": "rds.force_ssl", "value": "1"},
                {"name": "log_connections", "value": "1"},
                {"name": "log_min_duration_statement", "value": "1000"},
                # DDL is the audit trail of schema changes; row reads and writes stay out of the logs.
                {"name": "log_statement", "value": "ddl"},
            ],
            opts=child(self),
        )
        min_capacity = storage.min_capacity_acu if platform.scale_to_zero else max(storage.min_capacity_acu, 0.5)
        scaling: dict[str, Any] = {"min_capacity": min_capacity, "max_capacity": storage.max_capacity_acu}
        if min_capacity == 0:
            scaling["seconds_until_auto_pause"] = 900
        cluster = aws.rds.Cluster(
            f"{name}-db",
            cluster_identifier=self.physical,
            engine="aurora-postgresql",
            engine_mode="provisioned",
            engine_version=storage.engine_version,
            database_name=self.spec.database_name,
            master_username="maas_admin",
            manage_master_user_password=True,
            master_user_secret_kms_key_id=self.key.arn,
            iam_database_authentication_enabled=True,
            storage_encrypted=True,
            kms_key_id=self.key.arn,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[security_group.id],
            db_cluster_parameter_group_name=parameters.name,
            serverlessv2_scaling_configuration=scaling,
            backup_retention_period=storage.backup_retention_days,
            preferred_backup_window="03:00-04:00",
            copy_tags_to_snapshot=True,
            enabled_cloudwatch_logs_exports=["postgresql"],
            deletion_protection=protect,
            skip_final_snapshot=not protect,
            final_snapshot_identifier=f"{self.physical}-final" if protect else None,
            apply_immediately=not protect,
            opts=child(self, protect=protect),
        )
        zones = pulumi.Output.from_input(platform.availability_zones)
        instances = 2 if platform.environment == "prod" else 1  # a reader in another AZ in prod
        for index in range(instances):
            aws.rds.ClusterInstance(
                f"{name}-db-{index}",
                identifier=f"{self.physical}-{index}",
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
                performance_insights_kms_key_id=self.key.arn,
                performance_insights_retention_period=7,
                opts=child(self, protect=protect),
            )
        return cluster

    def _bucket(self, name: str, storage: S3Storage) -> aws.s3.Bucket:
        protect = self.platform.protect_stateful
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=f"{self.physical}-{self.platform.account.account_id}",
            force_destroy=not protect,
            opts=child(self, protect=protect),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-bucket-public-access",
            bucket=bucket.id,
            block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
            opts=child(self),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-bucket-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child(self),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-bucket-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child(self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket-encryption",
            bucket=bucket.id,
            rules=[{
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": self.key.arn},
                "bucket_key_enabled": True,
            }],
            opts=child(self),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket-lifecycle",
            bucket=bucket.id,
            rules=[{
                "id": "expire-old-versions",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": storage.noncurrent_version_expiration_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }],
            opts=child(self, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.id,
            policy=policy_document(Statement(
                sid="DenyInsecureTransport",
                effect="Deny",
                principals={"AWS": "*"},
                actions=("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetObjectVersion",
                         "s3:DeleteObjectVersion", "s3:PutBucketPolicy", "s3:GetBucketPolicy"),
                resources=(bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")),
                conditions={"Bool": {"aws:SecureTransport": False}},
            )),
            opts=child(self),
        )
        return bucket

    def datastore_arns(self) -> list[pulumi.Output[str]]:
        """The ARNs the agent's role may reach in its datastore."""
        store, storage = self.datastore, self.spec.storage
        if store is None:
            return []
        if isinstance(storage, PostgresStorage):
            user = self.spec.name.replace("-", "_")
            account = self.platform.account
            return [store.cluster_resource_id.apply(
                lambda rid: account.arn("rds-db", f"dbuser:{rid}/{user}")
            )]
        return [store.arn]

    def datastore_outputs(self) -> dict[str, pulumi.Input]:
        store = self.datastore
        if isinstance(store, aws.dynamodb.Table):
            return {"table": store.name, "arn": store.arn}
        if isinstance(store, aws.rds.Cluster):
            return {"endpoint": store.endpoint, "reader_endpoint": store.reader_endpoint, "arn": store.arn}
        if isinstance(store, aws.s3.Bucket):
            return {"bucket": store.bucket, "arn": store.arn}
        return {}

    def _secrets(self, name: str) -> dict[str, aws.secretsmanager.Secret]:
        """One secret per declared name, under the agent's path and key; values are put out of band."""
        secrets = {}
        for secret in self.spec.secrets:
            resource = aws.secretsmanager.Secret(
                f"{name}-secret-{secret}",
                name=f"{self.platform.prefix}/agents/{self.spec.name}/{secret}",
                description=f"{secret} of agent {self.spec.name}; set its value with put-secret-value",
                kms_key_id=self.key.arn,
                recovery_window_in_days=30 if self.platform.protect_stateful else 7,
                opts=child(self, protect=self.platform.protect_stateful),
            )
            aws.secretsmanager.SecretPolicy(
                f"{name}-secret-{secret}-policy",
                secret_arn=resource.arn,
                block_public_policy=True,
                policy=policy_document(Statement(
                    sid="OnlyTheAgentReadsTheValue",
                    effect="Deny",
                    principals={"AWS": "*"},
                    actions=("secretsmanager:GetSecretValue",),
                    resources=("*",),
                    conditions={"StringNotEquals": {"aws:PrincipalArn": self.role.arn}},
                )),
                opts=child(self),
            )
            secrets[secret] = resource
        return secrets

    # -- messaging --------------------------------------------------------------------------------

    def _subscribed_topic_arns(self) -> list[StrInput]:
        topics = self.platform.messaging.topics
        return [topics[s.topic].arn for s in self.spec.messaging.subscribes if s.topic in topics]

    def _ordered_inbox(self) -> bool:
        topics = self.platform.messaging.topics
        return any(topics[s.topic].ordered for s in self.spec.messaging.subscribes if s.topic in topics)

    def _messaging(self, name: str) -> tuple[Optional[aws.sqs.Queue], Optional[aws.sqs.Queue]]:
        """The agent's inbox and dead-letter queue, its subscriptions and their alarms (sns-sqs)."""
        messaging, spec = self.platform.messaging, self.spec
        if messaging.backend != "sns-sqs" or not spec.messaging.subscribes:
            return None, None  # no subscription, nothing to deliver: no inbox
        fifo = self._ordered_inbox()
        suffix = ".fifo" if fifo else ""
        day = 86_400
        dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{self.physical}-dlq{suffix}",
            fifo_queue=fifo or None,
            message_retention_seconds=messaging.dlq_retention_days * day,
            kms_master_key_id=self.key.arn,
            kms_data_key_reuse_period_seconds=300,
            opts=child(self),
        )
        inbox = aws.sqs.Queue(
            f"{name}-inbox",
            name=f"{self.physical}-inbox{suffix}",
            fifo_queue=fifo or None,
            content_based_deduplication=fifo or None,
            message_retention_seconds=messaging.inbox_retention_days * day,
            visibility_timeout_seconds=messaging.visibility_timeout_seconds,
            receive_wait_time_seconds=20,
            kms_master_key_id=self.key.arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=pulumi.Output.json_dumps({
                "deadLetterTargetArn": dead_letters.arn, "maxReceiveCount": messaging.max_receive_count,
            }),
            opts=child(self),
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=dead_letters.id,
            redrive_allow_policy=pulumi.Output.json_dumps({"redrivePermission": "byQueue", "sourceQueueArns": [inbox.arn]}),
            opts=child(self),
        )
        topics = self._subscribed_topic_arns()
        sqs_all = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                   "sqs:ReceiveMessage", "sqs:SendMessage")
        inbox_policy = [
            Statement(sid="DenyPlainHttp", effect="Deny", principals={"AWS": "*"}, actions=sqs_all,
                      resources=(inbox.arn,), conditions={"Bool": {"aws:SecureTransport": False}}),
        ]
        if topics:
            inbox_policy += [
                Statement(sid="SubscribedTopicsDeliver", principals={"Service": self.platform.account.service_principal("sns")},
                          actions=("sqs:SendMessage",), resources=(inbox.arn,),
                          conditions={"ArnEquals": {"aws:SourceArn": topics}}),
                # Nothing else may write into the inbox, whatever its identity policy says,
                # except the messaging operator redriving dead letters back into it.
                Statement(sid="OnlySubscribedTopicsSend", effect="Deny", principals={"AWS": "*"},
                          actions=("sqs:SendMessage",), resources=(inbox.arn,),
                          conditions={"ArnNotEquals": {"aws:SourceArn": topics,
                                                       "aws:PrincipalArn": self._operator_role_arn()}}),
            ]
        else:
            inbox_policy.append(Statement(sid="NoTopicSubscribed", effect="Deny", principals={"AWS": "*"},
                                          actions=("sqs:SendMessage",), resources=(inbox.arn,)))
        aws.sqs.QueuePolicy(f"{name}-inbox-policy", queue_url=inbox.id, policy=policy_document(*inbox_policy),
                            opts=child(self))
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=dead_letters.id,
            policy=policy_document(Statement(
                sid="DenyPlainHttp", effect="Deny", principals={"AWS": "*"}, actions=sqs_all,
                resources=(dead_letters.arn,), conditions={"Bool": {"aws:SecureTransport": False}},
            )),
            opts=child(self),
        )
        for subscription in spec.messaging.subscribes:
            topic = messaging.topics[subscription.topic]
            aws.sns.TopicSubscription(
                f"{name}-subscription-{subscription.topic}",
                topic=topic.arn,
                protocol="sqs",
                endpoint=inbox.arn,
                raw_message_delivery=True,
                filter_policy=json.dumps(subscription.filter, sort_keys=True) if subscription.filter else None,
                filter_policy_scope="MessageAttributes" if subscription.filter else None,
                opts=child(self),
            )
        self._alarms(name, inbox, dead_letters)
        return inbox, dead_letters

    def _alarms(self, name: str, inbox: aws.sqs.Queue, dead_letters: aws.sqs.Queue) -> None:
        messaging = self.platform.messaging
        actions = [messaging.alert_topic_arn] if messaging.alert_topic_arn else []
        common = dict(namespace="AWS/SQS", period=60, evaluation_periods=1, treat_missing_data="notBreaching",
                      alarm_actions=actions, ok_actions=actions)
        aws.cloudwatch.MetricAlarm(
            f"{name}-dlq-alarm",
            name=f"{self.physical}-dlq-not-empty",
            alarm_description=f"Agent {self.spec.name}: messages in its dead-letter queue. "
                              "Runbook: docs/runbooks/dead-letter-queue.md",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dead_letters.name},
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            **common,
            opts=child(self),
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-inbox-age-alarm",
            name=f"{self.physical}-inbox-message-age",
            alarm_description=f"Agent {self.spec.name}: the oldest inbox message is older than "
                              f"{messaging.max_message_age_seconds}s. Runbook: docs/runbooks/dead-letter-queue.md",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": inbox.name},
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=messaging.max_message_age_seconds,
            **{**common, "evaluation_periods": 5},
            opts=child(self),
        )

    def _operator_role_arn(self) -> str:
        """The messaging operator's role (:mod:`.broker`), named by convention."""
        account = self.platform.account
        return f"arn:{account.partition}:iam::{account.account_id}:role/{self.platform.prefix}-messaging-operator"

    def _kafka_grants(self) -> Optional[dict[str, Any]]:
        """For msk-serverless: the cluster and the topic ARNs this agent writes and reads."""
        messaging, spec = self.platform.messaging, self.spec
        if messaging.backend != "msk-serverless" or messaging.kafka_cluster_arn is None:
            return None
        cluster = pulumi.Output.from_input(messaging.kafka_cluster_arn)

        def under(kind: str, leaf: str) -> pulumi.Output[str]:
            # arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid> -> <kind>/<name>/<uuid>/<leaf>
            return cluster.apply(lambda arn: arn.replace(":cluster/", f":{kind}/", 1) + f"/{leaf}")

        return {
            "cluster": cluster,
            "write": [under("topic", t) for t in spec.messaging.publishes],
            "read": [under("topic", s.topic) for s in spec.messaging.subscribes],
            "group": under("group", spec.name),
        }

    # -- Kubernetes ------------------------------------------------------------------------------

    def _meta(self, name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "namespace": self.spec.namespace, "labels": self.labels, **extra}


    def _namespace(self, name: str) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": self.spec.namespace, "labels": {**self.labels, **RESTRICTED_NAMESPACE_LABELS}},
            opts=child(self, depends_on=self._after),
        )

    def _service_account(self, name: str) -> k8s.core.v1.ServiceAccount:
        spec, platform = self.spec, self.platform
        annotations = {"eks.amazonaws.com/role-arn": self.role.arn} if spec.identity == "irsa" else {}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=self._meta(spec.name, annotations=annotations),
            automount_service_account_token=False,
            opts=child(self, depends_on=[self.namespace]),
        )
        if spec.identity == "pod-identity":
            aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=platform.cluster_name,
                namespace=spec.namespace,
                service_account=spec.name,
                role_arn=self.role.arn,
                # The first credentials a pod gets already carry the role's permissions.
                opts=child(self, depends_on=[self.role_policy]),
            )
        return account

    def _network_policies(self, name: str) -> None:
        """Deny everything, then allow exactly what an agent needs."""
        spec, platform = self.spec, self.platform
        pods = {"matchLabels": {"app.kubernetes.io/name": spec.name}}
        tcp = lambda port: {"protocol": "TCP", "port": port}  # noqa: E731
        policies: dict[str, dict[str, Any]] = {
            "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            "allow-dns": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{
                    "to": [{
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }],
                    "ports": [{"protocol": "UDP", "port": 53}, tcp(53)],
                }],
            },
            "allow-load-balancer": {
                # The ALB targets pod IPs directly from inside the VPC.
                "podSelector": pods,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"ipBlock": {"cidr": platform.vpc_cidr}}], "ports": [tcp(spec.port)]}],
            },
            "allow-monitoring": {
                "podSelector": pods,
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}],
                    "ports": [tcp(spec.port)],
                }],
            },
            "allow-aws": {
                "podSelector": pods,
                "policyTypes": ["Egress"],
                "egress": self._aws_egress(tcp),
            },
        }
        for policy, body in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy}",
                metadata=self._meta(policy),
                spec=body,
                opts=child(self, depends_on=[self.namespace]),
            )

    def _aws_egress(self, tcp) -> list[dict[str, Any]]:
        spec, platform = self.spec, self.platform
        rules: list[dict[str, Any]] = [
            # Interface endpoints (STS, Secrets Manager, KMS, SQS, ...) live in the VPC.
            {"to": [{"ipBlock": {"cidr": platform.vpc_cidr}}], "ports": [tcp(443)]},
            # Traces and metrics to the OpenTelemetry collector.
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}},
                     "podSelector": {"matchLabels": {"app.kubernetes.io/name": "opentelemetry-collector"}}}],
             "ports": [tcp(4317), tcp(4318)]},
            # Credentials come from the Pod Identity agent on the node.
            {"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT_CIDR}}], "ports": [tcp(80)]},
        ]
        if isinstance(spec.storage, PostgresStorage):
            rules.append({"to": [{"ipBlock": {"cidr": platform.vpc_cidr}}], "ports": [tcp(POSTGRES_PORT)]})
        broker_port = BROKER_PORTS.get(platform.messaging.backend)
        if broker_port and (spec.messaging.publishes or spec.messaging.subscribes):
            rules.append({"to": [{"ipBlock": {"cidr": platform.vpc_cidr}}], "ports": [tcp(broker_port)]})
        # DynamoDB and S3 answer on public addresses (through the VPC's gateway endpoints),
        # which a NetworkPolicy cannot name; LLM APIs are on the internet. Never the instance metadata.
        if spec.egress.internet_https or isinstance(spec.storage, (DynamoDBStorage, S3Storage)):
            rules.append({
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [INSTANCE_METADATA_CIDR]}}],
                "ports": [tcp(443)],
            })
        return rules

    def _quota(self, name: str) -> None:
        """Room for max replicas plus a rolling update's surge, and nothing that escapes the namespace."""
        resources, replicas = self.spec.resources, self.spec.replicas
        pods = replicas.max + math.ceil(replicas.max * 0.25)

        def cpu(quantity: str) -> str:
            return f"{cpu_millicores(quantity) * pods}m"

        def memory(quantity: str) -> str:
            return f"{math.ceil(memory_bytes(quantity) * pods / 2**20)}Mi"

        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=self._meta("agent-quota"),
            spec={"hard": {
                "pods": str(pods),
                "requests.cpu": cpu(resources.requests.cpu),
                "limits.cpu": cpu(resources.limits.cpu),
                "requests.memory": memory(resources.requests.memory),
                "limits.memory": memory(resources.limits.memory),
                "services.loadbalancers": "0",
                "services.nodeports": "0",
                "persistentvolumeclaims": "0",
            }},
            opts=child(self, depends_on=[self.namespace]),
        )
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=self._meta("agent-limits"),
            spec={"limits": [{
                "type": "Container",
                "default": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
                "defaultRequest": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
                "max": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
            }]},
            opts=child(self, depends_on=[self.namespace]),
        )

    def _secret_sync(self, name: str) -> k8s.apiextensions.CustomResource:
        """External Secrets copies the agent's secrets into one Kubernetes Secret, as the agent's role."""
        spec, platform = self.spec, self.platform
        store = k8s.apiextensions.CustomResource(
            f"{name}-secret-store",
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata=self._meta(SECRET_STORE),
            spec={"provider": {"aws": {
                "service": "SecretsManager",
                "region": platform.account.region,
                "role": self.role.arn,
            }}},
            opts=child(self, depends_on=[self.namespace]),
        )
        return k8s.apiextensions.CustomResource(
            f"{name}-external-secret",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata=self._meta(f"{spec.name}-secrets"),
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"name": SECRET_STORE, "kind": "SecretStore"},
                "target": {"name": f"{spec.name}-secrets", "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                "data": [
                    {"secretKey": secret_env_name(secret), "remoteRef": {"key": resource.name}}
                    for secret, resource in self.secrets.items()
                ],
            },
            opts=child(self, depends_on=[store]),
        )

    def _environment(self) -> list[dict[str, Any]]:
        spec, platform = self.spec, self.platform
        env: list[dict[str, Any]] = [
            {"name": "MAAS_AGENT", "value": spec.name},
            {"name": "MAAS_ENVIRONMENT", "value": platform.environment},
            {"name": "AWS_REGION", "value": platform.account.region},
            # Where the shared load balancer routes the agent: "/" for a public host, "/<agent>" inside.
            {"name": "MAAS_BASE_PATH", "value": "/" if isinstance(spec.exposure, PublicExposure) else f"/{spec.name}"},
        ]
        store = self.datastore
        if isinstance(store, aws.dynamodb.Table):
            env.append({"name": "DYNAMODB_TABLE", "value": store.name})
        elif isinstance(store, aws.s3.Bucket):
            env.append({"name": "S3_BUCKET", "value": store.bucket})
        elif isinstance(store, aws.rds.Cluster):
            env += [
                {"name": "PGHOST", "value": store.endpoint},
                {"name": "PGPORT", "value": str(POSTGRES_PORT)},
                {"name": "PGDATABASE", "value": spec.database_name},
                {"name": "PGUSER", "value": spec.name.replace("-", "_")},
                {"name": "PGSSLMODE", "value": "verify-full"},
            ]
        env += otel_environment(spec.name, spec.team, platform.environment, sample_ratio=platform.trace_sample_ratio)
        if self.inbox is not None:
            env.append({"name": "MAAS_INBOX_URL", "value": self.inbox.url})
        topics = platform.messaging.topics
        env += [
            {"name": topic_env_name(topic), "value": topics[topic].arn}
            for topic in spec.messaging.publishes if topic in topics
        ]
        env += [{"name": k, "value": v} for k, v in sorted(spec.env.items())]
        env += [
            # optional: the first rollout must not wait for values someone puts after `pulumi up`.
            {"name": secret_env_name(s), "valueFrom": {"secretKeyRef": {
                "name": f"{spec.name}-secrets", "key": secret_env_name(s), "optional": True,
            }}}
            for s in spec.secrets
        ]
        return env

    def _deployment(self, name: str, secret_sync: Optional[pulumi.Resource]) -> k8s.apps.v1.Deployment:
        spec = self.spec
        selector = {"app.kubernetes.io/name": spec.name}
        http = {"path": spec.health_path, "port": "http"}
        container = {
            "name": "agent",
            "image": spec.image,
            "imagePullPolicy": image_pull_policy(spec.image),
            "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
            "env": self._environment(),
            "resources": {
                "requests": {"cpu": spec.resources.requests.cpu, "memory": spec.resources.requests.memory},
                "limits": {"cpu": spec.resources.limits.cpu, "memory": spec.resources.limits.memory},
            },
            "startupProbe": {"httpGet": http, "periodSeconds": 5, "failureThreshold": 30},
            "readinessProbe": {"httpGet": http, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
            "livenessProbe": {"httpGet": http, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
            "securityContext": {
                "runAsNonRoot": True,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        spread = [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector}}
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
        depends = [self.namespace, self.service_account] + ([secret_sync] if secret_sync else [])
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self._meta(spec.name),
            spec={
                "replicas": spec.replicas.min,
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                "template": {
                    "metadata": {"labels": self.labels},
                    "spec": {
                        "serviceAccountName": spec.name,
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                        "topologySpreadConstraints": spread,
                        "terminationGracePeriodSeconds": 30,
                    },
                },
            },
            # The autoscaler owns the replica count once the Deployment exists.
            opts=child(self, depends_on=depends, ignore_changes=["spec.replicas"]),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=self._meta(spec.name),
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=child(self, depends_on=[self.namespace]),
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=self._meta(spec.name),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            opts=child(self, depends_on=[self.namespace]),
        )
        if self.inbox is not None and self.platform.messaging.keda_authentication:
            self._scaled_object(name, deployment)
            return deployment
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=self._meta(spec.name),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
                "minReplicas": spec.replicas.min,
                "maxReplicas": spec.replicas.max,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": spec.replicas.target_cpu_percent},
                }}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            },
            opts=child(self, depends_on=[deployment]),
        )
        return deployment

    def _scaled_object(self, name: str, deployment: k8s.apps.v1.Deployment) -> None:
        """KEDA scales on inbox depth and CPU together (one HPA, owned by KEDA)."""
        spec, platform = self.spec, self.platform
        messaging = spec.messaging
        zero = messaging.scale_to_zero and platform.scale_to_zero
        k8s.apiextensions.CustomResource(
            f"{name}-scaled-object",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=self._meta(spec.name),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
                "minReplicaCount": 0 if zero else spec.replicas.min,
                "maxReplicaCount": spec.replicas.max,
                "pollingInterval": 15,
                "cooldownPeriod": 300,
                "advanced": {"horizontalPodAutoscalerConfig": {
                    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
                }},
                "triggers": [
                    {
                        "type": "aws-sqs-queue",
                        "authenticationRef": {"name": platform.messaging.keda_authentication,
                                              "kind": "ClusterTriggerAuthentication"},
                        "metadata": {
                            "queueURL": self.inbox.url,
                            "queueLength": str(messaging.messages_per_replica),
                            "activationQueueLength": str(messaging.activation_messages),
                            "awsRegion": platform.account.region,
                        },
                    },
                    {"type": "cpu", "metricType": "Utilization",
                     "metadata": {"value": str(spec.replicas.target_cpu_percent)}},
                ],
            },
            opts=child(self, depends_on=[deployment]),
        )

    def _observability(self, name: str) -> None:
        """Its log group, scraping, SLO rules, a synthetic probe of the health endpoint and a dashboard."""
        spec, platform = self.spec, self.platform
        if platform.logs_key_arn is not None:
            # Fluent Bit ships the namespace's container logs here; the agent owns the group.
            self.log_group = encrypted_log_group(
                self, f"{name}-logs", f"{agent_log_group_prefix(platform.prefix)}{spec.namespace}",
                retention_days=platform.log_retention_days, key_arn=platform.logs_key_arn,
                protect=platform.protect_stateful,
            )
        selector = {"matchLabels": {"app.kubernetes.io/name": spec.name}}
        k8s.apiextensions.CustomResource(
            f"{name}-service-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=self._meta(spec.name),
            spec={
                "selector": selector,
                "namespaceSelector": {"matchNames": [spec.namespace]},
                "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}],
            },
            opts=child(self, depends_on=[self.namespace]),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-slo-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=self._meta(f"{spec.name}-slos"),
            spec=prometheus_rule_spec(spec, spec.namespace, platform.runbook_base),
            opts=child(self, depends_on=[self.namespace]),
        )
        # Probed always; an agent that scales to zero gets no probe SLO or alert (see slo.agent_slos),
        # since its idle REST entry fails the probe by design.
        k8s.apiextensions.CustomResource(
            f"{name}-probe",
            api_version="monitoring.coreos.com/v1",
            kind="Probe",
            metadata=self._meta(f"{spec.name}-health"),
            spec={
                "jobName": f"{spec.name}-health",
                "interval": "30s",
                "module": "http_2xx",
                "prober": {"url": "prometheus-blackbox-exporter.monitoring.svc:9115"},
                "targets": {"staticConfig": {
                    # The same endpoint the kubelet probes, through the Service.
                    "static": [f"http://{spec.name}.{spec.namespace}.svc{spec.health_path}"],
                    "labels": {"agent": spec.name, "team": spec.team},
                }},
            },
            opts=child(self, depends_on=[self.namespace]),
        )
        dashboard = agent_dashboard(
            spec, spec.namespace,
            inbox_queue=f"{self.physical}-inbox" if self.inbox is not None else None,
            region=platform.account.region,
        )
        k8s.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata=self._meta(f"{spec.name}-dashboard", labels={**self.labels, "grafana_dashboard": "1"}),
            data={f"{dashboard_uid(spec.name)}.json": json.dumps(dashboard, sort_keys=True)},
            opts=child(self, depends_on=[self.namespace]),
        )

    def _budget(self, name: str) -> Optional[aws.budgets.Budget]:
        """Its monthly budget on its ``agent`` tag, unless the platform stack already keeps one."""
        spec, notify = self.spec, self.platform.agent_budgets
        if notify is None or not spec.budget.monthly_usd:
            return None
        return monthly_budget(
            self, f"{name}-budget", budget_name=agent_budget_name(self.platform.prefix, spec.name),
            tag="agent", value=spec.name, limit_usd=spec.budget.monthly_usd, notify=notify,
        )

    def _exposure(self, name: str) -> None:
        """The REST entry: a rule on the environment's shared internal or internet-facing ALB."""
        spec, platform = self.spec, self.platform
        public = isinstance(spec.exposure, PublicExposure)
        annotations = {
            "alb.ingress.kubernetes.io/scheme": "internet-facing" if public else "internal",
            "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/group.name": f"{platform.prefix}-{'public' if public else 'internal'}",
            "alb.ingress.kubernetes.io/healthcheck-path": spec.health_path,
            "alb.ingress.kubernetes.io/success-codes": "200-299",
        }
        rule: dict[str, Any] = {"http": {"paths": [{
            "path": "/" if public else f"/{spec.name}",
            "pathType": "Prefix",
            "backend": {"service": {"name": spec.name, "port": {"name": "http"}}},
        }]}}
        body: dict[str, Any] = {"ingressClassName": platform.ingress_class, "rules": [rule]}
        if public:
            exposure = spec.exposure
            annotations.update({
                "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTPS": 443}]),
                "alb.ingress.kubernetes.io/certificate-arn": exposure.certificate_arn,
                "alb.ingress.kubernetes.io/ssl-policy": TLS_POLICY,
            })
            rule["host"] = exposure.host
            body["tls"] = [{"hosts": [exposure.host]}]
        else:
            annotations["alb.ingress.kubernetes.io/listen-ports"] = json.dumps([{"HTTP": 80}])
        k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=self._meta(spec.name, annotations=annotations),
            spec=body,
            opts=child(self, depends_on=[self.namespace]),
        )
