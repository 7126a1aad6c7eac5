"""The LLM gateway: the one way agents reach LLM providers other than Amazon Bedrock.

LiteLLM's proxy (chart ``litellm-helm``) in its own namespace holds the providers' API keys; an
agent that declares ``llm.gateway`` gets its own credential (a LiteLLM virtual key) limited to
its models, its monthly spend and its token rate, and no egress to the providers' hosts. Why
LiteLLM and not Envoy AI Gateway is in docs/llm-access.md ("The gateway").

What is enforced where:

* The model allow-list, the monthly spend limit (``max_budget`` reset every ``budget_duration``)
  and the token rate (``tpm_limit``) are properties of the agent's virtual key, kept in the
  gateway's PostgreSQL database and enforced by the proxy on every call. LiteLLM creates virtual
  keys only through its admin API (``POST /key/generate``, ``/key/update``), never from its
  config file: the platform renders the declared limits as data (the ConfigMap
  ``llm-gateway-keys``, :func:`gateway_keys`) and a Job, re-created whenever that data changes,
  registers them with the master key. The key values are generated here (``random``) and written
  to two secrets: the agent's own (``<prefix>/agents/<agent>/llm-gateway-key``, under its key,
  synced into its namespace as today) and the gateway's copy the Job reads.
* The providers' API keys are Secrets Manager secrets ``<prefix>/<maas:llm.providers[].secret>``,
  synced by External Secrets into this namespace only, as the namespace's own role.
* The proxy reaches the providers through an Envoy egress proxy in its namespace that admits
  CONNECT to the providers' ``api_host`` on 443 alone (the agents' proxy, components/agent/egress.py).

Facts about LiteLLM, checked on 2026-12-03:

* ``POST /key/generate`` takes ``key`` (a caller-chosen value: "Must start with 'sk-' and be at
  least 16 characters long"), ``key_alias``, ``models`` ("if empty, key is allowed to call all
  models"), ``max_budget``, ``budget_duration``, ``tpm_limit``, ``metadata``; ``/key/update`` takes
  ``key`` and the same fields — litellm/proxy/management_endpoints/key_management_endpoints.py
  ``generate_key_fn`` docstring (BerriAI/litellm main, and the LiteLLM 1.95 OpenAPI document).
* Without Redis, a key's ``tpm_limit`` is counted in each proxy process's memory:
  litellm/proxy/hooks/parallel_request_limiter_v3.py (@ 00353f5) registers its Redis scripts only
  when ``dual_cache.redis_cache`` is set and otherwise keeps the window counters with
  ``local_only=True``. N replicas would let N times the limit through, so each key is registered
  with ``tpm_limit = tokens_per_minute // replicas`` (:func:`replica_tpm_limit`).
* ``max_budget`` is checked against the key's spend, which is shared through the database, late:
  spend is written in batches every ``PROXY_BATCH_WRITE_AT`` seconds (default 10) and each replica
  caches the key object for ``DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL`` seconds (default 60)
  — litellm/constants.py, read 2026-12-03. The overshoot bound is in docs/llm-access.md.
* Prometheus metrics are open source since BerriAI/litellm#16689 (merged 2025-11-15);
  ``litellm_spend_metric`` and ``litellm_total_tokens_metric`` carry ``api_key_alias``
  (litellm/types/integrations/prometheus.py, docs/my-website/docs/proxy/prometheus.md).
* The chart (deploy/charts/litellm-helm): ``db.useExisting`` with ``db.endpoint``, ``db.database``,
  ``db.url`` and ``db.secret.{name,usernameKey,passwordKey}``; ``masterkeySecretName`` /
  ``masterkeySecretKey`` (the proxy reads ``PROXY_MASTER_KEY``); ``environmentSecrets``;
  ``proxy_config`` rendered as config.yaml; ``pdb``; ``topologySpreadConstraints``;
  ``podSecurityContext``/``securityContext`` (with ``readOnlyRootFilesystem`` the Deployment mounts
  emptyDirs on /tmp, /.cache and /.npm); ``migrationJob`` — values.yaml and
  templates/deployment.yaml of the chart at the stored commits fba16f9 and f77fbef. The chart
  ships no values.schema.json.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional, Sequence, Union

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from pydantic import Field

from .. import names
from ..config.agents import AgentSpec, PostgresStorage
from ..config.defaults import tier
from ..config.llm import GatewayDatabase, GatewayProvider
from ..iam import Statement, policy_document, trust_policy, web_identity
from ..iam.actions import KEY_ADMIN_ACTIONS, KEY_DECRYPT, KEY_USE_ACTIONS, SECRETS_READ
from .addons import secret_store_spec, secret_sync_service_account
from .agent.egress import CONFIG_DIR, CONFIG_FILE, CONFIG_HASH_ANNOTATION, NO_PROXY, PROXY_IMAGE, PROXY_LIMITS, PROXY_PORT, PROXY_REQUESTS, \
    envoy_config
from .base import AccountContext, ComponentArgs, StrInput, child, encrypted_log_group
from .llmgateway_db import (
    POSTGRES_NAME, POSTGRES_TLS_SECRET, TLS_FILES, postgres_certificate, postgres_host, postgres_statefulset,
)
from .workloads import helm_release, locked_chart

LITELLM_CHART = locked_chart("litellm-helm")
# The non-root build of the proxy (runs as an unprivileged user; the chart's default image,
# litellm-database, runs as root), at the release the chart pins.
IMAGE_REPOSITORY = "ghcr.io/berriai/litellm-non_root"
IMAGE = f"{IMAGE_REPOSITORY}:{LITELLM_CHART.app_version}"
# litellm.selectorLabels: the chart's name (nameOverride "litellm") and the release name.
PROXY_POD_LABELS = {names.NAME_LABEL: names.LLM_GATEWAY_POD_NAME, names.INSTANCE_LABEL: LITELLM_CHART.name}
MASTER_KEY_SECRET = "llm-gateway-master-key"
PROVIDER_KEYS_SECRET = "llm-provider-keys"
DATABASE_SECRET = "llm-gateway-database"
AGENT_KEYS_SECRET = "llm-gateway-agent-keys"
KEYS_CONFIG_MAP = "llm-gateway-keys"
KEYS_JOB = "llm-gateway-keys"
DATABASE_NAME = "litellm"
DATABASE_USER = "litellm"
POSTGRES_PORT = 5432
# A spend limit is monthly: LiteLLM resets a key's spend every budget_duration (days, "30d").
BUDGET_DURATION = "30d"
# What the registration Job marks its keys with (metadata), so an operator can tell them apart.
MANAGED_KEY_METADATA = {"managed_by": "maas"}
KEYS_DIR = "/etc/llm-gateway-keys"
AGENT_KEYS_DIR = "/var/run/llm-gateway-agent-keys"


def provider_env_name(provider: str) -> str:
    """The proxy's variable holding a provider's API key: ``openai`` -> ``LLM_PROVIDER_OPENAI_API_KEY``."""
    return f"LLM_PROVIDER_{provider.upper().replace('-', '_')}_API_KEY"


def provider_secret_name(prefix: str, provider: GatewayProvider) -> str:
    """Where the provider's API key lives: ``<prefix>/<secret>``, put there by an operator."""
    return f"{prefix}/{provider.secret}"


def gateway_key_secret_name(prefix: str, agent: str) -> str:
    """The gateway's copy of an agent's credential (the agent's own is under ``<prefix>/agents/``)."""
    return f"{prefix}/llm-gateway/agents/{agent}"


def gateway_agents(agents: Sequence[AgentSpec]) -> list[AgentSpec]:
    """The active agents that call the gateway, by name."""
    return sorted((a for a in agents if a.active and a.llm.gateway is not None), key=lambda a: a.name)


def revoked_aliases(agents: Sequence[AgentSpec]) -> list[str]:
    """The key aliases of retired agents that called the gateway: the registration Job deletes their
    keys (``POST /key/delete`` with ``key_aliases``: ``KeyRequest`` of litellm/proxy/_types.py and
    ``delete_key_fn`` of litellm/proxy/management_endpoints/key_management_endpoints.py, BerriAI/litellm
    main, read 2026-12-03), so a retired agent's credential stops working though its secret is kept."""
    return sorted(a.name for a in agents if not a.active and a.llm.gateway is not None)


def gateway_monthly_usd(agent: AgentSpec) -> float:
    """The agent's gateway spend limit: ``llm.gateway.monthly_usd``, else ``budget.llm_monthly_usd``
    (the config refuses an agent with neither)."""
    assert agent.llm.gateway is not None
    limit = agent.llm.gateway.monthly_usd or agent.budget.llm_monthly_usd
    assert limit is not None, f"agent {agent.name}: config validation lets no gateway agent without a limit"
    return float(limit)


def replica_tpm_limit(tokens_per_minute: int, replicas: int) -> int:
    """What each replica lets through: its equal share, rounded down, so that the replicas together
    never exceed the declared rate however the Service spreads the calls (the config refuses a
    rate below the replica count, whose share would be 0: no limit at all to LiteLLM)."""
    assert tokens_per_minute >= replicas >= 1, "config validation refuses a rate below the replica count"
    return tokens_per_minute // replicas


def gateway_keys(agents: Sequence[AgentSpec], replicas: int = 1) -> dict[str, dict[str, Any]]:
    """Each gateway agent's virtual key as ``/key/generate`` takes it, without the key value: the
    allow-list, the monthly spend limit and, per replica, the token rate the proxy enforces."""
    keys: dict[str, dict[str, Any]] = {}
    for agent in gateway_agents(agents):
        gateway = agent.llm.gateway
        assert gateway is not None
        body: dict[str, Any] = {
            "key_alias": agent.name,
            "models": sorted(gateway.models),
            "max_budget": gateway_monthly_usd(agent),
            "budget_duration": BUDGET_DURATION,
            "metadata": {**MANAGED_KEY_METADATA, names.AGENT_TAG: agent.name, names.TEAM_TAG: agent.team},
        }
        if gateway.tokens_per_minute:
            body["tpm_limit"] = replica_tpm_limit(gateway.tokens_per_minute, replicas)
        keys[agent.name] = body
    return keys


def model_list(providers: Sequence[GatewayProvider], agents: Sequence[AgentSpec]) -> list[dict[str, Any]]:
    """The proxy's models: each model some agent declares, under its own ``<provider>/<model>``
    name (LiteLLM's own provider prefix), with its provider's key from the environment."""
    declared = {p.name for p in providers}
    models = sorted({m for a in gateway_agents(agents) for m in a.llm.gateway.models})  # type: ignore[union-attr]
    return [
        {"model_name": model,
         "litellm_params": {"model": model, "api_key": f"os.environ/{provider_env_name(model.split('/', 1)[0])}"}}
        for model in models if model.split("/", 1)[0] in declared
    ]


def proxy_config(providers: Sequence[GatewayProvider], agents: Sequence[AgentSpec]) -> dict[str, Any]:
    """LiteLLM's config.yaml: the models, the master key from the environment, Prometheus metrics,
    and no model or key managed from its UI (the platform declares both)."""
    return {
        "model_list": model_list(providers, agents),
        "general_settings": {
            "master_key": "os.environ/PROXY_MASTER_KEY",
            "store_model_in_db": False,
        },
        "litellm_settings": {"callbacks": ["prometheus"]},
    }


def proxy_environment(namespace: str) -> dict[str, str]:
    """The proxy's outbound HTTPS goes through the namespace's egress proxy; in-cluster traffic
    (the database is in the VPC, reached directly) does not."""
    url = f"http://{names.EGRESS_PROXY_NAME}.{namespace}.svc:{PROXY_PORT}"
    bypass = ",".join((*NO_PROXY, ".rds.amazonaws.com"))
    return {"HTTPS_PROXY": url, "https_proxy": url, "NO_PROXY": bypass, "no_proxy": bypass}


def gateway_values(
    *, providers: Sequence[GatewayProvider], agents: Sequence[AgentSpec], replicas: int, database_host: StrInput,
) -> dict[str, Any]:
    """Values of the ``litellm-helm`` chart (every key is in its values.yaml, see the module docstring)."""
    spread = [
        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": dict(PROXY_POD_LABELS)}}
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]
    return {
        "replicaCount": replicas,
        "image": {"repository": IMAGE_REPOSITORY, "tag": LITELLM_CHART.app_version, "pullPolicy": "IfNotPresent"},
        "serviceAccount": {"create": True, "automount": False},
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": names.RUN_AS, "runAsGroup": names.RUN_AS,
                               "fsGroup": names.RUN_AS, "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": names.restricted_container_security_context(),
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "topologySpreadConstraints": spread,
        "pdb": {"enabled": True, "maxUnavailable": 1},
        # The key within it is the chart's default, "masterkey".
        "masterkeySecretName": MASTER_KEY_SECRET,
        "environmentSecrets": [PROVIDER_KEYS_SECRET],
        "envVars": proxy_environment(names.LLM_GATEWAY_NAMESPACE),
        "proxy_config": proxy_config(providers, agents),
        "db": {
            "useExisting": True,
            "deployStandalone": False,
            "endpoint": database_host,
            "database": DATABASE_NAME,
            "url": "postgresql://$(DATABASE_USERNAME):$(DATABASE_PASSWORD)@$(DATABASE_HOST)/$(DATABASE_NAME)"
                   "?sslmode=require",
            "secret": {"name": DATABASE_SECRET, "usernameKey": "username", "passwordKey": "password"},
        },
        "migrationJob": {"enabled": True, "hooks": {"argocd": {"enabled": False}, "helm": {"enabled": True}}},
        # The platform's ServiceMonitor (below) waits for the Prometheus operator; the chart's would not.
        "serviceMonitor": {"enabled": False},
    }


# The registration Job's program: stdlib Python in the proxy's own image. For each declared key:
# update it (limits changed), or create it with its value (first run); any other answer fails the Job.
REGISTER_SCRIPT = '''\
import json, os, sys, time, urllib.error, urllib.request
base = os.environ["GATEWAY_URL"]
master = os.environ["PROXY_MASTER_KEY"]
def call(method, path, body=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + master, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0
for _ in range(60):
    if call("GET", "/health/readiness") == 200:
        break
    time.sleep(5)
keys = json.load(open(os.environ["KEYS_FILE"]))
failed = []
for agent, body in sorted(keys.items()):
    value = open(os.path.join(os.environ["AGENT_KEYS_DIR"], agent)).read().strip()
    if call("POST", "/key/update", {**body, "key": value}) == 200:
        print(agent, "updated")
    elif call("POST", "/key/generate", {**body, "key": value}) == 200:
        print(agent, "created")
    else:
        failed.append(agent)
# Retired agents' keys: deleted by alias; a key already gone answers 200 (nothing deleted) or 404.
for alias in json.load(open(os.environ["REVOKED_FILE"])):
    status = call("POST", "/key/delete", {"key_aliases": [alias]})
    if status in (200, 404):
        print(alias, "revoked")
    else:
        failed.append(alias)
if failed:
    sys.exit("not registered or not revoked: " + ", ".join(failed))
'''


class LlmGatewayArgs(ComponentArgs):
    prefix: str
    account: AccountContext
    environment: str
    providers: list[GatewayProvider] = Field(description="maas:llm.providers: the providers the gateway serves.")
    agents: list[AgentSpec] = Field(description="The stack's agents; those with llm.gateway get a credential.")
    agent_secrets: dict[str, Any] = Field(
        default_factory=dict, description="Each gateway agent's own llm-gateway-key secret (aws.secretsmanager.Secret).")
    cluster_name: StrInput
    oidc_provider_arn: StrInput = Field(description="The cluster's OIDC provider: the secret-sync role trusts it.")
    oidc_issuer: StrInput
    vpc_id: StrInput
    vpc_cidr: str = Field(description="The VPC's CIDR: where the proxy reaches its database.")
    private_subnet_ids: Union[list[StrInput], pulumi.Output[list[str]]]
    availability_zones: Union[list[str], pulumi.Output[list[str]]] = Field(
        default_factory=list, description="The VPC's zones: the database's instances are spread over them.")
    cluster_security_group_id: StrInput = Field(description="The only source the database admits.")
    logs_key_arn: StrInput = Field(description="The platform's logs key: the database's log group.")
    log_retention_days: int = Field(description="Retention of the database's log group.")
    database: GatewayDatabase = Field(
        "aurora", description="maas:llm.gateway_database: Aurora Serverless v2, or one PostgreSQL pod in the namespace.")
    storage_class: str = Field("gp3-encrypted", description="StorageClass of the in-cluster PostgreSQL's volume.")
    key_deletion_window_days: int = Field(30, description="Deletion window of the gateway's KMS key.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the Kubernetes objects.")
    wait_for: list[Any] = Field(default_factory=list, description="What the namespace waits for (add-ons, CRDs).")
    prometheus_release: Optional[Any] = Field(None, description="The ServiceMonitor waits for it.")
    protect: bool = Field(False, description="Protect the key, the secrets and the database (protect_stateful).")


class LlmGateway(pulumi.ComponentResource):
    """LiteLLM's proxy, its database, its egress proxy and the agents' credentials. Pass the AWS
    and Kubernetes providers through ``opts.providers``."""

    namespace: k8s.core.v1.Namespace
    release: k8s.helm.v3.Release
    database: Optional[aws.rds.Cluster]  # None with gateway_database in_cluster
    postgres: Optional[k8s.apps.v1.StatefulSet]  # None with gateway_database aurora
    provider_secrets: dict[str, aws.secretsmanager.Secret]
    agent_keys: dict[str, aws.secretsmanager.Secret]

    def __init__(self, name: str, args: LlmGatewayArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_LLM_GATEWAY, name, None, opts)
        self.args, self._name = args, name
        ns = names.LLM_GATEWAY_NAMESPACE
        self.labels = {**args.labels, names.PART_OF_LABEL: names.PART_OF}
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": ns, "labels": {**self.labels, **names.RESTRICTED_NAMESPACE_LABELS}},
            opts=child(self, depends_on=list(args.wait_for)),
        )
        self.key = self._key(name)
        self.provider_secrets = {
            p.name: self._secret(name, f"provider-{p.name}", provider_secret_name(args.prefix, p),
                                 f"API key of LLM provider {p.name} ({p.api_host}); put it with put-secret-value. "
                                 f"Read only by External Secrets into {ns}.")
            for p in args.providers
        }
        self.master_key = self._secret(name, "master-key", f"{args.prefix}/llm-gateway/master-key",
                                       "LiteLLM's master key (admin API): read only by External Secrets into "
                                       f"{ns}/{MASTER_KEY_SECRET}")
        master = random.RandomPassword(f"{name}-master-key-value", length=48, special=False, opts=child(self))
        seeded = [aws.secretsmanager.SecretVersion(
            f"{name}-master-key-version", secret_id=self.master_key.id,
            secret_string=master.result.apply(lambda v: pulumi.Output.secret(f"sk-{v}")), opts=child(self))]
        self.agent_keys = {}
        for agent in gateway_agents(args.agents):
            value = random.RandomPassword(f"{name}-key-{agent.name}-value", length=40, special=False, opts=child(self))
            key = value.result.apply(lambda v: pulumi.Output.secret(f"sk-{v}"))
            self.agent_keys[agent.name] = self._secret(
                name, f"key-{agent.name}", gateway_key_secret_name(args.prefix, agent.name),
                f"LLM gateway credential of agent {agent.name} (the gateway's copy, registered by the Job {KEYS_JOB})")
            seeded.append(aws.secretsmanager.SecretVersion(
                f"{name}-key-{agent.name}-version", secret_id=self.agent_keys[agent.name].id, secret_string=key,
                opts=child(self)))
            own = args.agent_secrets.get(agent.name)
            if own is not None:  # the agent's own secret, synced into its namespace by its ExternalSecret
                seeded.append(aws.secretsmanager.SecretVersion(
                    f"{name}-agent-{agent.name}-key-version", secret_id=own.id, secret_string=key, opts=child(self)))
        in_cluster = args.database == "in_cluster"
        password, database_secret = self._database_credentials(
            name, postgres_certificate(self, name, namespace=ns) if in_cluster else None)
        seeded.append(database_secret)
        self.database = None if in_cluster else self._database(name, password)
        sync = self._secret_sync(name, [*seeded])
        self.postgres = postgres_statefulset(
            self, name, namespace=ns, labels=self.labels, storage_class=args.storage_class, database=DATABASE_NAME,
            user=DATABASE_USER, credentials_secret=DATABASE_SECRET, depends_on=[self.namespace, *sync],
        ) if in_cluster else None
        database: pulumi.Resource = self.database if self.database is not None else self.postgres  # type: ignore[assignment]
        self.egress_proxy = self._egress_proxy(name)
        self._network_policies(name)
        self.release = helm_release(
            self, f"{name}-{LITELLM_CHART.name}", LITELLM_CHART, namespace=ns,
            values=gateway_values(providers=args.providers, agents=args.agents,
                                  replicas=tier(args.environment).ha_replicas,
                                  database_host=self.database.endpoint if self.database is not None else postgres_host(ns)),
            depends_on=[self.namespace, *sync, database, database_secret, self.egress_proxy], protect=False,
        )
        self.keys_job = self._register_keys(name, sync)
        self.service_monitor = self._service_monitor(name)
        self.register_outputs({
            "namespace": ns,
            "url": names.LLM_GATEWAY_URL,
            "models": [m["model_name"] for m in model_list(args.providers, args.agents)],
        })

    # -- secrets ---------------------------------------------------------------------------

    def _key(self, name: str) -> aws.kms.Key:
        """The key of the gateway's secrets and database, usable only through Secrets Manager and RDS."""
        args, account = self.args, self.args.account
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{args.prefix}: secrets and database of the LLM gateway",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=args.key_deletion_window_days,
            policy=policy_document(
                Statement(sid="RootAdministersKey", principals={"AWS": account.root_principal},
                          actions=KEY_ADMIN_ACTIONS, resources=("*",)),
                Statement(
                    sid="UseOnlyThroughSecretsManagerAndRds",
                    principals={"AWS": account.root_principal},
                    actions=KEY_USE_ACTIONS + ("kms:CreateGrant",),
                    resources=("*",),
                    conditions={"StringEquals": {"kms:CallerAccount": account.account_id,
                                                 "kms:ViaService": [account.regional_service("secretsmanager"),
                                                                    account.regional_service("rds")]}},
                ),
            ),
            opts=child(self, protect=args.protect),
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{args.prefix}-llm-gateway", target_key_id=key.key_id,
                      opts=child(self))
        return key

    def _secret(self, name: str, what: str, secret_name: str, description: str) -> aws.secretsmanager.Secret:
        return aws.secretsmanager.Secret(
            f"{name}-{what}", name=secret_name, description=description, kms_key_id=self.key.arn,
            recovery_window_in_days=30 if self.args.protect else 0, opts=child(self, protect=self.args.protect),
        )

    def _secret_sync(self, name: str, seeded: list[pulumi.Resource]) -> list[pulumi.Resource]:
        """External Secrets copies the gateway's secrets into its namespace as a role only the token
        of the namespace's ``secret-sync`` service account may assume, which reads those alone."""
        args, account, ns = self.args, self.args.account, names.LLM_GATEWAY_NAMESPACE
        role = aws.iam.Role(
            f"{name}-secret-sync-role",
            name=f"{args.prefix}-llm-gateway-secret-sync",
            description="External Secrets reads the LLM gateway's secrets as this role",
            assume_role_policy=trust_policy(web_identity(
                args.oidc_provider_arn, args.oidc_issuer, ns, names.SECRET_SYNC_SERVICE_ACCOUNT,
                sid="SecretSyncOfTheLlmGatewayNamespace",
            )),
            max_session_duration=3600,
            opts=child(self),
        )
        readable = [*self.provider_secrets.values(), self.master_key, self.database_secret, *self.agent_keys.values()]
        policy = aws.iam.RolePolicy(
            f"{name}-secret-sync-policy", role=role.id,
            policy=policy_document(
                Statement(sid="ReadGatewaySecrets", actions=SECRETS_READ, resources=tuple(s.arn for s in readable)),
                Statement(sid="SecretKeyThroughSecretsManager", actions=KEY_DECRYPT, resources=(self.key.arn,),
                          conditions={"StringEquals": {"kms:ViaService": account.regional_service("secretsmanager")}}),
            ),
            opts=child(self),
        )
        access = secret_sync_service_account(self, name, namespace=ns, role_arn=role.arn, labels=self.labels,
                                             depends_on=[self.namespace])
        store = k8s.apiextensions.CustomResource(
            f"{name}-secret-store", api_version="external-secrets.io/v1", kind="SecretStore",
            metadata={"name": names.SECRET_STORE, "namespace": ns, "labels": self.labels},
            spec=secret_store_spec(account.region),
            opts=child(self, depends_on=[self.namespace, policy, *access]),
        )

        def sync(what: str, target: str, data: list[dict[str, Any]]) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(
                f"{name}-{what}-sync", api_version="external-secrets.io/v1", kind="ExternalSecret",
                metadata={"name": target, "namespace": ns, "labels": self.labels},
                spec={"refreshInterval": "1h", "secretStoreRef": {"name": names.SECRET_STORE, "kind": "SecretStore"},
                      "target": {"name": target, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                      "data": data},
                opts=child(self, depends_on=[store, *seeded]),
            )

        synced = [
            sync("master-key", MASTER_KEY_SECRET, [{"secretKey": "masterkey", "remoteRef": {"key": self.master_key.name}}]),
            sync("database", DATABASE_SECRET, [
                {"secretKey": field, "remoteRef": {"key": self.database_secret.name, "property": field}}
                for field in ("username", "password")]),
        ]
        if args.database == "in_cluster":
            synced.append(sync("database-tls", POSTGRES_TLS_SECRET, [
                {"secretKey": file, "remoteRef": {"key": self.database_secret.name, "property": f"tls.{field}"}}
                for file, field in TLS_FILES.items()]))
        if self.provider_secrets:
            synced.append(sync("provider-keys", PROVIDER_KEYS_SECRET, [
                {"secretKey": provider_env_name(p), "remoteRef": {"key": s.name}} for p, s in self.provider_secrets.items()]))
        if self.agent_keys:
            synced.append(sync("agent-keys", AGENT_KEYS_SECRET, [
                {"secretKey": agent, "remoteRef": {"key": s.name}} for agent, s in self.agent_keys.items()]))
        return synced

    # -- the database ----------------------------------------------------------------------

    def _database_credentials(self, name: str, certificate: Optional[pulumi.Output]) -> tuple[pulumi.Output, pulumi.Resource]:
        """LiteLLM's database user and a generated password, in Secrets Manager whichever database
        holds them (External Secrets syncs them into the namespace); with the in-cluster PostgreSQL,
        also its TLS key and certificate, synced into a Secret of their own that only PostgreSQL mounts."""
        args = self.args
        password = random.RandomPassword(f"{name}-db-password", length=40, special=False,
                                         opts=child(self)).result.apply(pulumi.Output.secret)
        self.database_secret = self._secret(name, "db-credentials", f"{args.prefix}/llm-gateway/database",
                                            f"LiteLLM's database user; read only by External Secrets into "
                                            f"{names.LLM_GATEWAY_NAMESPACE}/{DATABASE_SECRET}")
        version = aws.secretsmanager.SecretVersion(
            f"{name}-db-credentials-version", secret_id=self.database_secret.id,
            secret_string=pulumi.Output.secret(pulumi.Output.json_dumps({
                "username": DATABASE_USER, "password": password,
                **({"tls": certificate} if certificate is not None else {})})),
            opts=child(self))
        return password, version

    def _database(self, name: str, password: pulumi.Output) -> aws.rds.Cluster:
        """Aurora Serverless v2 PostgreSQL for LiteLLM's keys, budgets and spend: TLS only, in
        private subnets, reachable from the cluster only, under the gateway's key."""
        args = self.args
        physical = f"{args.prefix}-llm-gateway"
        engine_version = PostgresStorage.model_fields["engine_version"].default
        subnets = aws.rds.SubnetGroup(f"{name}-db-subnets", name=physical, subnet_ids=args.private_subnet_ids,
                                      description="Private subnets of the LLM gateway's database", opts=child(self))
        security_group = aws.ec2.SecurityGroup(
            f"{name}-db-sg", name=f"{physical}-db", vpc_id=args.vpc_id,
            description="PostgreSQL of the LLM gateway: from the cluster's pods only",
            ingress=[{"description": "PostgreSQL from EKS pods and nodes", "protocol": "tcp", "from_port": POSTGRES_PORT,
                      "to_port": POSTGRES_PORT, "security_groups": [args.cluster_security_group_id]}],
            egress=[], opts=child(self),
        )
        parameters = aws.rds.ClusterParameterGroup(
            f"{name}-db-params", name=physical, family=f"aurora-postgresql{engine_version.split('.')[0]}",
            description="LLM gateway: TLS only, connections and schema changes logged",
            parameters=[{"name": "rds.force_ssl", "value": "1"}, {"name": "log_connections", "value": "1"},
                        {"name": "log_statement", "value": "ddl"}],
            opts=child(self),
        )
        log_group = encrypted_log_group(
            self, f"{name}-db-logs-postgresql", f"/aws/rds/cluster/{physical}/postgresql",
            retention_days=args.log_retention_days, key_arn=args.logs_key_arn, protect=args.protect)
        cluster = aws.rds.Cluster(
            f"{name}-db",
            cluster_identifier=physical,
            engine="aurora-postgresql",
            engine_mode="provisioned",
            engine_version=engine_version,
            database_name=DATABASE_NAME,
            master_username=DATABASE_USER,
            master_password=password,
            storage_encrypted=True,
            kms_key_id=self.key.arn,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[security_group.id],
            db_cluster_parameter_group_name=parameters.name,
            serverlessv2_scaling_configuration={"min_capacity": 0.5, "max_capacity": 2},
            backup_retention_period=7,
            preferred_backup_window="03:00-04:00",
            copy_tags_to_snapshot=True,
            enabled_cloudwatch_logs_exports=["postgresql"],
            deletion_protection=args.protect,
            skip_final_snapshot=not args.protect,
            final_snapshot_identifier=f"{physical}-final" if args.protect else None,
            apply_immediately=not args.protect,
            opts=child(self, protect=args.protect, depends_on=[log_group]),
        )
        for index in range(tier(args.environment).database_instances):
            aws.rds.ClusterInstance(
                f"{name}-db-{index}", identifier=f"{physical}-{index}", cluster_identifier=cluster.id,
                instance_class="db.serverless", engine=cluster.engine, engine_version=cluster.engine_version,
                # One instance per zone in turn (prod: the reader in another zone than the writer).
                availability_zone=pulumi.Output.from_input(args.availability_zones).apply(lambda z, i=index: z[i % len(z)]),
                db_subnet_group_name=subnets.name, publicly_accessible=False, auto_minor_version_upgrade=True,
                promotion_tier=index, performance_insights_enabled=True,
                performance_insights_kms_key_id=self.key.arn, performance_insights_retention_period=7,
                opts=child(self, protect=args.protect),
            )
        return cluster

    # -- the egress proxy ------------------------------------------------------------------

    def _egress_proxy(self, name: str) -> k8s.apps.v1.Deployment:
        """Envoy admitting CONNECT to the providers' API hosts on 443 and nothing else (the agents'
        egress proxy, components/agent/egress.py, with the providers' hosts as its allow-list)."""
        args, ns, proxy = self.args, names.LLM_GATEWAY_NAMESPACE, names.EGRESS_PROXY_NAME
        hosts = sorted({p.api_host for p in args.providers})
        own = {**self.labels, names.NAME_LABEL: proxy}
        selector = {names.NAME_LABEL: proxy}
        meta = {"name": proxy, "namespace": ns, "labels": own}
        config = json.dumps(envoy_config(hosts), indent=1, sort_keys=True)
        after = child(self, depends_on=[self.namespace])
        config_map = k8s.core.v1.ConfigMap(f"{name}-egress-proxy-config", metadata=meta, data={CONFIG_FILE: config},
                                           opts=after)
        account = k8s.core.v1.ServiceAccount(f"{name}-egress-proxy-service-account", metadata=meta,
                                             automount_service_account_token=False, opts=after)
        ready = {"httpGet": {"path": "/ready", "port": "proxy"}}
        deployment = k8s.apps.v1.Deployment(
            f"{name}-egress-proxy",
            metadata=meta,
            spec={
                "replicas": tier(args.environment).ha_replicas,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {"labels": own, "annotations": {
                        CONFIG_HASH_ANNOTATION: hashlib.sha256(config.encode()).hexdigest()[:16]}},
                    "spec": {
                        "serviceAccountName": proxy,
                        "automountServiceAccountToken": False,
                        "securityContext": {"runAsNonRoot": True, "runAsUser": names.RUN_AS, "runAsGroup": names.RUN_AS,
                                            "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [{
                            "name": proxy, "image": PROXY_IMAGE, "imagePullPolicy": "Always",
                            "args": ["--config-path", f"{CONFIG_DIR}/{CONFIG_FILE}", "--concurrency", "2",
                                     "--disable-hot-restart", "--log-level", "warn"],
                            "ports": [{"name": "proxy", "containerPort": PROXY_PORT, "protocol": "TCP"}],
                            "resources": {"requests": dict(PROXY_REQUESTS), "limits": dict(PROXY_LIMITS)},
                            "readinessProbe": {**ready, "periodSeconds": 10},
                            "livenessProbe": {**ready, "periodSeconds": 20},
                            "securityContext": names.restricted_container_security_context(),
                            "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
                        }],
                        "volumes": [{"name": "config", "configMap": {"name": proxy}}],
                        "topologySpreadConstraints": [
                            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                             "labelSelector": {"matchLabels": selector}}
                            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")],
                    },
                },
            },
            opts=child(self, depends_on=[self.namespace, config_map, account]),
        )
        k8s.core.v1.Service(
            f"{name}-egress-proxy-service", metadata=meta,
            spec={"type": "ClusterIP", "selector": selector,
                  "ports": [{"name": "proxy", "port": PROXY_PORT, "targetPort": "proxy", "protocol": "TCP"}]},
            opts=after,
        )
        k8s.policy.v1.PodDisruptionBudget(f"{name}-egress-proxy-pdb", metadata=meta,
                                          spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}}, opts=after)
        return deployment

    # -- network policies ------------------------------------------------------------------

    def _network_policies(self, name: str) -> None:
        """Deny everything; the proxy is reached by the gateway agents' pods, Prometheus and the
        registration Job, and reaches the database and its egress proxy, which alone reaches the
        providers' hosts on 443."""
        args, ns = self.args, names.LLM_GATEWAY_NAMESPACE
        tcp = lambda port: {"protocol": "TCP", "port": port}  # noqa: E731
        agents = [a.name for a in gateway_agents(args.agents)]
        in_namespaces = lambda *spaces: {"namespaceSelector": {"matchExpressions": [  # noqa: E731
            {"key": names.NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(spaces)}]}}
        proxy_pods = {"matchLabels": dict(PROXY_POD_LABELS)}
        egress_pods = {"matchLabels": {names.NAME_LABEL: names.EGRESS_PROXY_NAME}}
        job_pods = {"matchLabels": {names.NAME_LABEL: KEYS_JOB}}
        postgres_pods = {"matchLabels": {names.NAME_LABEL: POSTGRES_NAME}}
        dns = {"to": [{"namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.KUBE_SYSTEM_NAMESPACE}},
                       "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
               "ports": [{"protocol": "UDP", "port": 53}, tcp(53)]}
        callers: list[dict[str, Any]] = [in_namespaces(names.MONITORING_NAMESPACE), {"podSelector": job_pods}]
        if agents:
            callers.insert(0, in_namespaces(*agents))
        policies: dict[str, dict[str, Any]] = {
            "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            "allow-dns": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]},
            # LiteLLM and its schema migration Job (a Helm hook) reach the database: Aurora in the VPC,
            # or the PostgreSQL pod, which admits them alone (the Job's pods carry the proxy's
            # selector labels: litellm.labels in templates/migrations-job.yaml @ 3dd55a7).
            "allow-database": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
                {"to": [{"ipBlock": {"cidr": args.vpc_cidr}}] if args.database == "aurora" else [
                    {"podSelector": postgres_pods}], "ports": [tcp(POSTGRES_PORT)]}]},
            "allow-gateway": {
                "podSelector": proxy_pods, "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": callers, "ports": [tcp(names.LLM_GATEWAY_PORT)]}],
                "egress": [{"to": [{"podSelector": egress_pods}], "ports": [tcp(PROXY_PORT)]}],
            },
            "allow-key-registration": {
                "podSelector": job_pods, "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": proxy_pods}], "ports": [tcp(names.LLM_GATEWAY_PORT)]}],
            },
            names.EGRESS_PROXY_NAME: {
                "podSelector": egress_pods, "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": proxy_pods}], "ports": [tcp(PROXY_PORT)]}],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [names.INSTANCE_METADATA_CIDR]}}],
                            "ports": [tcp(443)]}],
            },
        }
        if args.database == "in_cluster":
            policies["allow-postgres"] = {
                "podSelector": postgres_pods, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": proxy_pods}], "ports": [tcp(POSTGRES_PORT)]}],
            }
        for policy, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy}", metadata={"name": policy, "namespace": ns, "labels": self.labels}, spec=spec,
                opts=child(self, depends_on=[self.namespace]),
            )

    # -- the agents' keys ------------------------------------------------------------------

    def _register_keys(self, name: str, sync: list[pulumi.Resource]) -> Optional[k8s.batch.v1.Job]:
        """The declared keys as data, and the Job that registers them; a new Job (its name carries
        the data's hash) whenever an allow-list or a limit changes."""
        args, ns = self.args, names.LLM_GATEWAY_NAMESPACE
        keys = gateway_keys(args.agents, tier(args.environment).ha_replicas)
        revoked = revoked_aliases(args.agents)
        if not keys and not revoked:
            return None
        data = json.dumps(keys, indent=1, sort_keys=True)
        gone = json.dumps(revoked)
        digest = hashlib.sha256((data + gone + REGISTER_SCRIPT).encode()).hexdigest()[:10]
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-keys", metadata={"name": KEYS_CONFIG_MAP, "namespace": ns, "labels": self.labels},
            data={"keys.json": data, "revoked.json": gone, "register.py": REGISTER_SCRIPT},
            opts=child(self, depends_on=[self.namespace]))
        labels = {**self.labels, names.NAME_LABEL: KEYS_JOB}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-keys-service-account", metadata={"name": KEYS_JOB, "namespace": ns, "labels": labels},
            automount_service_account_token=False, opts=child(self, depends_on=[self.namespace]))
        return k8s.batch.v1.Job(
            f"{name}-keys-job",
            metadata={"name": f"{KEYS_JOB}-{digest}", "namespace": ns, "labels": labels},
            spec={
                "backoffLimit": 6,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "serviceAccountName": KEYS_JOB,
                        "automountServiceAccountToken": False,
                        "securityContext": {"runAsNonRoot": True, "runAsUser": names.RUN_AS, "runAsGroup": names.RUN_AS,
                                            "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [{
                            "name": "register", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                            "command": ["python3", f"{KEYS_DIR}/register.py"],
                            "env": [
                                {"name": "GATEWAY_URL", "value": names.LLM_GATEWAY_URL},
                                {"name": "KEYS_FILE", "value": f"{KEYS_DIR}/keys.json"},
                                {"name": "REVOKED_FILE", "value": f"{KEYS_DIR}/revoked.json"},
                                {"name": "AGENT_KEYS_DIR", "value": AGENT_KEYS_DIR},
                                {"name": "PROXY_MASTER_KEY", "valueFrom": {"secretKeyRef": {
                                    "name": MASTER_KEY_SECRET, "key": "masterkey"}}},
                            ],
                            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                          "limits": {"cpu": "200m", "memory": "128Mi"}},
                            "securityContext": names.restricted_container_security_context(),
                            "volumeMounts": [{"name": "keys", "mountPath": KEYS_DIR, "readOnly": True},
                                             {"name": "agent-keys", "mountPath": AGENT_KEYS_DIR, "readOnly": True}],
                        }],
                        "volumes": [{"name": "keys", "configMap": {"name": KEYS_CONFIG_MAP}},
                                    # Absent when every gateway agent is retired: only revocations to run.
                                    {"name": "agent-keys", "secret": {"secretName": AGENT_KEYS_SECRET, "optional": True}}],
                    },
                },
            },
            opts=child(self, depends_on=[config_map, account, self.release, *sync]),
        )

    # -- metrics ---------------------------------------------------------------------------

    def _service_monitor(self, name: str) -> Optional[k8s.apiextensions.CustomResource]:
        """Prometheus scrapes the proxy's ``/metrics/`` (per-key spend and tokens), once the
        Prometheus operator's CRDs exist (kube-prometheus-stack selects every ServiceMonitor)."""
        if self.args.prometheus_release is None:
            return None
        return k8s.apiextensions.CustomResource(
            f"{name}-service-monitor", api_version="monitoring.coreos.com/v1", kind="ServiceMonitor",
            metadata={"name": LITELLM_CHART.name, "namespace": names.LLM_GATEWAY_NAMESPACE, "labels": self.labels},
            spec={"namespaceSelector": {"matchNames": [names.LLM_GATEWAY_NAMESPACE]},
                  "selector": {"matchLabels": dict(PROXY_POD_LABELS)},
                  "endpoints": [{"port": "http", "path": "/metrics/", "interval": "30s"}]},
            opts=child(self, depends_on=[self.release, self.args.prometheus_release]),
        )
