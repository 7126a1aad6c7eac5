"""A generic fake cloud for Pulumi's mock engine.

It answers like AWS would for *any* resource, from the resource's type and name alone:
ids in the service's id scheme, ARNs in the partition's ARN scheme, physical names as
Pulumi auto-names them, and ``tagsAll`` as the provider computes it. A few attributes
that AWS computes on create and that later resources consume (an EKS endpoint, a launch
template's version, a KMS key id) come from ``COMPUTED``, keyed by type, so a value is
never invented for one program. Every value is derived from a hash of the type and name, so the
same program always gets the same cloud.

Invokes are answered only for the data sources listed in ``call``: the account's facts
(caller identity, partition, region, zones) and pure functions computed exactly as their
provider computes them (``aws.iam.get_policy_document``, ``aws.get_arn``, the YAML decoding
behind ``kubernetes.yaml.ConfigFile``). Any other invoke stops the plan with
:class:`UnsupportedDataSource`, naming the data source, the program's line that called it
(:data:`CALL_SITE`) and what to pass instead, so a program never plans against an invented answer.

A ``pulumi.StackReference`` reads the outputs of another stack. The fake cloud answers it
from the :class:`StackOutputs` it was given, by fully qualified stack name; a reference to
any other stack raises :class:`UnknownStackReference`, so a team stack never plans against
outputs nobody supplied.
"""

from __future__ import annotations

import base64
import contextvars
import functools
import hashlib
import importlib
import inspect
import json
import re
import zlib
from typing import Any, Callable, Mapping, Optional

import pulumi
import yaml

from .. import names
from . import checked
from .model import StackOutputs  # noqa: F401  (what a StackReference reads; re-exported)

FAKE_ACCOUNT_ID = "123456789012"

# Id schemes of EC2 and friends: "<prefix>-<17 hex>".
ID_PREFIX = {
    names.EC2_VPC: "vpc",
    names.EC2_SUBNET: "subnet",
    names.EC2_INTERNET_GATEWAY: "igw",
    names.EC2_ROUTE_TABLE: "rtb",
    names.EC2_ROUTE_TABLE_ASSOCIATION: "rtbassoc",
    names.EC2_NAT_GATEWAY: "nat",
    names.EC2_EIP: "eipalloc",
    names.EC2_SECURITY_GROUP: "sg",
    names.EC2_DEFAULT_SECURITY_GROUP: "sg",
    names.EC2_VPC_ENDPOINT: "vpce",
    names.EC2_LAUNCH_TEMPLATE: "lt",
    names.EC2_FLOW_LOG: "fl",
}

# The input that holds the physical name, when it is not ``name``: (wire name, Python name).
NAME_FIELD = {
    names.S3_BUCKET: ("bucket", "bucket"),
    # BucketV2 names itself by ``bucket`` too ("If omitted, the provider will assign a random,
    # unique name": pulumi_aws 7.51 s3/bucket_v2.py, checked 2026-12-02).
    names.S3_BUCKET_V2: ("bucket", "bucket"),
    names.RDS_CLUSTER: ("clusterIdentifier", "cluster_identifier"),
    names.RDS_CLUSTER_INSTANCE: ("identifier", "identifier"),
}

# ARN service names that differ from the SDK module (CloudWatch Logs lives in "cloudwatch").
ARN_SERVICE = {
    names.CLOUDWATCH_LOG_GROUP: "logs",
    names.CLOUDWATCH_LOG_STREAM: "logs",
    names.CLOUDWATCH_EVENT_RULE: "events",
    names.CLOUDWATCH_EVENT_BUS: "events",
}
# Services whose ARNs carry no region.
GLOBAL_SERVICES = {"iam", "s3", "route53", "cloudfront", "budgets", "organizations"}
# ARN resource part when it is not "<kind>/<id>".
ARN_RESOURCE: dict[str, Callable[[str, dict[str, Any]], str]] = {
    names.CLOUDWATCH_LOG_GROUP: lambda pid, _: f"log-group:{pid}",
    names.KMS_KEY: lambda pid, _: f"key/{pid}",
    names.BEDROCK_INFERENCE_PROFILE: lambda pid, _: f"application-inference-profile/{pid}",
    names.KMS_ALIAS: lambda pid, _: pid,
    names.EKS_CLUSTER: lambda pid, _: f"cluster/{pid}",
    # arn:aws:iam::<account>:oidc-provider/<issuer host and path> (EKS user guide, IRSA trust examples).
    names.IAM_OPEN_ID_CONNECT_PROVIDER: lambda pid, inputs: f"oidc-provider/{str(inputs.get('url') or pid).removeprefix('https://')}",
    names.SQS_QUEUE: lambda pid, _: pid.rsplit("/", 1)[-1],
    names.SNS_TOPIC: lambda pid, _: pid,
    names.DYNAMODB_TABLE: lambda pid, _: f"table/{pid}",
    names.S3_BUCKET_V2: lambda pid, _: pid,
    names.S3_BUCKET: lambda pid, _: pid,
    names.SECRETSMANAGER_SECRET: lambda pid, _: f"secret:{pid}-{_digest(pid, length=6)}",
    names.RDS_CLUSTER: lambda pid, _: f"cluster:{pid}",
    names.RDS_CLUSTER_INSTANCE: lambda pid, _: f"db:{pid}",
    names.RDS_SUBNET_GROUP: lambda pid, _: f"subgrp:{pid}",
    names.RDS_CLUSTER_PARAMETER_GROUP: lambda pid, _: f"cluster-pg:{pid}",
}


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _uuid(seed: str) -> str:
    h = _digest(seed, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.lru_cache(maxsize=None)
def resource_class(type_token: str) -> Optional[type]:
    """The SDK class of a type token, e.g. ``aws:ec2/vpc:Vpc`` -> ``pulumi_aws.ec2.vpc.Vpc``."""
    try:
        package, module, cls = type_token.split(":")
    except ValueError:
        return None
    pkg = "pulumi_" + package.replace("-", "_")
    parts = module.split("/")
    candidates = []
    if package == "aws" and len(parts) == 2:
        # The service package first: importing one of its modules on its own (before the
        # package) leaves the package without its lazily loaded classes for the program.
        candidates.append(f"{pkg}.{parts[0]}" if parts[0] != "index" else pkg)
        candidates.append(f"{pkg}.{parts[0]}.{_camel_to_snake(parts[1])}")
    else:
        candidates.append(".".join([pkg, *parts]) if module != "index" else pkg)
    for candidate in candidates:
        try:
            found = getattr(importlib.import_module(candidate), cls, None)
        except ImportError:
            continue
        if inspect.isclass(found):
            return found
    return None


@functools.lru_cache(maxsize=None)
def input_names(type_token: str) -> frozenset[str]:
    """Python names of a resource's constructor arguments (empty when unknown)."""
    cls = resource_class(type_token)
    init = getattr(cls, "_internal_init", None)
    if init is None:
        return frozenset()
    return frozenset(inspect.signature(init).parameters)


class UnknownStackReference(LookupError):
    """The program read a stack the fake cloud was given no outputs for."""

    def __init__(self, stack: str, known: list[str]):
        self.stack = stack
        offered = f" (it has outputs of {', '.join(known)} only)" if known else ""
        self.message = f"StackReference '{stack}': the offline plan has no outputs for this stack{offered}"
        super().__init__(self.message)


# ``file:line`` of the program's line that made the invoke being answered (set by the engine
# around the SDK's invoke functions; None when no frame of the program made it).
CALL_SITE: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("maas_call_site", default=None)

# What a program passes instead of a data source the offline plan cannot answer, by token prefix.
_INSTEAD = {
    "kubernetes:helm:template": "deploy the chart with kubernetes.helm.v3.Release (whose values every rule reads), "
                                "not helm.v3.Chart, which renders it through this data source",
    "kubernetes:kustomize:": "render the overlay (kustomize build) into kubernetes.yaml.ConfigFile or ConfigGroup, "
                             "whose objects the plan registers and judges",
    "aws:": "pass the value as stack config (pulumi config set), read it from the platform stack's outputs "
            "(maas:platform_stack), or use the output of the resource that creates it",
    "": "pass the value as stack config (pulumi config set) or use the output of the resource that creates it",
}


class UnsupportedDataSource(NotImplementedError):
    """The program called a data source that only the real cloud can answer (or, ``reason``,
    one computed offline refused its arguments, as the provider would)."""

    def __init__(self, token: str, site: Optional[str], reason: Optional[str] = None):
        self.token, self.site = token, site
        if reason is not None:
            self.message = f"data source {token}: {reason}"
        else:
            instead = next(text for prefix, text in _INSTEAD.items() if token.startswith(prefix))
            self.message = f"data source {token} cannot be answered offline; {instead}"
        super().__init__(self.message)


class FakeCloud(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes as a generic AWS account would."""

    def __init__(self, region: str, account_id: str = FAKE_ACCOUNT_ID, partition: str = "aws",
                 stacks: Optional[Mapping[str, StackOutputs]] = None):
        self.region = region
        self.account_id = account_id
        self.partition = partition
        self.stacks = dict(stacks or {})
        self.stacks_read: list[str] = []  # stack names the program referenced, in order

    # -- resources ----------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        token = args.typ
        if token == names.STACK_REFERENCE:
            return self.stack_reference(str(args.inputs.get("name") or args.resource_id))
        inputs = dict(args.inputs)
        if not token.startswith("aws:"):
            state = dict(inputs)
            if checked.autonamed_kubernetes(token, inputs):
                # pulumi-kubernetes names an object without one "<logical name>-<random>" (plan.checked).
                state["metadata"] = {**(inputs.get("metadata") or {}),
                                     "name": f"{args.name}-{_digest(token, args.name, length=8)}"}
            for attribute, compute in COMPUTED.get(token, {}).items():
                state[attribute] = compute(self, f"{token}::{args.name}", state)
            return f"{args.name}-{_digest(token, args.name, length=8)}", state

        arguments = input_names(token)
        wire, python = NAME_FIELD.get(token, ("name", "name"))
        physical = inputs.get(wire)
        if physical is None and python in arguments:
            physical = f"{args.name}-{_digest(token, args.name, length=7)}"  # Pulumi auto-naming
            inputs[wire] = physical

        seed = f"{token}::{args.name}"
        if token == names.SQS_QUEUE:  # a queue's id is its URL
            resource_id = f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{physical}"
        elif token in ID_PREFIX:
            resource_id = f"{ID_PREFIX[token]}-{_digest(seed)}"
        elif token == names.KMS_KEY:
            resource_id = _uuid(seed)
        else:
            resource_id = str(physical) if physical else f"{args.name}-{_digest(seed, length=8)}"

        state = {**inputs, "id": resource_id}
        state["arn"] = self.arn(token, resource_id, inputs)
        if "tags" in arguments:
            state["tagsAll"] = dict(inputs.get("tags") or {})
        for attribute, compute in COMPUTED.get(token, {}).items():
            state[attribute] = compute(self, seed, state)
        return resource_id, state

    def stack_reference(self, stack: str) -> tuple[str, dict]:
        """The state of a ``pulumi:pulumi:StackReference`` read, as the engine returns it."""
        outputs = self.stacks.get(stack)
        if outputs is None:
            raise UnknownStackReference(stack, sorted(self.stacks))
        if stack not in self.stacks_read:
            self.stacks_read.append(stack)
        return stack, {
            "name": stack,
            "outputs": dict(outputs.values),
            "secretOutputNames": sorted(outputs.secret_names),
        }

    def arn(self, token: str, resource_id: str, inputs: dict[str, Any]) -> str:
        service = ARN_SERVICE.get(token) or token.split(":")[1].split("/")[0]
        kind = token.split(":")[2]
        region = "" if service in GLOBAL_SERVICES else self.region
        account = "" if service == "s3" else self.account_id
        render = ARN_RESOURCE.get(token)
        resource = render(resource_id, inputs) if render else f"{_camel_to_snake(kind).replace('_', '-')}/{resource_id}"
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    # -- invokes -------------------------------------------------------------------------

    def zone_names(self) -> list[str]:
        return [f"{self.region}{letter}" for letter in "abc"]

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = self.zone_names()
            short = "".join(part[0] if not part.isdigit() else part for part in self.region.split("-"))
            return {
                "id": self.region,
                "names": zones,
                "zoneIds": [f"{short}-az{i + 1}" for i in range(len(zones))],
                "groupNames": [self.region] * len(zones),
                "state": "available",
            }
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:{self.partition}:iam::{self.account_id}:role/offline-plan",
                "userId": "AROAOFFLINEPLAN:maas",
                "id": self.account_id,
            }
        if token == "aws:index/getPartition:getPartition":
            return {"id": self.partition, "partition": self.partition, "dnsSuffix": "amazonaws.com",
                    "reverseDnsPrefix": "com.amazonaws"}
        if token == "aws:index/getRegion:getRegion":
            return {"id": self.region, "name": self.region, "region": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}
        pure = PURE_DATA_SOURCES.get(token)
        if pure is not None:
            try:
                return pure(dict(args.args))
            except ValueError as error:  # the provider refuses these arguments
                raise UnsupportedDataSource(token, CALL_SITE.get(), reason=str(error)) from None
        raise UnsupportedDataSource(token, CALL_SITE.get())


# -- pure data sources ----------------------------------------------------------------------------
#
# aws.iam.get_policy_document, as terraform-provider-aws computes it (bridged unchanged by
# pulumi-aws): internal/service/iam/policy_document_data_source.go (commit 04e9356d7f061e7be1890e030f420c81a783d651)
# and policy_model.go (commit 084fd7bc4c3ce01ca0fa51a7016dc0287a00de30), read 2026-12-02:
# - the source documents are merged in order (a Sid repeated across them is an error), then the
#   statements (a Sid repeated among them is an error), then the override documents; a merge
#   replaces the statement of the same Sid in place and appends the others, adopts a non-empty
#   Id and the later Version;
# - actions, not_actions, resources, not_resources and principal identifiers are sets: one
#   element is written as a string, several sorted in reverse; condition values keep their order,
#   one value is written as a string; "&{" becomes "${" (refused in version 2008-10-17);
# - principals group by type (a type's identifiers in the order of its blocks); the single
#   principal {type "*", identifiers ["*"]} is written "*"; conditions group by test, then variable;
# - a source or override document's principals are sorted, in reverse, within a type; its
#   condition values that are strings or booleans are kept (numbers are dropped), as Go decodes them;
# - ``json`` is Go's json.MarshalIndent with two spaces, ``minifiedJson`` json.Marshal: struct
#   fields in declaration order (Version, Id, Statement; Sid, Effect, Action, NotAction, Resource,
#   NotResource, Principal, NotPrincipal, Condition), empty ones left out, map keys sorted, and
#   <, >, & and U+2028/9 escaped; ``id`` is the CRC-32 of ``json``.
# A type written in several blocks of one statement follows the program's order here; the provider
# orders blocks by their hash in the Terraform set.

_STATEMENT_FIELDS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal",
                     "Condition")


class PolicyDocumentError(ValueError):
    """What the provider refuses in a policy document (the invoke fails with this message)."""


def _strings(values: Any) -> Any:
    """A set of strings as the provider writes it: one as a string, several sorted in reverse."""
    unique = sorted({str(v) for v in values or []}, reverse=True)
    return unique[0] if len(unique) == 1 else unique


def _variables(value: Any, version: str) -> Any:
    def one(text: str) -> str:
        if version == "2008-10-17" and "&{" in text:
            raise PolicyDocumentError(f"found &{{ sequence in ({text}), which is not supported in document version "
                                      "2008-10-17")
        return text.replace("&{", "${")
    return one(value) if isinstance(value, str) else [one(v) for v in value]


def _principal_json(principals: list[tuple[str, Any]]) -> Any:
    if len(principals) == 1 and principals[0][0] == "*" and principals[0][1] in ("*", ["*"]):
        return "*"
    grouped: dict[str, Any] = {}
    for kind, identifiers in principals:
        if isinstance(identifiers, list):
            current = grouped.get(kind)
            listed = [] if current is None else ([current] if isinstance(current, str) else current)
            grouped[kind] = listed + sorted(identifiers, reverse=True)
        else:
            current = grouped.get(kind)
            grouped[kind] = identifiers if current is None else (
                [current, identifiers] if isinstance(current, str) else current + [identifiers])
    return dict(sorted(grouped.items()))


def _condition_json(conditions: list[tuple[str, str, list[str]]]) -> dict[str, Any]:
    grouped: dict[str, dict[str, list[str]]] = {}
    for test, variable, values in conditions:
        grouped.setdefault(test, {}).setdefault(variable, []).extend(values)
    return {test: {variable: values[0] if len(values) == 1 else values for variable, values in sorted(by.items())}
            for test, by in sorted(grouped.items())}


def _field(config: Mapping[str, Any], key: str) -> Any:
    """``key`` of an argument block, also when a dict literal spells it snake_case (the SDK
    passes a plain dict's keys to the engine as written)."""
    value = config.get(key)
    return value if value is not None else config.get(_camel_to_snake(key))


def _configured_statement(config: Mapping[str, Any], version: str) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": config.get("sid") or "", "Effect": config.get("effect") or "Allow"}
    for key, field_ in (("actions", "Action"), ("notActions", "NotAction")):
        if _field(config, key):
            statement[field_] = _strings(_field(config, key))
    for key, field_ in (("resources", "Resource"), ("notResources", "NotResource")):
        if _field(config, key):
            statement[field_] = _variables(_strings(_field(config, key)), version)
    for key, field_ in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        blocks = _unique(_field(config, key))
        if blocks:
            statement[field_] = _principal_json(
                [(str(b.get("type")), _variables(_strings(b.get("identifiers")), version)) for b in blocks])
    conditions = _unique(config.get("conditions"))
    if conditions:
        statement["Condition"] = _condition_json(
            [(str(c.get("test")), str(c.get("variable")), _variables([str(v) for v in c.get("values") or []], version))
             for c in conditions])
    return statement


def _unique(blocks: Any) -> list[Mapping[str, Any]]:
    """Blocks of a Terraform set: each distinct block once."""
    found: list[Mapping[str, Any]] = []
    for block in blocks or []:
        if block not in found:
            found.append(block)
    return found


def _decoded_principals(value: Any) -> Any:
    if isinstance(value, str):
        return "*"
    if not isinstance(value, dict):
        raise PolicyDocumentError(f"Unsupported data type {type(value).__name__} for IAMPolicyStatementPrincipalSet")
    principals = []
    for kind, identifiers in value.items():
        if isinstance(identifiers, list):
            principals.append((kind, sorted(str(i) for i in identifiers)))
        else:
            principals.append((kind, str(identifiers)))
    return _principal_json(principals)


def _decoded_conditions(value: Any) -> dict[str, Any]:
    conditions = []
    for test, variables in (value or {}).items():
        for variable, values in (variables or {}).items():
            if isinstance(values, bool):
                conditions.append((test, variable, ["true" if values else "false"]))
            elif isinstance(values, str):
                conditions.append((test, variable, [values]))
            elif isinstance(values, list):
                conditions.append((test, variable, [str(v) for v in values]))
    return _condition_json(conditions)


def _decoded_document(text: str, what: str) -> dict[str, Any]:
    """A source or override document as the provider decodes it (and would write it back)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyDocumentError(f"writing IAM Policy Document: merging {what}: {error}") from None
    if not isinstance(document, dict):
        raise PolicyDocumentError(f"writing IAM Policy Document: merging {what}: not a JSON object")
    statements = document.get("Statement") or []
    if not isinstance(statements, list):  # Go decodes Statement into a slice only
        raise PolicyDocumentError(f"writing IAM Policy Document: merging {what}: json: cannot unmarshal "
                                  f"{type(statements).__name__} into Go struct field Statement")
    decoded = []
    for raw in statements:
        statement = {key: raw[key] for key in _STATEMENT_FIELDS if raw.get(key) not in (None, "", [], {})}
        for key in ("Principal", "NotPrincipal"):
            if key in statement:
                statement[key] = _decoded_principals(statement[key])
        if "Condition" in statement:
            statement["Condition"] = _decoded_conditions(statement["Condition"]) or None
            if statement["Condition"] is None:
                del statement["Condition"]
        decoded.append(statement)
    return {"Version": str(document.get("Version") or ""), "Id": str(document.get("Id") or ""), "Statement": decoded}


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    if new.get("Id"):
        into["Id"] = new["Id"]
    if new.get("Version", "") > into.get("Version", ""):
        into["Version"] = new["Version"]
    for statement in new.get("Statement") or []:
        sid = statement.get("Sid")
        index = next((i for i, s in enumerate(into["Statement"]) if sid and s.get("Sid") == sid), None)
        if index is None:
            into["Statement"].append(statement)
        else:
            into["Statement"][index] = statement


def _go_json(document: dict[str, Any], indent: Optional[int]) -> str:
    """JSON as Go's encoding/json writes it (HTML-safe escaping, UTF-8 kept)."""
    text = json.dumps(document, indent=indent, ensure_ascii=False, separators=(",", ": ") if indent else (",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def policy_document(args: Mapping[str, Any]) -> dict[str, Any]:
    """``aws:iam/getPolicyDocument:getPolicyDocument``, computed offline (see the notes above)."""
    version = str(args.get("version") or "2012-10-17")
    if version not in ("2008-10-17", "2012-10-17"):
        raise PolicyDocumentError(f"version: expected one of 2008-10-17, 2012-10-17, got {version}")
    merged: dict[str, Any] = {"Version": "", "Id": "", "Statement": []}
    sids: set[str] = set()
    for index, source in enumerate(_field(args, "sourcePolicyDocuments") or []):
        if source is None:
            continue
        document = _decoded_document(source, f"source document {index}")
        for number, statement in enumerate(document["Statement"]):
            sid = statement.get("Sid")
            if sid:
                if sid in sids:
                    raise PolicyDocumentError(
                        f"writing IAM Policy Document: merging source document {index}: duplicate Sid ({sid}) in "
                        f"source_policy_documents (statement {number}). Remove the Sid or ensure Sids are unique.")
                sids.add(sid)
        _merge(merged, document)
    own: dict[str, Any] = {"Version": version, "Id": str(_field(args, "policyId") or ""), "Statement": []}
    own_sids: set[str] = set()
    for config in _field(args, "statements") or []:
        sid = config.get("sid") or ""
        if sid in own_sids:
            raise PolicyDocumentError(f"writing IAM Policy Document: duplicate Sid ({sid}). Remove the Sid or ensure "
                                      "the Sid is unique.")
        if sid:
            own_sids.add(sid)
        own["Statement"].append(_configured_statement(config, version))
    _merge(merged, own)
    for index, override in enumerate(_field(args, "overridePolicyDocuments") or []):
        if override is not None:
            _merge(merged, _decoded_document(override, f"override document {index}"))
    written = {key: merged[key] for key in ("Version", "Id") if merged[key]}
    statements = [{key: s[key] for key in _STATEMENT_FIELDS if s.get(key) not in (None, "", [], {})}
                  for s in merged["Statement"]]
    if statements:
        written["Statement"] = statements
    pretty = _go_json(written, indent=2)
    return {**args, "id": str(zlib.crc32(pretty.encode())), "json": pretty, "minifiedJson": _go_json(written, None)}


def arn_parts(args: Mapping[str, Any]) -> dict[str, Any]:
    """``aws:index/getArn:getArn``: an ARN's parts, as the provider splits it (the AWS SDK's
    arn.Parse: six ``:``-separated fields, the resource keeping its own colons)."""
    arn = str(args.get("arn") or "")
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"arn: {arn!r} is not an ARN (arn:partition:service:region:account:resource)")
    _, partition, service, region, account, resource = parts
    return {"arn": arn, "id": arn, "partition": partition, "service": service, "region": region, "account": account,
            "resource": resource}


def yaml_decode(args: Mapping[str, Any]) -> dict[str, Any]:
    """``kubernetes:yaml:decode`` (what ``kubernetes.yaml.ConfigFile`` and ``ConfigGroup`` parse
    their YAML with, pulumi-kubernetes 4.x's yaml.py ``_invoke_yaml_decode_async``): every
    non-empty document of the YAML stream, so their objects are registered as typed resources."""
    return {"result": [document for document in yaml.safe_load_all(str(args.get("text") or ""))
                       if document is not None]}


# Data sources that are pure functions of their arguments: token -> f(arguments) -> result.
PURE_DATA_SOURCES: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "aws:iam/getPolicyDocument:getPolicyDocument": policy_document,
    "aws:index/getArn:getArn": arn_parts,
    "kubernetes:yaml:decode": yaml_decode,
}


def _eks_endpoint(cloud: FakeCloud, seed: str, state: dict) -> str:
    return f"https://{_digest(seed, length=32).upper()}.gr7.{cloud.region}.eks.amazonaws.com"


def _eks_identity(cloud: FakeCloud, seed: str, state: dict) -> list:
    return [{"oidcs": [{"issuer": f"https://oidc.eks.{cloud.region}.amazonaws.com/id/{_digest(seed, length=32).upper()}"}]}]


def _eks_vpc_config(cloud: FakeCloud, seed: str, state: dict) -> dict:
    return {**(state.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{_digest(seed, 'cluster-sg')}",
            "vpcId": f"vpc-{_digest(seed, 'vpc')}"}


# Attributes AWS computes on create, by type: name -> f(cloud, seed, state).
COMPUTED: dict[str, dict[str, Callable[[FakeCloud, str, dict], Any]]] = {
    names.EKS_CLUSTER: {
        "endpoint": _eks_endpoint,
        "certificateAuthority": lambda c, seed, s: {"data": base64.b64encode(f"fake-ca:{seed}".encode()).decode()},
        "identities": _eks_identity,
        "vpcConfig": _eks_vpc_config,
        "status": lambda c, seed, s: "ACTIVE",
        "platformVersion": lambda c, seed, s: "eks.1",
    },
    names.EC2_LAUNCH_TEMPLATE: {
        "latestVersion": lambda c, seed, s: 1,
        "defaultVersion": lambda c, seed, s: 1,
    },
    names.KMS_KEY: {
        "keyId": lambda c, seed, s: s["id"],
    },
    names.SQS_QUEUE: {
        "url": lambda c, seed, s: s["id"],
    },
    # A guardrail's ARN (and id) and the number CreateGuardrailVersion gives the first version.
    names.BEDROCK_GUARDRAIL: {
        "guardrailArn": lambda c, seed, s: s["arn"],
        "guardrailId": lambda c, seed, s: s["id"],
        "version": lambda c, seed, s: "DRAFT",
    },
    names.BEDROCK_GUARDRAIL_VERSION: {
        "version": lambda c, seed, s: "1",
    },
    # The provider generates it (the SDK marks it secret).
    names.RANDOM_PASSWORD: {
        "result": lambda c, seed, s: _digest(seed, "password", length=int(s.get("length") or 32)),
    },
    names.RDS_CLUSTER: {
        "clusterResourceId": lambda c, seed, s: "cluster-" + _digest(seed, length=26).upper(),
        "endpoint": lambda c, seed, s: f"{s['id']}.cluster-{_digest(c.account_id, length=12)}.{c.region}.rds.amazonaws.com",
        "readerEndpoint": lambda c, seed, s: f"{s['id']}.cluster-ro-{_digest(c.account_id, length=12)}.{c.region}.rds.amazonaws.com",
        "masterUserSecrets": lambda c, seed, s: [{
            "kmsKeyId": s.get("masterUserSecretKmsKeyId"), "secretStatus": "active",
            "secretArn": f"arn:{c.partition}:secretsmanager:{c.region}:{c.account_id}:secret:rds!cluster-{_uuid(seed)}-{_digest(seed, length=6)}",
        }],
    },
    names.EC2_VPC: {
        "defaultSecurityGroupId": lambda c, seed, s: f"sg-{_digest(seed, 'default')}",
        "mainRouteTableId": lambda c, seed, s: f"rtb-{_digest(seed, 'main')}",
    },
}
