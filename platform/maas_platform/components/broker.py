"""The messaging backbone between agents, and the platform's alert topic.

``sns-sqs`` (default): one SNS topic per declared topic, encrypted with the broker key,
whose policy lets only the roles of its declared publishers publish (and nobody over
plain HTTP). Inboxes and dead-letter queues belong to the agents (:mod:`.agent`); a
messaging operator role, not the agents, may inspect and redrive dead letters.

``rabbitmq``: Amazon MQ for RabbitMQ, private, encrypted with the broker key, logs on,
a multi-AZ cluster in prod, its users' credentials generated into Secrets Manager.
``msk-serverless``: an MSK Serverless cluster in the private subnets with IAM auth.

Every agent role is named ``<prefix>-agent-<agent>``, so a topic policy can name its
publishers before (or without) the roles existing in this stack: team stacks' agents
are named in ``maas:broker.topics[].team_publishers``. A topic may instead admit whole
teams (``publisher_teams``): any role ``<prefix>-agent-*`` of the account whose ``team`` tag
is one of them. What makes that tag trustworthy is who may set it: a team's deploy role
(:mod:`.teams`) may create and tag only the roles ``<prefix>-agent-<agent>`` of the agents
registered to its team, and only with ``team=<its team>``; the platform stack tags its own
agents' roles with their spec's team.

Only ``sns-sqs`` has a policy on the topic. With ``msk-serverless`` an agent's own role
grants it ``kafka-cluster:WriteData`` on the topics it lists (bounded by the agents'
permissions boundary), with ``rabbitmq`` the broker's users decide (agents get none): the
config refuses ``publisher_teams`` there, and team plans check publishers only on sns-sqs.
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import Field

from ..config.models import BrokerConfig, TopicConfig
from ..iam import Statement, Trust, policy_document, trust_policy
from ..iam.actions import DLQ_OPERATIONS, KEY_ADMIN_ACTIONS, KEY_USE_ACTIONS, SECRETS_READ, SNS_PUBLISH, TOPIC_KEY_USE
from ..names import MAAS_BROKER, TEAM_TAG, critical_finding_rule_name
from .base import AccountContext, ComponentArgs, ListInput, StrInput, child

# AWS services that publish to the alert topic (alarms, budgets) and so use the broker key.
ALERT_PUBLISHERS = ("cloudwatch", "budgets")
KAFKA_PORT = 9098  # IAM-authenticated TLS listener of MSK
AMQPS_PORT = 5671


def agent_role_arn(account: AccountContext, prefix: str, agent: str) -> str:
    """The ARN every agent's role has: ``<prefix>-agent-<agent>`` (see :mod:`.agent`)."""
    return f"arn:{account.partition}:iam::{account.account_id}:role/{prefix}-agent-{agent}"


class BrokerArgs(ComponentArgs):
    prefix: str
    environment: str
    account: AccountContext
    config: BrokerConfig
    publishers: dict[str, list[str]] = Field(
        default_factory=dict, description="Topic -> names of the agents that publish to it (this stack's and teams')."
    )
    operator_role_arns: list[str] = Field(min_length=1, description="Roles that may assume the messaging operator role.")
    alert_emails: list[str] = Field(default_factory=list, description="Addresses subscribed to the alert topic.")
    rabbitmq_deployment: str = Field("single", description="single or cluster.")
    vpc_id: StrInput
    private_subnet_ids: ListInput
    cluster_security_group_id: StrInput
    deletion_window_days: int = Field(30, ge=7, le=30)
    protect: bool = False


class Broker(pulumi.ComponentResource):
    """Topics, the alert topic, the broker key and the messaging operator role."""

    key: aws.kms.Key
    topics: dict[str, aws.sns.Topic]
    alert_topic: aws.sns.Topic
    operator_role: aws.iam.Role
    rabbitmq: Optional[aws.mq.Broker]
    kafka: Optional[aws.msk.ServerlessCluster]

    def __init__(self, name: str, args: BrokerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(MAAS_BROKER, name, None, opts)
        self.args = args
        # Topic -> the agents its policy names: this stack's publishers and team_publishers.
        self.publishers: dict[str, list[str]] = {
            topic.name: sorted({*args.publishers.get(topic.name, []), *topic.team_publishers})
            for topic in args.config.topics
        }
        self.key = self._key(name)
        self.alert_topic = self._alert_topic(name)
        self.topics = {}
        self.rabbitmq = None
        self.kafka = None
        if args.config.backend == "sns-sqs":
            self.topics = {topic.name: self._topic(name, topic) for topic in args.config.topics}
        elif args.config.backend == "rabbitmq":
            self.rabbitmq = self._rabbitmq(name)
        else:
            self.kafka = self._kafka(name)
        self.operator_role = self._operator(name)
        self.register_outputs({
            "alert_topic_arn": self.alert_topic.arn,
            "broker_key_arn": self.key.arn,
            "topic_arns": {n: t.arn for n, t in self.topics.items()},
            "operator_role_arn": self.operator_role.arn,
        })

    # -- key -------------------------------------------------------------------------------

    def _key(self, name: str) -> aws.kms.Key:
        account = self.args.account
        root = {"AWS": account.root_principal}
        services = ["sns", "sqs"] + (["mq", "secretsmanager"] if self.args.config.backend == "rabbitmq" else [])
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{self.args.prefix}: topics, the alert topic and the message broker",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=self.args.deletion_window_days,
            policy=policy_document(
                Statement(sid="RootAdministersKey", principals=root, actions=KEY_ADMIN_ACTIONS, resources=("*",)),
                Statement(
                    sid="UseOnlyThroughMessaging",
                    principals=root,
                    actions=KEY_USE_ACTIONS + ("kms:CreateGrant",),
                    resources=("*",),
                    conditions={"StringEquals": {
                        "kms:CallerAccount": account.account_id,
                        "kms:ViaService": [account.regional_service(s) for s in services],
                    }},
                ),
                Statement(
                    sid="AlertPublishersEncrypt",
                    principals={"Service": [account.service_principal(s) for s in ALERT_PUBLISHERS]},
                    actions=TOPIC_KEY_USE,
                    resources=("*",),
                    conditions={"StringEquals": {"aws:SourceAccount": account.account_id}},
                ),
                # The rule on critical image findings (components/delivery.py) publishes to the alert
                # topic: EventBridge needs the topic key's data keys (repost.aws knowledge-center
                # sns-not-getting-eventbridge-notification, checked 2026-12-03), for that rule only.
                Statement(
                    sid="CriticalFindingRuleEncrypts",
                    principals={"Service": account.service_principal("events")},
                    actions=TOPIC_KEY_USE,
                    resources=("*",),
                    conditions={"ArnEquals": {"aws:SourceArn": self._finding_rule_arn()}},
                ),
            ),
            opts=child(self, protect=self.args.protect),
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{self.args.prefix}-broker", target_key_id=key.key_id,
                      opts=child(self))
        return key

    # -- topics -----------------------------------------------------------------------------

    def _topic(self, name: str, topic: TopicConfig) -> aws.sns.Topic:
        args, account = self.args, self.args.account
        physical = f"{args.prefix}-{topic.name}" + (".fifo" if topic.ordered else "")
        resource = aws.sns.Topic(
            f"{name}-topic-{topic.name}",
            name=physical,
            display_name=topic.description[:100] or topic.name,
            kms_master_key_id=self.key.arn,
            fifo_topic=topic.ordered or None,
            content_based_deduplication=topic.ordered or None,
            opts=child(self),
        )
        publishers = [agent_role_arn(account, args.prefix, agent) for agent in self.publishers[topic.name]]
        teams = sorted(set(topic.publisher_teams))
        statements = [Statement(
            sid="DenyPlainHttp",
            effect="Deny",
            principals={"AWS": "*"},
            actions=("sns:Publish", "sns:Subscribe"),
            resources=(resource.arn,),
            conditions={"Bool": {"aws:SecureTransport": False}},
        )]
        if teams:
            statements += self._team_publishers(resource, publishers, teams)
        elif publishers:
            statements += [
                Statement(
                    sid="DeclaredPublishers",
                    principals={"AWS": account.root_principal},
                    actions=SNS_PUBLISH,
                    resources=(resource.arn,),
                    conditions={"ArnEquals": {"aws:PrincipalArn": publishers}},
                ),
                # Identity policies elsewhere in the account cannot widen the list.
                Statement(
                    sid="NobodyElsePublishes",
                    effect="Deny",
                    principals={"AWS": "*"},
                    actions=SNS_PUBLISH,
                    resources=(resource.arn,),
                    conditions={"ArnNotEquals": {"aws:PrincipalArn": publishers}},
                ),
            ]
        else:
            statements.append(Statement(
                sid="NoPublisherDeclared", effect="Deny", principals={"AWS": "*"}, actions=SNS_PUBLISH,
                resources=(resource.arn,),
            ))
        aws.sns.TopicPolicy(f"{name}-topic-{topic.name}-policy", arn=resource.arn,
                            policy=policy_document(*statements), opts=child(self))
        return resource

    def _team_publishers(self, resource: aws.sns.Topic, publishers: list[str], teams: list[str]) -> list[Statement]:
        """Publishing for the named roles, and for every agent role of the account tagged with one of ``teams``.

        ``aws:PrincipalArn`` of a role session is the role's ARN and ``aws:PrincipalTag/<key>``
        carries the role's tags (a session tag of the same key would override it: neither Pod
        Identity, which sets only its eks-/kubernetes- session tags, nor a platform role passes
        ``team``). Both are global condition keys, usable in any policy, an SNS topic policy too
        (checked on 2026-12-02: IAM User Guide, "AWS global condition context keys" and "Pass
        session tags in AWS STS"; STS API reference AssumeRole, Tags: "session tags override a
        role tag with the same key"). Deny statements match when every condition holds, so the
        refusal of everyone else is two: a principal neither named nor an agent role, and one
        neither named nor tagged with an admitted team; a negated operator matches when the key
        is absent, so an untagged role is refused too (IAM User Guide, "Condition operators").
        """
        account, arn = self.args.account, resource.arn
        agents = agent_role_arn(account, self.args.prefix, "*")
        team_tag = f"aws:PrincipalTag/{TEAM_TAG}"
        named = {"ArnNotEquals": {"aws:PrincipalArn": publishers}} if publishers else {}
        statements = []
        if publishers:
            statements.append(Statement(
                sid="DeclaredPublishers", principals={"AWS": account.root_principal}, actions=SNS_PUBLISH,
                resources=(arn,), conditions={"ArnEquals": {"aws:PrincipalArn": publishers}},
            ))
        return statements + [
            Statement(
                sid="PublisherTeams", principals={"AWS": account.root_principal}, actions=SNS_PUBLISH, resources=(arn,),
                conditions={"ArnLike": {"aws:PrincipalArn": agents}, "StringEquals": {team_tag: teams}},
            ),
            # Identity policies elsewhere in the account cannot widen the list.
            Statement(
                sid="NobodyElsePublishes", effect="Deny", principals={"AWS": "*"}, actions=SNS_PUBLISH,
                resources=(arn,), conditions={**named, "ArnNotLike": {"aws:PrincipalArn": agents}},
            ),
            Statement(
                sid="NoOtherTeamPublishes", effect="Deny", principals={"AWS": "*"}, actions=SNS_PUBLISH,
                resources=(arn,), conditions={**named, "StringNotEquals": {team_tag: teams}},
            ),
        ]

    def _alert_topic(self, name: str) -> aws.sns.Topic:
        account = self.args.account
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=f"{self.args.prefix}-alerts",
            display_name=f"{self.args.prefix} alerts",
            kms_master_key_id=self.key.arn,
            opts=child(self),
        )
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=topic.arn,
            policy=policy_document(
                Statement(
                    sid="AlarmsAndBudgetsOfThisAccount",
                    principals={"Service": [account.service_principal(s) for s in ALERT_PUBLISHERS]},
                    actions=SNS_PUBLISH,
                    resources=(topic.arn,),
                    conditions={"StringEquals": {"aws:SourceAccount": account.account_id}},
                ),
                Statement(
                    sid="CriticalFindingRulePublishes",
                    principals={"Service": account.service_principal("events")},
                    actions=SNS_PUBLISH,
                    resources=(topic.arn,),
                    conditions={"ArnEquals": {"aws:SourceArn": self._finding_rule_arn()}},
                ),
                Statement(
                    sid="DenyPlainHttp", effect="Deny", principals={"AWS": "*"}, actions=SNS_PUBLISH,
                    resources=(topic.arn,), conditions={"Bool": {"aws:SecureTransport": False}},
                ),
            ),
            opts=child(self),
        )
        for index, email in enumerate(self.args.alert_emails):
            aws.sns.TopicSubscription(
                f"{name}-alerts-email-{index}", topic=topic.arn, protocol="email", endpoint=email, opts=child(self)
            )
        return topic

    def _finding_rule_arn(self) -> str:
        """The EventBridge rule on critical image findings (components/delivery.py), named ahead of it."""
        return self.args.account.arn("events", f"rule/{critical_finding_rule_name(self.args.prefix)}")

    # -- operator ------------------------------------------------------------------------------

    def _operator(self, name: str) -> aws.iam.Role:
        """Dead letters are an operator's to inspect and redrive; agents never get these rights."""
        args, account = self.args, self.args.account
        role = aws.iam.Role(
            f"{name}-operator",
            name=f"{args.prefix}-messaging-operator",
            description="Inspect and redrive dead-letter queues (docs/runbooks/dead-letter-queue.md)",
            assume_role_policy=trust_policy(Trust(principal={"AWS": sorted(args.operator_role_arns)})),
            max_session_duration=3600,
            opts=child(self),
        )
        queues = account.arn("sqs", f"{args.prefix}-*")
        aws.iam.RolePolicy(
            f"{name}-operator-policy",
            role=role.id,
            policy=policy_document(
                Statement(sid="DeadLetters", actions=DLQ_OPERATIONS,
                          resources=(account.arn("sqs", f"{args.prefix}-*-dlq"), account.arn("sqs", f"{args.prefix}-*-dlq.fifo"))),
                Statement(sid="RedriveToInboxes", actions=("sqs:GetQueueAttributes", "sqs:SendMessage"),
                          resources=(account.arn("sqs", f"{args.prefix}-*-inbox"), account.arn("sqs", f"{args.prefix}-*-inbox.fifo"))),
                Statement(sid="DeadLetterSources", actions=("sqs:ListDeadLetterSourceQueues",), resources=(queues,)),
                Statement(sid="ListQueues", actions=("sqs:ListQueues",), resources=("*",),
                          any_resource_reason="sqs:ListQueues takes no resource scope"),
                Statement(sid="BrokerCredentials", actions=SECRETS_READ,
                          resources=(account.arn("secretsmanager", f"secret:{args.prefix}/broker/*"),)),
                Statement(
                    sid="QueueKeysThroughSqs",
                    actions=TOPIC_KEY_USE,
                    resources=(account.arn("kms", "key/*"),),
                    conditions={"StringEquals": {"kms:ViaService": account.regional_service("sqs")}},
                ),
            ),
            opts=child(self),
        )
        return role

    # -- optional backends --------------------------------------------------------------------

    def _client_security_group(self, name: str, what: str, port: int) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            f"{name}-{what}-sg",
            name=f"{self.args.prefix}-{what}",
            description=f"{what}: from the cluster's pods only",
            vpc_id=self.args.vpc_id,
            ingress=[{"description": f"{what} from EKS pods and nodes", "protocol": "tcp", "from_port": port,
                      "to_port": port, "security_groups": [self.args.cluster_security_group_id]}],
            egress=[],
            opts=child(self),
        )

    def _rabbitmq(self, name: str) -> aws.mq.Broker:
        """Amazon MQ for RabbitMQ; the admin credentials live in Secrets Manager, for the operator."""
        args, settings = self.args, self.args.config.rabbitmq
        cluster = args.rabbitmq_deployment == "cluster"
        password = random.RandomPassword(
            f"{name}-rabbitmq-password", length=32, special=False, opts=child(self)
        ).result.apply(pulumi.Output.secret)  # secret here too, not only once the engine says so
        credentials = aws.secretsmanager.Secret(
            f"{name}-rabbitmq-credentials",
            name=f"{args.prefix}/broker/rabbitmq-admin",
            description="Amazon MQ admin user; read by the messaging operator",
            kms_key_id=self.key.arn,
            recovery_window_in_days=30 if args.protect else 0,
            opts=child(self, protect=args.protect),
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-rabbitmq-credentials-value",
            secret_id=credentials.id,
            secret_string=pulumi.Output.json_dumps({"username": "maas_admin", "password": password}),
            opts=child(self),
        )
        subnets = pulumi.Output.from_input(args.private_subnet_ids)
        return aws.mq.Broker(
            f"{name}-rabbitmq",
            broker_name=f"{args.prefix}-rabbitmq",
            engine_type="RabbitMQ",
            engine_version=settings.engine_version,
            host_instance_type=settings.instance_type,
            deployment_mode="CLUSTER_MULTI_AZ" if cluster else "SINGLE_INSTANCE",
            publicly_accessible=False,
            subnet_ids=subnets if cluster else subnets.apply(lambda ids: ids[:1]),
            security_groups=[self._client_security_group(name, "rabbitmq", AMQPS_PORT).id],
            encryption_options={"use_aws_owned_key": False, "kms_key_id": self.key.arn},
            logs={"general": True},
            auto_minor_version_upgrade=True,
            users=[{"username": "maas_admin", "password": password}],
            apply_immediately=not args.protect,
            opts=child(self, protect=args.protect),
        )

    def _kafka(self, name: str) -> aws.msk.ServerlessCluster:
        """MSK Serverless: private subnets, IAM authentication only."""
        return aws.msk.ServerlessCluster(
            f"{name}-kafka",
            cluster_name=f"{self.args.prefix}-kafka",
            vpc_configs=[{
                "subnet_ids": self.args.private_subnet_ids,
                "security_group_ids": [self._client_security_group(name, "kafka", KAFKA_PORT).id],
            }],
            client_authentication={"sasl": {"iam": {"enabled": True}}},
            opts=child(self, protect=self.args.protect),
        )

    def topic_publishers(self, topic: str) -> dict[str, list[str]]:
        """Who the topic's policy lets publish: ``publishers`` (agent names) and ``publisher_teams``
        (the contract's TopicRef and TopicOutput fields), for team stacks to check their agents."""
        config = self.args.config.topic(topic)
        return {"publishers": list(self.publishers.get(topic, [])),
                "publisher_teams": sorted(set(config.publisher_teams)) if config else []}

    def outputs(self) -> dict[str, Any]:
        return {
            "backend": self.args.config.backend,
            "alert_topic_arn": self.alert_topic.arn,
            "broker_key_arn": self.key.arn,
            "topics": {
                topic.name: {"arn": self.topics[topic.name].arn, "ordered": topic.ordered,
                              **self.topic_publishers(topic.name)}
                for topic in self.args.config.topics if topic.name in self.topics
            },
            "messaging_operator_role_arn": self.operator_role.arn,
            "kafka_cluster_arn": self.kafka.arn if self.kafka else None,
            "rabbitmq_endpoints": self.rabbitmq.instances.apply(
                lambda instances: [e for i in instances or [] for e in (i.endpoints or [])]
            ) if self.rabbitmq else None,
        }
