"""``AgentService``: one agent as a bounded context, built from its parts.

Everything an agent owns is created below it and nowhere else, from one :class:`AgentSpec`,
by four parts (child components), as CDK builds a construct from smaller ones:

* :class:`.AgentIdentity` — the IAM role only pods of the agent's service account can assume
  (EKS Pod Identity, or IRSA), and the External Secrets controller on the agent's behalf; its
  own KMS key and alias; its Secrets Manager secrets; the role's policy and the Pod Identity
  association;
* the datastore (:mod:`.datastore`) — one class per storage kind: a DynamoDB table, an Aurora
  Serverless v2 PostgreSQL cluster, an S3 bucket, none, or an existing table or bucket the team
  owns (granted, never created);
* :class:`.AgentInbox` — with the sns-sqs broker and subscriptions: the inbox and dead-letter
  queue, their policies, the subscriptions and alarms;
* :class:`.AgentWorkload` — the namespace under Pod Security ``restricted`` with quota,
  limits and default-deny network policies, the secret sync, the hardened Deployment,
  Service, PodDisruptionBudget, autoscaler, the REST entry and the observability objects.

Each part grants what it owns (``inbox.grant_consume()``, ``datastore.grant_read_write()``,
...); the role's one policy is their merged grants. In a team stack the service also keeps
the agent's monthly AWS Budget (the platform stack budgets its own agents).

Every resource keeps the logical name it had when the service created it itself, and an
alias to its URN of then, so an existing stack's resources move into the parts without
being replaced.

A retired agent (``retired: true``, lifecycle ``retired``) keeps, under the same parts and
names, what holds its data: the datastore, the key and its alias, the secrets and the log
groups, protected in every environment; its role, Pod Identity association, inbox, namespace
and everything in it, and its budget go. With ``delete_data`` (lifecycle ``deletable``) the
kept resources lose their protection, so that removing the agent from config deletes them
(docs/agents.md#retiring-an-agent).

The platform stack creates one per entry of ``maas:agents``; a team stack calls it directly
with the platform's outputs (:class:`PlatformRefs`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ... import names
from ...config.agents import AgentSpec, deletion_problem, name_limits, with_environment_replicas
from ...config.defaults import retention_days, tier
from ...config.llm import provider_host
from ...config.loader import ConfigError
from ..contract import PlatformRefs
from ...iam.grants import merge_grants
from ...slo import openslo_documents
from ...tagging import tag_transformation
from ..base import ComponentArgs, child
from ..signatures import agent_repository_url, signature_policy
from ..budgets import agent_budget_name, monthly_budget
from ..nodepools import agent_fit_problem
from .bedrock import AgentBedrock, AgentBedrockArgs
from .common import agent_labels, agent_tags, physical_name
from .datastore import Datastore, DatastoreArgs
from .golden import check_golden
from .identity import AgentIdentity, AgentIdentityArgs
from .inbox import AgentInbox, AgentInboxArgs, has_inbox, kafka_grants, publish_grants
from .registry import AgentRegistry, AgentRegistryArgs
from .stores import create_datastore, datastore_class
from .workload import AgentWorkload, AgentWorkloadArgs


class AgentServiceArgs(ComponentArgs):
    spec: AgentSpec
    platform: PlatformRefs


@dataclass
class ProgramRun:
    """What one run of a Pulumi program has declared so far.

    ``agents``: the agent names its AgentServices took (each name is a role, a key alias and
    a namespace, so a second one would collide). ``platform_stack`` and ``team``: set by a team
    stack (:func:`maas_platform.team.platform_refs`), for checks and messages that name them;
    ``retention_days``: the team stack's ``maas:retirement.retention_days`` (None: the
    environment's default).
    """

    agents: set[str] = field(default_factory=set)
    platform_stack: Optional[str] = None
    team: Optional[str] = None
    retention_days: Optional[int] = None


# One record per program run, keyed by the run's root Stack resource: the offline plan and the
# tests run many programs in one process, each under a new root, and a record goes with its root.
_RUNS: "weakref.WeakKeyDictionary[object, ProgramRun]" = weakref.WeakKeyDictionary()


def program_run() -> ProgramRun:
    """The record of the Pulumi program now running (a fresh one per root Stack resource)."""
    root = pulumi.runtime.get_root_resource()
    if root is None:  # outside a program run: nothing to remember across calls
        return ProgramRun()
    return _RUNS.setdefault(root, ProgramRun())


def check_agent(spec: AgentSpec, platform: PlatformRefs, run: Optional[ProgramRun] = None) -> None:
    """What the spec alone cannot know: names taken or too long in this environment, a name this
    program already declared, a team the stack may not deploy, topics the platform does not
    declare or whose policy refuses the agent, a datastore outside the environment. One-line
    :class:`ConfigError`."""
    run = run or ProgramRun()
    stack = f"platform stack '{run.platform_stack}'" if run.platform_stack else "the platform stack"
    problem = name_limits(platform.prefix, spec.name)
    if problem:
        raise ConfigError(f"agent '{spec.name}': name {problem}")
    if spec.name in platform.taken_names:
        raise ConfigError(f"agent '{spec.name}': name is taken by an agent of the platform stack; choose another")
    if spec.name in run.agents:
        raise ConfigError(
            f"agent '{spec.name}' is declared twice in this stack; its role, key alias and namespace would "
            "collide: give each agent its own name"
        )
    _check_team(spec, platform, run, stack)
    check_golden(spec, platform)  # the golden set's file, read and validated before anything is declared
    if run.platform_stack is not None and (spec.llm.gateway is not None or spec.llm.bedrock is not None):
        # The gateway registers the credentials of the platform stack's agents only (components/llmgateway.py);
        # Bedrock's hard stop is a role that may attach policies to the agent's role, which a team's deploy
        # role may not create (components/teams.py deploy_statements).
        what = ("llm.gateway: a team stack's agent gets no gateway credential yet" if spec.llm.gateway is not None
                else "llm.bedrock: a team stack's agent gets no Bedrock hard stop yet")
        raise ConfigError(f"agent '{spec.name}': {what}; only agents of {stack} (maas:agents) get LLM access "
                          "(docs/teams.md#llm-access)")
    for host in spec.egress:  # the platform's config refuses these for its own agents (config/llm.py gateway_problem)
        reached = provider_host(host, platform.llm_provider_hosts)
        if reached is not None:
            what = "is" if host == reached else f"covers '{reached}',"
            raise ConfigError(f"agent '{spec.name}': egress: '{host}' {what} the API host of an LLM provider, which "
                              f"only the platform's LLM gateway reaches; remove it (docs/llm-access.md)")
    if run.platform_stack is not None:  # a team stack; the platform's config checked its own agents
        problem = deletion_problem(spec, run.retention_days or retention_days(platform.environment))
        if problem:
            raise ConfigError(f"agent '{spec.name}': {problem}")
    if not spec.active:  # nothing of it runs: no publisher, no inbox, no pod to fit a pool
        problem = datastore_class(spec.storage).problem(spec, platform)
        if problem:
            raise ConfigError(f"agent '{spec.name}': {problem}")
        return
    declared = platform.messaging.topics if platform.messaging.backend == "sns-sqs" else None
    for field_, topics in (("publishes", spec.messaging.publishes), ("subscribes", [s.topic for s in spec.messaging.subscribes])):
        for topic in topics:
            if declared is not None and topic not in declared:
                raise ConfigError(
                    f"agent '{spec.name}': messaging.{field_}: topic '{topic}' is not declared by the platform "
                    f"(maas:broker.topics); declared: {', '.join(sorted(declared)) or 'none'}"
                )
    for topic in spec.messaging.publishes if declared else ():
        ref = declared[topic]
        if spec.name not in ref.publishers and spec.team not in ref.publisher_teams:
            raise ConfigError(
                f"agent '{spec.name}': messaging.publishes: topic '{topic}' refuses it; in {stack} add "
                f"'{spec.name}' to its team_publishers or '{spec.team}' to its publisher_teams (maas:broker.topics)"
            )
    if declared and len({declared[s.topic].ordered for s in spec.messaging.subscribes}) > 1:
        raise ConfigError(
            f"agent '{spec.name}': messaging.subscribes: an inbox is FIFO or standard; "
            "subscribe to ordered or to unordered topics, not both"
        )
    problem = datastore_class(spec.storage).problem(spec, platform)
    if problem:
        raise ConfigError(f"agent '{spec.name}': {problem}")
    problem = agent_fit_problem(spec, platform.node_pools, platform.environment)
    if problem:
        raise ConfigError(f"agent '{spec.name}': {problem}")


def _check_team(spec: AgentSpec, platform: PlatformRefs, run: ProgramRun, stack: str) -> None:
    """A team stack deploys its own team's agents, and of those only the ones the platform registered."""
    if run.team is None:
        return
    if spec.team != run.team:
        raise ConfigError(
            f"agent '{spec.name}': team '{spec.team}' is not this stack's team '{run.team}' (maas:team); "
            f"set its team to '{run.team}' or deploy it from the stack of team '{spec.team}'"
        )
    if platform.teams and spec.name not in platform.teams.get(run.team, []):
        raise ConfigError(
            f"agent '{spec.name}': not registered to team '{run.team}'; in {stack} add '{spec.name}' "
            f"to the agents of team '{run.team}' (maas:teams)"
        )


class AgentService(pulumi.ComponentResource):
    """One agent's bounded context. Give it the AWS and Kubernetes providers via ``opts.providers``."""

    identity: AgentIdentity
    store: Datastore
    queues: Optional[AgentInbox]
    workload: AgentWorkload
    role: Optional[aws.iam.Role]  # None, with namespace and deployment, for a retired agent
    key: aws.kms.Key
    namespace: Optional[k8s.core.v1.Namespace]
    datastore: Optional[pulumi.CustomResource]
    secrets: dict[str, aws.secretsmanager.Secret]
    deployment: Optional[k8s.apps.v1.Deployment]

    def __init__(self, name: str, args: AgentServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        spec, platform = args.spec, args.platform
        # A team stack's spec is validated without its environment: its fewest replicas are the
        # environment's unless it states replicas.min (the platform's own agents have them already).
        try:
            spec = with_environment_replicas(spec, tier(platform.environment).agent_min_replicas)
        except ValueError as error:
            raise ConfigError(f"agent '{spec.name}': {error}") from None
        run = program_run()
        check_agent(spec, platform, run)
        run.agents.add(spec.name)
        self.spec, self.platform = spec, platform
        self.physical = physical_name(spec, platform)
        self.labels = agent_labels(spec, platform)
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(transformations=[tag_transformation(agent_tags(spec, platform))])
        )
        super().__init__(names.MAAS_AGENT_SERVICE, name, None, opts)
        # What the caller made the agent wait for (the cluster add-ons): its namespace waits,
        # and every Kubernetes object waits for the namespace.
        after = opts.depends_on if isinstance(opts.depends_on, list) else ([opts.depends_on] if opts.depends_on else [])

        self.identity = AgentIdentity(name, AgentIdentityArgs(spec=spec, platform=platform), opts=child(self))
        key_arn = self.identity.key.arn
        self.store = create_datastore(name, DatastoreArgs(spec=spec, platform=platform, key_arn=key_arn), opts=child(self))
        self.lifecycle = spec.lifecycle
        self.queues = AgentInbox(name, AgentInboxArgs(spec=spec, platform=platform, key_arn=key_arn), opts=child(self)) \
            if spec.active and has_inbox(spec, platform) else None
        self.bedrock = AgentBedrock(name, AgentBedrockArgs(
            spec=spec, platform=platform, role_name=self.identity.role.name, role_arn=self.identity.role.arn,
        ), opts=child(self)) if spec.active and spec.llm.bedrock is not None and self.identity.role is not None else None
        if spec.active:
            self.role_policy: Optional[aws.iam.RolePolicy] = self.identity.allow(merge_grants(
                self.identity.grant_key_use(),
                self.store.grant_read_write(),
                self.identity.grant_read_secrets(),
                self.queues.grant_consume() if self.queues else [],
                publish_grants(spec, platform),
                kafka_grants(spec, platform),
                self.bedrock.grant_invoke() if self.bedrock else [],
            ))
        else:
            self.role_policy = None
            self.identity.complete()
        # Its images' repository, signing key and CI role (retired: kept, protected, nobody pushes).
        self.registry = AgentRegistry(name, AgentRegistryArgs(spec=spec, platform=platform, key_arn=key_arn),
                                      opts=child(self))
        # Kyverno admits its images only signed with its key (require_signatures); its pods wait for the policy.
        if platform.require_signatures and spec.active:
            after = [*after, signature_policy(
                name, agent=spec.name, namespace=spec.namespace, key_arn=self.registry.signing_key.arn,
                repository_url=agent_repository_url(platform.account, platform.prefix, spec.name), labels=self.labels,
                opts=child(self, depends_on=after))]
        self.workload = AgentWorkload(name, AgentWorkloadArgs(
            spec=spec,
            platform=platform,
            role_arn=self.identity.role_arn,
            secret_names={secret: resource.name for secret, resource in self.identity.secrets.items()},
            datastore=self.store,
            inbox_url=self.queues.queue.url if self.queues else None,
            llm_environment=self.bedrock.environment() if self.bedrock else [],
            wait_for=[r for r in after if isinstance(r, pulumi.Resource)],
        ), opts=child(self))

        # The parts' resources, where callers and the outputs have always found them.
        self.role, self.key, self.secrets = self.identity.role, self.identity.key, self.identity.secrets
        self.datastore = self.store.resource
        self.inbox = self.queues.queue if self.queues else None
        self.dead_letters = self.queues.dead_letters if self.queues else None
        self.namespace, self.service_account = self.workload.namespace, self.workload.service_account
        self.deployment, self.log_group = self.workload.deployment, self.workload.log_group
        self.budget = self._budget(name) if spec.active else None

        self.register_outputs({
            "namespace": spec.name,
            "lifecycle": self.lifecycle,
            "slos": openslo_documents(spec, spec.namespace) if spec.active else [],
            "role_arn": self.role.arn if self.role is not None else None,
            "key_arn": self.key.arn,
            "secret_arns": {n: s.arn for n, s in self.secrets.items()},
            **{f"datastore_{k}": v for k, v in self.datastore_outputs().items()},
            "repository_url": self.registry.repository.repository_url,
            "ci_role_arn": self.registry.ci_role.arn if self.registry.ci_role is not None else None,
            "signing_key_arn": self.registry.signing_key.arn,
        })

    def datastore_arns(self) -> list[pulumi.Input[str]]:
        """The ARNs the agent's role may reach in its datastore."""
        return self.store.arns()

    def datastore_outputs(self) -> dict[str, pulumi.Input]:
        return self.store.outputs()

    def _budget(self, name: str) -> Optional[aws.budgets.Budget]:
        """Its monthly budget on its ``agent`` tag, unless the platform stack already keeps one."""
        spec, notify = self.spec, self.platform.agent_budgets
        if notify is None or not spec.budget.monthly_usd:
            return None
        return monthly_budget(
            self, f"{name}-budget", budget_name=agent_budget_name(self.platform.prefix, spec.name),
            tag=names.AGENT_TAG, value=spec.name, limit_usd=spec.budget.monthly_usd, notify=notify,
        )
