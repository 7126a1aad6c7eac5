"""Team stacks: the example team stack plans offline against its platform stack's outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from maas_platform.config.loader import ConfigError
from maas_platform.plan import Plan, plan_project, read_outputs_file
from maas_platform.plan.engine import OUTPUT_SIG, SECRET_SIG, SIG_KEY, UNKNOWN, unwrap
from maas_platform.plan.fake_cloud import FakeCloud, StackOutputs, UnknownStackReference

TEAM = ROOT / "stacks" / "teams" / "example"
PLATFORM_STACK = "acme/maas/dev"
AGENTS = ("intake", "summarizer")
ALB_POLICY = "allow-load-balancer"


def maas(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maas_platform.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def team_copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """The example team project copied outside the repository, its program edited."""
    copy = tmp_path / "team"
    shutil.copytree(TEAM, copy, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    program = copy / "__main__.py"
    if old:
        assert old in program.read_text()
        program.write_text(program.read_text().replace(old, new))
    return copy


@pytest.fixture(scope="module")
def platform() -> Plan:
    return plan_project(ROOT, stack="dev")


@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(TEAM, stack="dev")


def of(plan: Plan, type_token: str, agent: str) -> list[dict]:
    """Resources of a type inside one agent's component (in one of its parts, or directly)."""
    by_urn = {r["urn"]: r for r in plan.resources}

    def inside(urn: str | None) -> bool:
        while urn in by_urn:
            if urn.endswith(f"maas:agent:AgentService::{agent}"):
                return True
            urn = by_urn[urn]["parent"]
        return False

    return [r for r in plan.of_type(type_token) if inside(r["parent"])]


# --- planning from the platform stack's config -------------------------------------------------

def test_team_stack_plans_against_the_offline_platform_plan(team):
    document = json.loads(team.to_json())
    assert list(document) == ["project", "stack", "resources", "outputs", "violations", "exempted", "cost"]
    assert document["project"] == "maas-team-example" and document["stack"] == "dev"
    assert list(team.stack_references) == [PLATFORM_STACK]
    assert team.stack_references[PLATFORM_STACK].endswith("offline plan of stacks/Pulumi.dev.yaml")
    components = [r for r in team.resources if r["type"] == "maas:agent:AgentService"]
    assert sorted(c["name"] for c in components) == list(AGENTS)
    # The platform itself is not part of the team's plan.
    assert not team.of_type("aws:eks/cluster:Cluster") and not team.of_type("aws:ec2/vpc:Vpc")


@pytest.mark.parametrize("agent", AGENTS)
def test_each_agent_has_its_bounded_context(team, agent):
    namespace = of(team, "kubernetes:core/v1:Namespace", agent)
    assert [n["inputs"]["metadata"]["name"] for n in namespace] == [agent]
    assert namespace[0]["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    role = of(team, "aws:iam/role:Role", agent)
    # Its own role, and its release workflow's CI role (delivery.source).
    assert sorted(r["inputs"]["name"] for r in role) == [f"maas-dev-agent-{agent}", f"maas-dev-{agent}-ci"]
    association = of(team, "aws:eks/podIdentityAssociation:PodIdentityAssociation", agent)
    assert len(association) == 1
    assert association[0]["inputs"]["namespace"] == agent and association[0]["inputs"]["serviceAccount"] == agent
    # Its data key and its image-signing key (agent/registry.py).
    assert sorted(k["inputs"]["keyUsage"] if "keyUsage" in k["inputs"] else "ENCRYPT_DECRYPT"
                  for k in of(team, "aws:kms/key:Key", agent)) == ["ENCRYPT_DECRYPT", "SIGN_VERIFY"]
    # The agent's own, not its egress proxy's (tests/test_egress.py).
    deployment = [d for d in of(team, "kubernetes:apps/v1:Deployment", agent) if d["inputs"]["metadata"]["name"] == agent]
    assert len(deployment) == 1
    assert deployment[0]["inputs"]["metadata"]["namespace"] == agent
    assert deployment[0]["inputs"]["spec"]["template"]["spec"]["serviceAccountName"] == agent


def test_each_agent_gets_the_datastore_and_secrets_it_declares(team):
    assert [t["inputs"]["name"] for t in team.of_type("aws:dynamodb/table:Table")] == ["maas-dev-intake"]
    assert len(of(team, "aws:s3/bucket:Bucket", "summarizer")) == 1
    assert len(team.of_type("aws:secretsmanager/secret:Secret")) == 1
    assert of(team, "aws:secretsmanager/secret:Secret", "intake")


def test_team_resources_use_the_platform_outputs(team, platform):
    outputs = platform.outputs
    for association in team.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        assert association["inputs"]["clusterName"] == outputs["cluster_name"]
    policies = [p for p in team.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if p["name"].endswith(ALB_POLICY)]
    assert len(policies) == len(AGENTS)
    for policy in policies:
        assert policy["inputs"]["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"] == outputs["vpc_cidr"]
    for role in team.of_type("aws:iam/role:Role"):
        trust = json.loads(role["inputs"]["assumeRolePolicy"])
        principals = [s["Principal"] for s in trust["Statement"]]
        # The workload's Pod Identity and, for an agent with secrets, the platform's OIDC provider.
        agent = role["inputs"]["name"].removeprefix(f"{outputs['prefix']}-agent-")
        syncs = bool(of(team, "kubernetes:external-secrets.io/v1:SecretStore", agent))
        assert ({"Federated": outputs["oidc_provider_arn"]} in principals) == syncs
        assert not [p for p in principals if "AWS" in p]
        assert role["inputs"]["tags"]["platform"] == outputs["platform_tags"]["platform"]
    # The account for ARNs and the provider's guard is the platform's.
    provider = team.of_type("pulumi:providers:aws")[0]["inputs"]
    assert json.loads(provider["allowedAccountIds"]) == [outputs["account_id"]]
    assert all(f":{outputs['account_id']}:" in o["role_arn"] for o in team.outputs["agents"].values())


def test_the_kubeconfig_stays_secret(team):
    provider = team.of_type("pulumi:providers:kubernetes")[0]
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert "get-token" not in team.to_json()


def test_team_exports_namespaces_and_role_arns(team):
    agents = team.outputs["agents"]
    assert sorted(agents) == list(AGENTS)
    for agent, exported in agents.items():
        assert exported["namespace"] == agent
        assert exported["role_arn"].endswith(f":role/maas-dev-agent-{agent}")


def test_team_plan_is_deterministic_and_leaves_the_platform_plan_alone(team, platform):
    assert plan_project(TEAM, stack="dev").to_json() == team.to_json()
    # Planned after the team stack (and its platform plan) in the same process.
    assert plan_project(ROOT, stack="dev").to_json() == platform.to_json()


# --- planning from an outputs file -------------------------------------------------------------

def outputs_file(tmp_path: Path, platform: Plan, **changes) -> Path:
    values = {**platform.stack_outputs().values, **changes}
    path = tmp_path / "platform-dev.json"
    path.write_text(json.dumps(values))
    return path


def test_team_stack_plans_from_an_outputs_file(tmp_path, platform):
    path = outputs_file(tmp_path, platform, account_id="111122223333", vpc_cidr="10.99.0.0/16",
                        kubeconfig="apiVersion: v1\nkind: Config\n# plaintext-kubeconfig\n")
    plan = plan_project(TEAM, stack="dev", platform_outputs=path)
    assert plan.stack_references == {PLATFORM_STACK: f"outputs file {path}"}
    for policy in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        if policy["name"].endswith(ALB_POLICY):
            assert policy["inputs"]["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"] == "10.99.0.0/16"
    assert all(":111122223333:" in o["role_arn"] for o in plan.outputs["agents"].values())
    # Read from a plain file, the kubeconfig is still a secret: the program marks it.
    assert "plaintext-kubeconfig" not in plan.to_json()
    assert plan.of_type("pulumi:providers:kubernetes")[0]["inputs"]["kubeconfig"] == "[secret]"


def test_cli_plans_the_team_stack_from_an_outputs_file(tmp_path, platform):
    path = outputs_file(tmp_path, platform)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for target in (first, second):
        result = maas("plan", "--project-dir", str(TEAM), "--stack", "dev", "--platform-outputs", str(path),
                      "--json", str(target))
        assert result.returncode == 0, result.stderr
        assert f"read stack {PLATFORM_STACK} from the outputs file" in result.stdout
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(first.read_text())["project"] == "maas-team-example"


def test_outputs_file_values_shown_as_secret_are_secrets(tmp_path):
    path = tmp_path / "o.json"
    path.write_text(json.dumps({"kubeconfig": "[secret]", "vpc_cidr": "10.20.0.0/16"}))
    outputs = read_outputs_file(path)
    assert outputs.secret_names == {"kubeconfig"} and outputs.values["vpc_cidr"] == "10.20.0.0/16"


@pytest.mark.parametrize("content", ["not json", "[1, 2]", "{}"])
def test_a_bad_outputs_file_is_one_line(tmp_path, content):
    path = tmp_path / "o.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        plan_project(TEAM, stack="dev", platform_outputs=path)
    assert str(caught.value).startswith("--platform-outputs:") and "\n" not in str(caught.value)


# --- the CLI contract ----------------------------------------------------------------------------

def test_cli_plans_the_team_stack_with_summary_and_exports(tmp_path):
    out = tmp_path / "out"
    result = maas("plan", "--project-dir", "stacks/teams/example", "--stack", "dev",
                  "--json", str(tmp_path / "t.json"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "maas-team-example/dev" in result.stdout
    assert "maas:agent:AgentService intake" in result.stdout and "maas:agent:AgentService summarizer" in result.stdout
    assert f"read stack {PLATFORM_STACK} from the offline plan of stacks/Pulumi.dev.yaml" in result.stdout
    assert (out / "plan.json").read_bytes() == (tmp_path / "t.json").read_bytes()
    manifests = {p.name for p in (out / "manifests").glob("*.yaml")}
    assert "deployment--intake--intake.yaml" in manifests and "deployment--summarizer--summarizer.yaml" in manifests


def test_a_stack_reference_to_an_unknown_stack_is_one_line(tmp_path):
    team = team_copy(tmp_path, "pulumi.StackReference(config.platform_stack)", 'pulumi.StackReference("acme/other/dev")')
    line = one_line_error(maas("plan", "--project-dir", str(team), "--stack", "dev", "--platform-dir", str(ROOT)))
    assert "StackReference 'acme/other/dev'" in line and "--platform-outputs" in line


def test_a_platform_project_that_cannot_be_found_is_one_line(tmp_path):
    team = team_copy(tmp_path)  # outside the repository: no project 'maas' above it
    line = one_line_error(maas("plan", "--project-dir", str(team), "--stack", "dev"))
    assert "maas:platform_stack" in line and "project 'maas'" in line and "--platform-dir" in line


@pytest.mark.parametrize("old, new, expected", [
    ('storage="s3"', 'storage="mongo"', "agent 'summarizer': storage.kind: 'mongo' is not one of"),
    ('summarizer-agent:0.3.1"', 'summarizer-agent:latest"', "agent 'summarizer': image: "),
    ('env={"CLAIMS_API_URL": "https://claims-api.example.com/v2"}', 'env={"OPENAI_API_KEY": "x"}',
     "agent 'intake': env: OPENAI_API_KEY looks like a credential"),
    # Only the platform's LLM gateway reaches its providers' hosts (the platform exports them).
    ('egress=["claims-api.example.com"]', 'egress=["api.openai.com"]',
     "agent 'intake': egress: 'api.openai.com' is the API host of an LLM provider"),
    ('egress=["claims-api.example.com"]', 'egress=["*.openai.com"]',
     "agent 'intake': egress: '*.openai.com' covers 'api.openai.com', the API host of an LLM provider"),
    ('storage="s3"', 'storage="s3", llm={"bedrock": {"models": ["anthropic.claude-3-5-haiku-20241022-v1:0"]}}',
     "agent 'summarizer': llm.bedrock: a team stack's agent gets no Bedrock hard stop yet"),
    # The platform's dev stack already deploys an agent named triage: its namespace exists.
    ('name="intake"', 'name="triage"', "agent 'triage': name is taken by an agent of the platform stack"),
])
def test_a_bad_agent_spec_is_one_line_naming_agent_and_field(tmp_path, old, new, expected):
    team = team_copy(tmp_path, old, new)
    line = one_line_error(maas("plan", "--project-dir", str(team), "--stack", "dev", "--platform-dir", str(ROOT)))
    assert expected in line, line


@pytest.mark.parametrize("config, expected", [
    ({"maas:environment": "staging"}, "maas:environment: this stack's environment is 'staging' but platform stack"),
    ({"maas:name": "acme"}, "maas:name: this stack's prefix is 'acme-dev'"),
    ({"maas:region": None}, "maas:region: required key is missing"),
    ({"maas:account_id": "12345"}, "maas:account_id: '12345' is not a 12-digit AWS account id"),
    ({"maas:regoin": "us-east-1"}, "maas:regoin: unknown key"),
])
def test_team_config_mistakes_are_one_line(tmp_path, platform, config, expected):
    document = {"config": {"maas:environment": "dev", "maas:region": "us-east-1", "maas:platform_stack": PLATFORM_STACK}}
    document["config"].update(config)
    document["config"] = {k: v for k, v in document["config"].items() if v is not None}
    stack_file = tmp_path / "Pulumi.bad.yaml"
    stack_file.write_text(json.dumps(document))
    with pytest.raises(ConfigError) as caught:
        plan_project(TEAM, config_file=stack_file, stack_outputs={PLATFORM_STACK: platform.stack_outputs()})
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_pinned_team_account_plans_an_unpinned_platform_in_that_account(tmp_path):
    document = {"config": {"maas:environment": "dev", "maas:region": "us-east-1", "maas:account_id": "111122223333",
                           "maas:platform_stack": PLATFORM_STACK, "maas:team": "claims"}}
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(json.dumps(document))
    plan = plan_project(TEAM, config_file=stack_file, platform_dir=ROOT)
    assert all(":111122223333:" in o["role_arn"] for o in plan.outputs["agents"].values())


# --- the mechanism -------------------------------------------------------------------------------

def test_fake_cloud_answers_stack_references_from_its_mapping():
    cloud = FakeCloud("us-east-1", stacks={"o/p/s": StackOutputs({"a": 1, "k": "x"}, frozenset({"k"}))})
    assert cloud.stack_reference("o/p/s") == ("o/p/s", {"name": "o/p/s", "outputs": {"a": 1, "k": "x"}, "secretOutputNames": ["k"]})
    assert cloud.stacks_read == ["o/p/s"]
    with pytest.raises(UnknownStackReference, match="StackReference 'o/p/t'.*o/p/s"):
        cloud.stack_reference("o/p/t")


def test_unwrap_reveals_secrets_and_marks_unknowns():
    wire = {"s": {SIG_KEY: SECRET_SIG, "value": "hush"}, "u": UNKNOWN, "n": [1.0, {SIG_KEY: OUTPUT_SIG}]}
    assert unwrap(wire) == ({"n": [1, "[unknown]"], "s": "hush", "u": "[unknown]"}, True)
    assert unwrap({"plain": 2.5}) == ({"plain": 2.5}, False)


def test_platform_plan_offers_its_outputs_unmasked(platform):
    outputs = platform.stack_outputs()
    assert platform.outputs["kubeconfig"] == "[secret]"
    # teams holds each team's kubeconfig (docs/teams.md).
    assert outputs.secret_names == {"kubeconfig", "teams"} and "get-token" in outputs.values["kubeconfig"]
    assert outputs.values["cluster_name"] == platform.outputs["cluster_name"]
