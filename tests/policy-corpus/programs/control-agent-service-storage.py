# secure: true
"""An AgentService with Postgres storage, as stacks/teams/example builds its agents."""
import pulumi
from maas_platform.components.agent import AgentService, AgentServiceArgs
from maas_platform.team import agent_spec, load_team_config, platform_refs, user_errors

config = load_team_config()
refs = platform_refs(pulumi.StackReference(config.platform_stack), config)
with user_errors():
    AgentService("summarizer", AgentServiceArgs(spec=agent_spec(
        name="summarizer", team=config.team, cost_center="cc-3003",
        image="ghcr.io/acme/summarizer-agent:0.3.1", storage={"kind": "postgres", "max_capacity_acu": 2},
        budget={"monthly_usd": 10, "llm_monthly_usd": 80}), platform=refs))
