"""A team stack: the example team's agents, on the platform stack named in maas:platform_stack.

Run by `pulumi up --stack dev` in this directory, and offline by
`maas plan --project-dir stacks/teams/example --stack dev` from the repository root.
"""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pulumi import ResourceOptions

from maas_platform.components.agent import AgentService, AgentServiceArgs
from maas_platform.team import agent_spec, load_team_config, platform_refs, user_errors

config = load_team_config()
platform = pulumi.StackReference(config.platform_stack)
refs = platform_refs(platform, config)

aws_provider = aws.Provider(
    "aws",
    region=config.region,
    # Never act on an account other than the platform's.
    allowed_account_ids=[refs.account.account_id],
)
k8s_provider = k8s.Provider(
    "k8s",
    # The platform exports it as a secret; stay secret even when read from a plain source.
    # It exists only once the platform's releases that install CRDs are deployed, so every
    # custom resource applied through this provider finds its kind (docs/architecture.md).
    kubeconfig=pulumi.Output.secret(platform.require_output("kubeconfig")),
    enable_server_side_apply=True,
)

with user_errors():
    intake = AgentService(
        "intake",
        AgentServiceArgs(
            spec=agent_spec(
                name="intake",
                team="claims",
                cost_center="cc-3003",
                image="ghcr.io/acme/intake-agent:2.1.0",
                storage="dynamodb",
                exposure="internal",
                secrets=["openai-api-key"],
                env={"MODEL": "gpt-4.1-mini"},
                # Topics are the platform's (maas:broker.topics of its stack).
                messaging={"subscribes": ["tickets"]},
                budget={"monthly_usd": 30, "llm_monthly_usd": 250},
            ),
            platform=refs,
        ),
        opts=ResourceOptions(providers=[aws_provider, k8s_provider]),
    )
    summarizer = AgentService(
        "summarizer",
        AgentServiceArgs(
            spec=agent_spec(
                name="summarizer",
                team="claims",
                cost_center="cc-3003",
                image="ghcr.io/acme/summarizer-agent:0.3.1",
                storage="s3",
                budget={"monthly_usd": 10, "llm_monthly_usd": 80},
            ),
            platform=refs,
        ),
        opts=ResourceOptions(providers=[aws_provider, k8s_provider]),
    )

pulumi.export("agents", {
    agent.spec.name: {"namespace": agent.namespace.metadata.name, "role_arn": agent.role.arn}
    for agent in (intake, summarizer)
})
