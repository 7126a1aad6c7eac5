"""Retiring an agent in two steps: ``retired: true`` keeps its data, protected, under the URNs it
had; ``delete_data: true``, accepted only after the retention period, lifts the protection so
that removing the agent from config deletes it (docs/agents.md#retiring-an-agent)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from maas_platform import names
from maas_platform.config import ConfigError, parse_platform_config
from maas_platform.config.agents import AgentSpec, deletion_problem, utc_today
from maas_platform.config.defaults import retention_days
from maas_platform.config.loader import read_stack_file
from maas_platform.plan import Plan, plan_project
from test_config import assert_one_line_error, maas_plan
from test_team_stack import maas, one_line_error, team_copy

TODAY = utc_today()
LONG_AGO = (TODAY - datetime.timedelta(days=400)).isoformat()
YESTERDAY = (TODAY - datetime.timedelta(days=1)).isoformat()
AGENT_URN = "urn:pulumi:dev::maas::maas:index:Platform$maas:agent:AgentService"

# What an agent keeps when retired, by type: its data, the key that encrypts it and the secrets;
# its image repository and the key its images were signed with (components/agent/registry.py).
KEPT_DATA = {
    "aws:kms/key:Key", "aws:kms/alias:Alias", "aws:secretsmanager/secret:Secret", "aws:dynamodb/table:Table",
    "aws:s3/bucket:Bucket", "aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance",
    "aws:cloudwatch/logGroup:LogGroup", "aws:ecr/repository:Repository",
}
# What it drops: nothing runs, nothing can act as it, nothing delivers to it.
DROPPED = {
    "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "aws:sqs/queue:Queue", "aws:sns/topicSubscription:TopicSubscription", "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:budgets/budget:Budget", "kubernetes:core/v1:Namespace", "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:Service", "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:keda.sh/v1alpha1:ScaledObject", "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    "kubernetes:monitoring.coreos.com/v1:Probe", "maas:agent:AgentInbox",
}
# Inputs a retirement may change on what it keeps, each updated in place (never a replacement):
# the key's policy (PutKeyPolicy), deletion protection (DynamoDB UpdateTable, RDS ModifyDBCluster)
# and the provider-side force_destroy of a bucket; and the topic policy no longer naming a publisher.
UPDATED_IN_PLACE = {
    ("aws:kms/key:Key", "policy"), ("aws:dynamodb/table:Table", "deletionProtectionEnabled"),
    ("aws:rds/cluster:Cluster", "deletionProtection"), ("aws:s3/bucket:Bucket", "forceDestroy"),
    ("aws:sns/topicPolicy:TopicPolicy", "policy"), ("kubernetes:core/v1:ConfigMap", "data"),
    # The LLM gateway stops serving the retired agents: its chart values (model list), the
    # namespaces its network policy admits, the credentials its secret sync may read.
    ("kubernetes:helm.sh/v3:Release", "values"), ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "spec"),
    ("aws:iam/rolePolicy:RolePolicy", "policy"),
    # The repository: force_delete off (provider-side, as a bucket's force_destroy), and its policy
    # (SetRepositoryPolicy) no longer naming the CI role, which goes.
    ("aws:ecr/repository:Repository", "forceDelete"), ("aws:ecr/repositoryPolicy:RepositoryPolicy", "policy"),
}


def dev_values() -> dict[str, Any]:
    return {key.split(":", 1)[1]: value for key, value in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml").items()
            if key.startswith("maas:")}


def with_agents(values: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``values`` with ``fields`` set on every agent (dev has one of each created storage kind); a
    flow cannot pass through retired agents, so retiring them all takes the flows off too."""
    out = {**values, "agents": [{**agent, **fields} for agent in values["agents"]]}
    if fields.get("retired"):
        out.pop("flows", None)
    return out


def write(path: Path, values: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"config": {f"maas:{k}": v for k, v in values.items()}}, sort_keys=False))
    return path


def by_urn(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in json.loads(plan.to_json())["resources"]}


@pytest.fixture(scope="module")
def active() -> Plan:
    return plan_project(ROOT, stack="dev")


@pytest.fixture(scope="module")
def retired(tmp_path_factory) -> Plan:
    values = with_agents(dev_values(), retired=True, retired_on=YESTERDAY)
    return plan_project(ROOT, config_file=write(tmp_path_factory.mktemp("retired") / "Pulumi.dev.yaml", values))


@pytest.fixture(scope="module")
def deletable(tmp_path_factory) -> Plan:
    values = with_agents(dev_values(), retired=True, retired_on=LONG_AGO, delete_data=True)
    return plan_project(ROOT, config_file=write(tmp_path_factory.mktemp("deletable") / "Pulumi.dev.yaml", values))


# -- the config -----------------------------------------------------------------------------------

def _agent(**fields: Any) -> dict[str, Any]:
    return {"name": "ledger", "team": "t", "cost_center": "cc", "image": "ghcr.io/acme/ledger:1.0.0", **fields}


def test_lifecycle_follows_retired_and_delete_data():
    assert AgentSpec.model_validate(_agent()).lifecycle == names.AGENT_LIFECYCLE_ACTIVE == "active"
    retired = AgentSpec.model_validate(_agent(retired=True, retired_on=YESTERDAY))
    assert retired.lifecycle == names.AGENT_LIFECYCLE_RETIRED == "retired" and not retired.active
    # YAML gives an unquoted day as a date, Pulumi's runtime as text: both are the same day.
    assert AgentSpec.model_validate(_agent(retired=True, retired_on=TODAY - datetime.timedelta(days=1))) == retired
    deletable = AgentSpec.model_validate(_agent(retired=True, retired_on=LONG_AGO, delete_data=True))
    assert deletable.lifecycle == names.AGENT_LIFECYCLE_DELETABLE == "deletable"


@pytest.mark.parametrize("fields, key, fragment", [
    ({"retired": True}, "retired_on", "required with retired: true"),
    ({"retired_on": YESTERDAY}, "retired_on", "only a retired agent has one"),
    ({"delete_data": True}, "delete_data", "retire it first"),
    ({"retired": True, "retired_on": "3 May"}, "retired_on", "is not a date written YYYY-MM-DD"),
    ({"retired": True, "retired_on": (TODAY + datetime.timedelta(days=2)).isoformat()}, "retired_on", "in the future"),
])
def test_a_retirement_mistake_is_one_line_naming_the_key(fields, key, fragment):
    values = dev_values()
    values["agents"][2] = {**values["agents"][2], **fields}
    with pytest.raises(ConfigError) as raised:
        parse_platform_config(values)
    message = str(raised.value)
    assert message.startswith(f"maas:agents[2].{key} (agent 'reports'): ") and fragment in message, message
    assert "\n" not in message


def test_retention_defaults_per_environment_and_can_be_set():
    assert {env: retention_days(env) for env in ("dev", "staging", "prod")} == {"dev": 7, "staging": 30, "prod": 90}
    assert parse_platform_config(dev_values()).retirement.retention_days == 7
    assert parse_platform_config({**dev_values(), "retirement": {"retention_days": 3}}).retirement.retention_days == 3


def test_delete_data_is_refused_until_the_retention_period_has_passed():
    retired_on = datetime.date(2026, 12, 1)
    spec = AgentSpec.model_validate(_agent(retired=True, retired_on="2026-12-01", delete_data=True))
    problem = deletion_problem(spec, 7, today=retired_on + datetime.timedelta(days=6))
    assert problem == ("delete_data: refused until 2026-12-08 (retired_on 2026-12-01 + 7 days of "
                       "maas:retirement.retention_days); remove delete_data until then")
    assert deletion_problem(spec, 7, today=datetime.date(2026, 12, 8)) is None  # the first allowed day
    assert deletion_problem(spec, 90, today=datetime.date(2026, 12, 8)) is not None


def test_maas_plan_exits_2_with_one_line_naming_the_first_allowed_day(tmp_path):
    values = with_agents(dev_values(), retired=True, retired_on=YESTERDAY)
    values["agents"][2]["delete_data"] = True
    first = (TODAY - datetime.timedelta(days=1) + datetime.timedelta(days=7)).isoformat()
    result = maas_plan("--config-file", str(write(tmp_path / "Pulumi.dev.yaml", values)), "--quiet")
    assert_one_line_error(result, "maas:agents[2].delete_data (agent 'reports'): refused until " + first,
                          "maas:retirement.retention_days")


def test_a_retention_period_set_longer_refuses_what_the_default_would_allow():
    values = with_agents(dev_values(), retired=True, retired_on=(TODAY - datetime.timedelta(days=10)).isoformat(),
                         delete_data=True)
    assert parse_platform_config(values).agents[0].lifecycle == "deletable"  # 10 days >= dev's 7
    with pytest.raises(ConfigError, match=r"^maas:agents\[0\]\.delete_data .*refused until"):
        parse_platform_config({**values, "retirement": {"retention_days": 30}})


# -- step 1: retired ------------------------------------------------------------------------------

def test_retiring_keeps_the_data_under_the_same_urns_and_replaces_nothing(active, retired):
    before, after = by_urn(active), by_urn(retired)
    added = sorted(set(after) - set(before))
    assert added == [], "a retirement creates nothing"
    # The LLM gateway's copy of a retired agent's credential goes (the agent's own secret stays):
    # the gateway no longer registers it.
    revoked = {urn for urn in set(before) - set(after)
               if "$maas:llmgateway:LlmGateway$" in urn and "-llm-gateway-key-" in urn}
    assert {before[urn]["type"] for urn in revoked} <= {names.SECRETSMANAGER_SECRET, names.SECRETSMANAGER_SECRET_VERSION,
                                                         "random:index/randomPassword:RandomPassword"}
    removed = {before[urn]["type"] for urn in set(before) - set(after) - revoked}
    assert removed & KEPT_DATA == set(), "a kept resource would be deleted"
    assert DROPPED <= removed
    changed = {(after[urn]["type"], key) for urn in set(before) & set(after)
               for key in set(before[urn]["inputs"]) | set(after[urn]["inputs"])
               if before[urn]["inputs"].get(key) != after[urn]["inputs"].get(key)}
    # The gateway's registration Job runs again, under a new name, to revoke the retired agents'
    # credentials: a one-shot Job replaced, no data.
    assert changed - {("kubernetes:batch/v1:Job", "metadata")} <= UPDATED_IN_PLACE, changed - UPDATED_IN_PLACE


def test_a_retired_agents_data_is_protected_even_in_dev(retired):
    kept = [r for r in by_urn(retired).values() if r["urn"].startswith(AGENT_URN) and r["type"] in KEPT_DATA]
    assert {r["type"] for r in kept} == KEPT_DATA
    assert all(r["protect"] for r in kept), [r["name"] for r in kept if not r["protect"]]
    inputs = {r["type"]: r["inputs"] for r in kept}
    assert inputs["aws:dynamodb/table:Table"]["deletionProtectionEnabled"] is True
    assert inputs["aws:rds/cluster:Cluster"]["deletionProtection"] is True
    assert inputs["aws:s3/bucket:Bucket"]["forceDestroy"] is False
    repositories = [r for r in kept if r["type"] == "aws:ecr/repository:Repository"]
    assert len(repositories) == 3 and all(r["inputs"]["forceDelete"] is False for r in repositories)
    # Both keys of each agent and both their aliases are kept, protected.
    assert len([r for r in kept if r["type"] == "aws:kms/key:Key"]) == 6
    assert len([r for r in kept if r["type"] == "aws:kms/alias:Alias"]) == 6


def test_a_retired_agents_key_names_no_role_and_its_secret_stays_sealed(retired):
    resources = by_urn(retired).values()
    keys = [r for r in resources if r["type"] == "aws:kms/key:Key" and r["urn"].startswith(AGENT_URN)]
    assert {r["inputs"].get("keyUsage", "ENCRYPT_DECRYPT") for r in keys} == {"ENCRYPT_DECRYPT", "SIGN_VERIFY"}
    for key in keys:
        statements = json.loads(key["inputs"]["policy"])["Statement"]
        sids = {s["Sid"] for s in statements}
        assert "AgentUsesKey" not in sids and "SubscribedTopicsDeliverToInbox" not in sids
        if key["inputs"].get("keyUsage") == "SIGN_VERIFY":  # nobody signs any more; the public key stays readable
            assert sids == {"RootAdministersKey", "AccountReadsPublicKey"}
            assert not any("kms:Sign" in s["Action"] for s in statements)
        else:
            assert {"RootAdministersKey", "ServicesOfTheAgentUseKey"} <= sids
        assert ":role/" not in key["inputs"]["policy"]  # KMS refuses a principal that does not exist
    # Nobody pushes to a retired agent's repository: the CI role is gone and the Deny holds for all.
    assert not [r for r in resources if r["type"] == "aws:iam/role:Role" and r["urn"].startswith(AGENT_URN)]
    for repository_policy in (r for r in resources if r["type"] == "aws:ecr/repositoryPolicy:RepositoryPolicy"):
        statements = json.loads(repository_policy["inputs"]["policy"])["Statement"]
        assert not [s for s in statements if s["Effect"] == "Allow" and "ecr:PutImage" in s["Action"]]
        (deny,) = [s for s in statements if s["Effect"] == "Deny"]
        assert "ecr:PutImage" in deny["Action"] and deny["Principal"] == {"AWS": "*"} and "Condition" not in deny
    (secret_policy,) = [r for r in resources if r["type"] == "aws:secretsmanager/secretPolicy:SecretPolicy"
                        and "agent-triage" in r["name"]]
    condition = json.loads(secret_policy["inputs"]["policy"])["Statement"][0]["Condition"]
    assert condition == {"StringNotEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/maas-dev-agent-triage"}}


def test_the_agents_output_states_each_lifecycle(active, retired, deletable):
    assert {a["lifecycle"] for a in active.outputs["agents"].values()} == {"active"}
    for name, record in retired.outputs["agents"].items():
        assert record["lifecycle"] == "retired" and record["role_arn"] is None and record["inbox_arn"] is None, name
        assert record["key_arn"] and record["datastore_arns"] and record["slos"] == []
    assert {a["lifecycle"] for a in deletable.outputs["agents"].values()} == {"deletable"}


def test_a_retired_agent_publishes_to_no_topic(retired):
    policies = [r for r in by_urn(retired).values() if r["type"] == "aws:sns/topicPolicy:TopicPolicy"]
    assert policies and all("maas-dev-agent-" not in r["inputs"]["policy"] for r in policies)


# -- step 2: deletable ----------------------------------------------------------------------------

def test_delete_data_lifts_every_protection_so_removal_deletes_the_data(retired, deletable):
    before, after = by_urn(retired), by_urn(deletable)
    assert set(before) == set(after), "step 2 neither adds nor removes anything"
    kept = [r for r in after.values() if r["urn"].startswith(AGENT_URN) and r["type"] in KEPT_DATA]
    assert kept and not any(r["protect"] for r in kept), [r["name"] for r in kept if r["protect"]]
    inputs = {r["type"]: r["inputs"] for r in kept}
    assert inputs["aws:dynamodb/table:Table"]["deletionProtectionEnabled"] is False
    assert inputs["aws:rds/cluster:Cluster"]["deletionProtection"] is False
    assert inputs["aws:s3/bucket:Bucket"]["forceDestroy"] is True  # versions included
    assert inputs["aws:ecr/repository:Repository"]["forceDelete"] is True  # images included
    # The key goes after the environment's deletion window (7 days in dev).
    assert {r["inputs"]["deletionWindowInDays"] for r in kept if r["type"] == "aws:kms/key:Key"} == {7}


# -- prod: a final snapshot, and 90 days ---------------------------------------------------------

def _prod_with_ledger(tmp_path: Path, **fields: Any) -> Path:
    config = read_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml")
    config["maas:agents"] = [_agent(storage={"kind": "postgres"}, **fields)]
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def test_prod_keeps_its_final_snapshot_and_refuses_delete_data_for_90_days(tmp_path):
    path = _prod_with_ledger(tmp_path, retired=True, retired_on=LONG_AGO, delete_data=True)
    cluster = next(r for r in by_urn(plan_project(ROOT, config_file=path)).values()
                   if r["type"] == "aws:rds/cluster:Cluster" and "ledger" in r["name"])
    assert not cluster["protect"] and cluster["inputs"]["deletionProtection"] is False
    assert cluster["inputs"]["skipFinalSnapshot"] is False
    assert cluster["inputs"]["finalSnapshotIdentifier"] == "maas-prod-ledger-final"
    early = _prod_with_ledger(tmp_path, retired=True, retired_on=(TODAY - datetime.timedelta(days=30)).isoformat(),
                              delete_data=True)
    with pytest.raises(ConfigError, match=r"delete_data .*refused until .*\+ 90 days"):
        plan_project(ROOT, config_file=early)


# -- a team stack ---------------------------------------------------------------------------------

_SUMMARIZER = 'image="ghcr.io/acme/summarizer-agent:0.3.1",'


def test_a_team_stack_retires_an_agent_and_keeps_its_bucket(tmp_path):
    team = team_copy(tmp_path, _SUMMARIZER, _SUMMARIZER + f' retired=True, retired_on="{YESTERDAY}",')
    plan = plan_project(team, stack="dev", platform_dir=ROOT)
    resources = [r for r in by_urn(plan).values() if "summarizer" in r["name"]]
    types = {r["type"] for r in resources}
    assert {"aws:s3/bucket:Bucket", "aws:kms/key:Key"} <= types
    assert not types & {"aws:iam/role:Role", "kubernetes:apps/v1:Deployment", "aws:budgets/budget:Budget"}
    assert all(r["protect"] for r in resources if r["type"] in KEPT_DATA)
    assert plan.outputs["agents"]["summarizer"] == {"namespace": "summarizer", "lifecycle": "retired", "role_arn": None}
    assert plan.outputs["agents"]["intake"]["lifecycle"] == "active"


def test_a_team_stacks_early_delete_data_is_one_line(tmp_path):
    team = team_copy(tmp_path, _SUMMARIZER,
                     _SUMMARIZER + f' retired=True, retired_on="{YESTERDAY}", delete_data=True,')
    line = one_line_error(maas("plan", "--project-dir", str(team), "--platform-dir", str(ROOT), "--stack", "dev",
                               "--quiet"))
    assert "agent 'summarizer': delete_data: refused until" in line, line
