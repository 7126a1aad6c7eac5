"""A generic fake cloud for Pulumi's mock engine.

It answers like AWS would for *any* resource, from the resource's type and name alone:
ids in the service's id scheme, ARNs in the partition's ARN scheme, physical names as
Pulumi auto-names them, and ``tagsAll`` as the provider computes it. A few attributes
that AWS computes on create and that later resources consume (an EKS endpoint, a launch
template's version, a KMS key id) come from ``COMPUTED``, keyed by type, so a value is
never invented for one program. Every value is derived from a hash of the type and name, so the
same program always gets the same cloud.

Invokes are answered only for the data sources listed in ``call``; any other invoke is an
error, so a program never silently plans against an empty answer.

A ``pulumi.StackReference`` reads the outputs of another stack. The fake cloud answers it
from the :class:`StackOutputs` it was given, by fully qualified stack name; a reference to
any other stack raises :class:`UnknownStackReference`, so a team stack never plans against
outputs nobody supplied.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib
import inspect
import re
from typing import Any, Callable, Mapping, Optional

import pulumi

from .. import names
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
        raise NotImplementedError(f"the offline plan does not emulate the data source {token}")


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
