"""Config validation: every bad stack config is one line naming its key, exit 2, no traceback.

The table below starts from the shipped ``stacks/Pulumi.dev.yaml`` (or ``Pulumi.prod.yaml``
for prod-only rules), applies one change, and checks the one-line ``ConfigError``. The CLI
tests at the end run ``maas plan`` as a subprocess on files written the same way.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from maas_platform.config import ConfigError, PlatformConfig, parse_platform_config
from maas_platform.config.defaults import DEFAULT_INTERFACE_ENDPOINTS
from maas_platform.config.loader import _decode, read_stack_file
from maas_platform.plan.engine import ProgramError, run_program
from maas_platform.plan.fake_cloud import FakeCloud

ROOT = Path(__file__).resolve().parents[1]
STACKS = ROOT / "stacks"
ADMIN = "arn:aws:iam::111122223333:role/maas-platform-admin"


def stack_values(env: str) -> dict[str, Any]:
    """The ``maas:`` keys of a shipped stack file, prefix stripped."""
    config = read_stack_file(STACKS / f"Pulumi.{env}.yaml")
    return {key[len("maas:"):]: value for key, value in config.items() if key.startswith("maas:")}


def node_group(**overrides: Any) -> dict[str, Any]:
    group = {"name": "system", "instance_types": ["t3.large"], "min_size": 2, "desired_size": 2, "max_size": 4}
    return {**group, **overrides}


def put(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change setting ``a.b.c`` to ``value``, creating mappings on the way."""

    def change(values: dict[str, Any]) -> None:
        if path == "agents":  # dev's flow names its agents: replacing them takes the flow too
            values.pop("flows", None)
        *parents, leaf = path.split(".")
        target = values
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value

    return change


def drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda values: values.pop(key)


def build(env: str, *changes: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    values = copy.deepcopy(stack_values(env))
    for change in changes:
        change(values)
    return values


def config_error(values: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_platform_config(values)
    return str(raised.value)


def test_the_shipped_stacks_are_valid_starting_points():
    # Every bad case below is one change away from these; they must parse as they are.
    for env in ("dev", "staging", "prod"):
        config = parse_platform_config(stack_values(env))
        assert isinstance(config, PlatformConfig) and config.environment == env


# -- one bad change, one line naming the key ------------------------------------------------

# (id, environment to start from, change, exact key prefix, phrase the message must contain)
BAD_CONFIGS = [
    # wrong types: strict, no coercion
    ("az-count-word", "dev", put("network.az_count", "three"), "maas:network.az_count:", "valid integer"),
    ("az-count-numeric-string", "dev", put("network.az_count", "3"), "maas:network.az_count:", "got str '3'"),
    ("bool-yes", "dev", put("protect_stateful", "yes"), "maas:protect_stateful:", "valid boolean"),
    ("list-for-mapping", "dev", put("network", ["10.20.0.0/16"]), "maas:network:", "expected a mapping"),
    ("string-for-mapping", "dev", put("cluster", "maas-dev"), "maas:cluster:", "expected a mapping"),
    ("number-as-string", "dev", put("encryption.key_deletion_window_days", "7"),
     "maas:encryption.key_deletion_window_days:", "valid integer"),
    ("string-for-list", "dev", put("cluster.admin_role_arns", ADMIN), "maas:cluster.admin_role_arns:", "valid list"),
    ("float-k8s-version", "dev", put("cluster.kubernetes_version", 1.35), "maas:cluster.kubernetes_version:",
     "valid string"),
    ("tag-value-number", "dev", put("tags", {"owner": 5}), "maas:tags.owner:", "valid string"),
    # unknown keys
    ("unknown-top-level", "dev", put("netwrok", {"az_count": 2}), "maas:netwrok:", "unknown key"),
    ("unknown-network-key", "dev", put("network.az_cout", 2), "maas:network.az_cout:", "unknown key"),
    ("unknown-node-group-key", "dev", put("cluster.node_groups", [node_group(max_sise=4)]),
     "maas:cluster.node_groups[0].max_sise:", "unknown key"),
    # environment, region, names
    ("missing-environment", "dev", drop("environment"), "maas:environment:", "required key is missing"),
    ("bad-environment", "dev", put("environment", "production"), "maas:environment:", "'dev', 'staging' or 'prod'"),
    ("invalid-region", "dev", put("region", "us-east"), "maas:region:", "not an AWS region name"),
    ("name-uppercase", "dev", put("name", "MaaS"), "maas:name:", "DNS label"),
    ("cluster-name-uppercase", "dev", put("cluster.name", "Maas-Dev"), "maas:cluster.name:", "DNS label"),
    ("account-id-short", "dev", put("account_id", "1234"), "maas:account_id:", "12-digit AWS account id"),
    # network
    ("cidr-unparsable", "dev", put("network.cidr", "10.300.0.0/16"), "maas:network.cidr:", "not a valid CIDR block"),
    ("cidr-host-bits", "dev", put("network.cidr", "10.20.0.1/16"), "maas:network.cidr:", "has host bits set"),
    ("cidr-public", "dev", put("network.cidr", "8.8.0.0/16"), "maas:network.cidr:", "private IPv4 range"),
    ("cidr-ipv6", "dev", put("network.cidr", "fd00::/48"), "maas:network.cidr:", "private IPv4 range"),
    ("cidr-slash-8", "dev", put("network.cidr", "10.0.0.0/8"), "maas:network.cidr:", "between /16 and /22"),
    ("cidr-slash-24", "dev", put("network.cidr", "10.0.0.0/24"), "maas:network.cidr:", "between /16 and /22"),
    ("one-az", "dev", put("network.az_count", 1), "maas:network.az_count:", "greater than or equal to 2"),
    ("four-azs", "dev", put("network.az_count", 4), "maas:network.az_count:", "less than or equal to 3"),
    ("zones-other-region", "dev", put("network.availability_zones", ["eu-west-1a", "eu-west-1b"]),
     "maas:network.availability_zones:", "not a zone of region us-east-1"),
    ("zones-count-mismatch", "dev", put("network.availability_zones", ["us-east-1a"]),
     "maas:network.availability_zones:", "to match az_count, got 1"),
    ("zones-repeated", "dev", put("network.availability_zones", ["us-east-1a", "us-east-1a"]),
     "maas:network.availability_zones:", "distinct zones"),
    ("endpoint-listed-twice", "dev", put("network.interface_endpoints", ["sts", "sts"]),
     "maas:network.interface_endpoints:", "listed once"),
    ("endpoint-malformed", "dev", put("network.interface_endpoints", ["ECR API"]),
     "maas:network.interface_endpoints:", "not a service name"),
    ("flow-log-retention-31", "dev", put("network.flow_log_retention_days", 31),
     "maas:network.flow_log_retention_days:", "not a CloudWatch Logs retention period"),
    # prod-only rules
    ("prod-two-azs", "prod", put("network.az_count", 2), "maas:network.az_count:", "prod needs 3 availability zones"),
    ("prod-single-nat", "prod", put("network.nat_gateways", "single"), "maas:network.nat_gateways:", "'per_az'"),
    ("prod-unprotected", "prod", put("protect_stateful", False), "maas:protect_stateful:", "cannot be false"),
    ("prod-node-min-below-azs", "prod",
     put("cluster.node_groups", [node_group(min_size=3, desired_size=3, max_size=6),
                                 node_group(name="workers", min_size=2, desired_size=3, max_size=6)]),
     "maas:cluster.node_groups[1].min_size:", "at least one node per AZ (3), got 2"),
    ("prod-system-group-on-spot", "prod",
     put("cluster.node_groups", [node_group(min_size=3, desired_size=3, max_size=6, capacity_type="SPOT")]),
     "maas:cluster.node_groups[0].capacity_type:", "prod keeps the system node group ON_DEMAND"),
    # node groups
    ("node-min-above-max", "dev", put("cluster.node_groups", [node_group(min_size=5, desired_size=5, max_size=4)]),
     "maas:cluster.node_groups[0].min_size:", "must not exceed max_size (4)"),
    ("node-desired-above-max", "dev", put("cluster.node_groups", [node_group(desired_size=9)]),
     "maas:cluster.node_groups[0].desired_size:", "must lie between min_size (2) and max_size (4)"),
    ("node-desired-below-min", "dev", put("cluster.node_groups", [node_group(desired_size=1)]),
     "maas:cluster.node_groups[0].desired_size:", "must lie between"),
    ("node-max-zero", "dev", put("cluster.node_groups", [node_group(min_size=0, desired_size=0, max_size=0)]),
     "maas:cluster.node_groups[0].max_size:", "greater than or equal to 1"),
    ("bad-instance-type", "dev", put("cluster.node_groups", [node_group(instance_types=["t3.large", "large"])]),
     "maas:cluster.node_groups[0].instance_types[1]:", "not an EC2 instance type"),
    ("duplicate-node-groups", "dev", put("cluster.node_groups", [node_group(), node_group()]),
     "maas:cluster.node_groups:", "duplicate name 'system'"),
    ("no-node-groups", "dev", put("cluster.node_groups", []), "maas:cluster.node_groups:", "at least 1 item"),
    ("node-group-name-uppercase", "dev", put("cluster.node_groups", [node_group(name="System")]),
     "maas:cluster.node_groups[0].name:", "DNS label"),
    ("taint-effect-kubectl-spelling", "dev",
     put("cluster.node_groups", [node_group(taints=[{"key": "gpu", "effect": "NoSchedule"}])]),
     "maas:cluster.node_groups[0].taints[0].effect:", "NO_SCHEDULE"),
    # cluster endpoint and access
    ("public-endpoint-no-cidrs", "dev", put("cluster.endpoint_public_access", True),
     "maas:cluster.public_access_cidrs:", "explicit CIDR allow-list"),
    ("public-endpoint-anywhere", "dev",
     lambda v: (put("cluster.endpoint_public_access", True)(v), put("cluster.public_access_cidrs", ["0.0.0.0/0"])(v)),
     "maas:cluster.public_access_cidrs:", "opens the API to the internet"),
    ("cidrs-without-public-endpoint", "dev", put("cluster.public_access_cidrs", ["203.0.113.0/24"]),
     "maas:cluster.public_access_cidrs:", "only meaningful with endpoint_public_access: true"),
    ("public-cidr-unparsable", "dev",
     lambda v: (put("cluster.endpoint_public_access", True)(v), put("cluster.public_access_cidrs", ["office"])(v)),
     "maas:cluster.public_access_cidrs[0]:", "not a valid CIDR block"),
    ("no-admin-roles", "dev", put("cluster.admin_role_arns", []), "maas:cluster.admin_role_arns:",
     "the cluster creator gets no implicit admin"),
    ("malformed-role-arn", "dev", put("cluster.admin_role_arns", ["arn:aws:iam::1111:role/admin"]),
     "maas:cluster.admin_role_arns[0]:", "not an IAM role ARN"),
    ("user-arn-not-role", "dev", put("cluster.admin_role_arns", [ADMIN, "arn:aws:iam::111122223333:user/alice"]),
     "maas:cluster.admin_role_arns[1]:", "not an IAM role ARN"),
    ("log-retention-31", "dev", put("cluster.log_retention_days", 31), "maas:cluster.log_retention_days:",
     "use one of 1, 3, 5, 7, 14, 30"),
    ("unknown-addon", "dev", put("cluster.addon_versions", {"vpc-cni": "v1.19.0-eksbuild.1", "istio": "1.24"}),
     "maas:cluster.addon_versions:", "'istio' is not one of vpc-cni"),
    ("k8s-version-too-old", "dev", put("cluster.kubernetes_version", "1.20"), "maas:cluster.kubernetes_version:",
     "Kubernetes minor version EKS offers"),
    ("k8s-version-patch", "dev", put("cluster.kubernetes_version", "1.35.2"), "maas:cluster.kubernetes_version:",
     "Kubernetes minor version"),
    ("support-type-lowercase", "dev", put("cluster.support_type", "extended"), "maas:cluster.support_type:",
     "'STANDARD' or 'EXTENDED'"),
    # encryption, tags, budgets
    ("key-deletion-3-days", "dev", put("encryption.key_deletion_window_days", 3),
     "maas:encryption.key_deletion_window_days:", "greater than or equal to 7"),
    ("key-deletion-31-days", "dev", put("encryption.key_deletion_window_days", 31),
     "maas:encryption.key_deletion_window_days:", "less than or equal to 30"),
    ("reserved-tag-environment", "dev", put("tags", {"owner": "sre", "environment": "qa"}), "maas:tags:",
     "'environment' is set by the platform"),
    ("reserved-tag-managed-by", "dev", put("tags", {"managed-by": "terraform"}), "maas:tags:",
     "'managed-by' is set by the platform"),
    ("zero-budget", "dev", put("budgets.monthly_limit_usd", 0), "maas:budgets.monthly_limit_usd:", "greater than 0"),
    ("unknown-broker", "dev", put("broker.backend", "kafka"), "maas:broker.backend:", "'sns-sqs'"),
]


@pytest.mark.parametrize(
    "env, change, key, phrase", [case[1:] for case in BAD_CONFIGS], ids=[case[0] for case in BAD_CONFIGS]
)
def test_a_bad_config_is_one_line_naming_its_key(env, change, key, phrase):
    message = config_error(build(env, change))
    assert len(message.splitlines()) == 1 and message == message.strip(), message
    assert message.startswith(key + " "), message
    assert phrase in message, message
    assert "Traceback" not in message and "pydantic" not in message and "errors.pydantic.dev" not in message


def test_the_table_is_big_enough_and_its_ids_are_unique():
    ids = [case[0] for case in BAD_CONFIGS]
    assert len(ids) >= 25 and len(set(ids)) == len(ids)


def test_a_bad_change_leaves_the_stack_values_untouched():
    values = build("prod", put("network.az_count", 2))
    before = copy.deepcopy(values)
    config_error(values)
    assert values == before


def test_the_source_file_ends_the_line():
    with pytest.raises(ConfigError) as raised:
        parse_platform_config(build("dev", put("network.az_count", 1)), source="stacks/Pulumi.dev.yaml")
    assert str(raised.value).endswith(" (stacks/Pulumi.dev.yaml)")
    assert raised.value.message.startswith("maas:network.az_count: ") and raised.value.source == "stacks/Pulumi.dev.yaml"


# -- several problems at once ---------------------------------------------------------------

def test_several_problems_name_the_first_and_count_the_rest():
    values = build(
        "dev", put("network.az_count", "3"), put("network.cidr", "10.300.0.0/16"), put("netwrok", {})
    )
    message = config_error(values)
    assert len(message.splitlines()) == 1
    assert message.startswith("maas:network.cidr: "), message  # fields are checked in model order
    assert message.endswith(" (and 2 more problems)"), message


def test_two_problems_count_one_more_in_the_singular():
    message = config_error(build("dev", put("network.az_count", 1), put("encryption.key_deletion_window_days", 3)))
    assert message.startswith("maas:network.az_count: ")
    assert message.endswith(" (and 1 more problem)"), message


def test_a_single_problem_counts_nothing_more():
    message = config_error(build("dev", put("network.az_count", 1)))
    assert "more problem" not in message


# -- environment defaults -------------------------------------------------------------------

def test_dev_without_network_or_sizing_gets_the_dev_defaults():
    values = stack_values("dev")
    assert not {"network", "encryption", "protect_stateful"} & set(values)
    assert "node_groups" not in values["cluster"]
    config = parse_platform_config(values)
    assert config.network.az_count == 2
    assert config.network.nat_gateways == "single"
    assert config.network.interface_endpoints == []
    assert config.network.cidr == "10.20.0.0/16"
    assert config.protect_stateful is False
    assert config.encryption.key_deletion_window_days == 7
    assert config.cluster.log_retention_days == 30 and config.network.flow_log_retention_days == 30
    # A small system group; agents and add-ons run on the node pools.
    assert [(g.name, g.min_size, g.max_size) for g in config.cluster.node_groups] == [("system", 1, 2)]
    assert [p.name for p in config.cluster.node_pools] == ["general"]
    assert config.cluster.admin_role_arns == [ADMIN]  # the user's value, not lost in the merge
    assert config.cluster_name == "maas-dev"


def test_prod_gets_three_azs_a_nat_per_az_endpoints_and_protection():
    config = parse_platform_config(stack_values("prod"))
    assert config.network.az_count == 3
    assert config.network.nat_gateways == "per_az"
    assert {"sts", "ecr.api", "ecr.dkr", "secretsmanager", "kms", "sqs", "logs"} <= set(config.network.interface_endpoints)
    assert config.protect_stateful is True
    assert config.encryption.key_deletion_window_days == 30
    assert config.cluster.log_retention_days == 365 and config.network.flow_log_retention_days == 365
    assert all(g.min_size >= 3 for g in config.cluster.node_groups)
    assert config.account_id == "111122223333"


def test_overriding_one_network_key_keeps_the_other_defaults():
    config = parse_platform_config(build("dev", put("network.az_count", 3)))
    assert config.network.az_count == 3
    assert config.network.cidr == "10.20.0.0/16"
    assert config.network.nat_gateways == "single"
    assert config.network.interface_endpoints == []
    assert config.network.flow_log_retention_days == 30

    prod = parse_platform_config(build("prod", put("network.cidr", "10.50.0.0/20")))
    assert prod.network.cidr == "10.50.0.0/20"
    assert prod.network.nat_gateways == "per_az"
    assert prod.network.interface_endpoints == list(DEFAULT_INTERFACE_ENDPOINTS)


def test_user_values_override_defaults_and_lists_replace_them():
    config = parse_platform_config(build(
        "dev",
        put("protect_stateful", True),
        put("network.interface_endpoints", ["sts"]),
        put("cluster.node_groups", [node_group(name="workers", instance_types=["m6i.large"], min_size=1, desired_size=1)]),
    ))
    assert config.protect_stateful is True
    assert config.network.interface_endpoints == ["sts"]
    assert [g.name for g in config.cluster.node_groups] == ["workers"]  # replaced, not appended to "system"
    assert config.cluster.node_groups[0].disk_size_gib == 40  # model default for a key the user left out


def test_parsing_does_not_mutate_the_callers_values():
    values = build("dev", put("network.az_count", 3))
    before = copy.deepcopy(values)
    parse_platform_config(values)
    assert values == before


# -- the Pulumi runtime's text values -------------------------------------------------------

@pytest.mark.parametrize(
    "raw, decoded",
    [
        ('{"az_count": 3, "nat_gateways": "per_az"}', {"az_count": 3, "nat_gateways": "per_az"}),
        ('["sts", "ecr.api"]', ["sts", "ecr.api"]),
        ('  {"a": [1, 2]}\n', {"a": [1, 2]}),
        ("true", True),
        ("false", False),
        (" true ", True),
    ],
)
def test_decode_turns_json_objects_lists_and_booleans_into_values(raw, decoded):
    assert _decode(raw) == decoded and type(_decode(raw)) is type(decoded)


@pytest.mark.parametrize(
    "raw", ["111122223333", "3", "1.35", "us-east-1", "yes", "True", "null", '"quoted"', "", "{not json", "[1, 2", "{}}"]
)
def test_decode_leaves_scalars_and_malformed_json_as_written(raw):
    assert _decode(raw) == raw and isinstance(_decode(raw), str)


@pytest.mark.parametrize("value", [3, True, None, {"a": 1}, ["b"]])
def test_decode_passes_non_text_through(value):
    assert _decode(value) is value


@pytest.mark.parametrize(
    "config, key",
    [
        ({"maas:network": {"az_count": "2"}}, "maas:network.az_count:"),
        ({"maas:netwrok": {"cidr": "10.0.0.0/16"}}, "maas:netwrok:"),
        ({"maas:cluster": {"admin_role_arns": [ADMIN], "node_groups": [node_group(min_size=5, desired_size=5)]}},
         "maas:cluster.node_groups[0].min_size:"),
    ],
    ids=["wrong-type", "unknown-key", "min-above-max"],
)
def test_the_program_reports_the_same_line_and_registers_nothing(config, key):
    config = {"maas:environment": "dev", "maas:cluster": {"admin_role_arns": [ADMIN]}, **config}
    values = {k[len("maas:"):]: v for k, v in config.items()}
    with pytest.raises(ProgramError) as stopped:
        run_program(STACKS, project="maas", stack="bad", config=config, cloud=FakeCloud("us-east-1"))
    assert str(stopped.value).startswith(key)
    assert str(stopped.value) == config_error(values)  # same line from the file and the runtime path
    assert stopped.value.registered == 0


# -- `maas plan` end to end -----------------------------------------------------------------

def maas_plan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maas_platform.cli", "plan", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def write_stack(path: Path, env: str, *changes: Callable[[dict[str, Any]], None]) -> Path:
    values = build(env, *changes)
    path.write_text(yaml.safe_dump({"config": {f"maas:{k}": v for k, v in values.items()}}, sort_keys=False))
    return path


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "resources in" not in result.stdout  # nothing was planned
    return lines[0]


@pytest.mark.parametrize(
    "env, change, key",
    [
        ("dev", put("network.az_count", "2"), "maas:network.az_count: Input should be a valid integer"),
        ("dev", put("network.nat_gateway", "single"), "maas:network.nat_gateway: unknown key"),
        ("prod", put("network.az_count", 1), "maas:network.az_count: "),
        ("dev", put("network.cidr", "10.20.0/16"), "maas:network.cidr: '10.20.0/16' is not a valid CIDR block"),
        ("dev", put("cluster.node_groups", [node_group(min_size=6, desired_size=6, max_size=4)]),
         "maas:cluster.node_groups[0].min_size: 6 must not exceed max_size (4)"),
    ],
    ids=["wrong-type", "unknown-key", "prod-one-az", "cidr-unparsable", "node-min-above-max"],
)
def test_cli_bad_config_exits_2_with_one_line(tmp_path, env, change, key):
    path = write_stack(tmp_path / "Pulumi.bad.yaml", env, change)
    line = assert_one_line_error(maas_plan("--config-file", str(path)), key)
    assert line.startswith(f"error: {key}") and line.endswith(f"({path})")


def test_cli_invalid_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text("config:\n  maas:environment: dev\n  maas:network: {az_count: 2\n")
    assert_one_line_error(maas_plan("--config-file", str(path)), f"{path}:3: not valid YAML: a [ ... ] or {{ ... }} not closed")


def test_cli_missing_config_file(tmp_path):
    path = tmp_path / "Pulumi.bad.yaml"
    assert_one_line_error(maas_plan("--config-file", str(path)), "stack config file not found", str(path))


def test_cli_file_without_a_stack_name_is_a_usage_error(tmp_path):
    path = write_stack(tmp_path / "badname.yaml", "dev")
    assert_one_line_error(maas_plan("--config-file", str(path)), "cannot tell the stack name", "--stack")


def test_cli_unknown_stack_is_a_missing_stack_file():
    assert not (STACKS / "Pulumi.nosuch.yaml").exists()
    assert_one_line_error(maas_plan("--stack", "nosuch"), "stack config file not found", "Pulumi.nosuch.yaml")


def test_cli_valid_config_file_plans(tmp_path):
    path = tmp_path / "Pulumi.copy.yaml"
    path.write_text((STACKS / "Pulumi.dev.yaml").read_text())
    result = maas_plan("--config-file", str(path), "--project-dir", str(ROOT), "--json", str(tmp_path / "plan.json"))
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
    assert "maas/copy: offline plan" in result.stdout and "resources in" in result.stdout
    assert '"stack": "copy"' in (tmp_path / "plan.json").read_text()
