"""The contract between the platform stack and the stacks that build on it.

A platform stack exports :class:`PlatformOutputs` (``Platform.outputs()``); a team stack reads
them back through a ``StackReference`` into the same model, and turns them into the
:class:`PlatformRefs` every ``AgentService`` takes. Every value a team stack needs travels
through these models: adding one means adding a field here, and the platform and team sides
cannot disagree on its name or type.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .base import AccountContext, ComponentArgs, ListInput, StrInput
from .budgets import BudgetNotifications, Threshold
from ..config.defaults import ENVIRONMENT_DEFAULTS, tier


class TopicRef(ComponentArgs):
    arn: StrInput
    ordered: bool = False
    publishers: list[str] = Field(
        default_factory=list, description="Agents the topic's policy lets publish (the platform's and team_publishers)."
    )
    publisher_teams: list[str] = Field(
        default_factory=list, description="Teams whose agents' roles the topic's policy lets publish (by their team tag).",
    )


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
    oidc_provider_arn: Optional[StrInput] = Field(
        None, description="The cluster's IAM OIDC provider: secret sync (agents with secrets) and IRSA agents need it.",
    )
    oidc_issuer: Optional[StrInput] = Field(None, description="The cluster's OIDC issuer URL (of that provider).")
    ingress_class: str = Field("alb", description="IngressClass of the AWS Load Balancer Controller.")
    protect_stateful: bool = Field(
        False, description="Protect data and keys from deletion: the platform's maas:protect_stateful (prod always).",
    )
    scale_to_zero: bool = Field(True, description="Idle agents and datastores may scale to zero (not in prod).")
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
    teams: dict[str, list[str]] = Field(
        default_factory=dict, description="Agents each team registered with the platform (maas:teams) may deploy.",
    )
    agent_permissions_boundary_arn: Optional[StrInput] = Field(
        None, description="Permissions boundary every agent role carries (a team's deploy role can create no other).",
    )
    node_pools: Optional[list["NodePoolOutput"]] = Field(
        None, description="The environment's node pools, for the check that an agent's pods fit one; None: not known.",
    )
    llm_provider_hosts: list[str] = Field(
        default_factory=list,
        description="API hosts of the LLM gateway's providers (maas:llm.providers): only the gateway reaches them, "
                    "so no agent's egress may name one.",
    )
    probe_image: Optional[str] = Field(
        None, description="The image golden-set probes run (maas:probe_image); None: the platform offers none.")
    node_role_arns: list[StrInput] = Field(
        default_factory=list,
        description="The cluster's node roles (managed node group, Karpenter's nodes): they pull agents' images.")
    github_oidc_provider_arn: Optional[StrInput] = Field(
        None, description="The account's GitHub Actions OIDC provider agents' CI roles trust; None: no CI roles.")
    ci_permissions_boundary_arn: Optional[StrInput] = Field(
        None, description="Permissions boundary every agent CI role carries (a team's deploy role can create no other).",
    )
    require_signatures: bool = Field(
        False, description="The cluster admits an agent's images only signed with its key (maas:delivery."
                           "require_signatures): each agent gets its ImageValidatingPolicy (components/signatures.py).")
    signature_verifier_role_arn: Optional[StrInput] = Field(
        None, description="Kyverno's role, which verifies signatures: agents' repository policies let it pull. "
                          "None where the environment verifies none.")
    agent_budgets: Optional[BudgetNotifications] = Field(
        None,
        description="How the agent's own monthly budget (budget.monthly_usd) notifies: the platform's thresholds, "
                    "alert topic and e-mails (a team stack reads them from the agent_budgets output). None where "
                    "the platform stack budgets the agent itself (maas:agents), so no agent is budgeted twice.",
    )


# -- what the platform stack exports ----------------------------------------------------------------


class _Output(BaseModel):
    """A part of the platform's outputs as a team stack reads it: plain values, unknown keys kept
    (a newer platform may export more than this version knows)."""

    model_config = ConfigDict(frozen=True, extra="allow")


class TopicOutput(_Output):
    arn: str
    ordered: bool = False
    publishers: list[str] = Field(default_factory=list)
    publisher_teams: list[str] = Field(default_factory=list)


class TeamOutput(_Output):
    """One team of ``maas:teams``, by name under ``teams``: what its stack may deploy, and as whom."""

    agents: list[str] = Field(default_factory=list)
    deploy_role_arn: str
    kubeconfig: str


class MessagingOutput(_Output):
    """``messaging``: the broker and the settings agents' queues follow."""

    backend: Literal["sns-sqs", "rabbitmq", "msk-serverless"] = "sns-sqs"
    topics: dict[str, TopicOutput] = Field(default_factory=dict)
    broker_key_arn: Optional[str] = None
    alert_topic_arn: Optional[str] = None
    kafka_cluster_arn: Optional[str] = None
    max_receive_count: int = Field(5, ge=1)
    visibility_timeout_seconds: int = Field(60, ge=0)
    inbox_retention_days: int = Field(4, ge=1)
    dlq_retention_days: int = Field(14, ge=1)
    max_message_age_seconds: int = Field(900, ge=1)
    keda_authentication: Optional[str] = "keda-aws"


class ThresholdOutput(_Output):
    percent: float = Field(gt=0, le=1000)
    kind: Literal["ACTUAL", "FORECASTED"]


class AgentBudgetsOutput(_Output):
    """``agent_budgets``: how a team agent's own budget notifies."""

    thresholds: list[ThresholdOutput] = Field(min_length=1)
    alert_topic_arn: str
    emails: list[str] = Field(default_factory=list)


class AgentOutput(_Output):
    """One agent of the platform stack, by name under ``agents``."""

    namespace: str
    role_arn: Optional[str] = None  # None for a retired agent (its role is gone)
    key_arn: str
    slos: list[dict[str, Any]] = Field(default_factory=list)
    secret_arns: dict[str, str] = Field(default_factory=dict)
    datastore_arns: list[str] = Field(default_factory=list)
    inbox_arn: Optional[str] = None
    dead_letter_queue_arn: Optional[str] = None
    # Its release (docs/delivery.md): ECR repository name and URL, CI role (None without delivery.source)
    # and image-signing key. None from a platform stack older than them.
    repository: Optional[str] = None
    repository_url: Optional[str] = None
    ci_role_arn: Optional[str] = None
    signing_key_arn: Optional[str] = None


class NodePoolOutput(_Output):
    """One of ``node_pools``: what a team stack checks its agents' pods against (architectures,
    capacity types, the largest node, whether the pool is dedicated to agents)."""

    name: str
    architectures: list[str] = Field(min_length=1)
    capacity_types: list[str] = Field(min_length=1)
    max_vcpu: int = Field(ge=1)
    max_memory_gib: int = Field(ge=1)
    dedicated: bool = False


class PolicyOutput(_Output):
    """``policy``: the platform stack's ``maas:policy`` as configured, with its environment and
    cluster administrators. A team stack's plan gate applies it as the platform's gate does (the
    environment's rules, expiry dates) and enforces the result on the team stack, which can only
    tighten it (:mod:`maas_platform.policy.governance`)."""

    environment: Literal["dev", "staging", "prod"]
    min_log_retention_days: Optional[int] = Field(None, ge=1)
    enforcement: dict[str, Any] = Field(default_factory=dict)
    exemptions: list[dict[str, Any]] = Field(default_factory=list)
    admin_principals: list[str] = Field(default_factory=list)


class PlatformOutputs(_Output):
    """The platform stack's outputs: what ``Platform.outputs()`` exports and what a team stack
    reads through its ``StackReference``. Optional fields are ones an older platform stack may
    lack; a team stack then falls back to the environment's default and says so nowhere else."""

    environment: Literal["dev", "staging", "prod"]
    region: str
    account_id: str = Field(pattern=r"^\d{12}$")
    prefix: str
    kubeconfig: str
    cluster_name: str
    cluster_arn: str
    cluster_endpoint: Optional[str] = None
    cluster_certificate_authority: Optional[str] = None
    cluster_version: Optional[str] = None
    cluster_security_group_id: str
    cluster_oidc_issuer: Optional[str] = None
    oidc_provider_arn: Optional[str] = None
    pod_identity_principal: Optional[str] = None
    node_role_arn: Optional[str] = None
    vpc_id: str
    vpc_cidr: str
    private_subnet_ids: list[str] = Field(min_length=1)
    public_subnet_ids: list[str] = Field(default_factory=list)
    availability_zones: list[str] = Field(min_length=1)
    platform_tags: dict[str, str] = Field(default_factory=dict)
    ingress_class: str = "alb"
    protect_stateful: Optional[bool] = None
    scale_to_zero: Optional[bool] = None
    trace_sample_ratio: float = Field(0.1, ge=0, le=1)
    agent_log_retention_days: Optional[int] = Field(None, ge=1)
    agent_budgets: Optional[AgentBudgetsOutput] = None
    messaging: MessagingOutput = Field(default_factory=MessagingOutput)
    observability: dict[str, Any] = Field(default_factory=dict)
    agents: dict[str, AgentOutput] = Field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = Field(default_factory=dict)  # components/flows.py flows_output
    teams: dict[str, TeamOutput] = Field(default_factory=dict)
    agent_permissions_boundary_arn: Optional[str] = None
    eks_key_arn: Optional[str] = None
    logs_key_arn: Optional[str] = None
    ebs_key_arn: Optional[str] = None
    policy: Optional[PolicyOutput] = None
    node_pools: Optional[list[NodePoolOutput]] = None
    llm_provider_hosts: Optional[list[str]] = None
    probe_image: Optional[str] = None
    node_role_arns: Optional[list[str]] = None
    github_oidc_provider_arn: Optional[str] = None
    ci_permissions_boundary_arn: Optional[str] = None

    @classmethod
    def export(cls, **values: Any) -> dict[str, Any]:
        """The platform's side: ``values`` (Pulumi inputs) as stack outputs, refused when a name is
        not a field of this model or a required field is missing, so the two sides cannot drift."""
        unknown = sorted(set(values) - set(cls.model_fields))
        missing = sorted(name for name, field in cls.model_fields.items() if field.is_required() and name not in values)
        if unknown or missing:
            raise ValueError(f"platform outputs disagree with PlatformOutputs: unknown {unknown}, missing {missing}")
        return dict(values)

    @classmethod
    def parse(cls, outputs: dict[str, Any], stack: str) -> "PlatformOutputs":
        """The team's side: the referenced stack's outputs, or a one-line ``pulumi.RunError``
        naming the first output that does not parse and the platform stack."""
        try:
            return cls.model_validate(outputs)
        except ValidationError as error:
            first = error.errors()[0]
            location = ".".join(str(part) for part in first["loc"])
            what = "is missing" if first["type"] == "missing" else f"{first['msg'][0].lower()}{first['msg'][1:]}"
            raise pulumi.RunError(
                f"maas:platform_stack: output '{location}' of platform stack '{stack}' {what}; "
                "is it a maas platform stack of this version?"
            ) from None


# PlatformRefs names NodePoolOutput, declared with the outputs above.
PlatformRefs.model_rebuild()


def refs_from_outputs(
    outputs: PlatformOutputs, reference: pulumi.StackReference, *, account_id: str,
) -> PlatformRefs:
    """What a team stack's agents see of the platform: :class:`PlatformRefs` from the parsed outputs.

    Values that name cloud resources come through ``reference.require_output`` so they keep the
    reference as their source; the rest are the parsed values. An older platform stack that does
    not export ``protect_stateful`` or ``scale_to_zero`` gets its environment's defaults.
    """
    out = reference.require_output
    environment = outputs.environment
    messaging = outputs.messaging
    budgets = outputs.agent_budgets
    return PlatformRefs(
        environment=environment,
        prefix=outputs.prefix,
        account=AccountContext(account_id=account_id, region=outputs.region),
        cluster_name=out("cluster_name"),
        cluster_arn=out("cluster_arn"),
        vpc_id=out("vpc_id"),
        vpc_cidr=out("vpc_cidr"),
        private_subnet_ids=out("private_subnet_ids"),
        availability_zones=out("availability_zones"),
        cluster_security_group_id=out("cluster_security_group_id"),
        # A platform older than its always-present OIDC provider: agents that need it are refused by name.
        oidc_provider_arn=reference.get_output("oidc_provider_arn") if outputs.oidc_provider_arn else None,
        oidc_issuer=out("cluster_oidc_issuer"),
        logs_key_arn=out("logs_key_arn"),
        ingress_class=outputs.ingress_class,
        protect_stateful=(outputs.protect_stateful if outputs.protect_stateful is not None
                          else ENVIRONMENT_DEFAULTS[environment]["protect_stateful"]),
        scale_to_zero=(outputs.scale_to_zero if outputs.scale_to_zero is not None
                       else tier(environment).scale_to_zero),
        trace_sample_ratio=outputs.trace_sample_ratio,
        probe_image=outputs.probe_image,
        tags=dict(outputs.platform_tags),
        teams={team: list(registered.agents) for team, registered in outputs.teams.items()},
        agent_permissions_boundary_arn=(reference.get_output("agent_permissions_boundary_arn")
                                        if outputs.agent_permissions_boundary_arn else None),
        messaging=MessagingRefs(
            backend=messaging.backend,
            topics={
                name: TopicRef(arn=topic.arn, ordered=topic.ordered, publishers=list(topic.publishers),
                               publisher_teams=list(topic.publisher_teams))
                for name, topic in messaging.topics.items()
            },
            broker_key_arn=messaging.broker_key_arn,
            alert_topic_arn=messaging.alert_topic_arn,
            kafka_cluster_arn=messaging.kafka_cluster_arn,
            max_receive_count=messaging.max_receive_count,
            visibility_timeout_seconds=messaging.visibility_timeout_seconds,
            inbox_retention_days=messaging.inbox_retention_days,
            dlq_retention_days=messaging.dlq_retention_days,
            max_message_age_seconds=messaging.max_message_age_seconds,
            keda_authentication=messaging.keda_authentication,
        ),
        # None when the platform exports none (an older stack): the gate then reports MAAS-STK-006.
        agent_budgets=BudgetNotifications(
            thresholds=[Threshold(percent=t.percent, kind=t.kind) for t in budgets.thresholds],
            alert_topic_arn=budgets.alert_topic_arn,
            emails=list(budgets.emails),
        ) if budgets is not None else None,
        **({"log_retention_days": outputs.agent_log_retention_days} if outputs.agent_log_retention_days else {}),
        # Their namespaces, roles and key aliases exist: a team agent may not take these names.
        taken_names=sorted(outputs.agents),
        # An older platform stack exports no pools: its agents' fit is not checked here.
        node_pools=list(outputs.node_pools) if outputs.node_pools is not None else None,
        llm_provider_hosts=list(outputs.llm_provider_hosts or []),
        node_role_arns=list(outputs.node_role_arns or ([outputs.node_role_arn] if outputs.node_role_arn else [])),
        # CI roles only where the platform exports both the provider and the CI boundary its team
        # deploy roles require on them; an older platform's team agents get no CI role.
        **({"github_oidc_provider_arn": reference.get_output("github_oidc_provider_arn"),
            "ci_permissions_boundary_arn": reference.get_output("ci_permissions_boundary_arn")}
           if outputs.github_oidc_provider_arn and outputs.ci_permissions_boundary_arn else {}),
    )
