"""A team stack: the example team's agents, on the platform stack named in maas:platform_stack.

Run by `pulumi up --stack dev` in this directory, and offline by
`maas plan --project-dir stacks/teams/example --stack dev` from the repository root.
"""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pulumi import ResourceOptions

from maas_platform.team import (
    agent_service, agent_spec, agents_output, load_team_config, platform_refs, team_flows, user_errors,
)

config = load_team_config()
platform = pulumi.StackReference(config.platform_stack)
refs = platform_refs(platform, config)

# The team's deploy identity, registered by the platform stack (maas:teams, docs/teams.md): the
# role may manage only this team's agents' AWS resources, and its kubeconfig only their namespaces.
# A platform that registers no teams offers none: the stack then deploys as whoever runs it.
registered = config.team in refs.teams
# The output is secret as a whole (it holds kubeconfigs); the role's ARN is not.
team = platform.require_output("teams").apply(lambda teams: teams[config.team]) if registered else None
aws_provider = aws.Provider(
    "aws",
    region=config.region,
    # Never act on an account other than the platform's.
    allowed_account_ids=[refs.account.account_id],
    # Whoever runs this (the team's CI, one of maas:teams' deployers) acts as the deploy role
    # (pulumi-aws 7 takes a list, assume_roles, applied in order).
    assume_roles=[aws.ProviderAssumeRoleArgs(
        role_arn=pulumi.Output.unsecret(team.apply(lambda t: t["deploy_role_arn"])),
        session_name=f"{config.team}-deploy",
    )] if team is not None else None,
)
k8s_provider = k8s.Provider(
    "k8s",
    # The team's kubeconfig (`aws eks get-token --role-arn <deploy role>`), or the platform's; a
    # secret either way. It exists only once the platform's releases that install CRDs are
    # deployed, so every custom resource applied through this provider finds its kind
    # (docs/architecture.md).
    kubeconfig=pulumi.Output.secret(team.apply(lambda t: t["kubeconfig"]) if team is not None
                                    else platform.require_output("kubeconfig")),
    enable_server_side_apply=True,
)

# Each agent's component is named after it (agent_service): the name is written once. A mistake
# in a call names this file and the line of the field at fault.
with user_errors():
    intake = agent_service(
        agent_spec(
            name="intake",
            team=config.team,
            cost_center="cc-3003",
            image="ghcr.io/acme/intake-agent:2.1.0",
            storage="dynamodb",
            exposure="internal",
            secrets=["claims-api-token"],
            # HTTPS through its egress proxy, nothing else (docs/egress.md). Not an LLM provider's
            # host: only the platform's LLM gateway reaches those (docs/llm-access.md).
            egress=["claims-api.example.com"],
            env={"CLAIMS_API_URL": "https://claims-api.example.com/v2"},
            # Topics are the platform's (maas:broker.topics of its stack).
            messaging={"subscribes": ["tickets"]},
            budget={"monthly_usd": 30, "llm_monthly_usd": 250},
            # Asked in the cluster on a schedule; the path is relative to this project (docs/probes.md).
            golden={"cases": "golden/intake.yaml"},
            # The release workflow of this repository, on main and v* tags, pushes and signs its
            # images; the agent runs only those (docs/delivery.md).
            delivery={"source": {"repository": "acme/intake-agent"}},
        ),
        refs,
        opts=ResourceOptions(providers=[aws_provider, k8s_provider]),
    )
    summarizer = agent_service(
        agent_spec(
            name="summarizer",
            team=config.team,
            cost_center="cc-3003",
            image="ghcr.io/acme/summarizer-agent:0.3.1",
            storage="s3",
            budget={"monthly_usd": 10, "llm_monthly_usd": 80},
            delivery={"source": {"repository": "acme/summarizer-agent"}},
        ),
        refs,
        opts=ResourceOptions(providers=[aws_provider, k8s_provider]),
    )

# Flows among these agents (maas:flows, docs/slos.md): checked against them, then each its SLO
# rules and dashboard. None here: no two of this team's agents talk through a topic.
flows = team_flows(config, refs, intake, summarizer, opts=ResourceOptions(providers=[k8s_provider]))

pulumi.export("agents", agents_output(intake, summarizer))
if flows:
    pulumi.export("flows", flows)
