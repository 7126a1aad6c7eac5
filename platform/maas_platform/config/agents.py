"""The agent spec: one entry under ``maas:agents``, or the args of one ``AgentService``.

An agent is a bounded context: it names its team and cost center, its container, how
it is reached, what it stores and which secrets it needs *by name* (values live in
Secrets Manager, never in config). The sections later parts of the platform consume
(messaging, SLOs, budget) are validated here too, so one spec describes the agent whole.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from ..credentials import credential_name, scan
from ..names import (
    AGENT_LIFECYCLE_ACTIVE, AGENT_LIFECYCLE_DELETABLE, AGENT_LIFECYCLE_RETIRED, LLM_GATEWAY_KEY_SECRET, RESERVED_NAMESPACES,
)
from .base import StrictModel, first_repeated
from .delivery import DeliverySpec
from .llm import LlmSpec

# DNS-1123 label, and short enough for every AWS name it feeds (see ``name_limits``).
AGENT_NAME_MAX = 30
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_CPU = re.compile(r"^(\d+m|\d+(\.\d{1,3})?)$")
_MEMORY = re.compile(r"^\d+(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_IMAGE = re.compile(
    r"^(?P<repo>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


# Namespaces the cluster and the platform's add-ons own.
RESERVED_NAMES = RESERVED_NAMESPACES


def _agent_name(value: str) -> str:
    if value in RESERVED_NAMES or value.startswith("kube-"):
        raise ValueError(f"'{value}' is a namespace the cluster or the platform owns; choose another agent name")
    if len(value) > AGENT_NAME_MAX or not _DNS_LABEL.match(value):
        raise ValueError(
            f"'{value}' must be a DNS-1123 label: lowercase letters, digits and '-', starting with a letter, "
            f"at most {AGENT_NAME_MAX} characters (it names a namespace, an IAM role and a datastore)"
        )
    return value


def _label(value: str) -> str:
    if len(value) > 40 or not _DNS_LABEL.match(value):
        raise ValueError(f"'{value}' must be lowercase letters, digits and '-', starting with a letter, at most 40 characters")
    return value


def _image(value: str) -> str:
    match = _IMAGE.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a container image reference (registry/repository:tag or @sha256:digest)")
    if not match.group("digest") and match.group("tag") in (None, "latest"):
        raise ValueError(
            f"'{value}' is not pinned; give an immutable tag (e.g. :1.4.2) or a digest (@sha256:...), never latest"
        )
    return value


def _cpu(value: str) -> str:
    if not _CPU.match(value):
        raise ValueError(f"'{value}' is not a CPU quantity (e.g. 250m or 1)")
    return value


def _memory(value: str) -> str:
    if not _MEMORY.match(value):
        raise ValueError(f"'{value}' is not a memory quantity (e.g. 256Mi or 1Gi)")
    return value


def _shorthand(field: str):
    """Let ``storage: s3`` stand for ``storage: {kind: s3}``."""

    def expand(value: Any) -> Any:
        return {field: value} if isinstance(value, str) else value

    return BeforeValidator(expand)


def _iso_date(value: Any) -> Any:
    """written YYYY-MM-DD"""
    # YAML gives an unquoted 2026-12-03 as a date, Pulumi's runtime passes config as text.
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a date written YYYY-MM-DD (e.g. 2026-12-03)") from None
    if isinstance(value, datetime):  # a date with a time of day is not a day
        raise ValueError(f"'{value}' is not a date written YYYY-MM-DD (e.g. 2026-12-03)")
    return value


AgentName = Annotated[str, AfterValidator(_agent_name)]
Day = Annotated[date, BeforeValidator(_iso_date)]
Label = Annotated[str, AfterValidator(_label)]
Image = Annotated[str, AfterValidator(_image)]
Cpu = Annotated[str, AfterValidator(_cpu)]
Memory = Annotated[str, AfterValidator(_memory)]

_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def cpu_millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(Decimal(quantity) * 1000)


def memory_bytes(quantity: str) -> int:
    number = re.match(r"^\d+", quantity).group(0)  # type: ignore[union-attr]
    return int(number) * _UNITS[quantity[len(number):]]


# --- sections ------------------------------------------------------------------------------

class ComputeResources(StrictModel):
    cpu: Cpu = Field(description="CPU quantity, e.g. 250m.")
    memory: Memory = Field(description="Memory quantity, e.g. 512Mi.")


class ResourcesSpec(StrictModel):
    """Requests and limits of the agent's container; the namespace quota is derived from them."""

    requests: ComputeResources = Field(
        ComputeResources(cpu="250m", memory="512Mi"), description="What the scheduler reserves per replica."
    )
    limits: ComputeResources = Field(
        ComputeResources(cpu="1", memory="1Gi"), description="The most a replica may use (memory over it is OOM-killed)."
    )

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> "ResourcesSpec":
        if cpu_millicores(self.limits.cpu) < cpu_millicores(self.requests.cpu):
            raise ValueError(f"limits.cpu: {self.limits.cpu} is below the request {self.requests.cpu}")
        if memory_bytes(self.limits.memory) < memory_bytes(self.requests.memory):
            raise ValueError(f"limits.memory: {self.limits.memory} is below the request {self.requests.memory}")
        return self


class ReplicasSpec(StrictModel):
    min: int = Field(
        2, ge=1, le=100,
        description="Fewest replicas (2+ keeps the agent up through a node or zone loss). Default: dev 1, staging and prod 2.",
    )
    max: int = Field(6, ge=1, le=500, description="Most replicas the autoscaler may run.")
    target_cpu_percent: int = Field(70, ge=10, le=100, description="CPU utilisation the HPA aims for.")

    @model_validator(mode="after")
    def _order(self) -> "ReplicasSpec":
        # An unstated min is the environment's, checked when it is applied (with_environment_replicas).
        if "min" in self.model_fields_set and self.min > self.max:
            raise ValueError(f"min: {self.min} must not exceed max ({self.max})")
        return self


class DynamoDBStorage(StrictModel):
    """A DynamoDB table: on-demand, point-in-time recovery, encrypted with the agent's key."""

    kind: Literal["dynamodb"] = "dynamodb"
    partition_key: str = Field("pk", pattern=r"^[A-Za-z0-9_.-]{1,255}$", description="Partition key attribute (string).")
    sort_key: Optional[str] = Field("sk", pattern=r"^[A-Za-z0-9_.-]{1,255}$", description="Sort key attribute (string); null for none.")
    ttl_attribute: Optional[str] = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,255}$", description="Attribute holding an expiry epoch.")


class PostgresStorage(StrictModel):
    """Aurora Serverless v2 PostgreSQL: IAM authentication, TLS only, managed master password."""

    kind: Literal["postgres"]
    engine_version: str = Field("16.6", pattern=r"^1[3-7]\.\d+$", description="Aurora PostgreSQL version.")
    database: Optional[str] = Field(
        None, pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Database name. Default: the agent name with '_' for '-'."
    )
    min_capacity_acu: float = Field(
        0, ge=0, le=256, description="Least capacity (ACU). 0 pauses when idle where the environment allows it."
    )
    max_capacity_acu: float = Field(4, ge=1, le=256, description="Most capacity (ACU).")
    backup_retention_days: int = Field(7, ge=1, le=35, description="Automated backup retention.")

    @model_validator(mode="after")
    def _capacity(self) -> "PostgresStorage":
        if self.min_capacity_acu > self.max_capacity_acu:
            raise ValueError(f"min_capacity_acu: {self.min_capacity_acu} must not exceed max_capacity_acu ({self.max_capacity_acu})")
        if self.min_capacity_acu * 2 != int(self.min_capacity_acu * 2):
            raise ValueError("min_capacity_acu: capacity moves in steps of 0.5 ACU")
        return self


class S3Storage(StrictModel):
    """An S3 bucket: public access blocked, versioned, SSE-KMS with the agent key, TLS only."""

    kind: Literal["s3"]
    noncurrent_version_expiration_days: int = Field(
        30, ge=1, le=3650, description="Days old object versions are kept before expiring."
    )


class NoStorage(StrictModel):
    kind: Literal["none"]


# The datastore ARNs an existing store may name: a DynamoDB table, or an S3 bucket (whose ARN
# carries no region or account). Names follow the services' rules.
_TABLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):dynamodb:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):"
    r"table/(?P<name>[A-Za-z0-9_.-]{3,255})$"
)
_BUCKET_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):s3:::(?P<name>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$")
KEY_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):"
    r"key/(?P<name>[0-9a-f-]{36}|mrk-[0-9a-f]{32})$"
)
TABLE_ARN_FORM = "arn:aws:dynamodb:<region>:<account>:table/<name>"
BUCKET_ARN_FORM = "arn:aws:s3:::<bucket>"
KEY_ARN_FORM = "arn:aws:kms:<region>:<account>:key/<key id>"


class DatastoreArn(StrictModel):
    """An existing datastore's ARN, taken apart. ``region`` and ``account`` are empty for a bucket."""

    service: Literal["dynamodb", "s3"]
    partition: str
    region: str = ""
    account: str = ""
    name: str = Field(description="The table's or the bucket's name.")


def parse_datastore_arn(arn: str) -> Optional[DatastoreArn]:
    """The table or bucket ``arn`` names, or None when it is neither (an index, an object, another service)."""
    table = _TABLE_ARN.match(arn)
    if table:
        return DatastoreArn(service="dynamodb", partition=table["partition"], region=table["region"],
                            account=table["account"], name=table["name"])
    bucket = _BUCKET_ARN.match(arn)
    if bucket and ".." not in bucket["name"]:
        return DatastoreArn(service="s3", partition=bucket["partition"], name=bucket["name"])
    return None


class ExistingStorage(StrictModel):
    """A DynamoDB table or S3 bucket the team already owns: the platform grants the agent the data
    actions of that kind on it and injects its name, but never creates, changes or deletes it."""

    kind: Literal["existing"]
    arn: str = Field(
        description=f"The table ({TABLE_ARN_FORM}) or the bucket ({BUCKET_ARN_FORM}), in the environment's "
        "account and region. Only DynamoDB tables and S3 buckets can be brought: an Aurora cluster's IAM "
        "authentication is granted on its cluster resource id (not its ARN), and its endpoint, database and "
        "network reach are not in an ARN either.",
    )
    key_arn: Optional[str] = Field(
        None,
        description=f"The customer-managed KMS key encrypting the store ({KEY_ARN_FORM}), in the environment's "
        "account and region: the agent's role may use it. Null for a store encrypted with an AWS-owned or "
        "AWS-managed key.",
    )

    @field_validator("arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if parse_datastore_arn(value) is None:
            raise ValueError(
                f"'{value}' is not a DynamoDB table or S3 bucket ARN; expected {TABLE_ARN_FORM} or {BUCKET_ARN_FORM}"
            )
        return value

    @field_validator("key_arn")
    @classmethod
    def _key_arn(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not KEY_ARN.match(value):
            raise ValueError(
                f"'{value}' is not a KMS key ARN; expected {KEY_ARN_FORM} (an alias ARN does not work in a policy)"
            )
        return value

    @property
    def store(self) -> DatastoreArn:
        parsed = parse_datastore_arn(self.arn)
        assert parsed is not None  # validated
        return parsed

    def environment_problem(self, partition: str, region: str, account: str) -> Optional[str]:
        """Why the store or its key cannot serve an agent of this partition, region and account, or None."""
        store = self.store
        parts = [("arn", store.partition, store.region, store.account)]
        if self.key_arn:
            key = KEY_ARN.match(self.key_arn)
            assert key is not None  # validated
            parts.append(("key_arn", key["partition"], key["region"], key["account"]))
        for field, their_partition, their_region, their_account in parts:
            for what, theirs, ours in (("partition", their_partition, partition), ("region", their_region, region),
                                       ("account", their_account, account)):
                if theirs and theirs != ours:
                    return (f"storage.{field}: {what} {theirs} is not the environment's ({ours}); "
                            "an existing datastore must be in the environment's account and region")
        return None


Storage = Annotated[
    Union[DynamoDBStorage, PostgresStorage, S3Storage, NoStorage, ExistingStorage],
    Field(discriminator="kind"),
    _shorthand("kind"),
]


class InternalExposure(StrictModel):
    """Reachable inside the VPC through the shared internal load balancer."""

    kind: Literal["internal"] = "internal"


class PublicExposure(StrictModel):
    """Reachable from the internet over HTTPS only, through the shared internet-facing load balancer."""

    kind: Literal["public"]
    host: str = Field(description="DNS name clients use, e.g. triage.example.com.")
    certificate_arn: str = Field(description="ACM certificate covering host; TLS 1.2+ is enforced.")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _HOSTNAME.match(value):
            raise ValueError(f"'{value}' is not a DNS name (e.g. triage.example.com)")
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str) -> str:
        if not _CERT_ARN.match(value):
            raise ValueError(f"'{value}' is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)")
        return value


Exposure = Annotated[Union[InternalExposure, PublicExposure], Field(discriminator="kind"), _shorthand("kind")]


class Subscription(StrictModel):
    topic: Label = Field(description="A topic declared under maas:broker.")
    filter: dict[str, list[str]] = Field(
        default_factory=dict, description="SNS filter policy on message attributes, e.g. {type: [ticket.created]}."
    )


class MessagingSpec(StrictModel):
    """What the agent publishes and consumes between agents (the broker reads this)."""

    publishes: list[Label] = Field(default_factory=list, description="Topics the agent may publish to.")
    subscribes: list[Subscription] = Field(default_factory=list, description="Topics delivered to the agent's inbox.")
    messages_per_replica: int = Field(
        5, ge=1, le=10_000, description="Inbox messages one replica works through; KEDA scales replicas to depth / this."
    )
    activation_messages: int = Field(
        0, ge=0, le=10_000, description="Inbox depth above which a scaled-to-zero agent wakes up."
    )
    scale_to_zero: bool = Field(
        False, description="Run no replica while the inbox is empty (not in prod; the REST entry is then unserved)."
    )

    @model_validator(mode="after")
    def _unique(self) -> "MessagingSpec":
        if self.scale_to_zero and not self.subscribes:
            raise ValueError("scale_to_zero: an agent without subscriptions has no inbox to wake it; subscribe or drop it")
        for field, topics in (("publishes", self.publishes), ("subscribes", [s.topic for s in self.subscribes])):
            repeated = first_repeated(topics)
            if repeated is not None:
                raise ValueError(f"{field}: topic '{repeated}' is listed twice")
        return self

    @field_validator("subscribes", mode="before")
    @classmethod
    def _topic_shorthand(cls, value: Any) -> Any:
        return [{"topic": v} if isinstance(v, str) else v for v in value] if isinstance(value, list) else value


class LatencySLO(StrictModel):
    objective: float = Field(0.99, gt=0.5, lt=1, description="Share of requests faster than threshold_ms.")
    threshold_ms: int = Field(2000, ge=10, le=600_000, description="Latency threshold in milliseconds.")


class SLOSpec(StrictModel):
    """Service level objectives; the observability stack turns them into rules and alerts."""

    availability: float = Field(0.995, gt=0.5, lt=1, description="Share of non-5xx responses.")
    latency: LatencySLO = Field(LatencySLO(), description="Latency objective.")
    accuracy: Optional[float] = Field(
        0.95, gt=0.5, lt=1, description="Share of tasks the agent reports successful; null turns it off."
    )
    window_days: Literal[28, 30] = Field(28, description="SLO window in days.")


class BudgetSpec(StrictModel):
    """Spend limits; the cost controls turn them into budgets and alerts."""

    monthly_usd: Optional[float] = Field(None, gt=0, description="Monthly AWS budget for the agent's resources.")
    llm_monthly_usd: Optional[float] = Field(None, gt=0, description="Monthly LLM spend limit.")


# A host an agent may reach over HTTPS through its egress proxy: a DNS name, or ``*.`` and a DNS
# name for its subdomains (Envoy's virtual-host domains match a leading ``*`` as a suffix wildcard).
_EGRESS_HOST = re.compile(r"^(\*\.)?(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _egress_host(value: str) -> str:
    if not _EGRESS_HOST.match(value):
        raise ValueError(
            f"'{value}' is not a host name (e.g. api.example.com, or *.example.com for its subdomains); "
            "give names, not URLs, ports or addresses"
        )
    return value


def _egress_list(value: Any) -> Any:
    """host names, '*.' before one for its subdomains"""
    # One line for the form ``egress`` had before it was a list.
    if isinstance(value, dict) and "internet_https" in value:
        raise ValueError(
            "internet_https was removed; list the hosts the agent calls instead, e.g. egress: [api.example.com] "
            "(LLM providers through llm.gateway)"
        )
    return value


def _unique_hosts(value: list[str]) -> list[str]:
    repeated = first_repeated(value)
    if repeated is not None:
        raise ValueError(f"host '{repeated}' is listed twice")
    return value


EgressHost = Annotated[str, AfterValidator(_egress_host)]
# The hosts outside the cluster and the VPC an agent calls over HTTPS (a partner's API, ...; not an
# LLM provider of maas:llm.providers, which only the LLM gateway reaches),
# through its own egress proxy; the AWS endpoints its datastore, inbox and topics need are added
# by the platform. An empty list and no such endpoint: no proxy and no path out of the VPC.
EgressSpec = Annotated[list[EgressHost], BeforeValidator(_egress_list), AfterValidator(_unique_hosts)]


# --- the agent -------------------------------------------------------------------------------

class GoldenSpec(StrictModel):
    """A golden set: cases with known answers the platform asks the agent on a schedule, and the
    accuracy objective held against the answers (docs/probes.md, docs/slos.md)."""

    cases: str = Field(
        pattern=r"^[^/\\].*\.ya?ml$",
        description="Path of the golden-set file (YAML, `cases: [...]`), relative to the stack's project directory; "
                    "validated at plan time.")
    schedule: str = Field(
        "*/5 * * * *", pattern=r"^(\S+\s+){4}\S+$",
        description="When the probe runs: a five-field cron schedule (the CronJob's, in UTC). Default every 5 minutes.")
    objective: float = Field(
        0.995, gt=0.5, lt=1,
        description="Share of golden answers judged right over the SLO window (the `golden` SLO). Default 0.995: "
                    "20 % wrong answers page, 2 % open a ticket (docs/slos.md).")
    timeout_seconds: int = Field(30, ge=1, le=300, description="Time-out of one call to the agent, in seconds.")
    concurrency: int = Field(4, ge=1, le=16, description="Cases asked at once.")


class AgentSpec(StrictModel):
    """One agent: its own namespace, identity, key, datastore, secrets and workload."""

    name: AgentName = Field(description="DNS-1123 label naming the agent, its namespace and its AWS resources.")
    team: Label = Field(description="Owning team (tag and label `team`).")
    cost_center: str = Field(
        pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$",
        description="Cost center (tag `cost-center`, label `maas.dev/cost-center`): letters, digits, '-', '_', '.'.",
    )
    image: Image = Field(description="Container image, pinned by an immutable tag or digest.")
    port: int = Field(8080, ge=1024, le=65535, description="Container port of the REST API (unprivileged).")
    health_path: str = Field("/healthz", pattern=r"^/[\w./-]*$", description="HTTP path of the health endpoint.")
    env: dict[str, str] = Field(default_factory=dict, description="Plain environment variables (no credentials).")
    resources: ResourcesSpec = Field(ResourcesSpec(), description="Container requests and limits.")
    replicas: ReplicasSpec = Field(ReplicasSpec(), description="Replica bounds for the autoscaler.")
    storage: Storage = Field(
        DynamoDBStorage(),
        description="The agent's datastore: dynamodb (default), postgres, s3, none, or existing (a table or bucket "
        "the team owns; the platform grants access and creates nothing).",
    )
    secrets: list[str] = Field(
        default_factory=list,
        description="Names of the agent's secrets; values are put in Secrets Manager, never in config.",
    )
    exposure: Exposure = Field(InternalExposure(), description="internal (default) or public with host and certificate_arn.")
    identity: Literal["pod-identity", "irsa"] = Field(
        "pod-identity", description="How the agent's pods get its role: EKS Pod Identity (default) or IRSA."
    )
    architectures: list[Literal["amd64", "arm64"]] = Field(
        default_factory=lambda: ["amd64"], min_length=1,
        description="CPU architectures the image is built for; its pods run only on nodes of these. Default [amd64]; "
                    "add arm64 for a multi-arch image so Graviton nodes can run it.",
    )
    critical: bool = Field(
        False, description="In prod, the agent's pods run only on On-Demand capacity, never Spot. Default false.",
    )
    egress: EgressSpec = Field(
        default_factory=list,
        description="Hosts the agent calls over HTTPS outside the cluster and the VPC (e.g. [crm.example.com]; "
        "'*.example.com' for subdomains), through its own egress proxy, which admits nothing else. The AWS "
        "endpoints its datastore, inbox, topics and Bedrock need are added by the platform (docs/egress.md). Not an "
        "LLM provider's API host (maas:llm.providers): only the LLM gateway reaches those (llm.gateway).",
    )
    messaging: MessagingSpec = Field(MessagingSpec(), description="Topics published and subscribed.")
    slos: SLOSpec = Field(SLOSpec(), description="Service level objectives.")
    golden: Optional[GoldenSpec] = Field(
        None, description="Golden-set probes: questions with known answers asked on a schedule; their share of right "
                          "answers is the agent's `golden` SLO. Default: none.")
    budget: BudgetSpec = Field(BudgetSpec(), description="Spend limits.")
    delivery: DeliverySpec = Field(
        DeliverySpec(), description="Its image's repository and CI, and how new versions roll out: canary steps judged "
                                    "by its SLOs (docs/delivery.md).")
    llm: LlmSpec = Field(
        LlmSpec(), description="The language models the agent calls: Bedrock models with its own role, other providers' "
                               "through the platform's LLM gateway (docs/llm-access.md). Default: none.")
    retired: bool = Field(
        False,
        description="Retire the agent: its workload, role, Pod Identity association, queues, alarms and budget go; "
        "its datastore, key, secrets and log groups stay, protected in every environment, for "
        "maas:retirement.retention_days (docs/agents.md#retiring-an-agent). Needs retired_on. Default false.",
    )
    retired_on: Optional[Day] = Field(
        None, description="The day the agent was retired (YYYY-MM-DD), when its retention starts; required with retired.",
    )
    delete_data: bool = Field(
        False,
        description="Second step of retiring (needs retired): the kept datastore, key, secrets and log groups lose "
        "their protection, so that removing the agent from config afterwards deletes them, the key after its "
        "deletion window. Refused before retired_on + maas:retirement.retention_days. Default false.",
    )

    @field_validator("secrets", mode="before")
    @classmethod
    def _names_only(cls, value: Any) -> Any:
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
            raise ValueError(
                "list secret names only; a value never goes in config (put it in Secrets Manager after `pulumi up`)"
            )
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if len(name) > 64 or not _SECRET_NAME.match(name):
                raise ValueError(
                    f"'{name}' must be lowercase letters, digits and '-', starting with a letter, "
                    "at most 64 characters (e.g. crm-api-token)"
                )
        if len(set(value)) != len(value):
            raise ValueError("each secret may be listed once")
        return value

    @field_validator("architectures")
    @classmethod
    def _unique_architectures(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each architecture may be listed once")
        return value

    @field_validator("env")
    @classmethod
    def _plain_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not _ENV_NAME.match(key):
                raise ValueError(f"'{key}' is not an environment variable name")
            # The detectors the policy gate runs over every container's env (MAAS-SEC-015); a
            # variable named like a credential is refused whatever its value: it belongs under secrets.
            found = scan(text)
            if credential_name(key) or found:
                secret = key.lower().replace("_", "-")
                what = f" ({found[0].description})" if found else ""
                raise ValueError(
                    f"{key} looks like a credential{what} written inline; list '{secret}' under secrets "
                    "and put the value in Secrets Manager"
                )
        return value

    @model_validator(mode="after")
    def _cross(self) -> "AgentSpec":
        reserved = sorted(PLATFORM_ENV & set(self.env)) + sorted(k for k in self.env if k.startswith(("MAAS_TOPIC_", "OTEL_")))
        if reserved:
            raise ValueError(f"env: {reserved[0]} is set by the platform")
        clashes = {secret_env_name(s) for s in self.secrets} & set(self.env)
        if clashes:
            raise ValueError(f"env: {sorted(clashes)[0]} is also the variable of a secret; rename one")
        if self.retired and self.retired_on is None:
            raise ValueError("retired_on: required with retired: true; give the day retention starts, e.g. "
                             f"retired_on: \"{utc_today().isoformat()}\"")
        if self.retired_on is not None and not self.retired:
            raise ValueError("retired_on: only a retired agent has one; set retired: true or remove retired_on")
        if self.delete_data and not self.retired:
            raise ValueError("delete_data: only a retired agent's data may be deleted; retire it first "
                             "(retired: true, retired_on), then set delete_data after the retention period")
        if self.retired_on is not None and self.retired_on > utc_today():
            raise ValueError(f"retired_on: {self.retired_on.isoformat()} is in the future; give the day the agent "
                             "is retired (today or earlier)")
        if self.llm.bedrock is not None and not (self.llm.bedrock.monthly_usd or self.budget.llm_monthly_usd):
            raise ValueError("llm.bedrock: no spend limit for the hard stop; set llm.bedrock.monthly_usd or "
                             "budget.llm_monthly_usd")
        if self.llm.gateway is not None and not (self.llm.gateway.monthly_usd or self.budget.llm_monthly_usd):
            raise ValueError("llm.gateway: no spend limit for the gateway to enforce; set llm.gateway.monthly_usd or "
                             "budget.llm_monthly_usd")
        return self

    @property
    def lifecycle(self) -> str:
        """``active``, ``retired`` (data kept, protected) or ``deletable`` (``delete_data``: data unprotected)."""
        if not self.retired:
            return AGENT_LIFECYCLE_ACTIVE
        return AGENT_LIFECYCLE_DELETABLE if self.delete_data else AGENT_LIFECYCLE_RETIRED

    @property
    def active(self) -> bool:
        """Deployed: neither retired nor deletable."""
        return not self.retired

    @property
    def namespace(self) -> str:
        return self.name

    @property
    def database_name(self) -> Optional[str]:
        if isinstance(self.storage, PostgresStorage):
            return self.storage.database or self.name.replace("-", "_")
        return None


# Variables the platform sets in every agent's container (some only for one storage kind).
PLATFORM_ENV = frozenset({
    "MAAS_AGENT", "MAAS_ENVIRONMENT", "MAAS_BASE_PATH", "MAAS_INBOX_URL", "AWS_REGION", "DYNAMODB_TABLE", "S3_BUCKET",
    "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSSLMODE",
    # With an egress proxy (docs/egress.md).
    "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_STS_REGIONAL_ENDPOINTS",
})


def with_environment_replicas(spec: AgentSpec, min_replicas: int) -> AgentSpec:
    """``spec`` with the environment's fewest replicas where its config states no ``replicas.min``
    (an explicit one wins). One more than ``replicas.max`` is a mistake named by the key."""
    if "min" in spec.replicas.model_fields_set:
        return spec
    if min_replicas > spec.replicas.max:
        raise ValueError(f"replicas.max: {spec.replicas.max} is below the environment's fewest replicas "
                         f"({min_replicas}); raise max or set replicas.min")
    replicas = ReplicasSpec.model_validate({**spec.replicas.model_dump(exclude_unset=True), "min": min_replicas})
    return spec.model_copy(update={"replicas": replicas})


def utc_today() -> date:
    """Today in UTC: the day a retirement's retention is counted against, wherever the plan runs."""
    return datetime.now(timezone.utc).date()


def deletion_problem(spec: AgentSpec, retention_days: int, today: Optional[date] = None) -> Optional[str]:
    """Why ``delete_data`` is refused today (``delete_data: ...``, naming the first allowed day), or None.

    The data of a retired agent may be deleted from ``retired_on`` + ``retention_days`` on.
    """
    if not spec.delete_data or spec.retired_on is None:
        return None
    first = spec.retired_on + timedelta(days=retention_days)
    if (today or utc_today()) >= first:
        return None
    return (f"delete_data: refused until {first.isoformat()} (retired_on {spec.retired_on.isoformat()} + "
            f"{retention_days} days of maas:retirement.retention_days); remove delete_data until then")


def topic_env_name(topic: str) -> str:
    """The variable holding a published topic's ARN: ``tickets`` -> ``MAAS_TOPIC_TICKETS_ARN``."""
    return f"MAAS_TOPIC_{topic.upper().replace('-', '_')}_ARN"


def declared_secrets(spec: "AgentSpec") -> list[str]:
    """The agent's Secrets Manager secrets: its own, and with ``llm.gateway`` its gateway
    credential, whose value the platform writes (components/llmgateway.py)."""
    gateway = [LLM_GATEWAY_KEY_SECRET] if spec.llm.gateway is not None and LLM_GATEWAY_KEY_SECRET not in spec.secrets else []
    return [*spec.secrets, *gateway]


def secret_env_name(secret: str) -> str:
    """The variable a secret reaches the container as: ``openai-api-key`` -> ``OPENAI_API_KEY``."""
    return secret.upper().replace("-", "_")


def name_limits(prefix: str, name: str) -> Optional[str]:
    """Why ``name`` is too long for the AWS names it feeds under ``prefix``, or None.

    The binding limits: IAM role names (64), S3 bucket names (63, with the account id)
    and Aurora cluster identifiers (63).
    """
    checks = {
        "IAM role name": (len(f"{prefix}-agent-{name}"), 64),
        "Bedrock stop role name": (len(f"{prefix}-bedrock-stop-{name}"), 64),
        "S3 bucket name": (len(f"{prefix}-{name}-123456789012"), 63),
        "Aurora cluster identifier": (len(f"{prefix}-{name}"), 63),
    }
    for what, (length, limit) in checks.items():
        if length > limit:
            return f"makes the {what} {length} characters under prefix '{prefix}' (AWS allows {limit}); shorten it"
    return None
