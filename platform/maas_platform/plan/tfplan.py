"""The AWS resources of a plan as a Terraform plan JSON, so checkov's own AWS checks read it.

pulumi-aws is a bridge of the Terraform AWS provider, so every ``aws:`` resource is one
Terraform resource under another name. The export renames, it never re-models:

* **Types**: ``aws:<module>/<camelName>:<Name>`` is ``aws_<module>_<snake name>``
  (``aws:eks/nodeGroup:NodeGroup`` -> ``aws_eks_node_group``); EC2's resources carry no
  service prefix in Terraform (``aws:ec2/vpc:Vpc`` -> ``aws_vpc``); the few tokens that
  follow neither rule are listed in :data:`TYPE_EXCEPTIONS`.
* **Properties**: the Pulumi SDK's own Python names are Terraform's snake_case names; the
  SDK's type annotations say which properties are maps (kept as objects), which are
  blocks Pulumi flattened to one object (a list of one object in Terraform) and which are
  lists of blocks (Pulumi pluralises those names, Terraform keeps them singular). Renamed
  fields are in :data:`FIELD_EXCEPTIONS`.
* **Values not known at plan time**: a value the engine reports as unknown, a secret, and
  every value that is another planned resource's id, ARN or name (which only the cloud
  assigns) are left out of ``values`` and marked in ``after_unknown``, exactly as
  ``terraform plan`` shows a new stack. A reference to another resource is written where
  Terraform writes it, in ``configuration`` (``expressions.<attr>.references``), so
  checkov connects the two resources (a bucket and its public access block, a queue and
  its KMS key) and no check passes or fails on an offline stand-in value.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib
import json
import re
import sys
import typing
from collections import Counter
from dataclasses import dataclass
from typing import Any, Optional

from .. import names
from ..markers import SECRET, UNKNOWN_VALUE
from .fake_cloud import COMPUTED, FAKE_ACCOUNT_ID, NAME_FIELD, FakeCloud, resource_class
from .model import Plan, PlannedResource

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
DEFAULT_REGION = "us-east-1"

# Terraform types that the naming rules do not give (verified against the provider's
# resource list): a module whose resources Terraform names after another service.
TYPE_EXCEPTIONS: dict[str, str] = {
    names.RDS_SUBNET_GROUP: "aws_db_subnet_group",
    # pulumi-aws's OpenIdConnectProvider is derived from terraform-provider-aws r/iam_openid_connect_provider
    # (its generated SDK's header, checked on 2026-12-02).
    names.IAM_OPEN_ID_CONNECT_PROVIDER: "aws_iam_openid_connect_provider",
    names.RDS_INSTANCE: "aws_db_instance",
    names.RDS_PARAMETER_GROUP: "aws_db_parameter_group",
    names.COSTEXPLORER_COST_ALLOCATION_TAG: "aws_ce_cost_allocation_tag",
    names.COSTEXPLORER_ANOMALY_MONITOR: "aws_ce_anomaly_monitor",
    names.SQS_REDRIVE_ALLOW_POLICY: "aws_sqs_queue_redrive_allow_policy",
    names.S3_BUCKET_V2: "aws_s3_bucket",
    names.LB_LOAD_BALANCER: "aws_lb",
    names.LB_TARGET_GROUP: "aws_lb_target_group",
    names.LB_LISTENER: "aws_lb_listener",
    names.EC2_TRANSIT_GATEWAY: "aws_ec2_transit_gateway",
    # pulumi-aws's ec2.Tag is terraform-provider-aws r/ec2_tag ("Manages an individual EC2 resource
    # tag", the registry page of aws.ec2.Tag, checked on 2026-12-02).
    names.EC2_TAG: "aws_ec2_tag",
    # pulumi-aws puts terraform-provider-aws r/bedrock_model_invocation_logging_configuration in a
    # module of its own, bedrockmodel (pulumi_aws 7.x bedrockmodel/invocation_logging_configuration.py;
    # checkov 3's resource type list names aws_bedrock_model_invocation_logging_configuration), checked 2026-12-03.
    names.BEDROCK_INVOCATION_LOGGING: "aws_bedrock_model_invocation_logging_configuration",
}
# Modules whose Terraform types carry another prefix than the module's name.
MODULE_PREFIX: dict[str, str] = {"ec2": ""}

# Properties Pulumi renamed: (Terraform type, Pulumi name) -> Terraform name.
FIELD_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("aws_cloudwatch_metric_alarm", "name"): "alarm_name",
    ("aws_sns_topic_subscription", "topic"): "topic_arn",
    ("aws_lambda_permission", "function"): "function_name",
}
# Lists of blocks whose Terraform name is plural already (Pulumi kept it).
PLURAL_BLOCKS = frozenset({
    "block_device_mappings", "tag_specifications", "network_interfaces", "elastic_gpu_specifications",
    "license_specifications", "instance_requirements", "cpu_options", "capacity_reservation_specification",
})


def _snake(name: str) -> str:
    """camelCase -> snake_case as the Pulumi SDK names Python properties (``serverlessv2ScalingConfiguration``
    -> ``serverlessv2_scaling_configuration``)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def terraform_type(token: str) -> Optional[str]:
    """The Terraform resource type of a Pulumi AWS type token; None for any other provider."""
    if token in TYPE_EXCEPTIONS:
        return TYPE_EXCEPTIONS[token]
    try:
        package, module, kind = token.split(":")
    except ValueError:
        return None
    if package != "aws" or "/" not in module:
        return None
    service = module.split("/")[0].lower()
    prefix = MODULE_PREFIX.get(service, service)
    return "_".join(part for part in ("aws", prefix, _snake(kind)) if part)


def singular(name: str) -> str:
    """Terraform's name of a repeated block Pulumi pluralised (``rules`` -> ``rule``)."""
    if name in PLURAL_BLOCKS or name.endswith("ss") or not name.endswith("s"):
        return name
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith(("xes", "ches", "shes", "sses")):
        return name[:-2]
    return name[:-1]


# -- what the SDK says about each property ---------------------------------------------------

MAP, BLOCK, BLOCKS, VALUE = "map", "block", "blocks", "value"


@dataclass(frozen=True)
class Field:
    python_name: str
    kind: str  # MAP, BLOCK (one object, a list of one in Terraform), BLOCKS, VALUE
    nested: Optional[type] = None  # the SDK input type of a block


def _classify(annotation: Any, module: Any) -> tuple[str, Optional[type]]:
    """MAP, BLOCK or BLOCKS (with the block's SDK type) or VALUE, from a property's annotation."""
    origin = typing.get_origin(annotation)
    if origin is collections.abc.Mapping:
        return MAP, None
    if origin is collections.abc.Sequence:
        kind, nested = _classify(typing.get_args(annotation)[0], module)
        return (BLOCKS, nested) if kind in (BLOCK, BLOCKS) else (VALUE, None)
    if isinstance(annotation, typing.ForwardRef):
        name = annotation.__forward_arg__
        found = getattr(module, name, None) if name.isidentifier() else None
        return (BLOCK, found) if isinstance(found, type) else (VALUE, None)
    if isinstance(annotation, str):
        return _classify(typing.ForwardRef(annotation), module)
    for argument in typing.get_args(annotation):  # Input[...] / Optional[...] unions
        kind, nested = _classify(argument, module)
        if kind != VALUE:
            return kind, nested
    return VALUE, None


@functools.lru_cache(maxsize=None)
def fields_of(cls: type) -> dict[str, Field]:
    """Engine (camelCase) name -> :class:`Field`, for an SDK args or input type."""
    module = sys.modules[cls.__module__]
    package = importlib.import_module(cls.__module__.rsplit(".", 1)[0])
    found = {}
    for python_name, member in vars(cls).items():
        fget = getattr(member, "fget", None)
        wire = getattr(fget, "_pulumi_name", None)
        if wire is None:
            continue
        annotation = fget.__annotations__.get("return")
        kind, nested = _classify(annotation, module)
        if kind in (BLOCK, BLOCKS) and nested is None:
            kind, nested = _classify(annotation, package)
        found[wire] = Field(python_name, kind, nested)
    return found


@functools.lru_cache(maxsize=None)
def args_class(token: str) -> Optional[type]:
    """The SDK's ``<Name>Args`` type of a resource token (what its inputs are)."""
    cls = resource_class(token)
    if cls is None:
        return None
    return getattr(sys.modules[cls.__module__], f"{cls.__name__}Args", None)


# -- values ----------------------------------------------------------------------------------

@dataclass
class Converted:
    """One object's Terraform values, what is unknown in it, and its configuration expressions."""

    values: dict[str, Any]
    unknown: dict[str, Any]
    sensitive: dict[str, Any]
    expressions: dict[str, Any]


References = dict[str, list[str]]  # a value another planned resource gets from the cloud -> ["type.name.attr"]


def _is_hidden(value: Any) -> bool:
    return value in (UNKNOWN_VALUE, SECRET)


def _words(text: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", text.lower())) - {"", "aws"}


def _pick(attribute: str, targets: list[str]) -> str:
    """The target an attribute names when several planned resources share a value (a subnet group
    and a parameter group both named after the database): the one whose type the name says."""
    return max(targets, key=lambda target: len(_words(attribute) & _words(target.split("[")[0])))


def _leaf(value: Any, references: References, attribute: str) -> tuple[Any, bool, list[str]]:
    """A scalar as Terraform plans it: (value or None, unknown?, references)."""
    if isinstance(value, str):
        if _is_hidden(value):
            return None, True, []
        if value in references:
            target = _pick(attribute, references[value])
            return None, True, [target, ".".join(target.split(".")[:2])]
    return value, False, []


def _list(items: list[Any], references: References, attribute: str) -> tuple[list[Any], list[Any], list[str]]:
    values, unknown, refs = [], [], []
    for item in items:
        value, hidden, found = _leaf(item, references, attribute)
        values.append(value)
        unknown.append(hidden)
        refs += [r for r in found if r not in refs]
    return values, unknown, refs


def convert(tf_type: str, inputs: dict[str, Any], cls: Optional[type], references: References,
            top: bool = True, own_name: str = "") -> Converted:
    """Engine inputs (camelCase) of one object -> Terraform's values, unknowns and expressions.

    ``own_name`` is the input holding the resource's own name: never a reference, even when
    another resource shares it (an Aurora cluster is named like its subnet group)."""
    fields = fields_of(cls) if cls is not None else {}
    out = Converted({}, {}, {}, {})
    for wire, value in inputs.items():
        if wire == own_name and isinstance(value, str):
            out.values[FIELD_EXCEPTIONS.get((tf_type, _snake(wire)), _snake(wire))] = value
            continue
        field = fields.get(wire) or _guess(wire, value)
        name = field.python_name
        if field.kind == BLOCKS:
            name = singular(name)
        if top:
            name = FIELD_EXCEPTIONS.get((tf_type, name), name)
        if value is None:
            continue
        if field.kind == MAP or (field.kind == VALUE and isinstance(value, dict)):
            out.values[name] = value
            if value == SECRET:
                out.values.pop(name)
                out.unknown[name] = out.sensitive[name] = True
            continue
        if field.kind in (BLOCK, BLOCKS) and isinstance(value, (dict, list)):
            blocks = [value] if isinstance(value, dict) else value
            converted = [convert(tf_type, b, field.nested, references, top=False) for b in blocks if isinstance(b, dict)]
            out.values[name] = [c.values for c in converted]
            if any(c.unknown for c in converted):
                out.unknown[name] = [c.unknown for c in converted]
            if any(c.sensitive for c in converted):
                out.sensitive[name] = [c.sensitive for c in converted]
            if any(c.expressions for c in converted):
                out.expressions[name] = [c.expressions for c in converted]
            continue
        if isinstance(value, list):
            values, unknown, refs = _list(value, references, name)
            out.values[name] = values
            if any(unknown):
                out.unknown[name] = unknown
            if refs:
                out.expressions[name] = {"references": refs}
            continue
        leaf, hidden, refs = _leaf(value, references, name)
        if hidden:
            out.unknown[name] = True
            if value == SECRET:
                out.sensitive[name] = True
        else:
            out.values[name] = leaf
        if refs:
            out.expressions[name] = {"references": refs}
    return out


def _guess(wire: str, value: Any) -> Field:
    """A property the SDK does not describe: an object of camelCase keys is a block."""
    if isinstance(value, dict) and value and all(re.fullmatch(r"[a-z][A-Za-z0-9]*", k) for k in value):
        return Field(_snake(wire), BLOCK)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return Field(_snake(wire), BLOCKS)
    return Field(_snake(wire), VALUE)


# -- references between planned resources ----------------------------------------------------

def _address_names(resources: list[PlannedResource]) -> dict[str, str]:
    """URN -> Terraform address ``type.name``; names are the logical names, unique per type."""
    taken: Counter = Counter()
    addresses = {}
    for resource in resources:
        tf_type = terraform_type(resource.type)
        base = re.sub(r"[^A-Za-z0-9_-]", "_", resource.name)
        if not re.match(r"[A-Za-z_]", base):
            base = f"r_{base}"
        taken[(tf_type, base)] += 1
        name = base if taken[(tf_type, base)] == 1 else f"{base}_{taken[(tf_type, base)]}"
        addresses[resource.urn] = f"{tf_type}.{name}"
    return addresses


def _cloud_values(cloud: FakeCloud, resource: PlannedResource) -> dict[str, str]:
    """The values only the cloud assigns to a resource (id, ARN, generated name, computed
    attributes) -> their Terraform attribute: what another resource refers to."""
    import pulumi

    token = resource.type
    _, state = cloud.new_resource(pulumi.runtime.MockResourceArgs(
        typ=token, name=resource.name, inputs=dict(resource.inputs), custom=True))
    wire, python = NAME_FIELD.get(token, ("name", "name"))
    attributes = {"id": "id", "arn": "arn", wire: python}
    attributes.update({key: _snake(key) for key in COMPUTED.get(token, {})})
    found = {}
    for key, attribute in attributes.items():
        for path, value in _string_leaves(state.get(key), attribute):
            found.setdefault(value, path)
    return found


def _string_leaves(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str) and len(value) >= 3:
        return [(path, value)]
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _string_leaves(v, f"{path}.{_snake(k)}" if path.endswith("]") else f"{path}[0].{_snake(k)}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _string_leaves(v, f"{path}[{i}]")]
    return []


def _cloud_of(plan: Plan) -> FakeCloud:
    """The fake cloud the plan was made against: its region and account."""
    outputs = plan.outputs if isinstance(plan.outputs, dict) else {}
    region = next((r.inputs.get("region") for r in plan.resources if r.type == names.AWS_PROVIDER
                   and isinstance(r.inputs.get("region"), str)), None) or outputs.get("region") or DEFAULT_REGION
    account = outputs.get("account_id")
    if not isinstance(account, str):
        inputs = json.dumps([r.inputs for r in plan.resources])
        seen = Counter(re.findall(r"arn:aws[\w-]*:[\w-]+:[\w-]*:(\d{12}):", inputs))
        account = seen.most_common(1)[0][0] if seen else FAKE_ACCOUNT_ID
    return FakeCloud(region=str(region), account_id=account)


def _references_of(resource: PlannedResource, cloud_values: dict[str, dict[str, str]],
                   addresses: dict[str, str]) -> References:
    """Values in ``resource`` that are another planned resource's cloud-assigned values."""
    found: References = {}
    for dependency in resource.dependencies:
        for value, attribute in cloud_values.get(dependency, {}).items():
            found.setdefault(value, []).append(f"{addresses[dependency]}.{attribute}")
    return found


# -- the document ----------------------------------------------------------------------------

def terraform_plan(plan: Plan) -> dict[str, Any]:
    """The plan's AWS resources as ``terraform show -json`` prints the plan of a new stack."""
    resources = [r for r in plan.cloud_resources() if terraform_type(r.type)]
    addresses = _address_names(resources)
    cloud = _cloud_of(plan)
    cloud_values = {r.urn: _cloud_values(cloud, r) for r in resources}
    planned, changes, configured = [], [], []
    for resource in resources:
        tf_type = terraform_type(resource.type)
        address = addresses[resource.urn]
        name = address.split(".", 1)[1]
        references = _references_of(resource, cloud_values, addresses)
        own_name = NAME_FIELD.get(resource.type, ("name", "name"))[0]
        converted = convert(tf_type, resource.inputs, args_class(resource.type), references, own_name=own_name)
        head = {"address": address, "mode": "managed", "type": tf_type, "name": name, "provider_name": AWS_PROVIDER}
        planned.append({**head, "schema_version": 0, "values": converted.values,
                        "sensitive_values": _sensitive_shape(converted.values, converted.sensitive)})
        changes.append({**head, "change": {
            "actions": ["create"], "before": None, "after": converted.values,
            "after_unknown": converted.unknown, "before_sensitive": False,
            "after_sensitive": _sensitive_shape(converted.values, converted.sensitive)}})
        configured.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                           "provider_config_key": "aws", "expressions": converted.expressions, "schema_version": 0})
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": AWS_PROVIDER,
                                        "expressions": {"region": {"constant_value": cloud.region}}}},
            "root_module": {"resources": configured},
        },
    }


def _sensitive_shape(values: dict[str, Any], sensitive: dict[str, Any]) -> dict[str, Any]:
    """Terraform's ``sensitive_values``: true where a value is sensitive."""
    return dict(sensitive)
