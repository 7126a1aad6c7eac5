"""How agents reach language models: Amazon Bedrock directly, other providers through the gateway.

An agent declares the models it calls (``llm`` of :class:`~.agents.AgentSpec`); the platform
turns each declaration into the only way to reach that model, and into the limit that stops it:

- ``llm.bedrock.models``: Bedrock foundation-model ids. The agent's role may invoke those models
  only through its own application inference profiles (tagged with its cost tags), an AWS Budget
  on its Bedrock spend denies ``bedrock:Invoke*`` when it is exhausted, and a guardrail, when
  configured, is required on every call.
- ``llm.gateway.models``: ``<provider>/<model>`` names served by the platform's LLM gateway, which
  holds the provider API keys; the agent gets its own gateway credential, limited to those models
  and to its monthly spend.

The platform's side (``maas:llm``): invocation logging of Bedrock and the gateway's providers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Iterable, Literal, Optional

from pydantic import AfterValidator, Field, model_validator

from .base import RetentionDays, StrictModel, first_repeated

if TYPE_CHECKING:
    from .agents import AgentSpec

# A Bedrock foundation-model id: <provider>.<model>[:<version>], e.g. anthropic.claude-3-5-haiku-20241022-v1:0,
# amazon.nova-lite-v1:0, meta.llama3-1-8b-instruct-v1:0 (the modelId of ListFoundationModels). Inference
# profile ids (us.anthropic...) and ARNs are not model ids: the platform derives the profiles itself.
_BEDROCK_MODEL = re.compile(r"^[a-z0-9-]{2,32}\.[a-z0-9][a-z0-9.\-]{1,100}(:[0-9a-z:]{1,20})?$")
_REGION_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "ca.", "jp.", "au.", "global.")
# A model of the gateway: <provider>/<model>, the provider one of maas:llm.gateway.providers.
_GATEWAY_MODEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}/[A-Za-z0-9][A-Za-z0-9._:\-]{0,100}$")


def _bedrock_model(value: str) -> str:
    if value.startswith("arn:"):
        raise ValueError(f"'{value}' is an ARN; give the foundation-model id, e.g. anthropic.claude-3-5-haiku-20241022-v1:0")
    if value.startswith(_REGION_PREFIXES):
        raise ValueError(
            f"'{value}' is an inference profile id; give the foundation-model id without the region prefix "
            f"('{value.split('.', 1)[1]}'): the platform adds the profiles the model needs"
        )
    if not _BEDROCK_MODEL.match(value):
        raise ValueError(f"'{value}' is not a Bedrock model id like anthropic.claude-3-5-haiku-20241022-v1:0")
    return value


def _gateway_model(value: str) -> str:
    if not _GATEWAY_MODEL.match(value):
        raise ValueError(f"'{value}' is not <provider>/<model>, e.g. openai/gpt-4.1-mini")
    return value


def _unique(value: list[str]) -> list[str]:
    repeated = first_repeated(value)
    if repeated is not None:
        raise ValueError(f"'{repeated}' is listed twice")
    return value


BedrockModelId = Annotated[str, AfterValidator(_bedrock_model)]
GatewayModel = Annotated[str, AfterValidator(_gateway_model)]


class DeniedTopic(StrictModel):
    name: str = Field(pattern=r"^[0-9A-Za-z\-_ !?.]{1,100}$", description="Topic name, as Bedrock shows it.")
    definition: str = Field(min_length=1, max_length=200, description="What the topic covers (at most 200 characters).")
    examples: list[str] = Field(default_factory=list, max_length=5, description="Example prompts of the topic (up to 5).")


class GuardrailSpec(StrictModel):
    """A Bedrock guardrail the agent's every Bedrock call must name (IAM condition bedrock:GuardrailIdentifier)."""

    pii: dict[str, Literal["BLOCK", "ANONYMIZE"]] = Field(
        default_factory=dict,
        description="PII entity type (Bedrock's, e.g. EMAIL, PHONE, US_SOCIAL_SECURITY_NUMBER) -> BLOCK or ANONYMIZE.",
    )
    denied_topics: list[DeniedTopic] = Field(default_factory=list, max_length=30, description="Topics the model must refuse.")
    words: list[str] = Field(default_factory=list, max_length=10000, description="Words and phrases blocked in prompts and answers.")
    profanity: bool = Field(False, description="Block AWS's managed profanity word list.")

    @model_validator(mode="after")
    def _something(self) -> "GuardrailSpec":
        if not (self.pii or self.denied_topics or self.words or self.profanity):
            raise ValueError("an empty guardrail filters nothing: set pii, denied_topics, words or profanity, or leave it out")
        return self


class BedrockSpec(StrictModel):
    models: Annotated[list[BedrockModelId], AfterValidator(_unique)] = Field(
        min_length=1, description="Bedrock foundation-model ids the agent calls (one application inference profile each)."
    )
    monthly_usd: Optional[float] = Field(
        None, gt=0, description="Hard stop: an AWS Budget on the agent's Bedrock spend denies bedrock:Invoke* at 100 %. "
                                "Default: budget.llm_monthly_usd.")
    guardrail: Optional[GuardrailSpec] = Field(None, description="A guardrail required on every call. Default: none.")


class GatewaySpec(StrictModel):
    models: Annotated[list[GatewayModel], AfterValidator(_unique)] = Field(
        min_length=1, description="<provider>/<model> names the agent may call through the LLM gateway (its allow-list).")
    monthly_usd: Optional[float] = Field(
        None, gt=0, description="Spend limit the gateway enforces on the agent's credential. Default: budget.llm_monthly_usd.")
    tokens_per_minute: Optional[int] = Field(
        None, gt=0, description="Token rate limit of the agent's credential, whatever replica serves it (each of the "
                                "gateway's replicas enforces an equal share). Default: none.")


class LlmSpec(StrictModel):
    """The models an agent calls. Leave out what it does not use."""

    bedrock: Optional[BedrockSpec] = Field(None, description="Amazon Bedrock models, invoked with the agent's own role.")
    gateway: Optional[GatewaySpec] = Field(None, description="Other providers' models, through the platform's LLM gateway.")


# -- the platform side: maas:llm ------------------------------------------------------------------------

# Where LiteLLM's state lives (components/llmgateway.py): an Aurora cluster, or a StatefulSet of one.
GatewayDatabase = Literal["aurora", "in_cluster"]

class GatewayProvider(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$", description="Provider name, the prefix of its models (openai, anthropic).")
    api_host: str = Field(
        pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        description="The provider's API host the gateway calls over HTTPS (api.openai.com, api.anthropic.com).",
    )
    secret: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="Secrets Manager secret (under the platform's prefix) holding the provider API key; only the gateway reads it.",
    )


class LlmPlatformConfig(StrictModel):
    invocation_logging: bool = Field(
        True, description="Log every Bedrock invocation of the account and region (one setting per platform stack) "
                          "to an encrypted log group with the environment's retention.")
    log_retention_days: RetentionDays = Field(
        30, description="Retention of the Bedrock invocation logs, days (a CloudWatch Logs period). "
                        "Default: dev 30, staging 90, prod 365.")
    providers: list[GatewayProvider] = Field(
        default_factory=list, description="Providers the LLM gateway serves; their API keys stay in the gateway's namespace.")
    gateway_database: GatewayDatabase = Field(
        "aurora", description="Where the gateway keeps its keys, budgets and spend: 'aurora' (Aurora Serverless v2, "
                              "backed up, storage across AZs; about $44 a month at its 0.5 ACU floor) or 'in_cluster' "
                              "(one PostgreSQL pod on an encrypted 5 GiB volume, no backups; refused in prod). "
                              "Default: dev in_cluster, staging and prod aurora.")


def gateway_database_problem(llm: LlmPlatformConfig, environment: str) -> Optional[str]:
    """``llm.gateway_database: <fix>`` when prod would keep the gateway's state in the cluster: one
    pod on one volume in one AZ, without backups, would lose every key's spend of the month (and
    stop the gateway) with that volume or zone."""
    if environment == "prod" and llm.gateway_database == "in_cluster":
        return ("llm.gateway_database: prod keeps the gateway's keys and spend in 'aurora' (backed up, across AZs); "
                "set it to aurora or leave it out")
    return None


def provider_host(egress: str, provider_hosts: Iterable[str]) -> Optional[str]:
    """The provider API host an egress entry lets the agent reach, or None: the host itself, or one
    a wildcard entry covers (``*.openai.com`` admits every name ending ``.openai.com``, as the
    egress proxy's virtual host does, components/agent/egress.py)."""
    for host in sorted(provider_hosts):
        if egress == host or (egress.startswith("*.") and host.endswith(egress[1:])):
            return host
    return None


def gateway_problem(agent: "AgentSpec", llm: LlmPlatformConfig, replicas: int = 1) -> Optional[str]:
    """What in ``agent`` the platform's providers refuse, as ``<field>: <fix>``, or None: a gateway
    model of a provider ``maas:llm.providers`` does not declare, an egress host that is a
    provider's API host (only the gateway reaches the providers; the agent calls it instead), or a
    token rate below the proxy's ``replicas`` (each replica enforces its share of it, see
    components/llmgateway.py ``replica_tpm_limit``)."""
    gateway = agent.llm.gateway
    if gateway is not None and gateway.tokens_per_minute is not None and gateway.tokens_per_minute < replicas:
        return (f"llm.gateway.tokens_per_minute: {gateway.tokens_per_minute} is fewer than the gateway's {replicas} "
                f"replicas, each of which enforces an equal share of it; set at least {replicas}")
    hosts = {provider.api_host: provider.name for provider in llm.providers}
    for host in agent.egress:
        reached = provider_host(host, hosts)
        if reached is not None:
            what = "is" if host == reached else f"covers '{reached}',"
            return (f"egress: '{host}' {what} the API host of LLM provider '{hosts[reached]}', which only the LLM "
                    f"gateway reaches; remove it and use llm.gateway.models instead (e.g. {hosts[reached]}/<model>)")
    declared = {provider.name for provider in llm.providers}
    for model in agent.llm.gateway.models if agent.llm.gateway else ():
        provider = model.split("/", 1)[0]
        if provider not in declared:
            return (f"llm.gateway.models: '{model}' names provider '{provider}', which maas:llm.providers does not "
                    f"declare (declared: {', '.join(sorted(declared)) or 'none'}); add it there")
    return None
