"""Agents as bounded contexts: what each agent gets, how it is hardened, and that no
agent can reach another's data, keys or secrets (proved over a catalog of 100)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from conftest import ROOT, policy
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file
from maas_platform.plan import Plan, plan_project
from maas_platform.plan.catalog import STORAGE_CYCLE, synthetic_agents, write_catalog_stack

AGENT = "maas:agent:AgentService"
DATASTORE_TYPES = {
    "dynamodb": "aws:dynamodb/table:Table",
    "postgres": "aws:rds/cluster:Cluster",
    "s3": "aws:s3/bucket:Bucket",
}


def agent_resources(plan: Plan, agent: str) -> list[dict[str, Any]]:
    """Every resource below one agent's component."""
    (component,) = [r for r in plan.resources if r["type"] == AGENT and r["name"].endswith(f"-agent-{agent}")]
    below, frontier = [], {component["urn"]}
    while frontier:
        children = [r for r in plan.resources if r["parent"] in frontier]
        below += children
        frontier = {r["urn"] for r in children}
    return below


def by_type(resources: list[dict[str, Any]], type_token: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["type"] == type_token]


def one(resources: list[dict[str, Any]], type_token: str) -> dict[str, Any]:
    found = by_type(resources, type_token)
    assert len(found) == 1, f"expected one {type_token}, found {len(found)}"
    return found[0]["inputs"]


def k8s_kind(resources: list[dict[str, Any]], kind: str, *, proxy: bool = False) -> list[dict[str, Any]]:
    """The agent's objects of ``kind``: its own, or (``proxy``) its own and its egress proxy's
    (tests/test_egress.py)."""
    return [r["inputs"] for r in resources if r["type"].startswith("kubernetes:") and r["inputs"].get("kind") == kind
            and (proxy or (r["inputs"].get("metadata") or {}).get("labels", {}).get("app.kubernetes.io/name")
                 != "egress-proxy")]


@pytest.fixture(scope="session")
def prod_agents(tmp_path_factory) -> Plan:
    """prod with one agent of every storage kind."""
    path = write_catalog_stack(ROOT / "stacks" / "Pulumi.prod.yaml",
                               tmp_path_factory.mktemp("prod") / "Pulumi.prod.yaml", len(STORAGE_CYCLE))
    return plan_project(ROOT, config_file=path)


# -- what every agent gets ---------------------------------------------------------------------

@pytest.mark.parametrize("agent, storage", [("triage", "dynamodb"), ("research", "postgres"), ("reports", "s3")])
def test_each_dev_agent_gets_its_whole_bounded_context(dev, agent, storage):
    resources = agent_resources(dev, agent)
    (namespace,) = k8s_kind(resources, "Namespace")
    labels = namespace["metadata"]["labels"]
    assert namespace["metadata"]["name"] == agent
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["maas.dev/agent"] == agent and labels["maas.dev/environment"] == "dev" and labels["maas.dev/team"]

    # The workload's role and, with delivery.source, its release workflow's (components/agent/registry.py);
    # an agent with llm.bedrock also has the role its budget's stop action runs as.
    roles = {r["inputs"]["name"]: r["inputs"] for r in by_type(resources, "aws:iam/role:Role")
             if "-bedrock-stop-" not in r["name"]}
    assert set(roles) == {f"maas-dev-agent-{agent}", f"maas-dev-{agent}-ci"}
    association = one(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert association["namespace"] == agent and association["serviceAccount"] == agent
    assert association["roleArn"] == dev.outputs["agents"][agent]["role_arn"]
    assert dev.outputs["agents"][agent]["role_arn"].endswith(f":role/maas-dev-agent-{agent}")
    accounts = {a["metadata"]["name"]: a for a in k8s_kind(resources, "ServiceAccount")}
    # Its own, secret-sync (whose token External Secrets exchanges) when it has secrets, and its
    # golden-set probe's (no token) when it has a golden set: triage and reports in dev.
    assert set(accounts) == {agent} | ({"secret-sync"} if by_type(resources, "aws:secretsmanager/secret:Secret") else set()) \
        | ({"maas-probe"} if agent in ("triage", "reports") else set())
    assert all(a["automountServiceAccountToken"] is False for a in accounts.values())

    # Two keys: the data key (symmetric, rotated) and the key its images are signed with.
    keys = {r["inputs"].get("keyUsage", "ENCRYPT_DECRYPT"): r for r in by_type(resources, "aws:kms/key:Key")}
    assert set(keys) == {"ENCRYPT_DECRYPT", "SIGN_VERIFY"}
    key = keys["ENCRYPT_DECRYPT"]
    assert key["outputs"]["arn"] == dev.outputs["agents"][agent]["key_arn"]
    assert key["inputs"]["enableKeyRotation"] is True
    assert keys["SIGN_VERIFY"]["inputs"]["customerMasterKeySpec"] == "ECC_NIST_P256"
    assert len(by_type(resources, DATASTORE_TYPES[storage])) == 1
    # Its own image repository, encrypted with its data key.
    repository = one(resources, "aws:ecr/repository:Repository")
    assert repository["name"] == f"maas-dev/{agent}"
    assert repository["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key["outputs"]["arn"]}]

    if by_type(resources, "aws:secretsmanager/secret:Secret"):
        (external,) = k8s_kind(resources, "ExternalSecret")
        assert external["metadata"]["namespace"] == agent
    for kind in ("Deployment", "Rollout", "PodDisruptionBudget", "ScaledObject", "Ingress",
                 "ResourceQuota", "LimitRange"):
        assert len(k8s_kind(resources, kind)) == 1, kind
    # The public agent's canary splits traffic at the ALB between two more (tests/test_rollouts.py).
    canary = [f"{agent}-canary", f"{agent}-stable"] if agent == "reports" else []
    assert sorted(s["metadata"]["name"] for s in k8s_kind(resources, "Service")) == sorted([agent, *canary])
    assert not k8s_kind(resources, "HorizontalPodAutoscaler"), "KEDA owns the one HPA of an agent with an inbox"
    policies = {p["metadata"]["name"]: p["spec"] for p in k8s_kind(resources, "NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_every_agent_resource_carries_team_agent_and_cost_center_tags(dev):
    for agent in ("triage", "research", "reports"):
        for resource in agent_resources(dev, agent):
            tags = resource["inputs"].get("tags")
            if resource["type"].startswith("aws:") and tags is not None:
                assert tags["agent"] == agent and tags["team"] and tags["cost-center"], resource["urn"]
                assert tags["environment"] == "dev" and tags["managed-by"] == "pulumi", resource["urn"]


# -- data -----------------------------------------------------------------------------------------

def test_dynamodb_is_on_demand_recoverable_and_encrypted_with_the_agent_key(dev, prod_agents):
    table = one(agent_resources(dev, "triage"), "aws:dynamodb/table:Table")
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": dev.outputs["agents"]["triage"]["key_arn"]}
    assert table["deletionProtectionEnabled"] is False
    (prod_table,) = prod_agents.of_type("aws:dynamodb/table:Table")
    assert prod_table["inputs"]["deletionProtectionEnabled"] is True and prod_table["protect"] is True


def test_postgres_is_private_iam_authenticated_tls_only_and_encrypted(dev, prod_agents):
    resources = agent_resources(dev, "research")
    key = dev.outputs["agents"]["research"]["key_arn"]
    cluster = one(resources, "aws:rds/cluster:Cluster")
    assert cluster["storageEncrypted"] is True and cluster["kmsKeyId"] == key
    assert cluster["iamDatabaseAuthenticationEnabled"] is True
    assert cluster["manageMasterUserPassword"] is True and cluster["masterUserSecretKmsKeyId"] == key
    assert "masterPassword" not in cluster
    assert cluster["backupRetentionPeriod"] >= 7
    assert cluster["serverlessv2ScalingConfiguration"]["minCapacity"] == 0, "dev pauses an idle database"
    subnets = one(resources, "aws:rds/subnetGroup:SubnetGroup")
    assert subnets["subnetIds"] == dev.outputs["private_subnet_ids"]
    group = one(resources, "aws:ec2/securityGroup:SecurityGroup")
    assert [rule["securityGroups"] for rule in group["ingress"]] == [[dev.outputs["cluster_security_group_id"]]]
    assert not any("cidrBlocks" in rule for rule in group["ingress"])
    parameters = one(resources, "aws:rds/clusterParameterGroup:ClusterParameterGroup")
    assert {"name": "rds.force_ssl", "value": "1"} in parameters["parameters"]
    (instance,) = by_type(resources, "aws:rds/clusterInstance:ClusterInstance")
    assert instance["inputs"]["publiclyAccessible"] is False

    (prod_cluster,) = prod_agents.of_type("aws:rds/cluster:Cluster")
    assert prod_cluster["inputs"]["deletionProtection"] is True and prod_cluster["inputs"]["skipFinalSnapshot"] is False
    assert prod_cluster["inputs"]["serverlessv2ScalingConfiguration"]["minCapacity"] >= 0.5, "prod never pauses"
    zones = {i["inputs"]["availabilityZone"] for i in prod_agents.of_type("aws:rds/clusterInstance:ClusterInstance")}
    assert len(zones) == 2, "prod keeps a reader in another AZ"


def test_s3_is_private_versioned_encrypted_with_the_agent_key_and_tls_only(dev):
    resources = agent_resources(dev, "reports")
    block = one(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert one(resources, "aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = one(resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": dev.outputs["agents"]["reports"]["key_arn"]}
    (deny,) = policy(one(resources, "aws:s3/bucketPolicy:BucketPolicy")["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}


# -- workload ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("agent", ["triage", "research", "reports"])
def test_deployments_are_hardened_probed_spread_and_pinned(dev, agent):
    (deployment,) = k8s_kind(agent_resources(dev, agent), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)
    assert re.search(r"(@sha256:[0-9a-f]{64}|:[\w.-]+)$", container["image"]) and not container["image"].endswith(":latest")
    zones = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
    assert zones and zones[0]["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_secrets_reach_the_pod_by_reference_never_by_value(dev):
    (deployment,) = k8s_kind(agent_resources(dev, "triage"), "Deployment")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LLM_GATEWAY_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "triage-secrets", "key": "LLM_GATEWAY_KEY", "optional": True}
    assert "value" not in env["LLM_GATEWAY_KEY"]
    (secret,) = dev.of_type("aws:secretsmanager/secret:Secret")[:1]
    assert not {"secretString", "secretBinary"} & set(secret["inputs"])


def test_public_agents_take_https_only_and_internal_agents_stay_inside(dev):
    (public,) = k8s_kind(agent_resources(dev, "reports"), "Ingress")
    notes = public["metadata"]["annotations"]
    assert notes["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert json.loads(notes["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTPS": 443}]
    assert notes["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:")
    assert notes["alb.ingress.kubernetes.io/ssl-policy"].startswith("ELBSecurityPolicy-TLS13")
    assert public["spec"]["tls"] == [{"hosts": ["reports.dev.example.com"]}]
    (internal,) = k8s_kind(agent_resources(dev, "triage"), "Ingress")
    assert internal["metadata"]["annotations"]["alb.ingress.kubernetes.io/scheme"] == "internal"


def test_network_policies_never_open_ingress_to_the_world_nor_egress_to_instance_metadata(dev):
    for agent in ("triage", "research", "reports"):
        for spec in (p["spec"] for p in k8s_kind(agent_resources(dev, agent), "NetworkPolicy")):
            for rule in spec.get("ingress", []):
                for peer in rule["from"]:
                    assert peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0"
            for rule in spec.get("egress", []):
                for peer in rule["to"]:
                    if peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0":
                        assert "169.254.169.254/32" in peer["ipBlock"]["except"]


def test_the_vpc_cni_enforces_network_policies(dev):
    (cni,) = [a for a in dev.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "vpc-cni"]
    assert json.loads(cni["inputs"]["configurationValues"])["enableNetworkPolicy"] == "true"


# -- isolation, proved over a catalog --------------------------------------------------------------

ARN = re.compile(r"arn:aws[a-z-]*:[^\"\s,\]]+")


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _arns(document: Any) -> set[str]:
    return set(ARN.findall(json.dumps(document)))


def test_no_agent_can_reach_another_agents_data_keys_or_secrets(tmp_path):
    """Plan 100 agents and check, over the plan, every grant each agent's identity holds."""
    count = 100
    path = write_catalog_stack(ROOT / "stacks" / "Pulumi.dev.yaml", tmp_path / "Pulumi.catalog.yaml", count)
    # Every agent released from its own GitHub repository: each gets a CI role as well (registry.py).
    stack = yaml.safe_load(path.read_text())
    for spec in stack["config"]["maas:agents"]:
        spec["delivery"] = {"source": {"repository": f"acme/{spec['name']}"}}
    path.write_text(yaml.safe_dump(stack, sort_keys=False))
    plan = plan_project(ROOT, config_file=path)
    owned = plan.outputs["agents"]
    assert len(owned) == count
    assert [v for v in plan.violations if v["level"] == "mandatory"] == [], "a hundred agents pass the policy gate"

    def own_arns(agent: str) -> set[str]:
        record = owned[agent]
        return {record["key_arn"], record["role_arn"], *record["secret_arns"].values(), *record["datastore_arns"],
                record["inbox_arn"], record["dead_letter_queue_arn"]}

    topics = {name: t["arn"] for name, t in plan.outputs["messaging"]["topics"].items()}
    specs = {a["name"]: a for a in read_stack_file(path)["maas:agents"]}

    def delivery_arns(agent: str) -> dict[str, str]:
        """The agent's repository, signing key and CI role, by what they are."""
        resources = agent_resources(plan, agent)
        (signing,) = [k for k in by_type(resources, "aws:kms/key:Key") if k["inputs"].get("keyUsage") == "SIGN_VERIFY"]
        (repository,) = by_type(resources, "aws:ecr/repository:Repository")
        (ci,) = [r for r in by_type(resources, "aws:iam/role:Role") if r["inputs"]["name"] == f"maas-dev-{agent}-ci"]
        return {"signing_key": signing["outputs"]["arn"], "repository": repository["outputs"]["arn"],
                "ci_role": ci["outputs"]["arn"]}

    everyone = {agent: own_arns(agent) for agent in owned}
    delivery = {agent: delivery_arns(agent) for agent in owned}
    for agent in owned:
        resources = agent_resources(plan, agent)
        declared = {topics[t] for t in specs[agent]["messaging"]["publishes"]}
        mine = everyone[agent] | declared | {plan.outputs["messaging"]["broker_key_arn"]}
        others = set().union(*(arns for name, arns in everyone.items() if name != agent))
        others_delivery = {arn for name, arns in delivery.items() if name != agent for arn in arns.values()}
        others_names = {f"maas-dev-{name}" for name in owned if name != agent} | {f"/agents/{n}/" for n in owned if n != agent} \
            | {f"maas-dev/{name}" for name in owned if name != agent}
        grants = {g["inputs"]["role"]: g for g in by_type(resources, "aws:iam/rolePolicy:RolePolicy")}
        role_name = owned[agent]["role_arn"].rsplit("/", 1)[1]
        assert set(grants) == {role_name, f"maas-dev-{agent}-ci"}

        # The role's policy: only explicit actions, only this agent's ARNs (or sub-paths of them).
        grant = grants[role_name]
        for statement in policy(grant["inputs"]["policy"])["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), (agent, statement)
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for arn in targets:
                assert arn != "*", (agent, statement)
                assert any(arn == own or arn.startswith(own + "/") for own in mine), (agent, arn)
                assert not any(name in arn for name in others_names), (agent, arn)
        assert not _arns(grant["inputs"]) & (others | others_delivery | set(delivery[agent].values())), \
            "the workload reaches neither its own images nor its signing key"
        # It consumes its own inbox only, and publishes to the topics it declared only.
        statements = policy(grant["inputs"]["policy"])["Statement"]
        consumed = {r for s in statements if "sqs:ReceiveMessage" in s["Action"] for r in _list(s["Resource"])}
        assert consumed == {owned[agent]["inbox_arn"]}, (agent, consumed)
        published = {r for s in statements if "sns:Publish" in _list(s["Action"]) for r in _list(s["Resource"])}
        assert published == declared, (agent, published)

        # The key, the secrets' resource policies and the trust name this agent's role only.
        (data_key,) = [k for k in by_type(resources, "aws:kms/key:Key") if k["outputs"]["arn"] == owned[agent]["key_arn"]]
        key_policy = policy(data_key["inputs"]["policy"])
        principals = {json.dumps(s["Principal"]) for s in key_policy["Statement"]}
        assert json.dumps({"AWS": owned[agent]["role_arn"]}) in principals
        assert not _arns(key_policy) & (others | others_delivery | {delivery[agent]["ci_role"]})

        # The release workflow's role: its own repository and signing key, nothing of any agent's data.
        ci_grant = policy(grants[f"maas-dev-{agent}-ci"]["inputs"]["policy"])
        for statement in ci_grant["Statement"]:
            actions = _list(statement["Action"])
            assert not any(a == "*" or a.endswith(":*") for a in actions), (agent, statement)
            for arn in _list(statement["Resource"]):
                if arn == "*":  # the registry login and Inspector's finding lists take no resource
                    assert set(actions) <= {"ecr:GetAuthorizationToken", "inspector2:ListCoverage",
                                            "inspector2:ListFindings"}, (agent, statement)
                else:
                    assert arn in {delivery[agent]["repository"], delivery[agent]["signing_key"]}, (agent, arn)
        assert not _arns(ci_grant) & (others | others_delivery | everyone[agent])
        ci_trust = policy(next(r for r in by_type(resources, "aws:iam/role:Role")
                               if r["outputs"]["arn"] == delivery[agent]["ci_role"])["inputs"]["assumeRolePolicy"])
        subjects = [s for t in ci_trust["Statement"] for s in _list(t["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"])]
        assert subjects and all(s.startswith(f"repo:acme/{agent}:") for s in subjects), (agent, subjects)
        # Only the CI role signs with the signing key; the workload role is not named in it.
        (signing,) = [k for k in by_type(resources, "aws:kms/key:Key") if k["outputs"]["arn"] == delivery[agent]["signing_key"]]
        signing_policy = policy(signing["inputs"]["policy"])
        signers = {json.dumps(s["Principal"]) for s in signing_policy["Statement"] if "kms:Sign" in _list(s["Action"])}
        assert signers == {json.dumps({"AWS": delivery[agent]["ci_role"]})}, (agent, signers)
        assert not _arns(signing_policy) & (others | others_delivery | everyone[agent])
        # The repository: only its own CI role pushes.
        repository_policy = policy(one(resources, "aws:ecr/repositoryPolicy:RepositoryPolicy")["policy"])
        assert not _arns(repository_policy) & (others | others_delivery | everyone[agent])
        (deny,) = [s for s in repository_policy["Statement"] if s["Effect"] == "Deny"]
        assert "ecr:PutImage" in deny["Action"] and deny["Principal"] == {"AWS": "*"}
        assert deny["Condition"] == {"StringNotEquals": {"aws:PrincipalArn": delivery[agent]["ci_role"]}}
        for secret_policy in by_type(resources, "aws:secretsmanager/secretPolicy:SecretPolicy"):
            (deny,) = policy(secret_policy["inputs"]["policy"])["Statement"]
            assert deny["Condition"]["StringNotEquals"]["aws:PrincipalArn"] == owned[agent]["role_arn"]
        trust = policy(next(r for r in by_type(resources, "aws:iam/role:Role")
                            if r["outputs"]["arn"] == owned[agent]["role_arn"])["inputs"]["assumeRolePolicy"])
        pod = next(s for s in trust["Statement"] if s["Principal"] == {"Service": "pods.eks.amazonaws.com"})
        assert pod["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"] == agent
        assert pod["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == agent

        # Kubernetes: the identity binding and the secret sync point at this agent only.
        association = one(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
        assert (association["namespace"], association["roleArn"]) == (agent, owned[agent]["role_arn"])
        for store in k8s_kind(resources, "SecretStore"):
            # No role: the namespace's secret-sync service account names the agent's (tests/test_secret_sync.py).
            assert "role" not in store["spec"]["provider"]["aws"]
            (sync,) = [a for a in k8s_kind(resources, "ServiceAccount") if a["metadata"]["name"] == "secret-sync"]
            assert sync["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == owned[agent]["role_arn"]
        for external in k8s_kind(resources, "ExternalSecret"):
            keys = {d["remoteRef"]["key"] for d in external["spec"]["data"]}
            assert all(k.startswith(f"maas-dev/agents/{agent}/") for k in keys), (agent, keys)
        for obj in (r["inputs"] for r in resources if r["type"].startswith("kubernetes:")):
            assert obj["metadata"].get("namespace", agent) == agent, (agent, obj["metadata"])


# -- bad agent specs --------------------------------------------------------------------------------

def _dev_values() -> dict[str, Any]:
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("maas:")}


GOOD = synthetic_agents(2)


@pytest.mark.parametrize("agents, expected", [
    ([GOOD[0], {**GOOD[1], "name": GOOD[0]["name"]}], "maas:agents[1].name (agent 'agent-0000'): duplicate agent name"),
    ([{**GOOD[0], "name": "Billing_Agent"}], "maas:agents[0].name (agent 'Billing_Agent'): 'Billing_Agent' must be a DNS-1123 label"),
    ([{**GOOD[0], "name": "a" + "-long" * 7}], "maas:agents[0].name (agent 'a-long-long-long-long-long-long-long')"),
    ([{**GOOD[0], "name": "kube-tools"}], "maas:agents[0].name (agent 'kube-tools'): 'kube-tools' is a namespace"),
    ([{**GOOD[0], "storage": "mongodb"}], "maas:agents[0].storage.kind (agent 'agent-0000'): 'mongodb' is not one of"),
    ([{k: v for k, v in GOOD[0].items() if k != "image"}], "maas:agents[0].image (agent 'agent-0000'): required key is missing"),
    ([{**GOOD[0], "image": "ghcr.io/acme/agent:latest"}], "maas:agents[0].image (agent 'agent-0000'): 'ghcr.io/acme/agent:latest' is not pinned"),
    ([{**GOOD[0], "replicas": {"min": 5, "max": 2}}], "maas:agents[0].replicas.min (agent 'agent-0000'): 5 must not exceed max (2)"),
    ([{**GOOD[0], "secrets": {"openai-api-key": "sk-live-123"}}], "maas:agents[0].secrets (agent 'agent-0000'): list secret names only"),
    ([{**GOOD[0], "env": {"OPENAI_API_KEY": "sk-proj-abcdefghijklmnopqrstuv"}}], "maas:agents[0].env (agent 'agent-0000'): OPENAI_API_KEY looks like a credential"),
    ([{**GOOD[0], "env": {"MODEL_URL": "https://x", "BACKUP": "AKIAABCDEFGHIJKLMNOP"}}], "maas:agents[0].env (agent 'agent-0000'): BACKUP looks like a credential"),
    ([{**GOOD[0], "storage": {"kind": "postgres", "min_capacity_acu": 8, "max_capacity_acu": 4}}], "maas:agents[0].storage.min_capacity_acu (agent 'agent-0000')"),
    ([{**GOOD[0], "exposure": {"kind": "public", "host": "a.example.com"}}], "maas:agents[0].exposure.certificate_arn (agent 'agent-0000'): required key is missing"),
    ([{**GOOD[0], "port": 80}], "maas:agents[0].port (agent 'agent-0000'): Input should be greater than or equal to 1024"),
    ([{**GOOD[0], "resources": {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}],
     "maas:agents[0].resources.limits.cpu (agent 'agent-0000'): 1 is below the request 2"),
    ([{**GOOD[0], "identity": "irsa"}], "maas:agents[0].identity (agent 'agent-0000'): IRSA is off for this cluster's agents"),
    ([{**GOOD[0], "colour": "blue"}], "maas:agents[0].colour (agent 'agent-0000'): unknown key"),
])
def test_bad_agent_specs_name_the_agent_and_the_field(agents, expected):
    with pytest.raises(ConfigError) as error:
        parse_platform_config({**_dev_values(), "agents": agents})
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(expected), message


@pytest.mark.parametrize("change, expected", [
    (lambda a: a + [dict(a[0])], "maas:agents[3].name (agent 'triage'): duplicate agent name"),
    (lambda a: [{**a[0], "secrets": {"openai-api-key": "sk-live-1"}}] + a[1:], "maas:agents[0].secrets (agent 'triage')"),
    (lambda a: [{**a[0], "replicas": {"min": 4, "max": 1}}] + a[1:], "maas:agents[0].replicas.min (agent 'triage')"),
])
def test_maas_plan_exits_2_with_one_line_for_a_bad_agent(tmp_path, change, expected):
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    config["maas:agents"] = change(config["maas:agents"])
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    result = subprocess.run(
        [sys.executable, "-m", "maas_platform.cli", "plan", "--config-file", str(path), "--project-dir", str(ROOT)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_spec_too_long_for_aws_names_under_the_prefix_is_refused_by_the_component_too():
    from maas_platform.config.agents import name_limits

    assert name_limits("maas-dev", "a" * 30) is None
    assert "IAM role name" in name_limits("m" * 40 + "-staging", "a" * 30)
